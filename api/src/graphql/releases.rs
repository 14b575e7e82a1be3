//! Release lifecycles and releases in the schema.

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use phobos_core::events::{aggregate, ReleaseVariable};
use phobos_projections::queries::{Page, ProjectRow};
use phobos_projections::releases::{ReleaseLifecycleRow, ReleaseRow};

use super::enums::PipelineStatus;
use super::types::{connection, page_request, Pipeline};
use super::{app, authed, gql_err, ids, Problem};
use crate::service::{Code, MembershipScope, ServiceError};

/// A release lifecycle: the stages and deployments a release goes
/// through, as a versioned template.
pub struct ReleaseLifecycle(pub ReleaseLifecycleRow);

/// A release lifecycle: the stages and deployments a release goes
/// through, as a versioned template.
#[Object]
impl ReleaseLifecycle {
    /// Its global id.
    async fn id(&self) -> ID {
        ID(ids::encode(aggregate::RELEASE_LIFECYCLE, self.0.id))
    }
    /// `prn:release_lifecycle:ORG/NAME` or `ORG/PROJECT/NAME`.
    async fn prn(&self) -> String {
        format!("prn:release_lifecycle:{}", self.0.path)
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its newest template version (1 at creation).
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The HCL of its newest version.
    async fn hcl(&self, ctx: &Context<'_>) -> Result<String> {
        authed(ctx)?;
        app(ctx)
            .lifecycle_text(self.0.id, self.0.version)
            .await
            .map_err(gql_err)
    }
    /// Who created it.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When its newest version was made.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Lifecycles as a connection (every one, by name).
pub fn lifecycle_connection(
    rows: Vec<ReleaseLifecycleRow>,
    first: Option<i32>,
    after: Option<String>,
) -> Connection<String, ReleaseLifecycle> {
    let start = after
        .and_then(|a| rows.iter().position(|r| r.name == a).map(|i| i + 1))
        .unwrap_or(0);
    let first = first.map_or(usize::MAX, |n| n.max(0) as usize);
    let rest = rows.len().saturating_sub(start);
    let items: Vec<(String, ReleaseLifecycleRow)> = rows
        .into_iter()
        .skip(start)
        .take(first)
        .map(|r| (r.name.clone(), r))
        .collect();
    let has_next_page = rest > items.len();
    connection(
        Page {
            items,
            has_next_page,
        },
        ReleaseLifecycle,
    )
}

/// A variable of a release.
#[derive(SimpleObject)]
pub struct ReleaseVariableValue {
    /// Its name.
    pub key: String,
    /// Its value; `***` for a sensitive variable.
    pub value: String,
    /// Whether its value is masked.
    pub sensitive: bool,
}

/// The pipeline template a release deploys to one environment.
#[derive(SimpleObject)]
pub struct ReleaseDeploymentTemplateRef {
    /// The environment.
    pub environment_name: String,
    /// The pipeline template's global id.
    pub pipeline_template_id: ID,
}

/// A release: a versioned snapshot of a lifecycle, its deployment
/// templates and variables, promoted through environments by its
/// lifecycle pipeline.
pub struct Release(pub ReleaseRow, pub ProjectRow);

/// A release: a versioned snapshot of a lifecycle, its deployment
/// templates and variables, promoted through environments by its
/// lifecycle pipeline.
#[Object]
impl Release {
    /// Its global id.
    async fn id(&self) -> ID {
        ID(ids::encode(aggregate::RELEASE, self.0.id))
    }
    /// Whether the caller may change its notes, due date and participants
    /// (`updateRelease`).
    async fn viewer_can_update(&self, ctx: &Context<'_>) -> Result<bool> {
        let scope = crate::authz::Scope::project(self.1.organization_id, self.1.id);
        super::abilities::in_scope(ctx, scope, crate::service::ScopeAction::UpdateRelease).await
    }
    /// `prn:release:ORG/PROJECT/VERSION`.
    async fn prn(&self) -> String {
        format!(
            "prn:release:{}/{}/{}",
            self.1.organization_name, self.1.name, self.0.semantic_version
        )
    }
    /// Its semantic version (unique in the project).
    async fn semantic_version(&self) -> &str {
        &self.0.semantic_version
    }
    /// Its lifecycle pipeline's status.
    async fn status(&self) -> Result<PipelineStatus> {
        PipelineStatus::from_row(&self.0.status)
    }
    /// Whether its lifecycle pipeline has finished.
    async fn completed(&self) -> bool {
        matches!(self.0.status.as_str(), "SUCCEEDED" | "FAILED" | "CANCELED")
    }
    /// Whether it is a pre-release.
    async fn pre_release(&self) -> bool {
        self.0.pre_release
    }
    /// Its notes.
    async fn notes(&self) -> &str {
        &self.0.notes
    }
    /// Who did what here and when, newest first (for an organization:
    /// in the projects the caller sees).
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
        #[graphql(desc = "Only this actor's: `user:alice`, or the name alone.")] actor: Option<
            String,
        >,
        #[graphql(desc = "Only these kinds of resource.")] resource_types: Option<
            Vec<super::activity::ActivityResourceType>,
        >,
    ) -> Result<Connection<String, super::activity::ActivityEvent>> {
        super::activity::feed_page(
            ctx,
            crate::service::ActivityScope::Release(self.0.id),
            first,
            after,
            actor,
            resource_types,
        )
        .await
    }
    /// Who takes part: users and teams.
    async fn participants(&self) -> Vec<super::approvals::PrincipalRef> {
        self.0
            .participants
            .iter()
            .map(|m| super::approvals::PrincipalRef {
                kind: m.kind.into(),
                name: m.name.clone(),
            })
            .collect()
    }
    /// When it is due, if set.
    async fn due_date(&self) -> Option<DateTime<Utc>> {
        self.0.due_date
    }
    /// Who created it.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The version of its lifecycle's template it was made with.
    async fn lifecycle_version(&self) -> i32 {
        self.0.lifecycle_version
    }
    /// Its lifecycle (as it is now; `lifecycleVersion` is the one it runs).
    async fn lifecycle(&self, ctx: &Context<'_>) -> Result<Option<ReleaseLifecycle>> {
        let claims = authed(ctx)?;
        Ok(app(ctx)
            .release_lifecycle(claims, self.0.lifecycle_id)
            .await
            .map_err(gql_err)?
            .map(ReleaseLifecycle))
    }
    /// Its variables (sensitive values masked).
    async fn variables(&self) -> Vec<ReleaseVariableValue> {
        self.0
            .variables
            .iter()
            .map(|v: &ReleaseVariable| ReleaseVariableValue {
                key: v.key.clone(),
                value: if v.sensitive {
                    "***".into()
                } else {
                    v.value.clone()
                },
                sensitive: v.sensitive,
            })
            .collect()
    }
    /// The pipeline template of each environment.
    async fn deployment_templates(&self) -> Vec<ReleaseDeploymentTemplateRef> {
        self.0
            .deployment_templates
            .iter()
            .map(|d| ReleaseDeploymentTemplateRef {
                environment_name: d.environment.clone(),
                pipeline_template_id: ID(uuid::Uuid::parse_str(&d.template_id).map_or_else(
                    |_| d.template_id.clone(),
                    |u| ids::encode(aggregate::PIPELINE_TEMPLATE, u),
                )),
            })
            .collect()
    }
    /// Its deployments, one per environment, in lifecycle order: status,
    /// pipeline, when, and lead time.
    async fn deployments(&self, ctx: &Context<'_>) -> Result<Vec<ReleaseDeployment>> {
        authed(ctx)?;
        Ok(app(ctx)
            .release_deployments(&self.0)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(ReleaseDeployment)
            .collect())
    }
    /// Its lifecycle pipeline (null for a moment after creation, until
    /// the pipeline exists).
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Option<Pipeline>> {
        authed(ctx)?;
        super::loaders::pipeline(ctx, self.0.pipeline_id).await
    }
}

/// A project's releases, newest first.
pub async fn project_releases(
    ctx: &Context<'_>,
    project: &ProjectRow,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, Release>> {
    authed(ctx)?;
    let page = app(ctx)
        .releases_of(project.id, &page_request(first, after))
        .await
        .map_err(gql_err)?;
    Ok(connection(page, |r| Release(r, project.clone())))
}

/// `createReleaseLifecycle`'s input.
#[derive(InputObject)]
pub struct CreateReleaseLifecycleInput {
    /// The organization it belongs to (usable by all its projects); or
    /// give `projectId`.
    pub organization_name: Option<String>,
    /// The project it belongs to; or give `organizationName`.
    pub project_id: Option<ID>,
    /// Its name, unique in its organization or project.
    pub name: String,
    /// The lifecycle template (seed 001 syntax).
    pub hcl: String,
}

/// `updateReleaseLifecycle`'s input.
#[derive(InputObject)]
pub struct UpdateReleaseLifecycleInput {
    /// The lifecycle.
    pub id: ID,
    /// Its new template: the next version. Releases keep theirs.
    pub hcl: String,
}

/// A release lifecycle, or what was wrong.
#[derive(SimpleObject)]
pub struct ReleaseLifecyclePayload {
    /// The lifecycle, after the change.
    pub release_lifecycle: Option<ReleaseLifecycle>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

/// One environment's deployment template, for `createRelease`.
#[derive(InputObject)]
pub struct ReleaseDeploymentTemplateInput {
    /// An environment the lifecycle deploys to.
    pub environment_name: String,
    /// A pipeline template of the project.
    pub pipeline_template_id: ID,
}

/// A variable of a release, for `createRelease`.
#[derive(InputObject)]
pub struct ReleaseVariableInput {
    /// Its name: a variable the lifecycle or a deployment template declares.
    pub key: String,
    /// Its value, as for `createPipeline`'s variables.
    pub value: String,
    /// Mask its value wherever the release is shown (default false).
    #[graphql(default)]
    pub sensitive: bool,
}

/// `createRelease`'s input.
#[derive(InputObject)]
pub struct CreateReleaseInput {
    /// The project.
    pub project_id: ID,
    /// A lifecycle of the project or of its organization.
    pub lifecycle_id: ID,
    /// Its semantic version (SemVer 2.0), unique in the project.
    pub semantic_version: String,
    /// The pipeline template of each environment the lifecycle deploys to.
    pub deployment_templates: Vec<ReleaseDeploymentTemplateInput>,
    /// Its variables, each given to every template that declares it.
    #[graphql(default)]
    pub variables: Vec<ReleaseVariableInput>,
    /// When it is due.
    pub due_date: Option<DateTime<Utc>>,
    /// Notes.
    #[graphql(default)]
    pub notes: String,
    /// Whether it is a pre-release (default false).
    #[graphql(default)]
    pub pre_release: bool,
    /// Who takes part (none when left out).
    pub participants: Option<ReleaseParticipantsInput>,
}

/// Who takes part in a release: users who can see the project, and
/// teams.
#[derive(InputObject)]
pub struct ReleaseParticipantsInput {
    /// Users, by username.
    #[graphql(default)]
    pub users: Vec<String>,
    /// Teams, by name.
    #[graphql(default)]
    pub teams: Vec<String>,
}

impl From<ReleaseParticipantsInput> for crate::service::Participants {
    fn from(p: ReleaseParticipantsInput) -> Self {
        crate::service::Participants {
            users: p.users,
            teams: p.teams,
        }
    }
}

/// `updateRelease`'s input: only notes, the due date and participants
/// change.
#[derive(InputObject)]
pub struct UpdateReleaseInput {
    /// The release.
    pub id: ID,
    /// New notes (unchanged when left out).
    pub notes: Option<String>,
    /// A new due date (unchanged when left out).
    pub due_date: Option<DateTime<Utc>>,
    /// The participants, all of them (unchanged when left out).
    pub participants: Option<ReleaseParticipantsInput>,
}

/// A release, or what was wrong.
#[derive(SimpleObject)]
pub struct ReleasePayload {
    /// The release, after the change.
    pub release: Option<Release>,
    /// What was wrong, when nothing changed.
    pub problems: Vec<Problem>,
}

pub(crate) fn lifecycle_payload(
    r: Result<ReleaseLifecycleRow, ServiceError>,
) -> Result<ReleaseLifecyclePayload> {
    match r {
        Ok(row) => Ok(ReleaseLifecyclePayload {
            release_lifecycle: Some(ReleaseLifecycle(row)),
            problems: vec![],
        }),
        Err(e) => Ok(ReleaseLifecyclePayload {
            release_lifecycle: None,
            problems: super::problems(e)?,
        }),
    }
}

async fn release_payload(
    ctx: &Context<'_>,
    r: Result<ReleaseRow, ServiceError>,
) -> Result<ReleasePayload> {
    match r {
        Ok(row) => {
            let project = super::query::project_row(ctx, row.project_id).await?;
            Ok(ReleasePayload {
                release: Some(Release(row, project)),
                problems: vec![],
            })
        }
        Err(e) => Ok(ReleasePayload {
            release: None,
            problems: super::problems(e)?,
        }),
    }
}

fn id_of(kind: &str, field: &str, id: &ID) -> Result<uuid::Uuid, ServiceError> {
    ids::uuid_of(kind, id).ok_or_else(|| {
        ServiceError::field(
            Code::Invalid,
            field,
            format!("{:?} is not an id of a {kind}", id.as_str()),
        )
    })
}

pub(crate) async fn create_lifecycle(
    ctx: &Context<'_>,
    input: CreateReleaseLifecycleInput,
) -> Result<ReleaseLifecyclePayload> {
    let claims = authed(ctx)?;
    let r = async {
        let at = match (&input.organization_name, &input.project_id) {
            (Some(org), None) => MembershipScope::Organization(org),
            (None, Some(p)) => MembershipScope::Project(id_of(aggregate::PROJECT, "projectId", p)?),
            _ => {
                return Err(ServiceError::field(
                    Code::Invalid,
                    "organizationName",
                    "give exactly one of organizationName and projectId",
                ))
            }
        };
        app(ctx)
            .create_release_lifecycle(claims, at, &input.name, &input.hcl)
            .await
    }
    .await;
    lifecycle_payload(r)
}

pub(crate) async fn update_lifecycle(
    ctx: &Context<'_>,
    input: UpdateReleaseLifecycleInput,
) -> Result<ReleaseLifecyclePayload> {
    let claims = authed(ctx)?;
    let r = async {
        let id = id_of(aggregate::RELEASE_LIFECYCLE, "id", &input.id)?;
        app(ctx)
            .update_release_lifecycle(claims, id, &input.hcl)
            .await
    }
    .await;
    lifecycle_payload(r)
}

pub(crate) async fn create_release(
    ctx: &Context<'_>,
    input: CreateReleaseInput,
) -> Result<ReleasePayload> {
    let claims = authed(ctx)?;
    let r = async {
        let new = crate::service::NewRelease {
            project_id: id_of(aggregate::PROJECT, "projectId", &input.project_id)?,
            lifecycle_id: id_of(
                aggregate::RELEASE_LIFECYCLE,
                "lifecycleId",
                &input.lifecycle_id,
            )?,
            semantic_version: input.semantic_version,
            deployment_templates: input
                .deployment_templates
                .into_iter()
                .map(|d| (d.environment_name, d.pipeline_template_id.0))
                .collect(),
            variables: input
                .variables
                .into_iter()
                .map(|v| ReleaseVariable {
                    key: v.key,
                    value: v.value,
                    sensitive: v.sensitive,
                })
                .collect(),
            due_date: input.due_date,
            notes: input.notes,
            pre_release: input.pre_release,
            participants: input.participants.map(Into::into).unwrap_or_default(),
        };
        app(ctx).create_release(claims, new).await
    }
    .await;
    release_payload(ctx, r).await
}

pub(crate) async fn update_release(
    ctx: &Context<'_>,
    input: UpdateReleaseInput,
) -> Result<ReleasePayload> {
    let claims = authed(ctx)?;
    let r = async {
        let id = id_of(aggregate::RELEASE, "id", &input.id)?;
        app(ctx)
            .update_release(
                claims,
                id,
                input.notes,
                input.due_date.map(Some),
                input.participants.map(Into::into),
            )
            .await
    }
    .await;
    release_payload(ctx, r).await
}

/// `release(id)`.
/// The UUID of a release's PRN, `prn:release:ORG/PROJECT/VERSION` (a
/// release's id follows from its project and version).
fn release_prn_id(prn: &str) -> Option<uuid::Uuid> {
    use phobos_commands::aggregates::{organization_id, project_id, release_id};
    let path = prn.strip_prefix("prn:release:")?;
    let mut parts = path.splitn(3, '/');
    let (org, project, version) = (parts.next()?, parts.next()?, parts.next()?);
    uuid::Uuid::parse_str(&release_id(
        &project_id(&organization_id(org), project),
        version,
    ))
    .ok()
}

pub(crate) async fn release_by_id(ctx: &Context<'_>, id: &ID) -> Result<Option<Release>> {
    let claims = authed(ctx)?;
    let uuid = match release_prn_id(id) {
        Some(u) => u,
        None => id_of(aggregate::RELEASE, "id", id).map_err(gql_err)?,
    };
    Ok(app(ctx)
        .release(claims, uuid)
        .await
        .map_err(gql_err)?
        .map(|(r, p)| Release(r, p)))
}

/// One environment's deployment of a release.
pub struct ReleaseDeployment(pub crate::service::DeploymentOutcome);

/// One environment's deployment of a release.
#[Object]
impl ReleaseDeployment {
    /// The environment.
    async fn environment_name(&self) -> &str {
        &self.0.environment
    }
    /// Its lifecycle node's status (FAILED with `on_error = "continue"`
    /// too).
    async fn status(&self) -> Result<super::enums::NodeStatus> {
        super::enums::NodeStatus::from_row(&self.0.status)
    }
    /// The DEPLOYMENT pipeline its latest attempt started, if any.
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Option<Pipeline>> {
        let Some(id) = self.0.child_pipeline_id else {
            return Ok(None);
        };
        authed(ctx)?;
        super::loaders::pipeline(ctx, id).await
    }
    /// When it started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Lead time: seconds from the release's creation to this deployment
    /// succeeding (null until it has).
    async fn lead_time_seconds(&self) -> Option<f64> {
        self.0.lead_time_seconds
    }
}

/// A lifecycle and the version of its template a release was made with.
#[derive(SimpleObject)]
pub struct ReleaseLifecycleVersion {
    /// The lifecycle's name.
    pub name: String,
    /// Its template's version.
    pub version: i32,
}

/// The lifecycles of two releases.
#[derive(SimpleObject)]
pub struct ReleaseLifecycleDiff {
    /// The first release's.
    pub from: ReleaseLifecycleVersion,
    /// The second release's.
    pub to: ReleaseLifecycleVersion,
    /// A unified line diff of the two templates (null when they are the
    /// same version of the same lifecycle).
    pub hcl_diff: Option<String>,
}

/// A pipeline template, by id and name.
#[derive(SimpleObject)]
pub struct PipelineTemplateRef {
    /// Its global id.
    pub id: ID,
    /// Its name.
    pub name: String,
}

/// One environment's deployment templates in two releases.
#[derive(SimpleObject)]
pub struct ReleaseEnvironmentDiff {
    /// The environment.
    pub name: String,
    /// The first release's template (null: it did not deploy there).
    pub template_from: Option<PipelineTemplateRef>,
    /// The second release's template (null: it does not deploy there).
    pub template_to: Option<PipelineTemplateRef>,
    /// A unified line diff of the two templates (null when the same).
    pub hcl_diff: Option<String>,
}

/// How a variable differs between two releases.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableChangeKind {
    /// Only the second release has it.
    Added,
    /// Only the first release has it.
    Removed,
    /// Both have it, with different values.
    Changed,
}

/// A variable that differs between two releases.
#[derive(SimpleObject)]
pub struct ReleaseVariableDiff {
    /// Its name.
    pub key: String,
    /// How it differs.
    pub change: VariableChangeKind,
    /// Its value in the first release (`***` if sensitive there).
    pub from: Option<String>,
    /// Its value in the second release (`***` if sensitive there).
    pub to: Option<String>,
}

/// One environment's deployment outcome in two releases.
#[derive(SimpleObject)]
pub struct ReleaseDeploymentDiff {
    /// The environment.
    pub environment: String,
    /// The first release's deployment status there (null: none).
    pub from: Option<super::enums::NodeStatus>,
    /// The second release's deployment status there (null: none).
    pub to: Option<super::enums::NodeStatus>,
}

/// What changed between two releases of a project.
#[derive(SimpleObject)]
pub struct ReleaseDiff {
    /// The first release.
    pub from: Release,
    /// The second release.
    pub to: Release,
    /// Their lifecycles' template versions.
    pub lifecycle: ReleaseLifecycleDiff,
    /// Every environment either deploys to, with its templates.
    pub environments: Vec<ReleaseEnvironmentDiff>,
    /// The variables that differ (added, removed or changed).
    pub variables: Vec<ReleaseVariableDiff>,
    /// Every environment either deploys to, with each deployment's outcome.
    pub deployments: Vec<ReleaseDeploymentDiff>,
}

pub(crate) async fn release_diff(
    ctx: &Context<'_>,
    from: &ID,
    to: &ID,
) -> Result<Option<ReleaseDiff>> {
    let claims = authed(ctx)?;
    let a = id_of(aggregate::RELEASE, "from", from).map_err(gql_err)?;
    let b = id_of(aggregate::RELEASE, "to", to).map_err(gql_err)?;
    let Some(d) = app(ctx).release_diff(claims, a, b).await.map_err(gql_err)? else {
        return Ok(None);
    };
    let status = |s: &Option<String>| -> Result<Option<super::enums::NodeStatus>> {
        s.as_deref()
            .map(super::enums::NodeStatus::from_row)
            .transpose()
    };
    let template = |t: &Option<(uuid::Uuid, String)>| {
        t.as_ref().map(|(id, name)| PipelineTemplateRef {
            id: ID(ids::encode(aggregate::PIPELINE_TEMPLATE, *id)),
            name: name.clone(),
        })
    };
    let ((na, va), (nb, vb), hcl_diff) = d.lifecycle;
    Ok(Some(ReleaseDiff {
        lifecycle: ReleaseLifecycleDiff {
            from: ReleaseLifecycleVersion {
                name: na,
                version: va,
            },
            to: ReleaseLifecycleVersion {
                name: nb,
                version: vb,
            },
            hcl_diff,
        },
        environments: d
            .environments
            .iter()
            .map(|e| ReleaseEnvironmentDiff {
                name: e.name.clone(),
                template_from: template(&e.template_from),
                template_to: template(&e.template_to),
                hcl_diff: e.hcl_diff.clone(),
            })
            .collect(),
        variables: d
            .variables
            .into_iter()
            .map(|v| ReleaseVariableDiff {
                key: v.key,
                change: match v.change {
                    crate::service::Change::Added => VariableChangeKind::Added,
                    crate::service::Change::Removed => VariableChangeKind::Removed,
                    crate::service::Change::Changed => VariableChangeKind::Changed,
                },
                from: v.from,
                to: v.to,
            })
            .collect(),
        deployments: d
            .deployments
            .iter()
            .map(|(env, a, b)| {
                Ok(ReleaseDeploymentDiff {
                    environment: env.clone(),
                    from: status(a)?,
                    to: status(b)?,
                })
            })
            .collect::<Result<_>>()?,
        from: Release(d.from, d.project.clone()),
        to: Release(d.to, d.project),
    }))
}

#[cfg(test)]
mod prn_tests {
    #[test]
    fn a_release_prn_names_the_release_of_its_project_and_version() {
        use phobos_commands::aggregates::{organization_id, project_id, release_id};
        let want = release_id(&project_id(&organization_id("acme"), "web"), "1.0.0-rc.1");
        assert_eq!(
            super::release_prn_id("prn:release:acme/web/1.0.0-rc.1").map(|u| u.to_string()),
            Some(want)
        );
        assert_eq!(super::release_prn_id("prn:release:acme/web"), None);
        assert_eq!(super::release_prn_id("prn:pipeline:acme/web/1.0.0"), None);
    }
}
