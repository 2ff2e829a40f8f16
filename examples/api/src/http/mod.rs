//! HTTP: the router, the state its handlers share, and the limits every request passes through.

pub mod error;

use std::any::Any;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Level, Span};

pub use error::ApiError;

use crate::config::HttpConfig;
use crate::health::{self, Readiness};

/// What handlers share. Cloned for every request, so every field is a cheap handle.
#[derive(Clone)]
pub struct AppState {
    /// Whether `/readyz` may report ready.
    pub readiness: Readiness,
}

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
        .fallback(not_found)
        // Request logs cover the API but not the probes, which orchestrators call every few
        // seconds on every replica; a failing probe logs its own warning.
        .layer(request_log());
    Router::new().merge(health::router()).merge(api)
}

/// Puts `routes` behind the limits every request gets: panic catching, a timeout, a body size
/// limit, CORS and request ids. Public so tests can put routes of their own behind it.
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
    // Outermost, so the id exists before anything logs: a client's own `x-request-id` is kept,
    // otherwise a UUID is made; either way it is sent back in the response.
    let routes = routes
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
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

type RequestLog = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&Request) -> Span,
    (),
    DefaultOnResponse,
>;

/// Request logs: one INFO line per response with status and latency, inside a span that carries
/// method, route pattern, path and request id; failures (5xx) are logged at ERROR.
fn request_log() -> RequestLog {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request) -> Span)
        .on_request(())
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        )
}

/// The span every request log line carries: method, route pattern, path and request id.
fn request_span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        path = request.uri().path(),
        request_id,
    )
}
