//! GraphQL object types over the read models.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ComplexObject, Context, Interface, Json, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use phobos_core::events::aggregate;
use phobos_projections::queries::{
    self, AgentRow, EnvironmentRow, JobRow, NodeRow, OrganizationRow, PipelineRow, ProjectRow,
    TemplateRow,
};
use phobos_projections::queries::{Page, PageRequest};

use super::enums::{JobStatus, NodeStatus, PipelineStatus, PipelineType, StageStatus};
use phobos_core::events::PipelineType as CorePipelineType;
use phobos_core::pipeline::PipelineStatus as CorePipelineStatus;

/// The order of a list of pipelines.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineSort {
    /// Oldest first.
    CreatedAtAsc,
    /// Newest first.
    CreatedAtDesc,
}
use super::{app, authed, gql_err, ids};
use crate::service::{Code, NodeAction, ServiceError};
use uuid::Uuid;

/// Anything with a global id.
#[derive(Interface)]
#[graphql(
    field(name = "id", ty = "ID", desc = "Its global id."),
    field(
        name = "prn",
        ty = "String",
        desc = "Its PRN, e.g. `prn:project:ORG/NAME`."
    )
)]
pub enum Node {
    Organization(Organization),
    Project(Project),
    PipelineTemplate(PipelineTemplate),
    Pipeline(Pipeline),
    Job(Job),
    Agent(Agent),
    Environment(Environment),
    User(super::identity::User),
    Team(super::identity::Team),
    Membership(super::identity::Membership),
    ApprovalRule(super::approvals::ApprovalRule),
    ServiceAccount(super::identity::ServiceAccount),
}

pub fn connection<R, T>(page: Page<R>, wrap: impl Fn(R) -> T) -> Connection<String, T>
where
    T: async_graphql::OutputType,
{
    let mut c = Connection::new(false, page.has_next_page);
    c.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, r)| Edge::new(cursor, wrap(r))),
    );
    c
}

pub fn page_request(first: Option<i32>, after: Option<String>) -> PageRequest {
    PageRequest {
        first: first.map(i64::from),
        after,
    }
}

/// An organization: it holds projects.
pub struct Organization(pub OrganizationRow);

/// An organization: it holds projects.
#[Object]
impl Organization {
    /// Its global id.
    async fn id(&self) -> ID {
        ID(ids::encode(aggregate::ORGANIZATION, self.0.id))
    }
    /// `prn:organization:NAME`.
    async fn prn(&self) -> String {
        format!("prn:organization:{}", self.0.name)
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
            crate::service::ActivityScope::Organization(self.0.id),
            first,
            after,
            actor,
            resource_types,
        )
        .await
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its description.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Who created it: an actor such as `user:<name>`.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Its projects that the caller may see, oldest first.
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, Project>> {
        let page = app(ctx)
            .projects(authed(ctx)?, self.0.id, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, Project))
    }
    /// Its service accounts (usable in all its projects).
    async fn service_accounts(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::identity::ServiceAccount>> {
        let scope = crate::authz::Scope::organization(self.0.id);
        Ok(app(ctx)
            .service_accounts_of(authed(ctx)?, scope)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(super::identity::ServiceAccount)
            .collect())
    }
    /// Its approval rules (usable by all its projects).
    async fn approval_rules(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::approvals::ApprovalRule>> {
        let scope = crate::authz::Scope::organization(self.0.id);
        Ok(app(ctx)
            .approval_rules_of(authed(ctx)?, scope)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(super::approvals::ApprovalRule)
            .collect())
    }
    /// Its release lifecycles (usable by all its projects), by name.
    async fn release_lifecycles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default all).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, super::releases::ReleaseLifecycle>> {
        let scope = crate::authz::Scope::organization(self.0.id);
        let rows = app(ctx)
            .release_lifecycles_of(authed(ctx)?, scope)
            .await
            .map_err(gql_err)?;
        Ok(super::releases::lifecycle_connection(rows, first, after))
    }
    /// Its own memberships (each counts in all its projects).
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<super::identity::Membership>> {
        let scope = crate::authz::Scope::organization(self.0.id);
        Ok(app(ctx)
            .memberships(authed(ctx)?, scope)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(super::identity::Membership)
            .collect())
    }
}

/// A project of an organization: its templates, pipelines and environments.
pub struct Project(pub ProjectRow);

