//! /users, /teams: the people records are owned by, assigned to and handed over to; and
//! /me/notifications: the caller's in-app notifications.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::State;
use super::views::{ListView, PageQuery, default_limit, page};
use crate::auth::Caller;
use crate::body::{ApiJson, ApiQuery, from_value};
use crate::problem::ApiError;
use crm_model::ids::UserId;
use crm_model::ports::PageRequest;
use crm_model::run::Notification;
use crm_model::user::User;

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::new(raw).map_err(|_| ApiError::NotFound("no such user".into()))
}

fn valid(user: User) -> Result<User, ApiError> {
    let problems = user.validate();
    if problems.is_empty() {
        Ok(user)
    } else {
        Err(ApiError::Invalid(problems))
    }
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn list_users(
    AxumState(state): AxumState<State>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let found = state
        .users
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
    let user = valid(from_value(body)?)?;
    match state.users.create(&caller.tenant, &user).await {
        Ok(()) => {}
        Err(crm_model::ports::StoreError::AlreadyExists) => {
            return Err(ApiError::Conflict(format!(
                "user '{}' already exists",
                user.id
            )));
        }
        Err(e) => return Err(e.into()),
    }
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn get_user(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = state
        .users
        .get(&caller.tenant, &user_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
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
    state
        .users
        .get(&caller.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
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
    let user = valid(from_value(body)?)?;
    state.users.put(&caller.tenant, &user).await?;
    Ok(Json(user).into_response())
}

#[derive(Serialize)]
struct Member {
    id: UserId,
    name: String,
    active: bool,
}

/// Users grouped by team (the organisation chart the hand-over picker shows).
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn teams(
    AxumState(state): AxumState<State>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let mut teams: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    let mut request = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = state.users.list(&caller.tenant, &request).await?;
        for user in found.items {
            let team = user.team.clone().unwrap_or_default();
            teams.entry(team).or_default().push(Member {
                id: user.id,
                name: user.name,
                active: user.active,
            });
        }
        match found.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    let items: Vec<Value> = teams
        .into_iter()
        .map(|(team, members)| {
            serde_json::json!({
                "team": if team.is_empty() { None } else { Some(team) },
                "members": members,
            })
        })
        .collect();
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
        .inbox
        .list(
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
        .inbox
        .mark_read(&caller.tenant, &caller.user, &key)
        .await
        .map_err(|e| match e {
            crm_model::ports::StoreError::NotFound => {
                ApiError::NotFound("no such notification".into())
            }
            other => other.into(),
        })?;
    Ok(Json(NotificationView {
        key: notification.key(),
        notification,
    })
    .into_response())
}
