//! Environments: a project's places to deploy to. Created by
//! `createEnvironment`, or by the first deployment pipeline to one.

use phobos_commands::aggregates::{environment_id, user_id, EnvironmentCommand};
use phobos_commands::{CommandError, DomainError};
use phobos_core::access::{Member, MemberKind, Role};
use phobos_core::template::model::{NodeKind, When};
use phobos_core::template::ExecutionGraph;
use phobos_projections::identity;
use phobos_projections::queries::{self, EnvironmentRow, PipelineRow, ProjectRow};
use uuid::Uuid;

use super::{check_name, parse_id, App, Code, ServiceError};
use crate::auth::{Claims, TokenKind};
use crate::authz::{Permission, Scope};

impl App {
    /// `createEnvironment`. A name the project already has is a CONFLICT
    /// problem of `name`.
    #[tracing::instrument(skip_all, fields(project = %project, name = %name))]
    pub async fn create_environment(
        &self,
        claims: &Claims,
        project: Uuid,
        name: &str,
        description: &str,
    ) -> Result<EnvironmentRow, ServiceError> {
        let row = self
            .authorize_project(
                claims,
                Permission::ManageEnvironments,
                project,
                "projectId",
                &format!("project {project}"),
            )
            .await?;
        check_name("name", name)?;
        let id = environment_id(&project.to_string(), name);
        let cmd = EnvironmentCommand::CreateEnvironment {
            project_id: project.to_string(),
            name: name.to_string(),
            description: description.to_string(),
        };
        let appended = self
            .bus
            .environment(&id, cmd, &self.context(claims))
            .await
            .map_err(|e| match e {
                CommandError::Rejected(DomainError::AlreadyExists(_)) => ServiceError::field(
                    Code::Conflict,
                    "name",
                    format!(
                        "project {}/{} already has an environment called {name}",
                        row.organization_name, row.name
                    ),
                ),
                other => other.into(),
            })?;
        let id: Uuid = id
            .parse()
            .map_err(|_| ServiceError::new(Code::Internal, "an environment id is not a UUID"))?;
        self.projected(appended, "environment", || {
            queries::environment(&self.pool, id)
        })
        .await
    }
}

/// What `updateEnvironmentProtectionRules` asks for: who may start or
/// approve a deployment into the environment. All empty: unprotected.
#[derive(Debug, Clone, Default)]
pub struct ProtectionInput {
    pub users: Vec<String>,
    pub teams: Vec<String>,
    pub service_accounts: Vec<String>,
    pub roles: Vec<Role>,
}

/// The protection rules of an environment, as its read model keeps them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Protection {
    pub principals: Vec<Member>,
    pub roles: Vec<Role>,
}

impl Protection {
    /// The rules of `row`; None when it is unprotected. Rules that do not
    /// decode (a bug) protect it from everyone but administrators.
    pub fn of(row: &EnvironmentRow) -> Option<Protection> {
        let v = row.protection.as_ref()?;
        Some(serde_json::from_value(v.clone()).unwrap_or_else(|e| {
            tracing::error!(environment = %row.id, error = %e, "protection rules do not decode; allowing administrators only");
            Protection::default()
        }))
    }

    /// Who may, in words, for a refusal.
    fn describe(&self) -> String {
        let mut who: Vec<String> = self
            .principals
            .iter()
            .map(|p| {
                let kind = match p.kind {
                    MemberKind::User => "user",
                    MemberKind::Team => "team",
                    MemberKind::ServiceAccount => "service account",
                };
                format!("{kind} {}", p.name)
            })
            .collect();
        who.extend(
            self.roles
                .iter()
                .map(|r| format!("the {} role (or higher)", r.title())),
        );
        who.join(", ")
    }
}

/// What a caller does to a deployment, for the protection check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployAction {
    Start,
    Approve,
}

