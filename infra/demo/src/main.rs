//! The main job on the local stack, through the functions as Lambda runs them (release
//! `bootstrap` binaries under the Lambda Runtime Interface Emulator): a demo tenant's users and
//! settings through the records and automation APIs, care workflows created from the sample
//! templates and activated, a work workflow, a few thousand customers and orders, a new customer
//! created through the records API whose stream records go to `record-events`, then the trigger
//! scan at chosen clock times (the evening before for the backfill, 08:00, 09:00 and 10:00 on the
//! demo day) publishing action jobs through the automation bus to the executor's queue, and the
//! queued jobs delivered to `action-executor` in SQS batches. A quote's discount is approved and
//! an order's revenue recorded through the approval workflows of the catalogue ([`approvals`]).
//! The report is read back from the
//! APIs, the runs table, the records table and the emulator's record of SMS and email. Running it
//! again changes nothing and says so.

mod api;
mod approvals;
mod lambda;
mod readback;
mod seed;
mod stream;

use api::Api;
use lambda::Lambda;
use readback::{count_records, drain_messages, emulator_state};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crm_adapters::dynamo::Stores;
use crm_adapters::{Tables, config};
use crm_model::ids::TenantId;
use crm_model::ports::RunLedger;

const TENANT: &str = "demo-tenant";

