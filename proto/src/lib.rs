//! The gRPC contract between the Phobos server, its agents and job executors
//! (`proto/phobos/v1/agent.proto`), compiled by tonic.
//!
//! Both sides use the generated clients and servers under [`v1`].

/// `phobos.v1`: `AgentService` (agents) and `JobService` (job executors).
pub mod v1 {
    tonic::include_proto!("phobos.v1");
}

/// The environment of a job: what an agent gives the job executor it starts,
/// and what the executor gives the commands it runs. Nothing else of the
/// agent's environment reaches either (both start from an empty one).
///
/// - the executor gets [`EXECUTOR_INHERITED`] from the agent's environment,
///   [`JOB_ID`] and [`GRPC_URL`]; its job token arrives on its standard input
///   (one line), so it is in no process's environment;
/// - a command gets [`COMMAND_INHERITED`] from the executor's environment,
///   `HOME` and its working directory set to a directory of the job's own
///   (removed when the job ends), and [`JOB_ID`], [`PIPELINE_ID`],
///   [`NODE_PATH`] and [`WORK_DIR`].
pub mod job_env {
    /// The job's id.
    pub const JOB_ID: &str = "PHOBOS_JOB_ID";
    /// The server's gRPC endpoint, for the executor.
    pub const GRPC_URL: &str = "PHOBOS_GRPC_URL";
    /// The job token, when an executor is started by hand rather than by an
    /// agent (an agent writes it to the executor's standard input instead).
    /// Never passed to a command.
    pub const JOB_TOKEN: &str = "PHOBOS_JOB_TOKEN";
    /// The pipeline the job belongs to.
    pub const PIPELINE_ID: &str = "PHOBOS_JOB_PIPELINE_ID";
    /// The task's path in the pipeline, e.g. `stage.build.task.compile`.
    pub const NODE_PATH: &str = "PHOBOS_JOB_NODE_PATH";
    /// The job's own working directory (also `HOME` and the current directory).
    pub const WORK_DIR: &str = "PHOBOS_JOB_WORK_DIR";
    /// Variables a command inherits, when set.
    pub const COMMAND_INHERITED: &[&str] = &["PATH", "LANG", "LC_ALL", "TZ"];
    /// Variables the executor inherits from its agent, when set.
    pub const EXECUTOR_INHERITED: &[&str] = &["PATH", "LANG", "LC_ALL", "TZ", "RUST_LOG"];
}
