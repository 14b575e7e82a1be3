//! The gRPC contract between the Phobos server, its agents and job executors
//! (`proto/phobos/v1/agent.proto`), compiled by tonic.
//!
//! Both sides use the generated clients and servers under [`v1`].

/// `phobos.v1`: `AgentService` (agents) and `JobService` (job executors).
pub mod v1 {
    tonic::include_proto!("phobos.v1");
}
