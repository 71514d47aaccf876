//! A task's printed attachment and the record it was made for, through the records API over the
//! local emulator: the task is listed in the lead's open activities, and its file downloads
//! through a short-lived link, for its own tenant only.

mod common;

use axum::http::{Method, StatusCode};
use common::{Tenant, call, records_api};
use crm_model::ids::RecordId;
use crm_model::ports::{Attachment, AttachmentStore, RecordStore, StoredRecord};
use crm_model::schema::Module;
use serde_json::json;

#[tokio::test]
async fn a_lead_lists_its_open_task_and_the_tasks_file_downloads_through_a_link() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let other = Tenant::new(&app).await;
    let admin = tenant.admin();
    let record = |id: &str, module, fields: serde_json::Value| StoredRecord {
        id: RecordId::new(id).unwrap(),
        module,
        fields: fields.as_object().unwrap().clone(),
    };
    for stored in [
        record(
            "l-1",
            Module::Lead,
            json!({"Name": "Chị Lan", "Owner": "u-admin"}),
        ),
        record(
            "t-open",
            Module::Task,
            json!({"Title": "Gọi chị Lan", "Status": "Open", "Owner": "u-admin",
                   "RelatedModule": "Lead", "RelatedRecord": "l-1", "Attachments": ["Báo giá.pdf"],
                   "CreatedAt": "2027-05-02T01:00:00Z"}),
        ),
        record(
            "t-done",
            Module::Task,
            json!({"Title": "Đã gọi", "Status": "Done", "Owner": "u-admin",
                   "RelatedModule": "Lead", "RelatedRecord": "l-1", "CreatedAt": "2027-05-01T01:00:00Z"}),
        ),
    ] {
        app.stores
            .records
            .create(&tenant.id, &stored)
            .await
            .unwrap();
    }
    let sdk = common::sdk().await;
    let bucket = std::env::var("ATTACHMENTS_BUCKET")
        .unwrap_or_else(|_| "crm-local-attachmentsbucket".to_owned());
    let files = crm_adapters::attachments::S3Attachments::new(
        crm_adapters::attachments::S3Attachments::client(&sdk),
        bucket,
    );
    let pdf = b"%PDF-1.7 bao gia".to_vec();
    files
        .put(
            &tenant.id,
            &RecordId::new("t-open").unwrap(),
            &Attachment {
                file_name: "Báo giá.pdf".into(),
                content_type: "application/pdf".into(),
                data: pdf.clone(),
            },
        )
        .await
        .unwrap();

    let open = call(
        &app.router,
        Method::GET,
        "/records/Lead/l-1/activities?open=true",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    let ids: Vec<&str> = open.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids, ["t-open"], "the open task only: {}", open.body);
    let all = call(
        &app.router,
        Method::GET,
        "/records/Lead/l-1/activities",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        all.body
    );

    let path = "/records/Task/t-open/attachments/B%C3%A1o%20gi%C3%A1.pdf";
    let link = call(&app.router, Method::GET, path, Some(&admin), None, &[]).await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.body);
    assert_eq!(link.body["name"], "Báo giá.pdf");
    assert_eq!(link.body["expires_in"], 300);
    let url = link.body["url"].as_str().unwrap();
    let downloaded = reqwest::get(url).await.unwrap();
    assert!(downloaded.status().is_success(), "{}", downloaded.status());
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), pdf);

    let unlisted = call(
        &app.router,
        Method::GET,
        "/records/Task/t-open/attachments/other.pdf",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(unlisted.status, StatusCode::NOT_FOUND, "{}", unlisted.body);
    let elsewhere = call(
        &app.router,
        Method::GET,
        path,
        Some(&other.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "another tenant: {}",
        elsewhere.body
    );
}
