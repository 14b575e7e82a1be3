//! Folding events into read models.

use async_trait::async_trait;
use phobos_commands::error::LogError;
use phobos_commands::log::RecordedEvent;
use phobos_commands::subscription::Handler;
use phobos_core::events::aggregate;
use phobos_core::events::{
    AgentEvent, AgentType, EnvironmentEvent, JobEvent, MembershipEvent, OrganizationEvent,
    PipelineEvent, PipelineTemplateEvent, ProjectEvent, TeamEvent, UserEvent,
};
use phobos_core::pipeline::{NodeStatus, PipelineStatus, StageStatus};
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

/// The subscription name of the read-model projector.
pub const PROJECTION_SUBSCRIPTION: &str = "read_models";

/// Writes every event into the read models, inside the batch transaction.
#[derive(Debug, Default)]
pub struct Projector;

#[async_trait]
impl Handler for Projector {
    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), LogError> {
        for ev in events {
            let span = ev.handler_span("project");
            apply(tx, ev).instrument(span).await.map_err(|e| {
                LogError::Handler(format!(
                    "projecting {} {} #{} (event {} at {}): {e}",
                    ev.aggregate_type, ev.aggregate_id, ev.sequence, ev.event_type, ev.position
                ))
            })?;
        }
        Ok(())
    }
}

fn uuid_of(ev: &RecordedEvent, s: &str) -> Result<Uuid, LogError> {
    Uuid::parse_str(s).map_err(|_| LogError::Decode {
        position: ev.position.to_string(),
        message: format!("{s:?} is not a UUID"),
    })
}

