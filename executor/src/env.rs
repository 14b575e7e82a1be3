//! The environment an agent starts the executor with.

use std::fmt;

/// `PHOBOS_JOB_ID`, `PHOBOS_JOB_TOKEN`, `PHOBOS_GRPC_URL`.
pub struct JobEnv {
    pub job_id: String,
    /// Authorizes the calls for this job; never logged.
    pub job_token: String,
    pub grpc_url: String,
}

/// The variables the executor reads, in the order it checks them.
pub const JOB_ID: &str = "PHOBOS_JOB_ID";
pub const JOB_TOKEN: &str = "PHOBOS_JOB_TOKEN";
pub const GRPC_URL: &str = "PHOBOS_GRPC_URL";

/// A variable that is unset or empty.
#[derive(Debug)]
pub struct MissingVar(pub &'static str);

impl fmt::Display for MissingVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not set; the executor is started by a Phobos agent, which sets {JOB_ID}, {JOB_TOKEN} and {GRPC_URL}",
            self.0
        )
    }
}

impl JobEnv {
    pub fn from_env() -> Result<Self, MissingVar> {
        let var = |name: &'static str| match std::env::var(name) {
            Ok(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(MissingVar(name)),
        };
        Ok(Self {
            job_id: var(JOB_ID)?,
            job_token: var(JOB_TOKEN)?,
            grpc_url: var(GRPC_URL)?,
        })
    }
}
