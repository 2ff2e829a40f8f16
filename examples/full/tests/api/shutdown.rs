//! Graceful shutdown: requests in flight finish, responses retire their connections while
//! draining, idle connections do not hold the process, and nothing holds it past the deadline.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use full_service::config::{HttpConfig, ShutdownConfig};
use full_service::{server, shutdown};

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_request_in_flight_finishes_and_the_shutdown_is_clean() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            "done"
        }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let config = ShutdownConfig {
        drain_delay_secs: 0,
        timeout_secs: 5,
    };
    let stopped = async {
        let _ = stopped.await;
    };
    let server = tokio::spawn(shutdown::run(config, stopped, |drained| async move {
        server::serve(listener, router, &HttpConfig::default(), drained).await;
    }));

    let request = tokio::spawn(reqwest::get(format!("http://{address}/slow")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();

    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "done");
    let outcome = server.await.unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn from_the_stop_on_every_response_closes_its_connection() {
    let mut app = spawn_app_with(|config| config.shutdown.drain_delay_secs = 1).await;
    let mut connection = TcpStream::connect(app.address).await.unwrap();
    let before = get_root(&mut connection).await;
    assert!(!before.contains("connection: close"), "{before}");

    app.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The same kept-alive connection, during the drain delay: answered, told to close, closed.
    let during = get_root(&mut connection).await;
    assert!(during.starts_with("HTTP/1.1 200"), "{during}");
    assert!(during.contains("connection: close"), "{during}");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(1), connection.read_to_end(&mut rest))
        .await
        .expect("the connection stayed open after `connection: close`")
        .unwrap();
    assert_eq!(read, 0, "{:?}", String::from_utf8_lossy(&rest));
    let outcome = app.finished().await;
    assert!(outcome.is_ok(), "{outcome:?}");
}

/// `GET /` on `connection`: the response as text, header names in lower case as hyper writes
/// them.
async fn get_root(connection: &mut TcpStream) -> String {
    connection
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let mut buffer = [0; 1024];
    // `GET /` answers with a JSON object: the response ends with its closing brace.
    while !response.ends_with(b"}") {
        let read = connection.read(&mut buffer).await.unwrap();
        let so_far = String::from_utf8_lossy(&response);
        assert!(read > 0, "closed mid-response: {so_far:?}");
        response.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8(response).unwrap()
}

#[tokio::test]
async fn the_deadline_covers_what_runs_after_the_drain() {
    let (stop, stopped) = oneshot::channel::<()>();
    let config = ShutdownConfig {
        drain_delay_secs: 0,
        timeout_secs: 1,
    };
    let stopped = async {
        let _ = stopped.await;
    };
    // Like a pool close waiting for a connection that a stuck handler holds.
    let run = tokio::spawn(shutdown::run(config, stopped, |drained| async move {
        drained.await;
        std::future::pending::<()>().await;
    }));

    stop.send(()).unwrap();

    let outcome = tokio::time::timeout(Duration::from_secs(3), run)
        .await
        .expect("the work after the drain held the shutdown past its deadline")
        .unwrap();
    let error = outcome.expect_err("a shutdown cut short is reported");
    assert!(error.to_string().contains("deadline"), "{error:#}");
}

#[tokio::test]
async fn readiness_fails_as_soon_as_the_drain_starts() {
    let mut app = spawn_app_with(|config| config.shutdown.drain_delay_secs = 1).await;
    assert_ne!(readiness_output(&app).await, "shutting down");

    app.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Still serving during the drain delay, but no longer ready.
    assert_eq!(readiness_output(&app).await, "shutting down");
    assert_eq!(app.get("/livez").await.status(), StatusCode::OK);
    let outcome = app.finished().await;
    assert!(outcome.is_ok(), "{outcome:?}");
}

/// What `/readyz` says about the service itself (as opposed to its backing services).
async fn readiness_output(app: &crate::helpers::TestApp) -> String {
    let body: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    body["output"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_client_stuck_mid_request_is_dropped_at_the_deadline() {
    let mut app = spawn_app_with(|config| config.shutdown.timeout_secs = 1).await;
    let mut connection = TcpStream::connect(app.address).await.unwrap();
    // Headers that never end.
    connection
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    app.stop();

    let outcome = tokio::time::timeout(Duration::from_secs(3), app.finished())
        .await
        .expect("the stuck client kept the service alive past the deadline");
    let error = outcome.expect_err("a drain cut short is reported");
    assert!(error.to_string().contains("deadline"), "{error:#}");
}
