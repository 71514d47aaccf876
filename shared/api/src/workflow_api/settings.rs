//! /settings/{kind}: templates, senders, providers, allocation rules and task connections;
//! /tenant-settings; /modules (the schema the console builds forms from).

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::State;
use super::workflows::{check_limit, default_limit, new_id, required_if_match};
use crate::auth::{Admin, Caller};
use crate::body::{ApiJson, ApiQuery, etag, from_value_documented, take_id};
use crate::problem::ApiError;
use crm_model::action::SettingKind;
use crm_model::ids::SettingId;
use crm_model::ports::{PageRequest, Revisioned};
use crm_model::schema::Module;
use crm_model::settings::service::SettingError;
use crm_model::settings::{Setting, TenantSettings};

fn kind(slug: &str) -> Result<SettingKind, ApiError> {
    SettingKind::from_slug(slug)
        .ok_or_else(|| ApiError::NotFound(format!("no settings of kind '{slug}'")))
}

fn setting_id(raw: &str) -> Result<SettingId, ApiError> {
    SettingId::new(raw).map_err(|_| SettingError::NotFound.into())
}

#[derive(Serialize)]
struct SettingView {
    id: SettingId,
    revision: u64,
    #[serde(flatten)]
    setting: Setting,
}

fn respond(status: StatusCode, id: SettingId, stored: Revisioned<Setting>) -> Response {
    let location = format!("/settings/{}/{id}", stored.value.kind().slug());
    let tag = etag(stored.revision);
    let view = SettingView {
        id,
        revision: stored.revision,
        setting: stored.value,
    };
    let mut response = (status, Json(view)).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

/// Members through which a provider once named a secret. Credentials now live under a name the
/// server derives from the caller's tenant, so a body naming one is refused with that path.
const SECRET_NAME_MEMBERS: [(&str, &str); 3] = [
    ("/gateway", "credentials_secret"),
    ("", "access_token_secret"),
    ("", "signing_secret"),
];

fn refuse_secret_names(kind: SettingKind, body: &serde_json::Value) -> Result<(), ApiError> {
    for (parent, member) in SECRET_NAME_MEMBERS {
        let named = body
            .pointer(parent)
            .and_then(|o| o.as_object())
            .is_some_and(|o| o.contains_key(member));
        if named {
            return Err(ApiError::invalid_field(
                format!("{parent}/{member}"),
                format!(
                    "a provider does not name a secret; set its credentials with \
                     PUT /settings/{}/{{id}}/credentials",
                    kind.slug()
                ),
            ));
        }
    }
    Ok(())
}

/// Parses a setting of `kind` from a body whose kind comes from the URL.
fn parse_setting(kind: SettingKind, mut body: serde_json::Value) -> Result<Setting, ApiError> {
    refuse_secret_names(kind, &body)?;
    let tag = serde_json::to_value(kind).map_err(|_| ApiError::Internal)?;
    let schema = schema_name(&tag);
    let object = body
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid_field("", "expected a JSON object"))?;
    match object.get("kind") {
        Some(given) if *given != tag => {
            return Err(ApiError::invalid_field(
                "/kind",
                format!("this URL takes settings of kind {tag}"),
            ));
        }
        _ => {
            object.insert("kind".into(), tag);
        }
    }
    from_value_documented(body, &schema)
}

/// The OpenAPI component that documents a setting kind's body: `sms_provider` → `SmsProvider`.
fn schema_name(tag: &serde_json::Value) -> String {
    tag.as_str()
        .unwrap_or_default()
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    #[serde(default = "default_limit")]
    limit: u32,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct ListView {
    items: Vec<SettingView>,
    next_cursor: Option<String>,
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, kind = %slug))]
pub(super) async fn list(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(slug): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let kind = kind(&slug)?;
    check_limit(query.limit)?;
    let page = PageRequest {
        limit: query.limit,
        cursor: query.cursor,
    };
    let found = state
        .settings_use_cases()
        .list(&caller.tenant, kind, &page)
        .await?;
    let items = found
        .items
        .into_iter()
        .map(|(id, s)| SettingView {
            id,
            revision: s.revision,
            setting: s.value,
        })
        .collect();
    Ok(Json(ListView {
        items,
        next_cursor: found.next,
    })
    .into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, kind = %slug))]
pub(super) async fn create(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(slug): Path<String>,
    ApiJson(mut body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let kind = kind(&slug)?;
    let id = take_id(&mut body)?.unwrap_or_else(new_id);
    let id = SettingId::new(id).map_err(|e| ApiError::invalid_field("/id", e.to_string()))?;
    let setting = parse_setting(kind, body)?;
    let created = state
        .settings_use_cases()
        .create(&caller.tenant, &id, &setting)
        .await?;
    tracing::info!(setting = %id, "setting created");
    Ok(respond(StatusCode::CREATED, id, created))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, kind = %slug, setting = %id))]
