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
}