/// A project of an organization: its templates, pipelines and environments.
#[Object]
impl Project {
    /// Its global id.
    async fn id(&self) -> ID {
        ID(ids::encode(aggregate::PROJECT, self.0.id))
    }
    /// `prn:project:ORG/NAME`.
    async fn prn(&self) -> String {
        format!("prn:project:{}/{}", self.0.organization_name, self.0.name)
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
            crate::service::ActivityScope::Project(self.0.id),
            first,
            after,
            actor,
            resource_types,
        )
        .await
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The name of its organization.
    async fn organization_name(&self) -> &str {
        &self.0.organization_name
    }
    /// Its description.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Who created it: an actor such as `user:<name>`.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The project's own service accounts (its organization's are in
    /// `Organization.serviceAccounts`).
    async fn service_accounts(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::identity::ServiceAccount>> {
        let scope = crate::authz::Scope::project(self.0.organization_id, self.0.id);
        Ok(app(ctx)
            .service_accounts_of(authed(ctx)?, scope)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(super::identity::ServiceAccount)
            .collect())
    }
    /// The approval rules its pipelines may name: its organization's, then
    /// its own.
    async fn approval_rules(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::approvals::ApprovalRule>> {
        let scope = crate::authz::Scope::project(self.0.organization_id, self.0.id);
        Ok(app(ctx)
            .approval_rules_of(authed(ctx)?, scope)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(super::approvals::ApprovalRule)
            .collect())
    }
    /// Its own release lifecycles, by name (its organization's are usable
    /// too: see `Organization.releaseLifecycles`).
    async fn release_lifecycles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default all).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, super::releases::ReleaseLifecycle>> {
        let scope = crate::authz::Scope::project(self.0.organization_id, self.0.id);
        let rows = app(ctx)
            .release_lifecycles_of(authed(ctx)?, scope)
            .await
            .map_err(gql_err)?;
        Ok(super::releases::lifecycle_connection(rows, first, after))
    }
    /// Its releases, newest first.
    async fn releases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, super::releases::Release>> {
        super::releases::project_releases(ctx, &self.0, first, after).await
    }
    /// The memberships of the project itself (its organization's
    /// memberships count here too: see `Organization.memberships`).
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<super::identity::Membership>> {
        let scope = crate::authz::Scope::project(self.0.organization_id, self.0.id);
        Ok(app(ctx)
            .memberships(authed(ctx)?, scope)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(super::identity::Membership)
            .collect())
    }
    /// Whether the caller may create pipelines here (`createPipeline`).
    async fn viewer_can_create_pipeline(&self, ctx: &Context<'_>) -> Result<bool> {
        self.viewer_can(ctx, crate::service::ScopeAction::CreatePipeline)
            .await
    }
    /// Whether the caller may create pipeline templates here
    /// (`createPipelineTemplate`).
    async fn viewer_can_create_pipeline_template(&self, ctx: &Context<'_>) -> Result<bool> {
        self.viewer_can(ctx, crate::service::ScopeAction::CreatePipelineTemplate)
            .await
    }
    /// Whether the caller may create releases here (`createRelease`).
    async fn viewer_can_create_release(&self, ctx: &Context<'_>) -> Result<bool> {
        self.viewer_can(ctx, crate::service::ScopeAction::CreateRelease)
            .await
    }
    /// Its pipeline templates, oldest first.
    async fn pipeline_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, PipelineTemplate>> {
        authed(ctx)?;
        let page = queries::templates(&app(ctx).pool, self.0.id, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, |r| PipelineTemplate(r, self.0.clone())))
    }
    /// Its pipelines (of every type), oldest first unless `sort` says
    /// otherwise, narrowed by the filters given (each left out matches
    /// all).
    #[allow(clippy::too_many_arguments)]
    async fn pipelines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those in this status.")] status: Option<PipelineStatus>,
        #[graphql(name = "type", desc = "Only those of this type.")] pipeline_type: Option<
            PipelineType,
        >,
        #[graphql(desc = "Only those created from this template (its id or UUID).")]
        pipeline_template_id: Option<ID>,
        #[graphql(desc = "Only deployments to this environment (and what they nest).")]
        environment_name: Option<String>,
        #[graphql(desc = "Only this release's pipelines (its id or UUID).")] release_id: Option<ID>,
        #[graphql(desc = "Only those created by this actor: `user:alice`, or a username alone.")]
        created_by: Option<String>,
        #[graphql(desc = "The order (default CREATED_AT_ASC, oldest first).")] sort: Option<
            PipelineSort,
        >,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, Pipeline>> {
        authed(ctx)?;
        let id_arg = |arg: &str, kind: &str, v: Option<ID>| -> Result<Option<Uuid>> {
            v.map(|v| {
                ids::uuid_of(kind, &v).ok_or_else(|| {
                    gql_err(ServiceError::new(
                        Code::Invalid,
                        format!(
                            "{arg}: {:?} is not the id of a {kind}: pass its `id` or UUID",
                            v.as_str()
                        ),
                    ))
                })
            })
            .transpose()
        };
        let filter = queries::PipelineFilter {
            template_id: id_arg(
                "pipelineTemplateId",
                aggregate::PIPELINE_TEMPLATE,
                pipeline_template_id,
            )?,
            environment_name,
            release_id: id_arg("releaseId", aggregate::RELEASE, release_id)?,
            ..pipeline_filter(status, pipeline_type, created_by, sort)
        };
        let page = queries::pipelines(
            &app(ctx).pool,
            self.0.id,
            &filter,
            &page_request(first, after),
        )
        .await
        .map_err(gql_err)?;
        Ok(connection(page, |r| Pipeline(r, self.0.clone())))
    }
    /// Its environments (created by `createEnvironment` or by the first
    /// deployment to one), oldest first.
    async fn environments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, Environment>> {
        authed(ctx)?;
        let page = queries::environments(&app(ctx).pool, self.0.id, &page_request(first, after))
            .await
            .map_err(gql_err)?;
        Ok(connection(page, |r| Environment(r, self.0.clone())))
    }
}

