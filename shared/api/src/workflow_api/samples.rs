//! /samples: the catalogue of sample workflows, and creating a workflow from one.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::BTreeMap;

use super::State;
use super::workflows::{new_id, respond};
use crate::auth::{Admin, Caller};
use crate::body::ApiJson;
use crate::problem::ApiError;
use crm_model::ids::WorkflowId;
use crm_model::workflow::samples;
use crm_model::workflow::service::WorkflowError;

pub(super) async fn list(_caller: Caller) -> Response {
    Json(serde_json::json!({ "items": samples::catalogue() })).into_response()
}

pub(super) async fn get(_caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let sample = samples::find(&id).ok_or(WorkflowError::SampleNotFound(id))?;
    Ok(Json(sample).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FromSample {
    #[serde(default)]
    id: Option<String>,
    /// Replaces the sample's name.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    bindings: BTreeMap<String, String>,
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, sample = %sample_id))]
pub(super) async fn create_workflow(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    Path(sample_id): Path<String>,
    ApiJson(body): ApiJson<FromSample>,
) -> Result<Response, ApiError> {
    let id = WorkflowId::new(body.id.unwrap_or_else(new_id))
        .map_err(|e| ApiError::invalid_field("/id", e.to_string()))?;
    let created = state
        .use_cases()
        .create_from_sample(
            &caller.tenant,
            &caller.user,
            &sample_id,
            id,
            body.name,
            &body.bindings,
        )
        .await?;
    tracing::info!(workflow = %created.value.id, "workflow created from sample");
    Ok(respond(StatusCode::CREATED, created))
}
