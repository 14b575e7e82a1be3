use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use phobos_core::events::aggregate;

use super::approvals::*;
use super::identity::{Membership, Role, ServiceAccount, Team};
use super::query::pipeline_by_id;
use super::types::*;
use super::{app, authed, gql_err, ids, problems, Problem};
use crate::service::{Code, ServiceError};

/// The GraphQL mutation root: everything that changes state.
pub struct MutationRoot;

/// `login`'s input: the built-in user's credentials.
#[derive(InputObject)]
pub struct LoginInput {
    /// The built-in user's email (`PHOBOS_ADMIN_USER_EMAIL`).
    pub email: String,
    /// Its password (`PHOBOS_ADMIN_USER_PASSWORD`).
    pub password: String,
}

/// `oidcLogin`'s input: what the provider's authorization endpoint sent
/// back to the browser, and the PKCE verifier the browser kept.
#[derive(InputObject)]
pub struct OidcLoginInput {
    /// The `code` of the redirect back from the provider.
    pub code: String,
    /// The PKCE `code_verifier` whose S256 challenge the authorization
    /// request carried.
    pub code_verifier: String,
    /// The `redirect_uri` the authorization request named (the provider
    /// checks they are the same).
    pub redirect_uri: String,
}

/// A session's tokens, or what was wrong.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send it as `Authorization: Bearer <accessToken>`; it lasts
    /// `PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES`.
    pub access_token: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Exchange it with `refreshSession` for new tokens (once); it lasts
    /// `PHOBOS_USER_SESSION_REFRESH_TOKEN_EXPIRATION_MINUTES`.
    pub refresh_token: Option<String>,
    /// When the refresh token expires.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// What was wrong, when there are no tokens.
    pub problems: Vec<Problem>,
}

/// `refreshSession`'s and `logout`'s input.
#[derive(InputObject)]
pub struct RefreshTokenInput {
    /// The refresh token `login` or `refreshSession` returned; left out,
    /// the browser's session cookie's (`phobos_refresh`).
    #[graphql(default)]
    pub refresh_token: Option<String>,
}

/// What `logout` did.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// What was wrong; empty when the session ended.
    pub problems: Vec<Problem>,
}

/// [`login_payload`], with the browser's session cookie set to the new
/// refresh token.
fn session_payload(
    ctx: &Context<'_>,
    r: Result<crate::service::SessionTokens, ServiceError>,
) -> LoginPayload {
    if let Ok(t) = &r {
        // As long as the refresh token lasts (it is renewed with each).
        let max_age = app(ctx).config.refresh_token_minutes * 60;
        super::session_cookie::set(ctx, &t.refresh_token, max_age);
    }
    login_payload(r)
}

/// The refresh token of the input or of the cookie, or the problem of its
/// absence.
fn refresh_token_of(ctx: &Context<'_>, input: RefreshTokenInput) -> Result<String, ServiceError> {
    super::session_cookie::token_of(ctx, input.refresh_token).ok_or_else(|| {
        ServiceError::field(
            Code::Unauthenticated,
            "refreshToken",
            "no refresh token: give the one login returned, or sign in again (this browser holds no session)",
        )
    })
}

fn login_payload(r: Result<crate::service::SessionTokens, ServiceError>) -> LoginPayload {
    match r {
        Ok(t) => LoginPayload {
            access_token: Some(t.access_token),
            expires_at: Some(t.expires_at),
            refresh_token: Some(t.refresh_token),
            refresh_expires_at: Some(t.refresh_expires_at),
            problems: vec![],
        },
        Err(e) => LoginPayload {
            access_token: None,
            expires_at: None,
            refresh_token: None,
            refresh_expires_at: None,
            problems: vec![Problem {
                message: e.message,
                field: e.problems.first().and_then(|p| p.field.clone()),
                line: None,
                column: None,
                code: e.code.as_str().to_string(),
            }],
        },
    }
}

/// `createOrganization`'s input.
#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// Unique: 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit.
    pub name: String,
    /// What the organization is for.
    #[graphql(default)]
    pub description: String,
}

