//! Running one action. Only the built-in `exec_command` is supported so far.

mod exec_command;

use std::path::PathBuf;

use phobos_proto::job_env;
use phobos_proto::v1::Action;
use serde_json::{Map, Value};

use crate::logs::LogWriter;

/// How an action ended.
pub enum ActionOutcome {
    /// It ran: report `outputs`; `failure` is set when the job must stop.
    Ran {
        outputs: Map<String, Value>,
        failure: Option<String>,
    },
    /// It could not run at all (unsupported, unusable inputs): the job fails
    /// with this message and the action has no outputs.
    Refused(String),
    /// It was stopped by a cancel: report `outputs`; the job is CANCELED.
    Canceled {
        outputs: Map<String, Value>,
        message: String,
    },
}

/// What a command may know of its job.
pub struct JobContext {
    pub job_id: String,
    pub pipeline_id: String,
    pub node_path: String,
    /// The job's own directory: the commands' working directory and `HOME`.
    pub work_dir: PathBuf,
}

impl JobContext {
    /// The whole environment of a command (see [`job_env`]): nothing of the
    /// executor's but [`job_env::COMMAND_INHERITED`].
    pub fn command_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = job_env::COMMAND_INHERITED
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|v| ((*name).to_owned(), v)))
            .collect();
        let dir = self.work_dir.to_string_lossy().into_owned();
        env.extend([
            ("HOME".to_owned(), dir.clone()),
            ("PWD".to_owned(), dir.clone()),
            (job_env::WORK_DIR.to_owned(), dir),
            (job_env::JOB_ID.to_owned(), self.job_id.clone()),
            (job_env::PIPELINE_ID.to_owned(), self.pipeline_id.clone()),
            (job_env::NODE_PATH.to_owned(), self.node_path.clone()),
        ]);
        env
    }
}

/// `<plugin>_<action>`, as the template names it (e.g. `exec_command`).
pub fn label(action: &Action) -> String {
    format!("{}_{}", action.plugin, action.action)
}

/// Runs `action`, writing its output to `log`.
pub async fn run(
    action: &Action,
    job: &JobContext,
    log: &LogWriter,
    cancel: &crate::cancel::Cancel,
) -> ActionOutcome {
    match (action.plugin.as_str(), action.action.as_str()) {
        ("exec", "command") => exec_command::run(action, job, log, cancel).await,
        _ => ActionOutcome::Refused(format!(
            "plugin action {} is not supported by this executor yet",
            label(action)
        )),
    }
}
