//! Opening a session: CreateSession.

use std::time::Duration;

use phobos_proto::v1::CreateSessionRequest;
use tonic::{Code, Status};

use crate::config::AgentConfig;
use crate::connect::AgentClient;

/// How often to heartbeat when the server does not say (interval 0).
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

/// An open session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) agent_id: String,
    pub(crate) id: String,
    pub(crate) heartbeat_interval: Duration,
}

/// Registers the agent (first time) and opens a session.
pub(crate) async fn create(
    client: &mut AgentClient,
    config: &AgentConfig,
) -> Result<Session, Status> {
    let response = client
        .create_session(CreateSessionRequest {
            agent_name: config.name.clone(),
            tags: config.tags.clone(),
            internal: config.internal,
        })
        .await?
        .into_inner();
    let heartbeat_interval = match response.heartbeat_interval_seconds {
        0 => DEFAULT_HEARTBEAT,
        seconds => Duration::from_secs(seconds.into()),
    };
    Ok(Session {
        agent_id: response.agent_id,
        id: response.session_id,
        heartbeat_interval,
    })
}

/// True when CreateSession failed for a reason retrying cannot fix.
pub(crate) fn is_refusal(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unauthenticated | Code::PermissionDenied | Code::InvalidArgument
    )
}
