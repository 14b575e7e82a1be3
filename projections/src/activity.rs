//! The activity feed: who did what to which resource, and when, folded
//! from the log by the projector (in its batch transaction, so each event
//! is considered once) into the `activity` table.
//!
//! An event is an action when a person, a service account or the server
//! did something a release engineer asks about afterwards: created,
//! updated, started, approved, rejected, canceled, retried, deployed,
//! failed. The bookkeeping events around it (a node becoming BLOCKED, a
//! stage starting) are not. One command that appends several events of
//! the same action on one resource (a cancel that cancels a node and
//! requests its job's cancellation) is one row: rows are unique per
//! transaction, resource, subject and action.

use chrono::{DateTime, Utc};
use phobos_commands::error::LogError;
use phobos_commands::log::{Position, RecordedEvent};
use phobos_core::events::aggregate;
use phobos_core::events::{
    ApprovalRuleEvent, EnvironmentEvent, MembershipEvent, OrganizationEvent, PipelineEvent,
    PipelineTemplateEvent, ProjectEvent, ReleaseEvent, ReleaseLifecycleEvent,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::queries::{Page, PageRequest};
use crate::QueryError;

macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// As stored in the `activity` table.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }
        }
    };
}

names!(
    /// What was done.
    ActivityAction {
        Created => "CREATED",
        Updated => "UPDATED",
        Deleted => "DELETED",
        Started => "STARTED",
        Approved => "APPROVED",
        ApprovalRevoked => "APPROVAL_REVOKED",
        Rejected => "REJECTED",
        ApprovalOverridden => "APPROVAL_OVERRIDDEN",
        Canceled => "CANCELED",
        Retried => "RETRIED",
        ScheduleUpdated => "SCHEDULE_UPDATED",
        Deployed => "DEPLOYED",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
    }
);

names!(
    /// What it was done to.
    ActivityResource {
        Organization => "ORGANIZATION",
        Project => "PROJECT",
        Membership => "MEMBERSHIP",
        PipelineTemplate => "PIPELINE_TEMPLATE",
        Pipeline => "PIPELINE",
        PipelineNode => "PIPELINE_NODE",
        Deployment => "DEPLOYMENT",
        Environment => "ENVIRONMENT",
        ReleaseLifecycle => "RELEASE_LIFECYCLE",
        Release => "RELEASE",
        ApprovalRule => "APPROVAL_RULE",
    }
);

/// An action found in an event, before its scope is looked up.
struct Found {
    action: ActivityAction,
    resource: ActivityResource,
    subject: Option<String>,
    at: DateTime<Utc>,
    comment: Option<String>,
}

fn found(
    action: ActivityAction,
    resource: ActivityResource,
    subject: Option<String>,
    at: DateTime<Utc>,
) -> Option<Found> {
    Some(Found {
        action,
        resource,
        subject,
        at,
        comment: None,
    })
}

fn commented(f: Option<Found>, comment: String) -> Option<Found> {
    f.map(|f| Found {
        comment: Some(comment),
        ..f
    })
}

/// Where a resource is: its organization, project and release.
type Scope = (Uuid, Option<Uuid>, Option<Uuid>);

/// Records the action `ev` is, if it is one. Runs after the read models
/// took `ev`, so the rows it looks its scope up in exist.
pub(crate) async fn record(tx: &mut PgConnection, ev: &RecordedEvent) -> Result<(), LogError> {
    let command = ev.metadata.get("command").map(String::as_str).unwrap_or("");
    let Some((mut f, scope_sql)) = action_of(ev, command)? else {
        return Ok(());
    };
    if f.resource == ActivityResource::Pipeline {
        // A deployment pipeline's start and end are its deployment's.
        let env: Option<String> = sqlx::query_scalar(
            "SELECT environment_name FROM pipelines WHERE id = $1::uuid AND pipeline_type = 'DEPLOYMENT'",
        )
        .bind(&ev.aggregate_id)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        if let Some(env) = env {
            f.resource = ActivityResource::Deployment;
            f.subject = Some(env);
            if f.action == ActivityAction::Succeeded {
                f.action = ActivityAction::Deployed;
            }
        }
    }
    let Some(scope) = scope_of(tx, scope_sql, &ev.aggregate_id).await? else {
        // A resource whose scope the read models do not have (it cannot
        // happen for events the aggregates wrote in order); nothing to show.
        tracing::warn!(aggregate = %ev.aggregate_type, id = %ev.aggregate_id, "activity without a scope");
        return Ok(());
    };
    let actor = ev.metadata.get("actor").cloned().unwrap_or_default();
    let details = match f.comment {
        Some(c) => serde_json::json!({ "comment": c }),
        None => serde_json::json!({}),
    };
    sqlx::query(
        "INSERT INTO activity (tx_id, global_position, at, actor, action, resource_type, resource_id, subject,
                               organization_id, project_id, release_id, details)
         SELECT $1::text::xid8, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
          WHERE NOT EXISTS (SELECT 1 FROM activity WHERE tx_id = $1::text::xid8 AND resource_id = $7
                               AND subject IS NOT DISTINCT FROM $8 AND action = $5)",
    )
    .bind(ev.position.tx_id.to_string())
    .bind(ev.position.global_position)
    .bind(f.at)
    .bind(actor)
    .bind(f.action.as_str())
    .bind(f.resource.as_str())
    .bind(&ev.aggregate_id)
    .bind(f.subject)
    .bind(scope.0)
    .bind(scope.1)
    .bind(scope.2)
    .bind(details)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The scope of an aggregate, by the SQL that reads it from its row
