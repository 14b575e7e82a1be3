//! The permission table: which role each permission needs, as data. The
//! docs table (`docs/permissions.md`) is generated from it and a test
//! keeps the two equal.

use phobos_core::access::Role;

/// What a caller may do in an organization or a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the scope and everything in it.
    View,
    /// Create and run pipelines and releases; start, cancel and retry their
    /// nodes; change a node's schedule.
    RunPipelines,
    /// Create pipeline templates.
    ManagePipelineTemplates,
    /// Create and change service accounts.
    ManageServiceAccounts,
    /// Create and change release lifecycles.
    ManageReleaseLifecycles,
    /// Create and change environment protection rules.
    ManageEnvironmentProtectionRules,
    /// Create projects in an organization.
    CreateProjects,
    /// Grant, change and remove memberships.
    ManageMemberships,
    /// Create, change and delete the organization's agents and their tokens.
    ManageAgents,
    /// Create and change environments.
    ManageEnvironments,
    /// Create, change and delete approval rules.
    ManageApprovalRules,
}

/// Each permission, the least role that has it, and what it covers.
pub const PERMISSIONS: &[(Permission, Role, &str)] = &[
    (
        Permission::View,
        Role::Viewer,
        "see the scope and everything in it",
    ),
    (
        Permission::RunPipelines,
        Role::Developer,
        "create and run pipelines and releases; start, cancel and retry nodes; change a node's schedule",
    ),
    (
        Permission::ManagePipelineTemplates,
        Role::ReleaseManager,
        "create pipeline templates",
    ),
    (
        Permission::ManageServiceAccounts,
        Role::ReleaseManager,
        "create and change service accounts",
    ),
    (
        Permission::ManageReleaseLifecycles,
        Role::ReleaseManager,
        "create and change release lifecycles",
    ),
    (
        Permission::ManageEnvironmentProtectionRules,
        Role::ReleaseManager,
        "create and change environment protection rules",
    ),
    (
        Permission::CreateProjects,
        Role::Owner,
        "create projects in the organization",
    ),
    (
        Permission::ManageMemberships,
        Role::Owner,
        "grant, change and remove memberships",
    ),
    (
        Permission::ManageAgents,
        Role::Owner,
        "create, change and delete the organization's agents and their tokens",
    ),
    (
        Permission::ManageEnvironments,
        Role::Owner,
        "create and change environments",
    ),
    (
        Permission::ManageApprovalRules,
        Role::Owner,
        "create, change and delete approval rules",
    ),
];

impl Permission {
    /// The least role that has this permission.
    pub fn least_role(self) -> Role {
        PERMISSIONS
            .iter()
            .find(|(p, _, _)| *p == self)
            .map(|(_, r, _)| *r)
            // Every permission has a row (tested); Owner is the safe answer.
            .unwrap_or(Role::Owner)
    }

    /// Whether `role` has this permission.
    pub fn allows(self, role: Role) -> bool {
        role >= self.least_role()
    }
}

/// The docs table: one row per permission, one column per role.
pub fn markdown_table() -> String {
    let mut s = String::from("| permission | what it covers |");
    for r in Role::ALL {
        s.push_str(&format!(" {} |", r.title()));
    }
    s.push_str("\n|---|---|");
    for _ in Role::ALL {
        s.push_str("---|");
    }
    s.push('\n');
    for (p, _, what) in PERMISSIONS {
        s.push_str(&format!("| `{p:?}` | {what} |"));
        for r in Role::ALL {
            s.push_str(if p.allows(r) { " ✓ |" } else { "  |" });
        }
        s.push('\n');
    }
    s
}
