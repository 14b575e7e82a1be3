use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result, ID};
use phobos_commands::log::Position;
use phobos_core::events::aggregate;
use phobos_projections::queries;
use uuid::Uuid;

use super::identity::{Membership, Principal, ServiceAccount, Team, User};
use super::types::*;
use super::{app, authed, gql_err, ids};
use crate::service::{Code, ServiceError};

/// The query root.
pub struct QueryRoot;

pub(crate) async fn project_row(ctx: &Context<'_>, id: Uuid) -> Result<queries::ProjectRow> {
    queries::project(&app(ctx).pool, id)
        .await
        .map_err(gql_err)?
        .ok_or_else(|| {
            gql_err(ServiceError::new(
                Code::Internal,
                format!("project {id} is missing from the read model"),
            ))
        })
}

pub(crate) async fn pipeline_by_id(ctx: &Context<'_>, id: Uuid) -> Result<Option<Pipeline>> {
    match queries::pipeline(&app(ctx).pool, id)
        .await
        .map_err(gql_err)?
    {
        Some(p) => {
            let project = project_row(ctx, p.project_id).await?;
            Ok(Some(Pipeline(p, project)))
        }
        None => Ok(None),
    }
}

/// Any object by kind and id, if the caller may see it. (Objects nested
/// under a project are built only from a project the caller sees, so their
/// own resolvers need no further check.)
async fn node_by_uuid(ctx: &Context<'_>, kind: &str, id: Uuid) -> Result<Option<Node>> {
    let app = app(ctx);
    let claims = authed(ctx)?;
    let pool = &app.pool;
    let in_project =
        |project_id: Uuid| async move { app.project(claims, project_id).await.map_err(gql_err) };
    Ok(match kind {
        aggregate::ORGANIZATION => app
            .organization(claims, id)
            .await
            .map_err(gql_err)?
            .map(|r| Node::Organization(Organization(r))),
        aggregate::PROJECT => in_project(id).await?.map(|r| Node::Project(Project(r))),
        aggregate::PIPELINE_TEMPLATE => match queries::template(pool, id).await.map_err(gql_err)? {
            Some(t) => in_project(t.project_id)
                .await?
                .map(|p| Node::PipelineTemplate(PipelineTemplate(t, p))),
            None => None,
        },
        aggregate::PIPELINE => app
            .pipeline(claims, id)
            .await
            .map_err(gql_err)?
            .map(|(p, proj)| Node::Pipeline(Pipeline(p, proj))),
        aggregate::JOB => match queries::job(pool, id).await.map_err(gql_err)? {
            Some(j) => in_project(j.project_id)
                .await?
                .map(|p| Node::Job(Job(j, p))),
            None => None,
        },
        aggregate::AGENT => app
            .agent(claims, id)
            .await
            .map_err(gql_err)?
            .map(|r| Node::Agent(r.into())),
        aggregate::ENVIRONMENT => match queries::environment(pool, id).await.map_err(gql_err)? {
            Some(e) => in_project(e.project_id)
                .await?
                .map(|p| Node::Environment(Environment(e, p))),
            None => None,
        },
        aggregate::USER => app
            .user_by_id(claims, id)
            .await
            .map_err(gql_err)?
            .map(|u| Node::User(User(u))),
        aggregate::TEAM => app
            .team_by_id(claims, id)
            .await
            .map_err(gql_err)?
            .map(|t| Node::Team(Team(t))),
        aggregate::APPROVAL_RULE => match phobos_projections::identity::approval_rule(pool, id)
            .await
            .map_err(gql_err)?
            .filter(|r| !r.deleted)
        {
            Some(r) => {
                let scope = crate::authz::Scope {
                    organization: r.organization_id,
                    project: r.project_id,
                };
                app.sees(claims, scope)
                    .await
                    .map_err(gql_err)?
                    .then(|| Node::ApprovalRule(super::approvals::ApprovalRule(r)))
            }
            None => None,
        },
        aggregate::SERVICE_ACCOUNT => app
            .service_account_by_id(claims, id)
            .await
            .map_err(gql_err)?
            .map(|s| Node::ServiceAccount(ServiceAccount(s))),
        aggregate::MEMBERSHIP => app
            .membership(claims, id)
            .await
            .map_err(gql_err)?
            .map(|m| Node::Membership(Membership(m))),
        _ => None,
    })
}

/// What `validatePipelineTemplate` found.
#[derive(async_graphql::SimpleObject)]
pub struct TemplateValidation {
    /// What is wrong, with line and column where they are known; empty
    /// when the template is valid.
    pub problems: Vec<super::Problem>,
}

