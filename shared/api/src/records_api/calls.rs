//! Calls through the tenant's VOIP switchboard: POST /customers/{id}/calls places one for the
//! caller (once per client key); POST /voip/{endpoint}/events takes the switchboard's call
//! events, with no login: the endpoint names the tenant and switchboard, trusted only once the
//! body's HMAC signature matches the switchboard's own secret key.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::views::{record_id, respond};
use super::{State, actor};
use crate::auth::Caller;
use crate::body::{ApiJson, from_value_documented};
use crate::problem::ApiError;
use crm_model::record::service::{CallEventError, CallRequest, MAX_CALL_EVENT_BYTES};

/// 201 with the call placed (or refused by the switchboard: Status Failed); 200 with the one a
/// repeated key placed before.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn call(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let customer = record_id(&id)?;
    let request: CallRequest = from_value_documented(body, "CallRequest")?;
    let dialled = state
        .telephony()
        .click_to_call(&actor(&state, &caller).await?, &customer, &request)
        .await?;
    let status = if dialled.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(respond(status, dialled.call))
}

/// The header the switchboard signs its events in: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-crm-signature";

#[tracing::instrument(skip_all)]
pub(super) async fn event(
    AxumState(state): AxumState<State>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if body.len() > MAX_CALL_EVENT_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_CALL_EVENT_BYTES,
        });
    }
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match state
        .telephony()
        .call_event(&endpoint, signature, &body)
        .await
    {
        // Nothing of the call goes back to an unauthenticated caller but its id.
        Ok(id) => Ok((StatusCode::OK, Json(serde_json::json!({ "id": id }))).into_response()),
        // However it fails, a switchboard that is not one, or a signature that does not match,
        // looks the same from outside.
        Err(CallEventError::NotFound | CallEventError::BadSignature) => {
            Err(ApiError::NotFound("no such switchboard".into()))
        }
        Err(CallEventError::Invalid(problems)) => Err(ApiError::Invalid(problems)),
        Err(CallEventError::Store(error)) => Err(error.into()),
    }
}
