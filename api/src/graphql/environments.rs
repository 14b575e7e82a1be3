//! Environment protection rules: who may start or approve a deployment
//! into an environment.

use async_graphql::{Context, InputObject, Result, SimpleObject, ID};
use phobos_core::events::aggregate;

use super::approvals::PrincipalRef;
use super::identity::Role;
use super::mutation::EnvironmentPayload;
use super::{app, authed, ids};
use crate::service::{Code, Protection, ProtectionInput, ServiceError};

/// Who may start or approve a deployment into an environment. Anyone
/// named, any member of a team named, and anyone holding one of the roles
/// (or a higher one) in the project; an unprotected environment lets
/// everyone who may run pipelines there.
#[derive(SimpleObject)]
pub struct EnvironmentProtectionRules {
    /// Whether any rule is set.
    pub protected: bool,
    /// The users, teams and service accounts allowed.
    pub principals: Vec<PrincipalRef>,
    /// The roles allowed (each with the roles above it).
    pub roles: Vec<Role>,
}

impl EnvironmentProtectionRules {
    pub(crate) fn of(env: &phobos_projections::queries::EnvironmentRow) -> Self {
        let p = Protection::of(env);
        let protected = p.is_some();
        let p = p.unwrap_or_default();
        EnvironmentProtectionRules {
            protected,
            principals: p
                .principals
                .iter()
                .map(|m| PrincipalRef {
                    kind: m.kind.into(),
                    name: m.name.clone(),
                })
                .collect(),
            roles: p.roles.into_iter().map(Role::from).collect(),
        }
    }
}

/// `updateEnvironmentProtectionRules`' input: the whole of the new rules
/// (all empty: the environment is unprotected again).
#[derive(InputObject)]
pub struct UpdateEnvironmentProtectionRulesInput {
    /// The environment.
    pub environment_id: ID,
    /// Users allowed, by username.
    #[graphql(default)]
    pub users: Vec<String>,
    /// Teams whose members are allowed, by name.
    #[graphql(default)]
    pub teams: Vec<String>,
    /// Service accounts allowed, by `ORG/NAME`, `ORG/PROJECT/NAME` or PRN.
    #[graphql(default)]
    pub service_accounts: Vec<String>,
    /// Roles allowed in the project (a higher role is allowed too).
    #[graphql(default)]
    pub roles: Vec<Role>,
}

pub(crate) async fn update_protection_rules(
    ctx: &Context<'_>,
    input: UpdateEnvironmentProtectionRulesInput,
) -> Result<EnvironmentPayload> {
    let claims = authed(ctx)?;
    let result = match ids::uuid_of(aggregate::ENVIRONMENT, &input.environment_id) {
        Some(id) => {
            let rules = ProtectionInput {
                users: input.users,
                teams: input.teams,
                service_accounts: input.service_accounts,
                roles: input.roles.into_iter().map(Into::into).collect(),
            };
            app(ctx)
                .update_environment_protection_rules(claims, id, rules)
                .await
        }
        None => Err(ServiceError::field(
            Code::Invalid,
            "environmentId",
            format!(
                "{:?} is not an environment id",
                input.environment_id.as_str()
            ),
        )),
    };
    super::mutation::environment_payload(ctx, result).await
}
