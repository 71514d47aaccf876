//! A fake [`JobPublisher`] that keeps every job it published, so a test can assert that each
//! occurrence was published once (or, after a failure, what was published before it).
//!
//! It answers as `EventBridgeJobPublisher` would when every entry is accepted at once: one
//! PutEvents call per batch (the model forms batches of up to ten jobs and 256 KiB). It can be
//! told to fail the next batch calls, or every call, with a [`PublishFault`]; a fault may let the
//! first jobs of the batch through, as PutEvents answers per entry.

use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use crate::schedule::ActionJob;
use crate::schedule::ports::{BatchOutcome, JobPublisher, PublishError};

/// How a batch call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishFault {
    /// The bus stops answering after the first `published` jobs of the batch went through:
    /// `PublishError::Unavailable`.
    Unavailable { published: usize },
    /// The bus refuses every job of the batch after the first `published`.
    Rejected { published: usize },
}

impl PublishFault {
    /// Nothing published, the bus did not answer.
    pub const DOWN: PublishFault = PublishFault::Unavailable { published: 0 };
}

#[derive(Debug, Default)]
struct PublisherState {
    published: Vec<ActionJob>,
    calls: usize,
    bus_calls: usize,
    planned: VecDeque<PublishFault>,
    always: Option<PublishFault>,
}

/// The recording [`JobPublisher`].
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    state: Mutex<PublisherState>,
}

impl RecordingPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, PublisherState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fails the next `n` batch calls with `fault`.
    pub fn fail_next(&self, n: usize, fault: PublishFault) {
        self.lock().planned.extend(std::iter::repeat_n(fault, n));
    }

    /// Fails every publish call without a planned fault with `fault`, or none (`None`).
    pub fn fail_always(&self, fault: Option<PublishFault>) {
        self.lock().always = fault;
    }

    /// Every job published, in order (a job published twice appears twice).
    pub fn jobs(&self) -> Vec<ActionJob> {
        self.lock().published.clone()
    }

    /// The idempotency keys of every job published, in order.
    pub fn idempotency_keys(&self) -> Vec<String> {
        self.lock()
            .published
            .iter()
            .map(ActionJob::idempotency_key)
            .collect()
    }

    /// Takes the jobs published so far (as an executor would consume the queue).
    pub fn take_jobs(&self) -> Vec<ActionJob> {
        std::mem::take(&mut self.lock().published)
    }

    /// How many batch calls were made, failed calls included.
    pub fn publish_calls(&self) -> usize {
        self.lock().calls
    }

    /// How many PutEvents calls were made (one per batch).
    pub fn bus_calls(&self) -> usize {
        self.lock().bus_calls
    }
}

#[async_trait]
impl JobPublisher for RecordingPublisher {
    async fn publish_batch(&self, batch: &[ActionJob]) -> Result<BatchOutcome, PublishError> {
        let mut state = self.lock();
        state.calls += 1;
        state.bus_calls += 1;
        let fault = state.planned.pop_front().or(state.always);
        let Some(fault) = fault else {
            state.published.extend_from_slice(batch);
            return Ok(BatchOutcome {
                calls: 1,
                refused: Vec::new(),
            });
        };
        let (PublishFault::Unavailable { published } | PublishFault::Rejected { published }) =
            fault;
        let published = published.min(batch.len());
        state.published.extend_from_slice(&batch[..published]);
        match fault {
            PublishFault::Unavailable { .. } => Err(PublishError::Unavailable(
                "injected fault: the bus did not answer".into(),
            )),
            PublishFault::Rejected { .. } => Ok(BatchOutcome {
                calls: 1,
                refused: (published..batch.len())
                    .map(|i| (i, "InternalException: injected rejection".to_owned()))
                    .collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ActionId, RecordId, TenantId, WorkflowId};
    use chrono::DateTime;

    fn jobs(n: usize) -> Vec<ActionJob> {
        (0..n)
            .map(|i| ActionJob {
                depth: 0,
                tenant: TenantId::new("t1").unwrap(),
                workflow: WorkflowId::new("w1").unwrap(),
                version: 1,
                record: RecordId::new(format!("r{i}")).unwrap(),
                cause: "Y2026".into(),
                action: ActionId::new("a1").unwrap(),
                due_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
                snapshot: None,
            })
            .collect()
    }

    #[tokio::test]
    async fn bus_calls_are_batches_of_ten_and_a_partial_failure_keeps_what_went_through() {
        let publisher = RecordingPublisher::new();
        assert_eq!(publisher.publish(&jobs(21)).await.unwrap(), 3);
        assert_eq!(publisher.publish(&[]).await.unwrap(), 0);
        // The first batch of ten lets five through; the second goes whole.
        publisher.fail_next(1, PublishFault::Rejected { published: 5 });
        let failed = publisher.publish(&jobs(15)).await;
        assert!(matches!(
            failed,
            Err(PublishError::Rejected {
                failed: 5,
                total: 15
            })
        ));
        assert_eq!(publisher.jobs().len(), 31);
        publisher.fail_always(Some(PublishFault::DOWN));
        assert!(publisher.publish(&jobs(1)).await.is_err());
        assert_eq!(publisher.publish_calls(), 6);
    }
}
