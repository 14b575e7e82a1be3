//! Running one action. Only the built-in `exec_command` is supported so far.

mod exec_command;

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
}

/// `<plugin>_<action>`, as the template names it (e.g. `exec_command`).
pub fn label(action: &Action) -> String {
    format!("{}_{}", action.plugin, action.action)
}

/// Runs `action`, writing its output to `log`.
pub async fn run(action: &Action, log: &LogWriter) -> ActionOutcome {
    match (action.plugin.as_str(), action.action.as_str()) {
        ("exec", "command") => exec_command::run(action, log).await,
        _ => ActionOutcome::Refused(format!(
            "plugin action {} is not supported by this executor yet",
            label(action)
        )),
    }
}
