//! Environments: a project's places to deploy to. Created by
//! `createEnvironment`, or by the first deployment pipeline to one.

use phobos_commands::aggregates::{environment_id, EnvironmentCommand};
use phobos_commands::{CommandError, DomainError};
use phobos_projections::queries::{self, EnvironmentRow};
use uuid::Uuid;

use super::{check_name, App, Code, ServiceError};
use crate::auth::Claims;
use crate::authz::Permission;

impl App {
    /// `createEnvironment`. A name the project already has is a CONFLICT
    /// problem of `name`.
    #[tracing::instrument(skip_all, fields(project = %project, name = %name))]
    pub async fn create_environment(
        &self,
        claims: &Claims,
        project: Uuid,
        name: &str,
        description: &str,
    ) -> Result<EnvironmentRow, ServiceError> {
        let row = self
            .authorize_project(
                claims,
                Permission::ManageEnvironments,
                project,
                "projectId",
                &format!("project {project}"),
            )
            .await?;
        check_name("name", name)?;
        let id = environment_id(&project.to_string(), name);
        let cmd = EnvironmentCommand::CreateEnvironment {
            project_id: project.to_string(),
            name: name.to_string(),
            description: description.to_string(),
        };
        let appended = self
            .bus
            .environment(&id, cmd, &self.context(claims))
            .await
            .map_err(|e| match e {
                CommandError::Rejected(DomainError::AlreadyExists(_)) => ServiceError::field(
                    Code::Conflict,
                    "name",
                    format!(
                        "project {}/{} already has an environment called {name}",
                        row.organization_name, row.name
                    ),
                ),
                other => other.into(),
            })?;
        let id: Uuid = id
            .parse()
            .map_err(|_| ServiceError::new(Code::Internal, "an environment id is not a UUID"))?;
        self.projected(appended, "environment", || {
            queries::environment(&self.pool, id)
        })
        .await
    }
}
