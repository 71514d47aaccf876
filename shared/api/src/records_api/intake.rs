//! POST /intake/{key}: a website's form submission, with no login. The key names the tenant and
//! the form and carries the form's secret; a key that does not open a form is not found, however
//! it fails. A resubmission under the same Idempotency-Key creates nothing twice.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::State;
use super::views::new_record_id;
use crate::body::ApiJson;
use crate::problem::ApiError;
use crm_model::ids::RecordId;
use crm_model::record::service::{IntakeError, RecordError};
use crm_model::settings::web_form::hex_sha256;

/// A submission's largest body: a contact form's few fields.
pub const INTAKE_BODY_LIMIT: usize = 16 * 1024;

/// The record id of a submission sent under `idempotency` to the form `key`.
fn submission_id(key: &str, idempotency: &str) -> RecordId {
    let hex = hex_sha256(&format!("{key}\n{idempotency}"));
    // Hex digits always make a valid id.
    RecordId::new(format!("web-{}", &hex[..32])).unwrap_or_else(|_| unreachable!())
}

#[tracing::instrument(skip_all)]
pub(super) async fn intake(
    AxumState(state): AxumState<State>,
    Path(key): Path<String>,
    headers: HeaderMap,
    ApiJson(fields): ApiJson<Map<String, Value>, INTAKE_BODY_LIMIT>,
) -> Result<Response, ApiError> {
    let id = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => new_record_id(),
        Some(Ok(given)) if !given.trim().is_empty() && given.len() <= 200 => {
            submission_id(&key, given)
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "/headers/Idempotency-Key",
                "1 to 200 characters, not all blank",
            ));
        }
    };
    let created = state.use_cases().intake(&key, &fields, id.clone()).await;
    let status = match created {
        Ok(_) => StatusCode::CREATED,
        // The same submission again: already taken.
        Err(IntakeError::Record(RecordError::Conflict(_))) => StatusCode::OK,
        Err(IntakeError::UnknownForm) => {
            return Err(ApiError::NotFound("no such form".into()));
        }
        Err(IntakeError::Record(error)) => return Err(error.into()),
    };
    // Nothing of the record goes back to an anonymous caller but its id.
    Ok((status, Json(serde_json::json!({ "id": id }))).into_response())
}