/// (`$1`: the aggregate id as text).
async fn scope_of(
    tx: &mut PgConnection,
    sql: &str,
    aggregate_id: &str,
) -> Result<Option<Scope>, LogError> {
    let row = sqlx::query(sql)
        .bind(aggregate_id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(match row {
        Some(r) => Some((
            r.try_get("organization_id")?,
            r.try_get("project_id")?,
            r.try_get("release_id")?,
        )),
        None => None,
    })
}

const ORGANIZATION_SCOPE: &str =
    "SELECT id AS organization_id, NULL::uuid AS project_id, NULL::uuid AS release_id
       FROM organizations WHERE id = $1::uuid";
const PROJECT_SCOPE: &str = "SELECT organization_id, id AS project_id, NULL::uuid AS release_id
       FROM projects WHERE id = $1::uuid";
const TEMPLATE_SCOPE: &str =
    "SELECT p.organization_id, p.id AS project_id, NULL::uuid AS release_id
       FROM pipeline_templates t JOIN projects p ON p.id = t.project_id WHERE t.id = $1::uuid";
const ENVIRONMENT_SCOPE: &str =
    "SELECT p.organization_id, p.id AS project_id, NULL::uuid AS release_id
       FROM environments e JOIN projects p ON p.id = e.project_id WHERE e.id = $1::uuid";
const PIPELINE_SCOPE: &str = "SELECT p.organization_id, p.id AS project_id, x.release_id
       FROM pipelines x JOIN projects p ON p.id = x.project_id WHERE x.id = $1::uuid";
const LIFECYCLE_SCOPE: &str = "SELECT organization_id, project_id, NULL::uuid AS release_id
       FROM release_lifecycles WHERE id = $1::uuid";
const RELEASE_SCOPE: &str = "SELECT p.organization_id, p.id AS project_id, r.id AS release_id
       FROM releases r JOIN projects p ON p.id = r.project_id WHERE r.id = $1::uuid";
const APPROVAL_RULE_SCOPE: &str = "SELECT organization_id, project_id, NULL::uuid AS release_id
       FROM approval_rules WHERE id = $1::uuid";

fn membership(m: MembershipEvent) -> Option<Found> {
    use ActivityAction::*;
    match m {
        MembershipEvent::MembershipCreated {
            member, created_at, ..
        } => found(
            Created,
            ActivityResource::Membership,
            Some(member.name),
            created_at,
        ),
        MembershipEvent::MembershipRoleChanged { changed_at, .. } => {
            found(Updated, ActivityResource::Membership, None, changed_at)
        }
        MembershipEvent::MembershipDeleted { deleted_at, .. } => {
            found(Deleted, ActivityResource::Membership, None, deleted_at)
        }
    }
}

/// The action an event is (with the SQL of its scope), if it is one.
/// `command`: the command that appended it.
fn action_of(ev: &RecordedEvent, command: &str) -> Result<Option<(Found, &'static str)>, LogError> {
    use ActivityAction::*;
    use ActivityResource as R;
    let f = match ev.aggregate_type.as_str() {
        aggregate::ORGANIZATION => match ev.decode::<OrganizationEvent>()? {
            OrganizationEvent::OrganizationCreated { created_at, .. } => {
                found(Created, R::Organization, None, created_at)
            }
            OrganizationEvent::Membership(m) => membership(m),
        }
        .map(|f| (f, ORGANIZATION_SCOPE)),
        aggregate::PROJECT => match ev.decode::<ProjectEvent>()? {
            ProjectEvent::ProjectCreated {
                name, created_at, ..
            } => found(Created, R::Project, Some(name), created_at),
            ProjectEvent::Membership(m) => membership(m),
        }
        .map(|f| (f, PROJECT_SCOPE)),
        aggregate::PIPELINE_TEMPLATE => match ev.decode::<PipelineTemplateEvent>()? {
            PipelineTemplateEvent::PipelineTemplateCreated {
                name, created_at, ..
            } => found(Created, R::PipelineTemplate, Some(name), created_at),
        }
        .map(|f| (f, TEMPLATE_SCOPE)),
        aggregate::ENVIRONMENT => match ev.decode::<EnvironmentEvent>()? {
            EnvironmentEvent::EnvironmentCreated {
                name, created_at, ..
            } => found(Created, R::Environment, Some(name), created_at),
            EnvironmentEvent::EnvironmentProtectionRulesSet { set_at, .. } => {
                found(Updated, R::Environment, None, set_at)
            }
        }
        .map(|f| (f, ENVIRONMENT_SCOPE)),
        aggregate::RELEASE_LIFECYCLE => match ev.decode::<ReleaseLifecycleEvent>()? {
            ReleaseLifecycleEvent::ReleaseLifecycleCreated {
                name, created_at, ..
            } => found(Created, R::ReleaseLifecycle, Some(name), created_at),
            ReleaseLifecycleEvent::ReleaseLifecycleVersionCreated {
                version,
                created_at,
                ..
            } => found(
                Updated,
                R::ReleaseLifecycle,
                Some(format!("version {version}")),
                created_at,
            ),
        }
        .map(|f| (f, LIFECYCLE_SCOPE)),
        aggregate::RELEASE if ev.event_type == "ReleaseCreated" => {
            let c = creation(ev, "ReleaseCreated")?;
            found(Created, R::Release, Some(c.semantic_version), c.created_at)
                .map(|f| (f, RELEASE_SCOPE))
        }
        aggregate::RELEASE => match ev.decode::<ReleaseEvent>()? {
            ReleaseEvent::ReleaseUpdated { updated_at, .. } => {
                found(Updated, R::Release, None, updated_at)
            }
            ReleaseEvent::ReleaseCreated { .. } => None,
        }
        .map(|f| (f, RELEASE_SCOPE)),
        aggregate::APPROVAL_RULE => match ev.decode::<ApprovalRuleEvent>()? {
            ApprovalRuleEvent::ApprovalRuleCreated {
                name, created_at, ..
            } => found(Created, R::ApprovalRule, Some(name), created_at),
            ApprovalRuleEvent::ApprovalRuleUpdated { updated_at, .. } => {
                found(Updated, R::ApprovalRule, None, updated_at)
            }
            ApprovalRuleEvent::ApprovalRuleDeleted { deleted_at } => {
                found(Deleted, R::ApprovalRule, None, deleted_at)
            }
        }
        .map(|f| (f, APPROVAL_RULE_SCOPE)),
        aggregate::PIPELINE if PIPELINE_ACTIONS.contains(&ev.event_type.as_str()) => {
            pipeline_action(ev, command)?.map(|f| (f, PIPELINE_SCOPE))
        }
        _ => None,
    };
    Ok(f)
}

/// The pipeline events that may be actions (the others are not decoded
/// a second time).
const PIPELINE_ACTIONS: &[&str] = &[
    "PipelineCreated",
    "PipelineCancelRequested",
    "PipelineSucceeded",
    "PipelineFailed",
    "NodeBecameReady",
    "NodeApproved",
    "NodeApprovalRevoked",
    "NodeRejected",
    "NodeApprovalOverridden",
    "NodeRetried",
    "NodeScheduleUpdated",
    "NodeCancelRequested",
    "NodeCanceled",
    "NodeFailed",
];

/// The few fields of a creation the feed needs (the graph is not decoded
/// again).
#[derive(serde::Deserialize)]
struct Creation {
    created_at: DateTime<Utc>,
    #[serde(default)]
    origin: phobos_core::events::PipelineOrigin,
    #[serde(default)]
    semantic_version: String,
}

fn creation(ev: &RecordedEvent, name: &str) -> Result<Creation, LogError> {
    let inner = ev.payload.get(name).cloned().unwrap_or_default();
    serde_json::from_value(inner).map_err(|e| LogError::Decode {
        position: ev.position.to_string(),
        message: e.to_string(),
    })
}

/// A pipeline's actions. What is said of a pipeline is said of a
/// deployment when the pipeline is one ([`record`] looks that up).
fn pipeline_action(ev: &RecordedEvent, command: &str) -> Result<Option<Found>, LogError> {
    use ActivityAction::*;
    use ActivityResource as R;
    let node = |action, path: String, at| found(action, R::PipelineNode, Some(path), at);
    if ev.event_type == "PipelineCreated" {
        let c = creation(ev, "PipelineCreated")?;
        return Ok(match c.origin.environment {
            Some(env) => found(Created, R::Deployment, Some(env), c.created_at),
            None => found(Created, R::Pipeline, None, c.created_at),
        });
    }
    Ok(match ev.decode::<PipelineEvent>()? {
        PipelineEvent::PipelineCancelRequested { at, .. } => found(Canceled, R::Pipeline, None, at),
        PipelineEvent::PipelineSucceeded { at } => found(Succeeded, R::Pipeline, None, at),
        PipelineEvent::PipelineFailed { reason, at } => {
            commented(found(Failed, R::Pipeline, None, at), reason)
        }
        PipelineEvent::NodeBecameReady { path, at, .. } if command == "StartNode" => {
            node(Started, path, at)
        }
        PipelineEvent::NodeApproved { path, at, .. } => node(Approved, path, at),
        PipelineEvent::NodeApprovalRevoked { path, at, .. } => node(ApprovalRevoked, path, at),
        PipelineEvent::NodeRejected {
            path, comment, at, ..
        } => commented(node(Rejected, path, at), comment),
        PipelineEvent::NodeApprovalOverridden {
            path, comment, at, ..
        } => commented(node(ApprovalOverridden, path, at), comment),
        PipelineEvent::NodeRetried { path, at, .. } => node(Retried, path, at),
        PipelineEvent::NodeScheduleUpdated { path, at, .. } => node(ScheduleUpdated, path, at),
        PipelineEvent::NodeCancelRequested { path, at, .. } if command == "CancelNode" => {
            node(Canceled, path, at)
        }
        PipelineEvent::NodeCanceled { path, at, .. } if command == "CancelNode" => {
            node(Canceled, path, at)
        }
        PipelineEvent::NodeFailed {
            path, reason, at, ..
        } => commented(node(Failed, path, at), reason),
        _ => None,
    })
}

/// One row of the feed.
#[derive(Debug, Clone)]
pub struct ActivityRow {
    pub position: Position,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: ActivityAction,
    pub resource: ActivityResource,
    /// The aggregate id of the resource (a node's is its pipeline's).
    pub resource_id: Uuid,
    pub subject: Option<String>,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub release_id: Option<Uuid>,
    pub comment: Option<String>,
}

impl<'r> sqlx::FromRow<'r, PgRow> for ActivityRow {
    fn from_row(r: &'r PgRow) -> Result<Self, sqlx::Error> {
        let bad = |c: &str, v: String| sqlx::Error::ColumnDecode {
            index: c.to_string(),
            source: format!("{v:?} is not a known {c}").into(),
        };
        let action: String = r.try_get("action")?;
        let resource: String = r.try_get("resource_type")?;
        let resource_id: String = r.try_get("resource_id")?;
        let details: serde_json::Value = r.try_get("details")?;
        Ok(ActivityRow {
            position: Position::from_row(r)?,
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            action: ActivityAction::parse(&action).ok_or_else(|| bad("action", action))?,
            resource: ActivityResource::parse(&resource)
                .ok_or_else(|| bad("resource_type", resource))?,
            resource_id: Uuid::parse_str(&resource_id)
                .map_err(|_| bad("resource_id", resource_id))?,
            subject: r.try_get("subject")?,
            organization_id: r.try_get("organization_id")?,
            project_id: r.try_get("project_id")?,
            release_id: r.try_get("release_id")?,
            comment: details
                .get("comment")
                .and_then(|c| c.as_str())
                .map(str::to_string),
        })
    }
}

/// Whose activity, and which of it.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub organization: Option<Uuid>,
    pub project: Option<Uuid>,
    pub release: Option<Uuid>,
    /// Only these projects' rows (a caller who sees only some projects of
    /// an organization); None: all.
    pub projects_in: Option<Vec<Uuid>>,
    /// Only the rows in these organizations (every project of each) or in
    /// these projects: what a caller who is not an administrator sees across
    /// organizations; None: all.
    pub visible: Option<(Vec<Uuid>, Vec<Uuid>)>,
    /// An actor as stored (`user:alice`) or its name alone (`alice`).
    pub actor: Option<String>,
    /// None or empty: every type.
    pub resources: Vec<ActivityResource>,
}

