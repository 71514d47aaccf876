//! The record-events function's composition root: its dependencies (from the environment on
//! AWS, or handed in by tests and the demo) and the handler of one stream batch.
//!
//! Each stream record of the records table keeps the care workflows' due schedule in step with
//! the record, runs the module's work workflows and scores the record under its scoring rules;
//! a change of an approval request runs its outcome's actions, notifies the users it asks to
//! decide and arms its step's timer. A failure is reported as a partial batch failure at that
//! record, and the batch stops there: Lambda retries from the first failure, in order, so later
//! records of the same shard are not handled ahead of it.

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use tracing::Instrument;

use crm_adapters::dynamo::{approval_change, record_change};
use crm_model::approval::followups::Followups;
use crm_model::ports::{
    Clock, JobPublisher, NotificationInbox, RecordStore, RunLedger, ScheduleStore, SettingsStore,
    SystemClock, WorkflowCatalog,
};
use crm_model::schedule::record_events::{BatchCache, RecordEvents};

/// Everything the handler talks to.
pub struct Deps {
    pub workflows: Arc<dyn WorkflowCatalog>,
    /// Where the scoring rules write scores.
    pub records: Arc<dyn RecordStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub schedule: Arc<dyn ScheduleStore>,
    pub publisher: Arc<dyn JobPublisher>,
    /// Where a work workflow stopped at the end of a chain of automation writes says so.
    pub runs: Arc<dyn RunLedger>,
    /// Where approvers and submitters are told of a request's steps and outcome.
    pub inbox: Arc<dyn NotificationInbox>,
    pub clock: Arc<dyn Clock>,
}

impl Deps {
    /// The deployed wiring: DynamoDB tables and the automation bus the template names.
    pub async fn from_env() -> Result<Self, crm_adapters::ConfigError> {
        let sdk = crm_adapters::config::load_sdk_config().await;
        let publisher = crm_adapters::events::EventBridgeJobPublisher::from_env(&sdk)?;
        Ok(Self::aws(
            crm_adapters::dynamo::Stores::from_env(&sdk)?,
            publisher,
        ))
    }

    /// The AWS wiring over given stores and bus: what the emulator tests run (with a schedule
    /// table of their own), exactly as deployed otherwise.
    pub fn aws(
        stores: crm_adapters::dynamo::Stores,
        publisher: crm_adapters::events::EventBridgeJobPublisher,
    ) -> Self {
        Self {
            workflows: Arc::new(stores.workflows),
            records: Arc::new(stores.records),
            settings: Arc::new(stores.settings),
            schedule: Arc::new(stores.schedule),
            runs: Arc::new(stores.runs),
            inbox: Arc::new(stores.inbox),
            publisher: Arc::new(publisher),
            clock: Arc::new(SystemClock),
        }
    }

    /// The use case over these dependencies.
    pub fn record_events(&self) -> RecordEvents<'_> {
        RecordEvents {
            workflows: self.workflows.as_ref(),
            records: self.records.as_ref(),
            settings: self.settings.as_ref(),
            schedule: self.schedule.as_ref(),
            publisher: self.publisher.as_ref(),
            runs: self.runs.as_ref(),
            clock: self.clock.as_ref(),
        }
    }

    /// What a request's change sets off.
    pub fn followups(&self) -> Followups<'_> {
        Followups {
            workflows: self.workflows.as_ref(),
            schedule: self.schedule.as_ref(),
            publisher: self.publisher.as_ref(),
            inbox: self.inbox.as_ref(),
        }
    }
}

fn failure_at(
    record: &aws_lambda_events::event::dynamodb::EventRecord,
) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    failure
}

/// Handles a batch in order; the first failure and everything after it come back for a retry.
pub async fn handle(deps: &Deps, event: &Event) -> DynamoDbEventResponse {
    let events = deps.record_events();
    let mut cache = BatchCache::default();
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        if let Some((old, new)) =
            approval_change(&record.change.old_image, &record.change.new_image)
        {
            let span = tracing::info_span!("approval_change", tenant = %new.tenant, workflow = %new.workflow, record = %new.record, request = %new.id);
            let followed = deps
                .followups()
                .handle(old.as_ref(), &new)
                .instrument(span.clone())
                .await;
            if let Err(error) = followed {
                let _entered = span.enter();
                tracing::error!(error = %error, "approval follow-up failed; this and later records are retried");
                response.batch_item_failures.push(failure_at(record));
                break;
            }
            continue;
        }
        let Some((tenant, change, origin)) =
            record_change(&record.change.old_image, &record.change.new_image)
        else {
            continue;
        };
        let current = change.current();
        let span = tracing::info_span!("record_change", tenant = %tenant, record = %current.id, module = %current.module);
        let handled = events
            .handle(
                &tenant,
                &record.event_id,
                &change,
                origin.as_ref(),
                &mut cache,
            )
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        if let Err(error) = handled {
            tracing::error!(error = %error, "record change failed; this and later records are retried");
            response.batch_item_failures.push(failure_at(record));
            break;
        }
    }
    response
}

#[cfg(test)]
mod tests;
