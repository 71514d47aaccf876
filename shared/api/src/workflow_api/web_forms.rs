//! POST /settings/web-forms/{id}/key: a web form's key, made here and shown once. The form
//! keeps only its hash; a new key stops the previous one.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::State;
use crate::auth::Admin;
use crate::body::{etag, if_match};
use crate::problem::ApiError;
use crm_model::ids::SettingId;
use crm_model::settings::service::SettingError;
use crm_model::settings::web_form::FormKey;

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, setting = %id))]
pub(super) async fn issue_key(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = SettingId::new(id).map_err(|_| ApiError::from(SettingError::NotFound))?;
    // Two random UUIDs: 244 random bits.
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let saved = state
        .settings_use_cases()
        .issue_form_key(&caller.tenant, &id, &secret, if_match(&headers)?)
        .await?;
    tracing::info!("web form key issued");
    let key = FormKey::text(&caller.tenant, &id, &secret);
    let body = serde_json::json!({
        "id": id,
        "revision": saved.revision,
        "key": key,
        "intake_path": format!("/intake/{key}"),
    });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(saved.revision));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