const ACTIVITY_SELECT: &str =
    "SELECT tx_id::text AS tx_text, global_position, at, actor, action, resource_type,
        resource_id, subject, organization_id, project_id, release_id, details FROM activity";

const ACTIVITY_WHERE: &str = "($1::uuid IS NULL OR organization_id = $1)
    AND ($2::uuid IS NULL OR project_id = $2)
    AND ($3::uuid IS NULL OR release_id = $3)
    AND ($4::uuid[] IS NULL OR project_id = ANY($4))
    AND ($5::text IS NULL OR actor = $5 OR substr(actor, strpos(actor, ':') + 1) = $5)
    AND (cardinality($6::text[]) = 0 OR resource_type = ANY($6))
    AND ($7::uuid[] IS NULL OR organization_id = ANY($7) OR project_id = ANY($8))";

fn bind_filter<'q>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, ActivityRow, sqlx::postgres::PgArguments>,
    f: &'q ActivityFilter,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, ActivityRow, sqlx::postgres::PgArguments> {
    q.bind(f.organization)
        .bind(f.project)
        .bind(f.release)
        .bind(f.projects_in.as_deref())
        .bind(f.actor.as_deref())
        .bind(
            f.resources
                .iter()
                .map(|r| r.as_str().to_string())
                .collect::<Vec<_>>(),
        )
        .bind(f.visible.as_ref().map(|(orgs, _)| orgs.clone()))
        .bind(
            f.visible
                .as_ref()
                .map(|(_, projects)| projects.clone())
                .unwrap_or_default(),
        )
}

