//! The live preview of a template being written, through the workflow API over DynamoDB (local
//! emulator): texts rendered for one of the tenant's records as they would be sent, merge
//! problems per text, and what it refuses (another tenant's record, a salesperson, bad bodies).

mod common;

use axum::http::{Method, StatusCode};
use common::{Tenant, call, create, records_api, workflow_api};
use serde_json::json;

#[tokio::test]
async fn a_draft_is_rendered_for_a_record_with_its_problems_and_only_for_an_administrator() {
    let records = records_api().await;
    let settings = workflow_api().await;
    let tenant = Tenant::new(&records).await;
    let customer = create(
        &records,
        &tenant,
        "Customer",
        json!({"Name": "Lan <Hoa>", "Owner": "u-sales", "Birthday": "1990-03-08"}),
    )
    .await;
    let body = json!({"record": customer, "texts": [
        {"text": "Chúc mừng #Name (#Birthday), #Owner.Email"},
        {"text": "<p>#Name</p>", "html": true},
        {"text": "#Nmae"}]});
    let path = "/modules/Customer/merge-preview";
    let answer = call(
        &settings.router,
        Method::POST,
        path,
        Some(&tenant.admin()),
        Some(body.clone()),
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["record"], json!(customer));
    let texts = &answer.body["texts"];
    assert_eq!(
        texts[0],
        json!({"rendered": "Chúc mừng Lan <Hoa> (08/03/1990), u-sales@example.vn", "problems": []})
    );
    assert_eq!(texts[1]["rendered"], json!("<p>Lan &lt;Hoa&gt;</p>"));
    assert_eq!(texts[2]["rendered"], json!(null));
    assert!(
        texts[2]["problems"][0].as_str().unwrap().contains("'Nmae'"),
        "{texts}"
    );

    let sales = call(
        &settings.router,
        Method::POST,
        path,
        Some(&tenant.salesperson()),
        Some(body.clone()),
        &[],
    )
    .await;
    assert_eq!(sales.status, StatusCode::FORBIDDEN, "{}", sales.body);
    let other = Tenant::new(&records).await;
    let elsewhere = call(
        &settings.router,
        Method::POST,
        path,
        Some(&other.admin()),
        Some(body.clone()),
        &[],
    )
    .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.body
    );
    let as_lead = call(
        &settings.router,
        Method::POST,
        "/modules/Lead/merge-preview",
        Some(&tenant.admin()),
        Some(body),
        &[],
    )
    .await;
    assert_eq!(as_lead.status, StatusCode::NOT_FOUND, "{}", as_lead.body);

    let too_many = json!({"record": customer, "texts": [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}, {"text": "e"}]});
    let refused = call(
        &settings.router,
        Method::POST,
        path,
        Some(&tenant.admin()),
        Some(too_many),
        &[],
    )
    .await;
    assert!(refused.field_error("/texts"), "{}", refused.body);
    let long = json!({"record": "không phải id", "texts": [{"text": "x".repeat(100_001)}]});
    let refused = call(
        &settings.router,
        Method::POST,
        path,
        Some(&tenant.admin()),
        Some(long),
        &[],
    )
    .await;
    assert!(refused.field_error("/record"), "{}", refused.body);
    assert!(refused.field_error("/texts/0/text"), "{}", refused.body);
    let typo = json!({"record": customer, "texts": [{"txt": "a"}]});
    let refused = call(
        &settings.router,
        Method::POST,
        path,
        Some(&tenant.admin()),
        Some(typo),
        &[],
    )
    .await;
    assert!(
        refused.field_error("/texts/0/txt") || refused.field_error("/texts/0"),
        "{}",
        refused.body
    );
}
