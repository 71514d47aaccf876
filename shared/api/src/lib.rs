//! The console's HTTP APIs, as axum routers that run unchanged in Lambda (through `lambda_http`)
//! and on a local server. Handlers parse, call the model's use cases over the ports, and map the
//! result; every error goes through [`problem::ApiError`].

pub mod auth;
pub mod body;
mod documented;
pub mod problem;
pub mod records_api;
pub mod routes;
pub mod workflow_api;

pub use auth::{Caller, LocalClaims};
pub use problem::ApiError;