/// An organization, or what was wrong.
#[derive(SimpleObject)]
pub struct OrganizationPayload {
    /// The organization created.
    pub organization: Option<Organization>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// `createProject`'s input.
#[derive(InputObject)]
pub struct CreateProjectInput {
    /// The organization, by name.
    pub organization_name: String,
    /// Unique in the organization: 1 to 64 lowercase letters, digits, '-' or '_',
    /// starting with a letter or digit.
    pub name: String,
    /// What the project is for.
    #[graphql(default)]
    pub description: String,
}

/// A project, or what was wrong.
#[derive(SimpleObject)]
pub struct ProjectPayload {
    /// The project created.
    pub project: Option<Project>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// `createPipelineTemplate`'s input.
#[derive(InputObject)]
pub struct CreatePipelineTemplateInput {
    /// The project it belongs to.
    pub project_id: ID,
    /// Its name; `template` when left out or empty.
    #[graphql(default)]
    pub name: String,
    /// The template's HCL text.
    pub hcl: String,
}

/// A pipeline template, or what was wrong.
#[derive(SimpleObject)]
pub struct PipelineTemplatePayload {
    /// The template stored.
    pub pipeline_template: Option<PipelineTemplate>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// A variable value, written as HCL for lists, maps and objects; as plain
/// text for strings, numbers and bools.
#[derive(InputObject)]
pub struct VariableInput {
    /// The variable's name.
    pub key: String,
    /// Its value: HCL for lists, maps and objects; plain text otherwise.
    pub value: String,
}

/// `createPipeline`'s input.
#[derive(InputObject)]
pub struct CreatePipelineInput {
    /// The template to run.
    pub pipeline_template_id: ID,
    /// Values for the template's variables.
    #[graphql(default)]
    pub variables: Vec<VariableInput>,
}

/// `startPipelineNode`'s input.
#[derive(InputObject)]
pub struct StartPipelineNodeInput {
    /// The pipeline.
    pub pipeline_id: ID,
    /// e.g. `stage.deploy.task.approve`.
    pub node_path: String,
}

/// How a schedule's start time is worked out.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
pub enum ScheduleType {
    /// `value`: an RFC 3339 time.
    Datetime,
    /// `expression` (5 fields) in `timezone` (IANA).
    Cron,
}

/// A node's schedule: a time (DATETIME) or a cron expression (CRON).
#[derive(InputObject)]
pub struct NodeScheduleInput {
    /// How the start time is worked out.
    #[graphql(name = "type")]
    pub schedule_type: ScheduleType,
    /// For DATETIME: an RFC 3339 time.
    pub value: Option<String>,
    /// For CRON: a cron expression of 5 fields.
    pub expression: Option<String>,
    /// For CRON: an IANA time zone, e.g. `Europe/Paris`.
    pub timezone: Option<String>,
}

/// `updatePipelineNodeSchedule`'s input.
#[derive(InputObject)]
pub struct UpdatePipelineNodeScheduleInput {
    /// The pipeline.
    pub pipeline_id: ID,
    /// e.g. `stage.deploy.task.approve`.
    pub node_path: String,
    /// null: the node has no schedule any more.
    pub schedule: Option<NodeScheduleInput>,
}

impl NodeScheduleInput {
    fn into_schedule(self) -> Result<phobos_core::template::model::Schedule, ServiceError> {
        use phobos_core::template::model::Schedule;
        let need = |v: Option<String>, name: &str| {
            v.filter(|s| !s.is_empty()).ok_or_else(|| {
                ServiceError::field(
                    Code::Invalid,
                    &format!("schedule.{name}"),
                    format!(
                        "a {} schedule needs `{name}`",
                        match self.schedule_type {
                            ScheduleType::Datetime => "DATETIME",
                            ScheduleType::Cron => "CRON",
                        }
                    ),
                )
            })
        };
        Ok(match self.schedule_type {
            ScheduleType::Datetime => Schedule::Datetime {
                value: need(self.value.clone(), "value")?,
            },
            ScheduleType::Cron => Schedule::Cron {
                expression: need(self.expression.clone(), "expression")?,
                timezone: need(self.timezone.clone(), "timezone")?,
            },
        })
    }
}

/// `retryPipelineNode`'s input.
#[derive(InputObject)]
pub struct RetryPipelineNodeInput {
    /// The pipeline.
    pub pipeline_id: ID,
    /// e.g. `stage.build.task.test`.
    pub node_path: String,
}

/// `createEnvironment`'s input.
#[derive(InputObject)]
pub struct CreateEnvironmentInput {
    /// The project it belongs to.
    pub project_id: ID,
    /// Lower-case letters, digits, `-` and `_`, as the templates'
    /// `environment = "…"` names it.
    pub name: String,
    /// What the environment is for.
    #[graphql(default)]
    pub description: String,
}

/// An environment, or what was wrong.
#[derive(SimpleObject)]
pub struct EnvironmentPayload {
    /// The environment created.
    pub environment: Option<Environment>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// `cancelPipeline`'s input.
#[derive(InputObject)]
pub struct CancelPipelineInput {
    /// The pipeline's id.
    pub id: ID,
    /// Cancel the jobs at once (SIGKILL), without waiting for them to stop;
    /// what they still report is refused.
    #[graphql(default)]
    pub force: bool,
}

/// `cancelPipelineNode`'s input.
#[derive(InputObject)]
pub struct CancelPipelineNodeInput {
    /// The pipeline.
    pub pipeline_id: ID,
    /// e.g. `stage.build.task.test`.
    pub node_path: String,
    /// As `cancelPipeline`'s.
    #[graphql(default)]
    pub force: bool,
}

/// A pipeline, or what was wrong.
#[derive(SimpleObject)]
pub struct PipelinePayload {
    /// The pipeline, as it is after the change.
    pub pipeline: Option<Pipeline>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

pub(crate) fn bad_id(field: &str, id: &ID) -> ServiceError {
    ServiceError::new(
        Code::Invalid,
        format!("{field} {:?} is not an id", id.as_str()),
    )
}

/// Which jobs an agent may take.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
pub enum AgentType {
    /// Only jobs of its organization's projects.
    Organization,
    /// Jobs of every organization.
    Shared,
}

impl From<AgentType> for phobos_core::events::AgentType {
    fn from(t: AgentType) -> Self {
        match t {
            AgentType::Organization => Self::Organization,
            AgentType::Shared => Self::Shared,
        }
    }
}

/// `createAgent`'s input.
#[derive(InputObject)]
pub struct CreateAgentInput {
    /// 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit.
    pub name: String,
    /// Which jobs it may take; only administrators create SHARED agents.
    #[graphql(name = "type")]
    pub agent_type: AgentType,
    /// Required for ORGANIZATION agents.
    pub organization_name: Option<String>,
    /// Its tags, each 1 to 64 characters.
    #[graphql(default)]
    pub tags: Vec<String>,
    /// Whether it takes jobs that need no tags.
    #[graphql(default = true)]
    pub run_untagged_jobs: bool,
}

/// `updateAgent`'s input: what is given changes.
#[derive(InputObject)]
pub struct UpdateAgentInput {
    /// The agent's id.
    pub id: ID,
    /// Replaces its tags; unchanged when left out.
    pub tags: Option<Vec<String>>,
    /// Whether it takes jobs that need no tags; unchanged when left out.
    pub run_untagged_jobs: Option<bool>,
}

/// `deleteAgent`'s input: an agent, by id.
#[derive(InputObject)]
pub struct AgentIdInput {
    /// The agent's id.
    pub id: ID,
}

/// `assignServiceAccountToAgent`'s input.
#[derive(InputObject)]
pub struct AssignServiceAccountToAgentInput {
    /// The organization agent.
    pub agent_id: ID,
    /// The service account that will sign in as it: `ORG/NAME` (or its
    /// PRN), of the agent's organization.
    pub service_account_path: String,
}

/// `unassignServiceAccountFromAgent`'s input.
#[derive(InputObject)]
pub struct UnassignServiceAccountFromAgentInput {
    /// The organization agent.
    pub agent_id: ID,
}

/// `createAgentToken`'s input.
#[derive(InputObject)]
pub struct CreateAgentTokenInput {
    /// The agent the token is for.
    pub agent_id: ID,
}

/// An agent, or what was wrong.
#[derive(SimpleObject)]
pub struct AgentPayload {
    /// The agent, after the change (as it was, for a deletion).
    pub agent: Option<Agent>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// A new agent token, or what was wrong.
#[derive(SimpleObject)]
pub struct AgentTokenPayload {
    /// The credential, shown this once: the server keeps only its hash.
    /// Start the agent with it (`PHOBOS_AGENT_TOKEN`).
    pub token: Option<String>,
    /// The agent it is for.
    pub agent: Option<Agent>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

fn agent_payload(
    result: Result<phobos_projections::queries::AgentRow, ServiceError>,
) -> Result<AgentPayload> {
    match result {
        Ok(a) => Ok(AgentPayload {
            agent: Some(a.into()),
            problems: vec![],
        }),
        Err(e) => Ok(AgentPayload {
            agent: None,
            problems: problems(e)?,
        }),
    }
}

/// The payload of a pipeline mutation: the pipeline as it is now, or the
/// problems of the refusal.
async fn pipeline_payload(
    ctx: &Context<'_>,
    result: Result<phobos_projections::queries::PipelineRow, ServiceError>,
) -> Result<PipelinePayload> {
    match result {
        Ok(p) => Ok(PipelinePayload {
            pipeline: pipeline_by_id(ctx, p.id).await?,
            problems: vec![],
        }),
        Err(e) => Ok(PipelinePayload {
            pipeline: None,
            problems: problems(e)?,
        }),
    }
}

/// `createTeam`'s input.
#[derive(InputObject)]
pub struct CreateTeamInput {
    /// Unique: 1 to 64 lowercase letters, digits, '-' or '_'.
    pub name: String,
    /// What the team is for.
    #[graphql(default)]
    pub description: String,
}

/// `addTeamMember`'s input.
#[derive(InputObject)]
pub struct AddTeamMemberInput {
    /// The team's name.
    pub team_name: String,
    /// The user's username (it must have signed in once).
    pub username: String,
    /// Whether it may add and remove the team's members.
    #[graphql(default)]
    pub maintainer: bool,
}

/// `removeTeamMember`'s input.
#[derive(InputObject)]
pub struct RemoveTeamMemberInput {
    /// The team's name.
    pub team_name: String,
    /// The member's username.
    pub username: String,
}

/// A team, or what was wrong.
#[derive(SimpleObject)]
pub struct TeamPayload {
    /// The team, after the change.
    pub team: Option<Team>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// `createMembership`'s input: one scope (`organizationName` or
/// `projectId`) and one principal (`username`, `teamName` or
/// `serviceAccount`).
#[derive(InputObject)]
pub struct CreateMembershipInput {
    /// The organization, for an organization membership.
    pub organization_name: Option<String>,
    /// The project, for a project membership.
    pub project_id: Option<ID>,
    /// A user, by username.
    pub username: Option<String>,
    /// A team, by name.
    pub team_name: Option<String>,
    /// A service account, by path or PRN.
    pub service_account: Option<String>,
    /// The role it grants.
    pub role: Role,
}

/// `updateMembership`'s input.
#[derive(InputObject)]
pub struct UpdateMembershipInput {
    /// The membership's id.
    pub id: ID,
    /// Its new role.
    pub role: Role,
}

/// `deleteMembership`'s input.
#[derive(InputObject)]
pub struct DeleteMembershipInput {
    /// The membership's id.
    pub id: ID,
}

/// A membership, or what was wrong.
#[derive(SimpleObject)]
pub struct MembershipPayload {
    /// The membership (as it was, for a deletion).
    pub membership: Option<Membership>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

fn exactly_one<'a>(
    fields: &[(&str, Option<&'a str>)],
) -> Result<(String, &'a str), crate::service::ServiceError> {
    let given: Vec<(&str, &str)> = fields
        .iter()
        .filter_map(|(f, v)| v.map(|v| (*f, v)))
        .collect();
    match given.as_slice() {
        [(f, v)] => Ok((f.to_string(), *v)),
        _ => {
            let names: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
            Err(ServiceError::field(
                Code::Invalid,
                names[0],
                format!("give exactly one of {}", names.join(", ")),
            ))
        }
    }
}

async fn team_payload(
    r: Result<phobos_projections::identity::TeamRow, ServiceError>,
) -> Result<TeamPayload> {
    match r {
        Ok(t) => Ok(TeamPayload {
            team: Some(Team(t)),
            problems: vec![],
        }),
        Err(e) => Ok(TeamPayload {
            team: None,
            problems: problems(e)?,
        }),
    }
}

fn membership_payload(
    r: Result<phobos_projections::identity::MembershipRow, ServiceError>,
) -> Result<MembershipPayload> {
    match r {
        Ok(m) => Ok(MembershipPayload {
            membership: Some(Membership(m)),
            problems: vec![],
        }),
        Err(e) => Ok(MembershipPayload {
            membership: None,
            problems: problems(e)?,
        }),
    }
}

async fn decide(
    ctx: &Context<'_>,
    pipeline_id: &ID,
    node_path: &str,
    decision: crate::service::Decision,
) -> Result<PipelinePayload> {
    let claims = authed(ctx)?;
    let result = match ids::uuid_of(aggregate::PIPELINE, pipeline_id) {
        Some(id) => {
            app(ctx)
                .decide_approval(claims, id, node_path, decision)
                .await
        }
        None => Err(bad_id("pipelineId", pipeline_id)),
    };
    pipeline_payload(ctx, result).await
}

/// A claim a token must carry.
#[derive(InputObject)]
pub struct BoundClaimInput {
    /// The claim, e.g. `sub`.
    pub name: String,
    /// Its required value.
    pub value: String,
}

/// A trust policy: an issuer and the claims its tokens must carry (at
/// least one).
#[derive(InputObject)]
pub struct TrustPolicyInput {
    /// The issuer's URL.
    pub issuer: String,
    /// The claims its tokens must carry.
    pub bound_claims: Vec<BoundClaimInput>,
}

fn policies(input: Vec<TrustPolicyInput>) -> Vec<phobos_core::events::TrustPolicy> {
    crate::service::policies_of(
        input
            .into_iter()
            .map(|p| {
                (
                    p.issuer,
                    p.bound_claims
                        .into_iter()
                        .map(|c| (c.name, c.value))
                        .collect(),
                )
            })
            .collect(),
    )
}

/// `createServiceAccount`'s input: one scope (`organizationName` or
/// `projectId`).
#[derive(InputObject)]
pub struct CreateServiceAccountInput {
    /// The organization, for an account usable in all its projects.
    pub organization_name: Option<String>,
    /// The project, for an account of that project only.
    pub project_id: Option<ID>,
    /// Unique in its scope.
    pub name: String,
    /// What it is for.
    #[graphql(default)]
    pub description: String,
    /// Which OIDC tokens it may be signed in with (at least one).
    pub oidc_trust_policies: Vec<TrustPolicyInput>,
}

/// `updateServiceAccount`'s input: what is given changes.
#[derive(InputObject)]
pub struct UpdateServiceAccountInput {
    /// The account's id.
    pub id: ID,
    /// A new description.
    pub description: Option<String>,
    /// Its trust policies, replacing the old ones.
    pub oidc_trust_policies: Option<Vec<TrustPolicyInput>>,
}

/// A service account, or what was wrong.
#[derive(SimpleObject)]
pub struct ServiceAccountPayload {
    /// The account, after the change.
    pub service_account: Option<ServiceAccount>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// `serviceAccountCreateToken`'s input.
#[derive(InputObject)]
pub struct ServiceAccountCreateTokenInput {
    /// `ORG/NAME`, `ORG/PROJECT/NAME`, or the account's PRN.
    pub service_account_path: String,
    /// An OIDC token (e.g. a CI job's) one of its trust policies accepts.
    pub token: String,
}

/// A service account's token, or what was wrong.
#[derive(SimpleObject)]
pub struct ServiceAccountTokenPayload {
    /// Send it as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// What was wrong, when there is no token.
    pub problems: Vec<Problem>,
}

fn service_account_payload(
    r: Result<phobos_projections::identity::ServiceAccountRow, ServiceError>,
) -> Result<ServiceAccountPayload> {
    match r {
        Ok(s) => Ok(ServiceAccountPayload {
            service_account: Some(ServiceAccount(s)),
            problems: vec![],
        }),
        Err(e) => Ok(ServiceAccountPayload {
            service_account: None,
            problems: problems(e)?,
        }),
    }
}

/// `updateResourceLimit`'s input.
#[derive(InputObject)]
pub struct UpdateResourceLimitInput {
    /// The limit, e.g. `ResourceLimitProjectsPerOrganization`.
    pub name: String,
    /// Its new value (0 or more).
    pub value: i32,
}

/// A resource limit, or what was wrong.
#[derive(SimpleObject)]
pub struct ResourceLimitPayload {
    /// The limit, after the change.
    pub resource_limit: Option<ResourceLimit>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// Everything that changes state; each answers with a payload whose `problems`
/// say what the caller can fix.
#[Object]
impl MutationRoot {
    /// Creates a release lifecycle of an organization (usable by all its
    /// projects) or a project (Release Managers and Owners). Its template
    /// is version 1.
    async fn create_release_lifecycle(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lifecycle to create.")]
        input: super::releases::CreateReleaseLifecycleInput,
    ) -> Result<super::releases::ReleaseLifecyclePayload> {
        super::releases::create_lifecycle(ctx, input).await
    }

    /// A new version of a lifecycle's template; releases already made keep
    /// the version they were made with.
    async fn update_release_lifecycle(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lifecycle and its new template.")]
        input: super::releases::UpdateReleaseLifecycleInput,
    ) -> Result<super::releases::ReleaseLifecyclePayload> {
        super::releases::update_lifecycle(ctx, input).await
    }

    /// Creates a release (Developers and above): an immutable snapshot of
    /// the lifecycle's template, each environment's deployment template
    /// and the variables, and starts its lifecycle pipeline.
    async fn create_release(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The release to create.")] input: super::releases::CreateReleaseInput,
    ) -> Result<super::releases::ReleasePayload> {
        super::releases::create_release(ctx, input).await
    }

    /// Changes a release's notes, due date or participants (nothing else
    /// of a release changes).
    async fn update_release(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The release and what changes.")]
        input: super::releases::UpdateReleaseInput,
    ) -> Result<super::releases::ReleasePayload> {
        super::releases::update_release(ctx, input).await
    }

    /// Sets who may start or approve a deployment into an environment
    /// (Owners and Release Managers): users, teams, service accounts and
    /// roles. A start or approval by anyone else is FORBIDDEN. All empty:
    /// the environment is unprotected.
    async fn update_environment_protection_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The environment and its new rules.")]
        input: super::environments::UpdateEnvironmentProtectionRulesInput,
    ) -> Result<EnvironmentPayload> {
        super::environments::update_protection_rules(ctx, input).await
    }

    /// Changes a resource limit (administrators only); creates already over
    /// a lowered limit stay.
    async fn update_resource_limit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The limit and its new value.")] input: UpdateResourceLimitInput,
    ) -> Result<ResourceLimitPayload> {
        let claims = authed(ctx)?;
        match app(ctx)
            .update_resource_limit(claims, &input.name, input.value)
            .await
        {
            Ok((name, value)) => Ok(ResourceLimitPayload {
                resource_limit: Some(ResourceLimit::of(name, value)),
                problems: vec![],
            }),
            Err(e) => Ok(ResourceLimitPayload {
                resource_limit: None,
                problems: problems(e)?,
            }),
        }
    }

    /// Creates a service account of an organization or a project (Release
    /// Managers and Owners).
    async fn create_service_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to create.")] input: CreateServiceAccountInput,
    ) -> Result<ServiceAccountPayload> {
        let claims = authed(ctx)?;
        let project = input.project_id.as_ref().map(|p| p.as_str());
        let r = async {
            let (field, value) = exactly_one(&[
                ("organizationName", input.organization_name.as_deref()),
                ("projectId", project),
            ])?;
            let at = if field == "projectId" {
                let id = ids::uuid_of(aggregate::PROJECT, value).ok_or_else(|| {
                    ServiceError::field(
                        Code::Invalid,
                        "projectId",
                        format!("{value:?} is not a project id"),
                    )
                })?;
                crate::service::MembershipScope::Project(id)
            } else {
                crate::service::MembershipScope::Organization(value)
            };
            app(ctx)
                .create_service_account(
                    claims,
                    at,
                    &input.name,
                    &input.description,
                    policies(input.oidc_trust_policies),
                )
                .await
        }
        .await;
        service_account_payload(r)
    }

    /// Changes a service account's description or trust policies.
    async fn update_service_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and what changes.")] input: UpdateServiceAccountInput,
    ) -> Result<ServiceAccountPayload> {
        let claims = authed(ctx)?;
        let r = match ids::uuid_of(aggregate::SERVICE_ACCOUNT, &input.id) {
            Some(id) => {
                app(ctx)
                    .update_service_account(
                        claims,
                        id,
                        input.description,
                        input.oidc_trust_policies.map(policies),
                    )
                    .await
            }
            None => Err(bad_id("id", &input.id)),
        };
        service_account_payload(r)
    }

