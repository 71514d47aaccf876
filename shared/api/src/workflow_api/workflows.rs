//! /workflows: define, validate, version and activate workflows.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::State;
use crate::auth::{Admin, Caller};
use crate::body::{ApiJson, ApiQuery, etag, from_value_documented, if_match, take_id};
use crate::problem::ApiError;
use crm_model::ids::WorkflowId;
use crm_model::ports::{PageRequest, Revisioned, WorkflowFilter};
use crm_model::schema::Module;
use crm_model::workflow::preview::Previews;
use crm_model::workflow::service::WorkflowError;
use crm_model::workflow::{Workflow, WorkflowDefinition, WorkflowKind, WorkflowStatus};

/// A workflow as the API shows it: the stored workflow and its revision (also the ETag).
#[derive(Serialize)]
pub(super) struct WorkflowView {
    #[serde(flatten)]
    workflow: Workflow,
    revision: u64,
}

pub(super) fn respond(status: StatusCode, stored: Revisioned<Workflow>) -> Response {
    let location = format!("/workflows/{}", stored.value.id);
    let tag = etag(stored.revision);
    let view = WorkflowView {
        workflow: stored.value,
        revision: stored.revision,
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

/// An id in a path that cannot exist is simply not found.
pub(super) fn workflow_id(raw: &str) -> Result<WorkflowId, ApiError> {
    WorkflowId::new(raw).map_err(|_| WorkflowError::NotFound.into())
}

/// A new id for something created without one.
pub(super) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    module: Option<Module>,
    status: Option<WorkflowStatus>,
    kind: Option<WorkflowKind>,
    #[serde(default = "default_limit")]
    limit: u32,
    cursor: Option<String>,
}

pub(super) use crate::body::default_limit;

#[derive(Serialize)]
struct ListView {
    items: Vec<WorkflowView>,
    next_cursor: Option<String>,
}

pub(super) fn check_limit(limit: u32) -> Result<(), ApiError> {
    crate::body::page_request(limit, None).map(|_| ())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn list(
    AxumState(state): AxumState<State>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    check_limit(query.limit)?;
    let page = PageRequest {
        limit: query.limit,
        cursor: query.cursor,
    };
    let filter = WorkflowFilter {
        module: query.module,
    };
    let found = state
        .use_cases()
        .list(&caller.tenant, filter, &page)
        .await?;
    // Status and kind are few per tenant; they filter the page like a FilterExpression would.
    let items = found
        .items
        .into_iter()
        .filter(|w| query.status.is_none_or(|s| w.value.status == s))
        .filter(|w| query.kind.is_none_or(|k| w.value.kind == k))
        .map(|w| WorkflowView {
            workflow: w.value,
            revision: w.revision,
        })
        .collect();
    Ok(Json(ListView {
        items,
        next_cursor: found.next,
    })
    .into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow))]
pub(super) async fn create(
    AxumState(state): AxumState<State>,
    caller: Caller,
    ApiJson(mut body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    // An optional client-chosen id; a new one otherwise.
    let id = take_id(&mut body)?.unwrap_or_else(new_id);
    let id = WorkflowId::new(id).map_err(|e| ApiError::invalid_field("/id", e.to_string()))?;
    let definition: WorkflowDefinition = from_value_documented(body, "WorkflowDefinition")?;
    tracing::Span::current().record("workflow", tracing::field::display(&id));
    let created = state
        .use_cases()
        .create(&caller.tenant, &caller.user, id, definition)
        .await?;
    tracing::info!("workflow created");
    Ok(respond(StatusCode::CREATED, created))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn get(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let found = state
        .use_cases()
        .get(&caller.tenant, &workflow_id(&id)?)
        .await?;
    Ok(respond(StatusCode::OK, found))
}

pub(super) fn required_if_match(headers: &HeaderMap) -> Result<u64, ApiError> {
    if_match(headers)?.ok_or(ApiError::PreconditionRequired)
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn update(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(definition): ApiJson<WorkflowDefinition>,
) -> Result<Response, ApiError> {
    let expected = required_if_match(&headers)?;
    let id = workflow_id(&id)?;
    let saved = state
        .use_cases()
        .update(
            &caller.tenant,
            &caller.user,
            &id,
            definition,
            Some(expected),
        )
        .await?;
    tracing::info!(version = saved.value.version, "workflow updated");
    Ok(respond(StatusCode::OK, saved))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn delete(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let expected = required_if_match(&headers)?;
    state
        .use_cases()
        .delete(&caller.tenant, &workflow_id(&id)?, Some(expected))
        .await?;
    tracing::info!("workflow deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn activate(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let expected = if_match(&headers)?;
    let saved = state
        .use_cases()
        .activate(&caller.tenant, &caller.user, &workflow_id(&id)?, expected)
        .await?;
    tracing::info!(version = saved.value.version, "workflow activated");
    Ok(respond(StatusCode::OK, saved))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn deactivate(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DeactivateQuery>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let expected = if_match(&headers)?;
    let saved = state
        .use_cases()
        .deactivate(
            &caller.tenant,
            &caller.user,
            &workflow_id(&id)?,
            expected,
            query.queued_jobs,
        )
        .await?;
    tracing::info!(queued_jobs = ?query.queued_jobs, "workflow deactivated");
    Ok(respond(StatusCode::OK, saved))
}

/// `?queued_jobs=cancel` (the default) or `finish`: what becomes of the jobs already queued.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeactivateQuery {
    #[serde(default)]
    queued_jobs: crm_model::workflow::QueuedJobs,
}

#[derive(Serialize)]
struct VersionsView {
    versions: Vec<u32>,
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn versions(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let versions = state
        .use_cases()
        .versions(&caller.tenant, &workflow_id(&id)?)
        .await?;
    Ok(Json(VersionsView { versions }).into_response())
}

#[derive(Serialize)]
struct VersionView {
    version: u32,
    definition: WorkflowDefinition,
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn version(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let number: u32 = version
        .parse()
        .map_err(|_| WorkflowError::VersionNotFound(version))?;
    let definition = state
        .use_cases()
        .version(&caller.tenant, &workflow_id(&id)?, number)
        .await?;
    Ok(Json(VersionView {
        version: number,
        definition,
    })
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PreviewQuery {
    #[serde(default = "default_days")]
    days: u32,
    #[serde(default = "default_render")]
    render: usize,
    /// RFC 3339: the instant the preview starts from (now when absent).
    as_of: Option<String>,
}

fn default_days() -> u32 {
    30
}

fn default_render() -> usize {
    5
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn preview(
    AxumState(state): AxumState<State>,
    // The preview renders messages from any of the module's records: a settings tool.
    Admin(caller): Admin,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PreviewQuery>,
) -> Result<Response, ApiError> {
    if !(1..=366).contains(&query.days) {
        return Err(ApiError::invalid_field("/query/days", "1 to 366 days"));
    }
    if query.render > 20 {
        return Err(ApiError::invalid_field(
            "/query/render",
            "at most 20 rendered occurrences",
        ));
    }
    let as_of = query
        .as_of
        .as_deref()
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| {
                    ApiError::invalid_field(
                        "/query/as_of",
                        "expected an RFC 3339 instant with its offset, like 2027-01-01T08:00:00+07:00",
                    )
                })
        })
        .transpose()?;
    let previews = Previews {
        workflows: state.workflows.as_ref(),
        records: state.records.as_ref(),
        settings: state.settings.as_ref(),
        users: state.users.as_ref(),
        clock: state.clock.as_ref(),
    };
    let preview = previews
        .preview(
            &caller.tenant,
            &workflow_id(&id)?,
            query.days,
            query.render,
            as_of,
        )
        .await?;
    Ok(Json(preview).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScorePreviewQuery {
    #[serde(default = "default_buckets")]
    buckets: u32,
}

fn default_buckets() -> u32 {
    10
}

/// A scoring rule's dry run: the score distribution over the module's records, nothing written.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, workflow = %id))]
pub(super) async fn score_preview(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ScorePreviewQuery>,
) -> Result<Response, ApiError> {
    use crm_model::scoring::preview::{MAX_BUCKETS, ScorePreviews};
    if !(1..=MAX_BUCKETS).contains(&query.buckets) {
        return Err(ApiError::invalid_field(
            "/query/buckets",
            format!("1 to {MAX_BUCKETS} buckets"),
        ));
    }
    let previews = ScorePreviews {
        workflows: state.workflows.as_ref(),
        records: state.records.as_ref(),
        settings: state.settings.as_ref(),
        clock: state.clock.as_ref(),
    };
    let preview = previews
        .preview(&caller.tenant, &workflow_id(&id)?, query.buckets)
        .await?;
    Ok(Json(preview).into_response())
}
