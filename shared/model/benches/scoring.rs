//! Scoring figures over the in-memory stores, which count every port call as the DynamoDB
//! adapters make them: what one record change costs (record reads and writes, schedule entry
//! reads and writes) for a rule with and without a criterion relative to today, and the
//! backfill's cost and throughput when a rule is activated. Prints `key=value` lines; the
//! `projected_*` lines price the counted calls at the given latencies (one record page of 100
//! per query, then its records 16 at a time), as one scan invocation would pay them.
//!
//!     cargo bench -p crm-model --bench scoring
//!     BENCH_RECORDS=50000 BENCH_READ_MS=8 BENCH_WRITE_MS=12 cargo bench -p crm-model --bench scoring

use std::time::Instant;

use chrono::{DateTime, Utc};
use crm_model::ids::{RecordId, TenantId, UserId, WorkflowId};
use crm_model::ports::{FixedClock, RecordStore, StoredRecord};
use crm_model::schedule::record_events::{BatchCache, Change, RecordEvents};
use crm_model::schedule::scan::{Scanner, ShardGroup};
use crm_model::schema::Module;
use crm_model::testing::memory::{CallCounts, MemoryStores, RecordingPublisher};
use crm_model::workflow::service::Workflows;
use serde_json::{Value, json};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an instant")
}

/// Calls in flight, as the deployed scan's default (`SCAN_CONCURRENCY`).
const CONCURRENCY: usize = 16;

const PROVINCES: [&str; 5] = ["Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Huế", "Cần Thơ"];

fn customer(i: u64) -> StoredRecord {
    let bought = if i % 3 == 0 {
        json!("2027-02-01")
    } else {
        Value::Null
    };
    let fields = json!({
        "Name": format!("Nguyễn Thị Khách {i}"),
        "Email": if i % 2 == 0 { json!(format!("khach{i}@example.vn")) } else { Value::Null },
        "Phone": format!("09{i:08}"),
        "Province": PROVINCES[i as usize % PROVINCES.len()],
        "LoyaltyPoints": (i * 37) % 500,
        "LastPurchaseDate": bought,
    });
    let mut fields = fields.as_object().expect("fields").clone();
    fields.retain(|_, v| !v.is_null());
    StoredRecord {
        id: RecordId::new(format!("c{i}")).expect("an id"),
        module: Module::Customer,
        fields,
    }
}

fn rule(relative: bool) -> Value {
    let mut criteria = vec![
        json!({"name": "Hà Nội", "points": 20, "condition": {"type": "formula", "formula": "1 OR 2",
            "clauses": [{"field": "Province", "op": "equals", "value": "Hà Nội"},
                        {"field": "Province", "op": "equals", "value": "Hanoi"}]}}),
        json!({"name": "Có email", "points": 10, "condition": {"type": "formula", "formula": "1",
            "clauses": [{"field": "Email", "op": "is_not_empty"}]}}),
        json!({"name": "Điểm tích lũy", "points": 1, "per": "LoyaltyPoints", "cap": 40,
            "condition": {"type": "all_records"}}),
    ];
    if relative {
        criteria.push(
            json!({"name": "Mua trong 90 ngày", "points": 30, "condition": {
            "type": "formula", "formula": "1",
            "clauses": [{"field": "LastPurchaseDate", "op": "within_last_days", "value": 90}]}}),
        );
    }
    json!({"module": "Customer", "name": "Điểm", "trigger": {"type": "score",
        "score_field": "Score", "min": 0, "max": 100, "criteria": criteria}})
}

struct Bench {
    stores: MemoryStores,
    publisher: RecordingPublisher,
    tenant: TenantId,
}

impl Bench {
    async fn new(records: u64) -> Self {
        let stores = MemoryStores::new();
        let tenant = TenantId::new("bench").expect("a tenant");
        crm_model::testing::add_number_fields(
            &stores.settings,
            &tenant,
            Module::Customer,
            &["Score"],
        )
        .await;
        for i in 0..records {
            stores
                .records
                .create(&tenant, &customer(i))
                .await
                .expect("a customer");
        }
        Bench {
            stores,
            publisher: RecordingPublisher::new(),
            tenant,
        }
    }

    async fn activate(&self, definition: Value, now: &str) -> WorkflowId {
        let clock = FixedClock(at(now));
        let cases = Workflows {
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            users: &self.stores.users,
            schedule: &self.stores.schedule,
            clock: &clock,
        };
        let id = WorkflowId::new("score").expect("an id");
        let admin = UserId::new("u-admin").expect("a user");
        let definition = serde_json::from_value(definition).expect("a definition");
        cases
            .create(&self.tenant, &admin, id.clone(), definition)
            .await
            .expect("create");
        cases
            .activate(&self.tenant, &admin, &id, None)
            .await
            .expect("activate");
        id
    }

    fn counts(&self) -> (CallCounts, CallCounts) {
        (self.stores.records.calls(), self.stores.schedule.calls())
    }

    /// Runs scans until no maintenance is left; the backfill's figures.
    async fn backfill(&self, now: &str) -> (u64, u64, f64) {
        let clock = FixedClock(at(now));
        let scanner = Scanner {
            schedule: &self.stores.schedule,
            records: &self.stores.records,
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            publisher: &self.publisher,
            runs: &self.stores.runs,
            clock: &clock,
            page_size: 100,
            maintenance_pages: 20,
            on_time_grace: chrono::Duration::minutes(15),
            concurrency: CONCURRENCY,
            group: ShardGroup::ALL,
        };
        let started = Instant::now();
        let (mut read, mut written) = (0, 0);
        loop {
            let report = scanner.run().await.expect("a scan");
            read += report.backfill_records_read;
            written += report.backfill_scores_written;
            if report.backfill_records_read == 0 {
                break;
            }
        }
        (read, written, started.elapsed().as_secs_f64())
    }

