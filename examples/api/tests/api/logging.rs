//! Request ids and request logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use serde_json::Value;
use tower::ServiceExt;

use api_service::config::LogFormat;
use api_service::logging;
use api_service::startup::with_middleware;

use crate::helpers::{spawn_app, spawn_app_with, test_config};

#[tokio::test]
async fn a_request_id_is_made_when_the_client_sends_none() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "not a UUID: {id}");
}

#[tokio::test]
async fn the_clients_request_id_is_kept() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/"))
        .header("x-request-id", "client-chosen-id")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["x-request-id"], "client-chosen-id");
}

// A current-thread runtime (the `tokio::test` default) runs the server on this thread, so the
// thread's default subscriber sees its events.
#[tokio::test]
async fn each_request_is_logged_as_json_with_its_route_status_and_id() {
    let captured = Captured::default();
    let subscriber = logging::subscriber(LogFormat::Json, captured.clone()).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/no/such/page"))
        .header("x-request-id", "trace-me")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let lines = captured.json_lines();
    let line = lines
        .iter()
        .find(|line| line["span"]["request_id"] == "trace-me")
        .unwrap_or_else(|| panic!("no log line carries the request id: {lines:#?}"));
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["status"], 404);
    assert!(line["latency"].is_string(), "{line}");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["path"], "/no/such/page");
    assert!(line["timestamp"].is_string(), "{line}");
}

#[tokio::test]
async fn responses_made_by_the_outer_layers_are_logged_too() {
    let captured = Captured::default();
    let subscriber = logging::subscriber(LogFormat::Json, captured.clone()).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = spawn_app_with(|config| config.http.body_limit_bytes = 16).await;

    let response = app
        .client
        .post(app.url("/"))
        .header("x-request-id", "too-large")
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let lines = captured.json_lines();
    assert!(
        lines
            .iter()
            .any(|line| line["span"]["request_id"] == "too-large" && line["status"] == 413),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn a_panic_is_logged_inside_its_request_span() {
    let captured = Captured::default();
    let subscriber = logging::subscriber(LogFormat::Json, captured.clone()).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);
    logging::log_panics();
    async fn panics() -> &'static str {
        panic!("on purpose")
    }
    let router = with_middleware(
        Router::new().route("/panic", get(panics)),
        &test_config().http,
    )
    .unwrap();
    let request = Request::get("/panic")
        .header("x-request-id", "panicking")
        .body(Body::empty())
        .unwrap();

    let response = router.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let lines = captured.json_lines();
    let panic = lines
        .iter()
        .find(|line| line["message"] == "panicked")
        .unwrap_or_else(|| panic!("the panic is not logged: {lines:#?}"));
    assert_eq!(panic["span"]["request_id"], "panicking", "{panic}");
    assert_eq!(panic["panic"], "on purpose", "{panic}");
    assert_eq!(panic["level"], "ERROR", "{panic}");
}

#[tokio::test]
async fn probes_stay_out_of_the_request_log() {
    let captured = Captured::default();
    let subscriber = logging::subscriber(LogFormat::Json, captured.clone()).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = spawn_app().await;

    app.client
        .get(app.url("/livez"))
        .header("x-request-id", "probe")
        .send()
        .await
        .unwrap();

    let lines = captured.json_lines();
    assert!(
        lines
            .iter()
            .all(|line| line["span"]["request_id"] != "probe"),
        "{lines:#?}"
    );
}

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Every line, each of which must be a JSON object.
    fn json_lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for Captured {
    type Writer = Self;

    fn make_writer(&'writer self) -> Self::Writer {
        self.clone()
    }
}
