//! Authorization: the permission table, the rule of every root field, and
//! the caller's grants. Services call [`App::authorize`](crate::service::App)
//! before they read or write; transports never decide.

mod permissions;
mod rules;
mod subject;

#[cfg(test)]
use permissions::PERMISSIONS;
pub use permissions::{markdown_table as permissions_table, Permission};
#[cfg(test)]
use rules::rule_of;
pub use rules::{markdown_table as root_fields_table, Rule, ROOT_FIELDS};
pub use subject::{Decision, Scope, Subject};

/// The whole of `docs/permissions.md`.
pub fn docs_page() -> String {
    format!(
        "# Roles and permissions\n\n\
         Generated from `api/src/authz` by `phobos permissions`; do not edit by hand.\n\n\
         Roles are ordered: Owner includes Release Manager, which includes Developer, which includes Viewer. \
         An organization membership counts in all of its projects; a caller's role in a project is the highest of its \
         memberships there and in the organization, held directly or through a team. System administrators may do everything.\n\n\
         ## Permissions\n\n{}\n## Root fields\n\n{}",
        permissions_table(),
        root_fields_table()
    )
}

/// Every root field's rule as JSON, for tests that run the binary:
/// `[{"root", "field", "rule", "permission"?, "leastRole"?}]`.
pub fn rules_json() -> String {
    let rows: Vec<serde_json::Value> = ROOT_FIELDS
        .iter()
        .map(|(root, field, rule, _)| {
            let mut v = serde_json::json!({ "root": root, "field": field });
            let name = match rule {
                Rule::Public => "public",
                Rule::SignedIn => "signed_in",
                Rule::Listed => "listed",
                Rule::Admin => "admin",
                Rule::TeamMaintainer => "team_maintainer",
                Rule::In(p) => {
                    v["permission"] = format!("{p:?}").into();
                    v["leastRole"] = p.least_role().as_str().into();
                    "in"
                }
            };
            v["rule"] = name.into();
            v
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_one_row() {
        use Permission::*;
        let all = [
            View,
            RunPipelines,
            ManagePipelineTemplates,
            ManageServiceAccounts,
            ManageReleaseLifecycles,
            ManageEnvironmentProtectionRules,
            CreateProjects,
            ManageMemberships,
            ManageAgents,
            ManageEnvironments,
            ManageApprovalRules,
        ];
        for p in all {
            assert_eq!(
                PERMISSIONS.iter().filter(|(q, _, _)| *q == p).count(),
                1,
                "{p:?}"
            );
        }
        assert_eq!(PERMISSIONS.len(), all.len());
    }

    /// Walks the schema: every root field has a rule, and every rule names
    /// a field the schema has.
    #[tokio::test]
    async fn every_root_field_has_a_rule() {
        use crate::graphql::{MutationRoot, QueryRoot, SubscriptionRoot};
        let schema =
            async_graphql::Schema::build(QueryRoot, MutationRoot, SubscriptionRoot).finish();
        let r = schema
            .execute("{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }")
            .await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let v = r.data.into_json().unwrap();
        let mut seen = vec![];
        let mut missing = vec![];
        for (root, key) in [
            ("Query", "queryType"),
            ("Mutation", "mutationType"),
            ("Subscription", "subscriptionType"),
        ] {
            for f in v["__schema"][key]["fields"].as_array().unwrap() {
                let name = f["name"].as_str().unwrap().to_string();
                if rule_of(root, &name).is_none() {
                    missing.push(format!("{root}.{name}"));
                }
                seen.push((root, name));
            }
        }
        assert!(
            missing.is_empty(),
            "root fields without a rule in authz/rules.rs: {missing:?}"
        );
        for (root, field, _, _) in ROOT_FIELDS {
            assert!(
                seen.iter().any(|(r, f)| r == root && f == field),
                "authz/rules.rs has a rule for {root}.{field}, which the schema does not have"
            );
        }
    }

    #[test]
    fn the_docs_table_is_generated_from_the_data() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/permissions.md"
        ))
        .expect("docs/permissions.md");
        let expected = crate::authz::docs_page();
        assert!(
            doc == expected,
            "docs/permissions.md is stale: run `cargo run -p phobos-api --bin phobos -- permissions > docs/permissions.md`"
        );
    }
}
