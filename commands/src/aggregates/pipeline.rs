use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::{NodeOutputs, PipelineEvent, PipelineOrigin};
use phobos_core::pipeline::{unsupported, ChildOutcome, NodeStatus, PipelineRun, Refusal};
use phobos_core::template::ExecutionGraph;
use serde::{Deserialize, Serialize};

use super::{command_name, CommandName, Shape, Stored};
use crate::clock::Services;
use crate::error::DomainError;

/// A pipeline: a [`PipelineRun`] that the state machine in `phobos-core`
/// advances after each command.
///
/// Serialized (snapshots only) with its [`PIPELINE_STATE_SHAPE`]; a
/// snapshot of another shape does not decode, so the pipeline is rebuilt
/// from its events (and such snapshots are swept at start-up).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Pipeline {
    shape: Shape<PIPELINE_STATE_SHAPE>,
    pub run: PipelineRun,
}

/// The serialized shape of a pipeline's snapshot. Raise it whenever
/// `PipelineRun`'s fields change in a way serde defaults cannot absorb.
pub const PIPELINE_STATE_SHAPE: u32 = 1;

/// Every how many events a pipeline's state is snapshotted.
pub const PIPELINE_SNAPSHOT_EVERY: usize = 100;

#[derive(Debug, Clone, Deserialize)]
pub enum PipelineCommand {
    CreatePipeline {
        pipeline_id: String,
        project_id: String,
        template_id: String,
        graph: Box<ExecutionGraph>,
        /// The time the graph was compiled at (its `timestamp()`), so the
        /// event says the same; `None`: the bus clock's now.
        #[serde(default)]
        created_at: Option<chrono::DateTime<chrono::Utc>>,
        /// A nested or deployment pipeline's type, parent and environment.
        #[serde(default)]
        origin: PipelineOrigin,
    },
    /// A node's job started. Idempotent.
    MarkNodeRunning { path: String, job_id: String },
    /// A node's job was queued: the node is PENDING. Idempotent.
    MarkNodePending { path: String, job_id: String },
    /// Someone starts a WAITING node (`when = "manual"`). Refused, naming
    /// the node's state, in any other state.
    StartNode { path: String },
    /// Someone changes (or removes) the schedule of a node that has not
    /// started.
    UpdateSchedule {
        path: String,
        schedule: Option<phobos_core::template::model::Schedule>,
    },
    /// Someone retries a FAILED node. Refused, naming the node's state, in
    /// any other state.
    RetryNode { path: String },
    /// A timer of the node at `path` is due (its schedule). Appends nothing
    /// itself: the state machine makes the node ready if its time has come
    /// by this aggregate's clock, so a repeated or early firing does
    /// nothing.
    FireTimer { path: String },
    /// A node's job finished (`canceled`: it was canceled, and `succeeded`
    /// is false). Idempotent: a finished node stays as it is.
    CompleteNode {
        path: String,
        job_id: String,
        succeeded: bool,
        #[serde(default)]
        canceled: bool,
        reason: String,
        outputs: NodeOutputs,
    },
    /// `cancelPipeline`. Refused once the pipeline has finished, or when it
    /// is canceling already and this one is not forced.
    CancelPipeline { force: bool, grace_seconds: u32 },
    /// `cancelPipelineNode`. Refused once the node has finished.
    CancelNode {
        path: String,
        force: bool,
        grace_seconds: u32,
    },
    /// The child pipeline of a nested or deployment node exists.
    /// Idempotent.
    ChildStarted {
        path: String,
        child_pipeline_id: String,
    },
    /// The child pipeline of a nested or deployment node ended (`reason`:
    /// its own). Idempotent.
    ChildEnded {
        path: String,
        child_pipeline_id: String,
        outcome: ChildOutcome,
        reason: String,
    },
    /// The child of a nested or deployment node cannot be created: the node
    /// fails with `reason`. Idempotent.
    RefuseChild {
        path: String,
        child_pipeline_id: String,
        reason: String,
    },
    /// The policy worker fixes the rules of a node that entered
    /// APPROVAL_PENDING. Idempotent.
    FixApprovalRules {
        path: String,
        rules: Vec<phobos_core::events::ApprovalRuleSnapshot>,
    },
    /// `approvePipelineNode`: `principal` approves, counting for `rules`.
    ApproveNode {
        path: String,
        principal: phobos_core::access::Member,
        rules: Vec<String>,
    },
    /// `revokePipelineNodeApproval`.
    RevokeNodeApproval {
        path: String,
        principal: phobos_core::access::Member,
    },
    /// `rejectPipelineNode` (advisory).
    RejectNode {
        path: String,
        principal: phobos_core::access::Member,
        comment: String,
    },
    /// `overridePipelineNodeApproval` by an Owner (`by`).
    OverrideNodeApproval {
        path: String,
        by: String,
        comment: String,
    },
    /// Several policy commands in one append (one commit for a batch of
    /// job reports): each decided in order as if alone, a refused one
    /// skipped; then what follows from all of them.
    Many(Vec<PipelineCommand>),
}
command_name!(PipelineCommand {
    CreatePipeline,
    MarkNodeRunning,
    MarkNodePending,
    StartNode,
    RetryNode,
    UpdateSchedule,
    FireTimer,
    CompleteNode,
    CancelPipeline,
    CancelNode,
    ChildStarted,
    ChildEnded,
    RefuseChild,
    FixApprovalRules,
    ApproveNode,
    RevokeNodeApproval,
    RejectNode,
    OverrideNodeApproval,
    Many
});

