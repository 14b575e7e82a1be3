//! What follows from a pipeline's current state.

use chrono::{DateTime, Utc};

use super::inputs::{condition, job_spec};
use super::{job_id_for, NodeStatus, PipelineRun, PipelineStatus, StageStatus};
use crate::events::PipelineEvent;
use crate::template::model::{NodeKind, Section, When};

impl PipelineRun {
    /// The events that follow from the current state, or none when the
    /// pipeline waits (for a running job) or has finished. Callers apply
    /// them and ask again until none come; each call returns events of one
    /// step only, so the log reads in the order things happened.
    ///
    /// Rules:
    /// - stages run one at a time, in graph order;
    /// - in a stage, all pre nodes finish before main nodes start, and all
    ///   main nodes before post nodes;
    /// - a node is ready once the nodes it depends on (in its section) have
    ///   finished; `when = "never"` or a false `if` skips it;
    /// - a failed node fails its stage: nodes not yet started are skipped,
    ///   running ones finish, then the stage fails, later stages are
    ///   skipped, and the pipeline fails.
    pub fn advance(&self, now: DateTime<Utc>) -> Vec<PipelineEvent> {
        let Some(graph) = &self.graph else {
            return vec![];
        };
        match self.status {
            PipelineStatus::Created => return vec![PipelineEvent::PipelineStarted { at: now }],
            PipelineStatus::Running => {}
            PipelineStatus::Succeeded | PipelineStatus::Failed => return vec![],
        }
        let failed_stage = self
            .stages
            .iter()
            .find(|s| s.status == StageStatus::Failed)
            .map(|s| s.name.clone());
        let Some(i) = self.stages.iter().position(|s| !s.status.is_terminal()) else {
            return vec![match failed_stage {
                Some(stage) => PipelineEvent::PipelineFailed {
                    reason: format!("stage {stage} failed"),
                    at: now,
                },
                None => PipelineEvent::PipelineSucceeded { at: now },
            }];
        };
        let stage = &self.stages[i];
        let nodes = &graph.stages[i].nodes;

        if let Some(failed) = &failed_stage {
            let mut out: Vec<_> = nodes
                .iter()
                .filter(|n| self.status_of(&n.path) == NodeStatus::Created)
                .map(|n| PipelineEvent::NodeSkipped {
                    path: n.path.clone(),
                    reason: format!("stage {failed} failed"),
                    at: now,
                })
                .collect();
            out.push(PipelineEvent::StageSkipped {
                stage: stage.name.clone(),
                at: now,
            });
            return out;
        }
        if stage.status == StageStatus::Created {
            return vec![PipelineEvent::StageStarted {
                stage: stage.name.clone(),
                at: now,
            }];
        }

        if let Some(failed) = nodes
            .iter()
            .find(|n| self.status_of(&n.path) == NodeStatus::Failed)
        {
            let skipped: Vec<_> = nodes
                .iter()
                .filter(|n| self.status_of(&n.path) == NodeStatus::Created)
                .map(|n| PipelineEvent::NodeSkipped {
                    path: n.path.clone(),
                    reason: format!("{} failed", failed.path),
                    at: now,
                })
                .collect();
            if !skipped.is_empty() {
                return skipped;
            }
            let busy = nodes.iter().any(|n| !self.status_of(&n.path).is_terminal());
            return if busy {
                vec![]
            } else {
                vec![PipelineEvent::StageFailed {
                    stage: stage.name.clone(),
                    at: now,
                }]
            };
        }

        for section in [Section::Pre, Section::Main, Section::Post] {
            let in_section: Vec<_> = nodes.iter().filter(|n| n.section == section).collect();
            if in_section
                .iter()
                .all(|n| self.status_of(&n.path).is_terminal())
            {
                continue;
            }
            let mut out = Vec::new();
            for n in &in_section {
                if self.status_of(&n.path) != NodeStatus::Created {
                    continue;
                }
                let deps_done = n.dependencies.iter().all(|d| {
                    in_section
                        .iter()
                        .find(|m| &m.name == d)
                        .is_none_or(|m| self.status_of(&m.path).is_terminal())
                });
                if !deps_done {
                    continue;
                }
                out.push(self.ready_or_skipped(n, now));
            }
            return out;
        }
        vec![PipelineEvent::StageSucceeded {
            stage: stage.name.clone(),
            at: now,
        }]
    }

    fn status_of(&self, path: &str) -> NodeStatus {
        self.nodes.get(path).map(|n| n.status).unwrap_or_default()
    }

    fn ready_or_skipped(
        &self,
        n: &crate::template::model::Node,
        now: DateTime<Utc>,
    ) -> PipelineEvent {
        let path = n.path.clone();
        if n.when == When::Never {
            return PipelineEvent::NodeSkipped {
                path,
                reason: "when = \"never\"".into(),
                at: now,
            };
        }
        let fail = |reason: String| PipelineEvent::NodeFailed {
            path: n.path.clone(),
            reason,
            outputs: Default::default(),
            at: now,
        };
        match condition(self, n, now) {
            Ok(true) => {}
            Ok(false) => {
                return PipelineEvent::NodeSkipped {
                    path,
                    reason: "its `if` condition is false".into(),
                    at: now,
                }
            }
            Err(m) => return fail(m),
        }
        if n.kind != NodeKind::Task {
            return PipelineEvent::NodeBecameReady {
                path,
                job_id: None,
                job: None,
                at: now,
            };
        }
        match job_spec(self, n, now) {
            Ok(job) => PipelineEvent::NodeBecameReady {
                job_id: Some(job_id_for(&self.id, &path, 1)),
                path,
                job: Some(job),
                at: now,
            },
            Err(m) => fail(m),
        }
    }
}
