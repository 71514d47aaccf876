//! Action jobs onto the automation bus (EventBridge), where a rule routes them to the executor's
//! queue and any other consumer can subscribe.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crm_model::ports::{BatchOutcome, JobPublisher, PublishError};
use crm_model::schedule::ActionJob;

/// The event source and detail type the template's rule matches.
pub const JOB_SOURCE: &str = "crm.automation";
pub const JOB_DETAIL_TYPE: &str = "ActionJob";

/// Calls per batch: the first, then retries of the entries the bus rejected for a while
/// (throttling, an internal error).
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
    /// One batch as the model formed it (at most 10 entries within 256 KiB); entries rejected
    /// with an error code are retried with a backoff, and those still rejected are reported by
    /// index with EventBridge's code and message.
    async fn publish_batch(&self, batch: &[ActionJob]) -> Result<BatchOutcome, PublishError> {
        let mut outcome = BatchOutcome::default();
        let mut pending: Vec<(usize, PutEventsRequestEntry)> = Vec::with_capacity(batch.len());
        for (index, job) in batch.iter().enumerate() {
            match self.entry(job) {
                Ok(entry) => pending.push((index, entry)),
                Err(error) => outcome.refused.push((index, error.to_string())),
            }
        }
        for attempt in 0..ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            outcome.calls += 1;
            let output = self
                .client
                .put_events()
                .set_entries(Some(pending.iter().map(|(_, e)| e.clone()).collect()))
                .send()
                .await
                .map_err(|e| PublishError::Unavailable(Box::new(e)))?;
            if output.failed_entry_count == 0 {
                pending.clear();
                break;
            }
            // Entries answer in request order; keep only those with an error code.
            let rejected: Vec<((usize, PutEventsRequestEntry), String)> = pending
                .into_iter()
                .zip(output.entries())
                .filter_map(|(entry, result)| {
                    result.error_code().map(|code| {
                        let message = result.error_message().unwrap_or_default();
                        (entry, format!("{code}: {message}"))
                    })
                })
                .collect();
            if attempt + 1 == ATTEMPTS {
                outcome.refused.extend(
                    rejected
                        .into_iter()
                        .map(|((index, _), reason)| (index, reason)),
                );
                break;
            }
            tracing::warn!(
                failed = rejected.len(),
                attempt,
                "PutEvents rejected entries; retrying"
            );
            pending = rejected.into_iter().map(|(entry, _)| entry).collect();
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
        outcome.refused.sort_unstable_by_key(|(index, _)| *index);
        Ok(outcome)
    }
}