impl App {
    /// `updateEnvironmentProtectionRules`: Owners and Release Managers
    /// replace who may start or approve a deployment into an environment.
    #[tracing::instrument(skip_all, fields(environment = %id))]
    pub async fn update_environment_protection_rules(
        &self,
        claims: &Claims,
        id: Uuid,
        input: ProtectionInput,
    ) -> Result<EnvironmentRow, ServiceError> {
        self.user(claims)?;
        let what = format!("environment {id}");
        let env = queries::environment(&self.pool, id).await?.ok_or_else(|| {
            ServiceError::field(
                Code::NotFound,
                "environmentId",
                format!("{what} does not exist"),
            )
        })?;
        let project = self
            .authorize_project(
                claims,
                super::ScopeAction::UpdateEnvironmentProtection.permission(),
                env.project_id,
                "environmentId",
                &what,
            )
            .await?;
        let scope = Scope::project(project.organization_id, project.id);
        let principals = self
            .principals(&input.users, &input.teams, &input.service_accounts, scope)
            .await?;
        let mut roles = input.roles;
        roles.sort();
        roles.dedup();
        let cmd = EnvironmentCommand::SetProtectionRules { principals, roles };
        let appended = self
            .bus
            .environment(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected(appended, "environment", || {
            queries::environment(&self.pool, id)
        })
        .await
    }

    /// Refuses with FORBIDDEN (a problem of `field`) when environment
    /// `name` of `project` is protected and the caller is none of those
    /// its rules allow to `action` a deployment into it: a principal named
    /// in them, a member of a team named in them, or the holder of one of
    /// their roles (or a higher one) in the project. Administrators may.
    pub(crate) async fn check_deploy(
        &self,
        claims: &Claims,
        project: &ProjectRow,
        name: &str,
        action: DeployAction,
        field: &str,
    ) -> Result<(), ServiceError> {
        let Some(env) = queries::environment_named(&self.pool, project.id, name).await? else {
            return Ok(());
        };
        let Some(rules) = Protection::of(&env) else {
            return Ok(());
        };
        let subject = self.subject(claims).await?;
        if subject.admin {
            return Ok(());
        }
        let me = match claims.kind {
            TokenKind::User => Some((MemberKind::User, user_id(&claims.sub))),
            TokenKind::ServiceAccount => super::service_account_id_of(&claims.sub)
                .map(|id| (MemberKind::ServiceAccount, id.to_string())),
            TokenKind::Agent => None,
        };
        if let Some((kind, id)) = &me {
            if rules
                .principals
                .iter()
                .any(|p| p.kind == *kind && p.id == *id)
            {
                return Ok(());
            }
            let teams: Vec<Uuid> = rules
                .principals
                .iter()
                .filter(|p| p.kind == MemberKind::Team)
                .filter_map(|p| Uuid::parse_str(&p.id).ok())
                .collect();
            if *kind == MemberKind::User && !teams.is_empty() {
                let uid = parse_id("sub", id)?;
                if !identity::in_any_team(&self.pool, uid, &teams)
                    .await?
                    .is_empty()
                {
                    return Ok(());
                }
            }
        }
        let role = subject.role_in(Scope::project(project.organization_id, project.id));
        if role.is_some_and(|mine| rules.roles.iter().any(|r| mine >= *r)) {
            return Ok(());
        }
        let verb = match action {
            DeployAction::Start => "start",
            DeployAction::Approve => "approve",
        };
        Err(ServiceError::field(
            Code::Forbidden,
            field,
            format!(
                "environment {name} of project {}/{} is protected: only {} may {verb} a deployment into it; ask an Owner or Release Manager of the project to add you to its protection rules",
                project.organization_name,
                project.name,
                rules.describe()
            ),
        ))
    }

    /// [`check_deploy`](Self::check_deploy) for every deployment of
    /// `graph` that starts without anyone starting it (`when` is not
    /// manual): whoever creates the pipeline starts those.
    pub(crate) async fn check_auto_deployments(
        &self,
        claims: &Claims,
        project: &ProjectRow,
        graph: &ExecutionGraph,
        field: &str,
    ) -> Result<(), ServiceError> {
        for node in graph.stages.iter().flat_map(|s| &s.nodes) {
            let starts_itself = !matches!(node.when, When::Manual | When::Never);
            if let (Some(env), true) = (node.deploys_to(), starts_itself) {
                self.check_deploy(claims, project, env, DeployAction::Start, field)
                    .await?;
            }
        }
        Ok(())
    }

    /// The environment a node's start or approval deploys into: the
    /// node's own (a deployment node), else its pipeline's (any node of a
    /// deployment pipeline).
    pub(crate) async fn deployment_of_node(
        &self,
        pipeline: &PipelineRow,
        path: &str,
    ) -> Result<Option<String>, ServiceError> {
        let node = queries::node(&self.pool, pipeline.id, path).await?;
        // A lifecycle deployment is named after its environment: a row
        // without the column filled in still deploys there.
        let own = node.and_then(|n| {
            n.environment_name
                .or_else(|| (n.kind == NodeKind::Deployment.as_str()).then_some(n.name))
        });
        Ok(own.or_else(|| pipeline.environment_name.clone()))
    }
}
