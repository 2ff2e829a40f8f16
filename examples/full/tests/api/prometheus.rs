//! `/metrics`: on its own port, counted by route pattern, in a format Prometheus reads.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use tower::ServiceExt;

use full_service::prometheus::with_request_metrics;

use crate::helpers::{TestApp, spawn_app};

/// What the service's `/metrics` says now.
async fn scrape(app: &TestApp) -> String {
    let response = app
        .client
        .get(format!("http://{}/metrics", app.metrics_address))
        .send()
        .await
        .expect("the scrape failed");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn requests_are_counted_by_route_pattern_not_by_path() {
    let app = spawn_app().await;
    // A route of this test's own: the recorder is shared by every test in this binary.
    let routes =
        with_request_metrics(Router::new().route("/counted/{id}", get(|| async { "counted" })));

    for id in ["1", "2", "3"] {
        let request = Request::get(format!("/counted/{id}"))
            .body(Body::empty())
            .unwrap();
        let response = routes.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    let metrics = scrape(&app).await;
    let counted =
        r#"http_server_requests_total{method="GET",route="/counted/{id}",status="200"} 3"#;
    assert!(metrics.contains(counted), "no `{counted}` in:\n{metrics}");
    let timed = r#"http_server_request_duration_seconds_count{method="GET",route="/counted/{id}",status="200"} 3"#;
    assert!(metrics.contains(timed), "no `{timed}` in:\n{metrics}");
    assert!(
        !metrics.contains("/counted/1"),
        "a raw path is a label:\n{metrics}"
    );
}

#[tokio::test]
async fn the_process_and_the_build_are_described() {
    let app = spawn_app().await;

    let metrics = scrape(&app).await;

    let build = [
        r#"build_info{service=""#,
        env!("CARGO_PKG_NAME"),
        r#"",version=""#,
        env!("CARGO_PKG_VERSION"),
        r#""} 1"#,
    ]
    .concat();
    assert!(metrics.contains(&build), "no `{build}` in:\n{metrics}");
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
        "http_server_active_requests",
    ] {
        assert!(
            metrics.lines().any(|line| line.starts_with(name)),
            "no {name} in:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn the_public_port_does_not_serve_metrics() {
    let app = spawn_app().await;

    let response = app.get("/metrics").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
