use phobos_core::events::aggregate;
use std::time::Duration;

use async_graphql::{Context, Result, Subscription, ID};
use futures::Stream;
use phobos_commands::log::Position;
use phobos_projections::queries;

use super::types::PipelineEvent;
use super::{app, authed, gql_err, ids};
use crate::service::{Code, ServiceError};

/// The subscription root.
pub struct SubscriptionRoot;

/// What can be followed as it happens.
#[Subscription]
impl SubscriptionRoot {
    /// A pipeline's events as they happen (its own and its jobs'), in log
    /// order. Pass `after` (an event's `cursor`) to resume without gaps or
    /// repeats after a reconnect.
    async fn pipeline_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pipeline's id.")] pipeline_id: ID,
        #[graphql(desc = "The `cursor` of an event already seen.")] after: Option<String>,
    ) -> Result<impl Stream<Item = PipelineEvent>> {
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
        let mut cursor: Position = match after {
            Some(a) => a
                .parse()
                .map_err(|m: String| gql_err(ServiceError::new(Code::Invalid, m)))?,
            None => Position::START,
        };
        let app = app(ctx).clone();
        let claims = claims.clone();
        let mut projected = app.projected.clone();
        Ok(async_stream::stream! {
            let mut checked = std::time::Instant::now();
            loop {
                // The caller's token and access hold for the whole stream:
                // it ends when the token expires or the pipeline is no
                // longer visible to it (checked every 30 s).
                if app.clock.now().timestamp() > claims.exp {
                    break;
                }
                if checked.elapsed() > Duration::from_secs(30) {
                    checked = std::time::Instant::now();
                    if !matches!(app.pipeline(&claims, id).await, Ok(Some(_))) {
                        break;
                    }
                }
                match queries::pipeline_events(&app.pool, id, cursor, 500).await {
                    Ok(events) if !events.is_empty() => {
                        for e in events {
                            cursor = e.position;
                            yield PipelineEvent::from(e);
                        }
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pipeline event subscription read failed; retrying"),
                }
                let _ = tokio::time::timeout(Duration::from_secs(1), projected.changed()).await;
            }
        })
    }

    /// An organization's, a project's or a release's activity as it
    /// happens, oldest first: the rows `organization.activity` (and the
    /// others) list. Without `after`, from now; pass the `cursor` of a row
    /// already seen (from the connection or this stream) to resume without
    /// gaps or repeats.
    #[allow(clippy::too_many_arguments)] // the arguments are the API's
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization, by name.")] organization_name: Option<String>,
        #[graphql(desc = "The project's id.")] project_id: Option<ID>,
        #[graphql(desc = "The release's id.")] release_id: Option<ID>,
        #[graphql(desc = "Only this actor's: `user:alice`, or the name alone.")] actor: Option<
            String,
        >,
        #[graphql(desc = "Only these kinds of resource.")] resource_types: Option<
            Vec<super::activity::ActivityResourceType>,
        >,
        #[graphql(desc = "The `cursor` of a row already seen.")] after: Option<String>,
    ) -> Result<impl Stream<Item = super::activity::ActivityEvent>> {
        authed(ctx)?;
        let bad = |m: String| gql_err(ServiceError::new(Code::Invalid, m));
        let scope = match (organization_name, project_id, release_id) {
            (Some(org), None, None) => {
                let id = phobos_commands::aggregates::organization_id(&org);
                crate::service::ActivityScope::Organization(
                    id.parse()
                        .map_err(|_| bad(format!("{org:?} is not an organization name")))?,
                )
            }
            (None, Some(p), None) => crate::service::ActivityScope::Project(
                ids::uuid_of(aggregate::PROJECT, &p)
                    .ok_or_else(|| bad(format!("{:?} is not a project id", p.as_str())))?,
            ),
            (None, None, Some(r)) => crate::service::ActivityScope::Release(
                ids::uuid_of(aggregate::RELEASE, &r)
                    .ok_or_else(|| bad(format!("{:?} is not a release id", r.as_str())))?,
            ),
            _ => {
                return Err(bad(
                    "give exactly one of organizationName, projectId and releaseId".into(),
                ))
            }
        };
        super::activity::follow(ctx, scope, actor, resource_types, after).await
    }
}
