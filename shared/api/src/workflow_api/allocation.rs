//! /modules/{module}/allocation-preview: a dry run of the module's allocation rules over its
//! most recently updated records, as if each were created now without an owner. Reads only.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::State;
use crate::auth::Admin;
use crate::body::ApiQuery;
use crate::problem::ApiError;
use crm_model::allocation::service::Allocator;
use crm_model::record::store::RecordFilter;
use crm_model::schema::Module;
use crm_model::store::PageRequest;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PreviewQuery {
    #[serde(default = "default_records")]
    records: u32,
}

fn default_records() -> u32 {
    20
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %name))]
pub(super) async fn preview(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<PreviewQuery>,
) -> Result<Response, ApiError> {
    let module = Module::ALL
        .into_iter()
        .find(|m| m.as_str() == name)
        .ok_or_else(|| ApiError::NotFound(format!("no module '{name}'")))?;
    if !(1..=PageRequest::MAX_LIMIT).contains(&query.records) {
        return Err(ApiError::invalid_field(
            "/query/records",
            format!("1 to {} records", PageRequest::MAX_LIMIT),
        ));
    }
    let settings = state.settings.tenant_settings(&caller.tenant).await?.value;
    let schema = settings.schema();
    let listed = state
        .records
        .list(
            &caller.tenant,
            module,
            &RecordFilter::default(),
            &PageRequest::first(query.records),
        )
        .await?;
    // Each as if it came now without an owner.
    let records: Vec<_> = listed
        .items
        .into_iter()
        .map(|mut r| {
            r.value.fields.remove("Owner");
            r.value.typed(&schema)
        })
        .collect();
    let allocator = Allocator {
        settings: state.settings.as_ref(),
        users: state.users.as_ref(),
        records: state.records.as_ref(),
        turns: state.runs.as_ref(),
    };
    let would = allocator
        .dry_run(
            &caller.tenant,
            &settings,
            &schema,
            module,
            &records,
            state.clock.now(),
        )
        .await?;
    Ok(Json(serde_json::json!({ "module": module, "records": would })).into_response())
}
