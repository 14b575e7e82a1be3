//! Resource limits: their names, defaults and what each limits. The counts
//! are checked in the database, by a trigger on the event log, in the
//! transaction that appends the event they limit
//! (`migrations/0013_resource_limits.sql`, which seeds these defaults; a
//! test keeps the two equal). Administrators change them with
//! `updateResourceLimit`; each change is a `ResourceLimitUpdated` event.

/// `(name, default, what it limits)`.
pub const LIMITS: &[(&str, i32, &str)] = &[
    (
        "ResourceLimitMembershipsPerOrganization",
        1000,
        "memberships in an organization and its projects",
    ),
    (
        "ResourceLimitProjectsPerOrganization",
        1000,
        "projects in an organization",
    ),
    (
        "ResourceLimitPipelineTemplatesPerProject",
        10000,
        "pipeline templates in a project",
    ),
    (
        "ResourceLimitPipelinesPerProjectPerHour",
        10000,
        "pipelines created in a project in one hour (UTC; nested and deployment children count with their root, not on their own)",
    ),
    (
        "ResourceLimitNodesPerPipeline",
        10000,
        "nodes (tasks and nested pipelines) of one pipeline created by someone",
    ),
];

/// The limit called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static (&'static str, i32, &'static str)> {
    LIMITS.iter().find(|(n, _, _)| *n == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_migration_seeds_the_same_defaults() {
        let sql = include_str!("../../migrations/0013_resource_limits.sql");
        for (name, value, _) in super::LIMITS {
            assert!(
                sql.contains(&format!("('{name}', {value})")),
                "migration 0013 does not seed {name} = {value}"
            );
        }
        assert_eq!(
            sql.matches("\n    ('ResourceLimit").count(),
            super::LIMITS.len(),
            "migration 0013 seeds another set of limits"
        );
    }
}
