//! The OpenAPI document and the router agree: every route is documented, and nothing else is.

use std::collections::BTreeSet;

fn documented(file: &str) -> BTreeSet<(String, String)> {
    let path = format!("{}/../../docs/openapi/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| methods.contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

fn assert_agree(routes: &[crm_api::routes::Route], file: &str) {
    let routes: BTreeSet<(String, String)> = routes
        .iter()
        .map(|(method, path)| (method.to_string(), (*path).to_owned()))
        .collect();
    let documented = documented(file);
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "{file}: routes missing from the document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "{file}: documented but not routed: {unrouted:?}"
    );
}

#[test]
fn the_workflow_api_document_lists_exactly_the_routes() {
    assert_agree(crm_api::workflow_api::ROUTES, "workflow-api.json");
}

#[test]
fn the_records_api_document_lists_exactly_the_routes() {
    assert_agree(crm_api::records_api::ROUTES, "records-api.json");
}

#[test]
fn each_request_path_goes_to_the_api_that_serves_it() {
    use crm_api::records_api::serves;
    for (_, path) in crm_api::records_api::ROUTES {
        assert!(serves(&path.replace("{module}", "Customer")), "{path}");
    }
    for (_, path) in crm_api::workflow_api::ROUTES {
        assert!(!serves(&path.replace("{id}", "x")), "{path}");
    }
}

mod common;

#[tokio::test]
async fn the_router_serves_every_listed_route() {
    let app = common::workflow_api().await;
    for (method, template) in crm_api::workflow_api::ROUTES {
        let path = template
            .replace("{id}", "x")
            .replace("{kind}", "sms-templates")
            .replace("{version}", "1")
            .replace("{module}", "Customer");
        // Without credentials a served route asks for them; an unserved one answers 404/405.
        let answer = common::call(&app.router, method.clone(), &path, None, None, &[]).await;
        assert_eq!(
            answer.status,
            axum::http::StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn the_records_router_serves_every_listed_route() {
    let app = common::records_api().await;
    for (method, template) in crm_api::records_api::ROUTES {
        let path = template
            .replace("{id}", "x")
            .replace("{key}", "x")
            .replace("{module}", "Customer");
        let answer = common::call(&app.router, method.clone(), &path, None, None, &[]).await;
        // A web form's submissions, an approver's email link and a switchboard's call events
        // come without a login: the first asks for its JSON body; the link's page finds no link
        // in a token that is not one, and its decision asks for its body first; an event of a
        // switchboard that is not one is not found.
        let expected = match (*template, method.as_str()) {
            ("/intake/{key}", _) => axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ("/voip/{endpoint}/events", _) => axum::http::StatusCode::NOT_FOUND,
            ("/approval-links/{token}", "GET") => axum::http::StatusCode::GONE,
            ("/approval-links/{token}", _) => axum::http::StatusCode::BAD_REQUEST,
            _ => axum::http::StatusCode::UNAUTHORIZED,
        };
        assert_eq!(answer.status, expected, "{method} {path}: {}", answer.body);
    }
}
