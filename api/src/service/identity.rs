//! Users, teams and memberships.

use phobos_commands::aggregates::{
    membership_id, team_id, MembershipCommand, OrganizationCommand, ProjectCommand, TeamCommand,
};
use phobos_commands::Appended;
use phobos_core::access::{Member, MemberKind, Role};
use phobos_projections::identity::{self, MembershipRow, TeamRow, UserRow};
use phobos_projections::queries::{Page, PageRequest};
use uuid::Uuid;

use super::{check_name, parse_id, App, Code, ServiceError};
use crate::auth::Claims;
use crate::authz::{Permission, Scope};

/// Where a membership is: an organization by name, or a project by id.
pub enum MembershipScope<'a> {
    Organization(&'a str),
    Project(Uuid),
}

impl App {
    pub async fn users(
        &self,
        claims: &Claims,
        page: &PageRequest,
    ) -> Result<Page<UserRow>, ServiceError> {
        self.user(claims)?;
        Ok(identity::users(&self.pool, page).await?)
    }

    /// The caller's own user row (None for principals that are not users).
    pub async fn me(&self, claims: &Claims) -> Result<Option<UserRow>, ServiceError> {
        self.user(claims)?;
        let id = parse_id("sub", &phobos_commands::aggregates::user_id(&claims.sub))?;
        Ok(identity::user(&self.pool, id).await?)
    }

