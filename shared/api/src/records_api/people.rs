//! /users, /teams: the people records are owned by, assigned to and handed over to; and
//! /me/notifications: the caller's in-app notifications.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::State;
use super::views::{ListView, PageQuery, default_limit, page};
use crate::auth::Caller;
use crate::body::{ApiJson, ApiQuery, from_value_documented};
use crate::problem::ApiError;
use crm_model::ids::UserId;
use crm_model::user::Notification;
use crm_model::user::service::PeopleError;

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::new(raw).map_err(|_| PeopleError::UserNotFound.into())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn list_users(
    AxumState(state): AxumState<State>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let found = state
        .people()
        .list(&caller.tenant, &page(query.limit, query.cursor)?)
        .await?;
    Ok(Json(ListView {
        items: found.items,
        next_cursor: found.next,
    })
    .into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn create_user(
    AxumState(state): AxumState<State>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let user = state
        .people()
        .create(&caller.tenant, from_value_documented(body, "NewUser")?)
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn get_user(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = state.people().get(&caller.tenant, &user_id(&id)?).await?;
    Ok(Json(user).into_response())
}

/// Replaces a user (name, contact, team, role, active); deactivating keeps their history.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn replace_user(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let id = user_id(&id)?;
    // Another tenant's user is not found, whoever asks.
    state.people().get(&caller.tenant, &id).await?;
    caller.require_admin()?;
    if let Some(object) = body.as_object_mut() {
        match object.get("id") {
            None => {
                object.insert("id".into(), Value::String(id.to_string()));
            }
            Some(Value::String(given)) if given == id.as_str() => {}
            Some(_) => return Err(ApiError::invalid_field("/id", "differs from the path")),
        }
    }
    let user = state
        .people()
        .replace(
            &caller.tenant,
            from_value_documented(body, "UserReplacement")?,
        )
        .await?;
    // This sandbox stops trusting what it knew of the user at once (others within the cache's
    // few seconds).
    state.members.forget(&caller.tenant, &user.id);
    Ok(Json(user).into_response())
}

/// Users grouped by team (the organisation chart the hand-over picker shows).
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn teams(
    AxumState(state): AxumState<State>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let items = state.people().teams(&caller.tenant).await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}
#[derive(Serialize)]
struct NotificationView {
    /// What `POST /me/notifications/{key}/read` takes.
    key: String,
    #[serde(flatten)]
    notification: Notification,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InboxQuery {
    #[serde(default = "default_limit")]
    limit: u32,
    cursor: Option<String>,
    #[serde(default)]
    unread: bool,
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn notifications(
    AxumState(state): AxumState<State>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Response, ApiError> {
    let found = state
        .people()
        .notifications(
            &caller.tenant,
            &caller.user,
            query.unread,
            &page(query.limit, query.cursor)?,
        )
        .await?;
    let items: Vec<NotificationView> = found
        .items
        .into_iter()
        .map(|n| NotificationView {
            key: n.key(),
            notification: n,
        })
        .collect();
    Ok(Json(ListView {
        items,
        next_cursor: found.next,
    })
    .into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn mark_read(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let notification = state
        .people()
        .mark_read(&caller.tenant, &caller.user, &key)
        .await?;
    Ok(Json(NotificationView {
        key: notification.key(),
        notification,
    })
    .into_response())
}
