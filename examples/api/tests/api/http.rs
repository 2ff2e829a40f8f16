//! What every request gets: JSON errors, a body limit, a timeout, panic catching, closed CORS.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use serde_json::Value;
use tower::ServiceExt;

use api_service::http::with_middleware;

use crate::helpers::{spawn_app, spawn_app_with, test_config, test_state};

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
async fn bodies_over_the_limit_get_413() {
    let app = spawn_app_with(|config| config.http.body_limit_bytes = 16).await;

    let response = app
        .client
        .post(app.url("/"))
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_panic_is_a_500_that_keeps_its_message_private() {
    async fn panics() -> &'static str {
        panic!("secret detail")
    }
    let routes = Router::new().route("/panic", get(panics));
    let router = with_middleware(routes, &test_config().http)
        .unwrap()
        .with_state(test_state());

    let response = router.oneshot(get_request("/panic")).await.unwrap();

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("internal error"), "{body}");
    assert!(!body.contains("secret detail"), "{body}");
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
    let router = with_middleware(routes, &config)
        .unwrap()
        .with_state(test_state());

    let response = router.oneshot(get_request("/slow")).await.unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
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
async fn a_malformed_cors_origin_stops_the_router_from_building() {
    let mut config = test_config().http;
    config.cors_allowed_origins = vec!["https://bad\norigin".to_owned()];

    let error = with_middleware(Router::new(), &config).unwrap_err();

    assert!(
        format!("{error:#}").contains("http.cors_allowed_origins"),
        "{error:#}"
    );
}

fn get_request(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}
