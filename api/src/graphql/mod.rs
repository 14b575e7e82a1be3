//! The GraphQL API: schema roots, and how service errors become GraphQL.
//!
//! Mutations answer with a payload holding `problems` (a field, a template
//! line and column, a message) for anything the caller can fix; top-level
//! GraphQL errors are for authentication and faults, with
//! `extensions.code`.

pub(crate) mod abilities;
pub mod activity;
pub mod agent_sessions;
pub mod approvals;
pub mod enums;
pub mod environments;
pub mod identity;
pub mod ids;
pub mod loaders;
mod mutation;
pub mod notifications;
mod query;
pub mod releases;
pub mod session_cookie;
pub mod settings;
mod subscription;
pub mod todo;
pub mod types;

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions, Schema, SimpleObject};

use crate::auth::{AuthError, Claims};
use crate::service::{App, Problem as ServiceProblem, ServiceError};

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

pub type PhobosSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Who is calling: set per request by the HTTP layer.
pub struct Caller(pub Result<Claims, AuthError>);

/// How deeply a query may nest (seed 000 names no variable for it; the
/// deepest query of the UI and the tests is about 10).
pub const MAX_DEPTH: usize = 25;

pub fn build_schema(app: Arc<App>) -> PhobosSchema {
    let mut b = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot).data(app.clone());
    b = b.limit_depth(MAX_DEPTH);
    if app.config.max_graphql_complexity > 0 {
        b = b.limit_complexity(app.config.max_graphql_complexity);
    }
    b.finish()
}

/// The schema in GraphQL's schema language, as `ui/schema.graphql` keeps
/// it for the UI's type-checked queries.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .finish()
        .sdl()
}

pub(crate) fn app<'a>(ctx: &Context<'a>) -> &'a Arc<App> {
    ctx.data_unchecked::<Arc<App>>()
}

/// The caller's claims, or an UNAUTHENTICATED error.
pub(crate) fn authed<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Claims> {
    match ctx.data_opt::<Caller>() {
        Some(Caller(Ok(c))) => Ok(c),
        Some(Caller(Err(e))) => Err(gql_err(ServiceError::from(e.clone()))),
        None => Err(gql_err(ServiceError::from(AuthError::Missing))),
    }
}

/// A service error as a top-level GraphQL error with `extensions.code`.
pub(crate) fn gql_err(e: impl Into<ServiceError>) -> async_graphql::Error {
    let e: ServiceError = e.into();
    async_graphql::Error::new(e.message.clone())
        .extend_with(|_, ext| ext.set("code", e.code.as_str()))
}

/// Something the caller can fix.
#[derive(SimpleObject, Clone, Debug)]
pub struct Problem {
    /// What is wrong, and what to do.
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
    /// The line in the template (1-based), when the problem is in it.
    pub line: Option<u32>,
    /// The column in the template (1-based), when the problem is in it.
    pub column: Option<u32>,
    /// BAD_REQUEST, NOT_FOUND, FORBIDDEN, CONFLICT, TOO_LARGE …
    pub code: String,
}

/// The problems of a service error, for a payload; faults and auth errors
/// stay top-level errors.
pub(crate) fn problems(e: ServiceError) -> async_graphql::Result<Vec<Problem>> {
    use crate::service::Code::*;
    match e.code {
        Invalid | NotFound | Conflict | TooLarge | Forbidden | LimitExceeded => {
            let code = e.code.as_str().to_string();
            let list = if e.problems.is_empty() {
                vec![ServiceProblem {
                    message: e.message.clone(),
                    field: None,
                    line: None,
                    column: None,
                }]
            } else {
                e.problems
            };
            Ok(list
                .into_iter()
                .map(|p| Problem {
                    message: p.message,
                    field: p.field,
                    line: p.line,
                    column: p.column,
                    code: code.clone(),
                })
                .collect())
        }
        _ => Err(gql_err(e)),
    }
}

#[cfg(test)]
mod tests {
    /// The UI type-checks its queries against `ui/schema.graphql` at build
    /// time; it must be this schema, so that a change here breaks the UI's
    /// build rather than the UI at run time.
    #[test]
    fn the_uis_copy_of_the_schema_is_the_servers() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/schema.graphql");
        let copy = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            copy == super::sdl(),
            "ui/schema.graphql differs from the server's schema: run \
             `cargo run -p phobos-api -- schema > ui/schema.graphql`, then \
             `cargo xtask ui` to check the UI's queries against it"
        );
    }

    /// Every type, field, argument, input field and enum value of the
    /// schema has a description (graphql-schema-linter's description
    /// rules), so the schema documents itself.
    #[tokio::test]
    async fn every_schema_element_has_a_description() {
        use crate::graphql::{MutationRoot, QueryRoot, SubscriptionRoot};
        let schema =
            async_graphql::Schema::build(QueryRoot, MutationRoot, SubscriptionRoot).finish();
        let r = schema
            .execute(
                "{ __schema { types { name kind description \
                   fields { name description args { name description } } \
                   inputFields { name description } \
                   enumValues { name description } } } }",
            )
            .await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let v = r.data.into_json().unwrap();
        let empty = |d: &serde_json::Value| d.as_str().is_none_or(|s| s.trim().is_empty());
        let mut missing = Vec::new();
        for t in v["__schema"]["types"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            // The introspection types and the built-in scalars are GraphQL's.
            if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name)
            {
                continue;
            }
            // async-graphql's Relay `XConnection` types have no description
            // and no way to give one (their fields have); the one exception.
            let generated_connection = name.ends_with("Connection")
                && t["fields"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f["name"] == "pageInfo"));
            if empty(&t["description"]) && !generated_connection {
                missing.push(format!("type {name}"));
            }
            for f in t["fields"].as_array().into_iter().flatten() {
                let field = f["name"].as_str().unwrap();
                if empty(&f["description"]) {
                    missing.push(format!("field {name}.{field}"));
                }
                for a in f["args"].as_array().into_iter().flatten() {
                    if empty(&a["description"]) {
                        missing.push(format!(
                            "argument {name}.{field}({})",
                            a["name"].as_str().unwrap()
                        ));
                    }
                }
            }
            for f in t["inputFields"].as_array().into_iter().flatten() {
                if empty(&f["description"]) {
                    missing.push(format!(
                        "input field {name}.{}",
                        f["name"].as_str().unwrap()
                    ));
                }
            }
            for e in t["enumValues"].as_array().into_iter().flatten() {
                if empty(&e["description"]) {
                    missing.push(format!("enum value {name}.{}", e["name"].as_str().unwrap()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "{} schema elements have no description (add a doc comment, or `desc` on an argument):\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
}
