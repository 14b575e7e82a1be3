//! Building the child of a nested or deployment pipeline node. The policy
//! worker needs the template store and the compiler for it, which live
//! outside this crate: the server gives it an implementation of
//! [`ChildPipelines`].

use chrono::{DateTime, Utc};
use phobos_core::events::ChildSpec;
use phobos_core::template::ExecutionGraph;

/// What to build: the child `spec` of the node at `node_path` of pipeline
/// `parent_id`, in project `project_id`.
#[derive(Debug, Clone, Copy)]
pub struct ChildRequest<'a> {
    pub project_id: &'a str,
    pub parent_id: &'a str,
    pub node_path: &'a str,
    pub spec: &'a ChildSpec,
}

/// A child pipeline ready to be created.
#[derive(Debug, Clone)]
pub struct BuiltChild {
    /// The template's id (its reference resolved).
    pub template_id: String,
    pub graph: ExecutionGraph,
    /// What `timestamp()` returned while it was compiled.
    pub created_at: DateTime<Utc>,
}

/// Why a child was not built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChildRefused {
    /// The child cannot be built as asked (no such template, variables
    /// that do not fit, a feature the server cannot run): the node fails
    /// with this message.
    #[error("{0}")]
    Refused(String),
    /// Try again later (the template store is unreachable).
    #[error("{0}")]
    Unavailable(String),
}

/// Builds child pipelines.
#[async_trait::async_trait]
pub trait ChildPipelines: Send + Sync {
    async fn build(&self, req: ChildRequest<'_>) -> Result<BuiltChild, ChildRefused>;
}
