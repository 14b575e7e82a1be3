//! Why a job executor could not be started.

use std::path::PathBuf;

/// A job executor could not be started. Never contains the job token.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The executor binary does not exist.
    #[error("job executor not found at {}: build it with `cargo build -p phobos-executor`, or point the agent at it (`--executor-path`, or the dispatcher data `EXECUTOR_PATH` for internal agents)", path.display())]
    ExecutorMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The executor exists but could not be started.
    #[error("could not start the job executor {}: {source}; check that it is an executable file", path.display())]
    Spawn {
        /// The executor binary.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}
