//! Approval rules, the references templates make to them, and approvals of
//! pipeline nodes.

use phobos_commands::aggregates::{
    approval_rule_id, team_id, ApprovalRuleCommand, PipelineCommand,
};
use phobos_core::access::{Member, MemberKind};
use phobos_core::pipeline::ApprovalState;
use phobos_core::template::{Compiled, Diagnostics};
use phobos_projections::identity::{self, ApprovalRuleRow};
use phobos_projections::queries::{self, PipelineRow, ProjectRow};
use uuid::Uuid;

use super::{check_name, parse_id, App, Code, MembershipScope, Problem, ServiceError};
use crate::auth::Claims;
use crate::authz::{Permission, Scope};

/// What `createApprovalRule` and `updateApprovalRule` ask for.
pub struct RuleInput {
    pub description: Option<String>,
    pub users: Option<Vec<String>>,
    pub teams: Option<Vec<String>>,
    pub service_accounts: Option<Vec<String>>,
    pub approvals_required: Option<i32>,
    pub allow_self_approval: Option<bool>,
}

/// What an approval request does.
#[derive(Debug, Clone)]
pub enum Decision {
    Approve,
    Revoke,
    Reject(String),
    Override(String),
}

impl App {
    /// The principals of a rule: users and teams by name, each checked.
    async fn rule_principals(
        &self,
        users: &[String],
        teams: &[String],
        service_accounts: &[String],
        scope: Scope,
    ) -> Result<Vec<Member>, ServiceError> {
        let out = self
            .principals(users, teams, service_accounts, scope)
            .await?;
        if out.is_empty() {
            return Err(ServiceError::field(
                Code::Invalid,
                "users",
                "an approval rule needs at least one approver: name users or teams",
            ));
        }
        Ok(out)
    }

    /// Users, teams and service accounts by name, each checked to exist
    /// (a service account in `scope`'s organization or project).
    pub(super) async fn principals(
        &self,
        users: &[String],
        teams: &[String],
        service_accounts: &[String],
        scope: Scope,
    ) -> Result<Vec<Member>, ServiceError> {
        let mut out = Vec::new();
        for a in service_accounts {
            let row = match super::service_account_id_of(a) {
                Some(id) => identity::service_account(&self.pool, id).await?,
                None => None,
            }
            // An account of the rule's organization (a project's, in its
            // project only), as for memberships.
            .filter(|sa| {
                sa.organization_id == scope.organization
                    && sa.project_id.is_none_or(|p| Some(p) == scope.project)
            })
            .ok_or_else(|| {
                ServiceError::field(
                    Code::NotFound,
                    "serviceAccounts",
                    format!("service account {a:?} does not exist in this organization (or project): name it by ORG/NAME, ORG/PROJECT/NAME or PRN"),
                )
            })?;
            out.push(Member {
                kind: MemberKind::ServiceAccount,
                id: row.id.to_string(),
                name: row.path,
            });
        }
        for u in users {
            let row = identity::user_by_name(&self.pool, u)
                .await?
                .ok_or_else(|| {
                    ServiceError::field(
                        Code::NotFound,
                        "users",
                        format!(
                            "user {u:?} does not exist: a user appears after its first sign-in"
                        ),
                    )
                })?;
            out.push(Member {
                kind: MemberKind::User,
                id: row.id.to_string(),
                name: row.username,
            });
        }
        for t in teams {
            let row = identity::team(&self.pool, parse_id("teams", &team_id(t))?)
                .await?
                .ok_or_else(|| {
                    ServiceError::field(
                        Code::NotFound,
                        "teams",
                        format!("team {t:?} does not exist"),
                    )
                })?;
            out.push(Member {
                kind: MemberKind::Team,
                id: row.id.to_string(),
                name: row.name,
            });
        }
        out.dedup_by(|a, b| a.kind == b.kind && a.id == b.id);
        Ok(out)
    }

    /// How many distinct people the principals are today (users, and the
    /// members of teams).
    async fn people_in(&self, principals: &[Member]) -> Result<usize, ServiceError> {
        let mut people: Vec<Uuid> = Vec::new();
        for p in principals {
            match p.kind {
                MemberKind::User => people.extend(Uuid::parse_str(&p.id).ok()),
                MemberKind::Team => {
                    let id = parse_id("teams", &p.id)?;
                    people.extend(
                        identity::team_members(&self.pool, id)
                            .await?
                            .into_iter()
                            .map(|m| m.user_id),
                    );
                }
                MemberKind::ServiceAccount => people.extend(Uuid::parse_str(&p.id).ok()),
            }
        }
        people.sort();
        people.dedup();
        Ok(people.len())
    }