impl Project {
    async fn viewer_can(
        &self,
        ctx: &Context<'_>,
        action: crate::service::ScopeAction,
    ) -> Result<bool> {
        let scope = crate::authz::Scope::project(self.0.organization_id, self.0.id);
        super::abilities::in_scope(ctx, scope, action).await
    }
}

/// A place a project deploys to.
pub struct Environment(pub EnvironmentRow, pub ProjectRow);

/// A place a project deploys to.
#[Object]
impl Environment {
    /// Its global id.
    async fn id(&self) -> ID {
        ID(ids::encode(aggregate::ENVIRONMENT, self.0.id))
    }
    /// `prn:environment:ORG/PROJECT/NAME`.
    async fn prn(&self) -> String {
        format!(
            "prn:environment:{}/{}/{}",
            self.1.organization_name, self.1.name, self.0.name
        )
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its description.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Who may start or approve a deployment into it.
    async fn protection_rules(&self) -> super::environments::EnvironmentProtectionRules {
        super::environments::EnvironmentProtectionRules::of(&self.0)
    }
    /// Whether the caller may change its protection rules
    /// (`updateEnvironmentProtectionRules`).
    async fn viewer_can_update(&self, ctx: &Context<'_>) -> Result<bool> {
        let scope = crate::authz::Scope::project(self.1.organization_id, self.1.id);
        super::abilities::in_scope(
            ctx,
            scope,
            crate::service::ScopeAction::UpdateEnvironmentProtection,
        )
        .await
    }
    /// Who created it: an actor such as `user:<name>`.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The project it belongs to.
    async fn project(&self) -> Project {
        Project(self.1.clone())
    }
    /// The release whose deployment here succeeded last (null when no
    /// release has deployed here).
    async fn current_release(&self, ctx: &Context<'_>) -> Result<Option<super::releases::Release>> {
        authed(ctx)?;
        Ok(
            phobos_projections::releases::current_release(&app(ctx).pool, self.1.id, &self.0.name)
                .await
                .map_err(gql_err)?
                .map(|r| super::releases::Release(r, self.1.clone())),
        )
    }
    /// The deployment pipelines run in it, newest first.
    async fn deployments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to start after.")] after: Option<String>,
    ) -> Result<Connection<String, Deployment>> {
        authed(ctx)?;
        let page = queries::deployments(
            &app(ctx).pool,
            self.1.id,
            &self.0.name,
            &page_request(first, after),
        )
        .await
        .map_err(gql_err)?;
        Ok(connection(page, |r| {
            Deployment(Pipeline(r, self.1.clone()))
        }))
    }
}

/// One deployment pipeline of an environment.
pub struct Deployment(pub Pipeline);

/// One deployment pipeline of an environment.
#[Object]
impl Deployment {
    /// The deployment pipeline.
    async fn pipeline(&self) -> &Pipeline {
        &self.0
    }
    /// The pipeline's status.
    async fn status(&self) -> Result<PipelineStatus> {
        PipelineStatus::from_row(&self.0 .0.status)
    }
    /// Who created the pipeline it is part of.
    async fn created_by(&self) -> &str {
        &self.0 .0.created_by
    }
    /// Who started it: whoever started or retried its node by hand (a
    /// manual deployment, a retry), else whoever created the pipeline it is
    /// part of (a deployment that started by itself). An actor such as
    /// `user:<name>`.
    async fn started_by(&self, ctx: &Context<'_>) -> Result<String> {
        use super::loaders::{failed, reads, StarterOfPipeline};
        authed(ctx)?;
        Ok(reads(ctx)
            .load_one(StarterOfPipeline(self.0 .0.id))
            .await
            .map_err(failed)?
            .unwrap_or_else(|| self.0 .0.created_by.clone()))
    }
    /// When the pipeline was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0 .0.created_at
    }
    /// The release it deploys, when a release's lifecycle started it.
    async fn release(&self, ctx: &Context<'_>) -> Result<Option<super::releases::Release>> {
        use super::loaders::{failed, reads, ReleaseOfPipeline};
        let Some(parent) = self.0 .0.parent_pipeline_id else {
            return Ok(None);
        };
        authed(ctx)?;
        Ok(reads(ctx)
            .load_one(ReleaseOfPipeline(parent))
            .await
            .map_err(failed)?
            .map(|r| super::releases::Release(r, self.0 .1.clone())))
    }
    /// When its pipeline finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0 .0.finished_at
    }
}

/// The node of another pipeline that started a nested or deployment
/// pipeline.
pub struct PipelineParent {
    pipeline: Pipeline,
    node_path: String,
}

/// The node of another pipeline that started a nested or deployment pipeline.
#[Object]
impl PipelineParent {
    /// The pipeline the node belongs to.
    async fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
    /// The path of the node.
    async fn node_path(&self) -> &str {
        &self.node_path
    }
}

/// An uploaded HCL pipeline template of a project.
pub struct PipelineTemplate(pub TemplateRow, pub ProjectRow);

