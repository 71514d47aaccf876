//! Approvals on the records API: submit a record, approve, reject or record revenue, recall,
//! reassign, a record's approval history, the caller's pending approvals, and the decision
//! links of approvers' emails (no login: the signed link names the approver).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::views::{ListView, module, new_record_id, record_id};
use super::{State, actor};
use crate::auth::Caller;
use crate::body::{ApiQuery, default_limit, page_request, parse_json};
use crate::problem::ApiError;
use crm_model::approval::request::ApprovalRequest;
use crm_model::approval::service::{ApprovalError, DecisionInput, Verdict};

/// A decision link's body: one small form (a comment of 2,000 characters, percent-encoded, is
/// up to 18 KB in Vietnamese).
pub const LINK_BODY_LIMIT: usize = 24 * 1024;
/// A submission's or a decision's body: a comment of at most 2,000 characters and a few ids.
pub const DECISION_BODY_LIMIT: usize = 16 * 1024;

/// Refuses a body over `limit` bytes before reading anything of it.
fn within(body: &Bytes, limit: usize) -> Result<(), ApiError> {
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct CommentBody {
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecordBody {
    #[serde(default)]
    revenue: Option<i64>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    #[serde(default = "default_limit")]
    limit: u32,
    cursor: Option<String>,
}

fn shown(status: StatusCode, request: &ApprovalRequest) -> Response {
    (status, Json(request.shown())).into_response()
}

/// An empty body reads as no comment.
fn comment_of(body: &Bytes) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(parse_json::<CommentBody>(body)?.comment)
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %raw_module, record = %raw_id))]
pub(super) async fn submit(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, raw_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (module, id) = (module(&raw_module)?, record_id(&raw_id)?);
    within(&body, DECISION_BODY_LIMIT)?;
    let comment = comment_of(&body)?;
    // Two random UUIDs: 244 random bits to sign the request's decision links with.
    let link_key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let request = state
        .approvals()
        .submit(
            &actor(&state, &caller).await?,
            module,
            &id,
            comment,
            new_record_id(),
            link_key,
        )
        .await?;
    Ok(shown(StatusCode::CREATED, &request))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %raw_module, record = %raw_id))]
pub(super) async fn history(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, raw_id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let (module, id) = (module(&raw_module)?, record_id(&raw_id)?);
    let found = state
        .approvals()
        .history(
            &actor(&state, &caller).await?,
            module,
            &id,
            &page_request(query.limit, query.cursor)?,
        )
        .await?;
    Ok(Json(ListView {
        items: found.items.iter().map(ApprovalRequest::shown).collect(),
        next_cursor: found.next,
    })
    .into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %raw_module, record = %raw_id, request = %raw_request))]
pub(super) async fn get_one(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, raw_id, raw_request)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (module, id) = (module(&raw_module)?, record_id(&raw_id)?);
    let request = state
        .approvals()
        .get(
            &actor(&state, &caller).await?,
            module,
            &id,
            &record_id(&raw_request)?,
        )
        .await?;
    Ok(shown(StatusCode::OK, &request))
}

