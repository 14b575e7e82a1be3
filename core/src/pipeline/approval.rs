//! Approvals: a node with `approval_rules` is APPROVAL_PENDING when it
//! leaves BLOCKED, and goes on (to WAITING, SCHEDULED or READY, as it would
//! have) once every rule has its count of approvals from distinct eligible
//! principals, or an Owner overrides.
//!
//! The rules' principals and counts are fixed a moment after the node
//! enters APPROVAL_PENDING (`NodeApprovalRulesFixed`, by the policy worker,
//! which reads the rules); approvals are refused until then. Who is
//! eligible for which rule (directly, or through a team) is decided by the
//! service when the approval is given and recorded with it, so a later
//! change of a team does not change a recorded approval. A rejection is
//! advisory: recorded and shown, the node stays pending.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::start::Refusal;
use super::{NodeStatus, PipelineRun};
use crate::access::Member;
use crate::events::{ApprovalRuleSnapshot, PipelineEvent};

/// One principal's approval, and the rules it counts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GivenApproval {
    pub principal: Member,
    pub rules: Vec<String>,
    pub at: DateTime<Utc>,
}

/// An advisory rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub principal: Member,
    pub comment: String,
    pub at: DateTime<Utc>,
}

/// An Owner's override of the node's approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub by: String,
    pub comment: String,
    pub at: DateTime<Utc>,
}

/// A node's approvals, from the time it entered APPROVAL_PENDING.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalState {
    /// None until fixed.
    pub rules: Option<Vec<ApprovalRuleSnapshot>>,
    pub approvals: Vec<GivenApproval>,
    pub rejections: Vec<Rejection>,
    pub overridden: Option<Override>,
}

impl ApprovalState {
    /// Distinct principals whose approvals count for `rule_id`.
    pub fn count(&self, rule_id: &str) -> u32 {
        self.approvals
            .iter()
            .filter(|a| a.rules.iter().any(|r| r == rule_id))
            .count() as u32
    }

    /// Every rule has its count, or the approvals were overridden.
    pub fn satisfied(&self) -> bool {
        if self.overridden.is_some() {
            return true;
        }
        match &self.rules {
            Some(rules) => rules
                .iter()
                .all(|r| self.count(&r.id) >= r.approvals_required),
            None => false,
        }
    }

    /// `(rule, approvals still needed)` of each rule.
    pub fn remaining(&self) -> Vec<(&ApprovalRuleSnapshot, u32)> {
        self.rules
            .iter()
            .flatten()
            .map(|r| (r, r.approvals_required.saturating_sub(self.count(&r.id))))
            .collect()
    }

    /// Folds one of the node's approval events.
    pub fn apply(&mut self, e: &PipelineEvent) {
        match e {
            PipelineEvent::NodeApprovalRulesFixed { rules, .. } => {
                self.rules = Some(rules.clone());
            }
            PipelineEvent::NodeApproved {
                principal,
                rules,
                at,
                ..
            } => {
                self.approvals.retain(|a| !same(&a.principal, principal));
                self.approvals.push(GivenApproval {
                    principal: principal.clone(),
                    rules: rules.clone(),
                    at: *at,
                });
            }
            PipelineEvent::NodeApprovalRevoked { principal, .. } => {
                self.approvals.retain(|a| !same(&a.principal, principal));
            }
            PipelineEvent::NodeRejected {
                principal,
                comment,
                at,
                ..
            } => {
                self.rejections.retain(|r| !same(&r.principal, principal));
                self.rejections.push(Rejection {
                    principal: principal.clone(),
                    comment: comment.clone(),
                    at: *at,
                });
            }
            PipelineEvent::NodeApprovalOverridden {
                by, comment, at, ..
            } => {
                self.overridden = Some(Override {
                    by: by.clone(),
                    comment: comment.clone(),
                    at: *at,
                });
            }
            _ => {}
        }
    }
}

