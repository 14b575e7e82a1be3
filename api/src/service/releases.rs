//! Release lifecycles and releases. A release is an immutable snapshot of a
//! lifecycle's template version, each environment's deployment template
//! and the variables, made into its lifecycle pipeline at creation (the
//! `ReleaseCreated` event carries it; a policy creates the pipeline).

use phobos_commands::aggregates::{
    release_id, release_lifecycle_id, ReleaseCommand, ReleaseLifecycleCommand,
};
use phobos_core::access::{Member, MemberKind};
use phobos_core::events::{ReleaseDeploymentTemplate, ReleaseVariable};
use phobos_core::template::model::{Expr, NodeKind, PipelineSpec};
use phobos_core::template::{
    compile, declared_variables, CompileOptions, TemplateKind, VariableInput,
};
use phobos_projections::identity;
use phobos_projections::queries::{self, Page, PageRequest, ProjectRow};
use phobos_projections::releases::{self, ReleaseLifecycleRow, ReleaseRow};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{check_name, parse_id, App, Code, MembershipScope, Problem, ServiceError};
use crate::auth::Claims;
use crate::authz::{Permission, Scope, Subject};

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
    pub participants: Participants,
}

/// Who takes part in a release: users (by username) and teams (by name).
#[derive(Debug, Clone, Default)]
pub struct Participants {
    pub users: Vec<String>,
    pub teams: Vec<String>,
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
    pub(super) async fn stored_text(
        &self,
        key: &str,
        sha256: &str,
    ) -> Result<String, ServiceError> {
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
        self.check_template(hcl, TemplateKind::Lifecycle)?;
        let key = format!("release-lifecycles/{scope_id}/{}.hcl", Uuid::new_v4());
        let sha = self.put_template(&key, hcl).await?;
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
                super::ScopeAction::CreateRelease.permission(),
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
            let mut values = phobos_core::template::value::Map::new();
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
                    variables: Some(Expr::Value(phobos_core::template::value::Value::Object(
                        values.clone(),
                    ))),
                });
            }
        }
        super::pipelines::refuse_unsupported(&lifecycle_hcl, &compiled)?;
        self.resolve_approval_rules(&lifecycle_hcl, &mut compiled, &project)
            .await?;
        self.check_auto_deployments(claims, &project, &compiled.graph, "deploymentTemplates")
            .await?;
        let participants = self.participants(&project, &new.participants).await?;

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
            participants,
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
        participants: Option<Participants>,
    ) -> Result<ReleaseRow, ServiceError> {
        self.user(claims)?;
        let missing =
            || ServiceError::field(Code::NotFound, "id", format!("release {id} does not exist"));
        let row = releases::release(&self.pool, id)
            .await?
            .ok_or_else(missing)?;
        let project = self
            .authorize_project(
                claims,
                super::ScopeAction::UpdateRelease.permission(),
                row.project_id,
                "id",
                &format!("release {id}"),
            )
            .await?;
        let participants = match participants {
            Some(p) => self.participants(&project, &p).await?,
            None => row.participants,
        };
        let cmd = ReleaseCommand::UpdateRelease {
            notes: notes.unwrap_or(row.notes),
            due_date: due_date.unwrap_or(row.due_date),
            participants,
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

/// One environment's deployment of a release.
#[derive(Debug, Clone)]
pub struct DeploymentOutcome {
    pub environment: String,
    /// The node's status (`SUCCEEDED`, `FAILED`, `WAITING`, …).
    pub status: String,
    pub child_pipeline_id: Option<Uuid>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// From the release's creation to this deployment succeeding.
    pub lead_time_seconds: Option<f64>,
}

/// What changed between two releases of a project.
#[derive(Debug, Clone)]
pub struct ReleaseDiff {
    pub from: ReleaseRow,
    pub to: ReleaseRow,
    pub project: ProjectRow,
    /// (name, version) of each side's lifecycle, and a line diff of their
    /// templates when they differ.
    pub lifecycle: ((String, i32), (String, i32), Option<String>),
    pub environments: Vec<EnvironmentChange>,
    pub variables: Vec<VariableChange>,
    /// (environment, from outcome, to outcome)
    pub deployments: Vec<(String, Option<String>, Option<String>)>,
}

#[derive(Debug, Clone)]
pub struct EnvironmentChange {
    pub name: String,
    /// (template id, name) on each side, if it deploys there.
    pub template_from: Option<(Uuid, String)>,
    pub template_to: Option<(Uuid, String)>,
    /// A unified line diff of the two templates, when they differ.
    pub hcl_diff: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone)]
pub struct VariableChange {
    pub key: String,
    pub change: Change,
    /// Masked (`***`) when the variable is sensitive on that side.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A unified diff of two texts by line, or None when they are equal.
fn line_diff(from: &str, to: &str, from_name: &str, to_name: &str) -> Option<String> {
    (from != to).then(|| {
        similar::TextDiff::from_lines(from, to)
            .unified_diff()
            .context_radius(3)
            .header(from_name, to_name)
            .to_string()
    })
}

fn masked(v: &ReleaseVariable) -> String {
    if v.sensitive {
        "***".into()
    } else {
        v.value.clone()
    }
}

impl App {
    /// The deployments of a release, in its lifecycle's order.
    pub async fn release_deployments(
        &self,
        release: &ReleaseRow,
    ) -> Result<Vec<DeploymentOutcome>, ServiceError> {
        let nodes = queries::nodes(&self.pool, release.pipeline_id, None).await?;
        Ok(nodes
            .into_iter()
            .filter(|n| n.kind == "deployment")
            .map(|n| DeploymentOutcome {
                lead_time_seconds: (n.status == "SUCCEEDED")
                    .then_some(n.finished_at)
                    .flatten()
                    .map(|t| (t - release.created_at).num_milliseconds() as f64 / 1000.0),
                environment: n.name,
                status: n.status,
                child_pipeline_id: n.child_pipeline_id,
                started_at: n.started_at,
                finished_at: n.finished_at,
            })
            .collect())
    }

    /// `releaseDiff(from, to)`: two releases of one project, compared point
    /// by point from what each recorded when it was made (its
    /// `ReleaseCreated`, read from the log), and how its deployments went.
    #[tracing::instrument(skip_all, fields(from = %from, to = %to))]
    pub async fn release_diff(
        &self,
        claims: &Claims,
        from: Uuid,
        to: Uuid,
    ) -> Result<Option<ReleaseDiff>, ServiceError> {
        let (Some((a, project)), Some((b, _))) = (
            self.release(claims, from).await?,
            self.release(claims, to).await?,
        ) else {
            return Ok(None);
        };
        if a.project_id != b.project_id {
            return Err(ServiceError::field(
                Code::Invalid,
                "to",
                "the two releases are of different projects: compare releases of one project",
            ));
        }
        let (sa, sb) = (self.snapshot(a.id).await?, self.snapshot(b.id).await?);
        let name_of = |id: Uuid| async move {
            Ok::<String, ServiceError>(
                releases::release_lifecycle(&self.pool, id)
                    .await?
                    .map(|l| l.name)
                    .unwrap_or_default(),
            )
        };
        let (la, lb) = (
            (name_of(a.lifecycle_id).await?, sa.lifecycle_version),
            (name_of(b.lifecycle_id).await?, sb.lifecycle_version),
        );
        let lifecycle_diff = if la == lb && a.lifecycle_id == b.lifecycle_id {
            None
        } else {
            let ta = self
                .lifecycle_text(a.lifecycle_id, sa.lifecycle_version)
                .await?;
            let tb = self
                .lifecycle_text(b.lifecycle_id, sb.lifecycle_version)
                .await?;
            line_diff(
                &ta,
                &tb,
                &format!("{} v{}", la.0, la.1),
                &format!("{} v{}", lb.0, lb.1),
            )
        };

        let mut environments = Vec::new();
        let mut names: Vec<&str> = sa
            .deployment_templates
            .iter()
            .chain(&sb.deployment_templates)
            .map(|d| d.environment.as_str())
            .collect();
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(*n));
        for env in names {
            let side = |s: &Snapshot| {
                s.deployment_templates
                    .iter()
                    .find(|d| d.environment == env)
                    .and_then(|d| Uuid::parse_str(&d.template_id).ok())
            };
            let (ta, tb) = (side(&sa), side(&sb));
            let text = |id: Option<Uuid>| async move {
                let Some(id) = id else {
                    return Ok::<_, ServiceError>(None);
                };
                let Some(row) = queries::template(&self.pool, id).await? else {
                    return Ok(None);
                };
                let hcl = self.template_text(&row).await?;
                Ok(Some((id, row.name, hcl)))
            };
            let (xa, xb) = (text(ta).await?, text(tb).await?);
            let hcl_diff = match (&xa, &xb) {
                (Some(x), Some(y)) if x.0 != y.0 => line_diff(&x.2, &y.2, &x.1, &y.1),
                (Some(x), None) => line_diff(&x.2, "", &x.1, "(none)"),
                (None, Some(y)) => line_diff("", &y.2, "(none)", &y.1),
                _ => None,
            };
            environments.push(EnvironmentChange {
                name: env.to_string(),
                template_from: xa.map(|x| (x.0, x.1)),
                template_to: xb.map(|x| (x.0, x.1)),
                hcl_diff,
            });
        }

        let mut variables = Vec::new();
        for v in &sa.variables {
            match sb.variables.iter().find(|w| w.key == v.key) {
                None => variables.push(VariableChange {
                    key: v.key.clone(),
                    change: Change::Removed,
                    from: Some(masked(v)),
                    to: None,
                }),
                Some(w) if w.value != v.value || w.sensitive != v.sensitive => {
                    variables.push(VariableChange {
                        key: v.key.clone(),
                        change: Change::Changed,
                        from: Some(masked(v)),
                        to: Some(masked(w)),
                    })
                }
                Some(_) => {}
            }
        }
        for w in sb
            .variables
            .iter()
            .filter(|w| !sa.variables.iter().any(|v| v.key == w.key))
        {
            variables.push(VariableChange {
                key: w.key.clone(),
                change: Change::Added,
                from: None,
                to: Some(masked(w)),
            });
        }

        let (da, db) = (
            self.release_deployments(&a).await?,
            self.release_deployments(&b).await?,
        );
        let mut deployments: Vec<(String, Option<String>, Option<String>)> = Vec::new();
        for d in da.iter().chain(&db) {
            if deployments.iter().any(|(e, ..)| *e == d.environment) {
                continue;
            }
            let status = |list: &[DeploymentOutcome]| {
                list.iter()
                    .find(|x| x.environment == d.environment)
                    .map(|x| x.status.clone())
            };
            deployments.push((d.environment.clone(), status(&da), status(&db)));
        }
        Ok(Some(ReleaseDiff {
            from: a,
            to: b,
            project,
            lifecycle: (la, lb, lifecycle_diff),
            environments,
            variables,
            deployments,
        }))
    }

    /// What release `id` recorded when it was made, from the log.
    async fn snapshot(&self, id: Uuid) -> Result<Snapshot, ServiceError> {
        let first = phobos_commands::log::read_first(
            &self.pool,
            phobos_core::events::aggregate::RELEASE,
            &id.to_string(),
        )
        .await
        .map_err(|e| {
            ServiceError::new(Code::Unavailable, format!("the log cannot be read: {e}"))
        })?;
        match first.map(|e| e.decode::<phobos_core::events::ReleaseEvent>()) {
            Some(Ok(phobos_core::events::ReleaseEvent::ReleaseCreated {
                lifecycle_version,
                deployment_templates,
                variables,
                ..
            })) => Ok(Snapshot {
                lifecycle_version: lifecycle_version as i32,
                deployment_templates,
                variables,
            }),
            _ => Err(ServiceError::new(
                Code::Internal,
                format!("release {id} has no ReleaseCreated event"),
            )),
        }
    }
}

/// A release as its `ReleaseCreated` recorded it.
struct Snapshot {
    lifecycle_version: i32,
    deployment_templates: Vec<ReleaseDeploymentTemplate>,
    variables: Vec<ReleaseVariable>,
}

impl App {
    /// The participants named, each checked: a user must exist and see
    /// the project (a participant is told about a release it can read),
    /// a team must exist.
    async fn participants(
        &self,
        project: &ProjectRow,
        p: &Participants,
    ) -> Result<Vec<Member>, ServiceError> {
        let scope = Scope::project(project.organization_id, project.id);
        let members = self.principals(&p.users, &p.teams, &[], scope).await?;
        for m in members.iter().filter(|m| m.kind == MemberKind::User) {
            let id = super::parse_id("participants", &m.id)?;
            let grants = Subject::from_grants(identity::grants(&self.pool, id).await?);
            if !grants.sees(scope) {
                return Err(ServiceError::field(
                    Code::Invalid,
                    "participants",
                    format!(
                        "user {} has no role in project {}/{}: give it a membership first, or leave it out",
                        m.name, project.organization_name, project.name
                    ),
                ));
            }
        }
        Ok(members)
    }
}