/// approve, reject, record, recall or reassign.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %raw_module, record = %raw_id, request = %raw_request, action = %action))]
pub(super) async fn act(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((raw_module, raw_id, raw_request, action)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (module, id) = (module(&raw_module)?, record_id(&raw_id)?);
    let request_id = record_id(&raw_request)?;
    within(&body, DECISION_BODY_LIMIT)?;
    let actor = actor(&state, &caller).await?;
    let approvals = state.approvals();
    let decide = |verdict, revenue, comment| DecisionInput {
        verdict,
        revenue,
        comment,
    };
    let request = match action.as_str() {
        "approve" | "reject" => {
            let verdict = if action == "approve" {
                Verdict::Approve
            } else {
                Verdict::Reject
            };
            let input = decide(verdict, None, comment_of(&body)?);
            approvals
                .decide(&actor, module, &id, &request_id, input)
                .await?
        }
        "record" => {
            let body: RecordBody = if body.iter().all(u8::is_ascii_whitespace) {
                RecordBody {
                    revenue: None,
                    comment: None,
                }
            } else {
                parse_json(&body)?
            };
            let input = decide(Verdict::Record, body.revenue, body.comment);
            approvals
                .decide(&actor, module, &id, &request_id, input)
                .await?
        }
        "recall" => {
            approvals
                .recall(&actor, module, &id, &request_id, comment_of(&body)?)
                .await?
        }
        "reassign" => {
            approvals
                .reassign(&actor, module, &id, &request_id, parse_json(&body)?)
                .await?
        }
        other => return Err(ApiError::NotFound(format!("no approval action '{other}'"))),
    };
    Ok(shown(StatusCode::OK, &request))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn mine(
    AxumState(state): AxumState<State>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let found = state
        .approvals()
        .pending(
            &actor(&state, &caller).await?,
            &page_request(query.limit, query.cursor)?,
        )
        .await?;
    Ok(Json(ListView {
        items: found.items,
        next_cursor: found.next,
    })
    .into_response())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em\">\
         <h1>{title}</h1>{body}</body></html>"
    )
}

/// GET /approval-links/{token}: what the link is for, with the forms that decide. Reading it
/// decides nothing (mail scanners open links).
#[tracing::instrument(skip_all)]
pub(super) async fn open_link(
    AxumState(state): AxumState<State>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (link, request) = match state.approvals().open_link(&token).await {
        Ok(opened) => opened,
        Err(error @ ApprovalError::LinkSpent(_)) => {
            let body = format!("<p>{}</p>", escape(&error.to_string()));
            return Ok((
                StatusCode::GONE,
                Html(page("Liên kết không dùng được", &body)),
            )
                .into_response());
        }
        // Storage down: a problem as any other route answers it, to try again.
        Err(other) => return Err(other.into()),
    };
    let step = request
        .current
        .as_ref()
        .filter(|c| request.is_pending() && c.round == link.round);
    let Some(step) = step else {
        let body = "<p>Yêu cầu này đã được quyết định hoặc đã sang bước khác.</p>";
        return Ok((
            StatusCode::GONE,
            Html(page("Liên kết đã hết hiệu lực", body)),
        )
            .into_response());
    };
    let record_step = step.name.clone();
    let action = format!("/approval-links/{}", escape(&token));
    let form = |verdict: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"verdict\" \
             value=\"{verdict}\"><label>Ý kiến <textarea name=\"comment\" maxlength=\"2000\">\
             </textarea></label> <button type=\"submit\">{label}</button></form>"
        )
    };
    let body = format!(
        "<p>{} — bản ghi {} — bước {}.</p>{}{}{}",
        escape(&request.name),
        escape(request.record.as_str()),
        escape(&record_step),
        form("approve", "Phê duyệt"),
        form("record", "Ghi doanh số"),
        form("reject", "Từ chối"),
    );
    Ok(Html(page("Phê duyệt", &body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkDecision {
    verdict: Verdict,
    #[serde(default)]
    revenue: Option<i64>,
    #[serde(default)]
    comment: Option<String>,
}

/// POST /approval-links/{token}: the decision, as the page's form (HTML back) or as JSON.
#[tracing::instrument(skip_all)]
pub(super) async fn decide_by_link(
    AxumState(state): AxumState<State>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    within(&body, LINK_BODY_LIMIT)?;
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let decision: LinkDecision = if form {
        let mut decision: LinkDecision = serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::invalid_field("/verdict", e.to_string()))?;
        decision.comment = decision.comment.filter(|c| !c.trim().is_empty());
        decision
    } else {
        parse_json(&body)?
    };
    let input = DecisionInput {
        verdict: decision.verdict,
        revenue: decision.revenue,
        comment: decision.comment,
    };
    let decided = state.approvals().decide_by_link(&token, input).await;
    match (decided, form) {
        (Ok(request), false) => Ok(shown(StatusCode::OK, &request)),
        (Ok(_), true) => Ok(Html(page(
            "Đã ghi nhận",
            "<p>Cảm ơn, quyết định của bạn đã được ghi nhận.</p>",
        ))
        .into_response()),
        (Err(error), false) => Err(error.into()),
        (Err(error), true) => {
            let api: ApiError = error.into();
            let status = api.status();
            let body = format!("<p>{}</p>", escape(&api.to_string()));
            Ok((status, Html(page("Không ghi nhận được", &body))).into_response())
        }
    }
}