fn parse_position(c: &str) -> Result<Position, QueryError> {
    c.parse().map_err(|_: String| {
        QueryError::BadCursor(format!(
            "{c:?} is not a cursor of an activity feed: pass the cursor of an edge you received"
        ))
    })
}

/// The feed, newest first; `after` a cursor, the rows older than it.
pub async fn activity(
    pool: &PgPool,
    filter: &ActivityFilter,
    req: &PageRequest,
) -> Result<Page<ActivityRow>, QueryError> {
    let first = req.first.unwrap_or(50).clamp(0, 500);
    let before = match req.after.as_deref() {
        Some(c) => Some(parse_position(c)?),
        None => None,
    };
    let sql = format!(
        "{ACTIVITY_SELECT} WHERE {ACTIVITY_WHERE}
           AND ($9::text IS NULL OR (tx_id, global_position) < ($9::text::xid8, $10))
         ORDER BY tx_id DESC, global_position DESC LIMIT $11"
    );
    let rows: Vec<ActivityRow> = bind_filter(sqlx::query_as(&sql), filter)
        .bind(before.map(|p| p.tx_id.to_string()))
        .bind(before.map(|p| p.global_position).unwrap_or(0))
        .bind(first + 1)
        .fetch_all(pool)
        .await?;
    let has_next_page = rows.len() as i64 > first;
    Ok(Page {
        items: rows
            .into_iter()
            .take(first as usize)
            .map(|r| (r.position.to_string(), r))
            .collect(),
        has_next_page,
    })
}

