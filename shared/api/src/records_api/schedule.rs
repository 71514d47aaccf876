//! /records/{module}/{id}/schedule: what the care workflows will do for a record next.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};

use super::views::{module, record_id};
use super::{State, actor};
use crate::auth::Caller;
use crate::problem::ApiError;
use crm_model::schedule::upcoming::upcoming;

/// The record's coming care occurrences, soonest first, for whoever may read the record.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %raw_module, record = %id))]
pub(super) async fn upcoming_for_record(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    let id = record_id(&id)?;
    // Reading the record first: another tenant's, or one the caller may not see, is not found.
    state
        .use_cases()
        .read(&actor(&state, &caller).await?, module, &id)
        .await?;
    let items = upcoming(
        state.workflows.as_ref(),
        state.schedule.as_ref(),
        &caller.tenant,
        module,
        &id,
    )
    .await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}
