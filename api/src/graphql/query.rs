use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result, ID};
use phobos_commands::log::Position;
use phobos_core::events::aggregate;
use phobos_projections::queries;
use uuid::Uuid;

use super::types::*;
use super::{app, authed, gql_err, ids};
use crate::service::{Code, ServiceError};

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

async fn node_by_uuid(ctx: &Context<'_>, kind: &str, id: Uuid) -> Result<Option<Node>> {
    let pool = &app(ctx).pool;
    Ok(match kind {
        aggregate::ORGANIZATION => queries::organization(pool, id)
            .await
            .map_err(gql_err)?
            .map(|r| Node::Organization(Organization(r))),
        aggregate::PROJECT => queries::project(pool, id)
            .await
            .map_err(gql_err)?
            .map(|r| Node::Project(Project(r))),
        aggregate::PIPELINE_TEMPLATE => match queries::template(pool, id).await.map_err(gql_err)? {
            Some(t) => {
                let p = project_row(ctx, t.project_id).await?;
                Some(Node::PipelineTemplate(PipelineTemplate(t, p)))
            }
            None => None,
        },
        aggregate::PIPELINE => pipeline_by_id(ctx, id).await?.map(Node::Pipeline),
        aggregate::JOB => match queries::job(pool, id).await.map_err(gql_err)? {
            Some(j) => {
                let p = project_row(ctx, j.project_id).await?;
                Some(Node::Job(Job(j, p)))
            }
            None => None,
        },
        aggregate::AGENT => queries::agent(pool, id)
            .await
            .map_err(gql_err)?
            .map(|r| Node::Agent(r.into())),
        aggregate::ENVIRONMENT => match queries::environment(pool, id).await.map_err(gql_err)? {
            Some(e) => {
                let p = project_row(ctx, e.project_id).await?;
                Some(Node::Environment(Environment(e, p)))
            }
            None => None,
        },
        _ => None,
    })
}

#[Object]
impl QueryRoot {
    /// The caller, as events record it (`user:<email>`).
    async fn me(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(authed(ctx)?.actor().to_string())
    }

    /// Any object by global id, or by PRN (`prn:organization:acme`,
    /// `prn:project:acme/web`, `prn:pipeline:acme/web/<id>`, `prn:agent:<name>`, `prn:agent:<org>/<name>` …).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
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
            agent_id, environment_id, organization_agent_id, organization_id, project_id,
        };
        let by = |kind: &str, s: String| (kind.to_string(), Uuid::parse_str(&s).ok());
        let (kind, uuid) = match (prn.resource_type.as_str(), parts.as_slice()) {
            ("organization", [org]) => by(aggregate::ORGANIZATION, organization_id(org)),
            ("project", [org, p]) => by(aggregate::PROJECT, project_id(&organization_id(org), p)),
            ("pipeline", [_, _, id]) => by(aggregate::PIPELINE, id.to_string()),
            ("pipeline_template", [_, _, id]) => by(aggregate::PIPELINE_TEMPLATE, id.to_string()),
            ("job", [_, _, id]) => by(aggregate::JOB, id.to_string()),
            ("agent", [name]) => by(aggregate::AGENT, agent_id(name)),
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

    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Organization>> {
        authed(ctx)?;
        let page = queries::organizations(&app(ctx).pool, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, Organization))
    }

    async fn organization(&self, ctx: &Context<'_>, name: String) -> Result<Option<Organization>> {
        authed(ctx)?;
        let id = Uuid::parse_str(&phobos_commands::aggregates::organization_id(&name))
            .map_err(|e| gql_err(ServiceError::new(Code::Internal, e.to_string())))?;
        Ok(queries::organization(&app(ctx).pool, id)
            .await
            .map_err(gql_err)?
            .map(Organization))
    }

    async fn pipeline(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Pipeline>> {
        authed(ctx)?;
        match ids::uuid_of(aggregate::PIPELINE, &id) {
            Some(u) => pipeline_by_id(ctx, u).await,
            None => Err(gql_err(ServiceError::new(
                Code::Invalid,
                format!("{:?} is not a pipeline id", id.as_str()),
            ))),
        }
    }

    async fn job(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Job>> {
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

    async fn agents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Agent>> {
        authed(ctx)?;
        let page = queries::agents(&app(ctx).pool, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, Agent::from))
    }

    /// A pipeline's history in order: who did what, when. `after` is the
    /// `cursor` of an event already seen.
    async fn pipeline_events(
        &self,
        ctx: &Context<'_>,
        pipeline_id: ID,
        after: Option<String>,
        first: Option<i32>,
    ) -> Result<Vec<PipelineEvent>> {
        authed(ctx)?;
        let id = ids::uuid_of(aggregate::PIPELINE, &pipeline_id).ok_or_else(|| {
            gql_err(ServiceError::new(
                Code::Invalid,
                format!("{:?} is not a pipeline id", pipeline_id.as_str()),
            ))
        })?;
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
        Ok(events.into_iter().map(PipelineEvent::from).collect())
    }
}
