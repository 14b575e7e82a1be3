//! Pipeline graphs, kept decoded between commands.
//!
//! A pipeline's graph never changes after `PipelineCreated`, and a snapshot
//! leaves it out (see `PipelineRun::graph`), so a command on a pipeline
//! restored from a snapshot takes the graph from here: decoded once per
//! process, not once per command.

use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use phobos_core::events::{aggregate, PipelineEvent};
use phobos_core::template::ExecutionGraph;
use sqlx::PgPool;

/// How many graphs stay decoded; the least recently used goes first.
const CAPACITY: usize = 256;

/// Decoded graphs by pipeline id.
#[derive(Debug)]
pub struct GraphCache {
    pool: Option<PgPool>,
    graphs: Mutex<IndexMap<String, Arc<ExecutionGraph>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("reading the graph of pipeline {0}: {1}")]
    Store(String, sqlx::Error),
    #[error("pipeline {0} has no PipelineCreated event to read its graph from")]
    Missing(String),
    #[error("the PipelineCreated event of pipeline {0} does not decode: {1}")]
    Corrupt(String, serde_json::Error),
}

impl GraphCache {
    /// A cache that reads missing graphs from `pool`'s event log.
    pub fn new(pool: PgPool) -> Self {
        GraphCache {
            pool: Some(pool),
            graphs: Mutex::default(),
        }
    }

    /// A cache with no log behind it (aggregates that never lose a graph).
    pub fn detached() -> Self {
        GraphCache {
            pool: None,
            graphs: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IndexMap<String, Arc<ExecutionGraph>>> {
        self.graphs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers `graph` for `pipeline_id` (a run replayed from its events).
    pub fn remember(&self, pipeline_id: &str, graph: &Arc<ExecutionGraph>) {
        let mut graphs = self.lock();
        if graphs.shift_remove(pipeline_id).is_none() && graphs.len() >= CAPACITY {
            graphs.shift_remove_index(0);
        }
        graphs.insert(pipeline_id.to_string(), graph.clone());
    }

    /// The graph of `pipeline_id`: from memory, else decoded from its first
    /// event.
    pub async fn get(&self, pipeline_id: &str) -> Result<Arc<ExecutionGraph>, GraphError> {
        let hit = self.lock().get(pipeline_id).cloned();
        if let Some(g) = hit {
            self.remember(pipeline_id, &g);
            return Ok(g);
        }
        let Some(pool) = &self.pool else {
            return Err(GraphError::Missing(pipeline_id.to_string()));
        };
        let payload: Option<serde_json::Value> = sqlx::query_scalar(
            "SELECT payload FROM events
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = 1",
        )
        .bind(aggregate::PIPELINE)
        .bind(pipeline_id)
        .fetch_optional(pool)
        .await
        .map_err(|e| GraphError::Store(pipeline_id.to_string(), e))?;
        let payload = payload.ok_or_else(|| GraphError::Missing(pipeline_id.to_string()))?;
        let event: PipelineEvent = serde_json::from_value(payload)
            .map_err(|e| GraphError::Corrupt(pipeline_id.to_string(), e))?;
        let PipelineEvent::PipelineCreated { graph, .. } = event else {
            return Err(GraphError::Missing(pipeline_id.to_string()));
        };
        let graph = Arc::new(*graph);
        self.remember(pipeline_id, &graph);
        Ok(graph)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_graph_goes_first() {
        let cache = GraphCache::detached();
        use phobos_core::template::{compile, CompileOptions, TemplateKind};
        let opts = CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH);
        let compiled = compile("stage \"s\" {\n  task \"t\" {}\n}\n", &opts).unwrap();
        let g = Arc::new(compiled.graph);
        for i in 0..CAPACITY {
            cache.remember(&i.to_string(), &g);
        }
        cache.remember("0", &g); // used again: now the newest
        cache.remember("new", &g);
        let graphs = cache.lock();
        assert_eq!(graphs.len(), CAPACITY);
        assert!(graphs.contains_key("0"));
        assert!(!graphs.contains_key("1"));
        assert!(graphs.contains_key("new"));
    }
}
