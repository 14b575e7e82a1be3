//! The pipeline state machine: a pure fold of [`PipelineEvent`]s, and the
//! rules that decide which events come next.
//!
//! The write side (`phobos-commands`) wraps [`PipelineRun`] in an aggregate:
//! a command records what happened (a node finished), then [`PipelineRun::advance`]
//! is asked, again and again, what follows from it until nothing does. The
//! rules live only here, so replay and the live server cannot disagree.
//!
//! Node life: `Created` → `Ready` → `Running` → `Succeeded` | `Failed`, or
//! `Created` → `Skipped`. The states that manual starts, approvals, schedules
//! and gates need (waiting for someone or something) slot in between
//! `Created` and `Ready`; today [`unsupported`] refuses templates that use
//! them, so a pipeline never waits for a step this server cannot take.

mod advance;
mod inputs;
mod support;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::events::{NodeOutputs, PipelineEvent};
use crate::template::ExecutionGraph;

pub use inputs::{action_outputs_value, job_id_for};
pub use support::{unsupported, unsupported_blocks};

/// Where a pipeline is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PipelineStatus {
    #[default]
    Created,
    Running,
    Succeeded,
    Failed,
}

/// Where a stage is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StageStatus {
    #[default]
    Created,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

/// Where a node is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeStatus {
    #[default]
    Created,
    Ready,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

macro_rules! status_str {
    ($ty:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $ty {
            /// The name used in read models and the API.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s,)* }
            }
        }
    };
}
status_str!(PipelineStatus { Created => "CREATED", Running => "RUNNING", Succeeded => "SUCCEEDED", Failed => "FAILED" });
status_str!(StageStatus { Created => "CREATED", Running => "RUNNING", Succeeded => "SUCCEEDED", Failed => "FAILED", Skipped => "SKIPPED" });
status_str!(NodeStatus { Created => "CREATED", Ready => "READY", Running => "RUNNING", Succeeded => "SUCCEEDED", Failed => "FAILED", Skipped => "SKIPPED" });

impl StageStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Skipped)
    }
}

impl NodeStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Skipped)
    }
}

impl PipelineStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// A stage's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageState {
    pub name: String,
    pub status: StageStatus,
}

/// A node's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeState {
    pub status: NodeStatus,
    pub job_id: Option<String>,
    pub outputs: NodeOutputs,
}

/// One pipeline run, as its events made it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineRun {
    pub id: String,
    pub project_id: String,
    pub template_id: String,
    pub graph: Option<Box<ExecutionGraph>>,
    pub created_at: Option<DateTime<Utc>>,
    pub status: PipelineStatus,
    pub stages: Vec<StageState>,
    /// By node path, in graph order.
    pub nodes: IndexMap<String, NodeState>,
}

impl PipelineRun {
    /// Whether `PipelineCreated` has been applied.
    pub fn exists(&self) -> bool {
        self.graph.is_some()
    }

    /// Folds one event in. Total: an event that does not fit (which the
    /// rules never produce) changes nothing rather than failing a replay.
    pub fn apply(&mut self, event: &PipelineEvent) {
        use PipelineEvent::*;
        match event {
            PipelineCreated {
                pipeline_id,
                project_id,
                template_id,
                graph,
                created_at,
            } => {
                self.id = pipeline_id.clone();
                self.project_id = project_id.clone();
                self.template_id = template_id.clone();
                self.created_at = Some(*created_at);
                self.stages = graph
                    .stages
                    .iter()
                    .map(|s| StageState {
                        name: s.name.clone(),
                        status: StageStatus::Created,
                    })
                    .collect();
                self.nodes = graph
                    .stages
                    .iter()
                    .flat_map(|s| &s.nodes)
                    .map(|n| (n.path.clone(), NodeState::default()))
                    .collect();
                self.graph = Some(graph.clone());
            }
            PipelineStarted { .. } => self.status = PipelineStatus::Running,
            StageStarted { stage, .. } => self.set_stage(stage, StageStatus::Running),
            StageSucceeded { stage, .. } => self.set_stage(stage, StageStatus::Succeeded),
            StageFailed { stage, .. } => self.set_stage(stage, StageStatus::Failed),
            StageSkipped { stage, .. } => self.set_stage(stage, StageStatus::Skipped),
            NodeBecameReady { path, job_id, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Ready;
                    n.job_id = job_id.clone();
                }
            }
            NodeStarted { path, job_id, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Running;
                    n.job_id = Some(job_id.clone());
                }
            }
            NodeSucceeded { path, outputs, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Succeeded;
                    n.outputs = outputs.clone();
                }
            }
            NodeFailed { path, outputs, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Failed;
                    n.outputs = outputs.clone();
                }
            }
            NodeSkipped { path, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Skipped;
                }
            }
            PipelineSucceeded { .. } => self.status = PipelineStatus::Succeeded,
            PipelineFailed { .. } => self.status = PipelineStatus::Failed,
        }
    }

    fn set_stage(&mut self, stage: &str, status: StageStatus) {
        if let Some(s) = self.stages.iter_mut().find(|s| s.name == stage) {
            s.status = status;
        }
    }

    /// The state of the node at `path`.
    pub fn node(&self, path: &str) -> Option<&NodeState> {
        self.nodes.get(path)
    }
}

#[cfg(test)]
mod tests;
