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

#[test]
fn the_workflow_api_document_lists_exactly_the_routes() {
    let routes: BTreeSet<(String, String)> = crm_api::workflow_api::ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), (*path).to_owned()))
        .collect();
    let documented = documented("workflow-api.json");
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
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
