//! Policies: events that cause commands.
//!
//! - `NodeBecameReady` with a job → `QueueJob` (the job id is fixed by the
//!   event, and queueing is idempotent);
//! - `JobStarted` → `MarkNodeRunning`;
//! - `JobSucceeded` / `JobFailed` / `JobCanceled` → `CompleteNode`
//!   (idempotent);
//! - `NodeCancelRequested` with a job → `CancelJob` (graceful), and
//!   `NodeCanceled` with a job still in flight → `CancelJob { force }`
//!   (both idempotent once the job has ended).
//!
//! The policy worker is a [`subscription`](crate::subscription) whose
//! effects are commands, not writes in the batch transaction: it is
//! at-least-once, which the idempotent commands make safe. It keeps a
//! job → pipeline map only in the events themselves (`JobQueued` names the
//! pipeline and node), loading the job aggregate's queue event when needed.

use phobos_core::events::aggregate;
use std::sync::Arc;

use async_trait::async_trait;
use phobos_core::events::{Actor, JobEvent, PipelineEvent};
use sqlx::PgConnection;
use tracing::Instrument;

use crate::aggregates::{JobCommand, PipelineCommand};
use crate::bus::{CommandBus, CommandContext};
use crate::error::{CommandError, LogError};
use crate::log::{read_first, RecordedEvent};
use crate::subscription::Handler;

/// The subscription name of the policy worker.
pub const POLICY_SUBSCRIPTION: &str = "policies";

/// Turns events into commands.
pub struct Policies {
    bus: Arc<CommandBus>,
}

impl Policies {
    pub fn new(bus: Arc<CommandBus>) -> Self {
        Policies { bus }
    }

    async fn on_event(&self, tx: &mut PgConnection, ev: &RecordedEvent) -> Result<(), LogError> {
        let ctx = CommandContext::caused_by(Actor::System("policy".into()), ev);
        let result = match ev.aggregate_type.as_str() {
            aggregate::PIPELINE => match ev.decode::<PipelineEvent>()? {
                PipelineEvent::NodeBecameReady {
                    path,
                    job_id: Some(job_id),
                    job: Some(spec),
                    ..
                } => {
                    let project_id = pipeline_project(tx, &ev.aggregate_id).await?;
                    let cmd = JobCommand::QueueJob {
                        pipeline_id: ev.aggregate_id.clone(),
                        project_id,
                        node_path: path,
                        spec,
                    };
                    self.bus.job(&job_id, cmd, &ctx).await.map(drop)
                }
                PipelineEvent::NodeCancelRequested {
                    job_id: Some(job_id),
                    grace_seconds,
                    ..
                } => {
                    let cmd = JobCommand::CancelJob {
                        force: false,
                        grace_seconds,
                        reason: "the pipeline or node was canceled".into(),
                    };
                    self.bus.job(&job_id, cmd, &ctx).await.map(drop)
                }
                PipelineEvent::NodeCanceled {
                    job_id: Some(job_id),
                    ..
                } => {
                    let cmd = JobCommand::CancelJob {
                        force: true,
                        grace_seconds: 0,
                        reason: "the pipeline or node was canceled with force".into(),
                    };
                    self.bus.job(&job_id, cmd, &ctx).await.map(drop)
                }
                _ => Ok(()),
            },
            aggregate::JOB => {
                let job = ev.decode::<JobEvent>()?;
                let cmd = match job {
                    JobEvent::JobStarted { .. } => Some(None),
                    JobEvent::JobSucceeded { outputs, .. } => {
                        Some(Some((true, false, String::new(), outputs)))
                    }
                    JobEvent::JobFailed {
                        message, outputs, ..
                    } => Some(Some((false, false, message, outputs))),
                    JobEvent::JobCanceled {
                        message, outputs, ..
                    } => Some(Some((false, true, message, outputs))),
                    _ => None,
                };
                match cmd {
                    None => Ok(()),
                    Some(finish) => {
                        let (pipeline_id, path) = job_node(tx, &ev.aggregate_id).await?;
                        let job_id = ev.aggregate_id.clone();
                        let cmd = match finish {
                            None => PipelineCommand::MarkNodeRunning { path, job_id },
                            Some((succeeded, canceled, reason, outputs)) => {
                                PipelineCommand::CompleteNode {
                                    path,
                                    job_id,
                                    succeeded,
                                    canceled,
                                    reason,
                                    outputs,
                                }
                            }
                        };
                        self.bus.pipeline(&pipeline_id, cmd, &ctx).await.map(drop)
                    }
                }
            }
            _ => Ok(()),
        };
        match result {
            Ok(()) => Ok(()),
            // Refused means the state moved on (e.g. a node already
            // finished): nothing to do, and retrying would not change it.
            Err(CommandError::Rejected(e)) => {
                tracing::warn!(event = %ev.event_type, position = %ev.position, error = %e, "policy command refused");
                Ok(())
            }
            Err(e) => Err(LogError::Handler(e.to_string())),
        }
    }
}

#[async_trait]
impl Handler for Policies {
    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), LogError> {
        for ev in events {
            let span =
                tracing::info_span!("policy", event = %ev.event_type, position = %ev.position);
            self.on_event(tx, ev).instrument(span).await?;
        }
        Ok(())
    }
}

/// The project of a pipeline, from its `PipelineCreated` event. Only that
/// field is read: the event also holds the whole graph, which this runs for
/// every ready task and need not decode.
async fn pipeline_project(tx: &mut PgConnection, pipeline_id: &str) -> Result<String, LogError> {
    let project: Option<String> = sqlx::query_scalar(
        "SELECT payload->'PipelineCreated'->>'project_id' FROM events
          WHERE aggregate_type = 'Pipeline' AND aggregate_id = $1 AND event_type = 'PipelineCreated'",
    )
    .bind(pipeline_id)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    project.ok_or_else(|| {
        LogError::Handler(format!(
            "pipeline {pipeline_id} has no PipelineCreated event"
        ))
    })
}

async fn job_node(tx: &mut PgConnection, job_id: &str) -> Result<(String, String), LogError> {
    if let Some(e) = read_first(&mut *tx, aggregate::JOB, job_id).await? {
        if let JobEvent::JobQueued {
            pipeline_id,
            node_path,
            ..
        } = e.decode()?
        {
            return Ok((pipeline_id, node_path));
        }
    }
    Err(LogError::Handler(format!(
        "job {job_id} has no JobQueued event"
    )))
}
