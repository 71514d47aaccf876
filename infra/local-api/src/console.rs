//! The web console, served at `/` from its build (`console/dist`) beside the APIs it calls, with
//! the configuration a deployment writes at deploy time: here, the API on the same origin and the
//! development login.

use std::path::PathBuf;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

/// Where the console's build is: `CONSOLE_DIR`, else `console/dist` of this repository.
pub fn dist_dir() -> PathBuf {
    std::env::var_os("CONSOLE_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../console/dist")),
        PathBuf::from,
    )
}

/// The console's routes: `/`, `/config.json` and `/assets/…`. Every other path is the APIs'.
pub fn routes(dist: PathBuf) -> Router {
    if !dist.join("index.html").is_file() {
        return Router::new().route("/", get(not_built));
    }
    Router::new()
        .route_service("/", ServeFile::new(dist.join("index.html")))
        .route("/config.json", get(config))
        .nest_service("/assets", ServeDir::new(dist.join("assets")))
}

async fn config() -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "api_base": "", "login": { "type": "dev" } })),
    )
        .into_response()
}

async fn not_built() -> Response {
    (
        StatusCode::NOT_FOUND,
        "the console is not built: (cd console && npm ci && npm run build)\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::Request;
    use tower::ServiceExt;

    async fn get_path(app: Router, path: &str) -> (StatusCode, String) {
        let response = app
            .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn the_console_is_served_at_the_root_with_its_assets_and_configuration() {
        let dist = std::env::temp_dir().join(format!("console-dist-{}", std::process::id()));
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        std::fs::write(dist.join("index.html"), "<div id=root></div>").unwrap();
        std::fs::write(dist.join("assets/app.js"), "console.log(1)").unwrap();
        let app = routes(dist.clone());
        assert_eq!(
            get_path(app.clone(), "/").await,
            (StatusCode::OK, "<div id=root></div>".to_owned())
        );
        assert_eq!(
            get_path(app.clone(), "/assets/app.js").await.0,
            StatusCode::OK
        );
        let (status, config) = get_path(app, "/config.json").await;
        assert_eq!(status, StatusCode::OK);
        assert!(config.contains(r#""type":"dev""#), "{config}");
        std::fs::remove_dir_all(dist).unwrap();
    }

    #[tokio::test]
    async fn without_a_build_the_root_says_how_to_make_one() {
        let (status, body) = get_path(routes(PathBuf::from("/nonexistent")), "/").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("npm run build"), "{body}");
    }
}
