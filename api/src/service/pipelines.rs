//! Pipelines: compiled from a stored template and its variables, then run.

use phobos_commands::aggregates::*;
use phobos_projections::queries;

use super::{parse_id, App, Code, ServiceError};
use crate::auth::Claims;
use crate::authz::Permission;
use phobos_core::template::{compile, CompileOptions, TemplateKind, VariableInput};
use phobos_projections::queries::PipelineRow;
use uuid::Uuid;

use super::environments::DeployAction;
use super::Problem;

impl App {
    #[tracing::instrument(skip_all, fields(template = %template_id))]
    pub async fn create_pipeline(
        &self,
        claims: &Claims,
        template_id: &str,
        variables: &[(String, String)],
    ) -> Result<PipelineRow, ServiceError> {
        self.user(claims)?;
        let tid = parse_id("pipelineTemplateId", template_id)?;
        let missing = || {
            ServiceError::field(
                Code::NotFound,
                "pipelineTemplateId",
                format!("pipeline template {template_id} does not exist"),
            )
        };
        let template = queries::template(&self.pool, tid)
            .await?
            .ok_or_else(missing)?;
        let project = self
            .authorize_project(
                claims,
                super::ScopeAction::CreatePipeline.permission(),
                template.project_id,
                "pipelineTemplateId",
                &format!("pipeline template {template_id}"),
            )
            .await?;
        let hcl = self.template_text(&template).await?;
        let compiled_at = self.clock.now();
        let mut opts = CompileOptions::new(TemplateKind::Pipeline, compiled_at);
        for (k, v) in variables {
            opts = opts.var(k.clone(), VariableInput::Raw(v.clone()));
        }
        let mut compiled = compile(&hcl, &opts).map_err(|diags| ServiceError {
            code: Code::Invalid,
            message: format!(
                "the pipeline cannot be created: {} problem(s)",
                diags.errors().count()
            ),
            problems: diags
                .errors()
                .map(|d| {
                    Problem::of_diagnostic(
                        d,
                        if d.code.is_some() {
                            "variables"
                        } else {
                            "template"
                        },
                    )
                })
                .collect(),
        })?;
        refuse_unsupported(&hcl, &compiled)?;
        self.resolve_approval_rules(&hcl, &mut compiled, &project)
            .await?;
        self.check_auto_deployments(claims, &project, &compiled.graph, "pipelineTemplateId")
            .await?;
        let id = Uuid::new_v4();
        let cmd = PipelineCommand::CreatePipeline {
            pipeline_id: id.to_string(),
            project_id: template.project_id.to_string(),
            template_id: tid.to_string(),
            graph: Box::new(compiled.graph),
            created_at: Some(compiled_at),
            origin: Default::default(),
        };
        let appended = self
            .bus
            .pipeline(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected(appended, "pipeline", || queries::pipeline(&self.pool, id))
            .await
    }
}

impl App {
    /// The HCL text of `template`, read from the object store and checked
    /// against the checksum recorded when it was uploaded.
    pub(super) async fn template_text(
        &self,
        template: &queries::TemplateRow,
    ) -> Result<String, ServiceError> {
        self.stored_text(&template.object_key, &template.sha256)
            .await
    }

    /// `startPipelineNode`: a WAITING node (`when = "manual"`) goes on,
    /// with the user as the actor of its `NodeBecameReady`.
    #[tracing::instrument(skip_all, fields(pipeline = %pipeline_id, node = %node_path))]
    pub async fn start_pipeline_node(
        &self,
        claims: &Claims,
        pipeline_id: Uuid,
        node_path: &str,
    ) -> Result<PipelineRow, ServiceError> {
        let cmd = PipelineCommand::StartNode {
            path: node_path.to_string(),
        };
        self.node_command(claims, pipeline_id, cmd).await
    }

