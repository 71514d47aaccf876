//! How records look on the wire, and the path parameters every handler shares.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::body::etag;
use crate::problem::ApiError;
use crm_model::ids::RecordId;
use crm_model::ports::{Revisioned, StoredRecord};
use crm_model::record::service::RecordError;
use crm_model::schema::Module;

/// A record as the API shows it; `revision` is also its ETag.
#[derive(Serialize)]
pub(super) struct RecordView {
    id: RecordId,
    module: Module,
    revision: u64,
    fields: Map<String, Value>,
}

impl From<Revisioned<StoredRecord>> for RecordView {
    fn from(stored: Revisioned<StoredRecord>) -> Self {
        Self {
            id: stored.value.id,
            module: stored.value.module,
            revision: stored.revision,
            fields: stored.value.fields,
        }
    }
}

pub(super) fn views(records: Vec<Revisioned<StoredRecord>>) -> Vec<RecordView> {
    records.into_iter().map(RecordView::from).collect()
}

/// One record, with its ETag (and Location when created).
pub(super) fn respond(status: StatusCode, stored: Revisioned<StoredRecord>) -> Response {
    let location = format!("/records/{}/{}", stored.value.module, stored.value.id);
    let tag = etag(stored.revision);
    let mut response = (status, Json(RecordView::from(stored))).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

/// A module named in a path; an unknown one is simply not found.
pub(super) fn module(raw: &str) -> Result<Module, ApiError> {
    serde_json::from_value(Value::String(raw.to_owned()))
        .map_err(|_| ApiError::NotFound(format!("no module '{raw}'")))
}

/// A record id in a path that cannot exist is simply not found.
pub(super) fn record_id(raw: &str) -> Result<RecordId, ApiError> {
    RecordId::new(raw).map_err(|_| RecordError::NotFound("record").into())
}

/// A new record id: time-ordered, so ids sort roughly by creation.
pub(super) fn new_record_id() -> RecordId {
    // A UUID always makes a valid id.
    RecordId::new(uuid::Uuid::now_v7().to_string()).unwrap_or_else(|_| unreachable!())
}

/// A JSON body that is an object of field values, possibly wrapped as `{"fields": {...}}`.
pub(super) fn fields_of(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(mut object) => match object.remove("fields") {
            Some(Value::Object(fields)) if object.is_empty() => Ok(fields),
            Some(_) if object.is_empty() => Err(ApiError::invalid_field(
                "/fields",
                "expected an object of field values",
            )),
            Some(fields) => {
                object.insert("fields".into(), fields);
                Err(ApiError::invalid_field(
                    "",
                    "send the field values as an object, or only under \"fields\"",
                ))
            }
            None => Ok(object),
        },
        _ => Err(ApiError::invalid_field(
            "",
            "expected an object of field values",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    #[serde(default = "default_limit")]
    pub limit: u32,
    pub cursor: Option<String>,
}

pub(super) use crate::body::{default_limit, page_request as page};

/// The cursor of a listing paged by time (a timeline, a message history): none, or one such a
/// listing gave (else a 422 at `/query/cursor`).
pub(super) fn activity_cursor(
    raw: Option<&str>,
) -> Result<Option<crm_model::record::service::ActivityCursor>, ApiError> {
    raw.map(|text| {
        crm_model::record::service::ActivityCursor::decode(text).ok_or_else(|| {
            ApiError::invalid_field("/query/cursor", "not a cursor this listing gave")
        })
    })
    .transpose()
}

#[derive(Serialize)]
pub(super) struct ListView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
