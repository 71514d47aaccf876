//! The main job on the local stack, as far as the pipeline goes today: a demo tenant with users,
//! the settings its care workflows need, care workflows created from the sample templates
//! through the automation settings API and activated, a few thousand customers and orders, then
//! the trigger scan at chosen clock times (08:00, 09:00 and 10:00 on the demo day) publishing
//! action jobs through the automation bus to the executor's queue, and the executor carrying
//! them out. The report is read back from the API, the runs table, the records table and the
//! emulator's record of SMS and email. Running it again changes nothing and says so.

mod api;
mod readback;
mod seed;

use api::Api;
use readback::{count_records, drain_jobs, emulator_state};

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crm_adapters::dynamo::Stores;
use crm_adapters::events::EventBridgeJobPublisher;
use crm_adapters::providers::{BrandnameSmsGateway, Secrets, SmsGateways, ZaloZns};
use crm_adapters::send::{SesEmailSender, SnsSmsSender};
use crm_adapters::{Tables, config};
use crm_model::app::execute::Executor;
use crm_model::app::scan::Scanner;
use crm_model::ids::{TenantId, UserId};
use crm_model::ports::FixedClock;
use crm_model::ports::RunLedger;
use crm_model::ports::{SystemClock, UserDirectory};
use crm_model::user::{Role, User};

const TENANT: &str = "demo-tenant";

