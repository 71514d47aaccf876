//! The one mapping from domain errors to HTTP: `application/problem+json` bodies (RFC 9457) with
//! a type, title, status, detail and, for invalid input, every field error with its JSON pointer.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crm_model::approval::request::TransitionError;
use crm_model::approval::service::ApprovalError;
use crm_model::ports::StoreError;
use crm_model::record::service::RecordError;
use crm_model::run::service::RunError;
use crm_model::scoring::preview::ScorePreviewError;
use crm_model::settings::service::SettingError;
use crm_model::template::draft::DraftError;
use crm_model::user::membership::MembershipError;
use crm_model::user::service::PeopleError;
use crm_model::validation::{Problem, Problems};
use crm_model::workflow::preview::PreviewError;
use crm_model::workflow::service::WorkflowError;

/// Everything an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request is not valid")]
    Invalid(Problems),
    #[error("sign in first: {0}")]
    Unauthenticated(&'static str),
    #[error("only administrators may do this")]
    Forbidden,
    /// The caller's role may not do this.
    #[error("{0}")]
    NotPermitted(String),
    /// The token is valid but its subject is not an active user of its tenant.
    #[error("{0}")]
    NotAMember(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Something that worked once and never will again (a spent decision link).
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("send If-Match with the ETag you read, so that no one else's change is overwritten")]
    PreconditionRequired,
    /// A request for a host this server does not serve (the local server answers loopback only).
    #[error("{0}")]
    MisdirectedRequest(String),
    #[error("the service is temporarily unavailable; try again")]
    Unavailable,
    #[error("an internal error occurred")]
    Internal,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    errors: &'a [Problem],
}

impl ApiError {
    pub fn invalid_field(path: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(Problems::single(path, message))
    }

    /// The status the error answers with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON"),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation-failed",
                "Validation failed",
            ),
            Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Unauthenticated",
            ),
            Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            NotAMember(_) => (StatusCode::FORBIDDEN, "not-a-member", "Not a member"),
            NotPermitted(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Gone(_) => (StatusCode::GONE, "gone", "Gone"),
            PreconditionFailed(_) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
            ),
            MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "Precondition required",
            ),
            MisdirectedRequest(_) => (
                StatusCode::MISDIRECTED_REQUEST,
                "misdirected-request",
                "Misdirected request",
            ),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }
}

/// Where the problem types are described.
const PROBLEM_BASE: &str = "https://crm-automation.dev/problems/";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let errors: &[Problem] = match &self {
            ApiError::Invalid(problems) => problems.as_slice(),
            _ => &[],
        };
        let body = ProblemBody {
            kind: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: status.as_u16(),
            detail: self.to_string(),
            errors,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, json).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound("no such item".into()),
            StoreError::AlreadyExists => {
                ApiError::Conflict("an item with this id already exists".into())
            }
            StoreError::Conflict { expected } => ApiError::PreconditionFailed(format!(
                "the item changed since revision {expected}; reload it and try again"
            )),
            e @ StoreError::LimitReached { .. } => ApiError::Conflict(e.to_string()),
            e @ StoreError::InUse => ApiError::Conflict(e.to_string()),
            StoreError::ReferenceGone { field } => ApiError::invalid_field(
                format!("/fields/{field}"),
                "the record it names no longer exists (deleted meanwhile)",
            ),
            StoreError::BadCursor => {
                ApiError::invalid_field("/cursor", "not a cursor this API handed out")
            }
            e @ StoreError::TooMany { .. } => ApiError::invalid_field(
                "/related",
                format!("{e}: this customer has too many related records to handle in one request"),
            ),
            StoreError::Unavailable(source) => {
                tracing::warn!(error = %source, "store unavailable");
                ApiError::Unavailable
            }
            StoreError::Corrupt(detail) => {
                tracing::error!(%detail, "unreadable stored item");
                ApiError::Internal
            }
        }
    }
}

impl From<WorkflowError> for ApiError {
    fn from(error: WorkflowError) -> Self {
        match error {
            WorkflowError::Invalid(problems) => ApiError::Invalid(problems),
            e @ (WorkflowError::NotFound
            | WorkflowError::VersionNotFound(_)
            | WorkflowError::SampleNotFound(_)
            | WorkflowError::LibraryActionNotFound) => ApiError::NotFound(e.to_string()),
            e @ WorkflowError::Stale { .. } => ApiError::PreconditionFailed(e.to_string()),
            e @ (WorkflowError::AlreadyExists
            | WorkflowError::Transition(_)
            | WorkflowError::DeleteActive
            | WorkflowError::DeleteApproval
            | WorkflowError::LimitReached { .. }) => ApiError::Conflict(e.to_string()),
            WorkflowError::Store(store) => store.into(),
        }
    }
}