/// The rows after `after`, oldest first (a subscription's next batch).
pub async fn activity_since(
    pool: &PgPool,
    filter: &ActivityFilter,
    after: Position,
    limit: i64,
) -> Result<Vec<ActivityRow>, QueryError> {
    let sql = format!(
        "{ACTIVITY_SELECT} WHERE {ACTIVITY_WHERE}
           AND (tx_id, global_position) > ($9::text::xid8, $10)
         ORDER BY tx_id, global_position LIMIT $11"
    );
    Ok(bind_filter(sqlx::query_as(&sql), filter)
        .bind(after.tx_id.to_string())
        .bind(after.global_position)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// The newest position of the feed (where a subscription without a cursor
/// starts).
pub async fn newest_position(pool: &PgPool) -> Result<Position, QueryError> {
    let row = sqlx::query(
        "SELECT tx_id::text AS tx_text, global_position FROM activity
          ORDER BY tx_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) => Position::from_row(&r)?,
        None => Position::START,
    })
}

/// Who started each of these pipelines: for a child (a nested or deployment
/// pipeline), whoever last started or retried its node before it was
/// created (a manual start, a retry); otherwise, and for a child of a node
/// that started by itself, whoever created its root pipeline.
pub async fn starters(
    pool: &PgPool,
    pipeline_ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, QueryError> {
    Ok(sqlx::query_as(
        "SELECT p.id, COALESCE(
                (SELECT a.actor FROM activity a
                  WHERE a.resource_id = p.parent_pipeline_id::text AND a.subject = p.parent_node_path
                    AND a.action IN ('STARTED', 'RETRIED') AND a.at <= p.created_at
                  ORDER BY a.tx_id DESC, a.global_position DESC LIMIT 1),
                p.created_by)
           FROM pipelines p WHERE p.id = ANY($1)",
    )
    .bind(pipeline_ids)
    .fetch_all(pool)
    .await?)
}
