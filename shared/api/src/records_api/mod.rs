//! The CRM records API (functions/records-api): records of every module, the customer page's
//! related lists, history, purchases, duplicates, merge and hand-over, users and teams, and each
//! user's in-app notifications.

mod approvals;
mod calls;
mod customers;
mod imports;
mod intake;
mod layout;
mod loyalty;
mod messages;
mod people;
mod records;
mod schedule;
mod views;

use axum::Router;
use axum::http::Method;
use axum::routing::{get, post};
use std::sync::Arc;

use crate::auth::{Caller, Members};
use crate::problem::ApiError;
use crate::routes::{self, Route};
use crm_model::ports::{
    Clock, NotificationInbox, RecordStore, RunLedger, SettingsStore, UserDirectory,
};
use crm_model::record::service::{Actor, Records};
use crm_model::user::membership::MembershipCache;
use crm_model::user::service::People;

/// What the handlers need, built once per Lambda sandbox.
#[derive(Clone)]
pub struct State {
    pub records: Arc<dyn RecordStore>,
    pub users: Arc<dyn UserDirectory>,
    pub settings: Arc<dyn SettingsStore>,
    pub runs: Arc<dyn RunLedger>,
    pub inbox: Arc<dyn NotificationInbox>,
    pub approvals: Arc<dyn crm_model::approval::store::ApprovalStore>,
    /// Approval workflows, read to submit a record and to decide under a request's version.
    pub workflows: Arc<dyn crm_model::ports::WorkflowCatalog>,
    /// Care workflows' schedule entries, read to tell a record's coming occurrences.
    pub schedule: Arc<dyn crm_model::schedule::ports::ScheduleEntries>,
    /// Files stored with records: only links to them are handed out.
    pub attachments: Arc<dyn crm_model::record::attachments::AttachmentStore>,
    pub clock: Arc<dyn Clock>,
    /// The users this sandbox checked callers against recently.
    pub members: Arc<MembershipCache>,
    /// The switchboards' keys, read under the caller's tenant (or the one a signature proves).
    pub secrets: Arc<dyn crm_model::settings::secrets::SecretVault>,
    /// Places the calls users start from a customer.
    pub switchboard: Arc<dyn crm_model::run::providers::Switchboard>,
}

impl Members for State {
    fn users(&self) -> &dyn UserDirectory {
        self.users.as_ref()
    }
    fn membership_cache(&self) -> &MembershipCache {
        &self.members
    }
    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

impl State {
    fn people(&self) -> People<'_> {
        People {
            users: self.users.as_ref(),
            inbox: self.inbox.as_ref(),
        }
    }

    fn approvals(&self) -> crm_model::approval::service::Approvals<'_> {
        crm_model::approval::service::Approvals {
            approvals: self.approvals.as_ref(),
            records: self.records.as_ref(),
            workflows: self.workflows.as_ref(),
            settings: self.settings.as_ref(),
            users: self.users.as_ref(),
            clock: self.clock.as_ref(),
        }
    }

    fn telephony(&self) -> crm_model::record::service::Telephony<'_> {
        crm_model::record::service::Telephony {
            records: self.use_cases(),
            switchboard: self.switchboard.as_ref(),
            secrets: self.secrets.as_ref(),
        }
    }

    fn use_cases(&self) -> Records<'_> {
        Records {
            records: self.records.as_ref(),
            users: self.users.as_ref(),
            settings: self.settings.as_ref(),
            runs: self.runs.as_ref(),
            inbox: self.inbox.as_ref(),
            clock: self.clock.as_ref(),
        }
    }
}

/// The caller as the records use cases see them: with the access the tenant gives their role.
async fn actor(state: &State, caller: &Caller) -> Result<Actor, ApiError> {
    Ok(state
        .use_cases()
        .actor_of(&caller.tenant, &caller.stored)
        .await?)
}