fn user(id: &str, name: &str, role: Role) -> Result<User, String> {
    Ok(User {
        id: UserId::new(id).map_err(|e| e.to_string())?,
        name: name.into(),
        email: format!("{id}@demo.example.vn"),
        phone: None,
        team: Some("Kinh doanh".into()),
        role,
        active: true,
    })
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let sdk = config::load_sdk_config().await;
    let tables = Tables::from_env().map_err(|e| e.to_string())?;
    let stores = Stores::new(&aws_sdk_dynamodb::Client::new(&sdk), &tables);
    let tenant = TenantId::new(TENANT).map_err(|e| e.to_string())?;

    for u in [
        user("u-admin", "Trần Quản Trị", Role::Administrator)?,
        user("u-lan", "Nguyễn Thị Lan", Role::Salesperson)?,
        user("u-minh", "Lê Văn Minh", Role::Salesperson)?,
    ] {
        stores
            .users
            .put(&tenant, &u)
            .await
            .map_err(|e| e.to_string())?;
    }

    let bus = std::env::var("AUTOMATION_BUS")
        .map_err(|_| "AUTOMATION_BUS is not set (source .local/env)")?;
    let queue =
        std::env::var("ACTION_JOBS_QUEUE_URL").map_err(|_| "ACTION_JOBS_QUEUE_URL is not set")?;
    let publisher = EventBridgeJobPublisher::new(aws_sdk_eventbridge::Client::new(&sdk), bus);
    let state = crm_api::workflow_api::State {
        workflows: Arc::new(stores.workflows.clone()),
        settings: Arc::new(stores.settings.clone()),
        users: Arc::new(stores.users.clone()),
        schedule: Arc::new(stores.schedule.clone()),
        records: Arc::new(stores.records.clone()),
        runs: Arc::new(stores.runs.clone()),
        publisher: Arc::new(publisher.clone()),
        clock: Arc::new(SystemClock),
    };
    let claims = [
        ("custom:tenant_id", TENANT),
        ("sub", "u-admin"),
        ("cognito:groups", "[admin]"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let api = Api {
        router: crm_api::workflow_api::router(state),
        claims,
    };

    let settings = [
        (
            "/settings/sms-providers",
            json!({"id": "sms-main", "name": "Brandname SMS", "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}),
        ),
        (
            "/settings/sms-templates",
            json!({"id": "sms-birthday", "name": "Chúc mừng sinh nhật", "module": "Customer",
            "body": "Chúc mừng sinh nhật #Name! Chúc quý khách một tuổi mới nhiều sức khỏe và niềm vui."}),
        ),
        (
            "/settings/email-senders",
            json!({"id": "mailer", "name": "CSKH", "from_address": "noreply@example.com", "from_name": "Chăm sóc khách hàng"}),
        ),
        (
            "/settings/email-templates",
            json!({"id": "email-comeback", "name": "Mời quay lại", "module": "Customer",
            "subject": "#Name ơi, đã lâu không gặp!", "html_body": "<p>Kính gửi #Name,</p><p>Chúng tôi gửi tặng quý khách phiếu ưu đãi đính kèm.</p>"}),
        ),
        (
            "/settings/print-templates",
            json!({"id": "voucher", "name": "Phiếu ưu đãi", "module": "Customer",
            "file_name": "Phieu-uu-dai-#Code", "body": "PHIẾU ƯU ĐÃI\n\nKhách hàng: #Name\nMã khách hàng: #Code"}),
        ),
    ];
    let mut created = 0;
    for (path, body) in settings {
        created += usize::from(api.ensure(path, body, path).await?);
    }

    let workflows = [
        (
            "birthday-sms-and-call",
            "wf-birthday",
            json!({"sms_provider": "sms-main", "sms_template": "sms-birthday"}),
        ),
        ("order-follow-up-care-card", "wf-order-follow-up", json!({})),
        (
            "re-engagement-email",
            "wf-come-back",
            json!({"sender": "mailer", "email_template": "email-comeback", "voucher": "voucher"}),
        ),
    ];
    for (sample, id, bindings) in &workflows {
        let body = json!({"id": id, "bindings": bindings});
        created += usize::from(
            api.ensure(&format!("/samples/{sample}/workflows"), body, id)
                .await?,
        );
        match api
            .call(Method::POST, &format!("/workflows/{id}/activate"), None)
            .await?
        {
            (StatusCode::OK, _) => created += 1,
            (StatusCode::CONFLICT, _) => {}
            (status, body) => return Err(format!("activating {id}: {status} {body}")),
        }
    }

    println!("Demo tenant '{TENANT}': workflows read back through the automation settings API");
    let (_, listed) = api.call(Method::GET, "/workflows?limit=100", None).await?;
    for workflow in listed["items"].as_array().cloned().unwrap_or_default() {
        let definition = &workflow["definition"];
        let actions: Vec<String> = definition["actions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x["kind"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "  {:<22} {:<9} {:<6} v{}  {:<8} {}  [{}]",
            workflow["id"].as_str().unwrap_or("?"),
            definition["module"].as_str().unwrap_or("?"),
            workflow["kind"].as_str().unwrap_or("?"),
            workflow["version"],
            workflow["status"].as_str().unwrap_or("?"),
            definition["name"].as_str().unwrap_or("?"),
            actions.join(", ")
        );
    }
    for kind in ["sms-templates", "email-templates", "print-templates"] {
        let (_, page) = api
            .call(Method::GET, &format!("/settings/{kind}"), None)
            .await?;
        let names: Vec<String> = page["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        format!(
                            "{} ({})",
                            s["name"].as_str().unwrap_or("?"),
                            s["id"].as_str().unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        println!("  {kind}: {}", names.join(", "));
    }
    let seeded = seed::seed(&stores.records, &tenant, 2_000, 400)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Records: {seeded} customers and orders created this run (2,000 customers, 400 orders in all)."
    );

    // The backfill of the workflows activated above, then the demo day at 08:00, 09:00, 10:00.
    let mut fired = 0;
    for at in [
        "2027-05-16T12:00:00Z",
        "2027-05-17T01:00:00Z",
        "2027-05-17T02:00:00Z",
        "2027-05-17T03:00:00Z",
    ] {
        let clock = FixedClock(at.parse().map_err(|e| format!("{e}"))?);
        let report = Scanner {
            schedule: &stores.schedule,
            records: &stores.records,
            workflows: &stores.workflows,
            settings: &stores.settings,
            publisher: &publisher,
            clock: &clock,
            page_size: 100,
            maintenance_pages: 100,
            on_time_grace: chrono::Duration::minutes(15),
        }
        .run()
        .await
        .map_err(|e| format!("scan at {at}: {e:?}"))?;
        fired += report.occurrences_fired;
        println!(
            "Scan at {at}: {} due, {} fired, {} condition not met, {} entries armed by backfill; read {} index items and {} records",
            report.due_pairs,
            report.occurrences_fired,
            report.condition_not_met,
            report.entries_armed,
            report.index_items_read,
            report.records_read
        );
    }

    let jobs = drain_jobs(&aws_sdk_sqs::Client::new(&sdk), &queue, &tenant).await?;
    println!(
        "Action jobs taken from the executor's queue this run: {}",
        jobs.len()
    );
    // The executor, as the action-executor function runs it for each queued job.
    let sms = SmsGateways {
        sns: SnsSmsSender::new(aws_sdk_sns::Client::new(&sdk)),
        brandname: BrandnameSmsGateway::new(Secrets::from_env()),
    };
    let zns = ZaloZns::new(Secrets::from_env());
    let email = SesEmailSender::new(aws_sdk_sesv2::Client::new(&sdk));
    let cache = crm_model::app::execute::ExecutorCache::default();
    let task_sync = crm_adapters::task_sync::HttpTaskSync::new(Secrets::from_env());
    let executor = Executor {
        workflows: &stores.workflows,
        records: &stores.records,
        settings: &stores.settings,
        users: &stores.users,
        ledger: &stores.runs,
        sms: &sms,
        zns: &zns,
        email: &email,
        printer: &crm_adapters::print::PdfPrinter,
        task_sync: &task_sync,
        clock: &FixedClock("2027-05-17T03:05:00Z".parse().map_err(|e| format!("{e}"))?),
        cache: &cache,
    };
    for job in &jobs {
        // Failures worth a retry would go back to the queue; here they are shown in the history.
        if let Err(error) = executor.execute(job).await {
            eprintln!("{}: {error}", job.idempotency_key());
        }
    }

    println!("Run history read back from the runs table:");
    for (_, workflow, _) in &workflows {
        let workflow = crm_model::ids::WorkflowId::new(*workflow).map_err(|e| e.to_string())?;
        let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
        let mut reasons: std::collections::BTreeMap<String, String> = Default::default();
        let mut page = crm_model::ports::PageRequest::first(100);
        loop {
            let found = stores
                .runs
                .history(&tenant, &workflow, &page)
                .await
                .map_err(|e| e.to_string())?;
            for run in found.items {
                let status = serde_json::to_value(run.status).map_err(|e| e.to_string())?;
                *counts
                    .entry((
                        run.action.to_string(),
                        status.as_str().unwrap_or("?").to_owned(),
                    ))
                    .or_default() += 1;
                if let Some(error) = run.error {
                    reasons.entry(run.action.to_string()).or_insert(error);
                }
            }
            match found.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
        for ((action, status), count) in counts {
            let reason = if status == "failed" {
                reasons
                    .get(&action)
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            println!(
                "  {:<22} {action:<16} {status:<10} {count}{reason}",
                workflow.as_str()
            );
        }
    }
    let tasks = count_records(&stores.records, &tenant, crm_model::schema::Module::Task).await?;
    let cards = count_records(
        &stores.records,
        &tenant,
        crm_model::schema::Module::CareCard,
    )
    .await?;
    println!("Tasks in the records table: {tasks}; care cards: {cards}");
    // The emulator keeps every tenant's sends in one document: the demo's are those that went
    // to its customers (their addresses and numbers are its own).
    let state = emulator_state()?;
    let demo_sms: Vec<&Value> = state["sns"]["SMS"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| m["message"].as_str().is_some_and(seed::is_demo_sms))
                .collect()
        })
        .unwrap_or_default();
    let demo_mail = state["ses"]["Message"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| m["destinations"].to_string().contains(seed::EMAIL_DOMAIN))
                .count()
        })
        .unwrap_or(0);
    println!("SMS recorded by the emulator's SNS: {}", demo_sms.len());
    if let Some(first) = demo_sms.first() {
        println!(
            "  e.g. to {}: {}",
            first["phone_number"].as_str().unwrap_or("?"),
            first["message"].as_str().unwrap_or("?")
        );
    }
    println!("Emails stored by the emulator's SES: {demo_mail}");
    if created == 0 && seeded == 0 && fired == 0 && jobs.is_empty() {
        println!(
            "Nothing changed: everything was already in place, and every due occurrence was claimed in an earlier run."
        );
    } else if created == 0 && seeded == 0 {
        println!("Settings, workflows and records were already in place.");
    } else {
        println!("{created} settings, workflows and activations were created this run.");
    }
    println!("Not carried out yet: print attachments (their runs fail and say so).");
    Ok(())
}