    pub async fn user_by_id(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<UserRow>, ServiceError> {
        self.user(claims)?;
        Ok(identity::user(&self.pool, id).await?)
    }

    pub async fn team_by_id(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<TeamRow>, ServiceError> {
        self.user(claims)?;
        Ok(identity::team(&self.pool, id).await?)
    }

    /// Membership `id`, if the caller sees its scope.
    pub async fn membership(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<MembershipRow>, ServiceError> {
        self.user(claims)?;
        let Some(m) = identity::membership(&self.pool, id).await? else {
            return Ok(None);
        };
        let scope = Scope {
            organization: m.organization_id,
            project: m.project_id,
        };
        Ok(self.sees(claims, scope).await?.then_some(m))
    }

    pub async fn teams(
        &self,
        claims: &Claims,
        page: &PageRequest,
    ) -> Result<Page<TeamRow>, ServiceError> {
        self.user(claims)?;
        Ok(identity::teams(&self.pool, page).await?)
    }

    pub async fn team(&self, claims: &Claims, name: &str) -> Result<Option<TeamRow>, ServiceError> {
        self.user(claims)?;
        Ok(identity::team(&self.pool, parse_id("name", &team_id(name))?).await?)
    }

    #[tracing::instrument(skip_all, fields(team = %name))]
    pub async fn create_team(
        &self,
        claims: &Claims,
        name: &str,
        description: &str,
    ) -> Result<TeamRow, ServiceError> {
        self.require_admin(claims).await?;
        check_name("name", name)?;
        let id = team_id(name);
        let cmd = TeamCommand::CreateTeam {
            name: name.to_string(),
            description: description.to_string(),
        };
        let appended = self
            .bus
            .team(&id, cmd, &self.context(claims))
            .await
            .map_err(|e| on_field(e, "name"))?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "team", || identity::team(&self.pool, uuid))
            .await
    }

    /// `addTeamMember` and `removeTeamMember`: by an administrator or a
    /// maintainer of the team.
    #[tracing::instrument(skip_all, fields(team = %team, user = %username, add))]
    pub async fn change_team_member(
        &self,
        claims: &Claims,
        team: &str,
        username: &str,
        add: Option<bool>,
    ) -> Result<TeamRow, ServiceError> {
        self.user(claims)?;
        let team_uuid = parse_id("teamName", &team_id(team))?;
        let row = identity::team(&self.pool, team_uuid)
            .await?
            .ok_or_else(|| {
                ServiceError::field(
                    Code::NotFound,
                    "teamName",
                    format!("team {team:?} does not exist"),
                )
            })?;
        let subject = self.subject(claims).await?;
        if !subject.admin {
            let me = parse_id("sub", &phobos_commands::aggregates::user_id(&claims.sub))?;
            let maintainer = identity::team_members(&self.pool, team_uuid)
                .await?
                .iter()
                .any(|m| m.user_id == me && m.maintainer);
            if !maintainer {
                return Err(ServiceError::new(
                    Code::Forbidden,
                    format!("only an administrator or a maintainer of team {team:?} may change its members"),
                ));
            }
        }
        let user = self.user_named(username, "username").await?;
        let cmd = match add {
            Some(maintainer) => TeamCommand::AddTeamMember {
                user_id: user.id.to_string(),
                username: user.username.clone(),
                maintainer,
            },
            None => TeamCommand::RemoveTeamMember {
                user_id: user.id.to_string(),
                username: user.username.clone(),
            },
        };
        let appended = self
            .bus
            .team(&row.id.to_string(), cmd, &self.context(claims))
            .await
            .map_err(|e| on_field(e, "username"))?;
        self.projected(appended, "team", || identity::team(&self.pool, team_uuid))
            .await
    }

    async fn user_named(&self, username: &str, field: &str) -> Result<UserRow, ServiceError> {
        identity::user_by_name(&self.pool, username)
            .await?
            .ok_or_else(|| {
                ServiceError::field(
                    Code::NotFound,
                    field,
                    format!(
                        "user {username:?} does not exist: a user appears after its first sign-in"
                    ),
                )
            })
    }

    /// The scope of a membership request, after checking that the caller
    /// manages memberships there.
    async fn membership_scope(
        &self,
        claims: &Claims,
        at: &MembershipScope<'_>,
    ) -> Result<(Scope, String), ServiceError> {
        let (scope, aggregate_id, _) = self
            .authorize_scope(claims, at, Permission::ManageMemberships)
            .await?;
        Ok((scope, aggregate_id))
    }

    async fn scope_command(
        &self,
        claims: &Claims,
        scope: Scope,
        aggregate_id: &str,
        cmd: MembershipCommand,
        field: &str,
    ) -> Result<Appended, ServiceError> {
        let ctx = self.context(claims);
        let r = match scope.project {
            None => {
                self.bus
                    .organization(aggregate_id, OrganizationCommand::Membership(cmd), &ctx)
                    .await
            }
            Some(_) => {
                self.bus
                    .project(aggregate_id, ProjectCommand::Membership(cmd), &ctx)
                    .await
            }
        };
        r.map_err(|e| on_field(e, field))
    }

    #[tracing::instrument(skip_all, fields(kind = ?kind, member = %name, role = ?role))]
    pub async fn create_membership(
        &self,
        claims: &Claims,
        at: MembershipScope<'_>,
        kind: MemberKind,
        name: &str,
        role: Role,
    ) -> Result<MembershipRow, ServiceError> {
        let (scope, aggregate_id) = self.membership_scope(claims, &at).await?;
        let member = match kind {
            MemberKind::User => {
                let u = self.user_named(name, "username").await?;
                Member {
                    kind,
                    id: u.id.to_string(),
                    name: u.username,
                }
            }
            MemberKind::Team => {
                let t = identity::team(&self.pool, parse_id("teamName", &team_id(name))?)
                    .await?
                    .ok_or_else(|| {
                        ServiceError::field(
                            Code::NotFound,
                            "teamName",
                            format!("team {name:?} does not exist"),
                        )
                    })?;
                Member {
                    kind,
                    id: t.id.to_string(),
                    name: t.name,
                }
            }
            MemberKind::ServiceAccount => {
                let missing = || {
                    ServiceError::field(
                        Code::NotFound,
                        "serviceAccount",
                        format!("service account {name:?} does not exist in this organization (or this project)"),
                    )
                };
                let sa = match super::service_account_id_of(name) {
                    Some(id) => identity::service_account(&self.pool, id).await?,
                    None => None,
                }
                .ok_or_else(missing)?;
                // An organization's account may be a member there and in its
                // projects; a project's, only in its project.
                let fits = sa.organization_id == scope.organization
                    && sa.project_id.is_none_or(|p| Some(p) == scope.project);
                if !fits {
                    return Err(missing());
                }
                Member {
                    kind,
                    id: sa.id.to_string(),
                    name: sa.path,
                }
            }
        };
        let id = membership_id(&aggregate_id, &member);
        let cmd = MembershipCommand::CreateMembership {
            membership_id: id.clone(),
            member,
            role,
        };
        let appended = self
            .scope_command(claims, scope, &aggregate_id, cmd, "role")
            .await?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "membership", || {
            identity::membership(&self.pool, uuid)
        })
        .await
    }

    /// `updateMembership` (`role` Some) and `deleteMembership` (None).
    #[tracing::instrument(skip_all, fields(membership = %id, role = ?role))]
    pub async fn change_membership(
        &self,
        claims: &Claims,
        id: Uuid,
        role: Option<Role>,
    ) -> Result<MembershipRow, ServiceError> {
        self.user(claims)?;
        let missing = || {
            ServiceError::field(
                Code::NotFound,
                "id",
                format!("membership {id} does not exist"),
            )
        };
        let row = identity::membership(&self.pool, id)
            .await?
            .ok_or_else(missing)?;
        let scope = Scope {
            organization: row.organization_id,
            project: row.project_id,
        };
        self.authorize(claims, Permission::ManageMemberships, scope, missing)
            .await?;
        let aggregate_id = row.project_id.unwrap_or(row.organization_id).to_string();
        let cmd = match role {
            Some(role) => MembershipCommand::ChangeMembershipRole {
                membership_id: id.to_string(),
                role,
            },
            None => MembershipCommand::DeleteMembership {
                membership_id: id.to_string(),
            },
        };
        let appended = self
            .scope_command(claims, scope, &aggregate_id, cmd, "role")
            .await?;
        match role {
            Some(_) => {
                self.projected(appended, "membership", || {
                    identity::membership(&self.pool, id)
                })
                .await
            }
            None => {
                self.wait_projected(appended, "membership").await?;
                Ok(row)
            }
        }
    }

    /// The memberships of a scope the caller sees.
    pub async fn memberships(
        &self,
        claims: &Claims,
        scope: Scope,
    ) -> Result<Vec<MembershipRow>, ServiceError> {
        if !self.sees(claims, scope).await? {
            return Ok(vec![]);
        }
        Ok(identity::memberships_of_scope(&self.pool, scope.organization, scope.project).await?)
    }
}

/// A command refusal as a problem of `field`.
pub(super) fn on_field(e: phobos_commands::CommandError, field: &str) -> ServiceError {
    let mut err = ServiceError::from(e);
    if err.problems.is_empty()
        && matches!(err.code, Code::Conflict | Code::NotFound | Code::Invalid)
    {
        err = ServiceError::field(err.code, field, err.message);
    }
    err
}