/// Every route of the API; the OpenAPI document lists exactly these.
pub const ROUTES: &[Route] = &[
    (Method::GET, "/records/{module}"),
    (Method::POST, "/records/{module}"),
    (Method::GET, "/records/{module}/{id}"),
    (Method::PUT, "/records/{module}/{id}"),
    (Method::PATCH, "/records/{module}/{id}"),
    (Method::DELETE, "/records/{module}/{id}"),
    (Method::POST, "/records/{module}/{id}/clone"),
    (Method::GET, "/records/{module}/{id}/activities"),
    (Method::GET, "/records/{module}/{id}/schedule"),
    (Method::GET, "/records/{module}/{id}/attachments/{name}"),
    (Method::GET, "/records/{module}/{id}/approvals"),
    (Method::POST, "/records/{module}/{id}/approvals"),
    (Method::GET, "/records/{module}/{id}/approvals/{request}"),
    (
        Method::POST,
        "/records/{module}/{id}/approvals/{request}/{action}",
    ),
    (Method::GET, "/me/approvals"),
    (Method::GET, "/approval-links/{token}"),
    (Method::POST, "/approval-links/{token}"),
    (Method::POST, "/imports/{module}"),
    (Method::POST, "/intake/{key}"),
    (Method::GET, "/customers/duplicates"),
    (Method::GET, "/customers/{id}/duplicates"),
    (Method::POST, "/customers/{id}/merge"),
    (Method::GET, "/customers/{id}/related"),
    (Method::GET, "/customers/{id}/activities"),
    (Method::GET, "/customers/{id}/sales"),
    (Method::GET, "/customers/{id}/purchase-stats"),
    (Method::POST, "/customers/{id}/orders"),
    (Method::POST, "/customers/{id}/quotes"),
    (Method::POST, "/customers/{id}/opportunities"),
    (Method::POST, "/customers/{id}/hand-over"),
    (Method::GET, "/customers/{id}/loyalty"),
    (Method::POST, "/customers/{id}/loyalty/redemptions"),
    (Method::POST, "/customers/{id}/calls"),
    (Method::POST, "/voip/{endpoint}/events"),
    (Method::GET, "/customers/{id}/messages"),
    (Method::POST, "/customers/{id}/messages"),
    (Method::GET, "/users"),
    (Method::POST, "/users"),
    (Method::GET, "/users/{id}"),
    (Method::PUT, "/users/{id}"),
    (Method::GET, "/teams"),
    (Method::GET, "/customers/{id}/view"),
    (Method::GET, "/me/customer-page"),
    (Method::PUT, "/me/customer-page"),
    (Method::GET, "/me/notifications"),
    (Method::POST, "/me/notifications/{key}/read"),
];

/// Whether a request path belongs to this API rather than the automation settings API, as the
/// template's HTTP API routes decide (a record's run history stays with the automation API).
pub fn serves(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["records", _, "runs"] => false,
        [first, ..] => [
            "records",
            "imports",
            "intake",
            "customers",
            "users",
            "teams",
            "me",
            "approval-links",
            "voip",
        ]
        .contains(first),
        [] => false,
    }
}

pub fn router(state: State) -> Router {
    Router::new()
        .route(
            "/records/{module}",
            get(records::list).post(records::create),
        )
        .route(
            "/records/{module}/{id}",
            get(records::get)
                .put(records::replace)
                .patch(records::patch)
                .delete(records::delete),
        )
        .route("/records/{module}/{id}/clone", post(records::clone))
        .route(
            "/records/{module}/{id}/activities",
            get(customers::record_activities),
        )
        .route(
            "/records/{module}/{id}/schedule",
            get(schedule::upcoming_for_record),
        )
        .route(
            "/records/{module}/{id}/attachments/{name}",
            get(records::attachment),
        )
        .route(
            "/records/{module}/{id}/approvals",
            get(approvals::history).post(approvals::submit),
        )
        .route(
            "/records/{module}/{id}/approvals/{request}",
            get(approvals::get_one),
        )
        .route(
            "/records/{module}/{id}/approvals/{request}/{action}",
            post(approvals::act),
        )
        .route("/me/approvals", get(approvals::mine))
        .route(
            "/approval-links/{token}",
            get(approvals::open_link).post(approvals::decide_by_link),
        )
        .route("/imports/{module}", post(imports::import))
        .route("/intake/{key}", post(intake::intake))
        .route(
            "/customers/duplicates",
            get(customers::duplicates_of_values),
        )
        .route("/customers/{id}/duplicates", get(customers::duplicates_of))
        .route("/customers/{id}/merge", post(customers::merge))
        .route("/customers/{id}/related", get(customers::related))
        .route("/customers/{id}/activities", get(customers::activities))
        .route("/customers/{id}/sales", get(customers::sales))
        .route(
            "/customers/{id}/purchase-stats",
            get(customers::purchase_stats),
        )
        .route("/customers/{id}/orders", post(customers::create_order))
        .route("/customers/{id}/quotes", post(customers::create_quote))
        .route(
            "/customers/{id}/opportunities",
            post(customers::create_opportunity),
        )
        .route("/customers/{id}/hand-over", post(customers::hand_over))
        .route("/customers/{id}/loyalty", get(loyalty::balance))
        .route("/customers/{id}/loyalty/redemptions", post(loyalty::redeem))
        .route("/customers/{id}/calls", post(calls::call))
        .route("/voip/{endpoint}/events", post(calls::event))
        .route(
            "/customers/{id}/messages",
            get(messages::history).post(messages::send),
        )
        .route("/users", get(people::list_users).post(people::create_user))
        .route(
            "/users/{id}",
            get(people::get_user).put(people::replace_user),
        )
        .route("/teams", get(people::teams))
        .route("/me/notifications", get(people::notifications))
        .route(
            "/me/customer-page",
            get(layout::get_layout).put(layout::put_layout),
        )
        .route("/customers/{id}/view", get(layout::view))
        .route("/me/notifications/{key}/read", post(people::mark_read))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
}