    /// `retryPipelineNode`: a FAILED node runs again as a new attempt.
    #[tracing::instrument(skip_all, fields(pipeline = %pipeline_id, node = %node_path))]
    pub async fn retry_pipeline_node(
        &self,
        claims: &Claims,
        pipeline_id: Uuid,
        node_path: &str,
    ) -> Result<PipelineRow, ServiceError> {
        let cmd = PipelineCommand::RetryNode {
            path: node_path.to_string(),
        };
        self.node_command(claims, pipeline_id, cmd).await
    }

    /// `updatePipelineNodeSchedule`: a node that has not started gets
    /// `schedule` (or none) in place of its template's.
    #[tracing::instrument(skip_all, fields(pipeline = %pipeline_id, node = %node_path))]
    pub async fn update_pipeline_node_schedule(
        &self,
        claims: &Claims,
        pipeline_id: Uuid,
        node_path: &str,
        schedule: Option<phobos_core::template::model::Schedule>,
    ) -> Result<PipelineRow, ServiceError> {
        let cmd = PipelineCommand::UpdateSchedule {
            path: node_path.to_string(),
            schedule,
        };
        self.node_command(claims, pipeline_id, cmd).await
    }

    /// `cancelPipeline`: what has not started is canceled; jobs in flight
    /// get SIGTERM, then SIGKILL after `PHOBOS_JOB_CANCEL_GRACE_SECONDS`
    /// (`force`: the jobs are canceled at once).
    #[tracing::instrument(skip_all, fields(pipeline = %pipeline_id, force))]
    pub async fn cancel_pipeline(
        &self,
        claims: &Claims,
        pipeline_id: Uuid,
        force: bool,
    ) -> Result<PipelineRow, ServiceError> {
        let cmd = PipelineCommand::CancelPipeline {
            force,
            grace_seconds: self.config.jobs.cancel_grace_seconds,
        };
        self.pipeline_command(claims, pipeline_id, cmd, ("id", "id"))
            .await
    }

    /// `cancelPipelineNode`: one node stops, as [`cancel_pipeline`](Self::cancel_pipeline)
    /// stops all.
    #[tracing::instrument(skip_all, fields(pipeline = %pipeline_id, node = %node_path, force))]
    pub async fn cancel_pipeline_node(
        &self,
        claims: &Claims,
        pipeline_id: Uuid,
        node_path: &str,
        force: bool,
    ) -> Result<PipelineRow, ServiceError> {
        let cmd = PipelineCommand::CancelNode {
            path: node_path.to_string(),
            force,
            grace_seconds: self.config.jobs.cancel_grace_seconds,
        };
        self.node_command(claims, pipeline_id, cmd).await
    }

    /// Runs a user's command on one node of a pipeline; a refusal is a
    /// problem of the field `nodePath` (`schedule` when the request is
    /// wrong).
    async fn node_command(
        &self,
        claims: &Claims,
        pipeline_id: Uuid,
        cmd: PipelineCommand,
    ) -> Result<PipelineRow, ServiceError> {
        self.pipeline_command(claims, pipeline_id, cmd, ("pipelineId", "nodePath"))
            .await
    }

