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
