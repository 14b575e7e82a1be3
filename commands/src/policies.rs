//! Policies: events that cause commands.
//!
//! - `NodeBecameReady` with a job → `QueueJob` (the job id is fixed by the
//!   event, and queueing is idempotent);
//! - `JobQueued` → `MarkNodePending`; `JobStarted` → `MarkNodeRunning`;
//! - `JobSucceeded` / `JobFailed` / `JobCanceled` → `CompleteNode`
//!   (idempotent);
//! - `NodeCancelRequested` with a job → `CancelJob` (graceful), and
//!   `NodeCanceled` with a job still in flight → `CancelJob { force }`
//!   (both idempotent once the job has ended);
//! - `NodeBecameReady` with a child → the child pipeline is built
//!   ([`ChildPipelines`]), its environment created if it is a deployment's,
//!   and `CreatePipeline` sent for the child's fixed id (`AlreadyExists` is
//!   done), or `RefuseChild` when it cannot be (no such template, variables
//!   that do not fit, nesting deeper than [`MAX_NESTING_DEPTH`] or a
//!   template that nests itself);
//! - a child's `PipelineCreated` → `ChildStarted` on its parent; its
//!   `PipelineSucceeded` / `PipelineFailed` / `PipelineCanceled` →
//!   `ChildEnded`;
//! - `NodeCancelRequested` / `NodeCanceled` with a child → `CancelPipeline`
//!   of the child (forced for `NodeCanceled`);
//! - `ReleaseCreated` → `CreatePipeline` of the release's lifecycle
//!   pipeline (its id fixed by the release; `AlreadyExists` is done).
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

use crate::aggregates::{environment_id, EnvironmentCommand, JobCommand, PipelineCommand};
use crate::bus::{CommandBus, CommandContext};
use crate::children::{ChildPipelines, ChildRefused, ChildRequest};
use crate::error::{CommandError, LogError};
use crate::log::{read_first, RecordedEvent};
use crate::subscription::Handler;
use phobos_core::events::{ChildSpec, ParentRef, PipelineOrigin, PipelineType};
use phobos_core::pipeline::{ChildOutcome, MAX_NESTING_DEPTH};

/// The subscription name of the policy worker.
pub const POLICY_SUBSCRIPTION: &str = "policies";

/// Turns events into commands.
pub struct Policies {
    bus: Arc<CommandBus>,
    children: Option<Arc<dyn ChildPipelines>>,
}

impl Policies {
    /// Policies that cannot build child pipelines: a nested pipeline node
    /// fails, saying so ([`with_children`](Self::with_children) gives them
    /// a builder).
    pub fn new(bus: Arc<CommandBus>) -> Self {
        Policies {
            bus,
            children: None,
        }
    }

    pub fn with_children(mut self, children: Arc<dyn ChildPipelines>) -> Self {
        self.children = Some(children);
        self
    }

