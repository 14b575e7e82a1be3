//! Users, teams, memberships and roles in GraphQL.

use async_graphql::{Context, Enum, Interface, Object, Result, ID};
use chrono::{DateTime, Utc};
use phobos_core::access::{MemberKind as CoreMemberKind, Role as CoreRole};
use phobos_core::events::aggregate;
use phobos_projections::identity::{self, MembershipRow, TeamRow, UserRow};

use super::types::Agent;
use super::{app, authed, gql_err, ids};

/// A built-in role. Each includes everything the ones after it may do.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Administers the organization or project: memberships, agents,
    /// environments, approval rules, and everything below.
    Owner,
    /// A Developer who also manages pipeline templates, service accounts,
    /// release lifecycles and environment protection rules.
    ReleaseManager,
    /// Creates and runs pipelines; starts, cancels and retries nodes.
    Developer,
    /// Reads everything in its scope.
    Viewer,
}

impl From<CoreRole> for Role {
    fn from(r: CoreRole) -> Self {
        match r {
            CoreRole::Owner => Role::Owner,
            CoreRole::ReleaseManager => Role::ReleaseManager,
            CoreRole::Developer => Role::Developer,
            CoreRole::Viewer => Role::Viewer,
        }
    }
}

impl From<Role> for CoreRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => CoreRole::Owner,
            Role::ReleaseManager => CoreRole::ReleaseManager,
            Role::Developer => CoreRole::Developer,
            Role::Viewer => CoreRole::Viewer,
        }
    }
}

/// What kind of principal a membership is for.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A person.
    User,
    /// A team: the membership holds for each of its members.
    Team,
    /// A machine principal.
    ServiceAccount,
}

impl From<CoreMemberKind> for MemberKind {
    fn from(k: CoreMemberKind) -> Self {
        match k {
            CoreMemberKind::User => MemberKind::User,
            CoreMemberKind::Team => MemberKind::Team,
            CoreMemberKind::ServiceAccount => MemberKind::ServiceAccount,
        }
    }
}

/// Who can be signed in: a user, a service account or an agent.
#[derive(Interface)]
#[graphql(
    field(name = "id", ty = "ID", desc = "Its global id."),
    field(name = "name", ty = "String", desc = "Its username or name."),
    field(
        name = "todo_items",
        ty = "Vec<super::todo::TodoItem>",
        desc = "Its to-do items: approvals it can give, manual nodes it can start, releases it takes part in that are due within three days or overdue (at most `first`, default 50). Only the caller's own can be read (`me { todoItems }`); an agent has none.",
        arg(
            name = "first",
            ty = "Option<i32>",
            desc = "How many to return (default 50, at most 500)."
        )
    )
)]
pub enum Principal {
    User(User),
    ServiceAccount(ServiceAccount),
    Agent(Agent),
}

/// A person (see the `User` object).
pub struct User(pub UserRow);

/// A person: the built-in identity provider's admin, or a user of an
/// external OIDC provider, created at its first sign-in.
#[Object]
impl User {
    /// Its global id.
    pub(crate) async fn id(&self) -> ID {
        ID(ids::encode(aggregate::USER, self.0.id))
    }
    /// `prn:user:<username>`.
    pub(crate) async fn prn(&self) -> String {
        format!("prn:user:{}", self.0.username)
    }
    /// The same as `username`.
    pub(crate) async fn name(&self) -> &str {
        &self.0.username
    }
    /// From the provider's username claim (`PHOBOS_OAUTH_PROVIDERS_{n}_USERNAME_CLAIM`).
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// Its email, when the provider gave one.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Whether it is a system administrator.
    async fn admin(&self) -> bool {
        self.0.admin
    }
    /// When it was first seen.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The teams it is in.
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        authed(ctx)?;
        Ok(identity::teams_of(&app(ctx).pool, self.0.id)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(Team)
            .collect())
    }
    /// The memberships it holds itself (not through a team) in
    /// organizations and projects the caller sees.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<Membership>> {
        visible_memberships(ctx, self.0.id).await
    }
    /// Its to-do items (see `Principal.todoItems`): only the caller's own.
    pub(crate) async fn todo_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
    ) -> Result<Vec<super::todo::TodoItem>> {
        let claims = authed(ctx)?;
        let is_caller =
            claims.kind == crate::auth::TokenKind::User && claims.sub == self.0.username;
        super::todo::of(ctx, is_caller, first).await
    }
}

async fn visible_memberships(ctx: &Context<'_>, member: uuid::Uuid) -> Result<Vec<Membership>> {
    let claims = authed(ctx)?;
    let app = app(ctx);
    let rows = identity::memberships_of_member(&app.pool, member)
        .await
        .map_err(gql_err)?;
    let mut out = Vec::new();
    for m in rows {
        let scope = crate::authz::Scope {
            organization: m.organization_id,
            project: m.project_id,
        };
        if app.sees(claims, scope).await.map_err(gql_err)? {
            out.push(Membership(m));
        }
    }
    Ok(out)
}

/// A team (see the `Team` object).
pub struct Team(pub TeamRow);