/// An uploaded HCL pipeline template of a project.
#[Object]
impl PipelineTemplate {
    /// Its global id.
    async fn id(&self) -> ID {
        ID(ids::encode(aggregate::PIPELINE_TEMPLATE, self.0.id))
    }
    /// `prn:pipeline_template:ORG/PROJECT/ID`.
    async fn prn(&self) -> String {
        format!(
            "prn:pipeline_template:{}/{}/{}",
            self.1.organization_name, self.1.name, self.0.id
        )
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The SHA-256 (hex) of its HCL text.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// The size of its HCL text, in bytes.
    async fn size(&self) -> i64 {
        self.0.size
    }
    /// Who created it: an actor such as `user:<name>`.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The project it belongs to.
    async fn project(&self) -> Project {
        Project(self.1.clone())
    }
    /// The template's HCL text.
    async fn hcl(&self, ctx: &Context<'_>) -> Result<String> {
        authed(ctx)?;
        let bytes = app(ctx)
            .objects
            .get(&self.0.object_key)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "object store read failed");
                async_graphql::Error::new(
                    "the template text could not be read from the object store",
                )
            })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// A run of a pipeline template in a project.
pub struct Pipeline(pub PipelineRow, pub ProjectRow);

/// A run of a pipeline template in a project.
#[Object]
impl Pipeline {
    /// Whether `cancelPipeline` would be accepted from the caller now (with
    /// `force` once the pipeline is CANCELING).
    async fn viewer_can_cancel(&self, ctx: &Context<'_>) -> Result<bool> {
        super::abilities::cancel_pipeline(ctx, self.0.id).await
    }
    /// Its global id.
    async fn id(&self) -> ID {
        ID(ids::encode(aggregate::PIPELINE, self.0.id))
    }
    /// The `cursor` of the last event of its history that this answer
    /// reflects: pass it as `after` to the `pipelineEvents` subscription
    /// to follow the pipeline from here with nothing missed (its other
    /// fields are read no earlier than it, so they are at least as new).
    /// Null before its first event is projected.
    async fn event_cursor(&self) -> Option<&str> {
        self.0.event_cursor.as_deref()
    }
    /// `prn:pipeline:ORG/PROJECT/ID`.
    async fn prn(&self) -> String {
        format!(
            "prn:pipeline:{}/{}/{}",
            self.1.organization_name, self.1.name, self.0.id
        )
    }
    /// Its status.
    async fn status(&self) -> Result<PipelineStatus> {
        PipelineStatus::from_row(&self.0.status)
    }
    /// RUNBOOK (created directly), NESTED or DEPLOYMENT (started by a
    /// node of another pipeline: `parent`).
    #[graphql(name = "type")]
    async fn pipeline_type(&self) -> Result<PipelineType> {
        PipelineType::from_row(&self.0.pipeline_type)
    }
    /// The release whose lifecycle it runs (RELEASE_LIFECYCLE).
    async fn release(&self, ctx: &Context<'_>) -> Result<Option<super::releases::Release>> {
        if self.0.pipeline_type != "RELEASE_LIFECYCLE" {
            return Ok(None);
        }
        authed(ctx)?;
        Ok(
            phobos_projections::releases::release_of_pipeline(&app(ctx).pool, self.0.id)
                .await
                .map_err(gql_err)?
                .map(|r| super::releases::Release(r, self.1.clone())),
        )
    }
    /// The pipeline and node that started it (NESTED, DEPLOYMENT).
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<PipelineParent>> {
        let (Some(id), Some(path)) = (&self.0.parent_pipeline_id, &self.0.parent_node_path) else {
            return Ok(None);
        };
        authed(ctx)?;
        Ok(queries::pipeline(&app(ctx).pool, *id)
            .await
            .map_err(gql_err)?
            .map(|p| PipelineParent {
                pipeline: Pipeline(p, self.1.clone()),
                node_path: path.clone(),
            }))
    }
    /// A deployment's environment.
    async fn environment(&self, ctx: &Context<'_>) -> Result<Option<Environment>> {
        let Some(name) = &self.0.environment_name else {
            return Ok(None);
        };
        authed(ctx)?;
        Ok(queries::environment_named(&app(ctx).pool, self.1.id, name)
            .await
            .map_err(gql_err)?
            .map(|e| Environment(e, self.1.clone())))
    }
    /// Why it failed or was canceled.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// Who created it, e.g. `user:<email>` (for a child: who created its root).
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// The project it belongs to.
    async fn project(&self) -> Project {
        Project(self.1.clone())
    }
    /// The global id of the template it runs.
    async fn pipeline_template_id(&self) -> ID {
        ID(ids::encode(
            aggregate::PIPELINE_TEMPLATE,
            self.0.template_id,
        ))
    }
    /// Its stages in order, each with its nodes.
    async fn stages(&self, ctx: &Context<'_>) -> Result<Vec<Stage>> {
        authed(ctx)?;
        let pool = &app(ctx).pool;
        let stages = queries::stages(pool, self.0.id).await.map_err(gql_err)?;
        // A live page asks for the stages' statuses with every event; it
        // reads the nodes once.
        let nodes = if ctx.look_ahead().field("nodes").exists() {
            queries::nodes(pool, self.0.id, None)
                .await
                .map_err(gql_err)?
        } else {
            Vec::new()
        };
        Ok(stages
            .into_iter()
            .map(|s| Stage {
                pipeline_id: self.0.id,
                nodes: nodes
                    .iter()
                    .filter(|n| n.stage == s.name)
                    .cloned()
                    .map(PipelineNode)
                    .collect(),
                name: s.name,
                status: s.status,
            })
            .collect())
    }
    /// Its node at `path` (e.g. `stage.build.task.compile`), if it has one.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The node's path, as `PipelineNode.path` gives it.")] path: String,
    ) -> Result<Option<PipelineNode>> {
        use super::loaders::{failed, reads, NodeByPath};
        authed(ctx)?;
        Ok(reads(ctx)
            .load_one(NodeByPath(self.0.id, path))
            .await
            .map_err(failed)?
            .map(PipelineNode))
    }
    /// Its jobs (every node's runs), in the order they were queued.
    async fn jobs(&self, ctx: &Context<'_>) -> Result<Vec<Job>> {
        authed(ctx)?;
        let jobs = queries::jobs_of_pipeline(&app(ctx).pool, self.0.id)
            .await
            .map_err(gql_err)?;
        Ok(jobs.into_iter().map(|j| Job(j, self.1.clone())).collect())
    }
}

