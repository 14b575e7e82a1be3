//! Approval rules and node approvals in GraphQL.

use async_graphql::{InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use phobos_core::events::aggregate;
use phobos_core::pipeline::ApprovalState;
use phobos_projections::identity::ApprovalRuleRow;

use super::identity::MemberKind;
use super::ids;

/// An approval rule (see the `ApprovalRule` object).
pub struct ApprovalRule(pub ApprovalRuleRow);

/// Who must approve, and how many of them: a rule of an organization
/// (usable by all its projects) or of one project.
#[Object]
impl ApprovalRule {
    /// Its global id.
    pub(crate) async fn id(&self) -> ID {
        ID(ids::encode(aggregate::APPROVAL_RULE, self.0.id))
    }
    /// `prn:approval_rule:ORG/NAME` or `prn:approval_rule:ORG/PROJECT/NAME`.
    pub(crate) async fn prn(&self) -> &str {
        &self.0.prn
    }
    /// Its name, unique in its scope.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it is for.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Its approvers: users, teams (any member counts) and service accounts.
    async fn principals(&self) -> Vec<PrincipalRef> {
        self.0
            .principals
            .iter()
            .map(|p| PrincipalRef {
                kind: p.kind.into(),
                name: p.name.clone(),
            })
            .collect()
    }
    /// How many distinct approvers must approve.
    async fn approvals_required(&self) -> i32 {
        self.0.approvals_required
    }
    /// Whether the person who created a pipeline may approve it.
    async fn allow_self_approval(&self) -> bool {
        self.0.allow_self_approval
    }
    /// The project, for a project's rule.
    async fn project_id(&self) -> Option<ID> {
        self.0
            .project_id
            .map(|p| ID(ids::encode(aggregate::PROJECT, p)))
    }
    /// Who created it.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A principal named by a rule, or one that decided: its kind and name.
#[derive(SimpleObject, Clone)]
pub struct PrincipalRef {
    /// A user, a team or a service account.
    pub kind: MemberKind,
    /// Its username or name.
    pub name: String,
}

/// A node's approvals: what each rule still needs, and who decided what.
pub struct NodeApproval(pub ApprovalState);

/// A node's approvals: what each rule still needs, and who decided what.
#[Object]
impl NodeApproval {
    /// Each rule as the node fixed it when it became APPROVAL_PENDING
    /// (empty for a moment before they are fixed).
    async fn rules(&self) -> Vec<NodeApprovalRule> {
        self.0
            .remaining()
            .into_iter()
            .map(|(r, remaining)| NodeApprovalRule {
                rule_id: ID(ids::encode(
                    aggregate::APPROVAL_RULE,
                    r.id.parse().unwrap_or_default(),
                )),
                name: r.name.clone(),
                prn: r.prn.clone(),
                approvals_required: r.approvals_required as i32,
                approvals_received: self.0.count(&r.id) as i32,
                remaining: remaining as i32,
                allow_self_approval: r.allow_self_approval,
                principals: r
                    .principals
                    .iter()
                    .map(|p| PrincipalRef {
                        kind: p.kind.into(),
                        name: p.name.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
    /// Whether every rule has its approvals (or they were overridden).
    async fn satisfied(&self) -> bool {
        self.0.satisfied()
    }
    /// Who approved, when, and which rules each approval counts for.
    async fn approvals(&self) -> Vec<NodeApprovalDecision> {
        self.0
            .approvals
            .iter()
            .map(|a| NodeApprovalDecision {
                principal: PrincipalRef {
                    kind: a.principal.kind.into(),
                    name: a.principal.name.clone(),
                },
                comment: None,
                rules: a
                    .rules
                    .iter()
                    .map(|r| {
                        ID(ids::encode(
                            aggregate::APPROVAL_RULE,
                            r.parse().unwrap_or_default(),
                        ))
                    })
                    .collect(),
                at: a.at,
            })
            .collect()
    }
    /// Advisory rejections (the node stays pending).
    async fn rejections(&self) -> Vec<NodeApprovalDecision> {
        self.0
            .rejections
            .iter()
            .map(|r| NodeApprovalDecision {
                principal: PrincipalRef {
                    kind: r.principal.kind.into(),
                    name: r.principal.name.clone(),
                },
                comment: Some(r.comment.clone()),
                rules: vec![],
                at: r.at,
            })
            .collect()
    }
    /// An Owner's override, when there was one.
    #[graphql(name = "override")]
    async fn override_(&self) -> Option<NodeApprovalOverride> {
        self.0.overridden.as_ref().map(|o| NodeApprovalOverride {
            by: o.by.clone(),
            comment: o.comment.clone(),
            at: o.at,
        })
    }
}

/// One rule of a node, as fixed, with its count.
#[derive(SimpleObject)]
pub struct NodeApprovalRule {
    /// The rule's id.
    pub rule_id: ID,
    /// Its name.
    pub name: String,
    /// Its PRN.
    pub prn: String,
    /// How many distinct approvers it needs.
    pub approvals_required: i32,
    /// How many counted so far.
    pub approvals_received: i32,
    /// How many are still needed.
    pub remaining: i32,
    /// Whether the pipeline's creator may approve for it.
    pub allow_self_approval: bool,
    /// Its approvers, as they were when the node became pending.
    pub principals: Vec<PrincipalRef>,
}

/// An approval or a rejection.
#[derive(SimpleObject)]
pub struct NodeApprovalDecision {
    /// Who decided.
    pub principal: PrincipalRef,
    /// The rejection's comment.
    pub comment: Option<String>,
    /// The rules an approval counts for.
    pub rules: Vec<ID>,
    /// When.
    pub at: DateTime<Utc>,
}

/// An Owner's override.
#[derive(SimpleObject)]
pub struct NodeApprovalOverride {
    /// The Owner (`user:<name>`).
    pub by: String,
    /// Why.
    pub comment: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// `createApprovalRule`'s input: one scope (`organizationName` or
/// `projectId`).
#[derive(InputObject)]
pub struct CreateApprovalRuleInput {
    /// The organization, for a rule all its projects may use.
    pub organization_name: Option<String>,
    /// The project, for a rule of that project only.
    pub project_id: Option<ID>,
    /// Unique in its scope.
    pub name: String,
    /// What it is for.
    #[graphql(default)]
    pub description: String,
    /// Approvers by username.
    #[graphql(default)]
    pub users: Vec<String>,
    /// Approver teams by name (any member counts, once).
    #[graphql(default)]
    pub teams: Vec<String>,
    /// Approver service accounts by path or PRN.
    #[graphql(default)]
    pub service_accounts: Vec<String>,
    /// How many distinct approvers must approve (at least 1).
    #[graphql(default = 1)]
    pub approvals_required: i32,
    /// Whether the person who created a pipeline may approve it.
    #[graphql(default)]
    pub allow_self_approval: bool,
}

/// `updateApprovalRule`'s input: what is given changes.
#[derive(InputObject)]
pub struct UpdateApprovalRuleInput {
    /// The rule's id.
    pub id: ID,
    /// A new description.
    pub description: Option<String>,
    /// The approver users, replacing the old ones.
    pub users: Option<Vec<String>>,
    /// The approver teams, replacing the old ones.
    pub teams: Option<Vec<String>>,
    /// The approver service accounts, replacing the old ones.
    pub service_accounts: Option<Vec<String>>,
    /// A new count.
    pub approvals_required: Option<i32>,
    /// A new self-approval flag.
    pub allow_self_approval: Option<bool>,
}

/// `deleteApprovalRule`'s input.
#[derive(InputObject)]
pub struct DeleteApprovalRuleInput {
    /// The rule's id.
    pub id: ID,
}

/// A rule, or what was wrong.
#[derive(SimpleObject)]
pub struct ApprovalRulePayload {
    /// The rule (as it was, for a deletion).
    pub approval_rule: Option<ApprovalRule>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<super::Problem>,
}

/// `approvePipelineNode`'s and `revokePipelineNodeApproval`'s input.
#[derive(InputObject)]
pub struct PipelineNodeApprovalInput {
    /// The pipeline.
    pub pipeline_id: ID,
    /// The node, e.g. `stage.deploy.task.release`.
    pub node_path: String,
}

/// `rejectPipelineNode`'s and `overridePipelineNodeApproval`'s input.
#[derive(InputObject)]
pub struct PipelineNodeCommentInput {
    /// The pipeline.
    pub pipeline_id: ID,
    /// The node.
    pub node_path: String,
    /// Why (required for an override).
    pub comment: String,
}

pub(crate) fn rule_payload(
    r: Result<ApprovalRuleRow, crate::service::ServiceError>,
) -> Result<ApprovalRulePayload> {
    match r {
        Ok(rule) => Ok(ApprovalRulePayload {
            approval_rule: Some(ApprovalRule(rule)),
            problems: vec![],
        }),
        Err(e) => Ok(ApprovalRulePayload {
            approval_rule: None,
            problems: super::problems(e)?,
        }),
    }
}

/// The approval of a node row, if it has one.
pub(crate) fn node_approval(v: &Option<serde_json::Value>) -> Option<NodeApproval> {
    v.as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .map(NodeApproval)
}
