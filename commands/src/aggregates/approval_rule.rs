//! Approval rules, keyed by their scope and name
//! ([`approval_rule_id`]), so a name is taken once per scope.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::access::Member;
use phobos_core::events::aggregate;
use phobos_core::events::ApprovalRuleEvent;
use serde::{Deserialize, Serialize};

use super::{command_name, name_id, Stored};
use crate::clock::Services;
use crate::error::DomainError;

/// The id of the rule `name` of organization or project `scope_id`.
pub fn approval_rule_id(scope_id: &str, name: &str) -> String {
    name_id("approval_rule", &format!("{scope_id}/{name}"))
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ApprovalRule {
    name: Option<String>,
    deleted: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub enum ApprovalRuleCommand {
    CreateApprovalRule {
        organization_id: String,
        project_id: Option<String>,
        prn: String,
        name: String,
        description: String,
        principals: Vec<Member>,
        approvals_required: u32,
        allow_self_approval: bool,
    },
    UpdateApprovalRule {
        description: String,
        principals: Vec<Member>,
        approvals_required: u32,
        allow_self_approval: bool,
    },
    DeleteApprovalRule,
}
command_name!(ApprovalRuleCommand {
    CreateApprovalRule,
    UpdateApprovalRule,
    DeleteApprovalRule
});

impl Aggregate for ApprovalRule {
    const TYPE: &'static str = aggregate::APPROVAL_RULE;
    type Command = ApprovalRuleCommand;
    type Event = Stored<ApprovalRuleEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let now = services.now();
        let live = || match (&self.name, self.deleted) {
            (Some(_), false) => Ok(()),
            _ => Err(DomainError::NotFound(
                "the approval rule does not exist".into(),
            )),
        };
        let e = match command {
            ApprovalRuleCommand::CreateApprovalRule {
                organization_id,
                project_id,
                prn,
                name,
                description,
                principals,
                approvals_required,
                allow_self_approval,
            } => {
                if self.name.is_some() {
                    return Err(DomainError::AlreadyExists(format!(
                        "approval rule {name:?} (names are kept after a rule is deleted; choose another)"
                    )));
                }
                ApprovalRuleEvent::ApprovalRuleCreated {
                    organization_id,
                    project_id,
                    prn,
                    name,
                    description,
                    principals,
                    approvals_required,
                    allow_self_approval,
                    created_at: now,
                }
            }
            ApprovalRuleCommand::UpdateApprovalRule {
                description,
                principals,
                approvals_required,
                allow_self_approval,
            } => {
                live()?;
                ApprovalRuleEvent::ApprovalRuleUpdated {
                    description,
                    principals,
                    approvals_required,
                    allow_self_approval,
                    updated_at: now,
                }
            }
            ApprovalRuleCommand::DeleteApprovalRule => {
                live()?;
                ApprovalRuleEvent::ApprovalRuleDeleted { deleted_at: now }
            }
        };
        sink.write(Stored(e), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            ApprovalRuleEvent::ApprovalRuleCreated { name, .. } => self.name = Some(name),
            ApprovalRuleEvent::ApprovalRuleUpdated { .. } => {}
            ApprovalRuleEvent::ApprovalRuleDeleted { .. } => self.deleted = true,
        }
    }
}
