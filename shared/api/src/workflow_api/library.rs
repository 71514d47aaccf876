//! /settings/actions/{id}/workflows and /apply: which workflows attach a library action and
//! which an edit of it would change; applying the edit to them when the administrator confirms.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::State;
use crate::auth::Caller;
use crate::problem::ApiError;
use crm_model::action::SettingKind;
use crm_model::ids::SettingId;

/// Only library actions are attached to workflows.
fn library_id(slug: &str, id: &str) -> Result<SettingId, ApiError> {
    if SettingKind::from_slug(slug) != Some(SettingKind::LibraryAction) {
        return Err(ApiError::NotFound(format!(
            "only library actions ({}) are attached to workflows",
            SettingKind::LibraryAction.slug()
        )));
    }
    SettingId::new(id).map_err(|_| ApiError::NotFound("no such library action".into()))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, setting = %id))]
pub(super) async fn uses(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = library_id(&slug, &id)?;
    let uses = state.use_cases().library_uses(&caller.tenant, &id).await?;
    let would_change = uses.iter().filter(|u| u.would_change).count();
    Ok(Json(json!({"items": uses, "would_change": would_change})).into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, setting = %id))]
pub(super) async fn apply(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let id = library_id(&slug, &id)?;
    let applied = state
        .use_cases()
        .apply_library_action(&caller.tenant, &caller.user, &id)
        .await?;
    tracing::info!(workflows = applied.len(), "library action applied");
    Ok(Json(json!({"items": applied})).into_response())
}
