//! The automation settings API (functions/workflow-api): workflows, their versions and lifecycle,
//! sample templates, the settings actions reference, tenant settings and the module schema.

mod allocation;
mod drafts;
mod library;
mod runs;
mod samples;
mod settings;
mod web_forms;
mod workflows;

use axum::Router;
use axum::http::Method;
use axum::routing::{get, post};
use std::sync::Arc;

use crate::auth::Members;
use crate::routes::{self, Route};
use crm_model::ports::{
    Clock, HostResolver, JobPublisher, MaintenanceRequests, RecordStore, RunLedger, SecretVault,
    SettingsStore, UserDirectory, WorkflowCatalog,
};
use crm_model::run::service::Runs;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::service::Settings;
use crm_model::user::membership::MembershipCache;
use crm_model::workflow::service::Workflows;

/// What the handlers need, built once per Lambda sandbox.
#[derive(Clone)]
pub struct State {
    pub workflows: Arc<dyn WorkflowCatalog>,
    pub settings: Arc<dyn SettingsStore>,
    pub users: Arc<dyn UserDirectory>,
    /// Only to request backfill and cleanup of the due schedule.
    pub schedule: Arc<dyn MaintenanceRequests>,
    pub records: Arc<dyn RecordStore>,
    pub runs: Arc<dyn RunLedger>,
    pub publisher: Arc<dyn JobPublisher>,
    pub clock: Arc<dyn Clock>,
    /// Provider credentials: written and described here, never read.
    pub secrets: Arc<dyn SecretVault>,
    /// Resolves provider hosts when a setting is saved.
    pub resolver: Arc<dyn HostResolver>,
    /// Where providers may be reached (https to public hosts on AWS).
    pub outbound: OutboundPolicy,
    /// The users this sandbox checked callers against recently.
    pub members: Arc<MembershipCache>,
    /// Each mailbox's sync status, which the mailbox sync writes (read only here).
    pub mailbox_sync: Arc<dyn crm_model::mailbox::ports::SyncStatusStore>,
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
    fn settings_use_cases(&self) -> Settings<'_> {
        Settings {
            settings: self.settings.as_ref(),
            users: self.users.as_ref(),
            workflows: self.workflows.as_ref(),
            secrets: self.secrets.as_ref(),
            resolver: self.resolver.as_ref(),
            outbound: self.outbound,
        }
    }

    fn run_use_cases(&self) -> Runs<'_> {
        Runs {
            runs: self.runs.as_ref(),
            records: self.records.as_ref(),
            publisher: self.publisher.as_ref(),
            clock: self.clock.as_ref(),
        }
    }

    fn use_cases(&self) -> Workflows<'_> {
        Workflows {
            workflows: self.workflows.as_ref(),
            settings: self.settings.as_ref(),
            users: self.users.as_ref(),
            schedule: self.schedule.as_ref(),
            clock: self.clock.as_ref(),
        }
    }
}

/// Every route of the API; the OpenAPI document lists exactly these.
pub const ROUTES: &[Route] = &[
    (Method::GET, "/workflows"),
    (Method::POST, "/workflows"),
    (Method::GET, "/workflows/{id}"),
    (Method::PUT, "/workflows/{id}"),
    (Method::DELETE, "/workflows/{id}"),
    (Method::POST, "/workflows/{id}/activate"),
    (Method::POST, "/workflows/{id}/deactivate"),
    (Method::GET, "/workflows/{id}/versions"),
    (Method::GET, "/workflows/{id}/versions/{version}"),
    (Method::GET, "/workflows/{id}/preview"),
    (Method::GET, "/workflows/{id}/score-preview"),
    (Method::GET, "/workflows/{id}/runs"),
    (Method::POST, "/workflows/{id}/runs/retry"),
    (Method::GET, "/records/{id}/runs"),
    (Method::GET, "/dead-letters"),
    (Method::GET, "/samples"),
    (Method::GET, "/samples/{id}"),
    (Method::POST, "/samples/{id}/workflows"),
    (Method::GET, "/settings/{kind}"),
    (Method::POST, "/settings/{kind}"),
    (Method::GET, "/settings/{kind}/{id}"),
    (Method::PUT, "/settings/{kind}/{id}"),
    (Method::DELETE, "/settings/{kind}/{id}"),
    (Method::GET, "/settings/{kind}/{id}/credentials"),
    (Method::PUT, "/settings/{kind}/{id}/credentials"),
    (Method::DELETE, "/settings/{kind}/{id}/credentials"),
    (Method::GET, "/settings/{kind}/{id}/workflows"),
    (Method::POST, "/settings/web-forms/{id}/key"),
    (Method::GET, "/settings/mailboxes/{id}/sync"),
    (Method::POST, "/settings/{kind}/{id}/apply"),
    (Method::GET, "/tenant-settings"),
    (Method::PUT, "/tenant-settings"),
    (Method::GET, "/modules"),
    (Method::GET, "/modules/{module}"),
    (Method::GET, "/modules/{module}/allocation-preview"),
    (Method::POST, "/modules/{module}/merge-preview"),
];

pub fn router(state: State) -> Router {
    Router::new()
        .route("/workflows", get(workflows::list).post(workflows::create))
        .route(
            "/workflows/{id}",
            get(workflows::get)
                .put(workflows::update)
                .delete(workflows::delete),
        )
        .route("/workflows/{id}/activate", post(workflows::activate))
        .route("/workflows/{id}/deactivate", post(workflows::deactivate))
        .route("/workflows/{id}/versions", get(workflows::versions))
        .route(
            "/workflows/{id}/versions/{version}",
            get(workflows::version),
        )
        .route("/workflows/{id}/preview", get(workflows::preview))
        .route(
            "/workflows/{id}/score-preview",
            get(workflows::score_preview),
        )
        .route("/workflows/{id}/runs", get(runs::history))
        .route("/workflows/{id}/runs/retry", post(runs::retry))
        .route("/records/{id}/runs", get(runs::record_history))
        .route("/dead-letters", get(runs::dead_letters))
        .route("/samples", get(samples::list))
        .route("/samples/{id}", get(samples::get))
        .route("/samples/{id}/workflows", post(samples::create_workflow))
        .route(
            "/settings/{kind}",
            get(settings::list).post(settings::create),
        )
        .route(
            "/settings/{kind}/{id}",
            get(settings::get)
                .put(settings::replace)
                .delete(settings::delete),
        )
        .route(
            "/settings/{kind}/{id}/credentials",
            get(settings::credentials_status)
                .put(settings::set_credentials)
                .delete(settings::remove_credentials),
        )
        .route("/settings/{kind}/{id}/workflows", get(library::uses))
        .route("/settings/{kind}/{id}/apply", post(library::apply))
        .route(
            "/tenant-settings",
            get(settings::get_tenant).put(settings::put_tenant),
        )
        .route("/settings/web-forms/{id}/key", post(web_forms::issue_key))
        .route("/settings/mailboxes/{id}/sync", get(settings::mailbox_sync))
        .route("/modules", get(settings::modules))
        .route("/modules/{module}", get(settings::module))
        .route(
            "/modules/{module}/allocation-preview",
            get(allocation::preview),
        )
        .route("/modules/{module}/merge-preview", post(drafts::preview))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
}
