//! Jobs onto the bus in PutEvents batches sized by count and by bytes, several batches in
//! flight, with an answer per job: a job the bus refuses (too large, rejected after retries)
//! is reported against that job alone, so that the scan can hold the one entry it came from
//! and publish every other.

use futures_util::StreamExt;
use futures_util::stream;

use crate::schedule::ActionJob;
use crate::schedule::ports::{JobPublisher, PublishError};

/// PutEvents takes at most 10 entries a call…
pub const MAX_BATCH_JOBS: usize = 10;
/// …and at most 256 KiB a request, every entry's size counted.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// What an entry adds to its detail (source, detail type) as EventBridge counts it, rounded up.
pub const ENTRY_OVERHEAD_BYTES: usize = 64;
/// The largest job the executor's queue can still carry once EventBridge has wrapped it in its
/// event envelope (SQS, like EventBridge, stops at 256 KiB).
pub const MAX_JOB_BYTES: usize = 240 * 1024;

/// The size a job counts for in a PutEvents request.
pub fn job_bytes(job: &ActionJob) -> usize {
    serde_json::to_vec(job).map_or(usize::MAX, |detail| detail.len()) + ENTRY_OVERHEAD_BYTES
}

/// Makes a job small enough for the bus where it can be: as it is, or without its record
/// snapshot (the executor then reads the record when it runs, as it does for every effect).
/// `false` when even that is too large (the batching then refuses it on its own).
pub fn fit(job: &mut ActionJob) -> bool {
    if job_bytes(job) <= MAX_JOB_BYTES {
        return true;
    }
    job.snapshot = None;
    job_bytes(job) <= MAX_JOB_BYTES
}

/// The batches PutEvents takes `jobs` in, in order, as index ranges: at most
/// [`MAX_BATCH_JOBS`] jobs and [`MAX_BATCH_BYTES`] each. A job over [`MAX_JOB_BYTES`] is left
/// out and listed in the second vector.
pub fn batches(jobs: &[ActionJob]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut too_large = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut current_bytes = 0;
    for (index, job) in jobs.iter().enumerate() {
        let bytes = job_bytes(job);
        if bytes > MAX_JOB_BYTES {
            too_large.push(index);
            continue;
        }
        if current.len() == MAX_BATCH_JOBS || current_bytes + bytes > MAX_BATCH_BYTES {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(index);
        current_bytes += bytes;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    (batches, too_large)
}

/// What publishing a set of jobs did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub calls: usize,
    /// Jobs not on the bus, by index in the jobs given, with the reason.
    pub refused: Vec<(usize, String)>,
}

/// Publishes `jobs` with up to `in_flight` PutEvents calls at once. `Err` when the bus did not
/// answer a call (some jobs may be on the bus already: their keys make publishing them again
/// harmless).
pub async fn publish_each<P: JobPublisher + ?Sized>(
    publisher: &P,
    jobs: &[ActionJob],
    in_flight: usize,
) -> Result<Published, PublishError> {
    let (batches, too_large) = batches(jobs);
    let mut published = Published {
        calls: 0,
        refused: too_large
            .into_iter()
            .map(|index| {
                let reason = format!(
                    "the job takes {} KiB, over the {} KiB an event may carry",
                    job_bytes(&jobs[index]) / 1024,
                    MAX_JOB_BYTES / 1024
                );
                (index, reason)
            })
            .collect(),
    };
    let outcomes: Vec<_> = stream::iter(batches)
        .map(|batch| async move {
            let jobs_of_batch: Vec<ActionJob> = batch.iter().map(|&i| jobs[i].clone()).collect();
            (batch, publisher.publish_batch(&jobs_of_batch).await)
        })
        .buffer_unordered(in_flight.max(1))
        .collect()
        .await;
    let mut unavailable = None;
    for (batch, outcome) in outcomes {
        match outcome {
            Ok(outcome) => {
                published.calls += outcome.calls;
                published.refused.extend(
                    outcome
                        .refused
                        .into_iter()
                        .filter_map(|(i, reason)| batch.get(i).map(|&index| (index, reason))),
                );
            }
            Err(error) => {
                published.calls += 1;
                unavailable.get_or_insert(error);
            }
        }
    }
    match unavailable {
        Some(error) => Err(error),
        None => Ok(published),
    }
}

/// Publishes every job, one batch after another, or fails: for the few jobs of one stream event
/// or one retry. Returns the calls made.
pub async fn publish_all<P: JobPublisher + ?Sized>(
    publisher: &P,
    jobs: &[ActionJob],
) -> Result<usize, PublishError> {
    let published = publish_each(publisher, jobs, 1).await?;
    if published.refused.is_empty() {
        Ok(published.calls)
    } else {
        Err(PublishError::Rejected {
            failed: published.refused.len(),
            total: jobs.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ActionId, RecordId, TenantId, WorkflowId};

    fn job(snapshot_bytes: usize) -> ActionJob {
        let mut snapshot = serde_json::Map::new();
        snapshot.insert("Note".into(), "x".repeat(snapshot_bytes).into());
        ActionJob {
            tenant: TenantId::new("t").unwrap(),
            workflow: WorkflowId::new("w").unwrap(),
            version: 1,
            record: RecordId::new("r").unwrap(),
            cause: "Y2027".into(),
            action: ActionId::new("a").unwrap(),
            due_at: "2027-05-17T01:00:00Z".parse().unwrap(),
            snapshot: Some(snapshot),
            depth: 0,
        }
    }

    #[test]
    fn batches_hold_ten_jobs_or_256_kib_whichever_comes_first() {
        let small: Vec<ActionJob> = (0..25).map(|_| job(100)).collect();
        let (formed, too_large) = batches(&small);
        assert_eq!(formed.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert!(too_large.is_empty());
        // 60 KiB each: four fit in a request, the fifth starts the next.
        let large: Vec<ActionJob> = (0..6).map(|_| job(60 * 1024)).collect();
        let (formed, _) = batches(&large);
        assert_eq!(formed.iter().map(Vec::len).collect::<Vec<_>>(), [4, 2]);
    }

    #[test]
    fn a_job_over_the_event_limit_is_left_out_alone() {
        let jobs = vec![job(10), job(300 * 1024), job(10)];
        let (formed, too_large) = batches(&jobs);
        assert_eq!(formed, [vec![0, 2]]);
        assert_eq!(too_large, [1]);
    }

    #[test]
    fn a_job_too_large_with_its_snapshot_goes_without_it() {
        let mut fitted = job(300 * 1024);
        assert!(fit(&mut fitted));
        assert!(fitted.snapshot.is_none());
        let mut kept = job(1024);
        assert!(fit(&mut kept));
        assert!(kept.snapshot.is_some());
    }
}
