use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use indexmap::IndexMap;
use phobos_core::events::aggregate;
use phobos_core::events::{JobEvent, JobSpec};
use serde::{Deserialize, Serialize};

use super::{command_name, Stored};
use crate::clock::Services;
use crate::error::DomainError;

/// Where a job is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    #[default]
    New,
    Queued,
    Claimed,
    Running,
    Succeeded,
    Failed,
    /// Its executor was asked to stop it.
    Canceling,
    Canceled,
}

/// How long after its grace period a canceling job's executor still has to
/// confirm (report CANCELED) before the job is canceled without it.
pub const CANCEL_CONFIRM_SLACK_SECONDS: i64 = 10;

impl JobStatus {
    /// Every value.
    pub const ALL: &'static [JobStatus] = &[
        JobStatus::New,
        JobStatus::Queued,
        JobStatus::Claimed,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Canceling,
        JobStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::New => "NEW",
            JobStatus::Queued => "QUEUED",
            JobStatus::Claimed => "CLAIMED",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
            JobStatus::Canceling => "CANCELING",
            JobStatus::Canceled => "CANCELED",
        }
    }
    pub fn finished(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled
        )
    }
    /// The value [`as_str`](Self::as_str) names (read models store it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|j| j.as_str() == s)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
/// What its commands, and the check of a job token, decide on: where the
/// job is, the hash of the token of its claim, when it finished, and the
/// outputs gathered so far (`JobSucceeded`/`JobFailed` carry them all).
pub struct Job {
    status: JobStatus,
    token_sha256: Option<String>,
    finished_at: Option<DateTime<Utc>>,
    outputs: IndexMap<String, serde_json::Value>,
    /// The cancellation its executor was asked for (grace seconds), while
    /// it is canceling.
    #[serde(default)]
    cancel_grace_seconds: Option<u32>,
    /// Canceled without waiting for the executor: its reports are refused.
    #[serde(default)]
    force_canceled: bool,
}

