//! The due schedule in the schedule table.
//!
//! | item         | pk                        | sk                         | due_shard (sparse) | due_at                                   |
//! |--------------|---------------------------|----------------------------|--------------------|------------------------------------------|
//! | entry        | `T#<tenant>#W#<workflow>` | `R#<record>`               | `S00`… when armed  | `<fire or retry instant, UTC>#E#<tenant>/<workflow>/<record>` |
//! | entry (calendar lane) | as above          | as above                   | – (`cal_shard` `C00`…) | – (`cal_at` `<MM-DDTHH:MM:SS>#E#…`) |
//! | outbox       | `T#<tenant>#W#<workflow>` | `O#<record>#<cause>`       | always             | `<retry instant>#O#…`                    |
//! | event mark   | `T#<tenant>#W#<workflow>` | `V#<stream event id>`      | –                  | – (TTL `expires_at`)                     |
//! | last run     | `T#<tenant>#W#<workflow>` | `L#<record>`               | –                  | –                                        |
//! | maintenance  | `T#<tenant>#W#<workflow>` | `M`                        | always             | `<request instant>#M#<tenant>/<workflow>` |
//! | scan state   | `SCAN`                    | `STATE`, `STATE#<group>`   | –                  | –                                        |
//!
//! The `due` index holds only armed entries, pending outboxes (of stream events whose publish
//! failed) and maintenance requests, so a scan's Query reads what is due and nothing else. A
//! claim is one conditional UpdateItem of the entry (on its revision), made after its jobs are
//! published. The `calendar` index holds yearly entries armed ahead by time of year, and
//! projects only what stays from one year to the next (tenant, workflow, record, version,
//! key_shift): claiming this year's occurrence and arming next year's at the same time of year
//! writes neither index. An entry the scan holds after a failure sits in the index at its retry instant; a
//! parked one, and an item set aside as unreadable, is out of the index.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::errors::{condition_failed, corrupt, unavailable};
use super::paging::Scope;
use super::{Item, n, paging, query_page, s};
use chrono::Datelike;
use crm_model::ids::{RecordId, TenantId, WorkflowId};
use crm_model::ports::{
    ClaimOutcome, DueIndex, DuePage, Maintenance, MaintenanceRequests, OccurrenceClaims, Outbox,
    Outboxes, Page, PageRequest, ScheduleEntries, ScheduleEntry, StoreError,
};
use crm_model::ports::{DueItem, DueLane, MalformedItem};
use crm_model::schedule::due_shard;
use crm_model::schedule::ports::calendar_bounds;
use crm_model::trigger::{Occurrence, OccurrenceKey};

mod items;

use items::{
    CALENDAR_LANE, EntryItem, MAINTENANCE_SK, MaintenanceItem, OutboxItem, calendar_shard_name,
    entry_cal_at, entry_due_at, entry_pk, instant, key, key_shift, outbox_due_at, outbox_sk,
    parse_calendar, parse_due, shard_name,
};

#[derive(Debug, Clone)]
pub struct DynamoScheduleStore {
    client: Client,
    table: String,
    shards: u32,
}