/// One stage of a pipeline, with its nodes.
pub struct Stage {
    pub pipeline_id: Uuid,
    pub name: String,
    pub status: String,
    pub nodes: Vec<PipelineNode>,
}

/// One stage of a pipeline, with its nodes.
#[Object]
impl Stage {
    /// Its id: stable for its pipeline and name (a client's cache key).
    async fn id(&self) -> ID {
        ID(ids::encode_in_pipeline(
            "Stage",
            self.pipeline_id,
            &self.name,
        ))
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.name
    }
    /// Its status.
    async fn status(&self) -> Result<StageStatus> {
        StageStatus::from_row(&self.status)
    }
    /// Its nodes, in template order.
    async fn nodes(&self) -> &[PipelineNode] {
        &self.nodes
    }
}

/// A node of a pipeline: a task, nested pipeline or deployment.
pub struct PipelineNode(pub NodeRow);

/// A node of a pipeline: a task, nested pipeline or deployment.
#[Object]
impl PipelineNode {
    /// Its id: stable for its pipeline and path, the same in every query
    /// and subscription (a client's normalized cache key).
    async fn id(&self) -> ID {
        ID(ids::encode_in_pipeline(
            "PipelineNode",
            self.0.pipeline_id,
            &self.0.path,
        ))
    }
    /// The id of its pipeline.
    async fn pipeline_id(&self) -> ID {
        ID(ids::encode(aggregate::PIPELINE, self.0.pipeline_id))
    }
    /// Whether `startPipelineNode` would be accepted from the caller now
    /// (the same authorization and state machine decide; it is still
    /// checked when it comes).
    async fn viewer_can_start(&self, ctx: &Context<'_>) -> Result<bool> {
        super::abilities::node(ctx, self.0.pipeline_id, &self.0.path, NodeAction::Start).await
    }
    /// Whether `cancelPipelineNode` would be accepted from the caller now
    /// (with `force` once the node is CANCELING).
    async fn viewer_can_cancel(&self, ctx: &Context<'_>) -> Result<bool> {
        super::abilities::node(ctx, self.0.pipeline_id, &self.0.path, NodeAction::Cancel).await
    }
    /// Whether `retryPipelineNode` would be accepted from the caller now.
    async fn viewer_can_retry(&self, ctx: &Context<'_>) -> Result<bool> {
        super::abilities::node(ctx, self.0.pipeline_id, &self.0.path, NodeAction::Retry).await
    }
    /// Whether `approvePipelineNode` would be accepted from the caller now:
    /// the node is APPROVAL_PENDING, the caller is named in one of its
    /// rules, and may approve its own pipeline if it created it.
    async fn viewer_can_approve(&self, ctx: &Context<'_>) -> Result<bool> {
        super::abilities::node(ctx, self.0.pipeline_id, &self.0.path, NodeAction::Approve).await
    }
    /// Whether `rejectPipelineNode` would be accepted from the caller now
    /// (whoever may approve the node may reject it).
    async fn viewer_can_reject(&self, ctx: &Context<'_>) -> Result<bool> {
        super::abilities::node(ctx, self.0.pipeline_id, &self.0.path, NodeAction::Reject).await
    }
    /// Whether `revokePipelineNodeApproval` would be accepted from the
    /// caller now: it approved the node, which is still APPROVAL_PENDING.
    async fn viewer_can_revoke(&self, ctx: &Context<'_>) -> Result<bool> {
        super::abilities::node(ctx, self.0.pipeline_id, &self.0.path, NodeAction::Revoke).await
    }
    /// Its approvals, from when it became APPROVAL_PENDING (null for a
    /// node without approval rules, or before).
    async fn approval(&self) -> Option<super::approvals::NodeApproval> {
        super::approvals::node_approval(&self.0.approval)
    }
    /// e.g. `stage.build.pre.task.prepare`.
    async fn path(&self) -> &str {
        &self.0.path
    }
    /// Its name (a deployment's is its environment).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// task, pipeline or deployment.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// pre, main or post.
    async fn section(&self) -> &str {
        &self.0.section
    }
    /// The names of the nodes (of its stage and section) it waits for.
    async fn dependencies(&self) -> &[String] {
        &self.0.dependencies
    }
    /// Its status.
    async fn status(&self) -> Result<NodeStatus> {
        NodeStatus::from_row(&self.0.status)
    }
    /// Why it failed, was skipped or was canceled (or its last gate attempt failed).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// Outputs by action name.
    async fn outputs(&self) -> Json<serde_json::Value> {
        Json(self.0.outputs.clone())
    }
    /// The global id of the job its latest run started, if any.
    async fn job_id(&self) -> Option<ID> {
        self.0.job_id.map(|j| ID(ids::encode(aggregate::JOB, j)))
    }
    /// A nested or deployment pipeline node: the pipeline its current run
    /// started (none until it is ready).
    async fn child_pipeline(&self, ctx: &Context<'_>) -> Result<Option<Pipeline>> {
        let Some(id) = self.0.child_pipeline_id else {
            return Ok(None);
        };
        authed(ctx)?;
        // Nested and deployment pipelines are in their parent's project,
        // which the caller sees (it got this node).
        super::loaders::pipeline(ctx, id).await
    }
    /// Its runs, oldest first: one per job (a gate's attempts, retries).
    /// A task without actions has none.
    async fn attempts(&self, ctx: &Context<'_>) -> Result<Vec<PipelineNodeAttempt>> {
        use super::loaders::{failed, reads, JobsOfPipeline, ProjectById};
        authed(ctx)?;
        let jobs: Vec<JobRow> = reads(ctx)
            .load_one(JobsOfPipeline(self.0.pipeline_id))
            .await
            .map_err(failed)?
            .unwrap_or_default()
            .into_iter()
            .filter(|j| j.node_path == self.0.path)
            .collect();
        let Some(first) = jobs.first() else {
            return Ok(vec![]);
        };
        let Some(project) = reads(ctx)
            .load_one(ProjectById(first.project_id))
            .await
            .map_err(failed)?
        else {
            return Ok(vec![]);
        };
        jobs.into_iter()
            .enumerate()
            .map(|(i, j)| {
                Ok(PipelineNodeAttempt {
                    number: i as i32 + 1,
                    status: JobStatus::from_row(&j.status)?.attempt_status(),
                    started_at: j.started_at,
                    finished_at: j.finished_at,
                    job: Job(j, project.clone()),
                })
            })
            .collect()
    }
    /// When its schedule starts it (datetime as given, or the cron
    /// expression's next time, worked out when it left BLOCKED).
    async fn scheduled_start_time(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_start_time
    }
    /// When it started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}

/// One run of a node: its job.
#[derive(SimpleObject)]
pub struct PipelineNodeAttempt {
    /// 1 for the first run.
    pub number: i32,
    /// PENDING (queued or claimed), RUNNING, SUCCEEDED or FAILED.
    pub status: NodeStatus,
    /// The job of this run.
    pub job: Job,
    /// When the job started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the job finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job: one run of a pipeline node, taken by an agent.
pub struct Job(pub JobRow, pub ProjectRow);

/// A job: one run of a pipeline node, taken by an agent.
#[Object]
impl Job {
    /// Its global id.
    async fn id(&self) -> ID {
        ID(ids::encode(aggregate::JOB, self.0.id))
    }
    /// `prn:job:ORG/PROJECT/ID`.
    async fn prn(&self) -> String {
        format!(
            "prn:job:{}/{}/{}",
            self.1.organization_name, self.1.name, self.0.id
        )
    }
    /// The path of the node it runs.
    async fn node_path(&self) -> &str {
        &self.0.node_path
    }
    /// Its status.
    async fn status(&self) -> Result<JobStatus> {
        JobStatus::from_row(&self.0.status)
    }
    /// Why the job failed; while it waits for an agent and none that may
    /// run it is connected, what it waits for.
    async fn message(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if self.0.message.is_some() || self.0.status != "QUEUED" {
            return Ok(self.0.message.clone());
        }
        let app = super::app(ctx);
        queries::waiting_for_agent(
            &app.pool,
            &self.0.tags,
            self.1.organization_id,
            app.config.jobs.heartbeat_timeout_seconds,
            app.clock.now(),
        )
        .await
        .map_err(super::gql_err)
    }
    /// The tags an agent needs to take it.
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    /// The global id of the agent that claimed it, if any.
    async fn agent_id(&self) -> Option<ID> {
        self.0
            .agent_id
            .map(|a| ID(ids::encode(aggregate::AGENT, a)))
    }
    /// Outputs by action name.
    async fn outputs(&self) -> Json<serde_json::Value> {
        Json(self.0.outputs.clone())
    }
    /// When it was queued.
    async fn queued_at(&self) -> DateTime<Utc> {
        self.0.queued_at
    }
    /// When it started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// The global id of its pipeline.
    async fn pipeline_id(&self) -> ID {
        ID(ids::encode(aggregate::PIPELINE, self.0.pipeline_id))
    }
    /// The length of the job's log in bytes, once its executor has stored
    /// all of it and reported the end; null before, and for a job that
    /// ended without its executor. `GET /jobs/{id}/log` downloads it.
    async fn log_bytes(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        queries::job_log_end(&app(ctx).pool, self.0.id)
            .await
            .map_err(gql_err)
    }
    /// The job's log from byte `offset` (0 by default), at most `limit`
    /// chunks; `nextOffset` continues it.
    async fn logs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The byte to start at (default 0).")] offset: Option<i64>,
        #[graphql(desc = "At most this many log chunks (default 1000, 1 to 10000).")] limit: Option<
            i64,
        >,
    ) -> Result<JobLog> {
        authed(ctx)?;
        let (data, next) = queries::job_log(
            &app(ctx).pool,
            self.0.id,
            offset.unwrap_or(0).max(0),
            limit.unwrap_or(1000).clamp(1, 10_000),
        )
        .await
        .map_err(gql_err)?;
        Ok(JobLog {
            text: String::from_utf8_lossy(&data).into_owned(),
            next_offset: next,
        })
    }
}

/// A piece of a job's log.
#[derive(SimpleObject)]
pub struct JobLog {
    /// The log text from `offset` (invalid UTF-8 replaced).
    pub text: String,
    /// The offset after this text: pass it as `offset` to continue.
    pub next_offset: i64,
}

/// An agent: a process that connects to the server and runs jobs.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Agent {
    #[graphql(skip)]
    pub row: AgentRow,
    /// Its name.
    pub name: String,
    /// Whether it is one of the server's own internal agents.
    pub internal: bool,
    /// Its tags.
    pub tags: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last opened a session (null if it never has).
    pub last_session_at: Option<DateTime<Utc>>,
    /// Whether it takes jobs that need no tags.
    pub run_untagged_jobs: bool,
    /// The service account that signs in as it (organization agents), if
    /// any.
    pub service_account_path: Option<String>,
}