impl Job {
    pub fn status(&self) -> JobStatus {
        self.status
    }
    /// The SHA-256 (hex) of the job token its claim handed out.
    pub fn token_sha256(&self) -> Option<&str> {
        self.token_sha256.as_deref()
    }
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.finished_at
    }
    /// The grace period of the cancellation its executor was asked for,
    /// while the job is CANCELING.
    pub fn cancel_requested(&self) -> Option<u32> {
        self.cancel_grace_seconds
            .filter(|_| self.status == JobStatus::Canceling)
    }
    /// Canceled without waiting for its executor (`force`).
    pub fn force_canceled(&self) -> bool {
        self.force_canceled
    }

    /// The job as its events leave it (read from the log, so never behind
    /// it); `None` when it has no events.
    pub async fn load<'e>(
        db: impl sqlx::PgExecutor<'e>,
        id: &str,
    ) -> Result<Option<Job>, crate::error::LogError> {
        let events = crate::log::read_aggregate(db, <Job as Aggregate>::TYPE, id).await?;
        Job::fold(&events)
    }

    /// The job as `events` (all of its events, in order) leave it; `None`
    /// when there are none.
    pub fn fold(
        events: &[crate::log::RecordedEvent],
    ) -> Result<Option<Job>, crate::error::LogError> {
        if events.is_empty() {
            return Ok(None);
        }
        let mut job = Job::default();
        for e in events {
            job.apply(Stored(e.decode::<JobEvent>()?));
        }
        Ok(Some(job))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub enum JobCommand {
    /// Idempotent: queueing a job that exists changes nothing.
    QueueJob {
        pipeline_id: String,
        project_id: String,
        node_path: String,
        spec: JobSpec,
    },
    /// Exactly one claim of a queued job succeeds.
    ClaimJob {
        agent_id: String,
        session_id: String,
        /// The hash of the job token the claimer receives.
        token_sha256: String,
    },
    /// The executor runs the job. `deadline_seconds`: from now, when the
    /// job is failed if it has not ended (a timer).
    StartJob {
        #[serde(default)]
        deadline_seconds: Option<u32>,
    },
    RecordActionOutputs {
        action: String,
        outputs: serde_json::Value,
    },
    SucceedJob,
    FailJob {
        message: String,
    },
    /// Stops the job: a queued one is canceled at once; a claimed or
    /// running one's executor is asked to stop (`grace_seconds` between
    /// SIGTERM and SIGKILL), or with `force` the job is canceled at once
    /// and its executor's reports refused. Idempotent once it has ended.
    CancelJob {
        force: bool,
        grace_seconds: u32,
        reason: String,
    },
    /// The executor reports that it stopped the job it was asked to.
    ConfirmCanceled {
        message: String,
    },
}
command_name!(JobCommand {
    QueueJob,
    ClaimJob,
    StartJob,
    RecordActionOutputs,
    SucceedJob,
    FailJob,
    CancelJob,
    ConfirmCanceled
});

impl Aggregate for Job {
    const TYPE: &'static str = aggregate::JOB;
    type Command = JobCommand;
    type Event = Stored<JobEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let now = services.now();
        let e = match command {
            JobCommand::QueueJob {
                pipeline_id,
                project_id,
                node_path,
                spec,
            } => {
                if self.status != JobStatus::New {
                    return Ok(());
                }
                JobEvent::JobQueued {
                    pipeline_id,
                    project_id,
                    node_path,
                    spec,
                    queued_at: now,
                }
            }
            JobCommand::ClaimJob {
                agent_id,
                session_id,
                token_sha256,
            } => {
                match self.status {
                    JobStatus::Queued => {}
                    JobStatus::New => return Err(DomainError::NotFound("this job".into())),
                    _ => {
                        return Err(DomainError::Conflict(
                            "the job was already claimed by another agent".into(),
                        ))
                    }
                }
                JobEvent::JobClaimed {
                    agent_id,
                    session_id,
                    claimed_at: now,
                    token_sha256: Some(token_sha256),
                }
            }
            JobCommand::StartJob { deadline_seconds } => match self.status {
                JobStatus::Claimed => JobEvent::JobStarted {
                    started_at: now,
                    deadline: deadline_seconds
                        .map(|s| now + chrono::Duration::seconds(i64::from(s))),
                },
                // Asked to stop before it said it runs: it stops soon.
                JobStatus::Running | JobStatus::Canceling => return Ok(()),
                s => return Err(self.wrong_state("start", s)),
            },
            JobCommand::RecordActionOutputs { action, outputs } => {
                if !matches!(
                    self.status,
                    JobStatus::Claimed | JobStatus::Running | JobStatus::Canceling
                ) {
                    return Err(self.wrong_state("record outputs of", self.status));
                }
                JobEvent::ActionOutputsRecorded { action, outputs }
            }
            // A repeated final report (an executor retrying after a lost
            // answer) is accepted and changes nothing.
            JobCommand::SucceedJob if self.status == JobStatus::Succeeded => return Ok(()),
            JobCommand::FailJob { .. } if self.status == JobStatus::Failed => return Ok(()),
            JobCommand::SucceedJob => {
                if self.status.finished()
                    || self.status == JobStatus::New
                    || self.status == JobStatus::Queued
                {
                    return Err(self.wrong_state("finish", self.status));
                }
                JobEvent::JobSucceeded {
                    outputs: self.outputs.clone(),
                    finished_at: now,
                }
            }
            JobCommand::FailJob { message } => {
                if self.status.finished() || self.status == JobStatus::New {
                    return Err(self.wrong_state("fail", self.status));
                }
                JobEvent::JobFailed {
                    message,
                    outputs: self.outputs.clone(),
                    finished_at: now,
                }
            }
            JobCommand::CancelJob {
                force,
                grace_seconds,
                reason,
            } => match self.status {
                JobStatus::New => return Err(DomainError::NotFound("this job".into())),
                s if s.finished() => return Ok(()),
                JobStatus::Canceling if !force => return Ok(()),
                // Nothing runs it yet: nothing to wait for.
                JobStatus::Queued => JobEvent::JobCanceled {
                    message: reason,
                    outputs: self.outputs.clone(),
                    forced: false,
                    finished_at: now,
                },
                _ if force => JobEvent::JobCanceled {
                    message: reason,
                    outputs: self.outputs.clone(),
                    forced: true,
                    finished_at: now,
                },
                _ => JobEvent::JobCancelRequested {
                    reason,
                    grace_seconds,
                    confirm_by: now
                        + chrono::Duration::seconds(
                            i64::from(grace_seconds) + CANCEL_CONFIRM_SLACK_SECONDS,
                        ),
                    requested_at: now,
                },
            },
            JobCommand::ConfirmCanceled { message } => match self.status {
                JobStatus::Canceling => JobEvent::JobCanceled {
                    message,
                    outputs: self.outputs.clone(),
                    forced: false,
                    finished_at: now,
                },
                JobStatus::Canceled => return Ok(()),
                s => {
                    return Err(DomainError::Conflict(format!(
                        "the job is {}; only a job asked to cancel can report CANCELED",
                        s.as_str()
                    )))
                }
            },
        };
        sink.write(Stored(e), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            JobEvent::JobQueued { .. } => self.status = JobStatus::Queued,
            JobEvent::JobClaimed { token_sha256, .. } => {
                self.status = JobStatus::Claimed;
                self.token_sha256 = token_sha256;
            }
            JobEvent::JobStarted { .. } => self.status = JobStatus::Running,
            JobEvent::ActionOutputsRecorded { action, outputs } => {
                self.outputs.insert(action, outputs);
            }
            JobEvent::JobSucceeded { finished_at, .. } => {
                self.status = JobStatus::Succeeded;
                self.finished_at = Some(finished_at);
            }
            JobEvent::JobFailed { finished_at, .. } => {
                self.status = JobStatus::Failed;
                self.finished_at = Some(finished_at);
            }
            JobEvent::JobCancelRequested { grace_seconds, .. } => {
                self.status = JobStatus::Canceling;
                self.cancel_grace_seconds = Some(grace_seconds);
            }
            JobEvent::JobCanceled {
                forced,
                finished_at,
                ..
            } => {
                self.status = JobStatus::Canceled;
                self.finished_at = Some(finished_at);
                self.force_canceled = forced;
            }
        }
    }
}

impl Job {
    fn wrong_state(&self, what: &str, s: JobStatus) -> DomainError {
        DomainError::Conflict(format!("cannot {what} a job that is {}", s.as_str()))
    }
}
