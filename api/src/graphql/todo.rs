//! `me.todoItems`: the caller's to-do items ([`crate::service::TodoItem`]).

use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};

use super::releases::Release;
use super::types::{Pipeline, PipelineNode};
use super::{app, authed, gql_err};
use crate::service::{Code, ServiceError, TodoItem as Item, TodoKind};

/// What a to-do item asks of the caller.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TodoItemKind {
    /// A node waits for an approval the caller can give.
    Approve,
    /// A manual node (`when = "manual"`) the caller can start.
    Start,
    /// A release the caller created or takes part in is due within three
    /// days, or overdue, and its lifecycle has not completed.
    ReleaseDue,
}

impl From<TodoKind> for TodoItemKind {
    fn from(k: TodoKind) -> Self {
        match k {
            TodoKind::Approve => TodoItemKind::Approve,
            TodoKind::Start => TodoItemKind::Start,
            TodoKind::ReleaseDue => TodoItemKind::ReleaseDue,
        }
    }
}

/// Something the caller has to do.
pub struct TodoItem(pub Item);

/// Something the caller has to do: approve or start a node, or see a
/// release through before its due date.
#[Object]
impl TodoItem {
    /// What it asks.
    async fn kind(&self) -> TodoItemKind {
        self.0.kind.into()
    }
    /// The pipeline it is in (for a release: its lifecycle pipeline).
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Option<Pipeline>> {
        let claims = authed(ctx)?;
        Ok(app(ctx)
            .pipeline(claims, self.0.pipeline_id)
            .await
            .map_err(gql_err)?
            .map(|(p, proj)| Pipeline(p, proj)))
    }
    /// The node to approve or start (null for a release).
    async fn node(&self, ctx: &Context<'_>) -> Result<Option<PipelineNode>> {
        use super::loaders::{failed, reads, NodeByPath};
        authed(ctx)?;
        let Some(path) = &self.0.node_path else {
            return Ok(None);
        };
        Ok(reads(ctx)
            .load_one(NodeByPath(self.0.pipeline_id, path.clone()))
            .await
            .map_err(failed)?
            .map(PipelineNode))
    }
    /// The release that is due (null for a node).
    async fn release(&self, ctx: &Context<'_>) -> Result<Option<Release>> {
        let claims = authed(ctx)?;
        let Some(r) = &self.0.release else {
            return Ok(None);
        };
        Ok(app(ctx)
            .project(claims, r.project_id)
            .await
            .map_err(gql_err)?
            .map(|p| Release(r.clone(), p)))
    }
    /// The release's due date (null for a node).
    async fn due_date(&self) -> Option<DateTime<Utc>> {
        self.0.release.as_ref().and_then(|r| r.due_date)
    }
}

/// The to-do items of the principal `is_caller` says whether it is: only
/// the caller's own are readable.
pub(crate) async fn of(
    ctx: &Context<'_>,
    is_caller: bool,
    first: Option<i32>,
) -> Result<Vec<TodoItem>> {
    let claims = authed(ctx)?;
    if !is_caller {
        return Err(gql_err(ServiceError::new(
            Code::Forbidden,
            "todoItems: only the caller's own to-do items can be read: ask for `me { todoItems }`",
        )));
    }
    let first = first.unwrap_or(50).clamp(0, 500) as usize;
    Ok(app(ctx)
        .todo_items(claims, first)
        .await
        .map_err(gql_err)?
        .into_iter()
        .map(TodoItem)
        .collect())
}
