//! HTTP: what every request gets, whatever routes the service has: the layers it passes
//! through, and the JSON answers for unknown paths, wrong methods and every other error.

use std::any::Any;
use std::time::Duration;

use anyhow::{Context, ensure};
use axum::body::to_bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::HttpConfig;
use crate::error::ApiError;

/// `GET /`, which every service has.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/", get(about))
}

/// Puts `routes` behind the layers every request gets, innermost first: panic catching, a
/// timeout, a body size limit, CORS, JSON bodies for every error, then security headers.
pub fn with_layers<S>(routes: Router<S>, config: &HttpConfig) -> anyhow::Result<Router<S>>
where
    S: Clone + Send + Sync + 'static,
{
    Ok(routes
        .layer(CatchPanicLayer::custom(internal_error_on_panic))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(cors(&config.cors_allowed_origins)?)
        // Outside every layer that answers on its own (413, 503, 405, rejected bodies).
        .layer(map_response(json_error_body))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // A JSON API has nothing to render, frame or load.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        // Answers are per request unless a handler says otherwise: a cached answer from a probe
        // or a resource is worse than none.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        )))
}

/// `GET /`: which service and version answers.
async fn about() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// The fallback for paths no route matches.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// The fallback for a path whose routes take other methods.
pub async fn method_not_allowed() -> ApiError {
    ApiError::Rejected(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed".to_owned(),
    )
}

/// Gives error responses that layers and extractors make themselves (an empty 503 from the
/// timeout, a text 413 from the body limit, axum's text rejections of malformed bodies) the
/// JSON body every other error has. Client errors keep their text, which says what to fix;
/// server errors never pass on theirs.
async fn json_error_body(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    if status.is_server_error() {
        return ApiError::Rejected(status, reason).into_response();
    }
    let text = to_bytes(response.into_body(), 4096)
        .await
        .ok()
        .and_then(|body| String::from_utf8(body.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    ApiError::Rejected(status, text.unwrap_or(reason)).into_response()
}

/// `application/json`, or a JSON format of its own such as `application/health+json`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"))
}

/// Cross-origin browser calls are refused unless their origin is listed in the config, or the
/// list is `["*"]`, which allows any origin (credentials are never allowed).
fn cors(allowed_origins: &[String]) -> anyhow::Result<CorsLayer> {
    let allow_origin = if allowed_origins == ["*"] {
        AllowOrigin::any()
    } else {
        let origins = allowed_origins
            .iter()
            .enumerate()
            .map(|(index, origin)| {
                parse_origin(origin).with_context(|| format!("http.cors_allowed_origins[{index}]"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        AllowOrigin::list(origins)
    };
    Ok(CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]))
}

/// An origin as browsers send it: `scheme://host[:port]`. A trailing `/` is dropped, so
/// `https://app.example.com/` matches what browsers send.
fn parse_origin(origin: &str) -> anyhow::Result<HeaderValue> {
    ensure!(
        origin != "*",
        "`*` allows any origin and must be the only entry"
    );
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    let uri: Uri = origin
        .parse()
        .ok()
        .context("is not an origin like https://app.example.com")?;
    ensure!(
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.authority().is_some()
            && uri
                .path_and_query()
                .is_none_or(|path| matches!(path.as_str(), "" | "/")),
        "is not an origin like https://app.example.com (scheme, host and port only)"
    );
    HeaderValue::from_str(origin).context("is not an origin like https://app.example.com")
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
