//! The probes and the `healthcheck` command.

use axum::http::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;

use api_service::health;

use crate::helpers::spawn_app;
#[tokio::test]
async fn livez_passes_as_uncached_health_json() {
    let app = spawn_app().await;

    let response = app.get("/livez").await;

    let body = passing_health_json(response).await;
    assert!(body.get("checks").is_none(), "{body}");
}

#[tokio::test]
async fn readyz_passes_when_the_service_is_ready() {
    let app = spawn_app().await;

    let response = app.get("/readyz").await;

    passing_health_json(response).await;
}

#[tokio::test]
async fn healthcheck_asks_livez_and_with_ready_asks_readyz() {
    let app = spawn_app().await;
    let ready = app.get("/readyz").await.status() == StatusCode::OK;

    let live = health::probe(app.address.port(), false).await;
    let probed_ready = health::probe(app.address.port(), true).await;

    assert!(live.is_ok(), "{live:?}");
    assert_eq!(probed_ready.is_ok(), ready, "{probed_ready:?}");
}

#[tokio::test]
async fn healthcheck_fails_when_nothing_listens() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);

    for ready in [false, true] {
        let outcome = health::probe(port, ready).await;

        assert!(outcome.is_err());
    }
}

/// Checks a probe answered 200 with uncached health JSON whose status is `pass`; returns the body.
async fn passing_health_json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/health+json");
    assert_eq!(headers["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "pass", "{body}");
    body
}
