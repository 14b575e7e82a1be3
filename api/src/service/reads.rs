//! Reads, authorized: lists show only what the caller may see, and a
//! single resource it may not see reads as absent.

use phobos_projections::queries::{
    self, AgentRow, JobRow, OrganizationRow, Page, PageRequest, PipelineRow, ProjectRow,
};
use uuid::Uuid;

use super::{App, ServiceError};
use crate::auth::Claims;
use crate::authz::Scope;

impl App {
    pub async fn organizations(
        &self,
        claims: &Claims,
        page: &PageRequest,
    ) -> Result<Page<OrganizationRow>, ServiceError> {
        self.user(claims)?;
        let only = self.subject(claims).await?.organizations();
        Ok(queries::organizations(&self.pool, only.as_deref(), page).await?)
    }

    pub async fn organization(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<OrganizationRow>, ServiceError> {
        if !self.sees(claims, Scope::organization(id)).await? {
            return Ok(None);
        }
        Ok(queries::organization(&self.pool, id).await?)
    }

    /// The projects of organization `id` the caller sees.
    pub async fn projects(
        &self,
        claims: &Claims,
        organization: Uuid,
        page: &PageRequest,
    ) -> Result<Page<ProjectRow>, ServiceError> {
        self.user(claims)?;
        let only = self.subject(claims).await?.projects_of(organization);
        Ok(queries::projects(&self.pool, organization, only.as_deref(), page).await?)
    }

    /// The pipelines of every project the caller sees that pass `filter`
    /// (every project, for an administrator), each with its project.
    #[tracing::instrument(skip_all)]
    pub async fn visible_pipelines(
        &self,
        claims: &Claims,
        filter: &queries::PipelineFilter,
        page: &PageRequest,
    ) -> Result<Page<(PipelineRow, ProjectRow)>, ServiceError> {
        self.user(claims)?;
        let projects = match self.subject(claims).await?.visible_scopes() {
            None => None,
            Some((orgs, mut projects)) => {
                projects.extend(queries::projects_of_organizations(&self.pool, &orgs).await?);
                Some(projects)
            }
        };
        let rows =
            queries::pipelines_of_projects(&self.pool, projects.as_deref(), filter, page).await?;
        let mut ids: Vec<Uuid> = rows.items.iter().map(|(_, p)| p.project_id).collect();
        ids.sort();
        ids.dedup();
        let of = queries::projects_by_ids(&self.pool, &ids).await?;
        Ok(Page {
            items: rows
                .items
                .into_iter()
                .filter_map(|(cursor, p)| {
                    let project = of.iter().find(|o| o.id == p.project_id)?.clone();
                    Some((cursor, (p, project)))
                })
                .collect(),
            has_next_page: rows.has_next_page,
        })
    }

    /// Project `id`, if the caller sees it.
    pub async fn project(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<ProjectRow>, ServiceError> {
        match self.project_scope(id).await? {
            Some((p, scope)) if self.sees(claims, scope).await? => Ok(Some(p)),
            _ => {
                self.user(claims)?;
                Ok(None)
            }
        }
    }

    /// Pipeline `id` and its project, if the caller sees them.
    pub async fn pipeline(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<(PipelineRow, ProjectRow)>, ServiceError> {
        let Some(p) = queries::pipeline(&self.pool, id).await? else {
            self.user(claims)?;
            return Ok(None);
        };
        Ok(self
            .project(claims, p.project_id)
            .await?
            .map(|proj| (p, proj)))
    }

    /// Job `id` and its project, if the caller sees them.
    pub async fn job(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<(JobRow, ProjectRow)>, ServiceError> {
        let Some(j) = queries::job(&self.pool, id).await? else {
            self.user(claims)?;
            return Ok(None);
        };
        Ok(self
            .project(claims, j.project_id)
            .await?
            .map(|proj| (j, proj)))
    }

    /// Shared agents, and those of the organizations the caller sees.
    pub async fn agents(
        &self,
        claims: &Claims,
        page: &PageRequest,
    ) -> Result<Page<AgentRow>, ServiceError> {
        self.user(claims)?;
        let only = self.subject(claims).await?.organizations();
        Ok(queries::agents(&self.pool, only.as_deref(), page).await?)
    }

    /// Agent `id`, if the caller sees it (shared ones are seen by all).
    pub async fn agent(&self, claims: &Claims, id: Uuid) -> Result<Option<AgentRow>, ServiceError> {
        let Some(a) = queries::agent(&self.pool, id).await? else {
            self.user(claims)?;
            return Ok(None);
        };
        match a.organization_id {
            Some(org) if !self.sees(claims, Scope::organization(org)).await? => Ok(None),
            _ => {
                self.user(claims)?;
                Ok(Some(a))
            }
        }
    }
}
