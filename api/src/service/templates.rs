//! Pipeline templates: checked, stored in the object store, recorded.

use phobos_commands::aggregates::*;
use phobos_projections::queries;

use super::{check_name, parse_id, App, Code, ServiceError};
use crate::auth::Claims;
use crate::authz::Permission;
use phobos_core::template::{compile, CompileOptions, DiagnosticCode, Severity, TemplateKind};
use phobos_projections::queries::TemplateRow;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Problem;

impl App {
    #[tracing::instrument(skip_all, fields(project = %project_id))]
    pub async fn create_pipeline_template(
        &self,
        claims: &Claims,
        project_id: &str,
        name: &str,
        hcl: &str,
    ) -> Result<TemplateRow, ServiceError> {
        self.user(claims)?;
        let project = parse_id("projectId", project_id)?;
        self.authorize_project(
            claims,
            super::ScopeAction::CreatePipelineTemplate.permission(),
            project,
            "projectId",
            &format!("project {project_id}"),
        )
        .await?;
        let name = if name.is_empty() { "template" } else { name };
        check_name("name", name)?;
        self.check_template(hcl, TemplateKind::Pipeline)?;
        let id = Uuid::new_v4();
        let key = format!("pipeline-templates/{project}/{id}.hcl");
        let sha = self.put_template(&key, hcl).await?;
        let cmd = PipelineTemplateCommand::CreatePipelineTemplate {
            project_id: project.to_string(),
            name: name.to_string(),
            object_key: key,
            sha256: sha,
            size: hcl.len() as u64,
        };
        let appended = self
            .bus
            .pipeline_template(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected(appended, "pipeline template", || {
            queries::template(&self.pool, id)
        })
        .await
    }

    /// Checks `hcl` as a pipeline template of the project exactly as
    /// `createPipelineTemplate` does (its errors as problems with line and
    /// column), and stores nothing. Anyone who sees the project may ask
    /// (the editor validates as its user types).
    pub async fn validate_pipeline_template(
        &self,
        claims: &Claims,
        project_id: &str,
        hcl: &str,
    ) -> Result<(), ServiceError> {
        let project = parse_id("projectId", project_id)?;
        self.authorize_project(
            claims,
            Permission::View,
            project,
            "projectId",
            &format!("project {project_id}"),
        )
        .await?;
        self.check_template(hcl, TemplateKind::Pipeline)
    }

    /// Checks an uploaded template of `kind`: its size, and that it
    /// compiles (values of variables come later, with each pipeline or
    /// release), its errors as problems of `hcl`.
    pub(super) fn check_template(&self, hcl: &str, kind: TemplateKind) -> Result<(), ServiceError> {
        if hcl.len() > self.config.template_max_upload_size {
            return Err(ServiceError::field(
                Code::TooLarge,
                "hcl",
                format!(
                    "the template is {} bytes; the limit is {} (PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE)",
                    hcl.len(),
                    self.config.template_max_upload_size
                ),
            ));
        }
        if let Err(diags) = compile(hcl, &CompileOptions::new(kind, self.clock.now())) {
            let problems: Vec<Problem> = diags
                .0
                .iter()
                .filter(|d| {
                    d.severity == Severity::Error
                        && d.code != Some(DiagnosticCode::VariableWithoutValue)
                })
                .map(|d| Problem::of_diagnostic(d, "hcl"))
                .collect();
            if !problems.is_empty() {
                return Err(ServiceError {
                    code: Code::Invalid,
                    message: format!("the template has {} error(s)", problems.len()),
                    problems,
                });
            }
        }
        Ok(())
    }

    /// Stores a template's text under `key`; returns its SHA-256 (hex).
    pub(super) async fn put_template(&self, key: &str, hcl: &str) -> Result<String, ServiceError> {
        self.objects.put(key, hcl.as_bytes()).await.map_err(|e| {
            tracing::error!(error = %e, "object store write failed");
            ServiceError::new(
                Code::Unavailable,
                "the object store is unavailable; try again shortly",
            )
        })?;
        Ok(hex::encode(Sha256::digest(hcl.as_bytes())))
    }
}