fn same(a: &Member, b: &Member) -> bool {
    a.kind == b.kind && a.id == b.id
}

impl PipelineRun {
    /// The node at `path`, which must be APPROVAL_PENDING for `what`.
    fn pending(&self, path: &str, what: &str) -> Result<&ApprovalState, Refusal> {
        let Some(state) = self.nodes.get(path) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        match (&state.approval, state.status) {
            (Some(a), NodeStatus::ApprovalPending) => Ok(a),
            _ => Err(Refusal::WrongState(format!(
                "{path} is {}; only an APPROVAL_PENDING node can be {what}",
                state.status
            ))),
        }
    }

    /// The policy worker fixes the rules of a node that entered
    /// APPROVAL_PENDING. Idempotent: nothing once they are fixed or the
    /// node has moved on.
    pub fn fix_approval_rules(
        &self,
        path: &str,
        rules: Vec<ApprovalRuleSnapshot>,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        match self.pending(path, "given its rules") {
            Ok(a) if a.rules.is_none() => Ok(vec![PipelineEvent::NodeApprovalRulesFixed {
                path: path.to_string(),
                rules,
                at: now,
            }]),
            Ok(_) | Err(Refusal::WrongState(_)) => Ok(vec![]),
            Err(e) => Err(e),
        }
    }

    /// `approvePipelineNode` by `principal`, counting for `rules` (those it
    /// is eligible for, as the service found). A principal approves once.
    pub fn approve_node(
        &self,
        path: &str,
        principal: Member,
        rules: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let a = self.pending(path, "approved")?;
        let Some(fixed) = &a.rules else {
            return Err(Refusal::WrongState(format!(
                "{path}'s approval rules are being read; try again in a moment"
            )));
        };
        if a.approvals.iter().any(|g| same(&g.principal, &principal)) {
            return Err(Refusal::WrongState(format!(
                "{} {:?} has approved {path} already",
                principal.kind.as_str(),
                principal.name
            )));
        }
        let rules: Vec<String> = rules
            .into_iter()
            .filter(|r| fixed.iter().any(|f| &f.id == r))
            .collect();
        if rules.is_empty() {
            return Err(Refusal::Invalid(format!(
                "{} {:?} is not an approver of any of {path}'s approval rules",
                principal.kind.as_str(),
                principal.name
            )));
        }
        Ok(vec![PipelineEvent::NodeApproved {
            path: path.to_string(),
            principal,
            rules,
            at: now,
        }])
    }

    /// `revokePipelineNodeApproval`: only while the node is pending.
    pub fn revoke_node_approval(
        &self,
        path: &str,
        principal: Member,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let a = self.pending(path, "have an approval revoked")?;
        if !a.approvals.iter().any(|g| same(&g.principal, &principal)) {
            return Err(Refusal::WrongState(format!(
                "{} {:?} has not approved {path}",
                principal.kind.as_str(),
                principal.name
            )));
        }
        Ok(vec![PipelineEvent::NodeApprovalRevoked {
            path: path.to_string(),
            principal,
            at: now,
        }])
    }

    /// `rejectPipelineNode`: advisory; the node stays pending.
    pub fn reject_node(
        &self,
        path: &str,
        principal: Member,
        comment: String,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        self.pending(path, "rejected")?;
        Ok(vec![PipelineEvent::NodeRejected {
            path: path.to_string(),
            principal,
            comment,
            at: now,
        }])
    }

    /// `overridePipelineNodeApproval` by an Owner (`by`), with a comment.
    pub fn override_node_approval(
        &self,
        path: &str,
        by: String,
        comment: String,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        self.pending(path, "overridden")?;
        if comment.trim().is_empty() {
            return Err(Refusal::Invalid(
                "an override needs a comment saying why".into(),
            ));
        }
        Ok(vec![PipelineEvent::NodeApprovalOverridden {
            path: path.to_string(),
            by,
            comment,
            at: now,
        }])
    }
}