#[ComplexObject]
impl Agent {
    /// Its global id.
    pub(crate) async fn id(&self) -> ID {
        ID(ids::encode(aggregate::AGENT, self.row.id))
    }
    /// None: an agent approves and starts nothing (see
    /// `Principal.todoItems`).
    pub(crate) async fn todo_items(
        &self,
        #[graphql(name = "first", desc = "How many to return (default 50, at most 500).")]
        _first: Option<i32>,
    ) -> Vec<super::todo::TodoItem> {
        Vec::new()
    }
    /// Whether the caller may change it (`updateAgent`): administrators
    /// for a shared agent, Owners of its organization for an
    /// organization's.
    async fn viewer_can_update(&self, ctx: &Context<'_>) -> Result<bool> {
        let claims = authed(ctx)?;
        Ok(app(ctx)
            .viewer_can_manage_agent(claims, self.row.organization_id)
            .await)
    }
    /// `prn:agent:NAME` (shared) or `prn:agent:ORG/NAME` (organization).
    async fn prn(&self, ctx: &Context<'_>) -> Result<String> {
        use super::loaders::{failed, reads, OrganizationName};
        Ok(match self.row.organization_id {
            None => format!("prn:agent:{}", self.row.name),
            Some(org) => {
                let org = reads(ctx)
                    .load_one(OrganizationName(org))
                    .await
                    .map_err(failed)?
                    .unwrap_or_default();
                format!("prn:agent:{org}/{}", self.row.name)
            }
        })
    }
    /// Its sessions, newest first.
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
    ) -> Result<Vec<super::agent_sessions::AgentSession>> {
        authed(ctx)?;
        Ok(app(ctx)
            .agent_sessions(&self.row, first)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(|row| super::agent_sessions::AgentSession {
                row,
                agent: self.row.clone(),
            })
            .collect())
    }
    /// The jobs it claimed, the most recent first, of the projects the
    /// caller sees (a shared agent runs every organization's).
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
    ) -> Result<Vec<Job>> {
        let claims = authed(ctx)?;
        Ok(app(ctx)
            .agent_jobs(claims, &self.row, first)
            .await
            .map_err(gql_err)?
            .into_iter()
            .map(|(job, project)| Job(job, project))
            .collect())
    }
    /// ORGANIZATION (takes its organization's jobs) or SHARED (takes any).
    #[graphql(name = "type")]
    async fn agent_type(&self) -> super::mutation::AgentType {
        if self.row.agent_type == "ORGANIZATION" {
            super::mutation::AgentType::Organization
        } else {
            super::mutation::AgentType::Shared
        }
    }
}

