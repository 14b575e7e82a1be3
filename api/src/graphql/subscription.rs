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

/// How often a followed log is read again while nothing new came.
const LOG_POLL: Duration = Duration::from_millis(200);

/// A stream's hold on its caller: the token and the caller's access hold
/// for the whole stream, which ends once the token expires, or once a
/// re-check (every 30 s) finds the followed resource no longer visible.
pub(crate) struct Recheck {
    expires: i64,
    last: std::time::Instant,
}

impl Recheck {
    pub(crate) fn new(claims: &crate::auth::Claims) -> Recheck {
        Recheck {
            expires: claims.exp,
            last: std::time::Instant::now(),
        }
    }

    /// The caller's token has expired.
    pub(crate) fn expired(&self, app: &crate::service::App) -> bool {
        app.clock.now().timestamp() > self.expires
    }

    /// Time to check the caller's access again (true once per 30 s).
    pub(crate) fn due(&mut self) -> bool {
        if self.last.elapsed() > Duration::from_secs(30) {
            self.last = std::time::Instant::now();
            return true;
        }
        false
    }
}

/// `id` as the UUID of a `kind` (`what` names it in the error).
fn id_of(kind: &str, id: &ID, what: &str) -> Result<uuid::Uuid> {
    ids::uuid_of(kind, id).ok_or_else(|| {
        gql_err(ServiceError::new(
            Code::Invalid,
            format!("{:?} is not a {what} id", id.as_str()),
        ))
    })
}

fn not_found(what: &str, id: &ID) -> async_graphql::Error {
    gql_err(ServiceError::new(
        Code::NotFound,
        format!("{what} {} does not exist", id.as_str()),
    ))
}

/// A piece of a job's log.
#[derive(async_graphql::SimpleObject)]
pub struct JobLogEvent {
    /// The byte offset of the text's first byte in the log.
    pub offset: i64,
    /// The offset after this text: pass it as `offset` to resume.
    pub next_offset: i64,
    /// The log's text (invalid UTF-8 replaced; a character split between
    /// writes comes whole in the later event).
    pub text: String,
}

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
        let id = id_of(aggregate::PIPELINE, &pipeline_id, "pipeline")?;
        if app(ctx)
            .pipeline(claims, id)
            .await
            .map_err(gql_err)?
            .is_none()
        {
            return Err(not_found("pipeline", &pipeline_id));
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
            let mut hold = Recheck::new(&claims);
            loop {
                if hold.expired(&app)
                    || (hold.due() && !matches!(app.pipeline(&claims, id).await, Ok(Some(_))))
                {
                    break;
                }
                match queries::pipeline_events(&app.pool, id, cursor, 500).await {
                    Ok(events) if !events.is_empty() => {
                        for e in events {
                            cursor = e.position;
                            yield PipelineEvent::of(e, id);
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

    /// A job's log as it is written, from byte `offset` (0 by default): each
    /// event a piece of text and where it starts. The stream ends once the
    /// job is final and every byte of its log has been sent; pass the last
    /// event's `nextOffset` as `offset` to resume after a reconnect.
    async fn job_log_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's id.")] job_id: ID,
        #[graphql(desc = "The byte to start at (default 0).")] offset: Option<i64>,
    ) -> Result<impl Stream<Item = JobLogEvent>> {
        let claims = authed(ctx)?;
        let id = id_of(aggregate::JOB, &job_id, "job")?;
        let app = app(ctx).clone();
        if app.job(claims, id).await.map_err(gql_err)?.is_none() {
            return Err(not_found("job", &job_id));
        }
        let claims = claims.clone();
        let mut at = offset.unwrap_or(0).max(0);
        Ok(async_stream::stream! {
            let mut hold = Recheck::new(&claims);
            loop {
                if hold.expired(&app)
                    || (hold.due() && !matches!(app.job(&claims, id).await, Ok(Some(_))))
                {
                    break;
                }
                match app.job_log_from(id, at).await {
                    Ok(read) => {
                        let (text, used) = crate::service::text_prefix(&read.data, read.complete);
                        if used > 0 {
                            let next = at + used as i64;
                            yield JobLogEvent { offset: at, next_offset: next, text };
                            at = next;
                            if used < read.data.len() || !read.complete {
                                continue;
                            }
                        }
                        if read.complete {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e.message, "job log subscription read failed; retrying"),
                }
                tokio::time::sleep(LOG_POLL).await;
            }
        })
    }

    /// An organization's, a project's or a release's activity (or, given
    /// none of them, everything the caller sees) as it happens, oldest
    /// first: the rows `organization.activity` (and the others) list.
    /// Without `after`, from now; pass the `cursor` of a row already seen
    /// (from the connection or this stream) to resume without gaps or
    /// repeats.
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
            (None, None, None) => crate::service::ActivityScope::Viewer,
            _ => {
                return Err(bad(
                    "give at most one of organizationName, projectId and releaseId (none: everything you see)".into(),
                ))
            }
        };
        super::activity::follow(ctx, scope, actor, resource_types, after).await
    }
}