/// Everything that reads. A resource the caller may not see reads as
/// absent (null).

#[Object]
impl QueryRoot {
    /// What changed between two releases of one project: lifecycle
    /// version, each environment's template (with a line diff), each
    /// variable, and each deployment's outcome. Null if the caller does not
    /// see them.
    async fn release_diff(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first release's id.")] from: ID,
        #[graphql(desc = "The second release's id.")] to: ID,
    ) -> Result<Option<super::releases::ReleaseDiff>> {
        super::releases::release_diff(ctx, &from, &to).await
    }

    /// A release by id or PRN (`prn:release:ORG/PROJECT/VERSION`), if the
    /// caller sees its project.
    async fn release(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The release's id, or its PRN.")] id: ID,
    ) -> Result<Option<super::releases::Release>> {
        super::releases::release_by_id(ctx, &id).await
    }

    /// The caller: a user (signed in with the built-in identity provider or
    /// an external one) or an agent.
    async fn me(&self, ctx: &Context<'_>) -> Result<Principal> {
        let claims = authed(ctx)?;
        let app = app(ctx);
        match claims.kind {
            crate::auth::TokenKind::User => match app.me(claims).await.map_err(gql_err)? {
                Some(u) => Ok(Principal::User(User(u))),
                None => Err(gql_err(ServiceError::new(
                    Code::Unauthenticated,
                    "the token's user does not exist: sign in again",
                ))),
            },
            crate::auth::TokenKind::ServiceAccount => {
                // Itself, whatever its memberships.
                let own = match crate::service::service_account_id_of(&claims.sub) {
                    Some(id) => phobos_projections::identity::service_account(&app.pool, id)
                        .await
                        .map_err(gql_err)?,
                    None => None,
                };
                match own {
                    Some(s) => Ok(Principal::ServiceAccount(ServiceAccount(s))),
                    None => Err(gql_err(ServiceError::new(
                        Code::Unauthenticated,
                        "the token's service account does not exist",
                    ))),
                }
            }
            crate::auth::TokenKind::Agent => {
                // An internal agent's token names it.
                let id = Uuid::parse_str(&phobos_commands::aggregates::agent_id(&claims.sub)).ok();
                let agent = match id {
                    Some(id) => queries::agent(&app.pool, id).await.map_err(gql_err)?,
                    None => None,
                };
                agent.map(|a| Principal::Agent(a.into())).ok_or_else(|| {
                    gql_err(ServiceError::new(
                        Code::Unauthenticated,
                        "the token's agent does not exist",
                    ))
                })
            }
        }
    }

    /// Every resource limit and its value.
    async fn resource_limits(&self, ctx: &Context<'_>) -> Result<Vec<ResourceLimit>> {
        Ok(app(ctx)
            .resource_limits(authed(ctx)?)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(|(n, v)| ResourceLimit::of(n, v))
            .collect())
    }

    /// How to sign in; readable without a token.
    async fn auth_settings(&self, ctx: &Context<'_>) -> super::settings::AuthSettings {
        let app = app(ctx);
        let mut s = super::settings::AuthSettings::of(&app.config);
        match app.issuers.sign_in_endpoints().await {
            Ok(e) => s.oidc_authorization_endpoint = e.map(|e| e.authorization),
            Err(e) => tracing::warn!(error = %e, "the OIDC provider's endpoints are unknown"),
        }
        s
    }

    /// The server's public settings (version, URLs, support link, what
    /// agents dial); readable without a token.
    async fn server_info(&self, ctx: &Context<'_>) -> super::settings::ServerInfo {
        super::settings::ServerInfo::of(&app(ctx).config)
    }