pub(super) async fn get(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let kind = kind(&slug)?;
    let id = setting_id(&id)?;
    let found = state
        .settings_use_cases()
        .get(&caller.tenant, kind, &id)
        .await?;
    Ok(respond(StatusCode::OK, id, found))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, kind = %slug, setting = %id))]
pub(super) async fn replace(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let kind = kind(&slug)?;
    let id = setting_id(&id)?;
    let expected = required_if_match(&headers)?;
    let setting = parse_setting(kind, body)?;
    let saved = state
        .settings_use_cases()
        .replace(&caller.tenant, &id, &setting, expected)
        .await?;
    tracing::info!("setting replaced");
    Ok(respond(StatusCode::OK, id, saved))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, kind = %slug, setting = %id))]
pub(super) async fn delete(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let kind = kind(&slug)?;
    let id = setting_id(&id)?;
    let expected = required_if_match(&headers)?;
    state
        .settings_use_cases()
        .delete(&caller.tenant, kind, &id, expected)
        .await?;
    tracing::info!("setting deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Sets or rotates a provider's credentials. The body's shape depends on the provider
/// (`{api_key, secret_key}`, `{access_token}` or `{signing_key}`); the answer says only that they
/// are set and when, and no route ever returns them.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, kind = %slug, setting = %id))]
pub(super) async fn set_credentials(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let kind = kind(&slug)?;
    let id = setting_id(&id)?;
    let status = state
        .settings_use_cases()
        .set_credentials(&caller.tenant, kind, &id, body)
        .await?;
    tracing::info!("provider credentials set");
    Ok(Json(status).into_response())
}

/// Whether a provider's credentials are set, and when they last changed.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, kind = %slug, setting = %id))]
pub(super) async fn credentials_status(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let kind = kind(&slug)?;
    let id = setting_id(&id)?;
    let status = state
        .settings_use_cases()
        .credentials_status(&caller.tenant, kind, &id)
        .await?;
    Ok(Json(status).into_response())
}

/// Where a mailbox's sync stands: each folder's checkpoint, when it last ran, what went wrong.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, setting = %id))]
pub(super) async fn mailbox_sync(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let id = setting_id(&id)?;
    let status = state
        .settings_use_cases()
        .mailbox_sync(&caller.tenant, &id, state.mailbox_sync.as_ref())
        .await?;
    Ok(Json(status).into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, kind = %slug, setting = %id))]
pub(super) async fn remove_credentials(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let kind = kind(&slug)?;
    let id = setting_id(&id)?;
    state
        .settings_use_cases()
        .remove_credentials(&caller.tenant, kind, &id)
        .await?;
    tracing::info!("provider credentials removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize)]
struct TenantView {
    revision: u64,
    #[serde(flatten)]
    settings: TenantSettings,
}

fn tenant_response(stored: Revisioned<TenantSettings>) -> Response {
    let tag = etag(stored.revision);
    let mut response = Json(TenantView {
        revision: stored.revision,
        settings: stored.value,
    })
    .into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}

pub(super) async fn get_tenant(
    AxumState(state): AxumState<State>,
    caller: Caller,
) -> Result<Response, ApiError> {
    Ok(tenant_response(
        state
            .settings_use_cases()
            .tenant_settings(&caller.tenant)
            .await?,
    ))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn put_tenant(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    headers: HeaderMap,
    ApiJson(settings): ApiJson<TenantSettings>,
) -> Result<Response, ApiError> {
    let expected = required_if_match(&headers)?;
    let saved = state
        .settings_use_cases()
        .put_tenant_settings(&caller.tenant, &settings, expected)
        .await?;
    tracing::info!("tenant settings saved");
    Ok(tenant_response(saved))
}

#[derive(Serialize)]
struct ModuleSummary {
    module: Module,
    label_vi: &'static str,
}

pub(super) async fn modules(_caller: Caller) -> Response {
    let items: Vec<_> = Module::ALL
        .iter()
        .map(|&m| ModuleSummary {
            module: m,
            label_vi: m.label_vi(),
        })
        .collect();
    Json(serde_json::json!({ "items": items })).into_response()
}

pub(super) async fn module(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let module = Module::ALL
        .into_iter()
        .find(|m| m.as_str() == name)
        .ok_or_else(|| ApiError::NotFound(format!("no module '{name}'")))?;
    let schema = state
        .settings_use_cases()
        .tenant_settings(&caller.tenant)
        .await?
        .value
        .schema();
    let fields = schema.module(module).fields().to_vec();
    Ok(Json(
        serde_json::json!({ "module": module, "label_vi": module.label_vi(), "fields": fields }),
    )
    .into_response())
}
