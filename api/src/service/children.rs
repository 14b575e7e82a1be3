//! Building the child of a nested or deployment pipeline node, for the
//! policy worker ([`ChildPipelines`]): its template resolved in the parent's
//! project and compiled with the node's variables, here where the object
//! store and the compiler are.

use std::sync::Arc;

use phobos_commands::children::{BuiltChild, ChildPipelines, ChildRefused, ChildRequest};
use phobos_core::events::aggregate;
use phobos_core::template::{compile, CompileOptions, Diagnostic, TemplateKind, VariableInput};
use phobos_projections::queries;
use uuid::Uuid;

use super::pipelines::refuse_unsupported;
use super::{App, Code, Problem};

/// The [`ChildPipelines`] of a server.
pub(crate) struct ChildBuilder {
    app: Arc<App>,
}

impl ChildBuilder {
    pub(crate) fn new(app: Arc<App>) -> Self {
        ChildBuilder { app }
    }
}

#[async_trait::async_trait]
impl ChildPipelines for ChildBuilder {
    /// At most `PHOBOS_ASYNC_TASK_TIMEOUT`: a slow object store fails the
    /// attempt as unavailable (the policy tries again), it does not hold
    /// the policy worker.
    async fn build(&self, req: ChildRequest<'_>) -> Result<BuiltChild, ChildRefused> {
        let limit = std::time::Duration::from_secs(self.app.config.async_task_timeout_seconds);
        tokio::time::timeout(limit, self.app.build_child(req))
            .await
            .unwrap_or_else(|_| {
                Err(unavailable(format!(
                    "it took longer than {} s (PHOBOS_ASYNC_TASK_TIMEOUT)",
                    limit.as_secs()
                )))
            })
    }
}

fn unavailable(e: impl std::fmt::Display) -> ChildRefused {
    ChildRefused::Unavailable(format!("cannot build the nested pipeline right now: {e}"))
}

/// `line L, column C: message`, for each.
fn located<'a>(found: impl Iterator<Item = (&'a str, Option<u32>, Option<u32>)>) -> String {
    found
        .map(|(message, line, column)| match (line, column) {
            (Some(l), Some(c)) => format!("line {l}, column {c}: {message}"),
            (Some(l), None) => format!("line {l}: {message}"),
            _ => message.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn diagnostics<'a>(
    d: impl Iterator<Item = &'a Diagnostic>,
) -> impl Iterator<Item = (&'a str, Option<u32>, Option<u32>)> {
    d.map(|d| {
        (
            d.message.as_str(),
            d.line.map(|l| l as u32),
            d.column.map(|c| c as u32),
        )
    })
}

fn problems(p: &[Problem]) -> impl Iterator<Item = (&str, Option<u32>, Option<u32>)> {
    p.iter().map(|p| (p.message.as_str(), p.line, p.column))
}

impl App {
    /// Resolves the child's template (its id as `createPipelineTemplate`
    /// returns it, its UUID, or `prn:pipeline_template:ORG/PROJECT/ID`; in
    /// the parent's project) and compiles it with the node's variables.
    /// What does not fit is refused with the child template's problems,
    /// line and column included.
    #[tracing::instrument(skip_all, fields(parent = %req.parent_id, node = %req.node_path))]
    pub(crate) async fn build_child(
        &self,
        req: ChildRequest<'_>,
    ) -> Result<BuiltChild, ChildRefused> {
        let reference = req.spec.template_ref.as_str();
        let refused = ChildRefused::Refused;
        let project_id: Uuid = req
            .project_id
            .parse()
            .map_err(|_| refused(format!("project {} is not an id", req.project_id)))?;
        let project = queries::project(&self.pool, project_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| refused(format!("project {project_id} does not exist")))?;
        let here = format!("{}/{}", project.organization_name, project.name);
        let not_found = || {
            refused(format!(
                "template {reference} does not exist in project {here}; name a template of this project by the id createPipelineTemplate returned or by prn:pipeline_template:{here}/<id>"
            ))
        };
        let id = match reference.strip_prefix("prn:pipeline_template:") {
            Some(path) => match path.rsplit_once('/') {
                Some((owner, id)) if owner == here => Uuid::parse_str(id).ok(),
                Some((owner, _)) => {
                    return Err(refused(format!(
                        "template {reference} is in project {owner}, not in {here}: a nested pipeline's template must be in its parent's project"
                    )))
                }
                None => None,
            },
            None => crate::graphql::ids::uuid_of(aggregate::PIPELINE_TEMPLATE, reference),
        }
        .ok_or_else(not_found)?;
        let template = queries::template(&self.pool, id)
            .await
            .map_err(unavailable)?
            .filter(|t| t.project_id == project_id)
            .ok_or_else(not_found)?;
        let hcl = self
            .template_text(&template)
            .await
            .map_err(|e| match e.code {
                Code::Unavailable => unavailable(e.message),
                _ => refused(format!("template {reference}: {}", e.message)),
            })?;
        let created_at = self.clock.now();
        let mut opts = CompileOptions::new(TemplateKind::Pipeline, created_at);
        for (name, value) in &req.spec.variables {
            let value = serde_json::from_value(value.clone())
                .map_err(|e| refused(format!("variable {name}: {e}")))?;
            opts = opts.var(name.clone(), VariableInput::Value(value));
        }
        let mut compiled = compile(&hcl, &opts).map_err(|d| {
            refused(format!(
                "template {reference} cannot be run with these variables: {}",
                located(diagnostics(d.errors()))
            ))
        })?;
        refuse_unsupported(&hcl, &compiled).map_err(|e| {
            refused(format!(
                "template {reference}: {}",
                located(problems(&e.problems))
            ))
        })?;
        self.resolve_approval_rules(&hcl, &mut compiled, &project)
            .await
            .map_err(|e| match e.code {
                Code::Unavailable => unavailable(e.message),
                _ => refused(format!(
                    "template {reference}: {}",
                    located(problems(&e.problems))
                )),
            })?;
        Ok(BuiltChild {
            template_id: id.to_string(),
            graph: compiled.graph,
            created_at,
        })
    }
}