    /// Exchanges an external OIDC token that one of the service account's
    /// trust policies accepts for a token of the account (an hour).
    async fn service_account_create_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and the OIDC token.")] input: ServiceAccountCreateTokenInput,
    ) -> Result<ServiceAccountTokenPayload> {
        Ok(
            match app(ctx)
                .service_account_token(&input.service_account_path, &input.token)
                .await
            {
                Ok((token, expires_at)) => ServiceAccountTokenPayload {
                    token: Some(token),
                    expires_at: Some(expires_at),
                    problems: vec![],
                },
                Err(e) => ServiceAccountTokenPayload {
                    token: None,
                    expires_at: None,
                    problems: vec![Problem {
                        message: e.message.clone(),
                        field: e.problems.first().and_then(|p| p.field.clone()),
                        line: None,
                        column: None,
                        code: e.code.as_str().to_string(),
                    }],
                },
            },
        )
    }

    /// Creates an approval rule of an organization or a project (Owners).
    async fn create_approval_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule to create.")] input: CreateApprovalRuleInput,
    ) -> Result<ApprovalRulePayload> {
        let claims = authed(ctx)?;
        let project = input.project_id.as_ref().map(|p| p.as_str());
        let r = async {
            let (field, value) = exactly_one(&[
                ("organizationName", input.organization_name.as_deref()),
                ("projectId", project),
            ])?;
            let at = if field == "projectId" {
                let id = ids::uuid_of(aggregate::PROJECT, value).ok_or_else(|| {
                    ServiceError::field(
                        Code::Invalid,
                        "projectId",
                        format!("{value:?} is not a project id"),
                    )
                })?;
                crate::service::MembershipScope::Project(id)
            } else {
                crate::service::MembershipScope::Organization(value)
            };
            let rule = crate::service::RuleInput {
                description: Some(input.description.clone()),
                users: Some(input.users.clone()),
                teams: Some(input.teams.clone()),
                service_accounts: Some(input.service_accounts.clone()),
                approvals_required: Some(input.approvals_required),
                allow_self_approval: Some(input.allow_self_approval),
            };
            app(ctx)
                .create_approval_rule(claims, at, &input.name, rule)
                .await
        }
        .await;
        rule_payload(r)
    }

