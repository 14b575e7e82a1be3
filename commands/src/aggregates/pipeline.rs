use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::{NodeOutputs, PipelineEvent};
use phobos_core::pipeline::{unsupported, NodeStatus, PipelineRun};
use phobos_core::template::ExecutionGraph;
use serde::{Deserialize, Serialize};

use super::{command_name, Stored};
use crate::clock::Services;
use crate::error::DomainError;

/// A pipeline: a [`PipelineRun`] that the state machine in `phobos-core`
/// advances after each command.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Pipeline {
    pub run: PipelineRun,
}

#[derive(Debug, Clone, Deserialize)]
pub enum PipelineCommand {
    CreatePipeline {
        pipeline_id: String,
        project_id: String,
        template_id: String,
        graph: Box<ExecutionGraph>,
    },
    /// A node's job started. Idempotent.
    MarkNodeRunning { path: String, job_id: String },
    /// A node's job finished. Idempotent: a finished node stays as it is.
    CompleteNode {
        path: String,
        job_id: String,
        succeeded: bool,
        reason: String,
        outputs: NodeOutputs,
    },
}
command_name!(PipelineCommand {
    CreatePipeline,
    MarkNodeRunning,
    CompleteNode
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
        match command {
            PipelineCommand::CreatePipeline {
                pipeline_id,
                project_id,
                template_id,
                graph,
            } => {
                if self.run.exists() {
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
                let e = PipelineEvent::PipelineCreated {
                    pipeline_id,
                    project_id,
                    template_id,
                    graph,
                    created_at: now,
                };
                sink.write(Stored(e), self).await;
            }
            PipelineCommand::MarkNodeRunning { path, job_id } => {
                let node = self.node(&path)?;
                if node.status != NodeStatus::Ready
                    || node.job_id.as_deref() != Some(job_id.as_str())
                {
                    return Ok(());
                }
                let e = PipelineEvent::NodeStarted {
                    path,
                    job_id,
                    at: now,
                };
                sink.write(Stored(e), self).await;
            }
            PipelineCommand::CompleteNode {
                path,
                job_id,
                succeeded,
                reason,
                outputs,
            } => {
                let node = self.node(&path)?;
                if node.status.is_terminal() || node.job_id.as_deref() != Some(job_id.as_str()) {
                    return Ok(());
                }
                let e = if succeeded {
                    PipelineEvent::NodeSucceeded {
                        path,
                        outputs,
                        at: now,
                    }
                } else {
                    PipelineEvent::NodeFailed {
                        path,
                        reason,
                        outputs,
                        at: now,
                    }
                };
                sink.write(Stored(e), self).await;
            }
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

impl Pipeline {
    fn node(&self, path: &str) -> Result<&phobos_core::pipeline::NodeState, DomainError> {
        if !self.run.exists() {
            return Err(DomainError::NotFound("this pipeline".into()));
        }
        self.run
            .node(path)
            .ok_or_else(|| DomainError::NotFound(format!("node {path} in this pipeline")))
    }
}