    /// Whether `claims` may give `cmd` to pipeline `p`, as
    /// [`pipeline_command`](Self::pipeline_command) checks it before the
    /// state machine decides: the permission in the project (approvals
    /// need only to see the pipeline; the service checked who may decide),
    /// and an environment's protection for a deployment node.
    pub(super) async fn authorize_pipeline_command(
        &self,
        claims: &Claims,
        p: &PipelineRow,
        cmd: &PipelineCommand,
        (id_field, refused_field): (&str, &str),
    ) -> Result<(), ServiceError> {
        let what = format!("pipeline {}", p.id);
        let needs = match cmd {
            PipelineCommand::ApproveNode { .. }
            | PipelineCommand::RevokeNodeApproval { .. }
            | PipelineCommand::RejectNode { .. } => Permission::View,
            PipelineCommand::OverrideNodeApproval { .. } => Permission::ManageApprovalRules,
            _ => Permission::RunPipelines,
        };
        let project = self
            .authorize_project(claims, needs, p.project_id, id_field, &what)
            .await?;
        let protected = match cmd {
            // A schedule removed or brought forward starts the node.
            PipelineCommand::StartNode { path }
            | PipelineCommand::RetryNode { path }
            | PipelineCommand::UpdateSchedule { path, .. } => Some((path, DeployAction::Start)),
            PipelineCommand::ApproveNode { path, .. }
            | PipelineCommand::RejectNode { path, .. }
            | PipelineCommand::OverrideNodeApproval { path, .. } => {
                Some((path, DeployAction::Approve))
            }
            _ => None,
        };
        if let Some((path, action)) = protected {
            if let Some(env) = self.deployment_of_node(p, path).await? {
                self.check_deploy(claims, &project, &env, action, refused_field)
                    .await?;
            }
        }
        Ok(())
    }

    /// Runs a user's command on a pipeline. `fields`: the input fields a
    /// missing pipeline and a refusal are problems of. Approvals need only
    /// to see the pipeline (the service checked who may decide); the rest
    /// needs RunPipelines.
    pub(super) async fn pipeline_command(
        &self,
        claims: &Claims,
        pipeline_id: Uuid,
        cmd: PipelineCommand,
        (id_field, refused_field): (&str, &str),
    ) -> Result<PipelineRow, ServiceError> {
        self.user(claims)?;
        let what = format!("pipeline {pipeline_id}");
        let Some(p) = queries::pipeline(&self.pool, pipeline_id).await? else {
            return Err(ServiceError::field(
                Code::NotFound,
                id_field,
                format!("{what} does not exist"),
            ));
        };
        let invalid_field = match &cmd {
            PipelineCommand::UpdateSchedule { .. } => "schedule",
            PipelineCommand::RejectNode { .. } | PipelineCommand::OverrideNodeApproval { .. } => {
                "comment"
            }
            _ => refused_field,
        };
        self.authorize_pipeline_command(claims, &p, &cmd, (id_field, refused_field))
            .await?;
        let appended = self
            .bus
            .pipeline(&pipeline_id.to_string(), cmd, &self.context(claims))
            .await
            .map_err(|e| match e {
                phobos_commands::CommandError::Rejected(d) => {
                    let (code, field) = match d {
                        phobos_commands::DomainError::NotFound(_) => {
                            (Code::NotFound, refused_field)
                        }
                        phobos_commands::DomainError::Invalid(_) => (Code::Invalid, invalid_field),
                        _ => (Code::Conflict, refused_field),
                    };
                    ServiceError::field(code, field, d.to_string())
                }
                other => other.into(),
            })?;
        self.projected(appended, "pipeline", || {
            queries::pipeline(&self.pool, pipeline_id)
        })
        .await
    }
}

/// Refuses a pipeline that needs what this server cannot do yet, with one
/// located problem per use (blocks, and node features such as manual
/// starts), rather than running it without them or leaving it waiting.
pub(super) fn refuse_unsupported(
    source: &str,
    compiled: &phobos_core::template::Compiled,
) -> Result<(), ServiceError> {
    use phobos_core::pipeline::{unsupported, unsupported_blocks};
    let mut found = unsupported_blocks(&compiled.template);
    for (path, message) in unsupported(&compiled.graph) {
        let span = compiled
            .template
            .stages
            .iter()
            .flat_map(|s| s.nodes())
            .find(|n| n.path == path)
            .and_then(|n| n.span.clone());
        found.error(span, message);
    }
    found.locate(source);
    let problems: Vec<Problem> = found
        .errors()
        .map(|d| Problem::of_diagnostic(d, "template"))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(ServiceError {
        code: Code::Invalid,
        message: format!(
            "this server cannot run the pipeline yet: {} problem(s)",
            problems.len()
        ),
        problems,
    })
}
