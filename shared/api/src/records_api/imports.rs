//! /imports/{module}: many records at once (a spreadsheet of leads), each created as a single
//! creation would be (validation, allocation rules), with a result per record.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::views::{module, new_record_id};
use super::{State, actor};
use crate::auth::Caller;
use crate::body::{ApiJson, IMPORT_BODY_LIMIT};
use crate::problem::ApiError;
use crm_model::ids::RecordId;
use crm_model::record::service::{ImportRow, MAX_IMPORT_ROWS, RowOutcome, RowResult};
use crm_model::schema::Module;
use crm_model::settings::web_form::hex_sha256;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportBody {
    records: Vec<ImportedRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportedRecord {
    /// Chosen by the caller; without it, derived from the request's Idempotency-Key and the
    /// record's position (or new, without the key).
    #[serde(default)]
    id: Option<String>,
    fields: Map<String, Value>,
}

#[derive(Serialize, Default)]
struct Counts {
    created: usize,
    exists: usize,
    invalid: usize,
    refused: usize,
}

#[derive(Serialize)]
struct ImportView {
    #[serde(flatten)]
    counts: Counts,
    results: Vec<RowResult>,
}

/// The id of row `index` of `user`'s import of `module` sent under `key`: the same on every
/// resend, and another user's key never meets it.
fn derived_id(user: &str, key: &str, module: Module, index: usize) -> RecordId {
    let digest = hex_sha256(&format!("{user}\n{module}\n{key}\n{index}"));
    let hex = &digest[..32];
    // Hex digits always make a valid id.
    RecordId::new(format!("imp-{hex}")).unwrap_or_else(|_| unreachable!())
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %raw_module))]
pub(super) async fn import(
    AxumState(state): AxumState<State>,
    caller: Caller,
    Path(raw_module): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ImportBody, IMPORT_BODY_LIMIT>,
) -> Result<Response, ApiError> {
    let module = module(&raw_module)?;
    if body.records.is_empty() || body.records.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::invalid_field(
            "/records",
            format!("an import has 1 to {MAX_IMPORT_ROWS} records"),
        ));
    }
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(key)) if !key.trim().is_empty() && key.len() <= 200 => Some(key.to_owned()),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "/headers/Idempotency-Key",
                "1 to 200 characters, not all blank",
            ));
        }
    };
    let mut rows = Vec::with_capacity(body.records.len());
    for (index, record) in body.records.into_iter().enumerate() {
        let id = match (record.id, &key) {
            (Some(id), _) => RecordId::new(id).map_err(|e| {
                ApiError::invalid_field(format!("/records/{index}/id"), format!("id {e}"))
            })?,
            (None, Some(key)) => derived_id(caller.user.as_str(), key, module, index),
            (None, None) => new_record_id(),
        };
        rows.push(ImportRow {
            id,
            fields: record.fields,
        });
    }
    let results = state
        .use_cases()
        .import(&actor(&state, &caller).await?, module, rows)
        .await?;
    let mut counts = Counts::default();
    for result in &results {
        match result.outcome {
            RowOutcome::Created { .. } => counts.created += 1,
            RowOutcome::Exists => counts.exists += 1,
            RowOutcome::Invalid { .. } => counts.invalid += 1,
            RowOutcome::Refused { .. } => counts.refused += 1,
        }
    }
    Ok(Json(ImportView { counts, results }).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resent_import_derives_the_same_ids() {
        let lead = Module::Lead;
        assert_eq!(
            derived_id("u-1", "batch-7", lead, 3),
            derived_id("u-1", "batch-7", lead, 3)
        );
        assert_ne!(
            derived_id("u-1", "batch-7", lead, 3),
            derived_id("u-1", "batch-7", lead, 4)
        );
        assert_ne!(
            derived_id("u-1", "batch-7", lead, 3),
            derived_id("u-1", "batch-8", lead, 3)
        );
        assert_ne!(
            derived_id("u-1", "batch-7", lead, 3),
            derived_id("u-1", "batch-7", Module::Contact, 3)
        );
        assert_ne!(
            derived_id("u-1", "batch-7", lead, 3),
            derived_id("u-2", "batch-7", lead, 3)
        );
    }
}
