//! The `viewerCan…` fields: [`crate::service::PipelineAbilities`] loaded
//! once per pipeline per request (the memo `http.rs` gives each request),
//! then asked per node.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Result};
use phobos_projections::queries;
use uuid::Uuid;

use super::{app, authed, gql_err};
use crate::service::{NodeAction, PipelineAbilities};

/// A request's loaded pipelines.
#[derive(Default)]
pub struct AbilitiesMemo(tokio::sync::Mutex<HashMap<Uuid, Arc<PipelineAbilities>>>);

async fn abilities(ctx: &Context<'_>, pipeline: Uuid) -> Result<Option<Arc<PipelineAbilities>>> {
    let memo = ctx.data_opt::<AbilitiesMemo>();
    let mut held = match memo {
        Some(m) => Some(m.0.lock().await),
        None => None,
    };
    if let Some(hit) = held.as_ref().and_then(|m| m.get(&pipeline)) {
        return Ok(Some(hit.clone()));
    }
    let app = app(ctx);
    let Some(row) = queries::pipeline(&app.pool, pipeline)
        .await
        .map_err(gql_err)?
    else {
        return Ok(None);
    };
    let loaded = Arc::new(app.pipeline_abilities(row).await.map_err(gql_err)?);
    if let Some(m) = held.as_mut() {
        m.insert(pipeline, loaded.clone());
    }
    Ok(Some(loaded))
}

/// Whether the caller could do `action` to the node at `path` now.
pub(crate) async fn node(
    ctx: &Context<'_>,
    pipeline: Uuid,
    path: &str,
    action: NodeAction,
) -> Result<bool> {
    let claims = authed(ctx)?;
    Ok(match abilities(ctx, pipeline).await? {
        Some(a) => app(ctx).viewer_can_node(claims, &a, path, action).await,
        None => false,
    })
}

/// Whether the caller could cancel the pipeline now.
pub(crate) async fn cancel_pipeline(ctx: &Context<'_>, pipeline: Uuid) -> Result<bool> {
    let claims = authed(ctx)?;
    Ok(match abilities(ctx, pipeline).await? {
        Some(a) => app(ctx).viewer_can_cancel_pipeline(claims, &a).await,
        None => false,
    })
}

/// Whether the caller's mutation of `action` in `scope` would pass its
/// authorization.
pub(crate) async fn in_scope(
    ctx: &Context<'_>,
    scope: crate::authz::Scope,
    action: crate::service::ScopeAction,
) -> Result<bool> {
    let claims = authed(ctx)?;
    Ok(app(ctx).viewer_can_in(claims, scope, action).await)
}
