//! Reads of users, teams and memberships, and the grants authorization
//! works from.

use chrono::{DateTime, Utc};
use phobos_core::access::{MemberKind, Role};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::queries::{Page, PageRequest};
use crate::QueryError;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub email: Option<String>,
    pub admin: bool,
    pub created_at: DateTime<Utc>,
}

const USER_COLS: &str = "id, username, email, admin, created_at";

/// The issuer a user signed in with first (this server's own URL for the
/// built-in user).
pub async fn user_issuer(pool: &PgPool, id: Uuid) -> Result<Option<String>, QueryError> {
    Ok(sqlx::query_scalar("SELECT issuer FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub async fn user(pool: &PgPool, id: Uuid) -> Result<Option<UserRow>, QueryError> {
    Ok(
        sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn user_by_name(pool: &PgPool, username: &str) -> Result<Option<UserRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(pool)
    .await?)
}

pub async fn users(pool: &PgPool, req: &PageRequest) -> Result<Page<UserRow>, QueryError> {
    crate::queries::page_as(pool, "users", USER_COLS, &[], req).await
}

#[derive(Debug, Clone, FromRow)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const TEAM_COLS: &str = "id, name, description, created_by, created_at";

pub async fn team(pool: &PgPool, id: Uuid) -> Result<Option<TeamRow>, QueryError> {
    Ok(
        sqlx::query_as(&format!("SELECT {TEAM_COLS} FROM teams WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn teams(pool: &PgPool, req: &PageRequest) -> Result<Page<TeamRow>, QueryError> {
    crate::queries::page_as(pool, "teams", TEAM_COLS, &[], req).await
}

#[derive(Debug, Clone, FromRow)]
pub struct TeamMemberRow {
    pub team_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub maintainer: bool,
    pub added_at: DateTime<Utc>,
}

pub async fn team_members(pool: &PgPool, team_id: Uuid) -> Result<Vec<TeamMemberRow>, QueryError> {
    Ok(sqlx::query_as(
        "SELECT team_id, user_id, username, maintainer, added_at FROM team_members WHERE team_id = $1 ORDER BY added_at, user_id",
    )
    .bind(team_id)
    .fetch_all(pool)
    .await?)
}

/// The teams `user_id` is in.
pub async fn teams_of(pool: &PgPool, user_id: Uuid) -> Result<Vec<TeamRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TEAM_COLS} FROM teams WHERE id IN (SELECT team_id FROM team_members WHERE user_id = $1) ORDER BY name"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone)]
pub struct MembershipRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub member_kind: MemberKind,
    pub member_id: Uuid,
    pub member_name: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl<'r> FromRow<'r, sqlx::postgres::PgRow> for MembershipRow {
    fn from_row(r: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let bad = |c: &str, v: String| sqlx::Error::ColumnDecode {
            index: c.into(),
            source: format!("{v:?} is not a known value").into(),
        };
        let kind: String = r.try_get("member_kind")?;
        let role: String = r.try_get("role")?;
        Ok(MembershipRow {
            id: r.try_get("id")?,
            organization_id: r.try_get("organization_id")?,
            project_id: r.try_get("project_id")?,
            member_kind: MemberKind::parse(&kind).ok_or_else(|| bad("member_kind", kind))?,
            member_id: r.try_get("member_id")?,
            member_name: r.try_get("member_name")?,
            role: Role::parse(&role).ok_or_else(|| bad("role", role))?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

const MEMBERSHIP_COLS: &str = "id, organization_id, project_id, member_kind, member_id, member_name, role, created_by, created_at";

pub async fn membership(pool: &PgPool, id: Uuid) -> Result<Option<MembershipRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The memberships of an organization itself (`project` None), or of one
/// of its projects.
pub async fn memberships_of_scope(
    pool: &PgPool,
    organization_id: Uuid,
    project_id: Option<Uuid>,
) -> Result<Vec<MembershipRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE organization_id = $1 AND project_id IS NOT DISTINCT FROM $2 ORDER BY created_at, id"
    ))
    .bind(organization_id)
    .bind(project_id)
    .fetch_all(pool)
    .await?)
}

/// The memberships a member holds itself (not through a team).
pub async fn memberships_of_member(
    pool: &PgPool,
    member_id: Uuid,
) -> Result<Vec<MembershipRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MEMBERSHIP_COLS} FROM memberships WHERE member_id = $1 ORDER BY created_at, id"
    ))
    .bind(member_id)
    .fetch_all(pool)
    .await?)
}

/// What a principal may rely on: whether it is an admin, and every role it
/// holds, directly or through a team. One query, once per request.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub admin: bool,
    /// (organization, project or None for the whole organization, role)
    pub roles: Vec<(Uuid, Option<Uuid>, Role)>,
}

