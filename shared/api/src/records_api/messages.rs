//! /customers/{id}/messages: email and SMS sent to a customer from its page (queued here, sent
//! by the executor, once per client key), and the customer's message history.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::views::{record_id, respond, views};
use super::{State, actor};
use crate::auth::Caller;
use crate::body::{ApiJson, ApiQuery, from_value_documented};
use crate::problem::ApiError;
use crm_model::ids::RecordId;
use crm_model::record::service::{Channel, MessageFilter, SendRequest};

/// 202 with the message queued; 200 with the one a repeated key queued before.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn send(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let customer = record_id(&id)?;
    let request: SendRequest = from_value_documented(body, "MessageRequest")?;
    let queued = state
        .use_cases()
        .send_message(&actor(&state, &caller).await?, &customer, &request)
        .await?;
    let status = if queued.replayed {
        StatusCode::OK
    } else {
        tracing::info!(message = %queued.message.value.id, channel = ?request.channel, recipients = request.to.len(), "message queued");
        StatusCode::ACCEPTED
    };
    Ok(respond(status, queued.message))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessagesQuery {
    channel: Option<Channel>,
    /// `Outgoing` or `Incoming`.
    direction: Option<Direction>,
    /// One of the customer's contacts.
    contact: Option<String>,
    #[serde(default = "super::views::default_limit")]
    limit: u32,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

#[derive(Deserialize)]
enum Direction {
    Outgoing,
    Incoming,
}

/// The customer's emails and SMS, sent and received, newest first, a page at a time.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn history(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Response, ApiError> {
    let contact = match query.contact {
        Some(raw) => Some(
            RecordId::new(raw)
                .map_err(|_| ApiError::invalid_field("/query/contact", "not a record id"))?,
        ),
        None => None,
    };
    let filter = MessageFilter {
        channel: query.channel,
        direction: query.direction.map(|d| {
            match d {
                Direction::Outgoing => "Outgoing",
                Direction::Incoming => "Incoming",
            }
            .to_owned()
        }),
        contact,
    };
    super::views::page(query.limit, None)?;
    let after = super::views::activity_cursor(query.cursor.as_deref())?;
    let page = state
        .use_cases()
        .messages(
            &actor(&state, &caller).await?,
            &record_id(&id)?,
            &filter,
            query.limit,
            after.as_ref(),
        )
        .await?;
    let next_cursor = page.next.map(|c| c.encode());
    Ok(
        Json(serde_json::json!({ "items": views(page.items), "next_cursor": next_cursor }))
            .into_response(),
    )
}
