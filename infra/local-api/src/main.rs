//! The console's APIs on localhost for development: the same router the Lambda function serves,
//! with the JWT claims API Gateway's authorizer would pass taken from the bearer token's payload
//! instead. The token is not verified, so this binds to loopback only.
//!
//!     infra/stack.sh up && source .local/env && cargo run -p crm-local-api
//!     curl -H "Authorization: Bearer $(cargo run -q -p crm-local-api -- token demo-tenant u-admin admin)" \
//!          http://127.0.0.1:3000/workflows

use std::collections::HashMap;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crm_api::{ApiError, LocalClaims};

mod console;

/// The claims of a bearer token's payload, flattened as API Gateway flattens them (arrays become
/// `[a b]`). `None` when there is no readable token: the handlers then answer 401.
fn claims(request: &Request) -> Option<HashMap<String, String>> {
    let header = request.headers().get("authorization")?.to_str().ok()?;
    let token = header.strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let object: serde_json::Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    Some(
        object
            .into_iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(s) => s,
                    Value::Array(items) => {
                        let items: Vec<String> = items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                            .collect();
                        format!("[{}]", items.join(" "))
                    }
                    other => other.to_string(),
                };
                (key, text)
            })
            .collect(),
    )
}

/// Whether a Host header names this machine's loopback (with or without a port). A page on
/// another site may make the browser send requests to 127.0.0.1 under its own name (DNS
/// rebinding); the unsigned dev tokens make such a request worth refusing.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // [::1]:3000
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn loopback_only(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !is_loopback_host(host) {
        return axum::response::IntoResponse::into_response(ApiError::MisdirectedRequest(format!(
            "this development server answers only on loopback, not to Host '{host}'"
        )));
    }
    next.run(request).await
}

async fn dev_claims(mut request: Request, next: Next) -> Response {
    if let Some(claims) = claims(&request) {
        request.extensions_mut().insert(LocalClaims(claims));
    }
    next.run(request).await
}

/// An unsigned token with the claims the authorizer would pass.
fn dev_token(tenant: &str, user: &str, role: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    // The email lets an administrator's token set up a tenant that has no user yet (its first
    // administrator); every other caller must already be an active user of the tenant.
    let payload = serde_json::json!({
        "sub": user, "custom:tenant_id": tenant, "cognito:groups": [role],
        "email": format!("{user}@{tenant}.local.test"),
    });
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(payload.to_string()))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("token") {
        let get =
            |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_owned());
        println!(
            "{}",
            dev_token(&get(2, "demo-tenant"), &get(3, "u-admin"), &get(4, "admin"))
        );
        return Ok(());
    }
    let port: u16 = std::env::var("LOCAL_API_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    // The same composition roots as the functions: the tables and bus of `.local/env`.
    let records = records_api::app(
        records_api::state_from_env()
            .await
            .map_err(|e| e.to_string())?,
    );
    let workflows = workflow_api::app(
        workflow_api::state_from_env()
            .await
            .map_err(|e| e.to_string())?,
    );
    // The console at `/`; both APIs on the same port, split by path the way the HTTP API's
    // routes split them.
    let console_dir = console::dist_dir();
    let router = console::routes(console_dir.clone())
        .fallback(move |request: axum::extract::Request| {
            let api = if crm_api::records_api::serves(request.uri().path()) {
                records.clone()
            } else {
                workflows.clone()
            };
            async move { tower::ServiceExt::oneshot(api, request).await }
        })
        .layer(middleware::from_fn(dev_claims))
        .layer(middleware::from_fn(loopback_only));
    // Loopback only: the tokens are not verified.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("automation settings and records APIs on http://127.0.0.1:{port}");
    eprintln!(
        "web console: http://127.0.0.1:{port}/ (from {})",
        console_dir.display()
    );
    eprintln!(
        "try: curl -H 'Authorization: Bearer {}' http://127.0.0.1:{port}/workflows",
        dev_token("demo-tenant", "u-admin", "admin")
    );
    axum::serve(listener, router)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dev_token_carries_the_claims_an_authorizer_would_pass() {
        let token = dev_token("acme", "u-1", "admin");
        let request = Request::builder()
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let read = claims(&request).unwrap();
        assert_eq!(read["custom:tenant_id"], "acme");
        assert_eq!(read["cognito:groups"], "[admin]");
        let claimed = crm_api::Caller::claimed(&read).unwrap();
        assert!(claimed.administrator && claimed.email.is_some());
        let none = Request::builder().body(axum::body::Body::empty()).unwrap();
        assert!(claims(&none).is_none());
    }

    #[tokio::test]
    async fn a_request_for_another_host_is_refused_before_any_handler_runs() {
        let app = axum::Router::new()
            .route("/workflows", axum::routing::get(|| async { "served" }))
            .layer(middleware::from_fn(loopback_only));
        let request = |host: &str| {
            Request::builder()
                .uri("/workflows")
                .header("host", host)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let refused = tower::ServiceExt::oneshot(app.clone(), request("rebound.example:3000"))
            .await
            .unwrap();
        assert_eq!(
            refused.status(),
            axum::http::StatusCode::MISDIRECTED_REQUEST
        );
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
        let served = tower::ServiceExt::oneshot(app, request("127.0.0.1:3000"))
            .await
            .unwrap();
        assert_eq!(served.status(), axum::http::StatusCode::OK);
    }

    #[test]
    fn only_loopback_hosts_are_served() {
        for host in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST",
            "[::1]:3000",
            "127.0.0.2",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example:3000",
            "localhost.evil.example",
            "10.0.0.1:3000",
            "[fe80::1]:3000",
            "0.0.0.0:3000",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
