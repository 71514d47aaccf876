//! Action jobs onto the automation bus (EventBridge), where a rule routes them to the executor's
//! queue and any other consumer can subscribe.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crm_model::ports::{JobPublisher, PublishError};
use crm_model::schedule::ActionJob;

/// The event source and detail type the template's rule matches.
pub const JOB_SOURCE: &str = "crm.automation";
pub const JOB_DETAIL_TYPE: &str = "ActionJob";

/// PutEvents takes at most 10 entries.
const BATCH: usize = 10;
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone)]
pub struct EventBridgeJobPublisher {
    client: Client,
    bus: String,
}

impl EventBridgeJobPublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    /// The publisher the functions use: the bus the template names in `AUTOMATION_BUS`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, crate::config::ConfigError> {
        Ok(Self::new(
            Client::new(sdk),
            crate::config::var("AUTOMATION_BUS")?,
        ))
    }

    fn entry(&self, job: &ActionJob) -> Result<PutEventsRequestEntry, PublishError> {
        let detail =
            serde_json::to_string(job).map_err(|e| PublishError::Unavailable(Box::new(e)))?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(JOB_SOURCE)
            .detail_type(JOB_DETAIL_TYPE)
            .detail(detail)
            .build())
    }
}

#[async_trait]
impl JobPublisher for EventBridgeJobPublisher {
    async fn publish(&self, jobs: &[ActionJob]) -> Result<usize, PublishError> {
        let mut calls = 0;
        for chunk in jobs.chunks(BATCH) {
            let mut pending = chunk
                .iter()
                .map(|job| self.entry(job))
                .collect::<Result<Vec<_>, _>>()?;
            for attempt in 0..ATTEMPTS {
                calls += 1;
                let output = self
                    .client
                    .put_events()
                    .set_entries(Some(pending.clone()))
                    .send()
                    .await
                    .map_err(|e| PublishError::Unavailable(Box::new(e)))?;
                if output.failed_entry_count == 0 {
                    pending.clear();
                    break;
                }
                // Entries answer in request order; retry only those with an error code.
                pending = pending
                    .into_iter()
                    .zip(output.entries())
                    .filter(|(_, result)| result.error_code().is_some())
                    .map(|(entry, _)| entry)
                    .collect();
                tracing::warn!(
                    failed = pending.len(),
                    attempt,
                    "PutEvents rejected entries; retrying"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            if !pending.is_empty() {
                return Err(PublishError::Rejected {
                    failed: pending.len(),
                    total: jobs.len(),
                });
            }
        }
        Ok(calls)
    }
}
