//! The executor's ledger and run history in the runs table, and the effects it commits with
//! them in the records table.
//!
//! | item | table | pk | sk | gsi1pk / gsi1sk |
//! |------|-------|----|----|-----------------|
//! | run | runs | `T#<tenant>#J#<idempotency key>` | `RUN` | `T#<tenant>#WF#<workflow>` / `<updated>#<key>` |
//! | notification | records | `T#<tenant>#U#<user>` | `N#<at>#<id>` | – |

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::errors::{built, condition_failed, corrupt, unavailable};
use super::paging::Scope;
use super::record_item::RecordItem;
use super::{Item, query_page, s};
use crm_model::ids::{RecordId, TenantId, WorkflowId};
use crm_model::ports::{ClaimOutcome, Page, PageRequest, RunLedger, StoreError};
use crm_model::run::{Effect, RunRecord, RunStatus};

/// Runs are kept this long, then expire through TTL.
const KEEP_DAYS: i64 = 400;

#[derive(Debug, Clone)]
pub struct DynamoRunLedger {
    client: Client,
    runs: String,
    records: String,
}

#[derive(Serialize, Deserialize)]
struct RunItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    gsi2pk: String,
    gsi2sk: String,
    /// Dead-lettered runs only (sparse index gsi3): `T#<tenant>#DEAD`, `<at>#<key>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi3pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi3sk: Option<String>,
    expires_at: i64,
    status: RunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease_until: Option<String>,
    run: RunRecord,
}

fn run_pk(tenant: &TenantId, key: &str) -> String {
    format!("T#{tenant}#J#{key}")
}

fn counter_pk(tenant: &TenantId, name: &str) -> String {
    format!("T#{tenant}#RR#{name}")
}

/// The condition that a counter is still at `expected` (a counter never written is at 0).
fn counter_guard(
    expected: u64,
) -> (
    &'static str,
    &'static str,
    aws_sdk_dynamodb::types::AttributeValue,
) {
    if expected == 0 {
        (
            "attribute_not_exists(pk) OR n = :zero",
            ":zero",
            super::n(0),
        )
    } else {
        ("n = :expected", ":expected", super::n(expected))
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl DynamoRunLedger {
    pub fn new(client: Client, runs: impl Into<String>, records: impl Into<String>) -> Self {
        Self {
            client,
            runs: runs.into(),
            records: records.into(),
        }
    }

    fn run_item(&self, run: &RunRecord) -> Result<Item, StoreError> {
        serde_dynamo::to_item(RunItem {
            pk: run_pk(&run.tenant, &run.key),
            sk: "RUN".to_owned(),
            gsi1pk: format!("T#{}#WF#{}", run.tenant, run.workflow),
            gsi1sk: format!("{}#{}", stamp(run.updated_at), run.key),
            gsi2pk: format!("T#{}#REC#{}", run.tenant, run.record),
            gsi2sk: format!("{}#{}", stamp(run.updated_at), run.key),
            gsi3pk: run
                .dead_letter
                .as_ref()
                .map(|_| format!("T#{}#DEAD", run.tenant)),
            gsi3sk: run
                .dead_letter
                .as_ref()
                .map(|d| format!("{}#{}", stamp(d.at), run.key)),
            expires_at: run.updated_at.timestamp() + KEEP_DAYS * 24 * 3600,
            status: run.status,
            lease_until: run.lease_until.map(stamp),
            run: run.clone(),
        })
        .map_err(corrupt)
    }

    /// A Put of the run that only succeeds while the run has not succeeded yet.
    fn guarded_put(&self, run: &RunRecord) -> Result<Put, StoreError> {
        built(
            Put::builder()
                .table_name(&self.runs)
                .set_item(Some(self.run_item(run)?))
                .condition_expression("attribute_not_exists(pk) OR #status <> :succeeded")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":succeeded", s("succeeded"))
                .build(),
        )
    }

    /// One effect's write; records carry the run's origin, for the stream's loop guard.
    fn effect_put(&self, run: &RunRecord, effect: &Effect) -> Result<Put, StoreError> {
        let tenant = &run.tenant;
        let written = |record, revision| {
            let mut item = RecordItem::new(tenant, record, revision);
            item.automation = Some(run.write_origin());
            serde_dynamo::to_item(item).map_err(corrupt)
        };
        let put = Put::builder().table_name(&self.records);
        let put = match effect {
            Effect::Create(record) => put
                .set_item(Some(written(record, 1)?))
                .condition_expression("attribute_not_exists(pk)"),
            Effect::Replace { record, expected } => put
                .set_item(Some(written(record, expected + 1)?))
                .condition_expression("revision = :expected")
                .expression_attribute_values(":expected", super::n(*expected)),
            Effect::Advance { counter, expected } => {
                let (condition, placeholder, value) = counter_guard(*expected);
                let put = Put::builder()
                    .table_name(&self.runs)
                    .item("pk", s(counter_pk(tenant, counter)))
                    .item("sk", s("COUNTER"))
                    .item("n", super::n(expected + 1))
                    .condition_expression(condition)
                    .expression_attribute_values(placeholder, value);
                return built(put.build());
            }
            Effect::Notify(notification) => put.set_item(Some(
                super::notifications::notification_item(tenant, notification)?,
            )),
        };
        built(put.build())
    }
}

/// A conditional PutItem's answer: written, or refused by its condition (`LostRace`).
fn conditional_put<T>(
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<
            PutItemError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    >,
) -> Result<ClaimOutcome, StoreError> {
    match result {
        Ok(_) => Ok(ClaimOutcome::Claimed),
        Err(error) => match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(ClaimOutcome::LostRace),
            _ => Err(unavailable(error)),
        },
    }
}

