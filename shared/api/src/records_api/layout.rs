//! The customer page as each user lays it out: GET/PUT /me/customer-page (the summary card's
//! fields, the related lists and their columns; saved with the ETag read), and
//! GET /customers/{id}/view, the customer's related lists as that layout shows them.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::views::record_id;
use super::{State, actor};
use crate::auth::Caller;
use crate::body::{ApiJson, etag, from_value_documented, if_match};
use crate::problem::ApiError;
use crm_model::store::Revisioned;
use crm_model::user::preferences::CustomerPageLayout;

fn with_etag(saved: Revisioned<CustomerPageLayout>) -> Response {
    let mut response = Json(saved.value).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(saved.revision));
    response
}

/// The caller's layout, the default until they save one (ETag "0").
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn get_layout(
    AxumState(state): AxumState<State>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let layout = state
        .use_cases()
        .layout(&actor(&state, &caller).await?)
        .await?;
    Ok(with_etag(layout))
}

/// Saves the caller's layout over the one read (If-Match: its ETag, "0" for the default).
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn put_layout(
    AxumState(state): AxumState<State>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    // A caller who is no member is told so before anything about the request.
    let actor = actor(&state, &caller).await?;
    let expected = if_match(&headers)?.ok_or(ApiError::PreconditionRequired)?;
    let layout: CustomerPageLayout = from_value_documented(body, "CustomerPageLayout")?;
    let saved = state
        .use_cases()
        .save_layout(&actor, &layout, expected)
        .await?;
    Ok(with_etag(saved))
}

/// The customer's summary fields and related lists as the caller's layout shows them.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn view(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = state
        .use_cases()
        .customer_view(&actor(&state, &caller).await?, &record_id(&id)?)
        .await?;
    Ok(Json(view).into_response())
}
