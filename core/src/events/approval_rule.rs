//! Approval rules: who must approve, and how many of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::named_event;
use crate::access::Member;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ApprovalRuleEvent {
    /// A rule of an organization (`project_id` None: usable by all its
    /// projects) or of one project.
    ApprovalRuleCreated {
        organization_id: String,
        #[serde(default)]
        project_id: Option<String>,
        /// `prn:approval_rule:ORG/NAME` or `…:ORG/PROJECT/NAME`.
        prn: String,
        name: String,
        description: String,
        principals: Vec<Member>,
        approvals_required: u32,
        allow_self_approval: bool,
        created_at: DateTime<Utc>,
    },
    /// Its description, principals, count or self-approval flag changed
    /// (each field as it is now).
    ApprovalRuleUpdated {
        description: String,
        principals: Vec<Member>,
        approvals_required: u32,
        allow_self_approval: bool,
        updated_at: DateTime<Utc>,
    },
    /// Deleted. Nodes that fixed its principals and count keep them; a
    /// node that reaches APPROVAL_PENDING later uses it as it was.
    ApprovalRuleDeleted { deleted_at: DateTime<Utc> },
}
named_event!(ApprovalRuleEvent {
    ApprovalRuleCreated,
    ApprovalRuleUpdated,
    ApprovalRuleDeleted
});

/// A rule as a node fixed it when it entered APPROVAL_PENDING.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRuleSnapshot {
    pub id: String,
    pub prn: String,
    pub name: String,
    pub principals: Vec<Member>,
    pub approvals_required: u32,
    pub allow_self_approval: bool,
}

impl ApprovalRuleSnapshot {
    /// The rule as its events leave it (None before it was created).
    pub fn fold<'a>(
        id: &str,
        events: impl IntoIterator<Item = &'a ApprovalRuleEvent>,
    ) -> Option<ApprovalRuleSnapshot> {
        let mut out: Option<ApprovalRuleSnapshot> = None;
        for e in events {
            match e {
                ApprovalRuleEvent::ApprovalRuleCreated {
                    prn,
                    name,
                    principals,
                    approvals_required,
                    allow_self_approval,
                    ..
                } => {
                    out = Some(ApprovalRuleSnapshot {
                        id: id.to_string(),
                        prn: prn.clone(),
                        name: name.clone(),
                        principals: principals.clone(),
                        approvals_required: *approvals_required,
                        allow_self_approval: *allow_self_approval,
                    })
                }
                ApprovalRuleEvent::ApprovalRuleUpdated {
                    principals,
                    approvals_required,
                    allow_self_approval,
                    ..
                } => {
                    if let Some(s) = out.as_mut() {
                        s.principals = principals.clone();
                        s.approvals_required = *approvals_required;
                        s.allow_self_approval = *allow_self_approval;
                    }
                }
                ApprovalRuleEvent::ApprovalRuleDeleted { .. } => {}
            }
        }
        out
    }
}