    /// Changes an approval rule (Owners of its scope). Nodes that fixed it
    /// already keep what they fixed.
    async fn update_approval_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule and what changes.")] input: UpdateApprovalRuleInput,
    ) -> Result<ApprovalRulePayload> {
        let claims = authed(ctx)?;
        let r = match ids::uuid_of(aggregate::APPROVAL_RULE, &input.id) {
            Some(id) => {
                let rule = crate::service::RuleInput {
                    description: input.description,
                    users: input.users,
                    teams: input.teams,
                    service_accounts: input.service_accounts,
                    approvals_required: input.approvals_required,
                    allow_self_approval: input.allow_self_approval,
                };
                app(ctx).change_approval_rule(claims, id, Some(rule)).await
            }
            None => Err(bad_id("id", &input.id)),
        };
        rule_payload(r)
    }

    /// Deletes an approval rule (Owners of its scope).
    async fn delete_approval_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule to delete.")] input: DeleteApprovalRuleInput,
    ) -> Result<ApprovalRulePayload> {
        let claims = authed(ctx)?;
        let r = match ids::uuid_of(aggregate::APPROVAL_RULE, &input.id) {
            Some(id) => app(ctx).change_approval_rule(claims, id, None).await,
            None => Err(bad_id("id", &input.id)),
        };
        rule_payload(r)
    }

