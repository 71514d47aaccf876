//! /workflows/{id}/runs: the run history of a workflow (each action's status, attempts,
//! timestamps, error and output), and retrying one failed action under the same idempotency key.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::State;
use super::workflows::{check_limit, default_limit, workflow_id};
use crate::auth::{Admin, Caller};
use crate::body::{ApiJson, ApiQuery};
use crate::problem::ApiError;
use crm_model::ports::PageRequest;
use crm_model::run::RunRecord;
use crm_model::run::service::RunError;
use crm_model::user::access::Access;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    #[serde(default = "default_limit")]
    limit: u32,
    cursor: Option<String>,
}

/// What the caller's role reaches, as the tenant's settings say.
async fn access_of(state: &State, caller: &Caller) -> Result<Access, ApiError> {
    let (settings, users) = (state.settings.as_ref(), state.users.as_ref());
    Ok(Access::of_user(settings, users, &caller.tenant, &caller.stored).await?)
}

#[derive(Serialize)]
struct RunsView {
    items: Vec<RunRecord>,
    next_cursor: Option<String>,
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn history(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    check_limit(query.limit)?;
    let workflow = workflow_id(&id)?;
    // The workflow must be the caller's: another tenant's id is simply not found.
    state.use_cases().get(&caller.tenant, &workflow).await?;
    let page = PageRequest {
        limit: query.limit,
        cursor: query.cursor,
    };
    let access = access_of(&state, &caller).await?;
    let found = state
        .run_use_cases()
        .of_workflow(&caller.tenant, &access, &workflow, &page)
        .await?;
    Ok(Json(RunsView {
        items: found.items,
        next_cursor: found.next,
    })
    .into_response())
}

/// Every automation run on one record, across workflows (its activity history's automation part).
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn record_history(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    check_limit(query.limit)?;
    let record = crm_model::ids::RecordId::new(id.as_str())
        .map_err(|_| ApiError::from(RunError::RecordNotFound))?;
    let page = PageRequest {
        limit: query.limit,
        cursor: query.cursor,
    };
    let policies = state
        .settings
        .tenant_settings(&caller.tenant)
        .await?
        .value
        .access;
    let access = Access::resolve(
        &policies,
        state.users.as_ref(),
        &caller.tenant,
        &caller.stored,
    )
    .await?;
    let found = state
        .run_use_cases()
        .of_record(&caller.tenant, &access, &record, &page)
        .await?;
    Ok(Json(RunsView {
        items: found.items,
        next_cursor: found.next,
    })
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetryBody {
    /// The run's idempotency key, as the history shows it.
    key: String,
}

/// The tenant's runs the queue gave up on, latest first, each with its reason: retried one by
/// one through `POST /workflows/{id}/runs/retry`. Administrators only.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn dead_letters(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    check_limit(query.limit)?;
    let page = PageRequest {
        limit: query.limit,
        cursor: query.cursor,
    };
    let found = state
        .run_use_cases()
        .dead_letters(&caller.tenant, &page)
        .await?;
    Ok(Json(RunsView {
        items: found.items,
        next_cursor: found.next,
    })
    .into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn retry(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RetryBody>,
) -> Result<Response, ApiError> {
    let workflow = workflow_id(&id)?;
    let retrying = state
        .run_use_cases()
        .retry(&caller.tenant, &workflow, &body.key)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(retrying)).into_response())
}