impl DynamoScheduleStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            shards: crm_model::schedule::DUE_SHARDS,
        }
    }

    /// Spreads entries over `shards` shards of the due index (the deployment's `DueShards`).
    pub fn with_shards(self, shards: u32) -> Self {
        Self {
            shards: shards.max(1),
            ..self
        }
    }

    fn shard_of(&self, tenant: &TenantId, workflow: &WorkflowId, record: &RecordId) -> String {
        shard_name(due_shard(tenant, workflow, record, self.shards))
    }

    fn calendar_shard_of(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> String {
        calendar_shard_name(due_shard(tenant, workflow, record, self.shards))
    }

    fn outbox_item(&self, outbox: &Outbox) -> Result<Item, StoreError> {
        let jobs =
            serde_json::to_string(&outbox.jobs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        serde_dynamo::to_item(OutboxItem {
            pk: entry_pk(&outbox.tenant, &outbox.workflow),
            sk: outbox_sk(&outbox.record, &outbox.cause),
            tenant: outbox.tenant.clone(),
            workflow: outbox.workflow.clone(),
            record: outbox.record.clone(),
            cause: outbox.cause.clone(),
            jobs,
            due_shard: self.shard_of(&outbox.tenant, &outbox.workflow, &outbox.record),
            due_at: outbox_due_at(outbox, outbox.retry_after),
        })
        .map_err(corrupt)
    }
}

#[async_trait]
impl ScheduleEntries for DynamoScheduleStore {
    async fn get(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<Option<ScheduleEntry>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, workflow, record)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let stored: EntryItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        Ok(Some(stored.into_entry()))
    }

    async fn put(&self, entry: &ScheduleEntry) -> Result<ClaimOutcome, StoreError> {
        let item: Item =
            serde_dynamo::to_item(EntryItem::new(entry, entry.revision + 1, self.shards))
                .map_err(corrupt)?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = if entry.revision == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request
                .condition_expression("revision = :expected")
                .expression_attribute_values(":expected", n(entry.revision))
        };
        match request.send().await {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Ok(ClaimOutcome::LostRace)
                }
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, workflow, record)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn set_aside(&self, item: &MalformedItem, reason: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&item.pk))
            .key("sk", s(&item.sk))
            .update_expression(
                "SET set_aside = :reason REMOVE due_shard, due_at, cal_shard, cal_at",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":reason", s(reason))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone meanwhile: nothing left to set aside.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn entries_of(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<ScheduleEntry>, StoreError> {
        let pk = entry_pk(tenant, workflow);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :entries)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":entries", s("R#"));
        let scope = Scope::partition("pk", &pk).prefixed("sk", "R#");
        let (items, next) = query_page(query, page, scope).await?;
        let items = items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, EntryItem>(item)
                    .map(EntryItem::into_entry)
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }
}

/// One page of a query on a due index: up to 1,000 items (index items are small, and a page
/// that few calls read is what lets the scan keep up), each read with `parse`, and DynamoDB's
/// Count as the items read.
async fn due_page(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    page: &PageRequest,
    scope: Scope<'_>,
    parse: impl Fn(Item) -> DueItem,
) -> Result<DuePage, StoreError> {
    let start = match &page.cursor {
        Some(cursor) => Some(paging::decode(cursor, scope)?),
        None => None,
    };
    let output = query
        .limit(page.limit.clamp(1, 1000) as i32)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(unavailable)?;
    Ok(DuePage {
        items_read: output.count.max(0) as u64,
        next: paging::encode(output.last_evaluated_key.as_ref()),
        items: output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(parse)
            .collect(),
    })
}

/// The scan state item of a shard group: `STATE` for the whole scan (the historic item).
fn scan_state_sk(scope: &str) -> String {
    if scope.is_empty() {
        "STATE".to_owned()
    } else {
        format!("STATE#{scope}")
    }
}

#[async_trait]
impl DueIndex for DynamoScheduleStore {
    fn shards(&self) -> u32 {
        self.shards
    }

