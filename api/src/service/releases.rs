//! Release lifecycles and releases. A release is an immutable snapshot of a
//! lifecycle's template version, each environment's deployment template
//! and the variables, made into its lifecycle pipeline at creation (the
//! `ReleaseCreated` event carries it; a policy creates the pipeline).

use phobos_commands::aggregates::{
    release_id, release_lifecycle_id, ReleaseCommand, ReleaseLifecycleCommand,
};
use phobos_core::events::{ReleaseDeploymentTemplate, ReleaseVariable};
use phobos_core::template::model::{Expr, NodeKind, PipelineSpec};
use phobos_core::template::{
    compile, declared_variables, CompileOptions, DiagnosticCode, Severity, TemplateKind,
    VariableInput,
};
use phobos_projections::queries::{self, Page, PageRequest, ProjectRow};
use phobos_projections::releases::{self, ReleaseLifecycleRow, ReleaseRow};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{check_name, parse_id, App, Code, MembershipScope, Problem, ServiceError};
use crate::auth::Claims;
use crate::authz::{Permission, Scope};

/// What `createRelease` asks for.
pub struct NewRelease {
    pub project_id: Uuid,
    pub lifecycle_id: Uuid,
    pub semantic_version: String,
    /// (environment, pipeline template id)
    pub deployment_templates: Vec<(String, String)>,
    pub variables: Vec<ReleaseVariable>,
    pub due_date: Option<chrono::DateTime<chrono::Utc>>,
    pub notes: String,
    pub pre_release: bool,
}

fn invalid(field: &str, problems: Vec<Problem>, what: &str) -> ServiceError {
    ServiceError {
        code: Code::Invalid,
        message: format!("{what}: {} problem(s)", problems.len()),
        problems: problems
            .into_iter()
            .map(|mut p| {
                p.field.get_or_insert_with(|| field.to_string());
                p
            })
            .collect(),
    }
}

impl App {
    /// The text stored under `key`, checked against its SHA-256.
    async fn stored_text(&self, key: &str, sha256: &str) -> Result<String, ServiceError> {
        let bytes = self.objects.get(key).await.map_err(|e| {
            tracing::error!(error = %e, "object store read failed");
            ServiceError::new(
                Code::Unavailable,
                "the template text could not be read from the object store",
            )
        })?;
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            tracing::error!(%key, "stored template does not match its checksum");
            return Err(ServiceError::new(
                Code::Internal,
                "the stored template does not match its checksum",
            ));
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Checks a lifecycle template (values of variables come with each
    /// release) and stores it; returns its key, checksum and size.
    async fn store_lifecycle(
        &self,
        scope_id: &str,
        hcl: &str,
    ) -> Result<(String, String, u64), ServiceError> {
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
        if let Err(diags) = compile(
            hcl,
            &CompileOptions::new(TemplateKind::Lifecycle, self.clock.now()),
        ) {
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
                return Err(invalid(
                    "hcl",
                    problems,
                    "the lifecycle template has errors",
                ));
            }
        }
        let sha = hex::encode(Sha256::digest(hcl.as_bytes()));
        let key = format!("release-lifecycles/{scope_id}/{}.hcl", Uuid::new_v4());
        self.objects.put(&key, hcl.as_bytes()).await.map_err(|e| {
            tracing::error!(error = %e, "object store write failed");
            ServiceError::new(
                Code::Unavailable,
                "the object store is unavailable; try again shortly",
            )
        })?;
        Ok((key, sha, hcl.len() as u64))
    }

    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create_release_lifecycle(
        &self,
        claims: &Claims,
        at: MembershipScope<'_>,
        name: &str,
        hcl: &str,
    ) -> Result<ReleaseLifecycleRow, ServiceError> {
        self.user(claims)?;
        let (scope, scope_id, path) = self
            .authorize_scope(claims, &at, Permission::ManageReleaseLifecycles)
            .await?;
        check_name("name", name)?;
        let (object_key, sha256, size) = self.store_lifecycle(&scope_id, hcl).await?;
        let id = release_lifecycle_id(&scope_id, name);
        let cmd = ReleaseLifecycleCommand::CreateReleaseLifecycle {
            organization_id: scope.organization.to_string(),
            project_id: scope.project.map(|p| p.to_string()),
            path: format!("{path}/{name}"),
            name: name.to_string(),
            object_key,
            sha256,
            size,
        };
        let appended = self
            .bus
            .release_lifecycle(&id, cmd, &self.context(claims))
            .await
            .map_err(|e| super::identity::on_field(e, "name"))?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "release lifecycle", || {
            releases::release_lifecycle(&self.pool, uuid)
        })
        .await
    }

