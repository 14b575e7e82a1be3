//! Reads of release lifecycles and releases.

use chrono::{DateTime, Utc};
use phobos_core::events::{ReleaseDeploymentTemplate, ReleaseVariable};
use sqlx::{FromRow, PgPool, Row};
use uuid::Uuid;

use crate::queries::{cursor_of, parse_cursor, Page, PageRequest};
use crate::QueryError;

#[derive(Debug, Clone, FromRow)]
pub struct ReleaseLifecycleRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub path: String,
    pub name: String,
    /// Its newest template version.
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version of a lifecycle's template.
#[derive(Debug, Clone, FromRow)]
pub struct LifecycleVersionRow {
    pub lifecycle_id: Uuid,
    pub version: i32,
    pub object_key: String,
    pub sha256: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const LC_COLS: &str =
    "id, organization_id, project_id, path, name, version, created_by, created_at, updated_at";

pub async fn release_lifecycle(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<ReleaseLifecycleRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {LC_COLS} FROM release_lifecycles WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The lifecycles of an organization (`project_id` None) or of a project,
/// by name.
pub async fn release_lifecycles(
    pool: &PgPool,
    organization_id: Uuid,
    project_id: Option<Uuid>,
) -> Result<Vec<ReleaseLifecycleRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {LC_COLS} FROM release_lifecycles WHERE organization_id = $1 AND project_id IS NOT DISTINCT FROM $2 ORDER BY name"
    ))
    .bind(organization_id)
    .bind(project_id)
    .fetch_all(pool)
    .await?)
}

pub async fn lifecycle_version(
    pool: &PgPool,
    lifecycle_id: Uuid,
    version: i32,
) -> Result<Option<LifecycleVersionRow>, QueryError> {
    Ok(sqlx::query_as(
        "SELECT lifecycle_id, version, object_key, sha256, created_by, created_at
           FROM release_lifecycle_versions WHERE lifecycle_id = $1 AND version = $2",
    )
    .bind(lifecycle_id)
    .bind(version)
    .fetch_optional(pool)
    .await?)
}

#[derive(Debug, Clone)]
pub struct ReleaseRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub lifecycle_id: Uuid,
    pub lifecycle_version: i32,
    pub semantic_version: String,
    pub pipeline_id: Uuid,
    pub deployment_templates: Vec<ReleaseDeploymentTemplate>,
    pub variables: Vec<ReleaseVariable>,
    pub due_date: Option<DateTime<Utc>>,
    pub notes: String,
    pub pre_release: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who takes part: users and teams.
    pub participants: Vec<phobos_core::access::Member>,
    /// Its lifecycle pipeline's status (`CREATED` until the policy has
    /// created the pipeline).
    pub status: String,
}

fn json<T: serde::de::DeserializeOwned>(
    r: &sqlx::postgres::PgRow,
    column: &str,
) -> Result<T, sqlx::Error> {
    let v: serde_json::Value = r.try_get(column)?;
    serde_json::from_value(v).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.into(),
        source: Box::new(e),
    })
}

impl<'r> FromRow<'r, sqlx::postgres::PgRow> for ReleaseRow {
    fn from_row(r: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        Ok(ReleaseRow {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            lifecycle_id: r.try_get("lifecycle_id")?,
            lifecycle_version: r.try_get("lifecycle_version")?,
            semantic_version: r.try_get("semantic_version")?,
            pipeline_id: r.try_get("pipeline_id")?,
            deployment_templates: json(r, "deployment_templates")?,
            variables: json(r, "variables")?,
            due_date: r.try_get("due_date")?,
            notes: r.try_get("notes")?,
            pre_release: r.try_get("pre_release")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            participants: json(r, "participants")?,
            status: r.try_get("status")?,
        })
    }
}

pub(crate) const RELEASE_SELECT: &str =
    "SELECT r.id, r.project_id, r.lifecycle_id, r.lifecycle_version, r.semantic_version,
        r.pipeline_id, r.deployment_templates, r.variables, r.due_date, r.notes, r.pre_release,
        r.created_by, r.created_at, r.updated_at, r.participants, COALESCE(p.status, 'CREATED') AS status
   FROM releases r LEFT JOIN pipelines p ON p.id = r.pipeline_id";

pub async fn release(pool: &PgPool, id: Uuid) -> Result<Option<ReleaseRow>, QueryError> {
    Ok(sqlx::query_as(&format!("{RELEASE_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// The release whose lifecycle pipeline is `pipeline_id`.
pub async fn release_of_pipeline(
    pool: &PgPool,
    pipeline_id: Uuid,
) -> Result<Option<ReleaseRow>, QueryError> {
    Ok(
        sqlx::query_as(&format!("{RELEASE_SELECT} WHERE r.pipeline_id = $1"))
            .bind(pipeline_id)
            .fetch_optional(pool)
            .await?,
    )
}

/// The release whose deployment to environment `name` of the project
/// succeeded last: what that environment runs now.
pub async fn current_release(
    pool: &PgPool,
    project_id: Uuid,
    name: &str,
) -> Result<Option<ReleaseRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "{RELEASE_SELECT} WHERE r.pipeline_id = (
            SELECT d.parent_pipeline_id FROM pipelines d JOIN releases x ON x.pipeline_id = d.parent_pipeline_id
             WHERE d.project_id = $1 AND d.environment_name = $2 AND d.pipeline_type = 'DEPLOYMENT'
               AND d.status = 'SUCCEEDED'
             ORDER BY d.finished_at DESC NULLS LAST, d.created_at DESC LIMIT 1)"
    ))
    .bind(project_id)
    .bind(name)
    .fetch_optional(pool)
    .await?)
}

/// The releases whose lifecycle pipelines are these (one query).
pub async fn releases_of_pipelines(
    pool: &PgPool,
    pipeline_ids: &[Uuid],
) -> Result<Vec<ReleaseRow>, QueryError> {
    Ok(
        sqlx::query_as(&format!("{RELEASE_SELECT} WHERE r.pipeline_id = ANY($1)"))
            .bind(pipeline_ids)
            .fetch_all(pool)
            .await?,
    )
}

/// A project's releases, newest first.
pub async fn releases(
    pool: &PgPool,
    project_id: Uuid,
    req: &PageRequest,
) -> Result<Page<ReleaseRow>, QueryError> {
    let first = req.first.unwrap_or(50).clamp(0, 500);
    let after = req.after.as_deref().map(parse_cursor).transpose()?;
    let (t, id) = after.unwrap_or((DateTime::<Utc>::MAX_UTC, Uuid::max()));
    let rows: Vec<ReleaseRow> = sqlx::query_as(&format!(
        "{RELEASE_SELECT} WHERE r.project_id = $1 AND (r.created_at, r.id) < ($2, $3)
          ORDER BY r.created_at DESC, r.id DESC LIMIT $4"
    ))
    .bind(project_id)
    .bind(t)
    .bind(id)
    .bind(first + 1)
    .fetch_all(pool)
    .await?;
    let has_next_page = rows.len() as i64 > first;
    Ok(Page {
        items: rows
            .into_iter()
            .take(first as usize)
            .map(|r| (cursor_of(r.created_at, r.id), r))
            .collect(),
        has_next_page,
    })
}
