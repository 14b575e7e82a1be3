//! The gRPC contract between the Phobos server, its agents and job executors
//! (`proto/phobos/v1/agent.proto`), compiled by tonic.
//!
//! Both sides use the generated clients and servers under [`v1`].

/// `phobos.v1`: `AgentService` (agents) and `JobService` (job executors).
pub mod v1 {
    tonic::include_proto!("phobos.v1");
}

mod endpoint;
pub use endpoint::{endpoint, InvalidUrl, ServerTrust};

/// The metadata an agent signed in as a service account names itself by.
pub const AGENT_NAME_METADATA: &str = "phobos-agent-name";

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
    /// The PEM certificates the executor trusts for an `https://`
    /// [`GRPC_URL`] instead of the machine's roots (what its agent trusts).
    pub const GRPC_CA_PEM: &str = "PHOBOS_GRPC_CA_PEM";
    /// The name the server's certificate must be valid for, when it is not
    /// the URL's host.
    pub const GRPC_TLS_DOMAIN: &str = "PHOBOS_GRPC_TLS_DOMAIN";
    /// The W3C traceparent of the agent's span for the job: the executor's
    /// spans continue it. Set only when traces are exported, with
    /// `PHOBOS_OTEL_TRACE_*` naming the collector. Never passed to a command.
    pub const TRACEPARENT: &str = "PHOBOS_TRACEPARENT";
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

/// What an agent tells the executor it started, on the executor's standard
/// input after the job token line: one line per request.
pub mod job_control {
    /// A request to stop the job.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Cancel {
        /// SIGKILL at once: the server has already canceled the job.
        pub force: bool,
        /// Otherwise: SIGTERM, then SIGKILL after this many seconds.
        pub grace_seconds: u32,
    }

    impl Cancel {
        /// Its line, newline included: `cancel force` or `cancel graceful N`.
        pub fn line(self) -> String {
            if self.force {
                "cancel force\n".to_owned()
            } else {
                format!("cancel graceful {}\n", self.grace_seconds)
            }
        }

        /// The request a line says, if it is one.
        pub fn parse(line: &str) -> Option<Cancel> {
            let mut words = line.split_whitespace();
            if words.next() != Some("cancel") {
                return None;
            }
            match (words.next(), words.next(), words.next()) {
                (Some("force"), None, _) => Some(Cancel {
                    force: true,
                    grace_seconds: 0,
                }),
                (Some("graceful"), Some(n), None) => Some(Cancel {
                    force: false,
                    grace_seconds: n.parse().ok()?,
                }),
                _ => None,
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Cancel;

        #[test]
        fn lines_parse_back() {
            for c in [
                Cancel {
                    force: true,
                    grace_seconds: 0,
                },
                Cancel {
                    force: false,
                    grace_seconds: 30,
                },
            ] {
                assert_eq!(Cancel::parse(&c.line()), Some(c));
            }
            assert_eq!(Cancel::parse("cancel graceful x"), None);
            assert_eq!(Cancel::parse("hello"), None);
        }
    }
}