impl From<ApprovalError> for ApiError {
    fn from(error: ApprovalError) -> Self {
        match error {
            e @ ApprovalError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ApprovalError::Forbidden(reason) => ApiError::NotPermitted(reason),
            ApprovalError::Invalid(path, message) => ApiError::invalid_field(path, message),
            e @ ApprovalError::Transition(TransitionError::NotAnApprover(_))
            | e @ ApprovalError::Transition(TransitionError::NotTheSubmitter) => {
                ApiError::NotPermitted(e.to_string())
            }
            e @ ApprovalError::Transition(TransitionError::RecordStep(_))
            | e @ ApprovalError::Transition(TransitionError::NotARecordStep(_)) => {
                ApiError::invalid_field("/verdict", e.to_string())
            }
            e @ ApprovalError::Transition(TransitionError::AlreadyAnApprover(..))
            | e @ ApprovalError::Transition(TransitionError::TooManyApprovers(_)) => {
                ApiError::invalid_field("/to", e.to_string())
            }
            e @ ApprovalError::Transition(TransitionError::NotOnTheStep(..)) => {
                ApiError::invalid_field("/from", e.to_string())
            }
            e @ (ApprovalError::AlreadyPending(_)
            | ApprovalError::NoneApplies(_)
            | ApprovalError::Transition(_)
            | ApprovalError::Resolve(_)
            | ApprovalError::AlreadyRecorded(_)
            | ApprovalError::HistoryFull
            | ApprovalError::Broken(_)) => ApiError::Conflict(e.to_string()),
            e @ ApprovalError::LinkSpent(_) => ApiError::Gone(e.to_string()),
            ApprovalError::Busy => ApiError::Unavailable,
            ApprovalError::Store(store) => store.into(),
        }
    }
}

impl From<RecordError> for ApiError {
    fn from(error: RecordError) -> Self {
        match error {
            RecordError::Invalid(problems) => ApiError::Invalid(problems),
            e @ RecordError::NotFound(_) => ApiError::NotFound(e.to_string()),
            e @ RecordError::Stale { .. } => ApiError::PreconditionFailed(e.to_string()),
            e @ (RecordError::InUse(_) | RecordError::Conflict(_)) => {
                ApiError::Conflict(e.to_string())
            }
            RecordError::Forbidden(reason) => ApiError::NotPermitted(reason),
            RecordError::Store(store) => store.into(),
        }
    }
}

impl From<SettingError> for ApiError {
    fn from(error: SettingError) -> Self {
        match error {
            SettingError::Invalid(problems) => ApiError::Invalid(problems),
            e @ (SettingError::NotFound | SettingError::NoCredentials) => {
                ApiError::NotFound(e.to_string())
            }
            e @ SettingError::Stale { .. } => ApiError::PreconditionFailed(e.to_string()),
            e @ (SettingError::AlreadyExists | SettingError::InUse(_)) => {
                ApiError::Conflict(e.to_string())
            }
            SettingError::Store(store) => store.into(),
        }
    }
}

impl From<RunError> for ApiError {
    fn from(error: RunError) -> Self {
        match error {
            e @ (RunError::RunNotFound | RunError::RecordNotFound) => {
                ApiError::NotFound(e.to_string())
            }
            e @ (RunError::NotRetryable(_)
            | RunError::Changed
            | RunError::RecordedUnderAnEarlierKey) => ApiError::Conflict(e.to_string()),
            RunError::Publish(error) => {
                tracing::warn!(error = %error, "retry not published");
                ApiError::Unavailable
            }
            RunError::Store(store) => store.into(),
        }
    }
}

impl From<PreviewError> for ApiError {
    fn from(error: PreviewError) -> Self {
        match error {
            e @ PreviewError::NotFound => ApiError::NotFound(e.to_string()),
            e @ PreviewError::NotTimeTriggered => ApiError::Conflict(e.to_string()),
            PreviewError::Store(store) => store.into(),
        }
    }
}

impl From<DraftError> for ApiError {
    fn from(error: DraftError) -> Self {
        match error {
            e @ DraftError::RecordNotFound { .. } => ApiError::NotFound(e.to_string()),
            DraftError::Store(store) => store.into(),
        }
    }
}

impl From<ScorePreviewError> for ApiError {
    fn from(error: ScorePreviewError) -> Self {
        match error {
            e @ ScorePreviewError::NotFound => ApiError::NotFound(e.to_string()),
            e @ (ScorePreviewError::NotScoring | ScorePreviewError::NoLongerFits) => {
                ApiError::Conflict(e.to_string())
            }
            ScorePreviewError::Store(store) => store.into(),
        }
    }
}

impl From<MembershipError> for ApiError {
    fn from(error: MembershipError) -> Self {
        match error {
            e @ (MembershipError::NotAMember | MembershipError::Inactive) => {
                ApiError::NotAMember(e.to_string())
            }
            MembershipError::Store(store) => store.into(),
        }
    }
}

impl From<PeopleError> for ApiError {
    fn from(error: PeopleError) -> Self {
        match error {
            PeopleError::Invalid(problems) => ApiError::Invalid(problems),
            e @ (PeopleError::UserNotFound | PeopleError::NotificationNotFound) => {
                ApiError::NotFound(e.to_string())
            }
            e @ (PeopleError::UserExists(_) | PeopleError::LastAdministrator) => {
                ApiError::Conflict(e.to_string())
            }
            PeopleError::Store(store) => store.into(),
        }
    }
}