    /// Adds the commands `ev` causes to `queue` (a nested pipeline's child
    /// is built and created at once, after what the queue holds).
    async fn on_event(
        &self,
        tx: &mut PgConnection,
        ev: &RecordedEvent,
        queue: &mut Queue,
    ) -> Result<(), LogError> {
        let ctx = CommandContext::caused_by(Actor::System("policy".into()), ev);
        let effect = match ev.aggregate_type.as_str() {
            aggregate::PIPELINE => match ev.decode::<PipelineEvent>()? {
                PipelineEvent::NodeBecameReady {
                    path,
                    job_id: Some(job_id),
                    job: Some(spec),
                    ..
                } => {
                    let project_id = pipeline_origin(tx, &ev.aggregate_id).await?.project_id;
                    let cmd = JobCommand::QueueJob {
                        pipeline_id: ev.aggregate_id.clone(),
                        project_id,
                        node_path: path,
                        spec,
                    };
                    Some(Effect::Job(job_id, cmd))
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
                    Some(Effect::Job(job_id, cmd))
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
                    Some(Effect::Job(job_id, cmd))
                }
                PipelineEvent::NodeCancelRequested {
                    child_pipeline_id: Some(child),
                    grace_seconds,
                    ..
                } => {
                    let cmd = PipelineCommand::CancelPipeline {
                        force: false,
                        grace_seconds,
                    };
                    Some(Effect::Pipeline(child, cmd))
                }
                PipelineEvent::NodeCanceled {
                    child_pipeline_id: Some(child),
                    ..
                } => {
                    let cmd = PipelineCommand::CancelPipeline {
                        force: true,
                        grace_seconds: 0,
                    };
                    Some(Effect::Pipeline(child, cmd))
                }
                PipelineEvent::NodeBecameReady {
                    path,
                    child: Some(spec),
                    ..
                } => {
                    self.flush(queue).await?;
                    return self.start_child(tx, ev, &path, &spec, &ctx).await;
                }
                PipelineEvent::PipelineCreated {
                    origin:
                        PipelineOrigin {
                            parent: Some(parent),
                            ..
                        },
                    ..
                } => {
                    let cmd = PipelineCommand::ChildStarted {
                        path: parent.node_path,
                        child_pipeline_id: ev.aggregate_id.clone(),
                    };
                    Some(Effect::Pipeline(parent.pipeline_id, cmd))
                }
                PipelineEvent::NodeApprovalPending { path, rule_ids, .. } => {
                    let mut rules = Vec::new();
                    for id in &rule_ids {
                        rules.push(approval_rule(tx, id).await?);
                    }
                    let cmd = PipelineCommand::FixApprovalRules { path, rules };
                    Some(Effect::Pipeline(ev.aggregate_id.clone(), cmd))
                }
                PipelineEvent::PipelineSucceeded { .. } => {
                    child_ended(tx, ev, ChildOutcome::Succeeded, "").await?
                }
                PipelineEvent::PipelineFailed { reason, .. } => {
                    child_ended(tx, ev, ChildOutcome::Failed, &reason).await?
                }
                PipelineEvent::PipelineCanceled { reason, .. } => {
                    child_ended(tx, ev, ChildOutcome::Canceled, &reason).await?
                }
                _ => None,
            },
            aggregate::JOB => {
                let job = ev.decode::<JobEvent>()?;
                if let JobEvent::JobQueued {
                    pipeline_id,
                    node_path,
                    ..
                } = &job
                {
                    let cmd = PipelineCommand::MarkNodePending {
                        path: node_path.clone(),
                        job_id: ev.aggregate_id.clone(),
                    };
                    queue.push(ev, ctx, Effect::Pipeline(pipeline_id.clone(), cmd));
                    return Ok(());
                }
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
                    None => None,
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
                        Some(Effect::Pipeline(pipeline_id, cmd))
                    }
                }
            }
            // A release's lifecycle pipeline, created once (its id is
            // fixed by the release; a second create is AlreadyExists).
            aggregate::RELEASE => match ev.decode::<phobos_core::events::ReleaseEvent>()? {
                phobos_core::events::ReleaseEvent::ReleaseCreated {
                    project_id,
                    lifecycle_id,
                    pipeline_id,
                    graph,
                    created_at,
                    ..
                } => {
                    let cmd = PipelineCommand::CreatePipeline {
                        pipeline_id: pipeline_id.clone(),
                        project_id,
                        template_id: lifecycle_id,
                        graph,
                        created_at: Some(created_at),
                        origin: PipelineOrigin {
                            pipeline_type: PipelineType::ReleaseLifecycle,
                            release_id: Some(ev.aggregate_id.clone()),
                            ..Default::default()
                        },
                    };
                    Some(Effect::Pipeline(pipeline_id, cmd))
                }
                phobos_core::events::ReleaseEvent::ReleaseUpdated { .. } => None,
            },
            _ => None,
        };
        if let Some(effect) = effect {
            queue.push(ev, ctx, effect);
        }
        Ok(())
    }

    /// Runs what `queue` holds: the commands of each aggregate in order
    /// (a pipeline's as one [`PipelineCommand::Many`] append), different
    /// aggregates at the same time.
    async fn flush(&self, queue: &mut Queue) -> Result<(), LogError> {
        use futures::StreamExt;
        let groups = std::mem::take(&mut queue.groups);
        let runs = groups.into_iter().map(|((kind, id), commands)| async move {
            match kind {
                Kind::Pipeline => {
                    let (ev, ctx) = commands[0].0.clone();
                    let mut cmds: Vec<PipelineCommand> = commands
                        .into_iter()
                        .filter_map(|(_, c)| match c {
                            Effect::Pipeline(_, cmd) => Some(cmd),
                            Effect::Job(..) => None,
                        })
                        .collect();
                    let cmd = if cmds.len() == 1 {
                        cmds.remove(0)
                    } else {
                        PipelineCommand::Many(cmds)
                    };
                    settled(&ev, self.bus.pipeline(&id, cmd, &ctx).await.map(drop))
                }
                Kind::Job => {
                    for ((ev, ctx), c) in commands {
                        if let Effect::Job(_, cmd) = c {
                            settled(&ev, self.bus.job(&id, cmd, &ctx).await.map(drop))?;
                        }
                    }
                    Ok(())
                }
            }
        });
        let results: Vec<Result<(), LogError>> = futures::stream::iter(runs)
            .buffer_unordered(FLUSH_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Builds and creates the child of the node at `path` (its parent is
    /// the event's pipeline), or fails the node saying why it cannot be.
    async fn start_child(
        &self,
        tx: &mut PgConnection,
        ev: &RecordedEvent,
        path: &str,
        spec: &ChildSpec,
        ctx: &CommandContext,
    ) -> Result<(), LogError> {
        let parent_id = &ev.aggregate_id;
        let parent = pipeline_origin(tx, parent_id).await?;
        let refuse = |reason: String| PipelineCommand::RefuseChild {
            path: path.to_string(),
            child_pipeline_id: spec.child_pipeline_id.clone(),
            reason,
        };
        let mut ancestry = parent.origin.ancestry.clone();
        ancestry.push(parent.template_id.clone());
        let refused = if ancestry.len() > MAX_NESTING_DEPTH {
            Some(format!(
                "nested pipelines nest at most {MAX_NESTING_DEPTH} deep; this one would be {} deep (templates {})",
                ancestry.len(),
                ancestry.join(" → ")
            ))
        } else {
            None
        };
        let built = match (refused, &self.children) {
            (Some(why), _) => Err(why),
            (None, None) => {
                Err("this server was started without a builder of nested pipelines".to_string())
            }
            (None, Some(children)) => {
                let req = ChildRequest {
                    project_id: &parent.project_id,
                    parent_id,
                    node_path: path,
                    spec,
                };
                match children.build(req).await {
                    Ok(built) if ancestry.contains(&built.template_id) => Err(format!(
                        "template {} nests itself: {} → {}",
                        built.template_id,
                        ancestry.join(" → "),
                        built.template_id
                    )),
                    Ok(built) => Ok(built),
                    Err(ChildRefused::Refused(why)) => Err(why),
                    // Tried again with the batch.
                    Err(ChildRefused::Unavailable(why)) => return Err(LogError::Handler(why)),
                }
            }
        };
        let built = match built {
            Ok(built) => built,
            Err(why) => {
                let result = self.bus.pipeline(parent_id, refuse(why), ctx).await;
                return settled(&Cause::from(ev), result.map(drop));
            }
        };
        if let (PipelineType::Deployment, Some(name)) = (spec.pipeline_type, &spec.environment) {
            let cmd = EnvironmentCommand::CreateEnvironment {
                project_id: parent.project_id.clone(),
                name: name.clone(),
                description: String::new(),
            };
            let id = environment_id(&parent.project_id, name);
            match self.bus.environment(&id, cmd, ctx).await {
                Ok(_) | Err(CommandError::Rejected(crate::DomainError::AlreadyExists(_))) => {}
                Err(e) => return Err(LogError::Handler(e.to_string())),
            }
        }
        let cmd = PipelineCommand::CreatePipeline {
            pipeline_id: spec.child_pipeline_id.clone(),
            project_id: parent.project_id.clone(),
            template_id: built.template_id,
            graph: Box::new(built.graph),
            created_at: Some(built.created_at),
            origin: PipelineOrigin {
                pipeline_type: spec.pipeline_type,
                parent: Some(ParentRef {
                    pipeline_id: parent_id.clone(),
                    node_path: path.to_string(),
                }),
                environment: spec.environment.clone(),
                ancestry,
                release_id: None,
            },
        };
        match self.bus.pipeline(&spec.child_pipeline_id, cmd, ctx).await {
            // Created by an earlier run of this policy.
            Err(CommandError::Rejected(crate::DomainError::AlreadyExists(_))) => Ok(()),
            // The child cannot run here (a feature this server lacks).
            Err(CommandError::Rejected(e)) => {
                let result = self
                    .bus
                    .pipeline(parent_id, refuse(e.to_string()), ctx)
                    .await;
                settled(&Cause::from(ev), result.map(drop))
            }
            other => settled(&Cause::from(ev), other.map(drop)),
        }
    }
}

/// A pipeline ended: if it is a child, its parent's node ends alike.
async fn child_ended(
    tx: &mut PgConnection,
    ev: &RecordedEvent,
    outcome: ChildOutcome,
    reason: &str,
) -> Result<Option<Effect>, LogError> {
    let Some(parent) = pipeline_origin(tx, &ev.aggregate_id).await?.origin.parent else {
        return Ok(None);
    };
    let cmd = PipelineCommand::ChildEnded {
        path: parent.node_path,
        child_pipeline_id: ev.aggregate_id.clone(),
        outcome,
        reason: reason.to_string(),
    };
    Ok(Some(Effect::Pipeline(parent.pipeline_id, cmd)))
}

/// How many aggregates' commands a flush runs at once.
const FLUSH_CONCURRENCY: usize = 16;

/// A command for one aggregate.
enum Effect {
    Job(String, JobCommand),
    Pipeline(String, PipelineCommand),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Job,
    Pipeline,
}

/// The commands a batch causes, by aggregate, in the order of their
/// events (each with the event and context it came from).
#[derive(Default)]
struct Queue {
    groups: indexmap::IndexMap<(Kind, String), Vec<Queued>>,
}

/// One queued command: the event it came from, its context, the command.
type Queued = ((Cause, CommandContext), Effect);

/// The event a command came from, for the log of a refusal.
#[derive(Clone)]
struct Cause {
    event_type: String,
    position: crate::log::Position,
}

impl From<&RecordedEvent> for Cause {
    fn from(ev: &RecordedEvent) -> Self {
        Cause {
            event_type: ev.event_type.clone(),
            position: ev.position,
        }
    }
}

impl Queue {
    fn push(&mut self, ev: &RecordedEvent, ctx: CommandContext, effect: Effect) {
        let key = match &effect {
            Effect::Job(id, _) => (Kind::Job, id.clone()),
            Effect::Pipeline(id, _) => (Kind::Pipeline, id.clone()),
        };
        self.groups
            .entry(key)
            .or_default()
            .push(((Cause::from(ev), ctx), effect));
    }
}

/// A policy command's result as the batch sees it.
fn settled(ev: &Cause, result: Result<(), CommandError>) -> Result<(), LogError> {
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

/// A pipeline's project, template and origin, from its `PipelineCreated`.
/// Only those fields are read: the event also holds the whole graph, which
/// this runs for every ready task and need not decode.
struct Created {
    project_id: String,
    template_id: String,
    origin: PipelineOrigin,
}

/// Approval rule `id` as its events leave it (a deleted rule as it was).
/// A rule that never existed (its id was checked when the pipeline was
/// created, so only a damaged log has one) is fixed as a rule no one can
/// approve, so the node waits for an Owner's override rather than the
/// policy worker stopping on it.
async fn approval_rule(
    tx: &mut PgConnection,
    id: &str,
) -> Result<phobos_core::events::ApprovalRuleSnapshot, LogError> {
    use phobos_core::events::{ApprovalRuleEvent, ApprovalRuleSnapshot};
    let events = crate::log::read_aggregate(&mut *tx, aggregate::APPROVAL_RULE, id).await?;
    let decoded: Vec<ApprovalRuleEvent> = events
        .iter()
        .map(|e| e.decode::<ApprovalRuleEvent>())
        .collect::<Result<_, _>>()?;
    Ok(ApprovalRuleSnapshot::fold(id, &decoded).unwrap_or_else(|| {
        tracing::error!(
            rule = id,
            "an approval rule named by a pipeline has no events"
        );
        ApprovalRuleSnapshot {
            id: id.to_string(),
            prn: String::new(),
            name: format!("(missing approval rule {id})"),
            principals: vec![],
            approvals_required: 1,
            allow_self_approval: false,
        }
    }))
}

async fn pipeline_origin(tx: &mut PgConnection, pipeline_id: &str) -> Result<Created, LogError> {
    let row: Option<(Option<String>, Option<String>, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT payload->'PipelineCreated'->>'project_id', payload->'PipelineCreated'->>'template_id',
                payload->'PipelineCreated'->'origin'
           FROM events
          WHERE aggregate_type = $2 AND aggregate_id = $1 AND event_type = 'PipelineCreated'",
    )
    .bind(pipeline_id)
    .bind(aggregate::PIPELINE)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((Some(project_id), Some(template_id), origin)) = row else {
        return Err(LogError::Handler(format!(
            "pipeline {pipeline_id} has no PipelineCreated event"
        )));
    };
    let origin = match origin {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| LogError::Handler(format!("pipeline {pipeline_id}: its origin: {e}")))?,
        None => PipelineOrigin::default(),
    };
    Ok(Created {
        project_id,
        template_id,
        origin,
    })
}

#[async_trait]
impl Handler for Policies {
    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), LogError> {
        let mut queue = Queue::default();
        for ev in events {
            let span = tracing::info_span!("policy", otel.name = tracing::field::Empty, event = %ev.event_type, position = %ev.position);
            phobos_telemetry::name(&span, || format!("policy {}", ev.event_type));
            ev.continue_trace(&span);
            self.on_event(tx, ev, &mut queue).instrument(span).await?;
        }
        let span = tracing::info_span!("policy_commands", events = events.len());
        self.flush(&mut queue).instrument(span).await
    }
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
