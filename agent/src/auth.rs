//! The metadata sent on every call: `authorization: Bearer <token>`, and,
//! for an agent signed in as a service account, `phobos-agent-name`.

use std::fmt;
use std::sync::{Arc, RwLock};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::error::AgentError;

/// Adds `authorization: Bearer <token>` to every request. The value is marked
/// sensitive and `Debug` never shows it. Clones share the token, so a
/// renewed service account token reaches every client at once.
#[derive(Clone)]
pub(crate) struct BearerAuth {
    header: Arc<RwLock<MetadataValue<Ascii>>>,
    agent_name: Option<MetadataValue<Ascii>>,
}

fn header(token: &str) -> Result<MetadataValue<Ascii>, AgentError> {
    if token.trim().is_empty() {
        return Err(AgentError::InvalidToken("is empty"));
    }
    let mut header: MetadataValue<Ascii> = format!("Bearer {token}").parse().map_err(|_| {
        AgentError::InvalidToken(
            "contains characters that cannot be sent as gRPC metadata (it must be printable ASCII)",
        )
    })?;
    header.set_sensitive(true);
    Ok(header)
}

impl BearerAuth {
    /// Checks that `token` can be sent as gRPC metadata. The error never
    /// contains the token.
    pub(crate) fn new(token: &str) -> Result<Self, AgentError> {
        Ok(Self {
            header: Arc::new(RwLock::new(header(token)?)),
            agent_name: None,
        })
    }

    /// A service account's token, naming the agent it acts as.
    pub(crate) fn for_agent(token: &str, agent_name: &str) -> Result<Self, AgentError> {
        let name = agent_name
            .parse()
            .map_err(|_| AgentError::InvalidName(agent_name.to_owned()))?;
        Ok(Self {
            header: Arc::new(RwLock::new(header(token)?)),
            agent_name: Some(name),
        })
    }

    /// Replaces the token (for this value and all its clones).
    pub(crate) fn set(&self, token: &str) -> Result<(), AgentError> {
        let value = header(token)?;
        *self.header.write().unwrap_or_else(|p| p.into_inner()) = value;
        Ok(())
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let value = self
            .header
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        request.metadata_mut().insert("authorization", value);
        if let Some(name) = &self.agent_name {
            request
                .metadata_mut()
                .insert(phobos_proto::AGENT_NAME_METADATA, name.clone());
        }
        // The calling span, so the server's spans for the call nest under it.
        phobos_telemetry::inject(request.metadata_mut());
        Ok(request)
    }
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerAuth(<redacted>)")
    }
}
