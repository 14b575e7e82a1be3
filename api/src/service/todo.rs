//! The caller's to-do items (`me.todoItems`): approvals it can give, manual
//! nodes it can start, and releases it takes part in that are due within
//! [`DUE_SOON`] or overdue. Whether it can approve or start is asked of the
//! abilities service ([`App::viewer_can_node`]), the rule its mutation
//! keeps, so the list holds nothing the caller's click would be refused.

use std::collections::hash_map::{Entry, HashMap};

use phobos_core::access::MemberKind;
use phobos_projections::queries;
use phobos_projections::releases::ReleaseRow;
use phobos_projections::todo::{self, Visible};
use uuid::Uuid;

use super::{App, NodeAction, PipelineAbilities, ServiceError};
use crate::auth::{Claims, TokenKind};

/// How near a due date makes a release a to-do item: the UI's "due soon".
pub const DUE_SOON: chrono::Duration = chrono::Duration::days(3);

/// How many waiting nodes or due releases are looked at, at most, for one
/// list (the items are some of them).
const CANDIDATES: i64 = 500;

/// What the caller has to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TodoKind {
    /// A node waits for an approval the caller can give.
    Approve,
    /// A manual node the caller can start.
    Start,
    /// A release the caller takes part in is due soon or overdue.
    ReleaseDue,
}

/// One to-do item.
#[derive(Debug, Clone)]
pub struct TodoItem {
    pub kind: TodoKind,
    pub pipeline_id: Uuid,
    /// The node, for `Approve` and `Start`.
    pub node_path: Option<String>,
    /// The release, for `ReleaseDue`.
    pub release: Option<ReleaseRow>,
}

impl App {
    /// At most `first` of the caller's to-do items: nodes first (newest
    /// pipeline first), then releases (earliest due first).
    #[tracing::instrument(skip_all)]
    pub async fn todo_items(
        &self,
        claims: &Claims,
        first: usize,
    ) -> Result<Vec<TodoItem>, ServiceError> {
        self.user(claims)?;
        let scopes = self.subject(claims).await?.visible_scopes();
        let (orgs, projects) = scopes.clone().unwrap_or_default();
        let visible = Visible {
            all: scopes.is_none(),
            organizations: &orgs,
            projects: &projects,
        };
        let mut items = Vec::new();
        let mut loaded: HashMap<Uuid, Option<PipelineAbilities>> = HashMap::new();
        for n in todo::waiting_nodes(&self.pool, visible, CANDIDATES).await? {
            if items.len() >= first {
                return Ok(items);
            }
            let (action, kind) = match n.status.as_str() {
                "APPROVAL_PENDING" => (NodeAction::Approve, TodoKind::Approve),
                _ => (NodeAction::Start, TodoKind::Start),
            };
            let abilities = match loaded.entry(n.pipeline_id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let row = queries::pipeline(&self.pool, n.pipeline_id).await?;
                    e.insert(match row {
                        Some(row) => Some(self.pipeline_abilities(row).await?),
                        None => None,
                    })
                }
            };
            let Some(abilities) = abilities else {
                continue;
            };
            if self
                .viewer_can_node(claims, abilities, &n.path, action)
                .await
            {
                items.push(TodoItem {
                    kind,
                    pipeline_id: n.pipeline_id,
                    node_path: Some(n.path),
                    release: None,
                });
            }
        }
        let me = Participant::of(self, claims).await?;
        let due_before = self.bus.now() + DUE_SOON;
        for r in todo::releases_due(&self.pool, visible, due_before, CANDIDATES).await? {
            if items.len() >= first {
                break;
            }
            if me.takes_part_in(&r) {
                items.push(TodoItem {
                    kind: TodoKind::ReleaseDue,
                    pipeline_id: r.pipeline_id,
                    node_path: None,
                    release: Some(r),
                });
            }
        }
        Ok(items)
    }
}

/// The caller as a release names the people who take part in it.
struct Participant {
    actor: String,
    kind: MemberKind,
    name: String,
    teams: Vec<String>,
}

impl Participant {
    async fn of(app: &App, claims: &Claims) -> Result<Participant, ServiceError> {
        let (kind, teams) = match claims.kind {
            TokenKind::User => {
                let teams = match app.me(claims).await? {
                    Some(u) => phobos_projections::identity::teams_of(&app.pool, u.id)
                        .await?
                        .into_iter()
                        .map(|t| t.name)
                        .collect(),
                    None => Vec::new(),
                };
                (MemberKind::User, teams)
            }
            _ => (MemberKind::ServiceAccount, Vec::new()),
        };
        Ok(Participant {
            actor: claims.actor().to_string(),
            kind,
            name: claims.sub.clone(),
            teams,
        })
    }

    /// It created the release, or is one of its participants (itself or
    /// through a team).
    fn takes_part_in(&self, r: &ReleaseRow) -> bool {
        r.created_by == self.actor
            || r.participants.iter().any(|m| {
                (m.kind == self.kind && m.name == self.name)
                    || (m.kind == MemberKind::Team && self.teams.contains(&m.name))
            })
    }
}