#[tokio::main]
async fn main() -> Result<(), String> {
    let sdk = config::load_sdk_config().await;
    let tables = Tables::from_env().map_err(|e| e.to_string())?;
    // The functions' data layer, as their composition roots build it.
    let stores = Stores::from_env(&sdk).map_err(|e| e.to_string())?;
    let tenant = TenantId::new(TENANT).map_err(|e| e.to_string())?;

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let queue =
        std::env::var("ACTION_JOBS_QUEUE_URL").map_err(|_| "ACTION_JOBS_QUEUE_URL is not set")?;
    let mut functions = Vec::new();
    for name in [
        "workflow-api",
        "records-api",
        "record-events",
        "trigger-scan",
        "action-executor",
    ] {
        functions.push(Lambda::start(&root, name).await?);
    }
    let [
        workflow_api,
        records_api,
        record_events,
        trigger_scan,
        action_executor,
    ] = &functions[..]
    else {
        return Err("five functions expected".into());
    };
    let claims: serde_json::Map<String, Value> = [
        ("custom:tenant_id", TENANT),
        ("sub", "u-admin"),
        ("cognito:groups", "[admin]"),
        // The tenant's first administrator is set up from these on the first request.
        ("email", "u-admin@demo.example.vn"),
        ("name", "Trần Quản Trị"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
    .collect();
    let api = Api {
        function: workflow_api,
        claims: claims.clone(),
    };
    let records = Api {
        function: records_api,
        claims,
    };

    let mut created = 0;
    for (id, name, role) in [
        ("u-admin", "Trần Quản Trị", "administrator"),
        ("u-lan", "Nguyễn Thị Lan", "salesperson"),
        ("u-minh", "Lê Văn Minh", "salesperson"),
    ] {
        let user = json!({"id": id, "name": name, "email": format!("{id}@demo.example.vn"),
                          "team": "Kinh doanh", "role": role});
        created += usize::from(records.ensure("/users", user, id).await?);
    }

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
            "/settings/email-templates",
            json!({"id": "email-welcome", "name": "Chào mừng", "module": "Customer",
            "subject": "Chào mừng #Name đến với chúng tôi", "html_body": "<p>Kính gửi #Name,</p><p>Cảm ơn quý khách đã tin tưởng.</p>"}),
        ),
        (
            "/settings/print-templates",
            json!({"id": "voucher", "name": "Phiếu ưu đãi", "module": "Customer",
            "file_name": "Phieu-uu-dai-#Code", "body": "PHIẾU ƯU ĐÃI\n\nKhách hàng: #Name\nMã khách hàng: #Code"}),
        ),
    ];
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
        (
            "welcome-email",
            "wf-welcome",
            json!({"sender": "mailer", "email_template": "email-welcome"}),
        ),
    ];
    for (sample, id, bindings) in &workflows {
        let body = json!({"id": id, "bindings": bindings});
        created += usize::from(
            api.ensure(&format!("/samples/{sample}/workflows"), body, id)
                .await?,
        );
        match api
            .call("POST", &format!("/workflows/{id}/activate"), None)
            .await?
        {
            (StatusCode::OK, _) => created += 1,
            (StatusCode::CONFLICT, _) => {}
            (status, body) => return Err(format!("activating {id}: {status} {body}")),
        }
    }

    println!("Demo tenant '{TENANT}': workflows read back through the automation settings API");
    let (_, listed) = api.call("GET", "/workflows?limit=100", None).await?;
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
        let (_, page) = api.call("GET", &format!("/settings/{kind}"), None).await?;
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

    // A customer created through the records API: the table's stream goes to record-events,
    // which runs the welcome workflow. Found by its email on a second run, so it is made once.
    let welcome_email = format!("khach.moi@{}", seed::EMAIL_DOMAIN);
    let (_, found) = records
        .call(
            "GET",
            &format!("/customers/duplicates?email={welcome_email}"),
            None,
        )
        .await?;
    let newcomer = match found["items"].as_array().and_then(|a| a.first()) {
        Some(existing) => existing["id"].as_str().unwrap_or_default().to_owned(),
        None => {
            let body = json!({"Name": "Đinh Thị Mới", "Email": welcome_email,
                              "Phone": "0918 000 111", "Owner": "u-lan"});
            match records
                .call("POST", "/records/Customer", Some(body))
                .await?
            {
                (StatusCode::CREATED, created_customer) => {
                    created += 1;
                    created_customer["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                }
                (status, body) => {
                    return Err(format!("creating the new customer: {status} {body}"));
                }
            }
        }
    };
    let changes =
        stream::changes_of(&sdk, &tables.records, &format!("T#{TENANT}#R#{newcomer}")).await?;
    // The same stream records on every run: record-events acts once per stream event.
    let answer = record_events.invoke(&json!({"Records": changes})).await?;
    println!(
        "New customer {newcomer} through records-api: {} stream records to record-events, failures {}",
        changes.len(),
        answer["batchItemFailures"]
    );

    let approved = approvals::run(
        &records,
        &api,
        record_events,
        &sdk,
        &tables.records,
        &newcomer,
    )
    .await?;
    created += approved.created;

    // The backfill of the workflows activated above, then the demo day at 08:00, 09:00, 10:00.
    let mut fired = 0;
    for at in [
        "2027-05-16T12:00:00Z",
        "2027-05-17T01:00:00Z",
        "2027-05-17T02:00:00Z",
        "2027-05-17T03:00:00Z",
    ] {
        let event = json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(),
                           "detail-type": "Scheduled Event", "source": "aws.events",
                           "detail": {"scan_at": at}});
        let report = trigger_scan.invoke(&event).await?;
        fired += report["occurrences_fired"].as_u64().unwrap_or(0);
        println!(
            "Scan at {at}: {} due, {} fired, {} condition not met, {} entries armed by backfill; read {} index items and {} records",
            report["due_pairs"],
            report["occurrences_fired"],
            report["condition_not_met"],
            report["entries_armed"],
            report["index_items_read"],
            report["records_read"]
        );
    }

    let messages = drain_messages(&aws_sdk_sqs::Client::new(&sdk), &queue, &tenant).await?;
    println!(
        "Action jobs taken from the executor's queue this run: {}",
        messages.len()
    );
    // Delivered to action-executor as the SQS event source would: batches of up to ten.
    let started = std::time::Instant::now();
    let mut failures = 0;
    for batch in messages.chunks(10) {
        let answer = action_executor.invoke(&json!({"Records": batch})).await?;
        failures += answer["batchItemFailures"].as_array().map_or(0, Vec::len);
    }
    if !messages.is_empty() {
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "action-executor: {} jobs in {:.1} s ({:.0} actions/s through the Lambda RIE), {failures} left for a retry",
            messages.len(),
            seconds,
            messages.len() as f64 / seconds
        );
    }

    println!("Run history read back from the runs table:");
    let listed = workflows
        .iter()
        .map(|(_, id, _)| *id)
        .chain(approvals::WORKFLOWS);
    for workflow in listed {
        let workflow = crm_model::ids::WorkflowId::new(workflow).map_err(|e| e.to_string())?;
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
    println!("Approval and sales recording, read back through records-api:");
    approvals::report(&records, &approved).await?;
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
    let count_mail = |kind: &str| {
        state["ses"][kind]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|m| m["destinations"].to_string().contains(seed::EMAIL_DOMAIN))
                    .count()
            })
            .unwrap_or(0)
    };
    let (demo_mail, with_attachment) = (count_mail("Message"), count_mail("RawMessage"));
    println!("SMS recorded by the emulator's SNS: {}", demo_sms.len());
    if let Some(first) = demo_sms.first() {
        println!(
            "  e.g. to {}: {}",
            first["phone_number"].as_str().unwrap_or("?"),
            first["message"].as_str().unwrap_or("?")
        );
    }
    println!(
        "Emails stored by the emulator's SES: {} ({with_attachment} with the PDF voucher attached)",
        demo_mail + with_attachment
    );
    if created == 0 && seeded == 0 && fired == 0 && messages.is_empty() {
        println!(
            "Nothing changed: everything was already in place, and every due occurrence was claimed in an earlier run."
        );
    } else if created == 0 && seeded == 0 {
        println!("Settings, workflows and records were already in place.");
    } else {
        println!("{created} settings, workflows and activations were created this run.");
    }
    println!("Functions (release bootstrap under the Lambda RIE):");
    for function in &functions {
        let bytes = std::fs::metadata(
            root.join("target/lambda")
                .join(function.name)
                .join("bootstrap"),
        )
        .map(|m| m.len())
        .unwrap_or(0);
        println!(
            "  {:<16} init {}, {:.1} MB",
            function.name,
            function
                .init_ms()
                .map_or("(not invoked this run)".to_owned(), |ms| format!(
                    "{ms:.1} ms"
                )),
            bytes as f64 / 1e6
        );
    }
    Ok(())
}
