//! The typed model of a template after dynamic blocks are expanded and every
//! expression that can be known at creation time is evaluated.

use std::ops::Range;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::types::Type;
use super::value::Value;

/// Which of the two template languages a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    Pipeline,
    Lifecycle,
}

impl TemplateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Pipeline => "pipeline",
            TemplateKind::Lifecycle => "lifecycle",
        }
    }
}

/// An expression's result: a value known now, or an expression the executor
/// finishes at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    Value(Value),
    Deferred(Deferred),
}

/// An expression that needs run-time values (`action_outputs`, `jwt`,
/// `vcs_token`). Everything known at creation time is already folded in, so
/// `expression` mentions only those roots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deferred {
    /// HCL source of the remaining expression.
    pub expression: String,
    /// The run-time references it makes, dotted (`action_outputs.stage.s.task.t.action.a.x`).
    pub references: Vec<String>,
}

/// A declared variable and the value it has in this evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: Type,
    pub default: Option<Value>,
    pub value: Value,
}

/// When a node starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    Auto,
    Manual,
    Never,
}

/// What a failed deployment does to its release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    Fail,
    Continue,
}

/// The kind of a stage node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Task,
    Pipeline,
    Deployment,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Task => "task",
            NodeKind::Pipeline => "pipeline",
            NodeKind::Deployment => "deployment",
        }
    }
}

/// The part of a stage a node runs in: all pre nodes finish before main nodes
/// start, and all main nodes before post nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Pre,
    Main,
    Post,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Pre => "pre",
            Section::Main => "main",
            Section::Post => "post",
        }
    }
}

/// When a scheduled node starts, once it is no longer blocked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// An RFC 3339 instant.
    Datetime { value: String },
    /// The next time matching a 5-field cron expression in an IANA time zone.
    Cron {
        expression: String,
        timezone: String,
    },
}

/// Retry-until-true settings of a task acting as a gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// Go duration syntax, e.g. `2m`.
    pub interval: Option<String>,
    pub interval_seconds: Option<f64>,
    pub attempts: Option<u32>,
    pub success_condition: Option<Expr>,
}

/// A volume mounted into a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountPoint {
    pub volume: String,
    pub path: Option<String>,
    /// Where the block is in the template; not stored.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

/// One plugin action of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// `<plugin>_<action>`, e.g. `exec_command`.
    pub label: String,
    pub alias: Option<String>,
    pub plugin: String,
    pub action: String,
    /// Inputs known at creation time.
    pub inputs: IndexMap<String, Value>,
    /// Inputs the executor evaluates at run time.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub deferred_inputs: IndexMap<String, Deferred>,
    /// Where the block is in the template; not stored.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

impl Action {
    /// The name `action_outputs` uses for this action: its alias, else its label.
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.label)
    }
}

/// Settings of a nested or deployment pipeline node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineSpec {
    pub template_id: String,
    pub pipeline_type: String,
    pub environment: Option<String>,
    pub variables: Option<Expr>,
}

/// A task, nested pipeline or deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Stable address, as `action_outputs` spells it: `stage.dev.pre.task.check`.
    pub path: String,
    pub kind: NodeKind,
    /// The node's name; a deployment's name is its environment.
    pub name: String,
    pub section: Section,
    pub when: When,
    pub dependencies: Vec<String>,
    pub approval_rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
    /// Tags an agent must have to run this task (the task's own, else the template's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    pub actions: Vec<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnError>,
    /// Where the node's block starts in the source.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
    /// Spans of the `dependencies` entries, parallel to `dependencies`.
    #[serde(skip)]
    pub dependency_spans: Vec<Option<Range<usize>>>,
}

impl Node {
    /// The environment this node deploys into: a `deployment` pipeline
    /// node's (or a lifecycle deployment's) environment.
    pub fn deploys_to(&self) -> Option<&str> {
        self.pipeline
            .as_ref()
            .filter(|p| p.pipeline_type == "deployment")
            .and_then(|p| p.environment.as_deref())
    }
}

/// A stage and its three sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    pub pre: Vec<Node>,
    pub main: Vec<Node>,
    pub post: Vec<Node>,
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

impl Stage {
    pub fn section(&self, s: Section) -> &[Node] {
        match s {
            Section::Pre => &self.pre,
            Section::Main => &self.main,
            Section::Post => &self.post,
        }
    }

    /// Nodes in execution order: pre, main, post.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.pre.iter().chain(&self.main).chain(&self.post)
    }
}

/// A configured plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plugin {
    pub name: String,
    pub config: IndexMap<String, Expr>,
    /// Where the block is in the template; not stored.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

/// Where an external plugin comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginRequirement {
    pub name: String,
    pub source: String,
    pub version: Option<String>,
    pub replace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwt {
    pub name: String,
    pub audience: String,
    /// Where the block is in the template; not stored.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VcsOptions {
    pub provider_id: String,
    pub repository_path: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    #[serde(rename = "type")]
    pub volume_type: String,
    pub vcs_options: Option<VcsOptions>,
    /// Where the block is in the template; not stored.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VcsToken {
    pub name: String,
    pub provider_id: String,
    /// Where the block is in the template; not stored.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

/// A whole template, stages in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub kind: TemplateKind,
    pub variables: Vec<Variable>,
    pub stage_order: Option<Vec<String>>,
    /// Spans of the `stage_order` entries, parallel to it; not stored.
    #[serde(skip)]
    pub stage_order_spans: Vec<Option<Range<usize>>>,
    /// Default agent tags from the top-level `agent` block (pipelines only).
    pub agent_tags: Option<Vec<String>>,
    pub plugins: Vec<Plugin>,
    pub plugin_requirements: Vec<PluginRequirement>,
    pub jwts: Vec<Jwt>,
    pub volumes: Vec<Volume>,
    pub vcs_tokens: Vec<VcsToken>,
    pub stages: Vec<Stage>,
}