    /// Approves an APPROVAL_PENDING node, for each of its rules that names
    /// the caller (directly or through a team). Refused (FORBIDDEN) for a
    /// caller no rule names, and for the pipeline's creator where a rule
    /// does not allow self-approval.
    async fn approve_pipeline_node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node to approve.")] input: PipelineNodeApprovalInput,
    ) -> Result<PipelinePayload> {
        decide(
            ctx,
            &input.pipeline_id,
            &input.node_path,
            crate::service::Decision::Approve,
        )
        .await
    }

    /// Takes the caller's approval of a node back, while it is pending.
    async fn revoke_pipeline_node_approval(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node whose approval to revoke.")] input: PipelineNodeApprovalInput,
    ) -> Result<PipelinePayload> {
        decide(
            ctx,
            &input.pipeline_id,
            &input.node_path,
            crate::service::Decision::Revoke,
        )
        .await
    }

    /// Records an advisory rejection of a pending node, with a comment; the
    /// node stays pending.
    async fn reject_pipeline_node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node and the comment.")] input: PipelineNodeCommentInput,
    ) -> Result<PipelinePayload> {
        decide(
            ctx,
            &input.pipeline_id,
            &input.node_path,
            crate::service::Decision::Reject(input.comment),
        )
        .await
    }

    /// Lets a pending node go on without its approvals (Owners), with a
    /// required comment, recorded as an override.
    async fn override_pipeline_node_approval(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node and the comment.")] input: PipelineNodeCommentInput,
    ) -> Result<PipelinePayload> {
        decide(
            ctx,
            &input.pipeline_id,
            &input.node_path,
            crate::service::Decision::Override(input.comment),
        )
        .await
    }