impl Aggregate for Pipeline {
    const TYPE: &'static str = aggregate::PIPELINE;
    type Command = PipelineCommand;
    type Event = Stored<PipelineEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let now = services.now();
        self.attach_graph(services).await?;
        match command {
            PipelineCommand::Many(commands) => {
                for command in commands {
                    let name = command.command_name();
                    match self.decide(command, now, sink).await {
                        Ok(()) => {}
                        Err(e @ DomainError::Unavailable(_)) => return Err(e),
                        // As it would have been alone: refused, changing
                        // nothing; the others go on.
                        Err(e) => {
                            tracing::warn!(command = name, error = %e, "a command of a batch was refused")
                        }
                    }
                }
            }
            other => self.decide(other, now, sink).await?,
        }
        // Everything that follows, one step at a time.
        loop {
            let next = self.run.advance(now);
            if next.is_empty() {
                return Ok(());
            }
            for e in next {
                sink.write(Stored(e), self).await;
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        self.run.apply(&event.0);
    }
}

fn refusal(r: Refusal) -> DomainError {
    match r {
        Refusal::NotFound(m) => DomainError::NotFound(m),
        Refusal::WrongState(m) => DomainError::Conflict(m),
        Refusal::Invalid(m) => DomainError::Invalid(m),
    }
}

impl Pipeline {
    /// One command's own events (`handle` adds what follows).
    async fn decide(
        &mut self,
        command: PipelineCommand,
        now: chrono::DateTime<chrono::Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        for e in self.events_of(command, now)? {
            sink.write(Stored(e), self).await;
        }
        Ok(())
    }

