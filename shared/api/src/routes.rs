//! Route tables: one list per API of (method, path), used to build the router and to check the
//! OpenAPI documents against it.

use axum::http::{Method, Uri};
use axum::response::IntoResponse;

use crate::problem::ApiError;

/// A route: method and axum path (`/workflows/{id}`, the OpenAPI syntax too).
pub type Route = (Method, &'static str);

/// The answer for a path no route serves.
pub async fn not_found(uri: Uri) -> impl IntoResponse {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

/// The answer for a known path with a method it does not take.
pub async fn method_not_allowed(method: Method, uri: Uri) -> impl IntoResponse {
    ApiError::MethodNotAllowed(format!("{} does not take {method}", uri.path()))
}
