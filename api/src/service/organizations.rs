//! Organizations and projects.

use phobos_commands::aggregates::*;
use phobos_projections::queries;

use super::{check_name, parse_id, App, Code, ServiceError};
use crate::auth::Claims;
use crate::authz::{Permission, Scope};
use phobos_projections::queries::{OrganizationRow, ProjectRow};

impl App {
    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create_organization(
        &self,
        claims: &Claims,
        name: &str,
        description: &str,
    ) -> Result<OrganizationRow, ServiceError> {
        self.require_admin(claims).await?;
        check_name("name", name)?;
        let id = organization_id(name);
        let cmd = OrganizationCommand::CreateOrganization {
            name: name.to_string(),
            description: description.to_string(),
        };
        let appended = self
            .bus
            .organization(&id, cmd, &self.context(claims))
            .await?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "organization", || {
            queries::organization(&self.pool, uuid)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(organization = %organization_name, name = %name))]
    pub async fn create_project(
        &self,
        claims: &Claims,
        organization_name: &str,
        name: &str,
        description: &str,
    ) -> Result<ProjectRow, ServiceError> {
        check_name("name", name)?;
        let org_id = organization_id(organization_name);
        let org_uuid = parse_id("organizationId", &org_id)?;
        let missing = || {
            ServiceError::field(
                Code::NotFound,
                "organizationName",
                format!("organization {organization_name:?} does not exist: create it first"),
            )
        };
        let org = queries::organization(&self.pool, org_uuid)
            .await?
            .ok_or_else(missing)?;
        self.authorize(
            claims,
            Permission::CreateProjects,
            Scope::organization(org_uuid),
            missing,
        )
        .await?;
        let id = project_id(&org_id, name);
        let cmd = ProjectCommand::CreateProject {
            organization_id: org_id,
            organization_name: org.name,
            name: name.to_string(),
            description: description.to_string(),
        };
        let appended = self.bus.project(&id, cmd, &self.context(claims)).await?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "project", || queries::project(&self.pool, uuid))
            .await
    }
}
