//! The `authorization: Bearer <job token>` metadata sent on every call.

use std::fmt;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Adds `authorization: Bearer <token>` to every request. The value is marked
/// sensitive and `Debug` never shows it.
#[derive(Clone)]
pub struct BearerAuth {
    header: MetadataValue<Ascii>,
}

impl BearerAuth {
    /// `None` when the token cannot be sent as gRPC metadata.
    pub fn new(token: &str) -> Option<Self> {
        let mut header: MetadataValue<Ascii> = format!("Bearer {token}").parse().ok()?;
        header.set_sensitive(true);
        Some(Self { header })
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
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