    /// `changes` edits of the province through the records stream; the calls they cost.
    async fn changes(&self, changes: u64, now: &str) -> (u64, u64) {
        let clock = FixedClock(at(now));
        let events = RecordEvents {
            workflows: &self.stores.workflows,
            records: &self.stores.records,
            settings: &self.stores.settings,
            schedule: &self.stores.schedule,
            publisher: &self.publisher,
            runs: &self.stores.runs,
            clock: &clock,
        };
        let (mut scored, mut written) = (0, 0);
        let mut cache = BatchCache::default();
        for i in 0..changes {
            let id = RecordId::new(format!("c{i}")).expect("an id");
            let old = self
                .stores
                .records
                .get(&self.tenant, &id)
                .await
                .expect("read")
                .expect("a customer");
            let mut new = old.value.clone();
            let province = PROVINCES[(i as usize + 1) % PROVINCES.len()];
            new.fields.insert("Province".into(), json!(province));
            self.stores
                .records
                .replace(&self.tenant, &new, old.revision)
                .await
                .expect("edit");
            let before = self.counts();
            let change = Change::Modified {
                old: old.value,
                new,
            };
            let handled = events
                .handle(&self.tenant, &format!("e{i}"), &change, None, &mut cache)
                .await
                .expect("handled");
            let after = self.counts();
            scored += u64::from(handled.records_scored);
            written += u64::from(handled.scores_written);
            CHANGE_CALLS.with(|c| {
                let mut c = c.borrow_mut();
                c.0 += after.0.reads - before.0.reads;
                c.1 += after.0.writes - before.0.writes;
                c.2 += after.1.reads - before.1.reads;
                c.3 += after.1.writes - before.1.writes;
            });
        }
        (scored, written)
    }
}

thread_local! {
    /// Record reads, record writes, schedule reads, schedule writes made by the changes.
    static CHANGE_CALLS: std::cell::RefCell<(u64, u64, u64, u64)> = const { std::cell::RefCell::new((0, 0, 0, 0)) };
}

async fn run(label: &str, relative: bool, records: u64, changes: u64, read_ms: f64, write_ms: f64) {
    let bench = Bench::new(records).await;
    bench.activate(rule(relative), "2027-03-01T01:00:00Z").await;
    let before = bench.counts();
    let (read, written, seconds) = bench.backfill("2027-03-01T01:00:00Z").await;
    let after = bench.counts();
    let record_queries = after.0.reads - before.0.reads;
    let record_writes = after.0.writes - before.0.writes;
    let schedule_calls = (after.1.reads - before.1.reads) + (after.1.writes - before.1.writes);
    println!("{label}_backfill_records={read}");
    println!("{label}_backfill_scores_written={written}");
    println!("{label}_backfill_record_queries={record_queries}");
    println!("{label}_backfill_record_writes={record_writes}");
    println!("{label}_backfill_schedule_calls={schedule_calls}");
    println!(
        "{label}_backfill_records_per_s_in_process={:.0}",
        read as f64 / seconds
    );
    // One invocation: a page query per 100 records one after the other, then the page's
    // records' writes (and schedule entry reads and writes when a criterion is relative to
    // today) CONCURRENCY at a time.
    let projected_ms = record_queries as f64 * read_ms
        + (record_writes as f64 * write_ms + schedule_calls as f64 * (read_ms + write_ms) / 2.0)
            / CONCURRENCY as f64;
    println!(
        "{label}_projected_backfill_records_per_s={:.0}",
        read as f64 / (projected_ms / 1000.0)
    );
    CHANGE_CALLS.with(|c| *c.borrow_mut() = (0, 0, 0, 0));
    let (scored, written) = bench.changes(changes, "2027-03-01T02:00:00Z").await;
    let (record_reads, record_writes, schedule_reads, schedule_writes) =
        CHANGE_CALLS.with(|c| *c.borrow());
    let per = |n: u64| n as f64 / changes as f64;
    println!("{label}_changes={changes}");
    println!("{label}_changes_rescored={scored}");
    println!("{label}_changes_scores_written={written}");
    println!("{label}_per_change_record_reads={:.2}", per(record_reads));
    println!("{label}_per_change_record_writes={:.2}", per(record_writes));
    println!(
        "{label}_per_change_schedule_reads={:.2}",
        per(schedule_reads)
    );
    println!(
        "{label}_per_change_schedule_writes={:.2}",
        per(schedule_writes)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let records = env_number("BENCH_RECORDS", 10_000);
    let changes = env_number("BENCH_CHANGES", 1_000).min(records);
    let read_ms = env_number("BENCH_READ_MS", 5) as f64;
    let write_ms = env_number("BENCH_WRITE_MS", 8) as f64;
    println!("records={records}");
    println!("assumed_read_ms={read_ms}");
    println!("assumed_write_ms={write_ms}");
    run("plain", false, records, changes, read_ms, write_ms).await;
    run("relative", true, records, changes, read_ms, write_ms).await;
}
