//! Reads of the read models, as plain SQL beside the code that uses it.
//!
//! Lists are pages in creation order, with an opaque cursor
//! (`<created_at µs>:<id>`) for the API's Relay connections.

use chrono::{DateTime, Utc};
use phobos_commands::log::{read_positions, Position, RecordedEvent};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Row};
use uuid::Uuid;

use crate::QueryError;

/// A page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub first: Option<i64>,
    pub after: Option<String>,
}

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

pub(crate) fn cursor_of(created_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}:{}", created_at.timestamp_micros(), id)
}

pub(crate) fn parse_cursor(c: &str) -> Result<(DateTime<Utc>, Uuid), QueryError> {
    let bad = || {
        QueryError::BadCursor(format!(
            "{c:?} is not a cursor of this list: pass the cursor of an edge you received"
        ))
    };
    let (t, id) = c.split_once(':').ok_or_else(bad)?;
    let micros: i64 = t.parse().map_err(|_| bad())?;
    Ok((
        DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        Uuid::parse_str(id).map_err(|_| bad())?,
    ))
}

/// A condition on a column of a listed table.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    Eq(&'a str, Uuid),
    /// The column is one of these (an empty list matches nothing).
    In(&'a str, &'a [Uuid]),
    /// The column is null or one of these.
    NullOrIn(&'a str, &'a [Uuid]),
    /// A text column equals this.
    Text(&'a str, &'a str),
}

/// Which end of the creation order a page starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    OldestFirst,
    NewestFirst,
}

