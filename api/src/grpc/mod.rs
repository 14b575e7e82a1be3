//! The gRPC side (`proto/phobos/v1/agent.proto`): agents and job executors.
//!
//! - [`dispatcher::Dispatcher`]: follows the event log and offers each
//!   queued job to the connected agents whose tags fit it;
//! - [`agents::AgentApi`]: sessions, heartbeats, the job stream, claims;
//! - [`jobs::JobApi`]: what an executor reports for its one job.

pub mod agents;
pub mod dispatcher;
pub mod jobs;

use tonic::{Request, Status};

use crate::auth::{Claims, Tokens};
use crate::service::{Code, ServiceError};

/// The caller's claims from `authorization: Bearer …` metadata.
pub(crate) async fn claims<T>(tokens: &Tokens, req: &Request<T>) -> Result<Claims, Status> {
    let header = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    tokens
        .verify_header(header)
        .await
        .map_err(|e| status(ServiceError::from(e)))
}

/// The one mapping from service errors to gRPC status.
pub(crate) fn status(e: ServiceError) -> Status {
    match e.code {
        Code::Unauthenticated => Status::unauthenticated(e.message),
        Code::Forbidden => Status::permission_denied(e.message),
        Code::NotFound => Status::not_found(e.message),
        Code::Invalid | Code::TooLarge => Status::invalid_argument(e.message),
        Code::LimitExceeded => Status::resource_exhausted(e.message),
        Code::Conflict => Status::failed_precondition(e.message),
        Code::Unavailable => Status::unavailable(e.message),
        Code::Internal => Status::internal(e.message),
    }
}

/// The span of one gRPC call, named by its method, under the caller's span
/// when the call's metadata names one (agents and executors send theirs).
pub(crate) fn call_span(req: &tonic::codegen::http::Request<()>) -> tracing::Span {
    let path = req.uri().path();
    let span = tracing::info_span!(
        "grpc",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        rpc = %path,
    );
    phobos_telemetry::name(&span, || format!("grpc {}", path.trim_start_matches('/')));
    phobos_telemetry::extract(&span, |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    span
}