    async fn check_count(&self, required: i32, principals: &[Member]) -> Result<u32, ServiceError> {
        if required < 1 {
            return Err(ServiceError::field(
                Code::Invalid,
                "approvalsRequired",
                format!("approvalsRequired is {required}; it must be at least 1"),
            ));
        }
        let people = self.people_in(principals).await?;
        if required as usize > people {
            return Err(ServiceError::field(
                Code::Invalid,
                "approvalsRequired",
                format!(
                    "{required} approvals are required but the rule's users and teams are {people} people: lower approvalsRequired or add approvers"
                ),
            ));
        }
        Ok(required as u32)
    }

    #[tracing::instrument(skip_all, fields(rule = %name))]
    pub async fn create_approval_rule(
        &self,
        claims: &Claims,
        at: MembershipScope<'_>,
        name: &str,
        input: RuleInput,
    ) -> Result<ApprovalRuleRow, ServiceError> {
        self.user(claims)?;
        let (scope, scope_id, path) = self
            .authorize_scope(claims, &at, Permission::ManageApprovalRules)
            .await?;
        let prn = format!("prn:approval_rule:{path}/{name}");
        check_name("name", name)?;
        let principals = self
            .rule_principals(
                input.users.as_deref().unwrap_or_default(),
                input.teams.as_deref().unwrap_or_default(),
                input.service_accounts.as_deref().unwrap_or_default(),
                scope,
            )
            .await?;
        let required = self
            .check_count(input.approvals_required.unwrap_or(1), &principals)
            .await?;
        let id = approval_rule_id(&scope_id, name);
        let cmd = ApprovalRuleCommand::CreateApprovalRule {
            organization_id: scope.organization.to_string(),
            project_id: scope.project.map(|p| p.to_string()),
            prn,
            name: name.to_string(),
            description: input.description.unwrap_or_default(),
            principals,
            approvals_required: required,
            allow_self_approval: input.allow_self_approval.unwrap_or(false),
        };
        let appended = self
            .bus
            .approval_rule(&id, cmd, &self.context(claims))
            .await
            .map_err(|e| super::identity::on_field(e, "name"))?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "approval rule", || {
            identity::approval_rule(&self.pool, uuid)
        })
        .await
    }

    /// `updateApprovalRule` (`input` Some) and `deleteApprovalRule` (None).
    #[tracing::instrument(skip_all, fields(rule = %id))]
    pub async fn change_approval_rule(
        &self,
        claims: &Claims,
        id: Uuid,
        input: Option<RuleInput>,
    ) -> Result<ApprovalRuleRow, ServiceError> {
        self.user(claims)?;
        let missing = || {
            ServiceError::field(
                Code::NotFound,
                "id",
                format!("approval rule {id} does not exist"),
            )
        };
        let row = identity::approval_rule(&self.pool, id)
            .await?
            .filter(|r| !r.deleted)
            .ok_or_else(missing)?;
        let scope = Scope {
            organization: row.organization_id,
            project: row.project_id,
        };
        self.authorize(claims, Permission::ManageApprovalRules, scope, missing)
            .await?;
        let cmd = match input {
            None => ApprovalRuleCommand::DeleteApprovalRule,
            Some(input) => {
                let principals = if input.users.is_some()
                    || input.teams.is_some()
                    || input.service_accounts.is_some()
                {
                    let keep = |k: MemberKind| -> Vec<String> {
                        row.principals
                            .iter()
                            .filter(|p| p.kind == k)
                            .map(|p| p.name.clone())
                            .collect()
                    };
                    self.rule_principals(
                        &input.users.unwrap_or_else(|| keep(MemberKind::User)),
                        &input.teams.unwrap_or_else(|| keep(MemberKind::Team)),
                        &input
                            .service_accounts
                            .unwrap_or_else(|| keep(MemberKind::ServiceAccount)),
                        scope,
                    )
                    .await?
                } else {
                    row.principals.clone()
                };
                let required = self
                    .check_count(
                        input.approvals_required.unwrap_or(row.approvals_required),
                        &principals,
                    )
                    .await?;
                ApprovalRuleCommand::UpdateApprovalRule {
                    description: input.description.unwrap_or(row.description.clone()),
                    principals,
                    approvals_required: required,
                    allow_self_approval: input
                        .allow_self_approval
                        .unwrap_or(row.allow_self_approval),
                }
            }
        };
        let appended = self
            .bus
            .approval_rule(&id.to_string(), cmd, &self.context(claims))
            .await
            .map_err(|e| super::identity::on_field(e, "id"))?;
        self.projected(appended, "approval rule", || {
            identity::approval_rule(&self.pool, id)
        })
        .await
    }

    /// The rules usable in `project`: its own and its organization's.
    pub async fn approval_rules_of(
        &self,
        claims: &Claims,
        scope: Scope,
    ) -> Result<Vec<ApprovalRuleRow>, ServiceError> {
        if !self.sees(claims, scope).await? {
            return Ok(vec![]);
        }
        let mut rules = identity::approval_rules(&self.pool, scope.organization, None).await?;
        if let Some(p) = scope.project {
            rules.extend(identity::approval_rules(&self.pool, scope.organization, Some(p)).await?);
        }
        Ok(rules)
    }

    /// The rule a template names (by id or PRN), if it is usable in
    /// `project`.
    async fn usable_rule(
        &self,
        project: &ProjectRow,
        reference: &str,
    ) -> Result<Option<ApprovalRuleRow>, ServiceError> {
        let id = match reference.strip_prefix("prn:approval_rule:") {
            Some(path) => {
                let parts: Vec<&str> = path.split('/').collect();
                match parts.as_slice() {
                    [org, name] if *org == project.organization_name => Uuid::parse_str(
                        &approval_rule_id(&project.organization_id.to_string(), name),
                    )
                    .ok(),
                    [org, p, name] if *org == project.organization_name && *p == project.name => {
                        Uuid::parse_str(&approval_rule_id(&project.id.to_string(), name)).ok()
                    }
                    _ => None,
                }
            }
            None => crate::graphql::ids::uuid_of(
                phobos_core::events::aggregate::APPROVAL_RULE,
                reference,
            ),
        };
        let Some(id) = id else { return Ok(None) };
        Ok(identity::approval_rule(&self.pool, id).await?.filter(|r| {
            !r.deleted
                && r.organization_id == project.organization_id
                && r.project_id.is_none_or(|p| p == project.id)
        }))
    }

    /// Replaces each node's `approval_rules` references with the rules'
    /// ids; a reference to no rule usable in the project is a located
    /// problem.
    pub(crate) async fn resolve_approval_rules(
        &self,
        source: &str,
        compiled: &mut Compiled,
        project: &ProjectRow,
    ) -> Result<(), ServiceError> {
        let mut found = Diagnostics::default();
        let here = format!("{}/{}", project.organization_name, project.name);
        for stage in &mut compiled.graph.stages {
            for node in &mut stage.nodes {
                let mut ids = Vec::new();
                for r in &node.approval_rules {
                    match self.usable_rule(project, r).await? {
                        Some(rule) => ids.push(rule.id.to_string()),
                        None => {
                            let span = compiled
                                .template
                                .stages
                                .iter()
                                .flat_map(|s| s.nodes())
                                .find(|n| n.path == node.path)
                                .and_then(|n| n.span.clone());
                            found.error(
                                span,
                                format!(
                                    "{}: approval rule {r:?} does not exist or cannot be used in project {here}; name a rule of organization {} or of this project by id or PRN (prn:approval_rule:{}/NAME or prn:approval_rule:{here}/NAME)",
                                    node.path, project.organization_name, project.organization_name
                                ),
                            );
                        }
                    }
                }
                ids.dedup();
                node.approval_rules = ids;
            }
        }
        found.locate(source);
        let problems: Vec<Problem> = found
            .errors()
            .map(|d| Problem::of_diagnostic(d, "template"))
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        Err(ServiceError {
            code: Code::Invalid,
            message: format!(
                "the pipeline names approval rules it cannot use: {} problem(s)",
                problems.len()
            ),
            problems,
        })
    }

    /// `approvePipelineNode`, `revokePipelineNodeApproval`,
    /// `rejectPipelineNode` and `overridePipelineNodeApproval`.
    #[tracing::instrument(skip_all, fields(pipeline = %pipeline_id, node = %path, decision = ?decision))]
    pub async fn decide_approval(
        &self,
        claims: &Claims,
        pipeline_id: Uuid,
        path: &str,
        decision: Decision,
    ) -> Result<PipelineRow, ServiceError> {
        self.user(claims)?;
        let what = format!("pipeline {pipeline_id}");
        let missing = || {
            ServiceError::field(
                Code::NotFound,
                "pipelineId",
                format!("{what} does not exist"),
            )
        };
        let pipeline = queries::pipeline(&self.pool, pipeline_id)
            .await?
            .ok_or_else(missing)?;
        let needs = match decision {
            Decision::Override(_) => Permission::ManageApprovalRules,
            _ => Permission::View,
        };
        self.authorize_project(claims, needs, pipeline.project_id, "pipelineId", &what)
            .await?;
        let cmd = self
            .approval_command(claims, &pipeline, path, decision)
            .await?;
        self.pipeline_command(claims, pipeline_id, cmd, ("pipelineId", "nodePath"))
            .await
    }

    /// The pipeline command of `claims`'s `decision` on the node at
    /// `path`, once it is known who decides and for which of the node's
    /// rules; `Err` when the caller may not decide so (not named in a rule,
    /// or its own pipeline without self-approval).
    pub(super) async fn approval_command(
        &self,
        claims: &Claims,
        pipeline: &PipelineRow,
        path: &str,
        decision: Decision,
    ) -> Result<PipelineCommand, ServiceError> {
        let missing = || {
            ServiceError::field(
                Code::NotFound,
                "pipelineId",
                format!("pipeline {} does not exist", pipeline.id),
            )
        };
        let (kind, me) = match claims.kind {
            crate::auth::TokenKind::ServiceAccount => (
                MemberKind::ServiceAccount,
                super::service_account_id_of(&claims.sub).ok_or_else(missing)?,
            ),
            _ => (
                MemberKind::User,
                parse_id("sub", &phobos_commands::aggregates::user_id(&claims.sub))?,
            ),
        };
        let principal = Member {
            kind,
            id: me.to_string(),
            name: claims.sub.clone(),
        };
        Ok(match decision {
            Decision::Approve => {
                let rules = self
                    .eligible_rules(pipeline, path, me, &claims.actor().to_string())
                    .await?;
                PipelineCommand::ApproveNode {
                    path: path.to_string(),
                    principal,
                    rules,
                }
            }
            Decision::Revoke => PipelineCommand::RevokeNodeApproval {
                path: path.to_string(),
                principal,
            },
            Decision::Reject(comment) => {
                self.eligible_rules(pipeline, path, me, "").await?;
                PipelineCommand::RejectNode {
                    path: path.to_string(),
                    principal,
                    comment,
                }
            }
            Decision::Override(comment) => PipelineCommand::OverrideNodeApproval {
                path: path.to_string(),
                by: claims.actor().to_string(),
                comment,
            },
        })
    }

    /// The rules of the node at `path` that user `me` may approve for:
    /// it is named in the rule (directly or through a team), and did not
    /// create the pipeline unless the rule allows self-approval
    /// (`creator`: the pipeline's creator to compare, "" to not check).
    async fn eligible_rules(
        &self,
        pipeline: &PipelineRow,
        path: &str,
        me: Uuid,
        creator: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let node = queries::node(&self.pool, pipeline.id, path)
            .await?
            .ok_or_else(|| {
                ServiceError::field(
                    Code::NotFound,
                    "nodePath",
                    format!("node {path} does not exist in this pipeline"),
                )
            })?;
        let state: Option<ApprovalState> =
            node.approval.and_then(|v| serde_json::from_value(v).ok());
        let Some(rules) = state.and_then(|s| s.rules) else {
            return Err(ServiceError::field(
                Code::Conflict,
                "nodePath",
                format!("{path} is {}; only an APPROVAL_PENDING node whose rules are fixed can be approved (try again in a moment if it has just become pending)", node.status),
            ));
        };
        let teams: Vec<Uuid> = rules
            .iter()
            .flat_map(|r| &r.principals)
            .filter(|p| p.kind == MemberKind::Team)
            .filter_map(|p| Uuid::parse_str(&p.id).ok())
            .collect();
        let mine = identity::in_any_team(&self.pool, me, &teams).await?;
        let named = |r: &phobos_core::events::ApprovalRuleSnapshot| {
            r.principals.iter().any(|p| match p.kind {
                MemberKind::User => p.id == me.to_string(),
                MemberKind::Team => Uuid::parse_str(&p.id).is_ok_and(|t| mine.contains(&t)),
                MemberKind::ServiceAccount => p.id == me.to_string(),
            })
        };
        let self_approval = !creator.is_empty() && pipeline.created_by == creator;
        let named_in: Vec<_> = rules.iter().filter(|r| named(r)).collect();
        if named_in.is_empty() {
            return Err(ServiceError::field(
                Code::Forbidden,
                "nodePath",
                format!(
                    "you are not an approver of any of {path}'s approval rules ({})",
                    rules
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let eligible: Vec<String> = named_in
            .iter()
            .filter(|r| !self_approval || r.allow_self_approval)
            .map(|r| r.id.clone())
            .collect();
        if eligible.is_empty() {
            return Err(ServiceError::field(
                Code::Forbidden,
                "nodePath",
                format!("you created this pipeline, and {path}'s approval rules you are named in do not allow self-approval; ask another approver"),
            ));
        }
        Ok(eligible)
    }
}
