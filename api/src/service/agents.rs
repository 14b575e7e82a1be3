//! The agent services: agents as resources, their credentials, and the
//! server's own (internal) agents.

use phobos_commands::aggregates::{agent_id, organization_agent_id, organization_id, AgentCommand};
use phobos_core::events::AgentType;
use phobos_projections::queries::{self, AgentRow};
use uuid::Uuid;

use crate::auth::Claims;
use crate::authz::{Permission, Scope};
use crate::credentials::{self, AGENT_TOKEN_PREFIX};
use crate::service::{check_name, parse_id, App, Code, ServiceError};

/// What `createAgent` asks for.
pub struct NewAgent<'a> {
    pub name: &'a str,
    pub agent_type: AgentType,
    /// Required for organization agents, refused for shared ones.
    pub organization_name: Option<&'a str>,
    pub tags: Vec<String>,
    pub run_untagged_jobs: bool,
}

fn check_tags(tags: &[String]) -> Result<(), ServiceError> {
    match tags.iter().find(|t| t.trim().is_empty() || t.len() > 64) {
        None => Ok(()),
        Some(t) => Err(ServiceError::field(
            Code::Invalid,
            "tags",
            format!("tag {t:?} is not valid: use 1 to 64 characters"),
        )),
    }
}

impl App {
    #[tracing::instrument(skip_all, fields(name = %new.name))]
    pub async fn create_agent(
        &self,
        claims: &Claims,
        new: NewAgent<'_>,
    ) -> Result<AgentRow, ServiceError> {
        self.user(claims)?;
        check_name("name", new.name)?;
        check_tags(&new.tags)?;
        let (id, organization) = match (new.agent_type, new.organization_name) {
            (AgentType::Organization, Some(org)) => {
                let org_id = organization_id(org);
                let org_uuid = parse_id("organizationName", &org_id)?;
                let missing = || {
                    ServiceError::field(
                        Code::NotFound,
                        "organizationName",
                        format!("organization {org:?} does not exist"),
                    )
                };
                if queries::organization(&self.pool, org_uuid).await?.is_none() {
                    return Err(missing());
                }
                self.manage_agents(claims, Some(org_uuid), missing).await?;
                (organization_agent_id(&org_id, new.name), Some(org_id))
            }
            (AgentType::Organization, None) => {
                return Err(ServiceError::field(
                    Code::Invalid,
                    "organizationName",
                    "an ORGANIZATION agent needs organizationName",
                ))
            }
            (AgentType::Shared, Some(_)) => {
                return Err(ServiceError::field(
                    Code::Invalid,
                    "organizationName",
                    "a SHARED agent belongs to no organization: leave organizationName out, or use type ORGANIZATION",
                ))
            }
            (AgentType::Shared, None) => {
                self.require_admin(claims).await?;
                (agent_id(new.name), None)
            }
        };
        let cmd = AgentCommand::CreateAgent {
            name: new.name.to_string(),
            agent_type: new.agent_type,
            organization_id: organization,
            tags: new.tags,
            run_untagged_jobs: new.run_untagged_jobs,
        };
        let appended = self.bus.agent(&id, cmd, &self.context(claims)).await?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "agent", || queries::agent(&self.pool, uuid))
            .await
    }

    /// Shared agents (`organization` None) are the administrators'; an
    /// organization's need ManageAgents there.
    pub(super) async fn manage_agents(
        &self,
        claims: &Claims,
        organization: Option<Uuid>,
        missing: impl FnOnce() -> ServiceError,
    ) -> Result<(), ServiceError> {
        match organization {
            Some(org) => {
                self.authorize(
                    claims,
                    Permission::ManageAgents,
                    Scope::organization(org),
                    missing,
                )
                .await?;
            }
            None => {
                self.require_admin(claims).await?;
            }
        }
        Ok(())
    }

    /// Agent `id`, which the caller may manage.
    async fn existing_agent(&self, claims: &Claims, id: Uuid) -> Result<AgentRow, ServiceError> {
        self.user(claims)?;
        let missing =
            || ServiceError::field(Code::NotFound, "id", format!("agent {id} does not exist"));
        let agent = queries::agent(&self.pool, id).await?.ok_or_else(missing)?;
        self.manage_agents(claims, agent.organization_id, missing)
            .await?;
        Ok(agent)
    }

    #[tracing::instrument(skip_all, fields(agent = %id))]
    pub async fn update_agent(
        &self,
        claims: &Claims,
        id: Uuid,
        tags: Option<Vec<String>>,
        run_untagged_jobs: Option<bool>,
    ) -> Result<AgentRow, ServiceError> {
        self.user(claims)?;
        let current = self.existing_agent(claims, id).await?;
        let tags = tags.unwrap_or(current.tags);
        check_tags(&tags)?;
        let cmd = AgentCommand::UpdateAgent {
            tags: tags.clone(),
            run_untagged_jobs: run_untagged_jobs.unwrap_or(current.run_untagged_jobs),
        };
        let appended = self
            .bus
            .agent(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected(appended, "agent", || queries::agent(&self.pool, id))
            .await
    }

    #[tracing::instrument(skip_all, fields(agent = %id))]
    pub async fn delete_agent(&self, claims: &Claims, id: Uuid) -> Result<AgentRow, ServiceError> {
        self.user(claims)?;
        let current = self.existing_agent(claims, id).await?;
        let appended = self
            .bus
            .agent(
                &id.to_string(),
                AgentCommand::DeleteAgent,
                &self.context(claims),
            )
            .await?;
        self.wait_projected(appended, "deleted agent").await?;
        Ok(current)
    }

    /// Lets the service account at `path` sign in as organization agent
    /// `id`. The account must be one of the agent's organization itself.
    #[tracing::instrument(skip_all, fields(agent = %id))]
    pub async fn assign_agent_service_account(
        &self,
        claims: &Claims,
        id: Uuid,
        path: &str,
    ) -> Result<AgentRow, ServiceError> {
        self.user(claims)?;
        let agent = self.existing_agent(claims, id).await?;
        let Some(org) = agent.organization_id.filter(|_| !agent.internal) else {
            return Err(ServiceError::field(
                Code::Invalid,
                "agentId",
                format!("agent {:?} is a shared agent: only organization agents sign in as service accounts (give it a credential with createAgentToken)", agent.name),
            ));
        };
        let sa_id =
            crate::service::service_accounts::service_account_id_of(path).ok_or_else(|| {
                ServiceError::field(
                    Code::Invalid,
                    "serviceAccountPath",
                    format!("{path:?} is not a service account path: use ORG/NAME or its PRN"),
                )
            })?;
        let sa = phobos_projections::identity::service_account(&self.pool, sa_id)
            .await?
            .filter(|sa| sa.organization_id == org)
            .ok_or_else(|| {
                ServiceError::field(
                    Code::NotFound,
                    "serviceAccountPath",
                    format!("the agent's organization has no service account {path:?}"),
                )
            })?;
        if sa.project_id.is_some() {
            return Err(ServiceError::field(
                Code::Invalid,
                "serviceAccountPath",
                format!("{:?} is a project's service account: an organization agent signs in as one of its organization (ORG/NAME)", sa.path),
            ));
        }
        let cmd = AgentCommand::AssignServiceAccount {
            service_account_id: sa.id.to_string(),
            service_account_path: sa.path.clone(),
        };
        let appended = self
            .bus
            .agent(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected(appended, "agent", || queries::agent(&self.pool, id))
            .await
    }

    /// No service account signs in as agent `id` any more.
    #[tracing::instrument(skip_all, fields(agent = %id))]
    pub async fn unassign_agent_service_account(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<AgentRow, ServiceError> {
        self.user(claims)?;
        self.existing_agent(claims, id).await?;
        let appended = self
            .bus
            .agent(
                &id.to_string(),
                AgentCommand::UnassignServiceAccount,
                &self.context(claims),
            )
            .await?;
        self.projected(appended, "agent", || queries::agent(&self.pool, id))
            .await
    }

    /// A new credential for agent `id`: returned once, stored only as a hash.
    #[tracing::instrument(skip_all, fields(agent = %id))]
    pub async fn create_agent_token(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<(String, AgentRow), ServiceError> {
        self.user(claims)?;
        let agent = self.existing_agent(claims, id).await?;
        let (token, hash) = credentials::new_secret(AGENT_TOKEN_PREFIX).map_err(|e| {
            tracing::error!(error = %e, "no randomness for an agent token");
            ServiceError::new(
                Code::Unavailable,
                "cannot make a token right now; try again",
            )
        })?;
        let cmd = AgentCommand::CreateAgentToken {
            token_id: Uuid::new_v4().to_string(),
            token_sha256: hash.clone(),
        };
        let appended = self
            .bus
            .agent(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected(appended, "agent token", || {
            queries::agent_by_token(&self.pool, &hash)
        })
        .await?;
        Ok((token, agent))
    }

    /// Creates (or brings in line with the configuration) one of the
    /// server's internal agents, and waits until it is visible.
    pub async fn ensure_internal_agent(
        &self,
        name: &str,
        tags: &[String],
    ) -> Result<AgentRow, ServiceError> {
        let id = agent_id(name);
        let cmd = AgentCommand::EnsureInternalAgent {
            name: name.to_string(),
            tags: tags.to_vec(),
        };
        let ctx = phobos_commands::CommandContext::new(phobos_core::events::Actor::System(
            "server".into(),
        ));
        let appended = self.bus.agent(&id, cmd, &ctx).await?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "internal agent", || {
            queries::agent(&self.pool, uuid)
        })
        .await
    }
}
