//! The rule of every root field of the GraphQL schema. A test walks the
//! schema and fails on a root field without a row here; the matrix test
//! runs each field as each role and checks the outcome against its rule.

use super::Permission;

/// Who may call a root field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in principal.
    SignedIn,
    /// Any signed-in principal; lists only what it may see.
    Listed,
    /// System administrators only.
    Admin,
    /// A system administrator, or a maintainer of the team.
    TeamMaintainer,
    /// The permission, in the organization or project the arguments name.
    /// A resource the caller may not see answers NOT_FOUND (or null); one
    /// it may see but not change answers FORBIDDEN.
    In(Permission),
}

use Permission::*;
use Rule::*;

/// (root type, field, rule, note for the docs)
pub const ROOT_FIELDS: &[(&str, &str, Rule, &str)] = &[
    ("Query", "me", SignedIn, ""),
    (
        "Query",
        "node",
        In(View),
        "null when the caller may not see it",
    ),
    ("Query", "organizations", Listed, ""),
    ("Query", "pipelines", Listed, "of the projects the caller sees"),
    (
        "Query",
        "activity",
        Listed,
        "the organizations the caller has a role in and the projects it is a member of",
    ),
    (
        "Query",
        "organization",
        In(View),
        "a project member sees its organization",
    ),
    ("Query", "pipeline", In(View), ""),
    ("Query", "job", In(View), ""),
    (
        "Query",
        "validatePipelineTemplate",
        In(View),
        "stores nothing",
    ),
    (
        "Query",
        "agents",
        Listed,
        "shared agents and those of organizations the caller sees",
    ),
    ("Query", "pipelineEvents", In(View), ""),
    ("Query", "users", SignedIn, ""),
    ("Query", "resourceLimits", SignedIn, ""),
    ("Query", "notifications", Admin, ""),
    ("Query", "authSettings", Public, ""),
    ("Query", "serverInfo", Public, ""),
    ("Query", "teams", SignedIn, ""),
    ("Query", "team", SignedIn, ""),
    ("Mutation", "login", Public, ""),
    (
        "Mutation",
        "oidcLogin",
        Public,
        "holding a code of the OIDC provider",
    ),
    ("Mutation", "refreshSession", Public, "holding the refresh token"),
    ("Mutation", "logout", Public, "holding the refresh token"),
    ("Mutation", "createOrganization", Admin, ""),
    (
        "Mutation",
        "createProject",
        In(CreateProjects),
        "in the organization",
    ),
    (
        "Mutation",
        "createPipelineTemplate",
        In(ManagePipelineTemplates),
        "",
    ),
    ("Mutation", "createPipeline", In(RunPipelines), ""),
    ("Mutation", "startPipelineNode", In(RunPipelines), ""),
    (
        "Mutation",
        "updatePipelineNodeSchedule",
        In(RunPipelines),
        "",
    ),
    ("Mutation", "retryPipelineNode", In(RunPipelines), ""),
    ("Mutation", "cancelPipeline", In(RunPipelines), ""),
    ("Mutation", "cancelPipelineNode", In(RunPipelines), ""),
    ("Mutation", "createEnvironment", In(ManageEnvironments), ""),
    (
        "Mutation",
        "updateEnvironmentProtectionRules",
        In(ManageEnvironmentProtectionRules),
        "",
    ),
    (
        "Mutation",
        "createAgent",
        In(ManageAgents),
        "shared agents (no organization): admins only",
    ),
    (
        "Mutation",
        "updateAgent",
        In(ManageAgents),
        "shared agents: admins only",
    ),
    (
        "Mutation",
        "deleteAgent",
        In(ManageAgents),
        "shared agents: admins only",
    ),
    (
        "Mutation",
        "createAgentToken",
        In(ManageAgents),
        "shared agents: admins only",
    ),
    (
        "Mutation",
        "assignServiceAccountToAgent",
        In(ManageAgents),
        "organization agents only",
    ),
    (
        "Mutation",
        "unassignServiceAccountFromAgent",
        In(ManageAgents),
        "organization agents only",
    ),
    ("Mutation", "createTeam", Admin, ""),
    ("Mutation", "updateResourceLimit", Admin, ""),
    ("Mutation", "addTeamMember", TeamMaintainer, ""),
    ("Mutation", "removeTeamMember", TeamMaintainer, ""),
    ("Mutation", "createMembership", In(ManageMemberships), ""),
    ("Mutation", "updateMembership", In(ManageMemberships), ""),
    ("Mutation", "deleteMembership", In(ManageMemberships), ""),
    ("Mutation", "createServiceAccount", In(ManageServiceAccounts), ""),
    ("Mutation", "updateServiceAccount", In(ManageServiceAccounts), ""),
    ("Mutation", "serviceAccountCreateToken", Public, "with an OIDC token one of the account's trust policies accepts"),
    ("Query", "release", In(View), ""),
    ("Query", "releaseDiff", In(View), "both releases, of one project"),
    ("Mutation", "createReleaseLifecycle", In(ManageReleaseLifecycles), ""),
    ("Mutation", "updateReleaseLifecycle", In(ManageReleaseLifecycles), ""),
    ("Mutation", "createRelease", In(RunPipelines), ""),
    ("Mutation", "updateRelease", In(RunPipelines), "notes, due date and participants only"),
    ("Mutation", "createApprovalRule", In(ManageApprovalRules), ""),
    ("Mutation", "updateApprovalRule", In(ManageApprovalRules), ""),
    ("Mutation", "deleteApprovalRule", In(ManageApprovalRules), ""),
    ("Mutation", "approvePipelineNode", In(View), "and named in one of the node's rules (directly or through a team); not the pipeline's creator unless the rule allows self-approval"),
    ("Mutation", "revokePipelineNodeApproval", In(View), "one's own approval, while the node is pending"),
    ("Mutation", "rejectPipelineNode", In(View), "and named in one of the node's rules; advisory"),
    ("Mutation", "overridePipelineNodeApproval", In(ManageApprovalRules), "with a comment"),
    ("Subscription", "pipelineEvents", In(View), ""),
    ("Subscription", "jobLogEvents", In(View), ""),
    ("Subscription", "activity", In(View), "of an organization: the projects the caller sees; given no scope, everything the caller sees"),
];

/// The rule of `root`.`field`, if it has one.
#[cfg(test)]
pub fn rule_of(root: &str, field: &str) -> Option<Rule> {
    ROOT_FIELDS
        .iter()
        .find(|(r, f, _, _)| *r == root && *f == field)
        .map(|(_, _, rule, _)| *rule)
}

/// The docs table of root fields.
pub fn markdown_table() -> String {
    let mut s = String::from("| field | who may call it | note |\n|---|---|---|\n");
    for (root, field, rule, note) in ROOT_FIELDS {
        let who = match rule {
            Public => "anyone".to_string(),
            SignedIn => "any signed-in caller".to_string(),
            Listed => "any signed-in caller (lists what it may see)".to_string(),
            Admin => "system administrators".to_string(),
            TeamMaintainer => "administrators and the team's maintainers".to_string(),
            In(p) => format!("`{p:?}` ({} and above)", p.least_role().title()),
        };
        s.push_str(&format!("| `{root}.{field}` | {who} | {note} |\n"));
    }
    s
}