pub async fn grants(pool: &PgPool, principal_id: Uuid) -> Result<Grants, QueryError> {
    #[derive(FromRow)]
    struct GrantRow {
        admin: bool,
        organization_id: Option<Uuid>,
        project_id: Option<Uuid>,
        role: Option<String>,
    }
    let rows: Vec<GrantRow> = sqlx::query_as(
        "SELECT COALESCE((SELECT admin FROM users WHERE id = $1), false) AS admin,
                m.organization_id, m.project_id, m.role
         FROM (SELECT 1) one
         LEFT JOIN memberships m ON m.member_id = $1
            OR m.member_id IN (SELECT team_id FROM team_members WHERE user_id = $1)",
    )
    .bind(principal_id)
    .fetch_all(pool)
    .await?;
    let mut g = Grants::default();
    for r in rows {
        g.admin = r.admin;
        if let (Some(org), Some(role)) =
            (r.organization_id, r.role.as_deref().and_then(Role::parse))
        {
            g.roles.push((org, r.project_id, role));
        }
    }
    Ok(g)
}

#[derive(Debug, Clone)]
pub struct ApprovalRuleRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub prn: String,
    pub name: String,
    pub description: String,
    pub principals: Vec<phobos_core::access::Member>,
    pub approvals_required: i32,
    pub allow_self_approval: bool,
    pub deleted: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl<'r> FromRow<'r, sqlx::postgres::PgRow> for ApprovalRuleRow {
    fn from_row(r: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let principals: serde_json::Value = r.try_get("principals")?;
        Ok(ApprovalRuleRow {
            id: r.try_get("id")?,
            organization_id: r.try_get("organization_id")?,
            project_id: r.try_get("project_id")?,
            prn: r.try_get("prn")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            principals: serde_json::from_value(principals).map_err(|e| {
                sqlx::Error::ColumnDecode {
                    index: "principals".into(),
                    source: Box::new(e),
                }
            })?,
            approvals_required: r.try_get("approvals_required")?,
            allow_self_approval: r.try_get("allow_self_approval")?,
            deleted: r.try_get("deleted")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

const RULE_COLS: &str = "id, organization_id, project_id, prn, name, description, principals, approvals_required, allow_self_approval, deleted, created_by, created_at";

/// Rule `id` (deleted ones too).
pub async fn approval_rule(pool: &PgPool, id: Uuid) -> Result<Option<ApprovalRuleRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {RULE_COLS} FROM approval_rules WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The rules (not deleted) of an organization itself (`project` None) or
/// of one project, by name.
pub async fn approval_rules(
    pool: &PgPool,
    organization_id: Uuid,
    project_id: Option<Uuid>,
) -> Result<Vec<ApprovalRuleRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {RULE_COLS} FROM approval_rules WHERE organization_id = $1 AND project_id IS NOT DISTINCT FROM $2 AND NOT deleted ORDER BY name"
    ))
    .bind(organization_id)
    .bind(project_id)
    .fetch_all(pool)
    .await?)
}

/// Whether `user_id` is in any of `teams`.
pub async fn in_any_team(
    pool: &PgPool,
    user_id: Uuid,
    teams: &[Uuid],
) -> Result<Vec<Uuid>, QueryError> {
    Ok(sqlx::query_scalar(
        "SELECT team_id FROM team_members WHERE user_id = $1 AND team_id = ANY($2)",
    )
    .bind(user_id)
    .bind(teams.to_vec())
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone)]
pub struct ServiceAccountRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub path: String,
    pub name: String,
    pub description: String,
    pub trust_policies: Vec<phobos_core::events::TrustPolicy>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl<'r> FromRow<'r, sqlx::postgres::PgRow> for ServiceAccountRow {
    fn from_row(r: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let policies: serde_json::Value = r.try_get("trust_policies")?;
        Ok(ServiceAccountRow {
            id: r.try_get("id")?,
            organization_id: r.try_get("organization_id")?,
            project_id: r.try_get("project_id")?,
            path: r.try_get("path")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            trust_policies: serde_json::from_value(policies).map_err(|e| {
                sqlx::Error::ColumnDecode {
                    index: "trust_policies".into(),
                    source: Box::new(e),
                }
            })?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

const SA_COLS: &str = "id, organization_id, project_id, path, name, description, trust_policies, created_by, created_at";

pub async fn service_account(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<ServiceAccountRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SA_COLS} FROM service_accounts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub async fn service_account_by_path(
    pool: &PgPool,
    path: &str,
) -> Result<Option<ServiceAccountRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SA_COLS} FROM service_accounts WHERE path = $1"
    ))
    .bind(path)
    .fetch_optional(pool)
    .await?)
}

/// The service accounts of an organization itself (`project` None) or of
/// one project, by name.
pub async fn service_accounts(
    pool: &PgPool,
    organization_id: Uuid,
    project_id: Option<Uuid>,
) -> Result<Vec<ServiceAccountRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SA_COLS} FROM service_accounts WHERE organization_id = $1 AND project_id IS NOT DISTINCT FROM $2 ORDER BY name"
    ))
    .bind(organization_id)
    .bind(project_id)
    .fetch_all(pool)
    .await?)
}

/// Every resource limit's value, by name.
pub async fn resource_limits(pool: &PgPool) -> Result<Vec<(String, i32)>, QueryError> {
    Ok(
        sqlx::query_as("SELECT name, value FROM resource_limits ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}
