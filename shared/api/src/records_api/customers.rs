//! /customers/{id}/…: the customer page (seed 003): duplicates and merge, related lists, activity
//! and sales history, purchase statistics, records created from the customer, hand-over.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::views::{RecordView, fields_of, new_record_id, record_id, respond, views};
use super::{State, actor};
use crate::auth::Caller;
use crate::body::{ApiJson, ApiQuery, from_value_documented};
use crate::problem::ApiError;
use crm_model::ids::RecordId;
use crm_model::record::identity::{self, IdentityKind};
use crm_model::record::service::{Activity, Duplicate, HandOver};
use crm_model::run::RunRecord;
use crm_model::schema::Module;

#[derive(Serialize)]
struct DuplicateView {
    #[serde(flatten)]
    record: RecordView,
    shared: Vec<IdentityKind>,
}

fn duplicate_views(found: Vec<Duplicate>) -> Response {
    let items: Vec<DuplicateView> = found
        .into_iter()
        .map(|d| DuplicateView {
            record: d.record.into(),
            shared: d.shared,
        })
        .collect();
    Json(serde_json::json!({ "items": items })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DuplicateQuery {
    phone: Option<String>,
    email: Option<String>,
    tax_code: Option<String>,
    name: Option<String>,
    code: Option<String>,
}

/// Customers matching the given phone, email, tax code, name or code, as the tenant's duplicate
/// rule counts them: the check before creating one.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant))]
pub(super) async fn duplicates_of_values(
    AxumState(state): AxumState<State>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DuplicateQuery>,
) -> Result<Response, ApiError> {
    let given = [
        (vec![IdentityKind::Phone], "phone", query.phone),
        (vec![IdentityKind::Email], "email", query.email),
        (vec![IdentityKind::TaxCode], "tax_code", query.tax_code),
        (
            vec![IdentityKind::Name, IdentityKind::NameUnaccented],
            "name",
            query.name,
        ),
        (vec![IdentityKind::Code], "code", query.code),
    ];
    let mut keys = Vec::new();
    for (kinds, name, value) in given {
        if let Some(value) = value {
            // A value is usable when one of its kinds makes a key of it.
            let made: Vec<String> = kinds
                .iter()
                .filter_map(|kind| identity::key(*kind, &value))
                .collect();
            if made.is_empty() {
                return Err(ApiError::invalid_field(
                    format!("/query/{name}"),
                    format!("not a usable {name}"),
                ));
            }
            keys.extend(made);
        }
    }
    if keys.is_empty() {
        return Err(ApiError::invalid_field(
            "/query",
            "give a phone, email, tax_code, name or code to check",
        ));
    }
    let found = state
        .use_cases()
        .duplicates_of_keys(&actor(&state, &caller).await?, &keys, None)
        .await?;
    Ok(duplicate_views(found))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn duplicates_of(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let found = state
        .use_cases()
        .duplicates_of(&actor(&state, &caller).await?, &record_id(&id)?)
        .await?;
    Ok(duplicate_views(found))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeRequest {
    duplicate: String,
    /// The fields whose value comes from the duplicate.
    #[serde(default)]
    take: Vec<String>,
}

/// More names than a customer has fields is a mistake, not a choice.
const MAX_TAKEN: usize = 200;

/// Merges the customer named in the body into the one in the path; asking again finishes an
/// interrupted merge.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn merge(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let request: MergeRequest = from_value_documented(body, "MergeRequest")?;
    let survivor = record_id(&id)?;
    let duplicate = RecordId::new(request.duplicate.as_str())
        .map_err(|_| ApiError::invalid_field("/duplicate", "not a record id"))?;
    if request.take.len() > MAX_TAKEN {
        return Err(ApiError::invalid_field(
            "/take",
            format!("at most {MAX_TAKEN} fields"),
        ));
    }
    let outcome = state
        .use_cases()
        .merge(
            &actor(&state, &caller).await?,
            &survivor,
            &duplicate,
            &request.take,
        )
        .await?;
    Ok(Json(serde_json::json!({
        "survivor": RecordView::from(outcome.survivor),
        "moved": outcome.moved,
        "merged_now": outcome.merged_now,
    }))
    .into_response())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn related(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lists = state
        .use_cases()
        .related(&actor(&state, &caller).await?, &record_id(&id)?)
        .await?;
    let body: Map<String, Value> = lists
        .lists
        .into_iter()
        .map(|(name, records)| {
            let value = serde_json::to_value(views(records)).unwrap_or_default();
            (name.to_owned(), value)
        })
        .collect();
    Ok(Json(body).into_response())
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// A run (with its skipped SMS/ZNS recipients) is a few hundred bytes; a page holds a few dozen.
#[allow(clippy::large_enum_variant)]
enum ActivityView {
    Record(RecordView),
    Automation(RunRecord),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActivitiesQuery {
    #[serde(default = "super::views::default_limit")]
    limit: u32,
    /// Only what is still to do: tasks and care cards not done, calls and meetings planned
    /// (no note, no automation run).
    #[serde(default)]
    open: bool,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

async fn activities_of(
    state: &State,
    caller: &Caller,
    module: Module,
    id: &str,
    query: ActivitiesQuery,
) -> Result<Response, ApiError> {
    super::views::page(query.limit, None)?;
    let after = super::views::activity_cursor(query.cursor.as_deref())?;
    let page = state
        .use_cases()
        .activities(
            &actor(state, caller).await?,
            module,
            &record_id(id)?,
            query.open,
            query.limit,
            after.as_ref(),
        )
        .await?;
    let items: Vec<ActivityView> = page
        .items
        .into_iter()
        .map(|a| match a {
            Activity::Record(r) => ActivityView::Record(r.into()),
            Activity::Run(run) => ActivityView::Automation(run),
        })
        .collect();
    let next_cursor = page.next.map(|c| c.encode());
    Ok(Json(serde_json::json!({ "items": items, "next_cursor": next_cursor })).into_response())
}

/// Tasks, care cards and what the automation did (emails, SMS, ZNS, field updates, hand-overs),
/// newest first.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn activities(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ActivitiesQuery>,
) -> Result<Response, ApiError> {
    activities_of(&state, &caller, Module::Customer, &id, query).await
}

/// The same for a record of any module: the tasks a workflow made for it, and its runs.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %module, record = %id))]
pub(super) async fn record_activities(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path((module, id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<ActivitiesQuery>,
) -> Result<Response, ApiError> {
    let module = super::views::module(&module)?;
    activities_of(&state, &caller, module, &id, query).await
}

/// Opportunities, quotes, orders and invoices, newest first.
#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn sales(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let items = state
        .use_cases()
        .sales(&actor(&state, &caller).await?, &record_id(&id)?)
        .await?;
    Ok(Json(serde_json::json!({ "items": views(items) })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

fn date(name: &str, raw: Option<String>) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(|d| {
        crm_model::record::parse_date(&d)
            .map_err(|message| ApiError::invalid_field(format!("/query/{name}"), message))
    })
    .transpose()
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn purchase_stats(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = (date("from", query.from)?, date("to", query.to)?);
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::invalid_field("/query/to", "is before from"));
        }
    }
    let stats = state
        .use_cases()
        .purchase_stats(&actor(&state, &caller).await?, &record_id(&id)?, from, to)
        .await?;
    Ok(Json(stats).into_response())
}

async fn create_from(
    state: State,
    caller: Caller,
    id: String,
    module: Module,
    body: Value,
) -> Result<Response, ApiError> {
    let fields = fields_of(body)?;
    let created = state
        .use_cases()
        .create_from_customer(
            &actor(&state, &caller).await?,
            &record_id(&id)?,
            module,
            new_record_id(),
            &fields,
        )
        .await?;
    Ok(respond(StatusCode::CREATED, created))
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn create_order(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    create_from(state, caller, id, Module::Order, body).await
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn create_quote(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    create_from(state, caller, id, Module::Quote, body).await
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn create_opportunity(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    create_from(state, caller, id, Module::Opportunity, body).await
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, record = %id))]
pub(super) async fn hand_over(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let customer = record_id(&id)?;
    let request: HandOver = from_value_documented(body, "HandOverRequest")?;
    // The use case reads the customer first: another tenant's id is not found there.
    let (customer, moved) = state
        .use_cases()
        .hand_over(&actor(&state, &caller).await?, &customer, &request)
        .await?;
    Ok(Json(serde_json::json!({
        "customer": RecordView::from(customer),
        "moved_activities": moved,
    }))
    .into_response())
}
