//! HTTP: the router, the state its handlers share, and the limits every request passes through.

pub mod error;

use std::any::Any;
use std::time::Duration;

use anyhow::Context;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;

use crate::config::HttpConfig;

/// What handlers share. Cloned for every request, so every field is a cheap handle.
#[derive(Clone, Default)]
pub struct AppState {}

/// Every route and its middleware, but no socket: tests call it with `tower::ServiceExt::oneshot`.
///
/// Fails when the config holds a value no layer can use, such as a malformed CORS origin.
pub fn router(state: AppState, config: &HttpConfig) -> anyhow::Result<Router> {
    Ok(with_middleware(routes(), config)?.with_state(state))
}

/// The service's routes, before the middleware every request passes through.
pub fn routes() -> Router<AppState> {
    let api = Router::new()
        .route("/", get(about))
        // Unknown paths get the same JSON error body as every other failure.
        .fallback(not_found);
    Router::new().merge(api)
}

/// Puts `routes` behind the limits every request gets: panic catching, a timeout, a body size
/// limit, CORS. Public so tests can put routes of their own behind it.
pub fn with_middleware(
    routes: Router<AppState>,
    config: &HttpConfig,
) -> anyhow::Result<Router<AppState>> {
    let routes = routes
        .layer(CatchPanicLayer::custom(internal_error_on_panic))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(cors(&config.cors_allowed_origins)?);
    Ok(routes)
}

/// `GET /`: which service and version answers.
async fn about() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Cross-origin browser calls are refused unless their origin is listed in the config.
fn cors(allowed_origins: &[String]) -> anyhow::Result<CorsLayer> {
    let origins = allowed_origins
        .iter()
        .map(|origin| {
            HeaderValue::from_str(origin)
                .with_context(|| format!("http.cors_allowed_origins: {origin:?} is not an origin"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]))
}

/// A panicking handler answers like any internal error: 500, with the panic message in the log
/// and not in the response.
fn internal_error_on_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    ApiError::Internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}
