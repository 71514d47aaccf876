//! The 08:00 wave, simulated: the real trigger scan over the in-memory stores, with a latency
//! injected per call (DynamoDB read or write, PutEvents) on tokio's paused clock, so that a
//! million due pairs take minutes of this machine and report the seconds they would take
//! against AWS. Prints `key=value` lines.
//!
//!     cargo bench -p crm-model --bench scan_wave
//!     BENCH_DUE_PAIRS=100000 BENCH_SHARD_GROUPS=2 cargo bench -p crm-model --bench scan_wave
//!
//! Scenario: the birthday workflow (yearly, 08:00 Asia/Ho_Chi_Minh, an SMS and a call task) of
//! `BENCH_TENANTS` tenants, every customer's birthday today, one scan at 08:00 by
//! `BENCH_SHARD_GROUPS` parallel invocations over `BENCH_SHARDS` shards with
//! `BENCH_CONCURRENCY` calls in flight per shard. Latencies: `BENCH_READ_MS` (8),
//! `BENCH_WRITE_MS` (8), `BENCH_BUS_MS` (20). `BENCH_TRIGGER=once` or `yearly_instant` measure
//! the other triggers (see `Scenario`).
//!
//! The baseline is today's scan as it was before this design: one invocation, one call at a
//! time, and per occurrence the transaction of entry and outbox, then the outbox's DeleteItem.
//! It runs the same code sequentially (`concurrency` 1) with those two calls simulated in place
//! of the claim, over `BENCH_BASELINE_PAIRS` pairs (its rate does not depend on the count).

mod simulated;
mod units;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde_json::json;

use crm_model::ids::{RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{FixedClock, RecordStore, ScheduleEntries, SettingsStore, UserDirectory};
use crm_model::record::stored::StoredRecord;
use crm_model::schedule::next_to_arm;
use crm_model::schedule::ports::DueLane;
use crm_model::schedule::scan::{ScanReport, Scanner, ShardGroup};
use crm_model::settings::{Setting, SmsGateway, SmsProvider};
use crm_model::template::SmsTemplate;
use crm_model::testing::memory::{MemoryScheduleStore, MemoryStores};
use crm_model::trigger::Trigger;
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;
use crm_model::workflow::{WorkflowDefinition, store::WorkflowStore};
use simulated::{Latency, Sim, SimBus, SimRecords, SimSchedule};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("a bench instant")
}

/// The scenario's trigger (`BENCH_TRIGGER`): `yearly` (the birthday, armed the evening before,
/// on the calendar lane), `yearly_instant` (armed at short notice, or before the calendar lane
/// existed: in the instant lane, claimed onto the calendar), `once` (a date this year, fired
/// once and disarmed).
#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Yearly,
    YearlyInstant,
    Once,
}

fn scenario() -> Scenario {
    match std::env::var("BENCH_TRIGGER").as_deref() {
        Ok("once") => Scenario::Once,
        Ok("yearly_instant") => Scenario::YearlyInstant,
        _ => Scenario::Yearly,
    }
}

fn birthday() -> WorkflowDefinition {
    let recurrence = if scenario() == Scenario::Once {
        "once"
    } else {
        "yearly"
    };
    serde_json::from_value(json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": recurrence, "time_of_day": "08:00:00"},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "task", "id": "task", "name": "Gọi", "title": "Gọi chúc mừng #Name", "description": "SĐT #Phone",
             "due": {"days_after": 0, "time_of_day": "17:00:00"}, "task_type": "Call", "priority": "High",
             "assignee": {"type": "record_owner"}}
        ]
    }))
    .expect("the bench workflow")
}

