//! The activity feed, authorized: a caller reads the activity of what it
//! sees, and of an organization only the projects it sees.

use phobos_projections::activity::{self, ActivityFilter, ActivityResource, ActivityRow};
use phobos_projections::queries::{Page, PageRequest};
use uuid::Uuid;

use super::{App, Code, ServiceError};
use crate::auth::Claims;

/// Whose activity.
#[derive(Debug, Clone, Copy)]
pub enum ActivityScope {
    /// Everything the caller sees, across organizations.
    Viewer,
    Organization(Uuid),
    Project(Uuid),
    Release(Uuid),
}

impl App {
    /// The filter that reads `scope`'s activity as the caller may see it,
    /// narrowed to `actor` and `resources`; NOT_FOUND when the caller does
    /// not see the scope.
    pub async fn activity_filter(
        &self,
        claims: &Claims,
        scope: ActivityScope,
        actor: Option<String>,
        resources: Vec<ActivityResource>,
    ) -> Result<ActivityFilter, ServiceError> {
        let missing =
            |what: String| ServiceError::new(Code::NotFound, format!("{what} does not exist"));
        let mut f = ActivityFilter {
            actor,
            resources,
            ..Default::default()
        };
        match scope {
            ActivityScope::Viewer => f.visible = self.subject(claims).await?.visible_scopes(),
            ActivityScope::Organization(id) => {
                if self.organization(claims, id).await?.is_none() {
                    return Err(missing(format!("organization {id}")));
                }
                f.organization = Some(id);
                f.projects_in = self.subject(claims).await?.projects_of(id);
            }
            ActivityScope::Project(id) => {
                if self.project(claims, id).await?.is_none() {
                    return Err(missing(format!("project {id}")));
                }
                f.project = Some(id);
            }
            ActivityScope::Release(id) => {
                if self.release(claims, id).await?.is_none() {
                    return Err(missing(format!("release {id}")));
                }
                f.release = Some(id);
            }
        }
        Ok(f)
    }

    /// A page of the feed, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn activity(
        &self,
        filter: &ActivityFilter,
        req: &PageRequest,
    ) -> Result<Page<ActivityRow>, ServiceError> {
        Ok(activity::activity(&self.pool, filter, req).await?)
    }
}