    /// A new version of the lifecycle's template.
    #[tracing::instrument(skip_all, fields(lifecycle = %id))]
    pub async fn update_release_lifecycle(
        &self,
        claims: &Claims,
        id: Uuid,
        hcl: &str,
    ) -> Result<ReleaseLifecycleRow, ServiceError> {
        self.user(claims)?;
        let missing = || {
            ServiceError::field(
                Code::NotFound,
                "id",
                format!("release lifecycle {id} does not exist"),
            )
        };
        let row = releases::release_lifecycle(&self.pool, id)
            .await?
            .ok_or_else(missing)?;
        let scope = Scope {
            organization: row.organization_id,
            project: row.project_id,
        };
        self.authorize(claims, Permission::ManageReleaseLifecycles, scope, missing)
            .await?;
        let scope_id = row.project_id.unwrap_or(row.organization_id).to_string();
        let (object_key, sha256, size) = self.store_lifecycle(&scope_id, hcl).await?;
        let cmd = ReleaseLifecycleCommand::UpdateReleaseLifecycle {
            expected_version: row.version as u32,
            object_key,
            sha256,
            size,
        };
        let appended = self
            .bus
            .release_lifecycle(&id.to_string(), cmd, &self.context(claims))
            .await
            .map_err(|e| super::identity::on_field(e, "hcl"))?;
        self.projected(appended, "release lifecycle", || {
            releases::release_lifecycle(&self.pool, id)
        })
        .await
    }

    /// The HCL of version `version` of lifecycle `id`.
    pub async fn lifecycle_text(&self, id: Uuid, version: i32) -> Result<String, ServiceError> {
        let v = releases::lifecycle_version(&self.pool, id, version)
            .await?
            .ok_or_else(|| {
                ServiceError::new(
                    Code::Internal,
                    format!("version {version} of lifecycle {id} is missing from the read model"),
                )
            })?;
        self.stored_text(&v.object_key, &v.sha256).await
    }

    /// The lifecycles of a scope the caller sees.
    pub async fn release_lifecycles_of(
        &self,
        claims: &Claims,
        scope: Scope,
    ) -> Result<Vec<ReleaseLifecycleRow>, ServiceError> {
        if !self.sees(claims, scope).await? {
            return Ok(vec![]);
        }
        Ok(releases::release_lifecycles(&self.pool, scope.organization, scope.project).await?)
    }

