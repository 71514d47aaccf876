//! /records/{module}: create, read, list, edit, quick edit, clone and delete records.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::views::{
    ListView, default_limit, fields_of, module, new_record_id, page, record_id, respond, views,
};
use super::{State, actor};
use crate::auth::Caller;
use crate::body::{ApiJson, BODY_LIMIT, if_match, parse_json};
use crate::problem::ApiError;
use crm_model::record::service::{ListQuery, SortOrder};

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %raw_module))]
pub(super) async fn list(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(raw_module): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    let query = list_query(raw.as_deref().unwrap_or(""))?;
    let found = state
        .use_cases()
        .list(&actor(&state, &caller).await?, module, &query)
        .await?;
    Ok(Json(ListView {
        items: views(found.items),
        next_cursor: found.next,
    })
    .into_response())
}

/// `limit`, `cursor`, `sort`, `order`; every other parameter is a field to match
/// (`?Province=Hà Nội&Owner=u-1`).
fn list_query(raw: &str) -> Result<ListQuery, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::invalid_field("/query", e.to_string()))?;
    let mut limit = default_limit();
    let mut cursor = None;
    let mut sort = None;
    let mut order = SortOrder::default();
    let mut filters = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => {
                limit = value
                    .parse()
                    .map_err(|_| ApiError::invalid_field("/query/limit", "not a number"))?;
            }
            "cursor" => cursor = Some(value),
            "sort" => sort = Some(value),
            "order" => {
                order = match value.as_str() {
                    "asc" => SortOrder::Asc,
                    "desc" => SortOrder::Desc,
                    _ => return Err(ApiError::invalid_field("/query/order", "asc or desc")),
                }
            }
            _ => filters.push((name, value)),
        }
    }
    Ok(ListQuery {
        filters,
        sort,
        order,
        page: page(limit, cursor)?,
    })
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %raw_module))]
pub(super) async fn create(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(raw_module): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    let fields = fields_of(body)?;
    let created = state
        .use_cases()
        .create(
            &actor(&state, &caller).await?,
            module,
            new_record_id(),
            &fields,
        )
        .await?;
    Ok(respond(StatusCode::CREATED, created))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn get(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    let found = state
        .use_cases()
        .read(&actor(&state, &caller).await?, module, &record_id(&id)?)
        .await?;
    Ok(respond(StatusCode::OK, found))
}

/// Full edit: If-Match is required, so that no one else's change is overwritten.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn replace(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    let id = record_id(&id)?;
    let cases = state.use_cases();
    // Not found answers before a missing precondition: another tenant learns nothing.
    cases
        .read(&actor(&state, &caller).await?, module, &id)
        .await?;
    let expected = if_match(&headers)?.ok_or(ApiError::PreconditionRequired)?;
    let fields = fields_of(body)?;
    let saved = cases
        .replace(
            &actor(&state, &caller).await?,
            module,
            &id,
            &fields,
            expected,
        )
        .await?;
    Ok(respond(StatusCode::OK, saved))
}

/// Quick edit of one field; If-Match optional.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn patch(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    let id = record_id(&id)?;
    let fields = fields_of(body)?;
    // The use case reads the record first: another tenant's id is not found there.
    let saved = state
        .use_cases()
        .patch(
            &actor(&state, &caller).await?,
            module,
            &id,
            &fields,
            if_match(&headers)?,
        )
        .await?;
    Ok(respond(StatusCode::OK, saved))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn clone(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    // The body is optional: field values that differ in the copy.
    let overrides = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        let json = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == "application/json");
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        if body.len() > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
        }
        fields_of(parse_json(&body)?)?
    };
    let created = state
        .use_cases()
        .clone_record(
            &actor(&state, &caller).await?,
            module,
            &record_id(&id)?,
            new_record_id(),
            &overrides,
        )
        .await?;
    Ok(respond(StatusCode::CREATED, created))
}

/// Deletes a record; a customer with orders, quotes or opportunities answers 409 with them.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn delete(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    let id = record_id(&id)?;
    state
        .use_cases()
        .delete(
            &actor(&state, &caller).await?,
            module,
            &id,
            if_match(&headers)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A link to download a file stored with a record (a task's printed attachment), valid for a
/// few minutes: `{name, url, expires_in}`.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %module, record = %id))]
pub(super) async fn attachment(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((module, id, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let module = super::views::module(&module)?;
    let id = super::views::record_id(&id)?;
    let url = state
        .use_cases()
        .attachment_link(
            &actor(&state, &caller).await?,
            module,
            &id,
            &name,
            state.attachments.as_ref(),
        )
        .await?;
    Ok(Json(serde_json::json!({
        "name": name,
        "url": url,
        "expires_in": crm_model::record::attachments::LINK_SECONDS,
    }))
    .into_response())
}
