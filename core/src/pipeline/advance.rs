//! What follows from a pipeline's current state.

use chrono::{DateTime, Utc};

use super::inputs::{condition, job_spec};
use super::{job_id_for, NodeStatus, PipelineRun, PipelineStatus, StageStatus};
use crate::events::{PipelineEvent, SkipCause};
use crate::template::model::{Node, NodeKind, Section, When};
use crate::template::schedule::next_start;

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
    /// - a node is BLOCKED from its stage's start until the nodes it
    ///   depends on (in its section) have finished; then `when = "never"`
    ///   or a false `if` skips it, `when = "manual"` makes it WAITING for
    ///   someone to start it, a schedule makes it SCHEDULED until its start
    ///   time, and otherwise it is READY (a task without actions then
    ///   succeeds at once: it needs no job);
    /// - a stage in which nothing can move until someone acts is WAITING,
    ///   and so is its pipeline; both run again once a node does;
    /// - a failed node fails its stage: nodes not yet started (BLOCKED,
    ///   WAITING) are skipped, running ones finish, then the stage fails,
    ///   later stages are skipped, and the pipeline fails.
    pub fn advance(&self, now: DateTime<Utc>) -> Vec<PipelineEvent> {
        let Some(graph) = &self.graph else {
            return vec![];
        };
        match self.status {
            PipelineStatus::Created => return vec![PipelineEvent::PipelineStarted { at: now }],
            PipelineStatus::Running | PipelineStatus::Waiting => {}
            PipelineStatus::Canceling => return self.advance_cancel(now),
            PipelineStatus::Succeeded | PipelineStatus::Failed | PipelineStatus::Canceled => {
                return vec![]
            }
        }
        // The first stage that failed or was canceled stops the ones after.
        let stopped_stage = self
            .stages
            .iter()
            .find(|s| matches!(s.status, StageStatus::Failed | StageStatus::Canceled));
        let Some(i) = self.stages.iter().position(|s| !s.status.is_terminal()) else {
            let failed = self.stages.iter().find(|s| s.status == StageStatus::Failed);
            return vec![match (failed, stopped_stage) {
                (Some(stage), _) => PipelineEvent::PipelineFailed {
                    reason: format!("stage {} failed", stage.name),
                    at: now,
                },
                (None, Some(stage)) => PipelineEvent::PipelineCanceled {
                    reason: format!("stage {} was canceled", stage.name),
                    at: now,
                },
                (None, None) => PipelineEvent::PipelineSucceeded { at: now },
            }];
        };
        let stage = &self.stages[i];
        let nodes = &graph.stages[i].nodes;

        if let Some(stopped) = stopped_stage {
            let name = stopped.name.clone();
            let (reason, cause) = if stopped.status == StageStatus::Failed {
                (
                    format!("stage {name} failed"),
                    SkipCause::StageFailed { stage: name },
                )
            } else {
                (
                    format!("stage {name} was canceled"),
                    SkipCause::StageCanceled { stage: name },
                )
            };
            let mut out: Vec<_> = nodes
                .iter()
                .filter(|n| self.status_of(&n.path) == NodeStatus::Created)
                .map(|n| PipelineEvent::NodeSkipped {
                    path: n.path.clone(),
                    reason: reason.clone(),
                    at: now,
                    cause: Some(cause.clone()),
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
        let active = nodes.iter().any(|n| self.status_of(&n.path).is_active());
        if stage.status == StageStatus::Waiting && active {
            return vec![PipelineEvent::StageResumed {
                stage: stage.name.clone(),
                at: now,
            }];
        }
        if self.status == PipelineStatus::Waiting && stage.status == StageStatus::Running {
            return vec![PipelineEvent::PipelineResumed { at: now }];
        }
        // A READY task without actions has nothing to run: it is done. Before
        // anything else, so that a failed sibling cannot leave it READY, with
        // no job to end it, for ever.
        let done: Vec<_> = nodes
            .iter()
            .filter(|n| {
                n.kind == NodeKind::Task
                    && self.status_of(&n.path) == NodeStatus::Ready
                    && self.job_of(&n.path).is_none()
            })
            .map(|n| PipelineEvent::NodeSucceeded {
                path: n.path.clone(),
                outputs: Default::default(),
                at: now,
            })
            .collect();
        if !done.is_empty() {
            return done;
        }
        // A gate between attempts whose time has come runs again, even
        // when a sibling failed (like a job in flight, it finishes).
        let again: Vec<_> = nodes
            .iter()
            .filter(|n| {
                self.nodes.get(&n.path).is_some_and(|s| {
                    s.status == NodeStatus::Scheduled
                        && s.attempt > 0
                        && s.scheduled_start.is_none_or(|t| t <= now)
                })
            })
            .map(|n| self.make_ready(n, now))
            .collect();
        if !again.is_empty() {
            return again;
        }

        // A failed node (or, without one, a canceled node) stops its stage;
        // not a deployment with `on_error = "continue"`, whose stage goes on.
        let failed = nodes.iter().find(|n| {
            self.status_of(&n.path) == NodeStatus::Failed
                && n.on_error != Some(crate::template::model::OnError::Continue)
        });
        let canceled = nodes
            .iter()
            .find(|n| self.status_of(&n.path) == NodeStatus::Canceled);
        if let Some(stopper) = failed.or(canceled) {
            let (reason, cause) = if failed.is_some() {
                (
                    format!("{} failed", stopper.path),
                    SkipCause::NodeFailed {
                        path: stopper.path.clone(),
                    },
                )
            } else {
                (
                    format!("{} was canceled", stopper.path),
                    SkipCause::NodeCanceled {
                        path: stopper.path.clone(),
                    },
                )
            };
            // Not started yet: skipped. (A gate between two attempts is
            // SCHEDULED too, but has run: it goes on, like a running job.)
            let skipped: Vec<_> = nodes
                .iter()
                .filter(|n| match self.nodes.get(&n.path) {
                    Some(s) => {
                        matches!(
                            s.status,
                            NodeStatus::Created
                                | NodeStatus::Blocked
                                | NodeStatus::Waiting
                                | NodeStatus::ApprovalPending
                        ) || (s.status == NodeStatus::Scheduled && s.attempt == 0)
                    }
                    None => false,
                })
                .map(|n| PipelineEvent::NodeSkipped {
                    path: n.path.clone(),
                    reason: reason.clone(),
                    at: now,
                    cause: Some(cause.clone()),
                })
                .collect();
            if !skipped.is_empty() {
                return skipped;
            }
            let busy = nodes.iter().any(|n| !self.status_of(&n.path).is_terminal());
            let stage = stage.name.clone();
            return if busy {
                vec![]
            } else if failed.is_some() {
                vec![PipelineEvent::StageFailed { stage, at: now }]
            } else {
                vec![PipelineEvent::StageCanceled { stage, at: now }]
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
            // A node's dependencies by name, looked up once per section
            // (a scan per dependency made a 2,000-node chain quadratic).
            let finished: std::collections::HashMap<&str, bool> = in_section
                .iter()
                .map(|m| (m.name.as_str(), self.status_of(&m.path).is_terminal()))
                .collect();
            let mut out = Vec::new();
            for n in &in_section {
                let status = self.status_of(&n.path);
                if status == NodeStatus::ApprovalPending {
                    // Approved (or overridden): on as it would have gone.
                    if self.nodes[&n.path]
                        .approval
                        .as_ref()
                        .is_some_and(|a| a.satisfied())
                    {
                        out.push(self.after_approval(n, now));
                    }
                    continue;
                }
                if status == NodeStatus::Scheduled {
                    // Its time has come (a timer fired, or it was past).
                    if self.nodes[&n.path].scheduled_start.is_none_or(|t| t <= now) {
                        out.push(self.make_ready(n, now));
                    }
                    continue;
                }
                if status != NodeStatus::Blocked {
                    continue;
                }
                let deps_done = n
                    .dependencies
                    .iter()
                    .all(|d| finished.get(d.as_str()).copied().unwrap_or(true));
                if !deps_done {
                    continue;
                }
                out.push(self.leave_blocked(n, now));
            }
            if !out.is_empty() {
                return out;
            }
            // Nothing moves by itself: does it wait for someone?
            let waits = nodes
                .iter()
                .any(|n| self.status_of(&n.path).awaits_someone());
            if !active && waits {
                if stage.status == StageStatus::Running {
                    return vec![PipelineEvent::StageWaiting {
                        stage: stage.name.clone(),
                        at: now,
                    }];
                }
                if self.status == PipelineStatus::Running {
                    return vec![PipelineEvent::PipelineWaiting { at: now }];
                }
            }
            return vec![];
        }
        vec![PipelineEvent::StageSucceeded {
            stage: stage.name.clone(),
            at: now,
        }]
    }

    fn status_of(&self, path: &str) -> NodeStatus {
        self.nodes.get(path).map(|n| n.status).unwrap_or_default()
    }

    fn job_of(&self, path: &str) -> Option<&str> {
        self.nodes.get(path).and_then(|n| n.job_id.as_deref())
    }

    /// What a BLOCKED node whose dependencies have finished does next.
    fn leave_blocked(&self, n: &Node, now: DateTime<Utc>) -> PipelineEvent {
        let path = n.path.clone();
        if n.when == When::Never {
            return PipelineEvent::NodeSkipped {
                path,
                reason: "when = \"never\"".into(),
                at: now,
                cause: Some(SkipCause::Never),
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
                    cause: Some(SkipCause::Condition),
                }
            }
            Err(m) => return fail(m),
        }
        // A retried node (it has run) was approved already.
        let first = self.nodes.get(&path).is_none_or(|s| s.attempt == 0);
        if first && !n.approval_rules.is_empty() {
            return PipelineEvent::NodeApprovalPending {
                path,
                rule_ids: n.approval_rules.clone(),
                at: now,
            };
        }
        self.after_approval(n, now)
    }

    /// What a node does once approved (or with nothing to approve): wait
    /// for a manual start, wait for its schedule, or become READY.
    fn after_approval(&self, n: &Node, now: DateTime<Utc>) -> PipelineEvent {
        let path = n.path.clone();
        let fail = |reason: String| PipelineEvent::NodeFailed {
            path: n.path.clone(),
            reason,
            outputs: Default::default(),
            at: now,
        };
        // A retried node (it has run) runs at once: no second manual start
        // or schedule.
        let first = self.nodes.get(&path).is_none_or(|s| s.attempt == 0);
        if first && n.when == When::Manual {
            return PipelineEvent::NodeWaitingForStart { path, at: now };
        }
        let schedule = match self
            .nodes
            .get(&path)
            .and_then(|s| s.schedule_override.as_ref())
        {
            Some(super::ScheduleOverride::Set(s)) => Some(s),
            Some(super::ScheduleOverride::Removed) => None,
            None => n.schedule.as_ref(),
        };
        if let Some(schedule) = schedule.filter(|_| first) {
            return match next_start(schedule, now) {
                Ok(start_at) => PipelineEvent::NodeScheduled {
                    path,
                    start_at,
                    at: now,
                },
                Err(m) => fail(format!("its schedule cannot be used: {m}")),
            };
        }
        self.make_ready(n, now)
    }

    /// `NodeBecameReady` with the node's job, its inputs evaluated now, or
    /// `NodeFailed` when they cannot be.
    pub(super) fn make_ready(&self, n: &Node, now: DateTime<Utc>) -> PipelineEvent {
        let path = n.path.clone();
        let fail = |reason: String| PipelineEvent::NodeFailed {
            path: n.path.clone(),
            reason,
            outputs: Default::default(),
            at: now,
        };
        // Every NodeBecameReady starts a run of the node.
        let attempt = self.nodes.get(&path).map_or(0, |s| s.attempt) + 1;
        // A release's deployments start their environment's pipeline (the
        // release filled in `pipeline` when it was created).
        if n.kind == NodeKind::Pipeline || (n.kind == NodeKind::Deployment && n.pipeline.is_some())
        {
            return match super::children::child_spec(self, n, attempt, now) {
                Ok(child) => PipelineEvent::NodeBecameReady {
                    path,
                    job_id: None,
                    job: None,
                    at: now,
                    attempt,
                    child: Some(child),
                },
                Err(m) => fail(m),
            };
        }
        if n.kind != NodeKind::Task || n.actions.is_empty() {
            return PipelineEvent::NodeBecameReady {
                path,
                job_id: None,
                job: None,
                at: now,
                attempt,
                child: None,
            };
        }
        match job_spec(self, n, now) {
            Ok(job) => PipelineEvent::NodeBecameReady {
                job_id: Some(job_id_for(&self.id, &path, attempt)),
                path,
                job: Some(job),
                at: now,
                attempt,
                child: None,
            },
            Err(m) => fail(m),
        }
    }
}
