//! The activity feed: `release.activity`, `project.activity`,
//! `organization.activity` and the `activity` subscription.

use std::time::Duration;

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, Object, Result, ID};
use chrono::{DateTime, Utc};
use futures::Stream;
use phobos_commands::log::Position;
use phobos_core::events::aggregate;
use phobos_projections::activity::{
    self as feed, ActivityAction as Action, ActivityResource as Resource, ActivityRow,
};

use super::enums::mirror;
use super::types::{connection, page_request};
use super::{app, authed, gql_err, ids};
use crate::service::{ActivityScope, Code, ServiceError};

mirror!(
    /// What was done.
    ActivityAction from Action {
        /// Created.
        Created,
        /// Changed (a new version, new rules, new notes…).
        Updated,
        /// Deleted.
        Deleted,
        /// A node waiting for a manual start was started.
        Started,
        /// A node was approved.
        Approved,
        /// An approval was taken back.
        ApprovalRevoked,
        /// A node's approval was refused.
        Rejected,
        /// A node's approvals were overridden.
        ApprovalOverridden,
        /// A pipeline or node was canceled.
        Canceled,
        /// A node was retried.
        Retried,
        /// A node's schedule was changed.
        ScheduleUpdated,
        /// A deployment succeeded.
        Deployed,
        /// A pipeline succeeded.
        Succeeded,
        /// A pipeline, deployment or node failed.
        Failed,
    }
);

mirror!(
    /// What it was done to.
    ActivityResourceType from Resource {
        /// An organization.
        Organization,
        /// A project.
        Project,
        /// A membership (`subject`: the member, when created).
        Membership,
        /// A pipeline template (`subject`: its name).
        PipelineTemplate,
        /// A pipeline.
        Pipeline,
        /// A node of a pipeline (`subject`: its path).
        PipelineNode,
        /// A deployment pipeline (`subject`: its environment).
        Deployment,
        /// An environment.
        Environment,
        /// A release lifecycle.
        ReleaseLifecycle,
        /// A release (`subject`: its version, when created).
        Release,
        /// An approval rule.
        ApprovalRule,
    }
);

/// Someone did something to a resource.
pub struct ActivityEvent(pub ActivityRow);

/// Someone did something to a resource.
#[Object]
impl ActivityEvent {
    /// Its place in the feed: pass it as `after` to read on from it.
    async fn cursor(&self) -> String {
        self.0.position.to_string()
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Who: `user:<name>`, `service_account:<id>`, `agent:<id>`,
    /// `job:<id>` or `system:<part of the server>`.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// What was done.
    async fn action(&self) -> ActivityAction {
        self.0.action.into()
    }
    /// The kind of resource.
    async fn resource_type(&self) -> ActivityResourceType {
        self.0.resource.into()
    }
    /// The resource's global id (a node's is its pipeline's).
    async fn resource_id(&self) -> ID {
        let kind = match self.0.resource {
            Resource::Organization => aggregate::ORGANIZATION,
            Resource::Project | Resource::Membership if self.0.project_id.is_some() => {
                aggregate::PROJECT
            }
            Resource::Membership => aggregate::ORGANIZATION,
            Resource::PipelineTemplate => aggregate::PIPELINE_TEMPLATE,
            Resource::Pipeline | Resource::PipelineNode | Resource::Deployment => {
                aggregate::PIPELINE
            }
            Resource::Environment => aggregate::ENVIRONMENT,
            Resource::ReleaseLifecycle => aggregate::RELEASE_LIFECYCLE,
            Resource::Release => aggregate::RELEASE,
            Resource::ApprovalRule => aggregate::APPROVAL_RULE,
            Resource::Project => aggregate::PROJECT,
        };
        ID(ids::encode(kind, self.0.resource_id))
    }
    /// What in the resource: a node's path, a deployment's environment, a
    /// created resource's name.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// A rejection's or override's comment, a failure's reason.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// The organization it happened in, by name.
    async fn organization_name(&self, ctx: &Context<'_>) -> Result<String> {
        use super::loaders::{failed, reads, OrganizationName};
        Ok(reads(ctx)
            .load_one(OrganizationName(self.0.organization_id))
            .await
            .map_err(failed)?
            .unwrap_or_default())
    }
    /// The name of the project it happened in, if it happened in one.
    async fn project_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        use super::loaders::{failed, reads, ProjectById};
        let Some(id) = self.0.project_id else {
            return Ok(None);
        };
        Ok(reads(ctx)
            .load_one(ProjectById(id))
            .await
            .map_err(failed)?
            .map(|p| p.name))
    }
    /// The project, when it happened in one.
    async fn project_id(&self) -> Option<ID> {
        self.0
            .project_id
            .map(|p| ID(ids::encode(aggregate::PROJECT, p)))
    }
    /// The release, when it happened in one (its lifecycle pipeline and the
    /// pipelines below it).
    async fn release_id(&self) -> Option<ID> {
        self.0
            .release_id
            .map(|r| ID(ids::encode(aggregate::RELEASE, r)))
    }
}

/// A page of `scope`'s feed, newest first.
pub(crate) async fn feed_page(
    ctx: &Context<'_>,
    scope: ActivityScope,
    first: Option<i32>,
    after: Option<String>,
    actor: Option<String>,
    resource_types: Option<Vec<ActivityResourceType>>,
) -> Result<Connection<String, ActivityEvent>> {
    let claims = authed(ctx)?;
    let app = app(ctx);
    let resources = resource_types
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect();
    let filter = app
        .activity_filter(claims, scope, actor, resources)
        .await
        .map_err(gql_err)?;
    let page = app
        .activity(&filter, &page_request(first, after))
        .await
        .map_err(gql_err)?;
    Ok(connection(page, ActivityEvent))
}

/// The `activity` subscription: `scope`'s feed as it happens, oldest
/// first, from `after` (or from now).
pub(crate) async fn follow(
    ctx: &Context<'_>,
    scope: ActivityScope,
    actor: Option<String>,
    resource_types: Option<Vec<ActivityResourceType>>,
    after: Option<String>,
) -> Result<impl Stream<Item = ActivityEvent>> {
    let claims = authed(ctx)?.clone();
    let app = app(ctx).clone();
    let resources: Vec<Resource> = resource_types
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect();
    let filter = app
        .activity_filter(&claims, scope, actor.clone(), resources.clone())
        .await
        .map_err(gql_err)?;
    let mut cursor: Position = match after {
        Some(a) => a
            .parse()
            .map_err(|m: String| gql_err(ServiceError::new(Code::Invalid, m)))?,
        None => feed::newest_position(&app.pool)
            .await
            .map_err(|e| gql_err(ServiceError::from(e)))?,
    };
    let mut projected = app.projected.clone();
    Ok(async_stream::stream! {
        let mut filter = filter;
        // The scope's visibility is re-checked with the filter.
        let mut hold = super::subscription::Recheck::new(&claims);
        loop {
            if hold.expired(&app) {
                break;
            }
            if hold.due() {
                match app.activity_filter(&claims, scope, actor.clone(), resources.clone()).await {
                    Ok(f) => filter = f,
                    Err(_) => break,
                }
            }
            match feed::activity_since(&app.pool, &filter, cursor, 500).await {
                Ok(rows) if !rows.is_empty() => {
                    for r in rows {
                        cursor = r.position;
                        yield ActivityEvent(r);
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "activity subscription read failed; retrying"),
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), projected.changed()).await;
        }
    })
}
