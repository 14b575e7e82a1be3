//! The notifications follower: events → outbox rows.
//!
//! It reads the read models (pipelines, releases, users, teams), so it
//! handles a batch only once the projector has passed it. Rows are keyed by
//! (event id, recipient) and inserted with `ON CONFLICT DO NOTHING` in the
//! follower's checkpoint transaction: a batch applied twice (two instances,
//! or a crash before the commit) writes each row once.

use std::collections::BTreeMap;

use phobos_commands::error::LogError;
use phobos_commands::log::{Position, RecordedEvent};
use phobos_commands::subscription::Handler;
use phobos_core::access::{Member, MemberKind};
use phobos_core::events::{aggregate, ApprovalRuleSnapshot, PipelineEvent};
use sqlx::{PgConnection, PgPool, Row};
use tokio::sync::watch;
use tracing::Instrument;

use super::render::{pipeline_link, release_link, render, Rendered};
use super::Kind;

pub const NOTIFICATION_SUBSCRIPTION: &str = "notifications";

/// Writes the outbox rows of each event.
pub struct Notifier {
    ui_url: String,
    footer: Option<String>,
    projected: watch::Receiver<Position>,
}

impl Notifier {
    pub fn new(ui_url: &str, footer: Option<String>, projected: watch::Receiver<Position>) -> Self {
        Notifier {
            ui_url: ui_url.to_owned(),
            footer,
            projected,
        }
    }
}

/// Starts the follower at the log's head rather than its beginning: a
/// server that turns email on does not mail the past. With email off
/// (`enabled` false) the checkpoint follows the head, so turning it on
/// later does not mail what happened while it was off either.
pub async fn start_at_head(pool: &PgPool, enabled: bool) -> Result<(), LogError> {
    let head = phobos_commands::log::head(pool).await?;
    let conflict = if enabled {
        "DO NOTHING"
    } else {
        "DO UPDATE SET tx_id = EXCLUDED.tx_id, global_position = EXCLUDED.global_position, updated_at = now()"
    };
    sqlx::query(&format!(
        "INSERT INTO subscription_checkpoints (name, tx_id, global_position) VALUES ($1, $2::text::xid8, $3)
         ON CONFLICT (name) {conflict}"
    ))
    .bind(NOTIFICATION_SUBSCRIPTION)
    .bind(head.tx_id.to_string())
    .bind(head.global_position)
    .execute(pool)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Handler for Notifier {
    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), LogError> {
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(());
        };
        // The read models must show these events first.
        self.projected
            .wait_for(|p| *p >= last)
            .await
            .map_err(|_| LogError::Handler("the projector stopped".into()))?;
        for ev in events {
            let span = tracing::info_span!("notify", otel.name = tracing::field::Empty, event = %ev.event_type, position = %ev.position);
            phobos_telemetry::name(&span, || format!("notify {}", ev.event_type));
            ev.continue_trace(&span);
            self.on_event(tx, ev).instrument(span).await?;
        }
        Ok(())
    }
}

/// With email off: follows the log and writes nothing, so the checkpoint
/// keeps up and turning email on later mails nothing of this time.
pub struct Discard;

#[async_trait::async_trait]
impl Handler for Discard {
    async fn handle(&mut self, _: &mut PgConnection, _: &[RecordedEvent]) -> Result<(), LogError> {
        Ok(())
    }
}

/// A pipeline as the read models show it.
struct PipelineRow {
    created_by: String,
    pipeline_type: String,
    nested: bool,
    organization: String,
    project: String,
}

impl Notifier {
    async fn on_event(&self, tx: &mut PgConnection, ev: &RecordedEvent) -> Result<(), LogError> {
        if ev.aggregate_type != aggregate::PIPELINE {
            return Ok(());
        }
        if !matches!(
            ev.event_type.as_str(),
            "NodeApprovalRulesFixed" | "PipelineFailed" | "PipelineSucceeded"
        ) {
            return Ok(());
        }
        let event: PipelineEvent = ev.decode()?;
        let pipeline_id = ev.aggregate_id.as_str();
        let Some(p) = pipeline(tx, pipeline_id).await? else {
            tracing::warn!(
                pipeline = pipeline_id,
                "no read model for the pipeline; nothing is sent"
            );
            return Ok(());
        };
        let at = format!("{}/{}", p.organization, p.project);
        match event {
            PipelineEvent::NodeApprovalRulesFixed { path, rules, .. } => {
                let creator = p.created_by.strip_prefix("user:");
                let mut recipients =
                    principals(tx, rules.iter().flat_map(|r| &r.principals)).await?;
                if !self_approval_allowed(&rules) {
                    if let Some(creator) = creator {
                        recipients.remove(creator);
                    }
                }
                let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
                let mail = render(
                    format!("Approval requested: {path} in {at}"),
                    &[
                        format!(
                            "The node {path} of pipeline {pipeline_id} in {at} waits for approval."
                        ),
                        format!("Approval rules: {}.", names.join(", ")),
                    ],
                    pipeline_link(&self.ui_url, pipeline_id, Some(&path)),
                    self.footer.as_deref(),
                );
                self.insert(tx, ev, Kind::ApprovalRequested, &recipients, &mail)
                    .await
            }
            PipelineEvent::PipelineFailed { .. } | PipelineEvent::PipelineSucceeded { .. }
                if p.pipeline_type == "RELEASE_LIFECYCLE" =>
            {
                let Some((release_id, version, created_by, participants)) =
                    release(tx, pipeline_id).await?
                else {
                    return Ok(());
                };
                let mut members = participants;
                if let Some(name) = created_by.strip_prefix("user:") {
                    members.push(Member {
                        kind: MemberKind::User,
                        id: String::new(),
                        name: name.to_owned(),
                    });
                }
                let recipients = principals(tx, members.iter()).await?;
                let (kind, subject, line) = if let PipelineEvent::PipelineFailed {
                    reason, ..
                } = &event
                {
                    (
                        Kind::ReleaseFailed,
                        format!("Release {version} of {at} failed"),
                        format!("Release {version} of {at} failed: {reason}"),
                    )
                } else {
                    (
                        Kind::ReleaseCompleted,
                        format!("Release {version} of {at} completed"),
                        format!("Release {version} of {at} completed: every stage of its lifecycle succeeded."),
                    )
                };
                let mail = render(
                    subject,
                    &[line],
                    release_link(&self.ui_url, &release_id),
                    self.footer.as_deref(),
                );
                self.insert(tx, ev, kind, &recipients, &mail).await
            }
            PipelineEvent::PipelineFailed { reason, .. }
                if p.pipeline_type == "RUNBOOK" && !p.nested =>
            {
                let Some(creator) = p.created_by.strip_prefix("user:") else {
                    return Ok(());
                };
                let recipients = principals(
                    tx,
                    [Member {
                        kind: MemberKind::User,
                        id: String::new(),
                        name: creator.to_owned(),
                    }]
                    .iter(),
                )
                .await?;
                let mail = render(
                    format!("Pipeline failed in {at}"),
                    &[format!("Pipeline {pipeline_id} in {at} failed: {reason}")],
                    pipeline_link(&self.ui_url, pipeline_id, None),
                    self.footer.as_deref(),
                );
                self.insert(tx, ev, Kind::PipelineFailed, &recipients, &mail)
                    .await
            }
            _ => Ok(()),
        }
    }

