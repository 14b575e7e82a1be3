//! DataLoaders: fields nested in a list (each node's attempts and child
//! pipeline, each job's project, each agent's organization) read once per
//! response for all the parents in it, not once per parent.
//!
//! Invariant: a loader only reads rows under a parent the services already
//! let the caller see (objects nested under a project are built only from a
//! project the caller sees, `service/reads.rs`); it never decides what a
//! caller may see. One [`DataLoader`] per request (`http.rs`), so nothing
//! is cached across requests or callers.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use phobos_projections::queries::{self, JobRow, NodeRow, PipelineRow, ProjectRow};
use phobos_projections::QueryError;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

/// The read models, batched.
pub struct Reads(PgPool);

/// A request's loader. Batches run in the request's span, so their queries
/// are traced with it.
pub fn for_request(pool: PgPool) -> DataLoader<Reads> {
    DataLoader::new(Reads(pool), |batch| {
        tokio::spawn(batch.instrument(tracing::Span::current()))
    })
}

/// An organization's name, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganizationName(pub Uuid);
/// A project, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProjectById(pub Uuid);
/// A pipeline, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PipelineById(pub Uuid);
/// The release whose lifecycle pipeline this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReleaseOfPipeline(pub Uuid);
/// Who started a pipeline (`phobos_projections::activity::starters`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StarterOfPipeline(pub Uuid);
/// A pipeline's jobs, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobsOfPipeline(pub Uuid);

/// A node, by pipeline and path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeByPath(pub Uuid, pub String);
/// The node whose run a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeOfJob(pub Uuid);

type Failed = Arc<QueryError>;

impl Loader<OrganizationName> for Reads {
    type Value = String;
    type Error = Failed;
    async fn load(
        &self,
        keys: &[OrganizationName],
    ) -> Result<HashMap<OrganizationName, String>, Failed> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(queries::organizations_by_ids(&self.0, &ids)
            .await?
            .into_iter()
            .map(|o| (OrganizationName(o.id), o.name))
            .collect())
    }
}

impl Loader<ProjectById> for Reads {
    type Value = ProjectRow;
    type Error = Failed;
    async fn load(&self, keys: &[ProjectById]) -> Result<HashMap<ProjectById, ProjectRow>, Failed> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(queries::projects_by_ids(&self.0, &ids)
            .await?
            .into_iter()
            .map(|p| (ProjectById(p.id), p))
            .collect())
    }
}

impl Loader<PipelineById> for Reads {
    type Value = PipelineRow;
    type Error = Failed;
    async fn load(
        &self,
        keys: &[PipelineById],
    ) -> Result<HashMap<PipelineById, PipelineRow>, Failed> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(queries::pipelines_by_ids(&self.0, &ids)
            .await?
            .into_iter()
            .map(|p| (PipelineById(p.id), p))
            .collect())
    }
}

impl Loader<ReleaseOfPipeline> for Reads {
    type Value = phobos_projections::releases::ReleaseRow;
    type Error = Failed;
    async fn load(
        &self,
        keys: &[ReleaseOfPipeline],
    ) -> Result<HashMap<ReleaseOfPipeline, Self::Value>, Failed> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(
            phobos_projections::releases::releases_of_pipelines(&self.0, &ids)
                .await?
                .into_iter()
                .map(|r| (ReleaseOfPipeline(r.pipeline_id), r))
                .collect(),
        )
    }
}

impl Loader<StarterOfPipeline> for Reads {
    type Value = String;
    type Error = Failed;
    async fn load(
        &self,
        keys: &[StarterOfPipeline],
    ) -> Result<HashMap<StarterOfPipeline, String>, Failed> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(phobos_projections::activity::starters(&self.0, &ids)
            .await?
            .into_iter()
            .map(|(id, actor)| (StarterOfPipeline(id), actor))
            .collect())
    }
}

impl Loader<JobsOfPipeline> for Reads {
    type Value = Vec<JobRow>;
    type Error = Failed;
    async fn load(
        &self,
        keys: &[JobsOfPipeline],
    ) -> Result<HashMap<JobsOfPipeline, Vec<JobRow>>, Failed> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        // Every key gets a list, empty when the pipeline has no jobs.
        let mut out: HashMap<JobsOfPipeline, Vec<JobRow>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for job in queries::jobs_of_pipelines(&self.0, &ids).await? {
            out.entry(JobsOfPipeline(job.pipeline_id))
                .or_default()
                .push(job);
        }
        Ok(out)
    }
}

impl Loader<NodeByPath> for Reads {
    type Value = NodeRow;
    type Error = Failed;
    async fn load(&self, keys: &[NodeByPath]) -> Result<HashMap<NodeByPath, NodeRow>, Failed> {
        let pairs: Vec<(Uuid, String)> = keys.iter().map(|k| (k.0, k.1.clone())).collect();
        Ok(queries::nodes_by_paths(&self.0, &pairs)
            .await?
            .into_iter()
            .map(|n| (NodeByPath(n.pipeline_id, n.path.clone()), n))
            .collect())
    }
}

impl Loader<NodeOfJob> for Reads {
    type Value = NodeRow;
    type Error = Failed;
    async fn load(&self, keys: &[NodeOfJob]) -> Result<HashMap<NodeOfJob, NodeRow>, Failed> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        Ok(queries::nodes_of_jobs(&self.0, &ids)
            .await?
            .into_iter()
            .map(|(job, n)| (NodeOfJob(job), n))
            .collect())
    }
}

/// Pipeline `id` with its project, batched: a pipeline nested under one
/// the caller sees (a node's child, a release's pipelines), which is in the
/// same project.
pub async fn pipeline(
    ctx: &async_graphql::Context<'_>,
    id: Uuid,
) -> async_graphql::Result<Option<super::types::Pipeline>> {
    let Some(p) = reads(ctx)
        .load_one(PipelineById(id))
        .await
        .map_err(failed)?
    else {
        return Ok(None);
    };
    let project = reads(ctx)
        .load_one(ProjectById(p.project_id))
        .await
        .map_err(failed)?;
    Ok(project.map(|project| super::types::Pipeline(p, project)))
}

/// The request's loader.
pub fn reads<'a>(ctx: &async_graphql::Context<'a>) -> &'a DataLoader<Reads> {
    ctx.data_unchecked::<DataLoader<Reads>>()
}

/// A loader's failure as a GraphQL error (the service layer's mapping).
pub fn failed(e: Failed) -> async_graphql::Error {
    match Arc::try_unwrap(e) {
        Ok(e) => super::gql_err(e),
        Err(shared) => super::gql_err(QueryError::Database(sqlx::Error::Protocol(format!(
            "{shared}"
        )))),
    }
}