async fn apply(tx: &mut PgConnection, ev: &RecordedEvent) -> Result<(), LogError> {
    let id = uuid_of(ev, &ev.aggregate_id)?;
    let actor = ev.metadata.get("actor").cloned().unwrap_or_default();
    match ev.aggregate_type.as_str() {
        aggregate::ORGANIZATION => match ev.decode::<OrganizationEvent>()? {
            OrganizationEvent::OrganizationCreated {
                name,
                description,
                created_at,
            } => {
                sqlx::query("INSERT INTO organizations (id, name, description, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id)
                    .bind(name)
                    .bind(description)
                    .bind(&actor)
                    .bind(created_at)
                    .execute(&mut *tx)
                    .await?;
            }
            OrganizationEvent::Membership(m) => membership(tx, ev, id, None, &actor, m).await?,
        },
        aggregate::PROJECT => match ev.decode::<ProjectEvent>()? {
            ProjectEvent::Membership(m) => {
                let org: Uuid =
                    sqlx::query_scalar("SELECT organization_id FROM projects WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                membership(tx, ev, org, Some(id), &actor, m).await?
            }
            ProjectEvent::ProjectCreated {
                organization_id,
                organization_name,
                name,
                description,
                created_at,
            } => {
                sqlx::query(
                    "INSERT INTO projects (id, organization_id, organization_name, name, description, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(uuid_of(ev, &organization_id)?)
                .bind(organization_name)
                .bind(name)
                .bind(description)
                .bind(&actor)
                .bind(created_at)
                .execute(&mut *tx)
                .await?;
            }
        },
        aggregate::PIPELINE_TEMPLATE => match ev.decode::<PipelineTemplateEvent>()? {
            PipelineTemplateEvent::PipelineTemplateCreated {
                project_id,
                name,
                object_key,
                sha256,
                size,
                created_at,
            } => {
                sqlx::query(
                    "INSERT INTO pipeline_templates (id, project_id, name, object_key, sha256, size, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(uuid_of(ev, &project_id)?)
                .bind(name)
                .bind(object_key)
                .bind(sha256)
                .bind(size as i64)
                .bind(&actor)
                .bind(created_at)
                .execute(&mut *tx)
                .await?;
            }
        },
        aggregate::PIPELINE => {
            index(tx, id, ev).await?;
            pipeline(tx, id, &actor, ev).await?;
        }
        aggregate::AGENT => agent(tx, id, ev).await?,
        aggregate::JOB => job(tx, id, ev).await?,
        aggregate::ENVIRONMENT => match ev.decode::<EnvironmentEvent>()? {
            EnvironmentEvent::EnvironmentCreated {
                project_id,
                name,
                description,
                created_at,
            } => {
                sqlx::query(
                    "INSERT INTO environments (id, project_id, name, description, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(uuid_of(ev, &project_id)?)
                .bind(name)
                .bind(description)
                .bind(&actor)
                .bind(created_at)
                .execute(&mut *tx)
                .await?;
            }
            EnvironmentEvent::EnvironmentProtectionRulesSet {
                principals, roles, ..
            } => {
                let rules = (!principals.is_empty() || !roles.is_empty())
                    .then(|| serde_json::json!({ "principals": principals, "roles": roles }));
                sqlx::query("UPDATE environments SET protection = $2 WHERE id = $1")
                    .bind(id)
                    .bind(rules)
                    .execute(&mut *tx)
                    .await?;
            }
        },
        aggregate::USER => match ev.decode::<UserEvent>()? {
            UserEvent::UserCreated {
                username,
                email,
                issuer,
                subject,
                admin,
                created_at,
            } => {
                sqlx::query(
                    "INSERT INTO users (id, username, email, issuer, subject, admin, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(username)
                .bind(email)
                .bind(issuer)
                .bind(subject)
                .bind(admin)
                .bind(created_at)
                .execute(&mut *tx)
                .await?;
            }
            // Sessions live in the user's stream only.
            UserEvent::SessionStarted { .. }
            | UserEvent::SessionRefreshed { .. }
            | UserEvent::SessionEnded { .. } => {}
        },
        aggregate::TEAM => team(tx, id, &actor, ev).await?,
        aggregate::APPROVAL_RULE => approval_rule(tx, id, &actor, ev).await?,
        aggregate::SERVICE_ACCOUNT => service_account(tx, id, &actor, ev).await?,
        aggregate::RELEASE_LIFECYCLE => release_lifecycle(tx, id, &actor, ev).await?,
        aggregate::RELEASE => release(tx, id, &actor, ev).await?,
        aggregate::RESOURCE_LIMIT => {
            let phobos_core::events::ResourceLimitEvent::ResourceLimitUpdated {
                name, value, ..
            } = ev.decode::<phobos_core::events::ResourceLimitEvent>()?;
            sqlx::query(
                "INSERT INTO resource_limits (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            )
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    crate::activity::record(tx, ev).await
}

async fn service_account(
    tx: &mut PgConnection,
    id: Uuid,
    actor: &str,
    ev: &RecordedEvent,
) -> Result<(), LogError> {
    use phobos_core::events::ServiceAccountEvent::*;
    let json = |v: &Vec<phobos_core::events::TrustPolicy>| {
        serde_json::to_value(v).map_err(|e| LogError::Handler(e.to_string()))
    };
    match ev.decode::<phobos_core::events::ServiceAccountEvent>()? {
        ServiceAccountCreated {
            organization_id,
            project_id,
            path,
            name,
            description,
            trust_policies,
            created_at,
        } => {
            sqlx::query(
                "INSERT INTO service_accounts (id, organization_id, project_id, path, name, description, trust_policies, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(uuid_of(ev, &organization_id)?)
            .bind(project_id.as_deref().map(|p| uuid_of(ev, p)).transpose()?)
            .bind(path)
            .bind(name)
            .bind(description)
            .bind(json(&trust_policies)?)
            .bind(actor)
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
        }
        ServiceAccountUpdated {
            description,
            trust_policies,
            ..
        } => {
            sqlx::query(
                "UPDATE service_accounts SET description = $2, trust_policies = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(description)
            .bind(json(&trust_policies)?)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

async fn approval_rule(
    tx: &mut PgConnection,
    id: Uuid,
    actor: &str,
    ev: &RecordedEvent,
) -> Result<(), LogError> {
    use phobos_core::events::ApprovalRuleEvent::*;
    let json = |v: &Vec<phobos_core::access::Member>| {
        serde_json::to_value(v).map_err(|e| LogError::Handler(e.to_string()))
    };
    match ev.decode::<phobos_core::events::ApprovalRuleEvent>()? {
        ApprovalRuleCreated {
            organization_id,
            project_id,
            prn,
            name,
            description,
            principals,
            approvals_required,
            allow_self_approval,
            created_at,
        } => {
            sqlx::query(
                "INSERT INTO approval_rules (id, organization_id, project_id, prn, name, description, principals, approvals_required, allow_self_approval, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(id)
            .bind(uuid_of(ev, &organization_id)?)
            .bind(project_id.as_deref().map(|p| uuid_of(ev, p)).transpose()?)
            .bind(prn)
            .bind(name)
            .bind(description)
            .bind(json(&principals)?)
            .bind(approvals_required as i32)
            .bind(allow_self_approval)
            .bind(actor)
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
        }
        ApprovalRuleUpdated {
            description,
            principals,
            approvals_required,
            allow_self_approval,
            ..
        } => {
            sqlx::query(
                "UPDATE approval_rules SET description = $2, principals = $3, approvals_required = $4, allow_self_approval = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(description)
            .bind(json(&principals)?)
            .bind(approvals_required as i32)
            .bind(allow_self_approval)
            .execute(&mut *tx)
            .await?;
        }
        ApprovalRuleDeleted { .. } => {
            sqlx::query("UPDATE approval_rules SET deleted = true WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

async fn team(
    tx: &mut PgConnection,
    id: Uuid,
    actor: &str,
    ev: &RecordedEvent,
) -> Result<(), LogError> {
    match ev.decode::<TeamEvent>()? {
        TeamEvent::TeamCreated {
            name,
            description,
            created_at,
        } => {
            sqlx::query("INSERT INTO teams (id, name, description, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(name)
                .bind(description)
                .bind(actor)
                .bind(created_at)
                .execute(&mut *tx)
                .await?;
        }
        TeamEvent::TeamMemberAdded {
            user_id,
            username,
            maintainer,
            added_at,
        } => {
            sqlx::query("INSERT INTO team_members (team_id, user_id, username, maintainer, added_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(uuid_of(ev, &user_id)?)
                .bind(username)
                .bind(maintainer)
                .bind(added_at)
                .execute(&mut *tx)
                .await?;
        }
        TeamEvent::TeamMemberRemoved { user_id, .. } => {
            sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(id)
                .bind(uuid_of(ev, &user_id)?)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// A membership of organization `org` (of its project `project` when given).
async fn membership(
    tx: &mut PgConnection,
    ev: &RecordedEvent,
    org: Uuid,
    project: Option<Uuid>,
    actor: &str,
    m: MembershipEvent,
) -> Result<(), LogError> {
    match m {
        MembershipEvent::MembershipCreated {
            membership_id,
            member,
            role,
            created_at,
        } => {
            sqlx::query(
                "INSERT INTO memberships (id, organization_id, project_id, member_kind, member_id, member_name, role, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(uuid_of(ev, &membership_id)?)
            .bind(org)
            .bind(project)
            .bind(member.kind.as_str())
            .bind(uuid_of(ev, &member.id)?)
            .bind(member.name)
            .bind(role.as_str())
            .bind(actor)
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
        }
        MembershipEvent::MembershipRoleChanged {
            membership_id,
            role,
            ..
        } => {
            sqlx::query("UPDATE memberships SET role = $2 WHERE id = $1")
                .bind(uuid_of(ev, &membership_id)?)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        MembershipEvent::MembershipDeleted { membership_id, .. } => {
            sqlx::query("DELETE FROM memberships WHERE id = $1")
                .bind(uuid_of(ev, &membership_id)?)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

async fn index(
    tx: &mut PgConnection,
    pipeline_id: Uuid,
    ev: &RecordedEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO pipeline_event_index (pipeline_id, tx_id, global_position) VALUES ($1, $2::text::xid8, $3)")
        .bind(pipeline_id)
        .bind(ev.position.tx_id.to_string())
        .bind(ev.position.global_position)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn pipeline(
    tx: &mut PgConnection,
    id: Uuid,
    actor: &str,
    ev: &RecordedEvent,
) -> Result<(), LogError> {
    use PipelineEvent::*;
    match ev.decode::<PipelineEvent>()? {
        PipelineCreated {
            project_id,
            template_id,
            graph,
            created_at,
            origin,
            ..
        } => {
            let parent = origin
                .parent
                .as_ref()
                .map(|p| uuid_of(ev, &p.pipeline_id))
                .transpose()?;
            // A child is shown as created by whoever created its root (a
            // release's lifecycle pipeline, by whoever created the release,
            // not the policy that made it); it
            // belongs to its parent's release and runs in its parent's
            // environment unless it deploys to one of its own.
            sqlx::query(
                "INSERT INTO pipelines (id, project_id, template_id, status, created_by, created_at,
                                        pipeline_type, parent_pipeline_id, parent_node_path, environment_name, release_id)
                 VALUES ($1, $2, $3, $4, COALESCE((SELECT created_by FROM pipelines WHERE id = $8),
                                  (SELECT created_by FROM releases WHERE id = $11), $5), $6,
                         $7, $8, $9, COALESCE($10, (SELECT environment_name FROM pipelines WHERE id = $8)),
                         COALESCE($11, (SELECT release_id FROM pipelines WHERE id = $8)))",
            )
            .bind(id)
            .bind(uuid_of(ev, &project_id)?)
            .bind(uuid_of(ev, &template_id)?)
            .bind(PipelineStatus::Created.as_str())
            .bind(actor)
            .bind(created_at)
            .bind(origin.pipeline_type.as_str())
            .bind(parent)
            .bind(origin.parent.as_ref().map(|p| p.node_path.clone()))
            .bind(origin.environment.clone())
            .bind(origin.release_id.as_deref().map(|r| uuid_of(ev, r)).transpose()?)
            .execute(&mut *tx)
            .await?;
            let mut position = 0i32;
            for (i, s) in graph.stages.iter().enumerate() {
                sqlx::query("INSERT INTO pipeline_stages (pipeline_id, name, position, status) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(&s.name)
                    .bind(i as i32)
                    .bind(StageStatus::Created.as_str())
                    .execute(&mut *tx)
                    .await?;
                for n in &s.nodes {
                    sqlx::query(
                        "INSERT INTO pipeline_nodes (pipeline_id, path, stage, section, kind, name, position, dependencies, status, environment_name)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(id)
                    .bind(&n.path)
                    .bind(&s.name)
                    .bind(n.section.as_str())
                    .bind(n.kind.as_str())
                    .bind(&n.name)
                    .bind(position)
                    .bind(&n.dependencies)
                    .bind(NodeStatus::Created.as_str())
                    .bind(n.deploys_to())
                    .execute(&mut *tx)
                    .await?;
                    position += 1;
                }
            }
        }
        PipelineStarted { at } => {
            sqlx::query("UPDATE pipelines SET status = $2, started_at = $3 WHERE id = $1")
                .bind(id)
                .bind(PipelineStatus::Running.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        StageStarted { stage: s, .. } => {
            sqlx::query(
                "UPDATE pipeline_nodes SET status = $3 WHERE pipeline_id = $1 AND stage = $2 AND status = $4",
            )
            .bind(id)
            .bind(&s)
            .bind(NodeStatus::Blocked.as_str())
            .bind(NodeStatus::Created.as_str())
            .execute(&mut *tx)
            .await?;
            set_stage(tx, id, s, StageStatus::Running).await?;
        }
        StageWaiting { stage: s, .. } => {
            set_stage(tx, id, s, StageStatus::Waiting).await?;
        }
        StageResumed { stage: s, .. } => {
            set_stage(tx, id, s, StageStatus::Running).await?;
        }
        PipelineWaiting { .. } => set_pipeline(tx, id, PipelineStatus::Waiting).await?,
        PipelineResumed { .. } => set_pipeline(tx, id, PipelineStatus::Running).await?,
        NodeScheduled { path, start_at, .. } => {
            sqlx::query("UPDATE pipeline_nodes SET status = $3, scheduled_start_time = $4 WHERE pipeline_id = $1 AND path = $2")
                .bind(id)
                .bind(&path)
                .bind(NodeStatus::Scheduled.as_str())
                .bind(start_at)
                .execute(&mut *tx)
                .await?;
            crate::timers::set_node_timer(tx, &ev.aggregate_id, &path, start_at).await?;
        }
        NodeGateAttemptFailed {
            path,
            reason,
            outputs,
            next_attempt_at,
            ..
        } => {
            sqlx::query(
                "UPDATE pipeline_nodes SET status = $3, scheduled_start_time = $4, reason = $5, outputs = $6
                  WHERE pipeline_id = $1 AND path = $2",
            )
            .bind(id)
            .bind(&path)
            .bind(NodeStatus::Scheduled.as_str())
            .bind(next_attempt_at)
            .bind(reason)
            .bind(serde_json::to_value(outputs).ok())
            .execute(&mut *tx)
            .await?;
            crate::timers::set_node_timer(tx, &ev.aggregate_id, &path, next_attempt_at).await?;
        }
        // The NodeScheduled or NodeBecameReady that follows says what changed.
        NodeScheduleUpdated { .. } => {}
        NodeRetried { path, .. } => {
            reset_node(tx, id, &path, NodeStatus::Blocked).await?;
        }
        NodeReset { path, status, .. } => {
            reset_node(tx, id, &path, status).await?;
        }
        StageReopened { stage: s, .. } => {
            set_stage(tx, id, s, StageStatus::Running).await?;
        }
        StageReset { stage: s, .. } => {
            set_stage(tx, id, s, StageStatus::Created).await?;
        }
        PipelineReopened { .. } => {
            sqlx::query(
                "UPDATE pipelines SET status = $2, reason = NULL, finished_at = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(PipelineStatus::Running.as_str())
            .execute(&mut *tx)
            .await?;
        }
        NodeApprovalPending { path, .. } => {
            let empty = serde_json::to_value(phobos_core::pipeline::ApprovalState::default())
                .map_err(|e| LogError::Handler(e.to_string()))?;
            sqlx::query(
                "UPDATE pipeline_nodes SET status = $3, approval = $4 WHERE pipeline_id = $1 AND path = $2",
            )
            .bind(id)
            .bind(path)
            .bind(NodeStatus::ApprovalPending.as_str())
            .bind(empty)
            .execute(&mut *tx)
            .await?;
        }
        ref e @ (NodeApprovalRulesFixed { ref path, .. }
        | NodeApproved { ref path, .. }
        | NodeApprovalRevoked { ref path, .. }
        | NodeRejected { ref path, .. }
        | NodeApprovalOverridden { ref path, .. }) => {
            // The node's state folded by the core's own code.
            let current: Option<serde_json::Value> = sqlx::query_scalar(
                "SELECT approval FROM pipeline_nodes WHERE pipeline_id = $1 AND path = $2",
            )
            .bind(id)
            .bind(path)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
            let mut state: phobos_core::pipeline::ApprovalState = match current {
                Some(v) => serde_json::from_value(v)
                    .map_err(|e| LogError::Handler(format!("node {path}'s approval: {e}")))?,
                None => Default::default(),
            };
            state.apply(e);
            sqlx::query(
                "UPDATE pipeline_nodes SET approval = $3 WHERE pipeline_id = $1 AND path = $2",
            )
            .bind(id)
            .bind(path)
            .bind(serde_json::to_value(&state).map_err(|e| LogError::Handler(e.to_string()))?)
            .execute(&mut *tx)
            .await?;
        }
        NodeWaitingForStart { path, .. } => {
            sqlx::query(
                "UPDATE pipeline_nodes SET status = $3 WHERE pipeline_id = $1 AND path = $2",
            )
            .bind(id)
            .bind(path)
            .bind(NodeStatus::Waiting.as_str())
            .execute(&mut *tx)
            .await?;
        }
        StageSucceeded { stage: s, .. } => {
            set_stage(tx, id, s, StageStatus::Succeeded).await?;
        }
        StageFailed { stage: s, .. } => {
            set_stage(tx, id, s, StageStatus::Failed).await?;
        }
        StageSkipped { stage: s, .. } => {
            set_stage(tx, id, s, StageStatus::Skipped).await?;
        }
        NodeBecameReady {
            path,
            job_id,
            child,
            ..
        } => {
            crate::timers::clear_node_timer(tx, &ev.aggregate_id, &path).await?;
            let job_id = job_id.map(|j| uuid_of(ev, &j)).transpose()?;
            let child = child
                .map(|c| uuid_of(ev, &c.child_pipeline_id))
                .transpose()?;
            sqlx::query(
                "UPDATE pipeline_nodes SET status = $3, job_id = $4, child_pipeline_id = $5
                  WHERE pipeline_id = $1 AND path = $2",
            )
            .bind(id)
            .bind(path)
            .bind(NodeStatus::Ready.as_str())
            .bind(job_id)
            .bind(child)
            .execute(&mut *tx)
            .await?;
        }
        NodeJobQueued { path, .. } => {
            sqlx::query(
                "UPDATE pipeline_nodes SET status = $3 WHERE pipeline_id = $1 AND path = $2 AND status = $4",
            )
            .bind(id)
            .bind(path)
            .bind(NodeStatus::Pending.as_str())
            .bind(NodeStatus::Ready.as_str())
            .execute(&mut *tx)
            .await?;
        }
        NodeStarted { path, at, .. } | NodeChildPipelineStarted { path, at, .. } => {
            sqlx::query("UPDATE pipeline_nodes SET status = $3, started_at = $4 WHERE pipeline_id = $1 AND path = $2")
                .bind(id)
                .bind(path)
                .bind(NodeStatus::Running.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        NodeSucceeded { path, outputs, at } => {
            finish_node(
                tx,
                id,
                path,
                NodeStatus::Succeeded,
                None,
                serde_json::to_value(outputs).ok(),
                at,
            )
            .await?;
        }
        NodeFailed {
            path,
            reason,
            outputs,
            at,
        } => {
            crate::timers::clear_node_timer(tx, &ev.aggregate_id, &path).await?;
            finish_node(
                tx,
                id,
                path,
                NodeStatus::Failed,
                Some(reason),
                serde_json::to_value(outputs).ok(),
                at,
            )
            .await?;
        }
        NodeSkipped {
            path, reason, at, ..
        } => {
            crate::timers::clear_node_timer(tx, &ev.aggregate_id, &path).await?;
            finish_node(tx, id, path, NodeStatus::Skipped, Some(reason), None, at).await?;
        }
        PipelineSucceeded { at } => {
            finish_pipeline(tx, id, PipelineStatus::Succeeded, None, at).await?;
        }
        PipelineFailed { reason, at } => {
            finish_pipeline(tx, id, PipelineStatus::Failed, Some(reason), at).await?;
        }
        PipelineCancelRequested { .. } => {
            set_pipeline(tx, id, PipelineStatus::Canceling).await?;
            sqlx::query(
                "UPDATE pipeline_stages SET status = $2 WHERE pipeline_id = $1 AND status = ANY($3)",
            )
            .bind(id)
            .bind(StageStatus::Canceling.as_str())
            .bind([StageStatus::Running.as_str(), StageStatus::Waiting.as_str()])
            .execute(&mut *tx)
            .await?;
        }
        NodeCancelRequested { path, .. } => {
            sqlx::query(
                "UPDATE pipeline_nodes SET status = $3 WHERE pipeline_id = $1 AND path = $2",
            )
            .bind(id)
            .bind(path)
            .bind(NodeStatus::Canceling.as_str())
            .execute(&mut *tx)
            .await?;
        }
        NodeCanceled {
            path,
            reason,
            outputs,
            at,
            ..
        } => {
            crate::timers::clear_node_timer(tx, &ev.aggregate_id, &path).await?;
            let outputs = (!outputs.is_empty())
                .then(|| serde_json::to_value(outputs).ok())
                .flatten();
            finish_node(
                tx,
                id,
                path,
                NodeStatus::Canceled,
                Some(reason),
                outputs,
                at,
            )
            .await?;
        }
        StageCanceled { stage: s, .. } => {
            set_stage(tx, id, s, StageStatus::Canceled).await?;
        }
        PipelineCanceled { reason, at } => {
            finish_pipeline(tx, id, PipelineStatus::Canceled, Some(reason), at).await?;
        }
    }
    Ok(())
}

/// A node runs again (retried) or waits again (its skip undone).
async fn reset_node(
    tx: &mut PgConnection,
    id: Uuid,
    path: &str,
    status: NodeStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE pipeline_nodes SET status = $3, reason = NULL, started_at = NULL, finished_at = NULL,
                scheduled_start_time = NULL
          WHERE pipeline_id = $1 AND path = $2",
    )
    .bind(id)
    .bind(path)
    .bind(status.as_str())
    .execute(tx)
    .await?;
    Ok(())
}

async fn set_pipeline(
    tx: &mut PgConnection,
    id: Uuid,
    status: PipelineStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE pipelines SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .execute(tx)
        .await?;
    Ok(())
}

async fn set_stage(
    tx: &mut PgConnection,
    id: Uuid,
    name: String,
    status: StageStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE pipeline_stages SET status = $3 WHERE pipeline_id = $1 AND name = $2")
        .bind(id)
        .bind(name)
        .bind(status.as_str())
        .execute(tx)
        .await?;
    Ok(())
}

async fn finish_node(
    tx: &mut PgConnection,
    id: Uuid,
    path: String,
    status: NodeStatus,
    reason: Option<String>,
    outputs: Option<serde_json::Value>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE pipeline_nodes SET status = $3, reason = $4, outputs = COALESCE($5, outputs), finished_at = $6
          WHERE pipeline_id = $1 AND path = $2",
    )
    .bind(id)
    .bind(path)
    .bind(status.as_str())
    .bind(reason)
    .bind(outputs)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn finish_pipeline(
    tx: &mut PgConnection,
    id: Uuid,
    status: PipelineStatus,
    reason: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE pipelines SET status = $2, reason = $3, finished_at = $4 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(reason)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn job(tx: &mut PgConnection, id: Uuid, ev: &RecordedEvent) -> Result<(), LogError> {
    let event = ev.decode::<JobEvent>()?;
    if let JobEvent::JobQueued {
        pipeline_id,
        project_id,
        node_path,
        spec,
        queued_at,
    } = &event
    {
        sqlx::query(
            "INSERT INTO jobs (id, pipeline_id, project_id, node_path, status, tags, queued_at)
             VALUES ($1, $2, $3, $4, 'QUEUED', $5, $6)",
        )
        .bind(id)
        .bind(uuid_of(ev, pipeline_id)?)
        .bind(uuid_of(ev, project_id)?)
        .bind(node_path)
        .bind(&spec.tags)
        .bind(queued_at)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO pipeline_event_index (pipeline_id, tx_id, global_position)
         SELECT pipeline_id, $2::text::xid8, $3 FROM jobs WHERE id = $1",
    )
    .bind(id)
    .bind(ev.position.tx_id.to_string())
    .bind(ev.position.global_position)
    .execute(&mut *tx)
    .await?;
    let q = match event {
        JobEvent::JobQueued { .. } => return Ok(()),
        JobEvent::JobClaimed {
            agent_id, claimed_at, ..
        } => sqlx::query("UPDATE jobs SET status = 'CLAIMED', agent_id = $2, claimed_at = $3 WHERE id = $1")
            .bind(id)
            .bind(uuid_of(ev, &agent_id)?)
            .bind(claimed_at),
        JobEvent::JobStarted {
            started_at,
            deadline,
        } => {
            if let Some(deadline) = deadline {
                crate::timers::set_job_timer(tx, "timeout", &ev.aggregate_id, deadline).await?;
            }
            sqlx::query("UPDATE jobs SET status = 'RUNNING', started_at = $2 WHERE id = $1")
                .bind(id)
                .bind(started_at)
        }
        JobEvent::ActionOutputsRecorded { action, outputs } => {
            sqlx::query("UPDATE jobs SET outputs = outputs || jsonb_build_object($2::text, $3::jsonb) WHERE id = $1")
                .bind(id)
                .bind(action)
                .bind(outputs)
        }
        JobEvent::JobSucceeded { finished_at, .. } => {
            crate::timers::clear_job_timers(tx, &ev.aggregate_id).await?;
            sqlx::query("UPDATE jobs SET status = 'SUCCEEDED', finished_at = $2 WHERE id = $1")
                .bind(id)
                .bind(finished_at)
        }
        JobEvent::JobFailed {
            message, finished_at, ..
        } => {
            crate::timers::clear_job_timers(tx, &ev.aggregate_id).await?;
            sqlx::query("UPDATE jobs SET status = 'FAILED', message = $2, finished_at = $3 WHERE id = $1")
                .bind(id)
                .bind(message)
                .bind(finished_at)
        }
        JobEvent::JobCancelRequested {
            grace_seconds,
            confirm_by,
            ..
        } => {
            crate::timers::set_cancel_timer(tx, &ev.aggregate_id, confirm_by).await?;
            sqlx::query("UPDATE jobs SET status = 'CANCELING', cancel_grace_seconds = $2 WHERE id = $1")
                .bind(id)
                .bind(grace_seconds as i32)
        }
        JobEvent::JobCanceled {
            message,
            forced,
            finished_at,
            ..
        } => {
            crate::timers::clear_job_timers(tx, &ev.aggregate_id).await?;
            sqlx::query(
                "UPDATE jobs SET status = 'CANCELED', message = $2, cancel_forced = $3, finished_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(message)
            .bind(forced)
            .bind(finished_at)
        }
    };
    q.execute(&mut *tx).await?;
    Ok(())
}

async fn agent(tx: &mut PgConnection, id: Uuid, ev: &RecordedEvent) -> Result<(), LogError> {
    let event = ev.decode::<AgentEvent>()?;
    agent_session(tx, id, ev, &event).await?;
    let q = match event {
        AgentEvent::AgentRegistered {
            name,
            internal,
            registered_at,
        } => sqlx::query(
            "INSERT INTO agents (id, name, internal, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(name)
        .bind(internal)
        .bind(registered_at),
        AgentEvent::AgentCreated {
            name,
            agent_type,
            organization_id,
            tags,
            run_untagged_jobs,
            internal,
            created_at,
        } => {
            let organization = organization_id
                .as_deref()
                .map(|o| uuid_of(ev, o))
                .transpose()?;
            sqlx::query(
                "INSERT INTO agents (id, name, internal, tags, created_at, agent_type, organization_id, run_untagged_jobs)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(name)
            .bind(internal)
            .bind(tags)
            .bind(created_at)
            .bind(agent_type_name(agent_type))
            .bind(organization)
            .bind(run_untagged_jobs)
        }
        AgentEvent::AgentUpdated {
            tags,
            run_untagged_jobs,
            updated_at,
        } => sqlx::query(
            "UPDATE agents SET tags = $2, run_untagged_jobs = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(tags)
        .bind(run_untagged_jobs)
        .bind(updated_at),
        // Its tokens go with it (ON DELETE CASCADE).
        AgentEvent::AgentDeleted { .. } => sqlx::query("DELETE FROM agents WHERE id = $1").bind(id),
        AgentEvent::AgentServiceAccountAssigned {
            service_account_id,
            service_account_path,
            ..
        } => sqlx::query(
            "UPDATE agents SET service_account_id = $2, service_account_path = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(uuid_of(ev, &service_account_id)?)
        .bind(service_account_path),
        AgentEvent::AgentServiceAccountUnassigned { .. } => sqlx::query(
            "UPDATE agents SET service_account_id = NULL, service_account_path = NULL WHERE id = $1",
        )
        .bind(id),
        AgentEvent::AgentTokenCreated {
            token_id,
            token_sha256,
            created_at,
        } => sqlx::query(
            "INSERT INTO agent_tokens (token_sha256, agent_id, token_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_sha256)
        .bind(id)
        .bind(uuid_of(ev, &token_id)?)
        .bind(created_at),
        AgentEvent::AgentSessionStarted {
            session_id,
            tags,
            started_at,
        } => sqlx::query(
            "UPDATE agents SET session_id = $2, tags = $3, last_session_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(uuid_of(ev, &session_id)?)
        .bind(tags)
        .bind(started_at),
        AgentEvent::AgentSessionExpired { session_id, .. } => sqlx::query(
            "UPDATE agents SET session_id = NULL WHERE id = $1 AND session_id = $2",
        )
        .bind(id)
        .bind(uuid_of(ev, &session_id)?),
        // Only agent_sessions (`agent_session`).
        AgentEvent::AgentSessionErrorReported { .. } => return Ok(()),
    };
    q.execute(&mut *tx).await?;
    Ok(())
}

/// The agent_sessions and agent_session_errors rows of a session event
/// (and of a deleted agent: none left).
async fn agent_session(
    tx: &mut PgConnection,
    id: Uuid,
    ev: &RecordedEvent,
    event: &AgentEvent,
) -> Result<(), LogError> {
    match event {
        AgentEvent::AgentSessionStarted {
            session_id,
            tags,
            started_at,
        } => {
            sqlx::query(
                "INSERT INTO agent_sessions (id, agent_id, tags, started_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(uuid_of(ev, session_id)?)
            .bind(id)
            .bind(tags)
            .bind(started_at)
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::AgentSessionExpired {
            session_id,
            last_heartbeat_at,
            expired_at,
        } => {
            sqlx::query(
                "UPDATE agent_sessions SET ended_at = $2, last_heartbeat_at = $3 WHERE id = $1",
            )
            .bind(uuid_of(ev, session_id)?)
            .bind(expired_at)
            .bind(last_heartbeat_at)
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::AgentSessionErrorReported {
            session_id,
            message,
            reported_at,
        } => {
            let session = uuid_of(ev, session_id)?;
            sqlx::query(
                "INSERT INTO agent_session_errors (agent_id, sequence, session_id, message, reported_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(ev.sequence)
            .bind(session)
            .bind(message)
            .bind(reported_at)
            .execute(&mut *tx)
            .await?;
            // Counted, not incremented: the row above is written once.
            sqlx::query(
                "UPDATE agent_sessions SET
                    error_count = (SELECT count(*) FROM agent_session_errors WHERE session_id = $1),
                    last_error = $2, last_error_at = $3
                  WHERE id = $1",
            )
            .bind(session)
            .bind(message)
            .bind(reported_at)
            .execute(&mut *tx)
            .await?;
        }
        AgentEvent::AgentDeleted { .. } => {
            sqlx::query("DELETE FROM agent_session_errors WHERE agent_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM agent_sessions WHERE agent_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// How agent types are written in the read model (and GraphQL).
pub fn agent_type_name(t: AgentType) -> &'static str {
    match t {
        AgentType::Organization => "ORGANIZATION",
        AgentType::Shared => "SHARED",
    }
}

async fn release_lifecycle(
    tx: &mut PgConnection,
    id: Uuid,
    actor: &str,
    ev: &RecordedEvent,
) -> Result<(), LogError> {
    use phobos_core::events::ReleaseLifecycleEvent::*;
    match ev.decode::<phobos_core::events::ReleaseLifecycleEvent>()? {
        ReleaseLifecycleCreated {
            organization_id,
            project_id,
            path,
            name,
            object_key,
            sha256,
            size,
            created_at,
        } => {
            sqlx::query(
                "INSERT INTO release_lifecycles (id, organization_id, project_id, path, name, version, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)",
            )
            .bind(id)
            .bind(uuid_of(ev, &organization_id)?)
            .bind(project_id.as_deref().map(|p| uuid_of(ev, p)).transpose()?)
            .bind(path)
            .bind(name)
            .bind(actor)
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
            lifecycle_version(tx, id, 1, &object_key, &sha256, size, actor, created_at).await?;
        }
        ReleaseLifecycleVersionCreated {
            version,
            object_key,
            sha256,
            size,
            created_at,
        } => {
            sqlx::query(
                "UPDATE release_lifecycles SET version = $2, updated_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(version as i32)
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
            lifecycle_version(
                tx,
                id,
                version,
                &object_key,
                &sha256,
                size,
                actor,
                created_at,
            )
            .await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn lifecycle_version(
    tx: &mut PgConnection,
    id: Uuid,
    version: u32,
    object_key: &str,
    sha256: &str,
    size: u64,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), LogError> {
    sqlx::query(
        "INSERT INTO release_lifecycle_versions (lifecycle_id, version, object_key, sha256, size, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(version as i32)
    .bind(object_key)
    .bind(sha256)
    .bind(size as i64)
    .bind(actor)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn release(
    tx: &mut PgConnection,
    id: Uuid,
    actor: &str,
    ev: &RecordedEvent,
) -> Result<(), LogError> {
    use phobos_core::events::ReleaseEvent::*;
    let json =
        |v: serde_json::Result<serde_json::Value>| v.map_err(|e| LogError::Handler(e.to_string()));
    match ev.decode::<phobos_core::events::ReleaseEvent>()? {
        ReleaseCreated {
            project_id,
            lifecycle_id,
            lifecycle_version,
            semantic_version,
            deployment_templates,
            variables,
            due_date,
            notes,
            pre_release,
            participants,
            pipeline_id,
            created_at,
            ..
        } => {
            sqlx::query(
                "INSERT INTO releases (id, project_id, lifecycle_id, lifecycle_version, semantic_version, pipeline_id,
                                       deployment_templates, variables, due_date, notes, pre_release, created_by, created_at, updated_at,
                                       participants)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)",
            )
            .bind(id)
            .bind(uuid_of(ev, &project_id)?)
            .bind(uuid_of(ev, &lifecycle_id)?)
            .bind(lifecycle_version as i32)
            .bind(semantic_version)
            .bind(uuid_of(ev, &pipeline_id)?)
            .bind(json(serde_json::to_value(&deployment_templates))?)
            .bind(json(serde_json::to_value(&variables))?)
            .bind(due_date)
            .bind(notes)
            .bind(pre_release)
            .bind(actor)
            .bind(created_at)
            .bind(json(serde_json::to_value(&participants))?)
            .execute(&mut *tx)
            .await?;
        }
        ReleaseUpdated {
            notes,
            due_date,
            participants,
            updated_at,
        } => {
            sqlx::query(
                "UPDATE releases SET notes = $2, due_date = $3, updated_at = $4, participants = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(notes)
            .bind(due_date)
            .bind(updated_at)
            .bind(json(serde_json::to_value(&participants))?)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}
