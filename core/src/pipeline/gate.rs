//! What a node's job ending means: success or failure, or, for a gate, an
//! attempt judged by its `success_condition` and maybe another one.

use chrono::{DateTime, Utc};

use super::inputs::deferred_with;
use super::start::Refusal;
use super::{NodeStatus, PipelineRun};
use crate::events::{NodeOutputs, PipelineEvent};
use crate::template::model::{Expr, Gate, Node};
use crate::template::Value;

impl PipelineRun {
    /// The job `job_id` of the node at `path` ended. Idempotent: a job that
    /// is not the node's current one, or a node already finished, gives no
    /// events. [`advance`](Self::advance) adds what follows.
    ///
    /// A task without a gate succeeds or fails with its job. A gate's
    /// attempt succeeds when its job succeeded and its `success_condition`
    /// (if any) holds on this attempt's outputs; otherwise, with `interval`
    /// and attempts left, it runs again `interval` after this one ended
    /// (`NodeGateAttemptFailed`), and else fails, naming the condition and
    /// the count. A failed job is an unsuccessful attempt, not the end.
    pub fn job_ended(
        &self,
        path: &str,
        job_id: &str,
        succeeded: bool,
        reason: &str,
        outputs: NodeOutputs,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let (Some(graph), Some(state)) = (&self.graph, self.nodes.get(path)) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        // Only the job in flight counts: a report repeated after the node
        // moved on (finished, or a gate waiting for its next attempt) or of
        // an earlier attempt's job changes nothing.
        let in_flight = matches!(
            state.status,
            NodeStatus::Ready | NodeStatus::Pending | NodeStatus::Running | NodeStatus::Canceling
        );
        if !in_flight || state.job_id.as_deref() != Some(job_id) {
            return Ok(vec![]);
        }
        let node = graph
            .node(path)
            .ok_or_else(|| Refusal::NotFound(format!("node {path}")))?;
        let path = path.to_string();
        let Some(gate) = &node.gate else {
            return Ok(vec![if succeeded {
                PipelineEvent::NodeSucceeded {
                    path,
                    outputs,
                    at: now,
                }
            } else {
                PipelineEvent::NodeFailed {
                    path,
                    reason: reason.to_string(),
                    outputs,
                    at: now,
                }
            }]);
        };
        let verdict = if succeeded {
            self.holds(node, gate, &outputs, now)
        } else {
            Err(format!("the job failed: {reason}"))
        };
        let why = match verdict {
            Ok(true) => {
                return Ok(vec![PipelineEvent::NodeSucceeded {
                    path,
                    outputs,
                    at: now,
                }])
            }
            Ok(false) => "its success_condition did not hold".to_string(),
            Err(m) => m,
        };
        let attempt = state.attempt.max(1);
        // Asked to stop: no further attempt.
        if state.status == NodeStatus::Canceling {
            return Ok(vec![PipelineEvent::NodeCanceled {
                path,
                reason: format!("canceled after attempt {attempt} ({why})"),
                forced: false,
                job_id: None,
                outputs,
                at: now,
                child_pipeline_id: None,
            }]);
        }
        let runs = match gate.interval_seconds {
            Some(_) => gate.attempts.unwrap_or(1).max(1),
            None => 1,
        };
        if let Some(seconds) = gate.interval_seconds.filter(|_| attempt < runs) {
            let interval = chrono::Duration::milliseconds((seconds * 1000.0).round() as i64);
            return Ok(vec![PipelineEvent::NodeGateAttemptFailed {
                path,
                attempt,
                reason: why,
                outputs,
                next_attempt_at: now + interval,
                at: now,
            }]);
        }
        let count = if gate.interval_seconds.is_some() {
            format!("after {attempt} of {runs} attempts")
        } else {
            "after 1 run".to_string()
        };
        let condition = match &gate.success_condition {
            Some(Expr::Deferred(d)) => format!("success_condition `{}`", d.expression.trim()),
            Some(Expr::Value(v)) => format!(
                "success_condition `{}`",
                crate::template::value::describe(v)
            ),
            None => "the gate's job".to_string(),
        };
        Ok(vec![PipelineEvent::NodeFailed {
            path,
            reason: format!("{condition} did not succeed {count} (last attempt: {why})"),
            outputs,
            at: now,
        }])
    }

    /// Whether the gate's `success_condition` holds on this attempt's
    /// `outputs` (no condition: the job's success is enough).
    fn holds(
        &self,
        node: &Node,
        gate: &Gate,
        outputs: &NodeOutputs,
        now: DateTime<Utc>,
    ) -> Result<bool, String> {
        let v = match &gate.success_condition {
            None => return Ok(true),
            Some(Expr::Value(v)) => v.clone(),
            Some(Expr::Deferred(d)) => {
                deferred_with(self, Some((&node.path, outputs)), &d.expression, now)?
            }
        };
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(format!(
                "its success_condition gave {}, not a bool",
                crate::template::value::describe(&other)
            )),
        }
    }
}
