//! Nested and deployment pipelines, as their parent node sees them: the
//! child is fixed when the node becomes ready ([`ChildSpec`]), the node runs
//! once the child exists and ends as the child ends.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use super::start::Refusal;
use super::{NodeStatus, PipelineRun};
use crate::events::{ChildSpec, PipelineEvent, PipelineType};
use crate::template::model::{Expr, Node};
use crate::template::Value;

/// How deep pipelines may nest: a root pipeline's child is at depth 1. A
/// node whose child would be deeper fails, naming the chain.
pub const MAX_NESTING_DEPTH: usize = 5;

/// The fixed id of the child pipeline that attempt `attempt` of the node at
/// `path` starts (so creating it twice names the same pipeline).
pub fn child_pipeline_id_for(pipeline_id: &str, path: &str, attempt: u32) -> String {
    let ns = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        b"https://phobos.invalid/child-pipelines",
    );
    uuid::Uuid::new_v5(&ns, format!("{pipeline_id}/{path}#{attempt}").as_bytes()).to_string()
}

/// How a child pipeline ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChildOutcome {
    Succeeded,
    Failed,
    Canceled,
}

/// The child a ready `pipeline` node starts, its variables evaluated now.
pub(super) fn child_spec(
    run: &PipelineRun,
    node: &Node,
    attempt: u32,
    now: DateTime<Utc>,
) -> Result<ChildSpec, String> {
    let spec = node
        .pipeline
        .as_ref()
        .ok_or_else(|| format!("{} has no template_id", node.path))?;
    let pipeline_type = match spec.pipeline_type.as_str() {
        "deployment" => PipelineType::Deployment,
        _ => PipelineType::Nested,
    };
    let value = match &spec.variables {
        None => Value::Null,
        Some(Expr::Value(v)) => v.clone(),
        Some(Expr::Deferred(d)) => super::inputs::deferred(run, &d.expression, now)
            .map_err(|m| format!("`variables` of {}: {m}", node.path))?,
    };
    let mut variables = IndexMap::new();
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                let json = serde_json::to_value(&v)
                    .map_err(|e| format!("variable {k} of {}: {e}", node.path))?;
                variables.insert(k, json);
            }
        }
        other => {
            return Err(format!(
                "`variables` of {} must be a map of variable names to values, got {}",
                node.path,
                crate::template::value::describe(&other)
            ))
        }
    }
    Ok(ChildSpec {
        child_pipeline_id: child_pipeline_id_for(&run.id, &node.path, attempt),
        template_ref: spec.template_id.clone(),
        pipeline_type,
        environment: spec
            .environment
            .clone()
            .filter(|_| pipeline_type == PipelineType::Deployment),
        variables,
    })
}

impl PipelineRun {
    /// The node whose current child is `child_id`, if it waits for it.
    fn child_node(&self, path: &str, child_id: &str) -> Result<Option<NodeStatus>, Refusal> {
        let Some(state) = self.nodes.get(path) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        let waiting = state.child_pipeline_id.as_deref() == Some(child_id)
            && matches!(
                state.status,
                NodeStatus::Ready | NodeStatus::Running | NodeStatus::Canceling
            );
        Ok(waiting.then_some(state.status))
    }

    /// The child `child_id` of the node at `path` exists: the node runs.
    /// Idempotent; nothing for a child that is not the node's current one.
    pub fn child_started(
        &self,
        path: &str,
        child_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        Ok(match self.child_node(path, child_id)? {
            Some(NodeStatus::Ready) => vec![PipelineEvent::NodeChildPipelineStarted {
                path: path.to_string(),
                child_pipeline_id: child_id.to_string(),
                at: now,
            }],
            _ => vec![],
        })
    }

    /// The child `child_id` of the node at `path` ended (`reason`: why it
    /// failed or was canceled): the node ends alike. Idempotent.
    pub fn child_ended(
        &self,
        path: &str,
        child_id: &str,
        outcome: ChildOutcome,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        if self.child_node(path, child_id)?.is_none() {
            return Ok(vec![]);
        }
        let path = path.to_string();
        Ok(vec![match outcome {
            ChildOutcome::Succeeded => PipelineEvent::NodeSucceeded {
                path,
                outputs: Default::default(),
                at: now,
            },
            ChildOutcome::Failed => PipelineEvent::NodeFailed {
                path,
                reason: format!("its pipeline {child_id} failed: {reason}"),
                outputs: Default::default(),
                at: now,
            },
            ChildOutcome::Canceled => PipelineEvent::NodeCanceled {
                path,
                reason: format!("its pipeline {child_id} was canceled: {reason}"),
                forced: false,
                job_id: None,
                outputs: Default::default(),
                at: now,
                child_pipeline_id: None,
            },
        }])
    }

    /// The child `child_id` of the node at `path` cannot be created (its
    /// template does not exist or does not compile with these variables,
    /// or it nests too deep): the node fails with `reason`. Idempotent.
    pub fn child_refused(
        &self,
        path: &str,
        child_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        if self.child_node(path, child_id)?.is_none() {
            return Ok(vec![]);
        }
        Ok(vec![PipelineEvent::NodeFailed {
            path: path.to_string(),
            reason: reason.to_string(),
            outputs: Default::default(),
            at: now,
        }])
    }
}