/// Runs `SELECT {columns} FROM {table} WHERE {filters…}` as a page.
async fn page<T>(
    pool: &PgPool,
    table: &str,
    columns: &str,
    filters: &[Filter<'_>],
    req: &PageRequest,
    map: impl Fn(&PgRow) -> Result<T, sqlx::Error>,
) -> Result<Page<T>, QueryError> {
    page_in(pool, table, columns, filters, Order::OldestFirst, req, map).await
}

/// [`page`] in either order.
async fn page_in<T>(
    pool: &PgPool,
    table: &str,
    columns: &str,
    filters: &[Filter<'_>],
    order: Order,
    req: &PageRequest,
    map: impl Fn(&PgRow) -> Result<T, sqlx::Error>,
) -> Result<Page<T>, QueryError> {
    let first = req.first.unwrap_or(DEFAULT_PAGE).clamp(0, MAX_PAGE);
    let after = req.after.as_deref().map(parse_cursor).transpose()?;
    let mut sql = format!("SELECT {columns} FROM {table} WHERE true");
    let mut n = 0;
    for f in filters {
        n += 1;
        match f {
            Filter::Eq(c, _) | Filter::Text(c, _) => sql.push_str(&format!(" AND {c} = ${n}")),
            Filter::In(c, _) => sql.push_str(&format!(" AND {c} = ANY(${n})")),
            Filter::NullOrIn(c, _) => {
                sql.push_str(&format!(" AND ({c} IS NULL OR {c} = ANY(${n}))"))
            }
        }
    }
    let (cmp, dir) = match order {
        Order::OldestFirst => (">", "ASC"),
        Order::NewestFirst => ("<", "DESC"),
    };
    if after.is_some() {
        sql.push_str(&format!(
            " AND (created_at, id) {cmp} (${}, ${})",
            n + 1,
            n + 2
        ));
        n += 2;
    }
    sql.push_str(&format!(
        " ORDER BY created_at {dir}, id {dir} LIMIT ${}",
        n + 1
    ));
    let mut q = sqlx::query(&sql);
    for f in filters {
        q = match f {
            Filter::Eq(_, v) => q.bind(*v),
            Filter::In(_, v) | Filter::NullOrIn(_, v) => q.bind(v.to_vec()),
            Filter::Text(_, v) => q.bind(*v),
        };
    }
    if let Some((t, id)) = after {
        q = q.bind(t).bind(id);
    }
    let rows = q.bind(first + 1).fetch_all(pool).await?;
    let has_next_page = rows.len() as i64 > first;
    let mut items = Vec::new();
    for r in rows.iter().take(first as usize) {
        let created_at: DateTime<Utc> = r.try_get("created_at")?;
        let id: Uuid = r.try_get("id")?;
        items.push((cursor_of(created_at, id), map(r)?));
    }
    Ok(Page {
        items,
        has_next_page,
    })
}

/// [`page`] of rows that map themselves.
pub(crate) async fn page_as<T>(
    pool: &PgPool,
    table: &str,
    columns: &str,
    filters: &[Filter<'_>],
    req: &PageRequest,
) -> Result<Page<T>, QueryError>
where
    T: for<'r> FromRow<'r, PgRow>,
{
    page(pool, table, columns, filters, req, |r| T::from_row(r)).await
}

/// One row of `table` by id.
async fn by_id<T>(
    pool: &PgPool,
    table: &str,
    columns: &str,
    id: Uuid,
    map: impl Fn(&PgRow) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, QueryError> {
    let r = sqlx::query(&format!("SELECT {columns} FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(r.as_ref().map(map).transpose()?)
}

/// The rows of `table` with these ids, in no order (for the API's loaders,
/// which batch the nested reads of one response).
async fn by_ids<T>(
    pool: &PgPool,
    table: &str,
    columns: &str,
    ids: &[Uuid],
    map: impl Fn(&PgRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, QueryError> {
    let rows = sqlx::query(&format!("SELECT {columns} FROM {table} WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(map).collect::<Result<_, sqlx::Error>>()?)
}

#[derive(Debug, Clone)]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const ORG_COLS: &str = "id, name, description, created_by, created_at";
fn org(r: &PgRow) -> Result<OrganizationRow, sqlx::Error> {
    Ok(OrganizationRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Organizations; `only`: just these (what a caller who is not an admin
/// may see).
pub async fn organizations(
    pool: &PgPool,
    only: Option<&[Uuid]>,
    req: &PageRequest,
) -> Result<Page<OrganizationRow>, QueryError> {
    let f: Vec<Filter> = only.map(|ids| Filter::In("id", ids)).into_iter().collect();
    page(pool, "organizations", ORG_COLS, &f, req, org).await
}

pub async fn organization(pool: &PgPool, id: Uuid) -> Result<Option<OrganizationRow>, QueryError> {
    by_id(pool, "organizations", ORG_COLS, id, org).await
}

/// The organizations with these ids (one query).
pub async fn organizations_by_ids(
    pool: &PgPool,
    ids: &[Uuid],
) -> Result<Vec<OrganizationRow>, QueryError> {
    by_ids(pool, "organizations", ORG_COLS, ids, org).await
}

#[derive(Debug, Clone)]
pub struct ProjectRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const PROJECT_COLS: &str =
    "id, organization_id, organization_name, name, description, created_by, created_at";
fn project_row(r: &PgRow) -> Result<ProjectRow, sqlx::Error> {
    Ok(ProjectRow {
        id: r.try_get("id")?,
        organization_id: r.try_get("organization_id")?,
        organization_name: r.try_get("organization_name")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// An organization's projects; `only`: just these.
pub async fn projects(
    pool: &PgPool,
    organization_id: Uuid,
    only: Option<&[Uuid]>,
    req: &PageRequest,
) -> Result<Page<ProjectRow>, QueryError> {
    let mut f = vec![Filter::Eq("organization_id", organization_id)];
    f.extend(only.map(|ids| Filter::In("id", ids)));
    page(pool, "projects", PROJECT_COLS, &f, req, project_row).await
}

pub async fn project(pool: &PgPool, id: Uuid) -> Result<Option<ProjectRow>, QueryError> {
    by_id(pool, "projects", PROJECT_COLS, id, project_row).await
}

/// The projects with these ids (one query).
pub async fn projects_by_ids(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<ProjectRow>, QueryError> {
    by_ids(pool, "projects", PROJECT_COLS, ids, project_row).await
}

#[derive(Debug, Clone)]
pub struct TemplateRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub object_key: String,
    pub sha256: String,
    pub size: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const TEMPLATE_COLS: &str =
    "id, project_id, name, object_key, sha256, size, created_by, created_at";
fn template_row(r: &PgRow) -> Result<TemplateRow, sqlx::Error> {
    Ok(TemplateRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        object_key: r.try_get("object_key")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn templates(
    pool: &PgPool,
    project_id: Uuid,
    req: &PageRequest,
) -> Result<Page<TemplateRow>, QueryError> {
    page(
        pool,
        "pipeline_templates",
        TEMPLATE_COLS,
        &[Filter::Eq("project_id", project_id)],
        req,
        template_row,
    )
    .await
}

pub async fn template(pool: &PgPool, id: Uuid) -> Result<Option<TemplateRow>, QueryError> {
    by_id(pool, "pipeline_templates", TEMPLATE_COLS, id, template_row).await
}

#[derive(Debug, Clone)]
pub struct PipelineRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub template_id: Uuid,
    pub status: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// RUNBOOK, NESTED or DEPLOYMENT.
    pub pipeline_type: String,
    pub parent_pipeline_id: Option<Uuid>,
    pub parent_node_path: Option<String>,
    pub environment_name: Option<String>,
    /// The cursor of the last event of its history (its own and its jobs')
    /// that the read models held when this row was read: the same
    /// statement reads both, so whatever is read after it is at least as
    /// new, and a subscription from it misses nothing.
    pub event_cursor: Option<String>,
}

const PIPELINE_COLS: &str =
    "id, project_id, template_id, status, created_by, created_at, started_at, finished_at, reason,
     pipeline_type, parent_pipeline_id, parent_node_path, environment_name,
     (SELECT i.tx_id::text || '.' || i.global_position FROM pipeline_event_index i
       WHERE i.pipeline_id = pipelines.id
       ORDER BY i.tx_id DESC, i.global_position DESC LIMIT 1) AS event_cursor";
fn pipeline_row(r: &PgRow) -> Result<PipelineRow, sqlx::Error> {
    Ok(PipelineRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        template_id: r.try_get("template_id")?,
        status: r.try_get("status")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        reason: r.try_get("reason")?,
        pipeline_type: r.try_get("pipeline_type")?,
        parent_pipeline_id: r.try_get("parent_pipeline_id")?,
        parent_node_path: r.try_get("parent_node_path")?,
        environment_name: r.try_get("environment_name")?,
        event_cursor: r.try_get("event_cursor")?,
    })
}

/// The deployments to environment `name` of a project, newest first.
pub async fn deployments(
    pool: &PgPool,
    project_id: Uuid,
    name: &str,
    req: &PageRequest,
) -> Result<Page<PipelineRow>, QueryError> {
    let first = req.first.unwrap_or(DEFAULT_PAGE).clamp(0, MAX_PAGE);
    let after = req.after.as_deref().map(parse_cursor).transpose()?;
    let rows = sqlx::query(&format!(
        "SELECT {PIPELINE_COLS} FROM pipelines
          WHERE project_id = $1 AND environment_name = $2 AND pipeline_type = 'DEPLOYMENT'
            AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
          ORDER BY created_at DESC, id DESC LIMIT $5"
    ))
    .bind(project_id)
    .bind(name)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(first + 1)
    .fetch_all(pool)
    .await?;
    let has_next_page = rows.len() as i64 > first;
    let mut items = Vec::new();
    for r in rows.iter().take(first as usize) {
        let row = pipeline_row(r)?;
        items.push((cursor_of(row.created_at, row.id), row));
    }
    Ok(Page {
        items,
        has_next_page,
    })
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnvironmentRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// `{"principals": [Member], "roles": [role]}`; None: unprotected.
    pub protection: Option<serde_json::Value>,
}

const ENVIRONMENT_COLS: &str =
    "id, project_id, name, description, created_by, created_at, protection";
fn environment_row(r: &PgRow) -> Result<EnvironmentRow, sqlx::Error> {
    EnvironmentRow::from_row(r)
}

/// A project's environments, oldest first.
pub async fn environments(
    pool: &PgPool,
    project_id: Uuid,
    req: &PageRequest,
) -> Result<Page<EnvironmentRow>, QueryError> {
    page(
        pool,
        "environments",
        ENVIRONMENT_COLS,
        &[Filter::Eq("project_id", project_id)],
        req,
        environment_row,
    )
    .await
}

pub async fn environment(pool: &PgPool, id: Uuid) -> Result<Option<EnvironmentRow>, QueryError> {
    by_id(pool, "environments", ENVIRONMENT_COLS, id, environment_row).await
}

/// A project's environment called `name`.
pub async fn environment_named(
    pool: &PgPool,
    project_id: Uuid,
    name: &str,
) -> Result<Option<EnvironmentRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {ENVIRONMENT_COLS} FROM environments WHERE project_id = $1 AND name = $2"
    ))
    .bind(project_id)
    .bind(name)
    .fetch_optional(pool)
    .await?)
}

/// Which of a project's pipelines to list (each `None` matches all).
#[derive(Debug, Clone, Default)]
pub struct PipelineFilter {
    /// A `PipelineStatus` name.
    pub status: Option<String>,
    /// A `PipelineType` name: `RUNBOOK`, `NESTED`, `DEPLOYMENT`, …
    pub pipeline_type: Option<String>,
    pub template_id: Option<Uuid>,
    pub environment_name: Option<String>,
    pub release_id: Option<Uuid>,
    /// An actor: `user:alice`.
    pub created_by: Option<String>,
    pub order: Order,
}

/// A project's pipelines that pass `filter`.
pub async fn pipelines(
    pool: &PgPool,
    project_id: Uuid,
    filter: &PipelineFilter,
    req: &PageRequest,
) -> Result<Page<PipelineRow>, QueryError> {
    pipelines_where(
        pool,
        Some(Filter::Eq("project_id", project_id)),
        filter,
        req,
    )
    .await
}

/// The pipelines of `projects` (None: of every project) that pass `filter`.
pub async fn pipelines_of_projects(
    pool: &PgPool,
    projects: Option<&[Uuid]>,
    filter: &PipelineFilter,
    req: &PageRequest,
) -> Result<Page<PipelineRow>, QueryError> {
    let scope = projects.map(|ids| Filter::In("project_id", ids));
    pipelines_where(pool, scope, filter, req).await
}

/// The projects of these organizations.
pub async fn projects_of_organizations(
    pool: &PgPool,
    organizations: &[Uuid],
) -> Result<Vec<Uuid>, QueryError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM projects WHERE organization_id = ANY($1)")
            .bind(organizations)
            .fetch_all(pool)
            .await?,
    )
}

async fn pipelines_where(
    pool: &PgPool,
    scope: Option<Filter<'_>>,
    filter: &PipelineFilter,
    req: &PageRequest,
) -> Result<Page<PipelineRow>, QueryError> {
    let mut filters: Vec<Filter<'_>> = scope.into_iter().collect();
    let text = [
        ("status", &filter.status),
        ("pipeline_type", &filter.pipeline_type),
        ("environment_name", &filter.environment_name),
        ("created_by", &filter.created_by),
    ];
    for (column, value) in &text {
        if let Some(v) = value {
            filters.push(Filter::Text(column, v));
        }
    }
    if let Some(t) = filter.template_id {
        filters.push(Filter::Eq("template_id", t));
    }
    if let Some(r) = filter.release_id {
        filters.push(Filter::Eq("release_id", r));
    }
    page_in(
        pool,
        "pipelines",
        PIPELINE_COLS,
        &filters,
        filter.order,
        req,
        pipeline_row,
    )
    .await
}

pub async fn pipeline(pool: &PgPool, id: Uuid) -> Result<Option<PipelineRow>, QueryError> {
    by_id(pool, "pipelines", PIPELINE_COLS, id, pipeline_row).await
}

/// The pipelines with these ids (one query).
pub async fn pipelines_by_ids(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<PipelineRow>, QueryError> {
    by_ids(pool, "pipelines", PIPELINE_COLS, ids, pipeline_row).await
}

#[derive(Debug, Clone)]
pub struct StageRow {
    pub name: String,
    pub status: String,
}

pub async fn stages(pool: &PgPool, pipeline_id: Uuid) -> Result<Vec<StageRow>, QueryError> {
    let rows = sqlx::query(
        "SELECT name, status FROM pipeline_stages WHERE pipeline_id = $1 ORDER BY position",
    )
    .bind(pipeline_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok(StageRow {
                name: r.try_get("name")?,
                status: r.try_get("status")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NodeRow {
    pub pipeline_id: Uuid,
    pub path: String,
    pub stage: String,
    pub section: String,
    pub kind: String,
    pub name: String,
    pub dependencies: Vec<String>,
    pub status: String,
    pub job_id: Option<Uuid>,
    pub reason: Option<String>,
    pub outputs: serde_json::Value,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub scheduled_start_time: Option<DateTime<Utc>>,
    pub child_pipeline_id: Option<Uuid>,
    /// core's `ApprovalState`, from when it entered APPROVAL_PENDING.
    pub approval: Option<serde_json::Value>,
    /// The environment the node deploys into, if it is a deployment.
    pub environment_name: Option<String>,
}

const NODE_SELECT: &str =
    "SELECT n.pipeline_id, n.path, n.stage, n.section, n.kind, n.name, n.dependencies, n.status,
        n.job_id, n.reason, n.outputs, n.started_at, n.finished_at, n.scheduled_start_time,
        n.child_pipeline_id, n.approval, n.environment_name
   FROM pipeline_nodes n";

pub async fn nodes(
    pool: &PgPool,
    pipeline_id: Uuid,
    stage: Option<&str>,
) -> Result<Vec<NodeRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "{NODE_SELECT} WHERE pipeline_id = $1 AND ($2::text IS NULL OR stage = $2) ORDER BY position"
    ))
    .bind(pipeline_id)
    .bind(stage)
    .fetch_all(pool)
    .await?)
}

/// One node of a pipeline, by path.
pub async fn node(
    pool: &PgPool,
    pipeline_id: Uuid,
    path: &str,
) -> Result<Option<NodeRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "{NODE_SELECT} WHERE pipeline_id = $1 AND path = $2"
    ))
    .bind(pipeline_id)
    .bind(path)
    .fetch_optional(pool)
    .await?)
}

/// Nodes by (pipeline, path), in no particular order; pairs that name no
/// node are left out.
pub async fn nodes_by_paths(
    pool: &PgPool,
    keys: &[(Uuid, String)],
) -> Result<Vec<NodeRow>, QueryError> {
    let (pipelines, paths): (Vec<Uuid>, Vec<String>) = keys.iter().cloned().unzip();
    Ok(sqlx::query_as(&format!(
        "{NODE_SELECT} WHERE (pipeline_id, path) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))"
    ))
    .bind(pipelines)
    .bind(paths)
    .fetch_all(pool)
    .await?)
}

/// The nodes whose runs jobs `job_ids` are, with each job's id.
pub async fn nodes_of_jobs(
    pool: &PgPool,
    job_ids: &[Uuid],
) -> Result<Vec<(Uuid, NodeRow)>, QueryError> {
    #[derive(sqlx::FromRow)]
    struct OfJob {
        run_by: Uuid,
        #[sqlx(flatten)]
        node: NodeRow,
    }
    let rows: Vec<OfJob> = sqlx::query_as(&format!(
        "{} JOIN jobs j ON j.pipeline_id = n.pipeline_id AND j.node_path = n.path WHERE j.id = ANY($1)",
        NODE_SELECT.replacen("SELECT ", "SELECT j.id AS run_by, ", 1)
    ))
    .bind(job_ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.run_by, r.node)).collect())
}

#[derive(Debug, Clone)]
pub struct AgentRow {
    pub id: Uuid,
    pub name: String,
    pub internal: bool,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_session_at: Option<DateTime<Utc>>,
    /// `ORGANIZATION` or `SHARED`.
    pub agent_type: String,
    pub organization_id: Option<Uuid>,
    pub run_untagged_jobs: bool,
    /// The path of the service account that signs in as it, if any.
    pub service_account_path: Option<String>,
}

impl AgentRow {
    /// What decides which jobs it may take.
    pub fn scope(&self) -> phobos_core::agent::AgentScope {
        use phobos_core::events::AgentType;
        phobos_core::agent::AgentScope {
            name: self.name.clone(),
            agent_type: if self.agent_type == "ORGANIZATION" {
                AgentType::Organization
            } else {
                AgentType::Shared
            },
            organization_id: self.organization_id.map(|o| o.to_string()),
            tags: self.tags.clone(),
            run_untagged_jobs: self.run_untagged_jobs,
        }
    }
}

const AGENT_COLS: &str = "id, name, internal, tags, created_at, last_session_at, agent_type, organization_id, run_untagged_jobs, service_account_path";
fn agent_row(r: &PgRow) -> Result<AgentRow, sqlx::Error> {
    Ok(AgentRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        internal: r.try_get("internal")?,
        tags: r.try_get("tags")?,
        created_at: r.try_get("created_at")?,
        last_session_at: r.try_get("last_session_at")?,
        agent_type: r.try_get("agent_type")?,
        organization_id: r.try_get("organization_id")?,
        run_untagged_jobs: r.try_get("run_untagged_jobs")?,
        service_account_path: r.try_get("service_account_path")?,
    })
}

/// The agent named `name` (agent names are unique).
pub async fn agent_by_name(pool: &PgPool, name: &str) -> Result<Option<AgentRow>, QueryError> {
    let sql = format!("SELECT {AGENT_COLS} FROM agents WHERE name = $1");
    let row = sqlx::query(&sql).bind(name).fetch_optional(pool).await?;
    Ok(row.as_ref().map(agent_row).transpose()?)
}

/// The agent whose credential has this SHA-256.
pub async fn agent_by_token(
    pool: &PgPool,
    token_sha256: &str,
) -> Result<Option<AgentRow>, QueryError> {
    let sql = format!(
        "SELECT {} FROM agents WHERE id = (SELECT agent_id FROM agent_tokens WHERE token_sha256 = $1)",
        AGENT_COLS
    );
    let row = sqlx::query(&sql)
        .bind(token_sha256)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(agent_row).transpose()?)
}

/// The organization of a project.
pub async fn project_organization(
    pool: &PgPool,
    project_id: Uuid,
) -> Result<Option<Uuid>, QueryError> {
    Ok(
        sqlx::query_scalar("SELECT organization_id FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Agents; `organizations`: only shared ones and those of these
/// organizations.
pub async fn agents(
    pool: &PgPool,
    organizations: Option<&[Uuid]>,
    req: &PageRequest,
) -> Result<Page<AgentRow>, QueryError> {
    let f: Vec<Filter> = organizations
        .map(|ids| Filter::NullOrIn("organization_id", ids))
        .into_iter()
        .collect();
    page(pool, "agents", AGENT_COLS, &f, req, agent_row).await
}

pub async fn agent(pool: &PgPool, id: Uuid) -> Result<Option<AgentRow>, QueryError> {
    by_id(pool, "agents", AGENT_COLS, id, agent_row).await
}

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: Uuid,
    pub pipeline_id: Uuid,
    pub project_id: Uuid,
    pub node_path: String,
    pub status: String,
    pub tags: Vec<String>,
    pub agent_id: Option<Uuid>,
    pub message: Option<String>,
    pub outputs: serde_json::Value,
    pub queued_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub(crate) const JOB_COLS: &str =
    "id, pipeline_id, project_id, node_path, status, tags, agent_id, message, outputs, queued_at, claimed_at, started_at, finished_at";
pub(crate) fn job_row(r: &PgRow) -> Result<JobRow, sqlx::Error> {
    Ok(JobRow {
        id: r.try_get("id")?,
        pipeline_id: r.try_get("pipeline_id")?,
        project_id: r.try_get("project_id")?,
        node_path: r.try_get("node_path")?,
        status: r.try_get("status")?,
        tags: r.try_get("tags")?,
        agent_id: r.try_get("agent_id")?,
        message: r.try_get("message")?,
        outputs: r.try_get("outputs")?,
        queued_at: r.try_get("queued_at")?,
        claimed_at: r.try_get("claimed_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

pub async fn job(pool: &PgPool, id: Uuid) -> Result<Option<JobRow>, QueryError> {
    by_id(pool, "jobs", JOB_COLS, id, job_row).await
}

pub async fn jobs_of_pipeline(pool: &PgPool, pipeline_id: Uuid) -> Result<Vec<JobRow>, QueryError> {
    let rows = sqlx::query(&format!(
        "SELECT {JOB_COLS} FROM jobs WHERE pipeline_id = $1 ORDER BY queued_at, id"
    ))
    .bind(pipeline_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(job_row)
        .collect::<Result<_, sqlx::Error>>()?)
}

/// The jobs of these pipelines (one query), each pipeline's in the order
/// of [`jobs_of_pipeline`].
pub async fn jobs_of_pipelines(
    pool: &PgPool,
    pipeline_ids: &[Uuid],
) -> Result<Vec<JobRow>, QueryError> {
    let rows = sqlx::query(&format!(
        "SELECT {JOB_COLS} FROM jobs WHERE pipeline_id = ANY($1) ORDER BY queued_at, id"
    ))
    .bind(pipeline_ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(job_row)
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Jobs queued and not claimed, oldest first (what an agent that connects
/// is offered before new ones).
pub async fn queued_jobs(pool: &PgPool, limit: i64) -> Result<Vec<JobRow>, QueryError> {
    let rows = sqlx::query(&format!(
        "SELECT {JOB_COLS} FROM jobs WHERE status = 'QUEUED' ORDER BY queued_at, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(job_row)
        .collect::<Result<_, sqlx::Error>>()?)
}

/// A job's log from byte `offset`: the bytes stored contiguously from there
/// (stops at the first hole), and the offset after them.
pub async fn job_log(
    pool: &PgPool,
    job_id: Uuid,
    offset: i64,
    limit: i64,
) -> Result<(Vec<u8>, i64), QueryError> {
    let rows = sqlx::query(
        "SELECT byte_offset, data FROM job_log_chunks
          WHERE job_id = $1 AND byte_offset + length(data) > $2 ORDER BY byte_offset LIMIT $3",
    )
    .bind(job_id)
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::new();
    let mut at = offset;
    for r in rows {
        let start: i64 = r.try_get("byte_offset")?;
        let data: Vec<u8> = r.try_get("data")?;
        if start > at {
            break;
        }
        let skip = (at - start) as usize;
        if skip < data.len() {
            out.extend_from_slice(&data[skip..]);
            at = start + data.len() as i64;
        }
    }
    Ok((out, at))
}

/// Where a job's log ends, once its executor reported the final status
/// with every byte of the log stored; `None` before that, and for a job
/// that ended without its executor.
pub async fn job_log_end(pool: &PgPool, job_id: Uuid) -> Result<Option<i64>, QueryError> {
    Ok(
        sqlx::query_scalar("SELECT length FROM job_log_ends WHERE job_id = $1")
            .bind(job_id)
            .fetch_optional(pool)
            .await?,
    )
}

/// A pipeline's history after `after` (its own events and its jobs'), in
/// global order, as far as the projection has indexed it.
pub async fn pipeline_events(
    pool: &PgPool,
    pipeline_id: Uuid,
    after: Position,
    limit: i64,
) -> Result<Vec<RecordedEvent>, QueryError> {
    let rows = sqlx::query(
        "SELECT tx_id::text AS tx_text, global_position FROM pipeline_event_index
          WHERE pipeline_id = $1 AND (tx_id, global_position) > ($2::text::xid8, $3)
          ORDER BY tx_id, global_position LIMIT $4",
    )
    .bind(pipeline_id)
    .bind(after.tx_id.to_string())
    .bind(after.global_position)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let positions = rows
        .iter()
        .map(Position::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    read_positions(pool, &positions).await.map_err(|e| match e {
        phobos_commands::error::LogError::Database(d) => QueryError::Database(d),
        other => QueryError::BadCursor(other.to_string()),
    })
}

/// For a job waiting for an agent (tags `tags`, a project of organization
/// `organization_id`): what it waits for, when no agent that may run it is
/// connected (heartbeated within `live_seconds`). `None` when one is.
pub async fn waiting_for_agent(
    pool: &PgPool,
    tags: &[String],
    organization_id: Uuid,
    live_seconds: u32,
    now: DateTime<Utc>,
) -> Result<Option<String>, QueryError> {
    let sql = format!(
        "SELECT {AGENT_COLS}, EXISTS (SELECT 1 FROM agent_session_heartbeats h
                 WHERE h.agent_id = agents.id
                   AND h.last_heartbeat_at > $2 - make_interval(secs => $1)) AS connected
           FROM agents"
    );
    let rows = sqlx::query(&sql)
        .bind(f64::from(live_seconds))
        .bind(now)
        .fetch_all(pool)
        .await?;
    let org = organization_id.to_string();
    let mut able = Vec::new();
    for r in &rows {
        let agent = agent_row(r)?;
        if agent.scope().may_run(tags, &org).is_ok() {
            if r.try_get::<bool, _>("connected")? {
                return Ok(None);
            }
            able.push(agent.name);
        }
    }
    let wanted = if tags.is_empty() {
        "waiting for an agent that runs untagged jobs".to_string()
    } else {
        format!("waiting for an agent with tags {tags:?}")
    };
    Ok(Some(if able.is_empty() {
        format!("{wanted}: none is registered (create one with createAgent, or change an agent's tags or runUntaggedJobs with updateAgent)")
    } else {
        format!(
            "{wanted}: none is connected (agents that may run it: {})",
            able.join(", ")
        )
    }))
}