    /// What `command` would append at `now`, or why it is refused: the
    /// whole decision, with nothing written. `decide` runs it, and the API
    /// asks it what a caller could do (`viewerCanStart` …), so both answer
    /// alike. A pipeline loaded by
    /// [`CommandBus::pipeline_state`](crate::bus::CommandBus::pipeline_state)
    /// has its graph.
    pub fn events_of(
        &self,
        command: PipelineCommand,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<PipelineEvent>, DomainError> {
        let run = &self.run;
        let events = match command {
            PipelineCommand::CreatePipeline {
                pipeline_id,
                project_id,
                template_id,
                graph,
                created_at,
                origin,
            } => {
                if run.exists() {
                    return Err(DomainError::AlreadyExists(format!(
                        "pipeline {pipeline_id}"
                    )));
                }
                let missing = unsupported(&graph);
                if !missing.is_empty() {
                    return Err(DomainError::Unsupported(
                        missing.into_iter().map(|(_, m)| m).collect(),
                    ));
                }
                vec![PipelineEvent::PipelineCreated {
                    pipeline_id,
                    project_id,
                    template_id,
                    graph,
                    created_at: created_at.unwrap_or(now),
                    origin,
                }]
            }
            PipelineCommand::MarkNodeRunning { path, job_id } => {
                let node = self.node(&path)?;
                if !matches!(node.status, NodeStatus::Ready | NodeStatus::Pending)
                    || node.job_id.as_deref() != Some(job_id.as_str())
                {
                    return Ok(vec![]);
                }
                vec![PipelineEvent::NodeStarted {
                    path,
                    job_id,
                    at: now,
                }]
            }
            PipelineCommand::MarkNodePending { path, job_id } => {
                self.node(&path)?;
                run.job_queued(&path, &job_id, now).map_err(refusal)?
            }
            PipelineCommand::StartNode { path } => {
                self.exists()?;
                run.start_node(&path, now).map_err(refusal)?
            }
            PipelineCommand::RetryNode { path } => {
                self.node(&path)?;
                run.retry_node(&path, now).map_err(refusal)?
            }
            PipelineCommand::UpdateSchedule { path, schedule } => {
                self.node(&path)?;
                run.update_schedule(&path, schedule, now).map_err(refusal)?
            }
            PipelineCommand::FireTimer { path } => {
                self.node(&path)?;
                vec![]
            }
            PipelineCommand::CompleteNode {
                path,
                job_id,
                succeeded,
                canceled,
                reason,
                outputs,
            } => {
                self.node(&path)?;
                if canceled {
                    run.job_canceled(&path, &job_id, &reason, outputs, now)
                } else {
                    run.job_ended(&path, &job_id, succeeded, &reason, outputs, now)
                }
                .map_err(refusal)?
            }
            PipelineCommand::CancelPipeline {
                force,
                grace_seconds,
            } => {
                self.exists()?;
                run.cancel_pipeline(force, grace_seconds, now)
                    .map_err(refusal)?
            }
            PipelineCommand::CancelNode {
                path,
                force,
                grace_seconds,
            } => {
                self.node(&path)?;
                run.cancel_node(&path, force, grace_seconds, now)
                    .map_err(refusal)?
            }
            PipelineCommand::ChildStarted {
                path,
                child_pipeline_id,
            } => {
                self.node(&path)?;
                run.child_started(&path, &child_pipeline_id, now)
                    .map_err(refusal)?
            }
            PipelineCommand::ChildEnded {
                path,
                child_pipeline_id,
                outcome,
                reason,
            } => {
                self.node(&path)?;
                run.child_ended(&path, &child_pipeline_id, outcome, &reason, now)
                    .map_err(refusal)?
            }
            PipelineCommand::RefuseChild {
                path,
                child_pipeline_id,
                reason,
            } => {
                self.node(&path)?;
                run.child_refused(&path, &child_pipeline_id, &reason, now)
                    .map_err(refusal)?
            }
            PipelineCommand::FixApprovalRules { path, rules } => {
                self.node(&path)?;
                run.fix_approval_rules(&path, rules, now).map_err(refusal)?
            }
            PipelineCommand::ApproveNode {
                path,
                principal,
                rules,
            } => {
                self.node(&path)?;
                run.approve_node(&path, principal, rules, now)
                    .map_err(refusal)?
            }
            PipelineCommand::RevokeNodeApproval { path, principal } => {
                self.node(&path)?;
                run.revoke_node_approval(&path, principal, now)
                    .map_err(refusal)?
            }
            PipelineCommand::RejectNode {
                path,
                principal,
                comment,
            } => {
                self.node(&path)?;
                run.reject_node(&path, principal, comment, now)
                    .map_err(refusal)?
            }
            PipelineCommand::OverrideNodeApproval { path, by, comment } => {
                self.node(&path)?;
                run.override_node_approval(&path, by, comment, now)
                    .map_err(refusal)?
            }
            PipelineCommand::Many(_) => {
                return Err(DomainError::Invalid(
                    "a batch of pipeline commands cannot hold another batch".into(),
                ))
            }
        };
        Ok(events)
    }

    /// Re-attaches the graph a snapshot leaves out, or remembers the one a
    /// replay decoded, so the next load from a snapshot finds it.
    async fn attach_graph(&mut self, services: &Services) -> Result<(), DomainError> {
        if !self.run.exists() {
            return Ok(());
        }
        match &self.run.graph {
            Some(g) => services.graphs.remember(&self.run.id, g),
            None => {
                let g = services.graphs.get(&self.run.id).await.map_err(|e| {
                    tracing::error!(error = %e, "pipeline graph unavailable");
                    DomainError::Unavailable(e.to_string())
                })?;
                self.run.attach_graph(g);
            }
        }
        Ok(())
    }

    fn exists(&self) -> Result<(), DomainError> {
        if self.run.exists() {
            Ok(())
        } else {
            Err(DomainError::NotFound("this pipeline".into()))
        }
    }

    fn node(&self, path: &str) -> Result<&phobos_core::pipeline::NodeState, DomainError> {
        self.exists()?;
        self.run
            .node(path)
            .ok_or_else(|| DomainError::NotFound(format!("node {path} in this pipeline")))
    }
}
