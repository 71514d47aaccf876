//! Scan cost against the local emulator: N customers, a fraction with a birthday today, one
//! active birthday workflow; one scan at 08:00 next to a naive baseline that reads every record
//! of the module. Prints `key=value` lines. Items read come from DynamoDB's own Count figures
//! (and records returned by BatchGetItem), not estimates.
//!
//!     infra/stack.sh up && source .local/env
//!     cargo bench -p crm-adapters --bench scan                    # 10k records, 1% due
//!     BENCH_RECORDS=100000 BENCH_DUE_PERCENT=100 cargo bench -p crm-adapters --bench scan
//!
//! `BENCH_ARM=direct` writes each record's schedule entry directly (what the backfill would write)
//! instead of running the backfill, and `BENCH_NAIVE=skip` leaves out the baseline: the emulator
//! answers a GSI query by filtering the whole table, so listing 100,000 records page by page takes
//! it hours, while the scan's own reads (the sparse due index, the due records) stay small.

use std::collections::HashMap;
use std::time::Instant;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use crm_adapters::Tables;
use crm_adapters::dynamo::{DynamoScheduleStore, RecordItem, Stores};
use crm_adapters::events::EventBridgeJobPublisher;
use crm_model::condition::EvalContext;
use crm_model::ids::{RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{
    BatchOutcome, DueLane, FixedClock, JobPublisher, PublishError, SettingsStore, StoredRecord,
    UserDirectory,
};
use crm_model::schedule::scan::{Scanner, ShardGroup};
use crm_model::schedule::{ActionJob, next_to_arm};
use crm_model::settings::{Setting, SmsGateway, SmsProvider, TenantSettings};
use crm_model::template::SmsTemplate;
use crm_model::trigger::Trigger;
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;
use serde_json::json;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Counts jobs instead of sending them, for sizes where the emulator's bus would dominate.
struct CountingPublisher(std::sync::atomic::AtomicU64);

#[async_trait::async_trait]
impl JobPublisher for CountingPublisher {
    async fn publish_batch(&self, batch: &[ActionJob]) -> Result<BatchOutcome, PublishError> {
        self.0
            .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(BatchOutcome {
            calls: 1,
            refused: Vec::new(),
        })
    }
}

#[tokio::main]
async fn main() {
    let records = env_number("BENCH_RECORDS", 10_000);
    let due_percent = env_number("BENCH_DUE_PERCENT", 1).min(100);
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let tables = Tables::from_env().unwrap_or_else(|_| Tables {
        settings: "crm-local-settings".into(),
        records: "crm-local-records".into(),
        schedule: "crm-local-schedule".into(),
        runs: "crm-local-runs".into(),
    });
    let stores = Stores::new(&dynamodb, &tables);
    let schedule_table = format!(
        "{}-bench-{}",
        tables.schedule,
        uuid::Uuid::new_v4().simple()
    );
    crm_adapters::dynamo::copy_table_schema(&dynamodb, &tables.schedule, &schedule_table)
        .await
        .unwrap();
    let schedule = DynamoScheduleStore::new(dynamodb.clone(), &schedule_table);
    let tenant = TenantId::new(format!("bench-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let admin = UserId::new("u-admin").unwrap();
    stores
        .users
        .put(
            &tenant,
            &User {
                id: admin.clone(),
                name: "Admin".into(),
                email: "a@example.vn".into(),
                phone: None,
                team: None,
                role: Role::Administrator,
                manager: None,
                active: true,
            },
        )
        .await
        .unwrap();
    let provider = Setting::SmsProvider(SmsProvider {
        name: "SNS".into(),
        gateway: SmsGateway::Sns {
            sender_id: "CRM".into(),
        },
    });
    let template = Setting::SmsTemplate(SmsTemplate {
        name: "HPBD".into(),
        module: crm_model::schema::Module::Customer,
        body: "Chúc mừng sinh nhật #Name".into(),
    });
    stores
        .settings
        .create(&tenant, &SettingId::new("sms").unwrap(), &provider)
        .await
        .unwrap();
    stores
        .settings
        .create(&tenant, &SettingId::new("tpl").unwrap(), &template)
        .await
        .unwrap();

    // Seed: customers born on 1990-05-17 (due at 08:00 on 2027-05-17) for the due fraction, the
    // rest spread over the other days of the year.
    let seed_start = Instant::now();
    let today = NaiveDate::from_ymd_opt(1990, 5, 17).unwrap();
    let mut batch = Vec::with_capacity(25);
    let mut due_expected = 0u64;
    let arm_directly = std::env::var("BENCH_ARM").is_ok_and(|v| v == "direct");
    let mut to_arm = Vec::new();
    for i in 0..records {
        let due = i * 100 < records * due_percent;
        let birthday = if due {
            due_expected += 1;
            today
        } else {
            today + Duration::days(1 + (i as i64 % 360))
        };
        let record = StoredRecord {
            id: RecordId::new(format!("c{i:07}")).unwrap(),
            module: crm_model::schema::Module::Customer,
            fields: json!({"Name": format!("Khách hàng {i}"), "Phone": format!("09{:08}", i % 100_000_000),
                           "Birthday": birthday.to_string(), "UpdatedAt": "2027-01-01T00:00:00Z"})
                .as_object()
                .unwrap()
                .clone(),
        };
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(RecordItem::new(&tenant, &record, 1)).unwrap();
        if arm_directly {
            to_arm.push(record.clone());
        }
        batch.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build(),
        );
        if batch.len() == 25 || i + 1 == records {
            write_batch(&dynamodb, &tables.records, std::mem::take(&mut batch)).await;
        }
        if (i + 1) % 10_000 == 0 {
            eprintln!("seeded {} records", i + 1);
        }
    }
    let seed_seconds = seed_start.elapsed().as_secs_f64();

    let workflow = WorkflowId::new("wf-bench").unwrap();
    let definition = serde_json::from_value(json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [{"field": "Phone", "op": "is_not_empty"}]}},
        "actions": [{"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "tpl"}]
    }))
    .unwrap();
    let activation = FixedClock("2027-05-16T12:00:00Z".parse().unwrap());
    let cases = Workflows {
        workflows: &stores.workflows,
        settings: &stores.settings,
        users: &stores.users,
        schedule: &schedule,
        clock: &activation,
    };
    cases
        .create(&tenant, &admin, workflow.clone(), definition)
        .await
        .unwrap();
    cases
        .activate(&tenant, &admin, &workflow, None)
        .await
        .unwrap();

    let counting = CountingPublisher(Default::default());
    let real = EventBridgeJobPublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        std::env::var("AUTOMATION_BUS").unwrap_or_else(|_| "crm-local-automation".into()),
    );
    let publisher: &dyn JobPublisher = if std::env::var("BENCH_PUBLISH").is_ok_and(|v| v == "count")
    {
        &counting
    } else {
        &real
    };
    // The scan function's own wiring over the bench's schedule table and chosen publisher.
    let deps = trigger_scan::Deps::aws(
        Stores {
            schedule: schedule.clone(),
            ..stores.clone()
        },
        real.clone(),
    );
    let scanner = |clock: &'static FixedClock| Scanner {
        publisher,
        maintenance_pages: u32::MAX,
        ..deps.scanner(clock, ShardGroup::ALL)
    };
    let backfill_clock: &'static FixedClock = Box::leak(Box::new(FixedClock(
        "2027-05-16T12:05:00Z".parse().unwrap(),
    )));
    let backfill_start = Instant::now();
    let backfill = if arm_directly {
        arm(
            &schedule,
            &stores,
            &tenant,
            &workflow,
            &to_arm,
            backfill_clock.0,
        )
        .await;
        None
    } else {
        Some(scanner(backfill_clock).run().await.unwrap())
    };
    let backfill_seconds = backfill_start.elapsed().as_secs_f64();

    let eight: &'static FixedClock = Box::leak(Box::new(FixedClock(
        "2027-05-17T01:00:00Z".parse().unwrap(),
    )));
    let scan_start = Instant::now();
    // Directly armed: the activation's backfill request stays unprocessed (no maintenance pages).
    let report = Scanner {
        maintenance_pages: if arm_directly { 0 } else { u32::MAX },
        ..scanner(eight)
    }
    .run()
    .await
    .unwrap();
    let scan_seconds = scan_start.elapsed().as_secs_f64();
    let items_read = report.index_items_read + report.records_read + report.workflow_reads + 1;

    // Naive baseline: read every record of the module, decide in memory.
    let naive_start = Instant::now();
    let (naive_items_read, naive_due) = if std::env::var("BENCH_NAIVE").is_ok_and(|v| v == "skip") {
        (records, due_expected)
    } else {
        naive_scan(&dynamodb, &tables.records, &tenant, eight.0).await
    };
    let naive_seconds = naive_start.elapsed().as_secs_f64();

    println!("records={records}");
    println!("due_percent={due_percent}");
    println!("due_expected={due_expected}");
    println!("due_pairs={}", report.due_pairs);
    println!("occurrences_fired={}", report.occurrences_fired);
    println!("jobs_published={}", report.jobs_published);
    println!("bus_calls={}", report.bus_calls);
    println!("index_items_read={}", report.index_items_read);
    println!("records_read={}", report.records_read);
    println!("settings_items_read={}", report.workflow_reads + 1);
    println!("items_read={items_read}");
    println!(
        "items_read_per_due_pair={:.3}",
        items_read as f64 / report.due_pairs.max(1) as f64
    );
    println!("naive_items_read={naive_items_read}");
    println!("naive_due_pairs={naive_due}");
    println!(
        "naive_items_per_due_pair={:.3}",
        naive_items_read as f64 / naive_due.max(1) as f64
    );
    println!("scan_seconds={scan_seconds:.3}");
    println!("naive_seconds={naive_seconds:.3}");
    match &backfill {
        Some(backfill) => {
            println!("backfill_records_read={}", backfill.backfill_records_read);
            println!("backfill_entries_armed={}", backfill.entries_armed);
        }
        None => println!("entries_armed_directly={}", to_arm.len()),
    }
    println!("backfill_seconds={backfill_seconds:.3}");
    println!("seed_seconds={seed_seconds:.3}");
    println!("peak_rss_kib={}", peak_rss_kib());
    let _ = dynamodb
        .delete_table()
        .table_name(&schedule_table)
        .send()
        .await;
}

