//! What every request gets: JSON errors, security headers, a body limit, a timeout, a header
//! read timeout, panic catching, closed CORS.

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use api_service::startup::with_middleware;

use crate::helpers::{spawn_app, spawn_app_with, test_config};

#[tokio::test]
async fn root_names_the_service() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], env!("CARGO_PKG_NAME"));
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let app = spawn_app().await;

    let response = app.get("/no/such/thing").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not found");
}

#[tokio::test]
async fn bodies_over_the_limit_get_a_json_413() {
    let app = spawn_app_with(|config| config.http.body_limit_bytes = 16).await;

    let response = app
        .client
        .post(app.url("/"))
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
}

/// A body the test routes below read as JSON.
#[derive(Deserialize)]
struct Greeting {
    #[allow(dead_code)]
    name: String,
}

/// The service's middleware around a route that reads a JSON body.
fn json_route() -> Router {
    let routes = Router::new().route("/greet", post(|Json(_): Json<Greeting>| async { "hi" }));
    with_middleware(routes, &test_config().http).unwrap()
}

#[tokio::test]
async fn every_failure_is_json_with_the_same_shape() {
    let post = |content_type: Option<&str>, body: &str| {
        let mut request = Request::post("/greet");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        request.body(Body::from(body.to_owned())).unwrap()
    };
    let cases = [
        (
            "malformed JSON",
            post(Some("application/json"), "{"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no content type",
            post(None, r#"{"name":"x"}"#),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a field missing",
            post(Some("application/json"), "{}"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a wrong method",
            get_request("/greet"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "an unknown path",
            get_request("/nowhere"),
            StatusCode::NOT_FOUND,
        ),
    ];

    for (what, request, status) in cases {
        let response = json_route().oneshot(request).await.unwrap();

        assert_eq!(response.status(), status, "{what}");
        let body = json_error(response).await;
        assert!(!body.is_empty(), "{what}: an empty message");
    }
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;

    for path in ["/", "/no/such/thing"] {
        let response = app.get(path).await;

        assert_security_headers(response.headers());
    }
}

#[tokio::test]
async fn a_half_sent_request_is_closed_at_the_header_read_timeout() {
    let app = spawn_app_with(|config| config.http.header_read_timeout_secs = 1).await;
    let mut connection = TcpStream::connect(app.address).await.unwrap();
    connection
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n")
        .await
        .unwrap();
    let started = Instant::now();

    let mut buffer = [0; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), connection.read(&mut buffer))
        .await
        .expect("the connection is still open 5 s later");

    // Closed (an empty read, or a reset), after about the timeout, without an answer.
    assert!(read.is_err() || read.is_ok_and(|n| n == 0 || !buffer.starts_with(b"HTTP/1.1 200")));
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    // Meanwhile the service serves everyone else.
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_panic_is_a_500_that_keeps_its_message_private() {
    async fn panics() -> &'static str {
        panic!("secret detail")
    }
    let routes = Router::new().route("/panic", get(panics));
    let router = with_middleware(routes, &test_config().http).unwrap();

    let response = router.oneshot(get_request("/panic")).await.unwrap();

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_security_headers(response.headers());
    let message = json_error(response).await;
    assert_eq!(message, "internal error");
}

#[tokio::test]
async fn slow_requests_get_503_at_the_timeout() {
    let mut config = test_config().http;
    config.request_timeout_secs = 1;
    let routes = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            "too late"
        }),
    );
    let router = with_middleware(routes, &config).unwrap();

    let response = router.oneshot(get_request("/slow")).await.unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    json_error(response).await;
}

#[tokio::test]
async fn cross_origin_calls_are_refused_unless_the_origin_is_listed() {
    let closed = spawn_app().await;
    let open = spawn_app_with(|config| {
        config.http.cors_allowed_origins = vec!["https://app.example.com".to_owned()];
    })
    .await;

    let refused = closed
        .client
        .get(closed.url("/"))
        .header(header::ORIGIN, "https://app.example.com")
        .send()
        .await
        .unwrap();
    let allowed = open
        .client
        .get(open.url("/"))
        .header(header::ORIGIN, "https://app.example.com")
        .send()
        .await
        .unwrap();

    assert!(
        refused
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
}

#[tokio::test]
async fn a_star_allows_any_origin_and_a_trailing_slash_is_ignored() {
    for (origins, expected) in [
        ("*", "*"),
        ("https://app.example.com/", "https://app.example.com"),
    ] {
        let mut config = test_config().http;
        config.cors_allowed_origins = vec![origins.to_owned()];
        let router =
            with_middleware(Router::new().route("/", get(|| async { "hi" })), &config).unwrap();
        let request = Request::get("/")
            .header(header::ORIGIN, "https://app.example.com")
            .body(Body::empty())
            .unwrap();

        let response = router.oneshot(request).await.unwrap();

        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            expected,
            "{origins}"
        );
    }
}

#[tokio::test]
async fn unusable_cors_origins_stop_the_router_from_building() {
    for origins in [
        vec!["https://bad\norigin"],
        vec!["*", "https://app.example.com"],
        vec!["app.example.com"],
        vec!["https://app.example.com/path"],
    ] {
        let mut config = test_config().http;
        config.cors_allowed_origins = origins.iter().map(|o| o.to_string()).collect();

        let error = with_middleware(Router::<()>::new(), &config).unwrap_err();

        assert!(
            format!("{error:#}").contains("http.cors_allowed_origins"),
            "{origins:?}: {error:#}"
        );
    }
}

fn get_request(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// Checks `response` is a JSON error and returns its message.
async fn json_error(response: Response) -> String {
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {body}"))
        .to_owned()
}

fn assert_security_headers(headers: &HeaderMap) {
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}
