//! Finishing a task's inputs when it becomes ready: the deferred expressions
//! that read `action_outputs` of tasks that have finished by now.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use super::PipelineRun;
use crate::events::{JobAction, JobSpec};
use crate::template::model::{Expr, Node};
use crate::template::value::Map;
use crate::template::{evaluate_deferred, Value};

/// The fixed id of the job that runs attempt `attempt` of the task at `path`.
/// Fixed, so that queueing the job twice (a policy replayed after a crash)
/// names the same job.
pub fn job_id_for(pipeline_id: &str, path: &str, attempt: u32) -> String {
    let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"https://phobos.invalid/jobs");
    uuid::Uuid::new_v5(&ns, format!("{pipeline_id}/{path}#{attempt}").as_bytes()).to_string()
}

/// The `action_outputs` object of a pipeline: for every finished node,
/// `stage.<s>[.<section>].task.<t>.action.<name>.<output>`.
pub fn action_outputs_value(run: &PipelineRun) -> Value {
    action_outputs_with(run, None)
}

/// [`action_outputs_value`], with `own` (a path and outputs not folded in
/// yet: a gate's attempt being judged) in place of that node's.
pub(super) fn action_outputs_with(
    run: &PipelineRun,
    own: Option<(&str, &crate::events::NodeOutputs)>,
) -> Value {
    let mut root = Map::new();
    for (path, state) in &run.nodes {
        let outputs = match own {
            Some((p, o)) if p == path => o,
            _ => &state.outputs,
        };
        if outputs.is_empty() {
            continue;
        }
        let mut actions = Map::new();
        for (name, outputs) in outputs {
            let v: Value = serde_json::from_value(outputs.clone()).unwrap_or(Value::Null);
            actions.insert(name.clone(), v);
        }
        let mut node = Map::new();
        node.insert("action".to_string(), Value::Object(actions));
        insert_path(
            &mut root,
            &path.split('.').collect::<Vec<_>>(),
            Value::Object(node),
        );
    }
    let mut top = Map::new();
    if let Some(stage) = root.shift_remove("stage") {
        top.insert("stage".to_string(), stage);
    }
    Value::Object(top)
}

fn insert_path(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert(last.to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry(first.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

/// Evaluates a node's `if`, now that the nodes it reads have finished.
pub(super) fn condition(
    run: &PipelineRun,
    node: &Node,
    now: DateTime<Utc>,
) -> Result<bool, String> {
    let v = match &node.condition {
        None => return Ok(true),
        Some(Expr::Value(v)) => v.clone(),
        Some(Expr::Deferred(d)) => deferred(run, &d.expression, now)?,
    };
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(format!(
            "the `if` condition of {} gave {}, not a bool",
            node.path,
            crate::template::value::describe(&other)
        )),
    }
}

/// The job of a task: every input known.
pub(super) fn job_spec(
    run: &PipelineRun,
    node: &Node,
    now: DateTime<Utc>,
) -> Result<JobSpec, String> {
    let mut actions = Vec::with_capacity(node.actions.len());
    for a in &node.actions {
        let mut inputs: IndexMap<String, Value> = a.inputs.clone();
        for (name, d) in &a.deferred_inputs {
            let v = deferred(run, &d.expression, now)
                .map_err(|m| format!("input {name} of action {}: {m}", a.key()))?;
            inputs.insert(name.clone(), v);
        }
        let inputs = serde_json::to_value(&inputs)
            .map_err(|e| format!("inputs of action {}: {e}", a.key()))?;
        actions.push(JobAction {
            name: a.key().to_string(),
            plugin: a.plugin.clone(),
            action: a.action.clone(),
            inputs,
        });
    }
    Ok(JobSpec {
        tags: node.agent_tags.clone().unwrap_or_default(),
        actions,
    })
}

pub(super) fn deferred(
    run: &PipelineRun,
    expression: &str,
    now: DateTime<Utc>,
) -> Result<Value, String> {
    deferred_with(run, None, expression, now)
}

pub(super) fn deferred_with(
    run: &PipelineRun,
    own: Option<(&str, &crate::events::NodeOutputs)>,
    expression: &str,
    now: DateTime<Utc>,
) -> Result<Value, String> {
    let empty = Value::Object(Map::new());
    evaluate_deferred(
        expression,
        action_outputs_with(run, own),
        empty.clone(),
        empty,
        run.created_at.unwrap_or(now),
    )
    .map_err(|e| e.message)
}
