//! The execution graph: what the engine runs. Stages in execution order, and
//! in each stage its nodes in the order pre tasks, main nodes, post tasks.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::model::{
    Jwt, Node, Plugin, PluginRequirement, Template, TemplateKind, VcsToken, Volume,
};
use super::value::Value;

/// The serialized shape of [`ExecutionGraph`] this build writes. A graph is
/// stored inside `PipelineCreated` for good, so a change to the template
/// model that old graphs cannot be read as (a field renamed, a meaning
/// changed) raises this, and decoding tells the shapes apart by it; a new
/// field with a default does not need to.
pub const GRAPH_SHAPE: u32 = 1;

fn graph_shape_one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionGraph {
    /// [`GRAPH_SHAPE`] when written; graphs stored before it existed are 1.
    #[serde(default = "graph_shape_one")]
    pub shape: u32,
    pub kind: TemplateKind,
    pub stages: Vec<GraphStage>,
    /// Every declared variable with the value it has in this evaluation.
    pub variables: IndexMap<String, Value>,
    pub plugins: Vec<Plugin>,
    pub plugin_requirements: Vec<PluginRequirement>,
    pub jwts: Vec<Jwt>,
    pub volumes: Vec<Volume>,
    pub vcs_tokens: Vec<VcsToken>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphStage {
    pub name: String,
    pub nodes: Vec<Node>,
}

impl ExecutionGraph {
    /// Orders a decoded (and valid) template: `stage_order` if given, else file order.
    pub fn new(t: &Template) -> ExecutionGraph {
        let ordered: Vec<_> = match &t.stage_order {
            Some(order) => order
                .iter()
                .filter_map(|name| t.stages.iter().find(|s| &s.name == name))
                .collect(),
            None => t.stages.iter().collect(),
        };
        ExecutionGraph {
            shape: GRAPH_SHAPE,
            kind: t.kind,
            stages: ordered
                .into_iter()
                .map(|s| GraphStage {
                    name: s.name.clone(),
                    nodes: s.nodes().cloned().collect(),
                })
                .collect(),
            variables: t
                .variables
                .iter()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
            plugins: t.plugins.clone(),
            plugin_requirements: t.plugin_requirements.clone(),
            jwts: t.jwts.clone(),
            volumes: t.volumes.clone(),
            vcs_tokens: t.vcs_tokens.clone(),
        }
    }

    /// The node at a path such as `stage.dev.pre.task.check`.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.stages
            .iter()
            .flat_map(|s| &s.nodes)
            .find(|n| n.path == path)
    }

    /// Number of nodes in all stages.
    pub fn node_count(&self) -> usize {
        self.stages.iter().map(|s| s.nodes.len()).sum()
    }
}