/// Tenants with the birthday workflow active and `pairs` customers among them whose birthday is
/// today, each armed for 08:00 (as the backfill arms them).
async fn world(pairs: u64, tenants: u64, shards: u32, calendar: bool) -> MemoryStores {
    let mut stores = MemoryStores::new();
    stores.schedule = MemoryScheduleStore::with_shards(shards);
    let admin = UserId::new("u-admin").expect("id");
    let workflow = WorkflowId::new("wf-birthday").expect("id");
    let evening = FixedClock(at("2027-05-16T12:00:00Z"));
    for t in 0..tenants {
        let tenant = TenantId::new(format!("tenant-{t:04}")).expect("id");
        let user = User {
            id: admin.clone(),
            name: "Quản trị".into(),
            email: "admin@example.vn".into(),
            phone: None,
            team: None,
            role: Role::Administrator,
            manager: None,
            active: true,
        };
        stores.users.put(&tenant, &user).await.expect("user");
        let provider = Setting::SmsProvider(SmsProvider {
            name: "SNS".into(),
            gateway: SmsGateway::Sns {
                sender_id: "CRM".into(),
            },
        });
        let template = Setting::SmsTemplate(SmsTemplate {
            name: "Sinh nhật".into(),
            module: crm_model::schema::Module::Customer,
            body: "Chúc mừng sinh nhật #Name".into(),
        });
        let settings = &stores.settings;
        settings
            .create(&tenant, &SettingId::new("sms").expect("id"), &provider)
            .await
            .expect("provider");
        settings
            .create(
                &tenant,
                &SettingId::new("sms-birthday").expect("id"),
                &template,
            )
            .await
            .expect("template");
        let cases = Workflows {
            workflows: &stores.workflows,
            settings: &stores.settings,
            users: &stores.users,
            schedule: &stores.schedule,
            clock: &evening,
        };
        cases
            .create(&tenant, &admin, workflow.clone(), birthday())
            .await
            .expect("workflow");
        cases
            .activate(&tenant, &admin, &workflow, None)
            .await
            .expect("activation");
    }
    let tenant_settings = stores
        .settings
        .tenant_settings(&TenantId::new("tenant-0000").expect("id"))
        .await
        .expect("settings")
        .value;
    let schema = tenant_settings.schema();
    let definition = birthday();
    let Trigger::Time(trigger) = &definition.trigger else {
        unreachable!("a time trigger")
    };
    for i in 0..pairs {
        let tenant = TenantId::new(format!("tenant-{:04}", i % tenants)).expect("id");
        let record = StoredRecord {
            id: RecordId::new(format!("c-{i:07}")).expect("id"),
            module: crm_model::schema::Module::Customer,
            fields: json!({
                "Name": format!("Nguyễn Thị Khách {i}"),
                "Phone": format!("09{:08}", i % 100_000_000),
                "Email": format!("khach{i}@example.vn"),
                "Birthday": if scenario() == Scenario::Once {
                    "2027-05-17".to_owned()
                } else {
                    format!("{}-05-17", 1950 + i % 50)
                },
                "Owner": "u-admin",
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        };
        stores
            .records
            .create(&tenant, &record)
            .await
            .expect("record");
        let typed = record.typed(&schema);
        // As the backfill arms it the evening before.
        let evening = at("2027-05-16T12:00:00Z");
        let next = next_to_arm(trigger, &typed, &tenant_settings, evening, None);
        let entry = crm_model::schedule::ports::ScheduleEntry {
            tenant,
            workflow: workflow.clone(),
            version: 1,
            record: record.id.clone(),
            lane: next
                .as_ref()
                .filter(|_| calendar)
                .map_or(DueLane::Instant, |next| DueLane::for_next(next, evening)),
            next,
            last_fired: None,
            revision: 0,
            failure: None,
        };
        stores.schedule.put(&entry).await.expect("entry");
    }
    stores
}

struct Run {
    report: ScanReport,
    simulated_seconds: f64,
    cpu_seconds: f64,
    figures: simulated::Meter,
}

async fn scan(stores: &MemoryStores, sim: &Sim, groups: u32, concurrency: usize) -> Run {
    let schedule = SimSchedule {
        inner: &stores.schedule,
        sim,
    };
    let records = SimRecords {
        inner: &stores.records,
        sim,
    };
    let bus = SimBus { sim };
    let eight = FixedClock(at("2027-05-17T01:00:00Z"));
    let started = tokio::time::Instant::now();
    let cpu = std::time::Instant::now();
    let scanners: Vec<Scanner> = (0..groups)
        .map(|index| Scanner {
            schedule: &schedule,
            records: &records,
            workflows: &stores.workflows as &dyn WorkflowStore,
            settings: &stores.settings,
            publisher: &bus,
            runs: &stores.runs,
            clock: &eight,
            page_size: 1000,
            maintenance_pages: 0,
            on_time_grace: chrono::Duration::minutes(15),
            concurrency,
            group: ShardGroup {
                index,
                count: groups,
            },
        })
        .collect();
    let mut report = ScanReport::default();
    for result in join_all(scanners.iter().map(Scanner::run)).await {
        let part = result.expect("the simulated scan");
        report.due_pairs += part.due_pairs;
        report.occurrences_fired += part.occurrences_fired;
        report.jobs_published += part.jobs_published;
        report.index_items_read += part.index_items_read;
        report.records_read += part.records_read;
        report.workflow_reads += part.workflow_reads;
        report.lost_races += part.lost_races;
        report.entries_held += part.entries_held;
    }
    Run {
        report,
        simulated_seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: cpu.elapsed().as_secs_f64(),
        figures: sim.figures(),
    }
}

fn per_pair(value: f64, pairs: u64) -> f64 {
    value / pairs.max(1) as f64
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let pairs = env_number("BENCH_DUE_PAIRS", 1_000_000);
    let tenants = env_number("BENCH_TENANTS", 100).max(1);
    let shards = env_number("BENCH_SHARDS", 16) as u32;
    let groups = env_number("BENCH_SHARD_GROUPS", 4).max(1) as u32;
    let concurrency = env_number("BENCH_CONCURRENCY", 16).max(1) as usize;
    let baseline_pairs = env_number("BENCH_BASELINE_PAIRS", 20_000);
    let ms = |name, default| std::time::Duration::from_millis(env_number(name, default));
    let latency = Latency {
        read: ms("BENCH_READ_MS", 8),
        write: ms("BENCH_WRITE_MS", 8),
        bus: ms("BENCH_BUS_MS", 20),
    };

    let seeding = std::time::Instant::now();
    let stores = world(pairs, tenants, shards, scenario() == Scenario::Yearly).await;
    println!("seed_seconds={:.1}", seeding.elapsed().as_secs_f64());
    let sim = Sim::new(latency, false, shards);
    let run = scan(&stores, &sim, groups, concurrency).await;
    drop(stores);
    assert_eq!(run.report.occurrences_fired, pairs, "{:?}", run.report);
    assert_eq!(run.report.jobs_published, 2 * pairs);
    let rate = pairs as f64 / run.simulated_seconds;
    println!("due_pairs={pairs}");
    println!(
        "trigger={}",
        match scenario() {
            Scenario::Yearly => "yearly",
            Scenario::YearlyInstant => "yearly_instant",
            Scenario::Once => "once",
        }
    );
    println!("tenants={tenants}");
    println!("shards={shards}");
    println!("shard_groups={groups}");
    println!("concurrency={concurrency}");
    println!(
        "latency_ms_read_write_bus={}/{}/{}",
        latency.read.as_millis(),
        latency.write.as_millis(),
        latency.bus.as_millis()
    );
    println!("simulated_seconds={:.1}", run.simulated_seconds);
    println!("due_pairs_per_second={rate:.0}");
    println!(
        "write_units_per_due_pair={:.3}",
        per_pair(run.figures.write_units, pairs)
    );
    println!(
        "read_units_per_due_pair={:.3}",
        per_pair(run.figures.read_units, pairs)
    );
    let items = run.report.index_items_read + run.report.records_read + run.report.workflow_reads;
    println!(
        "read_items_per_due_pair={:.3}",
        per_pair(items as f64, pairs)
    );
    println!(
        "dynamodb_calls_per_due_pair={:.3}",
        per_pair(run.figures.dynamodb_calls as f64, pairs)
    );
    println!(
        "putevents_calls_per_due_pair={:.3}",
        per_pair(run.figures.bus_calls as f64, pairs)
    );
    println!(
        "event_bytes_per_job={:.0}",
        run.figures.job_bytes as f64 / run.figures.jobs.max(1) as f64
    );
    println!("cpu_seconds={:.1}", run.cpu_seconds);

    let stores = world(baseline_pairs, tenants, shards, false).await;
    let legacy = Sim::new(latency, true, shards);
    let baseline = scan(&stores, &legacy, 1, 1).await;
    assert_eq!(baseline.report.occurrences_fired, baseline_pairs);
    let baseline_rate = baseline_pairs as f64 / baseline.simulated_seconds;
    println!("baseline_due_pairs={baseline_pairs}");
    println!(
        "baseline_simulated_seconds={:.1}",
        baseline.simulated_seconds
    );
    println!("baseline_due_pairs_per_second={baseline_rate:.0}");
    println!(
        "baseline_seconds_for_due_pairs={:.0}",
        pairs as f64 / baseline_rate
    );
    println!(
        "baseline_write_units_per_due_pair={:.3}",
        per_pair(baseline.figures.write_units, baseline_pairs)
    );
    println!(
        "baseline_read_units_per_due_pair={:.3}",
        per_pair(baseline.figures.read_units, baseline_pairs)
    );
    println!(
        "baseline_dynamodb_calls_per_due_pair={:.3}",
        per_pair(baseline.figures.dynamodb_calls as f64, baseline_pairs)
    );
    println!("speedup={:.1}", rate / baseline_rate);
    println!("peak_rss_mib={}", peak_rss_kib() / 1024);
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