    /// The emails the server queued, newest first (administrators only).
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those in this status.")] status: Option<
            super::notifications::NotificationStatus,
        >,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
    ) -> Result<Vec<super::notifications::Notification>> {
        Ok(app(ctx)
            .notifications(
                authed(ctx)?,
                status.map(Into::into),
                first.unwrap_or(50).max(0) as usize,
            )
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(super::notifications::Notification)
            .collect())
    }

    /// Every user (users appear at their first sign-in).
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, User>> {
        let page = app(ctx)
            .users(authed(ctx)?, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, User))
    }

    /// Every team.
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, Team>> {
        let page = app(ctx)
            .teams(authed(ctx)?, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, Team))
    }

    /// A team by name.
    async fn team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team's name.")] name: String,
    ) -> Result<Option<Team>> {
        Ok(app(ctx)
            .team(authed(ctx)?, &name)
            .await
            .map_err(gql_err)?
            .map(Team))
    }

    /// Any object by global id, or by PRN (`prn:organization:acme`,
    /// `prn:project:acme/web`, `prn:pipeline:acme/web/<id>`, `prn:agent:<name>`, `prn:agent:<org>/<name>` …).
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, or a PRN.")] id: ID,
    ) -> Result<Option<Node>> {
        authed(ctx)?;
        if let Some((kind, uuid)) = ids::decode(&id) {
            return node_by_uuid(ctx, &kind, uuid).await;
        }
        let prn: phobos_core::prn::Prn = match id.parse() {
            Ok(p) => p,
            Err(_) => {
                return Err(gql_err(ServiceError::new(
                    Code::Invalid,
                    format!(
                        "{:?} is neither a global id nor a PRN (prn:<type>:<path>)",
                        id.as_str()
                    ),
                )))
            }
        };
        let parts: Vec<&str> = prn.path.split('/').collect();
        use phobos_commands::aggregates::{
            agent_id, approval_rule_id, environment_id, organization_agent_id, organization_id,
            project_id,
        };
        let by = |kind: &str, s: String| (kind.to_string(), Uuid::parse_str(&s).ok());
        let (kind, uuid) = match (prn.resource_type.as_str(), parts.as_slice()) {
            ("organization", [org]) => by(aggregate::ORGANIZATION, organization_id(org)),
            ("project", [org, p]) => by(aggregate::PROJECT, project_id(&organization_id(org), p)),
            ("pipeline", [_, _, id]) => by(aggregate::PIPELINE, id.to_string()),
            ("pipeline_template", [_, _, id]) => by(aggregate::PIPELINE_TEMPLATE, id.to_string()),
            ("job", [_, _, id]) => by(aggregate::JOB, id.to_string()),
            ("agent", [name]) => by(aggregate::AGENT, agent_id(name)),
            ("user", [name]) => by(aggregate::USER, phobos_commands::aggregates::user_id(name)),
            ("team", [name]) => by(aggregate::TEAM, phobos_commands::aggregates::team_id(name)),
            ("membership", [id]) => by(aggregate::MEMBERSHIP, id.to_string()),
            ("service_account", _) => (
                aggregate::SERVICE_ACCOUNT.to_string(),
                crate::service::service_account_id_of(&prn.path),
            ),
            ("approval_rule", [org, name]) => by(
                aggregate::APPROVAL_RULE,
                approval_rule_id(&organization_id(org), name),
            ),
            ("approval_rule", [org, p, name]) => by(
                aggregate::APPROVAL_RULE,
                approval_rule_id(&project_id(&organization_id(org), p), name),
            ),
            ("environment", [org, p, name]) => by(
                aggregate::ENVIRONMENT,
                environment_id(&project_id(&organization_id(org), p), name),
            ),
            ("agent", [org, name]) => by(
                aggregate::AGENT,
                organization_agent_id(&organization_id(org), name),
            ),
            _ => return Ok(None),
        };
        match uuid {
            Some(u) => node_by_uuid(ctx, &kind, u).await,
            None => Ok(None),
        }
    }

    /// The organizations the caller sees (all, for an administrator).
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, Organization>> {
        let page = app(ctx)
            .organizations(authed(ctx)?, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, Organization))
    }

    /// An organization by name, if the caller sees it.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization's name.")] name: String,
    ) -> Result<Option<Organization>> {
        let claims = authed(ctx)?;
        let id = Uuid::parse_str(&phobos_commands::aggregates::organization_id(&name))
            .map_err(|e| gql_err(ServiceError::new(Code::Internal, e.to_string())))?;
        Ok(app(ctx)
            .organization(claims, id)
            .await
            .map_err(gql_err)?
            .map(Organization))
    }

    /// A pipeline by id, if the caller sees it.
    async fn pipeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pipeline's id.")] id: ID,
    ) -> Result<Option<Pipeline>> {
        authed(ctx)?;
        match ids::uuid_of(aggregate::PIPELINE, &id) {
            Some(u) => match node_by_uuid(ctx, aggregate::PIPELINE, u).await? {
                Some(Node::Pipeline(p)) => Ok(Some(p)),
                _ => Ok(None),
            },
            None => Err(gql_err(ServiceError::new(
                Code::Invalid,
                format!("{:?} is not a pipeline id", id.as_str()),
            ))),
        }
    }

    /// What is wrong with `hcl` as a pipeline template of the project: the
    /// problems `createPipelineTemplate` would give (with line and column),
    /// none when it is valid. Stores nothing.
    async fn validate_pipeline_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project the template would belong to.")] project_id: ID,
        #[graphql(desc = "The template's HCL text.")] hcl: String,
    ) -> Result<TemplateValidation> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::PROJECT, &project_id) {
            Some(pid) => {
                app(ctx)
                    .validate_pipeline_template(claims, &pid.to_string(), &hcl)
                    .await
            }
            None => Err(super::mutation::bad_id("projectId", &project_id)),
        };
        Ok(TemplateValidation {
            problems: match result {
                Ok(()) => Vec::new(),
                Err(e) => super::problems(e)?,
            },
        })
    }

    /// A job by id, if the caller sees it.
    async fn job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's id.")] id: ID,
    ) -> Result<Option<Job>> {
        authed(ctx)?;
        match ids::uuid_of(aggregate::JOB, &id) {
            Some(u) => match node_by_uuid(ctx, aggregate::JOB, u).await? {
                Some(Node::Job(j)) => Ok(Some(j)),
                _ => Ok(None),
            },
            None => Err(gql_err(ServiceError::new(
                Code::Invalid,
                format!("{:?} is not a job id", id.as_str()),
            ))),
        }
    }

    /// Shared agents, and those of the organizations the caller sees.
    async fn agents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, Agent>> {
        let page = app(ctx)
            .agents(authed(ctx)?, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, Agent::from))
    }

    /// The pipelines of every project the caller sees (all, for an
    /// administrator), oldest first unless `sort` says otherwise, narrowed
    /// by the filters given: the home page's recent pipelines.
    #[allow(clippy::too_many_arguments)] // the arguments are the API's
    async fn pipelines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those in this status.")] status: Option<
            super::enums::PipelineStatus,
        >,
        #[graphql(name = "type", desc = "Only those of this type.")] pipeline_type: Option<
            super::enums::PipelineType,
        >,
        #[graphql(desc = "Only those created by this actor: `user:alice`, or a username alone.")]
        created_by: Option<String>,
        #[graphql(desc = "The order (default CREATED_AT_ASC, oldest first).")] sort: Option<
            super::types::PipelineSort,
        >,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, Pipeline>> {
        let filter = super::types::pipeline_filter(status, pipeline_type, created_by, sort);
        let page = app(ctx)
            .visible_pipelines(authed(ctx)?, &filter, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, |(p, project)| Pipeline(p, project)))
    }

    /// Who did what, newest first, everywhere the caller sees: the
    /// organizations it has a role in and the projects it is a member of
    /// (everything, for an administrator). Follow it live with the
    /// `activity` subscription given no scope.
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
        #[graphql(desc = "Only this actor's: `user:alice`, or the name alone.")] actor: Option<
            String,
        >,
        #[graphql(desc = "Only these kinds of resource.")] resource_types: Option<
            Vec<super::activity::ActivityResourceType>,
        >,
    ) -> Result<Connection<String, super::activity::ActivityEvent>> {
        super::activity::feed_page(
            ctx,
            crate::service::ActivityScope::Viewer,
            first,
            after,
            actor,
            resource_types,
        )
        .await
    }

    /// A pipeline's history in order: who did what, when. `after` is the
    /// `cursor` of an event already seen.
    async fn pipeline_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pipeline's id.")] pipeline_id: ID,
        #[graphql(desc = "The `cursor` of an event already seen.")] after: Option<String>,
        #[graphql(desc = "How many events to return (default 1,000, at most 10,000).")]
        first: Option<i32>,
    ) -> Result<Vec<PipelineEvent>> {
        let claims = authed(ctx)?;
        let id = ids::uuid_of(aggregate::PIPELINE, &pipeline_id).ok_or_else(|| {
            gql_err(ServiceError::new(
                Code::Invalid,
                format!("{:?} is not a pipeline id", pipeline_id.as_str()),
            ))
        })?;
        if app(ctx)
            .pipeline(claims, id)
            .await
            .map_err(gql_err)?
            .is_none()
        {
            return Err(gql_err(ServiceError::new(
                Code::NotFound,
                format!("pipeline {} does not exist", pipeline_id.as_str()),
            )));
        }
        let after: Position = match after {
            Some(a) => a
                .parse()
                .map_err(|m: String| gql_err(ServiceError::new(Code::Invalid, m)))?,
            None => Position::START,
        };
        let events = queries::pipeline_events(
            &app(ctx).pool,
            id,
            after,
            first.unwrap_or(1000).clamp(1, 10_000) as i64,
        )
        .await
        .map_err(gql_err)?;
        Ok(events
            .into_iter()
            .map(|e| PipelineEvent::of(e, id))
            .collect())
    }
}