impl From<AgentRow> for Agent {
    fn from(row: AgentRow) -> Self {
        Agent {
            name: row.name.clone(),
            internal: row.internal,
            tags: row.tags.clone(),
            created_at: row.created_at,
            last_session_at: row.last_session_at,
            run_untagged_jobs: row.run_untagged_jobs,
            service_account_path: row.service_account_path.clone(),
            row,
        }
    }
}

/// One event of a pipeline's history (its own, and its jobs').
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct PipelineEvent {
    #[graphql(skip)]
    pub pipeline_id: Uuid,
    #[graphql(skip)]
    pub about: About,
    /// Resume a subscription after this event with `after: cursor`.
    pub cursor: String,
    /// The event's id.
    pub event_id: ID,
    /// e.g. NodeSucceeded, JobClaimed.
    pub event_type: String,
    /// The version of its event type.
    pub event_version: String,
    /// The type of aggregate it belongs to, e.g. Pipeline or Job.
    pub aggregate_type: String,
    /// The id of the aggregate it belongs to.
    pub aggregate_id: String,
    /// Its number among its aggregate's events.
    pub sequence: i64,
    /// Who: `user:<email>`, `agent:<id>`, `job:<id>`, `system:<name>`.
    pub actor: String,
    /// The command that produced it.
    pub command: String,
    /// Shared by everything one request set off.
    pub correlation_id: String,
    /// The event or request that directly caused its command.
    pub causation_id: String,
    /// The trace id of the work that produced it.
    pub trace_id: String,
    /// When it was stored.
    pub recorded_at: DateTime<Utc>,
    /// Its data as stored: `{"<eventType>": {…}}`.
    pub payload: Json<serde_json::Value>,
}