    async fn insert(
        &self,
        tx: &mut PgConnection,
        ev: &RecordedEvent,
        kind: Kind,
        recipients: &BTreeMap<String, String>,
        mail: &Rendered,
    ) -> Result<(), LogError> {
        for (username, email) in recipients {
            let key = format!("{}/{email}", ev.event_id);
            let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes());
            sqlx::query(
                "INSERT INTO notifications (id, key, kind, recipient, username, subject, text_body, html_body, link, status, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'PENDING', $10, $10)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(id)
            .bind(&key)
            .bind(kind.as_str())
            .bind(email)
            .bind(username)
            .bind(&mail.subject)
            .bind(&mail.text)
            .bind(&mail.html)
            .bind(&mail.link)
            .bind(ev.recorded_at)
            .execute(&mut *tx)
            .await?;
            tracing::debug!(kind = kind.as_str(), %username, "notification queued");
        }
        Ok(())
    }
}

/// Whether some rule lets the pipeline's creator approve.
fn self_approval_allowed(rules: &[ApprovalRuleSnapshot]) -> bool {
    rules.iter().any(|r| r.allow_self_approval)
}

async fn pipeline(tx: &mut PgConnection, id: &str) -> Result<Option<PipelineRow>, LogError> {
    let row = sqlx::query(
        "SELECT p.created_by, p.pipeline_type, p.parent_pipeline_id IS NOT NULL AS nested,
                pr.organization_name, pr.name AS project_name
           FROM pipelines p JOIN projects pr ON pr.id = p.project_id
          WHERE p.id::text = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    row.map(|r| {
        Ok(PipelineRow {
            created_by: r.try_get("created_by")?,
            pipeline_type: r.try_get("pipeline_type")?,
            nested: r.try_get("nested")?,
            organization: r.try_get("organization_name")?,
            project: r.try_get("project_name")?,
        })
    })
    .transpose()
    .map_err(|e: sqlx::Error| LogError::Database(e))
}

/// The release whose lifecycle pipeline is `pipeline_id`: id, version,
/// creator and participants.
async fn release(
    tx: &mut PgConnection,
    pipeline_id: &str,
) -> Result<Option<(String, String, String, Vec<Member>)>, LogError> {
    let row = sqlx::query(
        "SELECT id::text AS id, semantic_version, created_by, participants FROM releases WHERE pipeline_id::text = $1",
    )
    .bind(pipeline_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let participants: serde_json::Value = r.try_get("participants")?;
    let participants: Vec<Member> = serde_json::from_value(participants)
        .map_err(|e| LogError::Handler(format!("release participants do not decode: {e}")))?;
    Ok(Some((
        r.try_get("id")?,
        r.try_get("semantic_version")?,
        r.try_get("created_by")?,
        participants,
    )))
}

/// The users `members` name, directly or as members of their teams, who
/// have an email address: username → address.
async fn principals<'a>(
    tx: &mut PgConnection,
    members: impl Iterator<Item = &'a Member>,
) -> Result<BTreeMap<String, String>, LogError> {
    let (mut users, mut teams) = (Vec::new(), Vec::new());
    for m in members {
        match m.kind {
            MemberKind::User => users.push(m.name.clone()),
            MemberKind::Team => teams.push(m.id.clone()),
            MemberKind::ServiceAccount => {}
        }
    }
    let rows = sqlx::query(
        "SELECT username, email FROM users WHERE username = ANY($1)
         UNION
         SELECT u.username, u.email FROM team_members tm JOIN users u ON u.id = tm.user_id
          WHERE tm.team_id::text = ANY($2)",
    )
    .bind(&users)
    .bind(&teams)
    .fetch_all(&mut *tx)
    .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let email: Option<String> = r.try_get("email")?;
        if let Some(email) = email.filter(|e| e.contains('@')) {
            out.insert(r.try_get("username")?, email);
        }
    }
    Ok(out)
}