/// A named set of users; a membership of the team holds for each of them.
#[Object]
impl Team {
    /// Its global id.
    pub(crate) async fn id(&self) -> ID {
        ID(ids::encode(aggregate::TEAM, self.0.id))
    }
    /// `prn:team:<name>`.
    pub(crate) async fn prn(&self) -> String {
        format!("prn:team:{}", self.0.name)
    }
    /// Its unique name.
    pub(crate) async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it is for.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Who created it (`user:<name>`).
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Its members, in the order they were added.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<TeamMember>> {
        authed(ctx)?;
        Ok(identity::team_members(&app(ctx).pool, self.0.id)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(|m| TeamMember {
                username: m.username,
                maintainer: m.maintainer,
                added_at: m.added_at,
            })
            .collect())
    }
    /// The memberships the team holds in organizations and projects the
    /// caller sees.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<Membership>> {
        visible_memberships(ctx, self.0.id).await
    }
}

/// One member of a team.
#[derive(async_graphql::SimpleObject)]
pub struct TeamMember {
    /// The user's username.
    pub username: String,
    /// Whether it may add and remove the team's members.
    pub maintainer: bool,
    /// When it joined.
    pub added_at: DateTime<Utc>,
}

/// A membership (see the `Membership` object).
pub struct Membership(pub MembershipRow);

/// A role held by a user, a team or a service account in an organization
/// (and so in all its projects) or in one project.
#[Object]
impl Membership {
    /// Its global id.
    pub(crate) async fn id(&self) -> ID {
        ID(ids::encode(aggregate::MEMBERSHIP, self.0.id))
    }
    /// `prn:membership:<id>`.
    pub(crate) async fn prn(&self) -> String {
        format!("prn:membership:{}", self.0.id)
    }
    /// The role it grants.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The kind of principal it is for.
    async fn member_kind(&self) -> MemberKind {
        self.0.member_kind.into()
    }
    /// The principal's username or name.
    async fn member_name(&self) -> &str {
        &self.0.member_name
    }
    /// The organization it is in (or whose project it is in).
    async fn organization_id(&self) -> ID {
        ID(ids::encode(aggregate::ORGANIZATION, self.0.organization_id))
    }
    /// The project, for a project membership.
    async fn project_id(&self) -> Option<ID> {
        self.0
            .project_id
            .map(|p| ID(ids::encode(aggregate::PROJECT, p)))
    }
    /// Who granted it.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was granted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A service account (see the `ServiceAccount` object).
pub struct ServiceAccount(pub phobos_projections::identity::ServiceAccountRow);

/// A machine principal of an organization (usable in all its projects) or
/// of a project. It signs in by exchanging an OIDC token one of its trust
/// policies accepts (`serviceAccountCreateToken`), and acts where it has
/// memberships.
#[Object]
impl ServiceAccount {
    /// Its global id.
    pub(crate) async fn id(&self) -> ID {
        ID(ids::encode(aggregate::SERVICE_ACCOUNT, self.0.id))
    }
    /// `prn:service_account:<path>`.
    pub(crate) async fn prn(&self) -> String {
        format!("prn:service_account:{}", self.0.path)
    }
    /// Its path, `ORG/NAME` or `ORG/PROJECT/NAME`.
    pub(crate) async fn name(&self) -> &str {
        &self.0.path
    }
    /// Its path, `ORG/NAME` or `ORG/PROJECT/NAME`.
    async fn path(&self) -> &str {
        &self.0.path
    }
    /// What it is for.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Which OIDC tokens it may be signed in with.
    async fn oidc_trust_policies(&self) -> Vec<TrustPolicyOut> {
        self.0
            .trust_policies
            .iter()
            .map(|p| TrustPolicyOut {
                issuer: p.issuer.clone(),
                bound_claims: p
                    .bound_claims
                    .iter()
                    .map(|(name, value)| BoundClaim {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
    /// The memberships it holds, in scopes the caller sees.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<Membership>> {
        visible_memberships(ctx, self.0.id).await
    }
    /// Its to-do items (see `Principal.todoItems`): only the caller's own.
    pub(crate) async fn todo_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
    ) -> Result<Vec<super::todo::TodoItem>> {
        let claims = authed(ctx)?;
        let is_caller = claims.kind == crate::auth::TokenKind::ServiceAccount
            && crate::service::service_account_id_of(&claims.sub) == Some(self.0.id);
        super::todo::of(ctx, is_caller, first).await
    }
    /// Who created it.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A trust policy: tokens of `issuer` that carry every bound claim.
#[derive(async_graphql::SimpleObject)]
#[graphql(name = "TrustPolicy")]
pub struct TrustPolicyOut {
    /// The issuer's URL (its discovery document and keys are fetched from it).
    pub issuer: String,
    /// Claims the token must carry, with these values.
    pub bound_claims: Vec<BoundClaim>,
}

/// A claim a token must carry.
#[derive(async_graphql::SimpleObject)]
pub struct BoundClaim {
    /// The claim, e.g. `sub` or `project_path`.
    pub name: String,
    /// Its required value (a list claim, such as `aud`, must hold it).
    pub value: String,
}
