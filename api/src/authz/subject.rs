//! The caller, resolved once per check: whether it is an administrator and
//! which roles it holds where.

use phobos_core::access::Role;
use phobos_projections::identity::Grants;
use uuid::Uuid;

use super::Permission;

/// An organization, or one of its projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub organization: Uuid,
    pub project: Option<Uuid>,
}

impl Scope {
    pub fn organization(organization: Uuid) -> Scope {
        Scope {
            organization,
            project: None,
        }
    }
    pub fn project(organization: Uuid, project: Uuid) -> Scope {
        Scope {
            organization,
            project: Some(project),
        }
    }
}

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// The caller may not see the scope: answer as if it did not exist.
    Hidden,
    /// The caller sees the scope but lacks the permission.
    Forbidden {
        needs: Role,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub admin: bool,
    grants: Vec<(Uuid, Option<Uuid>, Role)>,
}

impl Subject {
    pub fn from_grants(g: Grants) -> Subject {
        Subject {
            admin: g.admin,
            grants: g.roles,
        }
    }

    /// A principal with no roles (an agent).
    pub fn nobody() -> Subject {
        Subject::default()
    }

    /// The caller's role in `scope`: the highest of its memberships in the
    /// scope and, for a project, in its organization.
    pub fn role_in(&self, scope: Scope) -> Option<Role> {
        self.grants
            .iter()
            .filter(|(o, p, _)| *o == scope.organization && (p.is_none() || *p == scope.project))
            .map(|(_, _, r)| *r)
            .max()
    }

    /// Whether the caller may see `scope`. An organization is seen by
    /// everyone with a role in it or in one of its projects.
    pub fn sees(&self, scope: Scope) -> bool {
        self.admin
            || match scope.project {
                Some(_) => self.role_in(scope).is_some(),
                None => self.grants.iter().any(|(o, _, _)| *o == scope.organization),
            }
    }

    pub fn decide(&self, permission: Permission, scope: Scope) -> Decision {
        if self.admin {
            return Decision::Allowed;
        }
        if !self.sees(scope) {
            return Decision::Hidden;
        }
        match self.role_in(scope) {
            Some(r) if permission.allows(r) => Decision::Allowed,
            _ if permission == Permission::View => Decision::Allowed,
            _ => Decision::Forbidden {
                needs: permission.least_role(),
            },
        }
    }

    /// The organizations the caller sees (None: all, for an admin).
    pub fn organizations(&self) -> Option<Vec<Uuid>> {
        if self.admin {
            return None;
        }
        let mut v: Vec<Uuid> = self.grants.iter().map(|(o, _, _)| *o).collect();
        v.sort();
        v.dedup();
        Some(v)
    }

    /// Where the caller sees every project: `None` for an admin (all), or
    /// the organizations it has a role in and the projects it has a role in
    /// outside those.
    pub fn visible_scopes(&self) -> Option<(Vec<Uuid>, Vec<Uuid>)> {
        if self.admin {
            return None;
        }
        let mut orgs: Vec<Uuid> = self
            .grants
            .iter()
            .filter(|(_, p, _)| p.is_none())
            .map(|(o, _, _)| *o)
            .collect();
        orgs.sort();
        orgs.dedup();
        let mut projects: Vec<Uuid> = self.grants.iter().filter_map(|(_, p, _)| *p).collect();
        projects.sort();
        projects.dedup();
        Some((orgs, projects))
    }

    /// The projects of `organization` the caller sees (None: all of them).
    pub fn projects_of(&self, organization: Uuid) -> Option<Vec<Uuid>> {
        if self.admin || self.role_in(Scope::organization(organization)).is_some() {
            return None;
        }
        Some(
            self.grants
                .iter()
                .filter(|(o, _, _)| *o == organization)
                .filter_map(|(_, p, _)| *p)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn organization_roles_count_in_projects_and_the_highest_role_wins() {
        let s = Subject::from_grants(Grants {
            admin: false,
            roles: vec![
                (u(1), None, Role::Viewer),
                (u(1), Some(u(10)), Role::Owner),
                (u(2), Some(u(20)), Role::Developer),
            ],
        });
        assert_eq!(s.role_in(Scope::project(u(1), u(11))), Some(Role::Viewer));
        assert_eq!(s.role_in(Scope::project(u(1), u(10))), Some(Role::Owner));
        assert_eq!(
            s.decide(Permission::RunPipelines, Scope::project(u(1), u(11))),
            Decision::Forbidden {
                needs: Role::Developer
            }
        );
        assert_eq!(
            s.decide(Permission::ManageMemberships, Scope::project(u(1), u(10))),
            Decision::Allowed
        );
        // A project member sees the organization but holds no role there.
        assert!(s.sees(Scope::organization(u(2))));
        assert_eq!(
            s.decide(Permission::View, Scope::organization(u(2))),
            Decision::Allowed
        );
        assert_eq!(
            s.decide(Permission::CreateProjects, Scope::organization(u(2))),
            Decision::Forbidden { needs: Role::Owner }
        );
        // Other projects of that organization stay hidden.
        assert_eq!(
            s.decide(Permission::View, Scope::project(u(2), u(21))),
            Decision::Hidden
        );
        assert_eq!(s.projects_of(u(2)), Some(vec![u(20)]));
        assert_eq!(s.projects_of(u(1)), None);
        assert_eq!(
            s.decide(Permission::View, Scope::organization(u(3))),
            Decision::Hidden
        );
        let admin = Subject::from_grants(Grants {
            admin: true,
            roles: vec![],
        });
        assert_eq!(
            admin.decide(Permission::ManageAgents, Scope::organization(u(3))),
            Decision::Allowed
        );
    }
}
