//! /modules/{module}/merge-preview: texts being written (a template's subject and body), rendered
//! for one of the tenant's records as they would be sent, or with their merge problems: the
//! live preview beside the template forms. Reads only.

use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::State;
use crate::auth::Admin;
use crate::body::ApiJson;
use crate::problem::ApiError;
use crm_model::ids::RecordId;
use crm_model::schema::Module;
use crm_model::template::Escape;
use crm_model::template::draft::{Draft, Drafts, MAX_DRAFT_CHARS, MAX_DRAFTS, RenderedDraft};
use crm_model::user::access::Access;
use crm_model::validation::Problems;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PreviewBody {
    record: String,
    texts: Vec<DraftText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftText {
    text: String,
    #[serde(default)]
    html: bool,
}

#[tracing::instrument(skip_all, fields(tenant = %caller.tenant, module = %name))]
pub(super) async fn preview(
    AxumState(state): AxumState<State>,
    Admin(caller): Admin,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Response, ApiError> {
    let module = Module::ALL
        .into_iter()
        .find(|m| m.as_str() == name)
        .ok_or_else(|| ApiError::NotFound(format!("no module '{name}'")))?;
    let mut problems = Problems::default();
    let record = RecordId::new(&body.record).ok();
    if record.is_none() {
        problems.push("/record", "is not a record id");
    }
    if body.texts.is_empty() || body.texts.len() > MAX_DRAFTS {
        problems.push("/texts", format!("1 to {MAX_DRAFTS} texts"));
    }
    for (i, text) in body.texts.iter().enumerate() {
        if text.text.chars().count() > MAX_DRAFT_CHARS {
            problems.push(
                format!("/texts/{i}/text"),
                format!("at most {MAX_DRAFT_CHARS} characters"),
            );
        }
    }
    let (Some(record), true) = (record, problems.is_empty()) else {
        return Err(ApiError::Invalid(problems));
    };
    let drafts: Vec<Draft> = body
        .texts
        .into_iter()
        .map(|t| Draft {
            text: t.text,
            escape: if t.html { Escape::Html } else { Escape::Plain },
        })
        .collect();
    // The administrators' reach, as the tenant's access policies set it.
    let access = Access::of_user(
        state.settings.as_ref(),
        state.users.as_ref(),
        &caller.tenant,
        &caller.stored,
    )
    .await?;
    let rendered = Drafts {
        settings: state.settings.as_ref(),
        records: state.records.as_ref(),
        users: state.users.as_ref(),
    }
    .render(&caller.tenant, &access, module, &record, &drafts)
    .await?;
    let texts: Vec<_> = rendered
        .into_iter()
        .map(|r| match r {
            RenderedDraft::Rendered(text) => json!({"rendered": text, "problems": []}),
            RenderedDraft::Refused(errors) => json!({
                "rendered": null,
                "problems": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
        })
        .collect();
    Ok(Json(json!({"record": record, "texts": texts})).into_response())
}