    async fn due_on_calendar(
        &self,
        shard: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError> {
        let shard = calendar_shard_name(shard);
        // `from` exclusive; from an earlier year: the start of `to`'s.
        let Some((low, high)) = calendar_bounds(from, to) else {
            return Ok(DuePage {
                items: Vec::new(),
                items_read: 0,
                next: None,
            });
        };
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("calendar")
            .key_condition_expression("cal_shard = :shard AND cal_at BETWEEN :low AND :high")
            .expression_attribute_values(":shard", s(&shard))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high));
        let year = to.year();
        due_page(query, page, Scope::partition("cal_shard", &shard), |item| {
            parse_calendar(item, year)
        })
        .await
    }

    async fn due(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError> {
        let shard = shard_name(shard);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("due")
            .key_condition_expression("due_shard = :shard AND due_at <= :bound")
            .expression_attribute_values(":shard", s(&shard))
            // Everything after the instant sorts below '~'.
            .expression_attribute_values(":bound", s(format!("{}#~", instant(now))));
        due_page(
            query,
            page,
            Scope::partition("due_shard", &shard),
            parse_due,
        )
        .await
    }

    async fn last_scan_end(&self, scope: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("SCAN"))
            .key("sk", s(scan_state_sk(scope)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let end = output
            .item
            .as_ref()
            .and_then(|item| item.get("last_end"))
            .and_then(|v| v.as_s().ok())
            .map(|s| {
                s.parse::<DateTime<Utc>>()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()?;
        Ok(end)
    }

    async fn save_scan_end(&self, scope: &str, end: DateTime<Utc>) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s("SCAN"))
            .key("sk", s(scan_state_sk(scope)))
            .update_expression("SET last_end = :end")
            .condition_expression("attribute_not_exists(last_end) OR last_end < :end")
            .expression_attribute_values(":end", s(instant(end)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A later scan already moved it further: nothing to do.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(unavailable(error)),
        }
    }
}

#[async_trait]
impl OccurrenceClaims for DynamoScheduleStore {
    async fn claim(
        &self,
        entry: &ScheduleEntry,
        next: Option<&Occurrence>,
        occurrence: &OccurrenceKey,
        lane: DueLane,
    ) -> Result<ClaimOutcome, StoreError> {
        // One conditional update, no transaction: the jobs are on the bus already.
        let (tenant, workflow, record) = (&entry.tenant, &entry.workflow, &entry.record);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, workflow, record)))
            .expression_attribute_values(":fired", s(occurrence.to_string()));
        let mut set = vec!["last_fired = :fired"];
        let mut remove = vec!["failed_attempts", "failure", "retry_at"];
        let mut add = "";
        let seen_on_calendar = entry
            .placement()
            .filter(|(lane, _)| *lane == DueLane::Calendar)
            .map(|(_, at)| entry_cal_at(at, tenant, workflow, record));
        if entry.read_from_calendar() {
            // Read from the calendar lane, without its revision: still there, at this version,
            // and this occurrence not fired yet.
            update = update
                .condition_expression(
                    "cal_at = :seen AND version = :version AND (attribute_not_exists(last_fired) OR last_fired <> :fired)",
                )
                .expression_attribute_values(
                    ":seen",
                    s(seen_on_calendar.clone().unwrap_or_default()),
                )
                .expression_attribute_values(":version", n(entry.version))
                .expression_attribute_values(":one", n(1));
            add = " ADD revision :one";
        } else {
            update = update
                .condition_expression("revision = :expected")
                .expression_attribute_values(":expected", n(entry.revision))
                .expression_attribute_values(":revision", n(entry.revision + 1));
            set.push("revision = :revision");
        }
        match next {
            Some(next) => {
                set.extend(["next_key = :key", "next_at = :at"]);
                update = update
                    .expression_attribute_values(":key", s(next.key.to_string()))
                    .expression_attribute_values(":at", s(instant(next.fire_at)));
                match lane {
                    DueLane::Calendar => {
                        let cal_at = entry_cal_at(next.fire_at, tenant, workflow, record);
                        // Next year's occurrence at the same time of year: no index key and no
                        // attribute the calendar index projects changes, so the index is not
                        // written at all.
                        if seen_on_calendar.as_deref() != Some(cal_at.as_str()) {
                            set.extend([
                                "cal_shard = :cal_shard",
                                "cal_at = :cal_at",
                                "key_shift = :shift",
                                "lane = :lane",
                            ]);
                            update = update
                                .expression_attribute_values(
                                    ":cal_shard",
                                    s(self.calendar_shard_of(tenant, workflow, record)),
                                )
                                .expression_attribute_values(":cal_at", s(cal_at))
                                .expression_attribute_values(":shift", n(key_shift(next)))
                                .expression_attribute_values(":lane", s(CALENDAR_LANE));
                        }
                        remove.extend(["due_shard", "due_at"]);
                    }
                    DueLane::Instant => {
                        set.extend(["due_shard = :shard", "due_at = :due"]);
                        update = update
                            .expression_attribute_values(
                                ":shard",
                                s(self.shard_of(tenant, workflow, record)),
                            )
                            .expression_attribute_values(
                                ":due",
                                s(entry_due_at(next.fire_at, tenant, workflow, record)),
                            );
                        remove.extend(["cal_shard", "cal_at", "key_shift", "lane"]);
                    }
                }
            }
            None => remove.extend([
                "next_key",
                "next_at",
                "due_shard",
                "due_at",
                "cal_shard",
                "cal_at",
                "key_shift",
                "lane",
            ]),
        }
        let expression = format!("SET {} REMOVE {}{add}", set.join(", "), remove.join(", "));
        match update.update_expression(expression).send().await {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(ClaimOutcome::LostRace)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn claim_event(
        &self,
        outbox: &Outbox,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        let pk = entry_pk(&outbox.tenant, &outbox.workflow);
        // Stream records live 24 hours; the mark outlives any redelivery.
        let expires = now.timestamp() + 3 * 24 * 3600;
        let mark = Put::builder()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("sk", s(format!("V#{event_id}")))
            .item("expires_at", n(expires))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let last_run = Put::builder()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("sk", s(format!("L#{}", outbox.record)))
            .item("at", s(instant(now)))
            .build()
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let outbox_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.outbox_item(outbox)?))
            .build()
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(mark).build())
            .transact_items(TransactWriteItem::builder().put(last_run).build())
            .transact_items(TransactWriteItem::builder().put(outbox_put).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e))
                    if condition_failed(e.cancellation_reasons(), 0) =>
                {
                    Ok(ClaimOutcome::LostRace)
                }
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn last_run(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(entry_pk(tenant, workflow)))
            .key("sk", s(format!("L#{record}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .item
            .as_ref()
            .and_then(|item| item.get("at"))
            .and_then(|v| v.as_s().ok())
            .map(|at| {
                at.parse::<DateTime<Utc>>()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }
}

#[async_trait]
impl Outboxes for DynamoScheduleStore {
    async fn take_outbox(
        &self,
        outbox: &Outbox,
        until: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(entry_pk(&outbox.tenant, &outbox.workflow)))
            .key("sk", s(outbox_sk(&outbox.record, &outbox.cause)))
            .update_expression("SET due_at = :until")
            .condition_expression("due_at = :seen")
            .expression_attribute_values(":seen", s(outbox_due_at(outbox, outbox.retry_after)))
            .expression_attribute_values(":until", s(outbox_due_at(outbox, until)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(ClaimOutcome::LostRace)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn clear_outbox(&self, outbox: &Outbox) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(entry_pk(&outbox.tenant, &outbox.workflow)))
            .key("sk", s(outbox_sk(&outbox.record, &outbox.cause)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl MaintenanceRequests for DynamoScheduleStore {
    async fn request_maintenance(
        &self,
        request: &Maintenance,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Spread requests over the shards like entries (record part empty).
        let shard = due_shard(
            &request.tenant,
            &request.workflow,
            &RecordId::new("M").map_err(|e| StoreError::Corrupt(e.to_string()))?,
            self.shards,
        );
        let item: Item = serde_dynamo::to_item(MaintenanceItem {
            pk: entry_pk(&request.tenant, &request.workflow),
            sk: MAINTENANCE_SK.to_owned(),
            tenant: request.tenant.clone(),
            workflow: request.workflow.clone(),
            version: request.version,
            kind: request.kind,
            cursor: request.cursor.clone(),
            due_shard: shard_name(shard),
            due_at: format!("{}#M#{}/{}", instant(now), request.tenant, request.workflow),
        })
        .map_err(corrupt)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn checkpoint_maintenance(
        &self,
        request: &Maintenance,
        cursor: Option<String>,
    ) -> Result<(), StoreError> {
        let key = [
            (
                "pk".to_owned(),
                s(entry_pk(&request.tenant, &request.workflow)),
            ),
            ("sk".to_owned(), s(MAINTENANCE_SK)),
        ];
        let kind = serde_json::to_value(request.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        // Only the request this scan worked on: a newer one (another version) stays.
        let condition = "version = :version AND kind = :kind";
        let result = match cursor {
            Some(cursor) => self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.into_iter().collect()))
                .update_expression("SET #cursor = :cursor")
                .expression_attribute_names("#cursor", "cursor")
                .expression_attribute_values(":cursor", s(cursor))
                .condition_expression(condition)
                .expression_attribute_values(":version", n(request.version))
                .expression_attribute_values(":kind", s(kind))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (
                        e.as_service_error()
                            .is_some_and(|e| e.is_conditional_check_failed_exception()),
                        unavailable(e),
                    )
                }),
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key.into_iter().collect()))
                .condition_expression(condition)
                .expression_attribute_values(":version", n(request.version))
                .expression_attribute_values(":kind", s(kind))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (
                        e.as_service_error()
                            .is_some_and(|e| e.is_conditional_check_failed_exception()),
                        unavailable(e),
                    )
                }),
        };
        match result {
            Ok(()) | Err((true, _)) => Ok(()),
            Err((false, error)) => Err(error),
        }
    }
}