#[async_trait]
impl RunLedger for DynamoRunLedger {
    async fn get(&self, tenant: &TenantId, key: &str) -> Result<Option<RunRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.runs)
            .key("pk", s(run_pk(tenant, key)))
            .key("sk", s("RUN"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let stored: RunItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        Ok(Some(stored.run))
    }

    async fn claim(
        &self,
        run: &RunRecord,
        takeover: Option<&RunRecord>,
    ) -> Result<ClaimOutcome, StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.runs)
            .set_item(Some(self.run_item(run)?));
        let request = match takeover {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(previous) => {
                let status = serde_json::to_value(previous.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                request
                    .condition_expression("#status = :status AND #run.attempts = :attempts")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#run", "run")
                    .expression_attribute_values(":status", s(status))
                    .expression_attribute_values(":attempts", super::n(previous.attempts))
            }
        };
        conditional_put(request.send().await)
    }

    async fn request_retry(
        &self,
        run: &RunRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        let retry = run.retried(now);
        let result = self
            .client
            .put_item()
            .table_name(&self.runs)
            .set_item(Some(self.run_item(&retry)?))
            .condition_expression(
                "#status IN (:failed, :unknown, :retrying, :cancelled) AND #run.attempts = :attempts",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#run", "run")
            .expression_attribute_values(":failed", s(RunStatus::Failed.as_str()))
            .expression_attribute_values(":unknown", s(RunStatus::Unknown.as_str()))
            .expression_attribute_values(":retrying", s(RunStatus::Retrying.as_str()))
            .expression_attribute_values(":cancelled", s(RunStatus::Cancelled.as_str()))
            .expression_attribute_values(":attempts", super::n(run.attempts))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(retry)),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(None),
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn progress(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.runs)
            .set_item(Some(self.run_item(run)?))
            .condition_expression("#status = :in_progress AND #run.attempts = :attempts")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#run", "run")
            .expression_attribute_values(":in_progress", s(RunStatus::InProgress.as_str()))
            .expression_attribute_values(":attempts", super::n(run.attempts))
            .send()
            .await;
        conditional_put(result)
    }

    async fn record(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.runs)
            .set_item(Some(self.run_item(run)?))
            .condition_expression("attribute_not_exists(pk) OR #status <> :succeeded")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":succeeded", s("succeeded"))
            .send()
            .await;
        conditional_put(result)
    }

    async fn record_unstarted(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.runs)
            .set_item(Some(self.run_item(run)?))
            .condition_expression("attribute_not_exists(pk) OR #run.attempts = :zero")
            .expression_attribute_names("#run", "run")
            .expression_attribute_values(":zero", super::n(0))
            .send()
            .await;
        conditional_put(result)
    }

    async fn commit(
        &self,
        run: &RunRecord,
        effects: &[Effect],
    ) -> Result<ClaimOutcome, StoreError> {
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .put(self.guarded_put(run)?)
                .build(),
        );
        for effect in effects {
            request = request.transact_items(
                TransactWriteItem::builder()
                    .put(self.effect_put(run, effect)?)
                    .build(),
            );
        }
        // A customer written by the automation stays findable by the duplicate check.
        for effect in effects {
            if let Effect::Create(record) | Effect::Replace { record, .. } = effect {
                for item in super::identity::identity_items(&run.tenant, record) {
                    let put = Put::builder()
                        .table_name(&self.records)
                        .set_item(Some(item))
                        .build();
                    request = request
                        .transact_items(TransactWriteItem::builder().put(built(put)?).build());
                }
            }
        }
        match request.send().await {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    if condition_failed(e.cancellation_reasons(), 0) {
                        Ok(ClaimOutcome::LostRace)
                    } else {
                        // An effect's record changed under it: the redelivery recomputes.
                        Err(StoreError::Conflict { expected: 0 })
                    }
                }
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn counter(&self, tenant: &TenantId, name: &str) -> Result<u64, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.runs)
            .key("pk", s(counter_pk(tenant, name)))
            .key("sk", s("COUNTER"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output
            .item
            .as_ref()
            .and_then(|item| item.get("n"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    async fn advance(
        &self,
        tenant: &TenantId,
        name: &str,
        expected: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        // The same item and condition as a commit's `Effect::Advance`.
        let (condition, placeholder, value) = counter_guard(expected);
        let put = self
            .client
            .put_item()
            .table_name(&self.runs)
            .item("pk", s(counter_pk(tenant, name)))
            .item("sk", s("COUNTER"))
            .item("n", super::n(expected + 1))
            .condition_expression(condition)
            .expression_attribute_values(placeholder, value);
        conditional_put(put.send().await)
    }

    async fn dead_letters(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.latest("gsi3", format!("T#{tenant}#DEAD"), page).await
    }

    async fn history(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.latest("gsi1", format!("T#{tenant}#WF#{workflow}"), page)
            .await
    }

    async fn record_history(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.latest("gsi2", format!("T#{tenant}#REC#{record}"), page)
            .await
    }
}

impl DynamoRunLedger {
    /// A page of runs of one index partition, latest first.
    async fn latest(
        &self,
        index: &str,
        partition: String,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        let attr = format!("{index}pk");
        let query = self
            .client
            .query()
            .table_name(&self.runs)
            .index_name(index)
            .key_condition_expression(format!("{attr} = :pk"))
            .expression_attribute_values(":pk", s(&partition))
            .scan_index_forward(false);
        let (items, next) = query_page(query, page, Scope::partition(&attr, &partition)).await?;
        let items = items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, RunItem>(item)
                    .map(|r| r.run)
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }
}