async fn write_batch(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    mut requests: Vec<WriteRequest>,
) {
    while !requests.is_empty() {
        let output = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .unwrap();
        requests = output
            .unprocessed_items
            .and_then(|mut m| m.remove(table))
            .unwrap_or_default();
    }
}

/// Reads every record of the module through its listing index and evaluates trigger and
/// condition in memory: what a scan without a schedule has to do.
async fn naive_scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    tenant: &TenantId,
    now: DateTime<Utc>,
) -> (u64, u64) {
    let tenant_settings = TenantSettings::default();
    let schema = tenant_settings.schema();
    let definition: crm_model::workflow::WorkflowDefinition = serde_json::from_value(json!({
        "module": "Customer", "name": "x",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [{"field": "Phone", "op": "is_not_empty"}]}},
        "actions": [{"kind": "notification", "id": "n", "name": "n", "notify_owner": true, "message": "m"}]
    }))
    .unwrap();
    let Trigger::Time(trigger) = &definition.trigger else {
        unreachable!()
    };
    let condition = definition.compile_condition(&schema).unwrap();
    let mut read = 0u64;
    let mut due = 0u64;
    let mut start = None;
    loop {
        let output = client
            .query()
            .table_name(table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("T#{tenant}#M#Customer")))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        read += output.scanned_count.max(0) as u64;
        for item in output.items.unwrap_or_default() {
            let stored: RecordItem = serde_dynamo::from_item(item).unwrap();
            let record = stored.into_stored().value.typed(&schema);
            let window = now - Duration::minutes(5);
            let fires = next_to_arm(trigger, &record, &tenant_settings, window, None)
                .is_some_and(|o| o.fire_at <= now);
            let ctx = EvalContext {
                now,
                tz: chrono_tz::Asia::Ho_Chi_Minh,
                previous: None,
            };
            if fires && condition.matches(&record, &ctx) {
                due += 1;
            }
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            return (read, due);
        }
    }
}