/// Which node an event of a pipeline's history is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum About {
    /// The pipeline, or a stage of it.
    Pipeline,
    /// The node at this path (the pipeline's `Node…` events).
    Node(String),
    /// The node whose run this job is (the job's events).
    Job(Uuid),
}

impl About {
    /// Every `Node…` event of a pipeline names its node in `path`; a job's
    /// events are about the node it runs.
    fn of(e: &phobos_commands::log::RecordedEvent) -> About {
        match e.aggregate_type.as_str() {
            aggregate::JOB => Uuid::parse_str(&e.aggregate_id)
                .map(About::Job)
                .unwrap_or(About::Pipeline),
            _ if e.event_type.starts_with("Node") => e
                .payload
                .get(&e.event_type)
                .and_then(|data| data.get("path"))
                .and_then(|p| p.as_str())
                .map(|p| About::Node(p.to_string()))
                .unwrap_or(About::Pipeline),
            _ => About::Pipeline,
        }
    }
}

/// The typed state an event leads to, so no client parses `payload`.
#[ComplexObject]
impl PipelineEvent {
    /// The pipeline as it is when the event is delivered: at least as new
    /// as the event (the read models are written in the transaction that
    /// makes the event visible here), possibly newer.
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Pipeline> {
        authed(ctx)?;
        // The subscription or query checked that the caller sees it.
        super::loaders::pipeline(ctx, self.pipeline_id)
            .await?
            .ok_or_else(|| {
                gql_err(ServiceError::new(
                    Code::NotFound,
                    format!("pipeline {} does not exist", self.pipeline_id),
                ))
            })
    }
    /// The node the event is about (a `Node…` event's, or the node a job
    /// event's job runs), as it is when the event is delivered; null for
    /// an event of the pipeline or a stage.
    async fn node(&self, ctx: &Context<'_>) -> Result<Option<PipelineNode>> {
        use super::loaders::{failed, reads, NodeByPath, NodeOfJob};
        authed(ctx)?;
        let row = match &self.about {
            About::Pipeline => None,
            About::Node(path) => reads(ctx)
                .load_one(NodeByPath(self.pipeline_id, path.clone()))
                .await
                .map_err(failed)?,
            About::Job(job) => reads(ctx).load_one(NodeOfJob(*job)).await.map_err(failed)?,
        };
        Ok(row.map(PipelineNode))
    }
}

impl PipelineEvent {
    /// Event `e` of pipeline `pipeline_id`'s history.
    pub fn of(e: phobos_commands::log::RecordedEvent, pipeline_id: Uuid) -> Self {
        let m = |k: &str| e.metadata.get(k).cloned().unwrap_or_default();
        PipelineEvent {
            pipeline_id,
            about: About::of(&e),
            cursor: e.position.to_string(),
            event_id: ID(e.event_id.to_string()),
            actor: m("actor"),
            command: m("command"),
            correlation_id: m("correlation_id"),
            causation_id: m("causation_id"),
            trace_id: m("trace_id"),
            event_type: e.event_type,
            event_version: e.event_version,
            aggregate_type: e.aggregate_type,
            aggregate_id: e.aggregate_id,
            sequence: e.sequence,
            recorded_at: e.recorded_at,
            payload: Json(e.payload),
        }
    }
}

/// A limit on how many of a resource there may be (see
/// `docs/permissions.md` and the README's Limits).
#[derive(SimpleObject)]
pub struct ResourceLimit {
    /// Its global id.
    pub id: ID,
    /// Its name, e.g. `ResourceLimitProjectsPerOrganization`.
    pub name: String,
    /// The most there may be.
    pub value: i32,
}

impl ResourceLimit {
    pub fn of(name: String, value: i32) -> ResourceLimit {
        let uuid = phobos_commands::aggregates::resource_limit_id(&name)
            .parse()
            .unwrap_or_default();
        ResourceLimit {
            id: ID(ids::encode(aggregate::RESOURCE_LIMIT, uuid)),
            name,
            value,
        }
    }
}

/// The filters every pipeline list takes: status, type, creator (`user:alice`
/// or a username alone) and order (oldest first by default).
pub(crate) fn pipeline_filter(
    status: Option<PipelineStatus>,
    pipeline_type: Option<PipelineType>,
    created_by: Option<String>,
    sort: Option<PipelineSort>,
) -> queries::PipelineFilter {
    queries::PipelineFilter {
        status: status.map(|s| CorePipelineStatus::from(s).as_str().to_string()),
        pipeline_type: pipeline_type.map(|t| CorePipelineType::from(t).as_str().to_string()),
        created_by: created_by.map(|c| {
            if c.contains(':') {
                c
            } else {
                format!("user:{c}")
            }
        }),
        order: match sort.unwrap_or(PipelineSort::CreatedAtAsc) {
            PipelineSort::CreatedAtAsc => queries::Order::OldestFirst,
            PipelineSort::CreatedAtDesc => queries::Order::NewestFirst,
        },
        ..Default::default()
    }
}
