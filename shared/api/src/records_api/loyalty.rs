//! /customers/{id}/loyalty: a customer's points, what was redeemed and the ledger; and
//! redeeming points against one of its orders, once per client key.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::views::record_id;
use super::{State, actor};
use crate::auth::Caller;
use crate::body::{ApiJson, from_value_documented};
use crate::problem::ApiError;
use crm_model::record::service::RedeemRequest;

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn balance(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let balance = state
        .use_cases()
        .loyalty(&actor(&state, &caller).await?, &record_id(&id)?)
        .await?;
    Ok(Json(balance).into_response())
}

/// 201 with the redemption made; 200 with the one a repeated key made before.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn redeem(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let customer = record_id(&id)?;
    let request: RedeemRequest = from_value_documented(body, "RedemptionRequest")?;
    let done = state
        .use_cases()
        .redeem(&actor(&state, &caller).await?, &customer, &request)
        .await?;
    let status = if done.replayed {
        StatusCode::OK
    } else {
        tracing::info!(points = done.redemption.points, "loyalty points redeemed");
        StatusCode::CREATED
    };
    Ok((status, Json(json!({ "redemption": done.redemption }))).into_response())
}