/// Writes each record's schedule entry as the backfill would (its next fire instant after the
/// activation), without listing the module.
async fn arm(
    schedule: &DynamoScheduleStore,
    stores: &Stores,
    tenant: &TenantId,
    workflow: &WorkflowId,
    records: &[StoredRecord],
    at: DateTime<Utc>,
) {
    use crm_model::ports::{ScheduleEntries, ScheduleEntry, WorkflowStore};
    let stored = stores
        .workflows
        .get(tenant, workflow)
        .await
        .unwrap()
        .unwrap();
    let Trigger::Time(trigger) = &stored.value.definition.trigger else {
        panic!("the bench workflow has a time trigger");
    };
    let settings = TenantSettings::default();
    let schema = settings.schema();
    for (i, record) in records.iter().enumerate() {
        let typed = record.typed(&schema);
        let next = next_to_arm(trigger, &typed, &settings, at - Duration::minutes(15), None);
        let entry = ScheduleEntry {
            tenant: tenant.clone(),
            workflow: workflow.clone(),
            version: stored.value.version,
            record: record.id.clone(),
            lane: next
                .as_ref()
                .map_or(DueLane::Instant, |next| DueLane::for_next(next, at)),
            next,
            last_fired: None,
            revision: 0,
            failure: None,
        };
        schedule.put(&entry).await.unwrap();
        if (i + 1) % 10_000 == 0 {
            eprintln!("armed {} entries", i + 1);
        }
    }
}
