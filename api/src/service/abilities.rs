//! What the caller could do to a pipeline now, for the UI's buttons
//! (`viewerCanStart`, `viewerCanRetry`, `viewerCanCancel`,
//! `viewerCanApprove`, `viewerCanReject`, `viewerCanRevoke`): the command its mutation would send, authorized as
//! the mutation authorizes it ([`App::authorize_pipeline_command`],
//! [`App::approval_command`]) and decided by the pipeline's own state
//! machine without being run (`Pipeline::events_of`). So the UI repeats no
//! rule; the mutation is still checked when it comes.

use phobos_commands::aggregates::{Pipeline, PipelineCommand};
use phobos_projections::queries::PipelineRow;

use super::{App, Decision, ServiceError};
use crate::auth::Claims;
use crate::authz::{Permission, Scope};

/// A pipeline as its commands see it, loaded once for the questions of one
/// request.
pub struct PipelineAbilities {
    pipeline: PipelineRow,
    state: Option<Pipeline>,
}

/// What can be done to one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAction {
    Start,
    Retry,
    /// With force when it is CANCELING already (the UI then offers force).
    Cancel,
    Approve,
    /// An advisory rejection (the node stays pending).
    Reject,
    /// Taking back one's own approval.
    Revoke,
}

impl App {
    /// Loads `pipeline`'s state for [`viewer_can`](Self::viewer_can).
    pub async fn pipeline_abilities(
        &self,
        pipeline: PipelineRow,
    ) -> Result<PipelineAbilities, ServiceError> {
        let state = self.bus.pipeline_state(&pipeline.id.to_string()).await?;
        Ok(PipelineAbilities { pipeline, state })
    }

    /// Whether the mutation of `action` on the node at `path` would be
    /// accepted from `claims` now.
    pub async fn viewer_can_node(
        &self,
        claims: &Claims,
        abilities: &PipelineAbilities,
        path: &str,
        action: NodeAction,
    ) -> bool {
        let path = path.to_string();
        let cmd = match action {
            NodeAction::Start => PipelineCommand::StartNode { path },
            NodeAction::Retry => PipelineCommand::RetryNode { path },
            NodeAction::Cancel => PipelineCommand::CancelNode {
                path,
                force: true,
                grace_seconds: self.config.jobs.cancel_grace_seconds,
            },
            NodeAction::Approve | NodeAction::Reject | NodeAction::Revoke => {
                let decision = match action {
                    NodeAction::Approve => Decision::Approve,
                    NodeAction::Revoke => Decision::Revoke,
                    // The comment does not change whether it is accepted.
                    _ => Decision::Reject(String::new()),
                };
                match self
                    .approval_command(claims, &abilities.pipeline, &path, decision)
                    .await
                {
                    Ok(cmd) => cmd,
                    Err(_) => return false,
                }
            }
        };
        self.viewer_can(claims, abilities, cmd).await
    }

    /// Whether `cancelPipeline` (with force once it is CANCELING) would be
    /// accepted from `claims` now.
    pub async fn viewer_can_cancel_pipeline(
        &self,
        claims: &Claims,
        abilities: &PipelineAbilities,
    ) -> bool {
        let cmd = PipelineCommand::CancelPipeline {
            force: true,
            grace_seconds: self.config.jobs.cancel_grace_seconds,
        };
        self.viewer_can(claims, abilities, cmd).await
    }

    async fn viewer_can(
        &self,
        claims: &Claims,
        abilities: &PipelineAbilities,
        cmd: PipelineCommand,
    ) -> bool {
        let Some(state) = &abilities.state else {
            return false;
        };
        self.user(claims).is_ok()
            && self
                .authorize_pipeline_command(
                    claims,
                    &abilities.pipeline,
                    &cmd,
                    ("pipelineId", "nodePath"),
                )
                .await
                .is_ok()
            && state.events_of(cmd, self.bus.now()).is_ok()
    }
}

/// What can be done in a project or to one of its resources, for the
/// `viewerCan…` fields of projects, releases and environments: each names
/// the permission its mutation checks, and the mutation checks this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeAction {
    /// `createPipeline`.
    CreatePipeline,
    /// `createPipelineTemplate`.
    CreatePipelineTemplate,
    /// `createRelease`.
    CreateRelease,
    /// `updateRelease`.
    UpdateRelease,
    /// `updateEnvironmentProtectionRules`.
    UpdateEnvironmentProtection,
}

impl ScopeAction {
    pub(crate) const fn permission(self) -> Permission {
        match self {
            ScopeAction::CreatePipeline
            | ScopeAction::CreateRelease
            | ScopeAction::UpdateRelease => Permission::RunPipelines,
            ScopeAction::CreatePipelineTemplate => Permission::ManagePipelineTemplates,
            ScopeAction::UpdateEnvironmentProtection => {
                Permission::ManageEnvironmentProtectionRules
            }
        }
    }
}

impl App {
    /// Whether the mutation of `action` in `scope` would pass its
    /// authorization (its input is still validated when it comes).
    pub async fn viewer_can_in(&self, claims: &Claims, scope: Scope, action: ScopeAction) -> bool {
        self.authorize(claims, action.permission(), scope, || {
            ServiceError::new(super::Code::NotFound, "hidden")
        })
        .await
        .is_ok()
    }

    /// Whether `updateAgent` (and the agent's other changes) would pass
    /// its authorization: administrators for a shared agent, ManageAgents
    /// in its organization for an organization's.
    pub async fn viewer_can_manage_agent(
        &self,
        claims: &Claims,
        organization: Option<uuid::Uuid>,
    ) -> bool {
        self.manage_agents(claims, organization, || {
            ServiceError::new(super::Code::NotFound, "hidden")
        })
        .await
        .is_ok()
    }
}