    /// Creates a team (administrators only).
    async fn create_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team to create.")] input: CreateTeamInput,
    ) -> Result<TeamPayload> {
        let claims = authed(ctx)?;
        team_payload(
            app(ctx)
                .create_team(claims, &input.name, &input.description)
                .await,
        )
        .await
    }

    /// Adds a user to a team (administrators and the team's maintainers).
    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team and the user to add.")] input: AddTeamMemberInput,
    ) -> Result<TeamPayload> {
        let claims = authed(ctx)?;
        team_payload(
            app(ctx)
                .change_team_member(
                    claims,
                    &input.team_name,
                    &input.username,
                    Some(input.maintainer),
                )
                .await,
        )
        .await
    }

    /// Removes a user from a team (administrators and the team's maintainers).
    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team and the member to remove.")] input: RemoveTeamMemberInput,
    ) -> Result<TeamPayload> {
        let claims = authed(ctx)?;
        team_payload(
            app(ctx)
                .change_team_member(claims, &input.team_name, &input.username, None)
                .await,
        )
        .await
    }

    /// Grants a role in an organization or a project to a user, a team or
    /// a service account (Owners of the scope).
    async fn create_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The scope, the principal and the role.")] input: CreateMembershipInput,
    ) -> Result<MembershipPayload> {
        let claims = authed(ctx)?;
        let project = input.project_id.as_ref().map(|p| p.as_str());
        let r = async {
            let (scope_field, scope_value) = exactly_one(&[
                ("organizationName", input.organization_name.as_deref()),
                ("projectId", project),
            ])?;
            let at = if scope_field == "projectId" {
                let id = ids::uuid_of(aggregate::PROJECT, scope_value).ok_or_else(|| {
                    ServiceError::field(
                        Code::Invalid,
                        "projectId",
                        format!("{scope_value:?} is not a project id"),
                    )
                })?;
                crate::service::MembershipScope::Project(id)
            } else {
                crate::service::MembershipScope::Organization(scope_value)
            };
            let (member_field, name) = exactly_one(&[
                ("username", input.username.as_deref()),
                ("teamName", input.team_name.as_deref()),
                ("serviceAccount", input.service_account.as_deref()),
            ])?;
            let kind = match member_field.as_str() {
                "username" => phobos_core::access::MemberKind::User,
                "teamName" => phobos_core::access::MemberKind::Team,
                _ => phobos_core::access::MemberKind::ServiceAccount,
            };
            app(ctx)
                .create_membership(claims, at, kind, name, input.role.into())
                .await
        }
        .await;
        membership_payload(r)
    }

    /// Changes a membership's role (Owners of its scope).
    async fn update_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The membership and its new role.")] input: UpdateMembershipInput,
    ) -> Result<MembershipPayload> {
        let claims = authed(ctx)?;
        let r = match ids::uuid_of(aggregate::MEMBERSHIP, &input.id) {
            Some(id) => {
                app(ctx)
                    .change_membership(claims, id, Some(input.role.into()))
                    .await
            }
            None => Err(ServiceError::field(
                Code::Invalid,
                "id",
                format!("{:?} is not a membership id", input.id.as_str()),
            )),
        };
        membership_payload(r)
    }

    /// Removes a membership (Owners of its scope).
    async fn delete_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The membership to remove.")] input: DeleteMembershipInput,
    ) -> Result<MembershipPayload> {
        let claims = authed(ctx)?;
        let r = match ids::uuid_of(aggregate::MEMBERSHIP, &input.id) {
            Some(id) => app(ctx).change_membership(claims, id, None).await,
            None => Err(ServiceError::field(
                Code::Invalid,
                "id",
                format!("{:?} is not a membership id", input.id.as_str()),
            )),
        };
        membership_payload(r)
    }

    /// Signs in the built-in admin user; send the token as
    /// `Authorization: Bearer <accessToken>`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The built-in user's credentials.")] input: LoginInput,
    ) -> Result<LoginPayload> {
        Ok(session_payload(
            ctx,
            app(ctx).login(&input.email, &input.password).await,
        ))
    }

    /// Signs in a user of the OIDC provider (`PHOBOS_OAUTH_PROVIDERS_0_*`)
    /// with the authorization code the browser received: the server
    /// exchanges it (PKCE, public client), verifies the ID token and
    /// starts a session, as `login` does for the built-in user.
    async fn oidc_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code and PKCE verifier.")] input: OidcLoginInput,
    ) -> Result<LoginPayload> {
        Ok(session_payload(
            ctx,
            app(ctx)
                .oidc_login(&input.code, &input.code_verifier, &input.redirect_uri)
                .await,
        ))
    }

    /// New tokens for a refresh token (which then no longer works): the
    /// input's, or the browser's session cookie's.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token to exchange.")] input: RefreshTokenInput,
    ) -> Result<LoginPayload> {
        let r = match refresh_token_of(ctx, input) {
            Ok(t) => app(ctx).refresh_session(&t).await,
            Err(e) => Err(e),
        };
        if r.is_err() {
            super::session_cookie::clear(ctx);
        }
        Ok(session_payload(ctx, r))
    }

    /// Ends the session of a refresh token. Its access tokens stay valid
    /// until they expire (minutes).
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The session's refresh token.")] input: RefreshTokenInput,
    ) -> Result<LogoutPayload> {
        super::session_cookie::clear(ctx);
        let r = match refresh_token_of(ctx, input) {
            Ok(t) => app(ctx).logout(&t).await,
            Err(e) => Err(e),
        };
        Ok(LogoutPayload {
            problems: match r {
                Ok(()) => vec![],
                Err(e) => login_payload(Err(e)).problems,
            },
        })
    }

    /// Creates an organization (administrators only).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to create.")] input: CreateOrganizationInput,
    ) -> Result<OrganizationPayload> {
        let claims = authed(ctx)?;
        match app(ctx)
            .create_organization(claims, &input.name, &input.description)
            .await
        {
            Ok(o) => Ok(OrganizationPayload {
                organization: Some(Organization(o)),
                problems: vec![],
            }),
            Err(e) => Ok(OrganizationPayload {
                organization: None,
                problems: problems(e)?,
            }),
        }
    }

    /// Creates a project in an organization (the organization's Owners).
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to create.")] input: CreateProjectInput,
    ) -> Result<ProjectPayload> {
        let claims = authed(ctx)?;
        match app(ctx)
            .create_project(
                claims,
                &input.organization_name,
                &input.name,
                &input.description,
            )
            .await
        {
            Ok(p) => Ok(ProjectPayload {
                project: Some(Project(p)),
                problems: vec![],
            }),
            Err(e) => Ok(ProjectPayload {
                project: None,
                problems: problems(e)?,
            }),
        }
    }

    /// Checks the HCL with the template engine and stores it. Errors come
    /// back as problems with line and column.
    async fn create_pipeline_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project and the HCL.")] input: CreatePipelineTemplateInput,
    ) -> Result<PipelineTemplatePayload> {
        let claims = authed(ctx)?;
        let app = app(ctx);
        let result = match ids::uuid_of(aggregate::PROJECT, &input.project_id) {
            Some(pid) => {
                app.create_pipeline_template(claims, &pid.to_string(), &input.name, &input.hcl)
                    .await
            }
            None => Err(bad_id("projectId", &input.project_id)),
        };
        match result {
            Ok(t) => {
                let project = phobos_projections::queries::project(&app.pool, t.project_id)
                    .await
                    .map_err(gql_err)?
                    .ok_or_else(|| {
                        gql_err(ServiceError::new(
                            Code::Internal,
                            "project missing from the read model",
                        ))
                    })?;
                Ok(PipelineTemplatePayload {
                    pipeline_template: Some(PipelineTemplate(t, project)),
                    problems: vec![],
                })
            }
            Err(e) => Ok(PipelineTemplatePayload {
                pipeline_template: None,
                problems: problems(e)?,
            }),
        }
    }

    /// Creates and starts a pipeline from a template and variable values.
    async fn create_pipeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template and the variable values.")] input: CreatePipelineInput,
    ) -> Result<PipelinePayload> {
        let claims = authed(ctx)?;
        let vars: Vec<(String, String)> = input
            .variables
            .into_iter()
            .map(|v| (v.key, v.value))
            .collect();
        let result = match ids::uuid_of(aggregate::PIPELINE_TEMPLATE, &input.pipeline_template_id) {
            Some(tid) => {
                app(ctx)
                    .create_pipeline(claims, &tid.to_string(), &vars)
                    .await
            }
            None => Err(bad_id("pipelineTemplateId", &input.pipeline_template_id)),
        };
        pipeline_payload(ctx, result).await
    }

    /// Starts a WAITING node (`when = "manual"`). A node in any other
    /// state is refused with a CONFLICT problem naming its state.
    async fn start_pipeline_node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node to start.")] input: StartPipelineNodeInput,
    ) -> Result<PipelinePayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::PIPELINE, &input.pipeline_id) {
            Some(id) => {
                app(ctx)
                    .start_pipeline_node(claims, id, &input.node_path)
                    .await
            }
            None => Err(bad_id("pipelineId", &input.pipeline_id)),
        };
        pipeline_payload(ctx, result).await
    }

    /// Sets (or, with `schedule: null`, removes) the schedule of a node that
    /// has not started: CREATED, BLOCKED, or SCHEDULED by its schedule (not
    /// a gate between attempts). The new time is checked like the
    /// template's; a SCHEDULED node is scheduled again at once.
    async fn update_pipeline_node_schedule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node and its schedule.")] input: UpdatePipelineNodeScheduleInput,
    ) -> Result<PipelinePayload> {
        let claims = authed(ctx)?;
        let schedule = input
            .schedule
            .map(NodeScheduleInput::into_schedule)
            .transpose();
        let result = match (
            ids::uuid_of(aggregate::PIPELINE, &input.pipeline_id),
            schedule,
        ) {
            (_, Err(e)) => Err(e),
            (Some(id), Ok(schedule)) => {
                app(ctx)
                    .update_pipeline_node_schedule(claims, id, &input.node_path, schedule)
                    .await
            }
            (None, _) => Err(bad_id("pipelineId", &input.pipeline_id)),
        };
        pipeline_payload(ctx, result).await
    }

    /// Runs a FAILED or CANCELED node again, as a new attempt with its own
    /// job; the nodes its end skipped, its stage and the pipeline run again.
    /// Any other state is refused with a CONFLICT problem naming it.
    async fn retry_pipeline_node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node to retry.")] input: RetryPipelineNodeInput,
    ) -> Result<PipelinePayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::PIPELINE, &input.pipeline_id) {
            Some(id) => {
                app(ctx)
                    .retry_pipeline_node(claims, id, &input.node_path)
                    .await
            }
            None => Err(bad_id("pipelineId", &input.pipeline_id)),
        };
        pipeline_payload(ctx, result).await
    }

    /// A project's environment. Deployment pipelines also create theirs
    /// on first use; a name the project has already is a CONFLICT problem.
    async fn create_environment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to create.")] input: CreateEnvironmentInput,
    ) -> Result<EnvironmentPayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::PROJECT, &input.project_id) {
            Some(project) => {
                app(ctx)
                    .create_environment(claims, project, &input.name, &input.description)
                    .await
            }
            None => Err(bad_id("projectId", &input.project_id)),
        };
        environment_payload(ctx, result).await
    }

    /// Stops a pipeline. Nodes that have not started are CANCELED; a job
    /// in flight is asked to stop (its commands get SIGTERM, then SIGKILL
    /// after `PHOBOS_JOB_CANCEL_GRACE_SECONDS`), its node is CANCELING until
    /// it reports CANCELED. `force`: jobs and nodes are CANCELED at once.
    /// A finished pipeline, or one CANCELING without `force`, is refused
    /// with a CONFLICT problem.
    async fn cancel_pipeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pipeline to cancel.")] input: CancelPipelineInput,
    ) -> Result<PipelinePayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::PIPELINE, &input.id) {
            Some(id) => app(ctx).cancel_pipeline(claims, id, input.force).await,
            None => Err(bad_id("id", &input.id)),
        };
        pipeline_payload(ctx, result).await
    }

    /// Stops one node, as `cancelPipeline` stops all; its siblings that
    /// have not started are then skipped, and its stage ends CANCELED.
    async fn cancel_pipeline_node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node to cancel.")] input: CancelPipelineNodeInput,
    ) -> Result<PipelinePayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::PIPELINE, &input.pipeline_id) {
            Some(id) => {
                app(ctx)
                    .cancel_pipeline_node(claims, id, &input.node_path, input.force)
                    .await
            }
            None => Err(bad_id("pipelineId", &input.pipeline_id)),
        };
        pipeline_payload(ctx, result).await
    }

    /// An agent that runs jobs: SHARED (every organization's) or
    /// ORGANIZATION (its own). Shared agents: administrators; an
    /// organization's: its Owners.
    async fn create_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to create.")] input: CreateAgentInput,
    ) -> Result<AgentPayload> {
        let claims = authed(ctx)?;
        let new = crate::service::NewAgent {
            name: &input.name,
            agent_type: input.agent_type.into(),
            organization_name: input.organization_name.as_deref(),
            tags: input.tags,
            run_untagged_jobs: input.run_untagged_jobs,
        };
        agent_payload(app(ctx).create_agent(claims, new).await)
    }

    /// Changes an agent's tags or whether it takes untagged jobs (Owners of its
    /// organization; administrators for a shared agent).
    async fn update_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agent and what changes.")] input: UpdateAgentInput,
    ) -> Result<AgentPayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::AGENT, &input.id) {
            Some(id) => {
                app(ctx)
                    .update_agent(claims, id, input.tags, input.run_untagged_jobs)
                    .await
            }
            None => Err(bad_id("id", &input.id)),
        };
        agent_payload(result)
    }

    /// Deletes the agent: its credentials stop working at once.
    async fn delete_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agent to delete.")] input: AgentIdInput,
    ) -> Result<AgentPayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::AGENT, &input.id) {
            Some(id) => app(ctx).delete_agent(claims, id).await,
            None => Err(bad_id("id", &input.id)),
        };
        agent_payload(result)
    }

    /// Lets a service account of the agent's organization sign in as this
    /// organization agent (Owners of the organization): the agent exchanges
    /// an OIDC token its trust policy accepts for the account's token.
    async fn assign_service_account_to_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agent and the service account.")]
        input: AssignServiceAccountToAgentInput,
    ) -> Result<AgentPayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::AGENT, &input.agent_id) {
            Some(id) => {
                app(ctx)
                    .assign_agent_service_account(claims, id, &input.service_account_path)
                    .await
            }
            None => Err(bad_id("agentId", &input.agent_id)),
        };
        agent_payload(result)
    }

    /// No service account signs in as this agent any more; sessions it
    /// opens with one are refused from now on.
    async fn unassign_service_account_from_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agent.")] input: UnassignServiceAccountFromAgentInput,
    ) -> Result<AgentPayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::AGENT, &input.agent_id) {
            Some(id) => app(ctx).unassign_agent_service_account(claims, id).await,
            None => Err(bad_id("agentId", &input.agent_id)),
        };
        agent_payload(result)
    }

    /// A credential bound to this one agent.
    async fn create_agent_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agent the token is for.")] input: CreateAgentTokenInput,
    ) -> Result<AgentTokenPayload> {
        let claims = authed(ctx)?;
        let result = match ids::uuid_of(aggregate::AGENT, &input.agent_id) {
            Some(id) => app(ctx).create_agent_token(claims, id).await,
            None => Err(bad_id("agentId", &input.agent_id)),
        };
        match result {
            Ok((token, agent)) => Ok(AgentTokenPayload {
                token: Some(token),
                agent: Some(agent.into()),
                problems: vec![],
            }),
            Err(e) => Ok(AgentTokenPayload {
                token: None,
                agent: None,
                problems: problems(e)?,
            }),
        }
    }
}

/// The payload of a mutation of an environment.
pub(crate) async fn environment_payload(
    ctx: &Context<'_>,
    result: Result<phobos_projections::queries::EnvironmentRow, crate::service::ServiceError>,
) -> Result<EnvironmentPayload> {
    match result {
        Ok(row) => {
            let project = super::query::project_row(ctx, row.project_id).await?;
            Ok(EnvironmentPayload {
                environment: Some(Environment(row, project)),
                problems: vec![],
            })
        }
        Err(e) => Ok(EnvironmentPayload {
            environment: None,
            problems: problems(e)?,
        }),
    }
}