    /// Lifecycle `id`, if the caller sees it.
    pub async fn release_lifecycle(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<ReleaseLifecycleRow>, ServiceError> {
        let Some(row) = releases::release_lifecycle(&self.pool, id).await? else {
            self.user(claims)?;
            return Ok(None);
        };
        let scope = Scope {
            organization: row.organization_id,
            project: row.project_id,
        };
        Ok(self.sees(claims, scope).await?.then_some(row))
    }

    #[tracing::instrument(skip_all, fields(version = %new.semantic_version))]
    pub async fn create_release(
        &self,
        claims: &Claims,
        new: NewRelease,
    ) -> Result<ReleaseRow, ServiceError> {
        self.user(claims)?;
        let project = self
            .authorize_project(
                claims,
                Permission::RunPipelines,
                new.project_id,
                "projectId",
                &format!("project {}", new.project_id),
            )
            .await?;
        if let Err(e) = semver::Version::parse(&new.semantic_version) {
            return Err(ServiceError::field(
                Code::Invalid,
                "semanticVersion",
                format!(
                    "{:?} is not a semantic version (SemVer 2.0, e.g. 1.4.0 or 2.0.0-rc.1): {e}",
                    new.semantic_version
                ),
            ));
        }
        let lifecycle = releases::release_lifecycle(&self.pool, new.lifecycle_id)
            .await?
            .filter(|l| {
                l.organization_id == project.organization_id
                    && l.project_id.is_none_or(|p| p == project.id)
            })
            .ok_or_else(|| {
                ServiceError::field(
                    Code::NotFound,
                    "lifecycleId",
                    format!(
                        "release lifecycle {} does not exist in project {}/{} or its organization",
                        new.lifecycle_id, project.organization_name, project.name
                    ),
                )
            })?;
        let lifecycle_hcl = self.lifecycle_text(lifecycle.id, lifecycle.version).await?;
        let deployments = self.deployment_templates(&project, &new).await?;
        let now = self.clock.now();

        // Every variable goes to each template that declares it; one no
        // template declares is a mistake.
        let declared = |hcl: &str| declared_variables(hcl).unwrap_or_default();
        let lifecycle_vars = declared(&lifecycle_hcl);
        let orphans: Vec<&str> = new
            .variables
            .iter()
            .map(|v| v.key.as_str())
            .filter(|k| {
                !lifecycle_vars.iter().any(|d| d == k)
                    && !deployments
                        .iter()
                        .any(|(_, _, _, vars)| vars.iter().any(|d| d == k))
            })
            .collect();
        if !orphans.is_empty() {
            return Err(ServiceError::field(
                Code::Invalid,
                "variables",
                format!(
                    "variable(s) {} are declared by no template of this release (the lifecycle or a deployment template): remove them or declare them",
                    orphans.join(", ")
                ),
            ));
        }
        let inputs = |names: &[String], opts: CompileOptions| {
            new.variables
                .iter()
                .filter(|v| names.contains(&v.key))
                .fold(opts, |o, v| {
                    o.var(v.key.clone(), VariableInput::Raw(v.value.clone()))
                })
        };
        let mut compiled = compile(
            &lifecycle_hcl,
            &inputs(
                &lifecycle_vars,
                CompileOptions::new(TemplateKind::Lifecycle, now),
            ),
        )
        .map_err(|d| {
            let problems = d
                .errors()
                .map(|d| {
                    Problem::of_diagnostic(
                        d,
                        if d.code.is_some() {
                            "variables"
                        } else {
                            "lifecycle"
                        },
                    )
                })
                .collect();
            invalid(
                "lifecycle",
                problems,
                "the lifecycle cannot run with these variables",
            )
        })?;

        // Each deployment runs its environment's template, compiled now
        // with its variables so that a mistake is refused here, not later.
        let environments: Vec<String> = compiled
            .graph
            .stages
            .iter()
            .flat_map(|s| &s.nodes)
            .filter(|n| n.kind == NodeKind::Deployment)
            .map(|n| n.name.clone())
            .collect();
        let missing: Vec<&str> = environments
            .iter()
            .filter(|e| !deployments.iter().any(|(env, ..)| env == *e))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(ServiceError::field(
                Code::Invalid,
                "deploymentTemplates",
                format!(
                    "the lifecycle deploys to {} with no deployment template: add {{environmentName, pipelineTemplateId}} for each",
                    missing.join(", ")
                ),
            ));
        }
        if let Some((env, ..)) = deployments
            .iter()
            .find(|(env, ..)| !environments.contains(env))
        {
            return Err(ServiceError::field(
                Code::Invalid,
                "deploymentTemplates",
                format!("the lifecycle deploys nothing to environment {env:?}: remove its deployment template"),
            ));
        }
        for (env, template_id, hcl, names) in &deployments {
            let built = compile(
                hcl,
                &inputs(names, CompileOptions::new(TemplateKind::Pipeline, now)),
            )
            .map_err(|d| {
                let problems = d
                    .errors()
                    .map(|d| Problem {
                        message: format!("deployment template of {env}: {}", d.message),
                        ..Problem::of_diagnostic(d, "deploymentTemplates")
                    })
                    .collect();
                invalid(
                    "deploymentTemplates",
                    problems,
                    &format!("the deployment template of {env} cannot run with these variables"),
                )
            })?;
            let mut values = hcl::Map::new();
            for name in names {
                if new.variables.iter().any(|v| v.key == *name) {
                    if let Some(v) = built.graph.variables.get(name) {
                        values.insert(name.clone(), v.clone());
                    }
                }
            }
            for node in compiled
                .graph
                .stages
                .iter_mut()
                .flat_map(|s| &mut s.nodes)
                .filter(|n| n.kind == NodeKind::Deployment && n.name == *env)
            {
                node.pipeline = Some(PipelineSpec {
                    template_id: template_id.to_string(),
                    pipeline_type: "deployment".into(),
                    environment: Some(env.clone()),
                    variables: Some(Expr::Value(hcl::Value::Object(values.clone()))),
                });
            }
        }
        super::pipelines::refuse_unsupported(&lifecycle_hcl, &compiled)?;
        self.resolve_approval_rules(&lifecycle_hcl, &mut compiled, &project)
            .await?;

        let id = release_id(&project.id.to_string(), &new.semantic_version);
        let cmd = ReleaseCommand::CreateRelease {
            project_id: project.id.to_string(),
            lifecycle_id: lifecycle.id.to_string(),
            lifecycle_version: lifecycle.version as u32,
            semantic_version: new.semantic_version.clone(),
            deployment_templates: deployments
                .iter()
                .map(|(env, t, ..)| ReleaseDeploymentTemplate {
                    environment: env.clone(),
                    template_id: t.to_string(),
                })
                .collect(),
            variables: new.variables,
            due_date: new.due_date,
            notes: new.notes,
            pre_release: new.pre_release,
            graph: Box::new(compiled.graph),
            created_at: now,
        };
        let appended = self
            .bus
            .release(&id, cmd, &self.context(claims))
            .await
            .map_err(|e| super::identity::on_field(e, "semanticVersion"))?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "release", || releases::release(&self.pool, uuid))
            .await
    }

    /// Each deployment template the release names, in the project: its
    /// environment, id, text and declared variables.
    async fn deployment_templates(
        &self,
        project: &ProjectRow,
        new: &NewRelease,
    ) -> Result<Vec<(String, Uuid, String, Vec<String>)>, ServiceError> {
        let mut out: Vec<(String, Uuid, String, Vec<String>)> = Vec::new();
        for (env, template) in &new.deployment_templates {
            if out.iter().any(|(e, ..)| e == env) {
                return Err(ServiceError::field(
                    Code::Invalid,
                    "deploymentTemplates",
                    format!(
                        "environment {env:?} is named twice: give one template per environment"
                    ),
                ));
            }
            let not_found = || {
                ServiceError::field(
                    Code::NotFound,
                    "deploymentTemplates",
                    format!(
                        "the deployment template of {env}, {template}, is not a pipeline template of project {}/{}",
                        project.organization_name, project.name
                    ),
                )
            };
            let id = crate::graphql::ids::uuid_of(
                phobos_core::events::aggregate::PIPELINE_TEMPLATE,
                template,
            )
            .ok_or_else(not_found)?;
            let row = queries::template(&self.pool, id)
                .await?
                .filter(|t| t.project_id == project.id)
                .ok_or_else(not_found)?;
            let hcl = self.template_text(&row).await?;
            let names = declared_variables(&hcl).unwrap_or_default();
            out.push((env.clone(), id, hcl, names));
        }
        Ok(out)
    }

    /// `updateRelease`: only notes and the due date change.
    #[tracing::instrument(skip_all, fields(release = %id))]
    pub async fn update_release(
        &self,
        claims: &Claims,
        id: Uuid,
        notes: Option<String>,
        due_date: Option<Option<chrono::DateTime<chrono::Utc>>>,
    ) -> Result<ReleaseRow, ServiceError> {
        self.user(claims)?;
        let missing =
            || ServiceError::field(Code::NotFound, "id", format!("release {id} does not exist"));
        let row = releases::release(&self.pool, id)
            .await?
            .ok_or_else(missing)?;
        self.authorize_project(
            claims,
            Permission::RunPipelines,
            row.project_id,
            "id",
            &format!("release {id}"),
        )
        .await?;
        let cmd = ReleaseCommand::UpdateRelease {
            notes: notes.unwrap_or(row.notes),
            due_date: due_date.unwrap_or(row.due_date),
        };
        let appended = self
            .bus
            .release(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected(appended, "release", || releases::release(&self.pool, id))
            .await
    }

    /// Release `id`, if the caller sees its project.
    pub async fn release(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<(ReleaseRow, ProjectRow)>, ServiceError> {
        let Some(row) = releases::release(&self.pool, id).await? else {
            self.user(claims)?;
            return Ok(None);
        };
        Ok(self
            .project(claims, row.project_id)
            .await?
            .map(|project| (row, project)))
    }

    /// A project's releases, newest first (the caller saw the project).
    pub async fn releases_of(
        &self,
        project_id: Uuid,
        req: &PageRequest,
    ) -> Result<Page<ReleaseRow>, ServiceError> {
        Ok(releases::releases(&self.pool, project_id, req).await?)
    }
}
