//! What this server cannot run yet. A pipeline that would need it is refused
//! when it is created, with one message per place, rather than left waiting.

use crate::template::model::{NodeKind, When};
use crate::template::ExecutionGraph;

/// Every use of a feature this server does not run yet, as
/// `(node path, what to change)`. Empty when the graph can run.
pub fn unsupported(graph: &ExecutionGraph) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for node in graph.stages.iter().flat_map(|s| &s.nodes) {
        let mut say = |what: &str| {
            out.push((
                node.path.clone(),
                format!(
                    "{} {what} is not supported by this server yet; remove it to run this pipeline",
                    node.path
                ),
            ))
        };
        match node.kind {
            NodeKind::Task => {}
            NodeKind::Pipeline => say("(a nested pipeline)"),
            NodeKind::Deployment => say("(a deployment)"),
        }
        if node.when == When::Manual {
            say("with when = \"manual\"");
        }
        if !node.approval_rules.is_empty() {
            say("with approval_rules");
        }
        if node.schedule.is_some() {
            say("with a schedule");
        }
        if node.gate.is_some() {
            say("as a gate (interval/attempts/success_condition)");
        }
    }
    out
}
