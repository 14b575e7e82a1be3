//! The `authorization: Bearer <token>` metadata sent on every call.

use std::fmt;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::error::AgentError;

/// Adds `authorization: Bearer <token>` to every request. The value is marked
/// sensitive and `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct BearerAuth {
    header: MetadataValue<Ascii>,
}

impl BearerAuth {
    /// Checks that `token` can be sent as gRPC metadata. The error never
    /// contains the token.
    pub(crate) fn new(token: &str) -> Result<Self, AgentError> {
        if token.trim().is_empty() {
            return Err(AgentError::InvalidToken("is empty"));
        }
        let mut header: MetadataValue<Ascii> = format!("Bearer {token}").parse().map_err(|_| {
            AgentError::InvalidToken(
                "contains characters that cannot be sent as gRPC metadata (it must be printable ASCII)",
            )
        })?;
        header.set_sensitive(true);
        Ok(Self { header })
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerAuth(<redacted>)")
    }
}
