//! What the executor is started with: [`phobos_proto::job_env`].

use std::fmt;
use std::io::BufRead;

pub use phobos_proto::job_env::{GRPC_CA_PEM, GRPC_TLS_DOMAIN, GRPC_URL, JOB_ID, JOB_TOKEN};
use phobos_proto::ServerTrust;

/// The job to run and where to report it.
pub struct JobEnv {
    pub job_id: String,
    /// Authorizes the calls for this job; never logged.
    pub job_token: String,
    pub grpc_url: String,
    /// How an `https://` server is verified.
    pub tls: ServerTrust,
    /// The token came on standard input: the agent keeps it open as a
    /// control pipe (cancel requests follow).
    pub token_on_stdin: bool,
}

impl fmt::Debug for JobEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobEnv")
            .field("job_id", &self.job_id)
            .field("job_token", &"<redacted>")
            .field("grpc_url", &self.grpc_url)
            .field("tls", &self.tls)
            .field("token_on_stdin", &self.token_on_stdin)
            .finish()
    }
}

/// A variable that is unset or empty.
#[derive(Debug)]
pub struct MissingVar(pub &'static str);

impl fmt::Display for MissingVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not set", self.0)?;
        if self.0 == JOB_TOKEN {
            write!(f, " and no token arrived on standard input")?;
        }
        write!(
            f,
            "; the executor is started by a Phobos agent, which sets {JOB_ID} and {GRPC_URL} and writes the job token to its standard input"
        )
    }
}

impl JobEnv {
    /// Reads the job id and server URL from the environment, and the job
    /// token from `PHOBOS_JOB_TOKEN` or else the first line of standard input
    /// (which is how an agent passes it: an environment can be read by other
    /// processes of the same user through `/proc`).
    pub fn from_env() -> Result<Self, MissingVar> {
        let var = |name: &'static str| match std::env::var(name) {
            Ok(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(MissingVar(name)),
        };
        let job_id = var(JOB_ID)?;
        let grpc_url = var(GRPC_URL)?;
        let mut token_on_stdin = false;
        let job_token = match var(JOB_TOKEN) {
            Ok(token) => token,
            Err(missing) => {
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
                let token = line.trim().to_owned();
                if token.is_empty() {
                    return Err(missing);
                }
                token_on_stdin = true;
                token
            }
        };
        Ok(Self {
            job_id,
            job_token,
            grpc_url,
            tls: ServerTrust {
                ca_pem: var(GRPC_CA_PEM).ok(),
                domain: var(GRPC_TLS_DOMAIN).ok(),
            },
            token_on_stdin,
        })
    }
}
