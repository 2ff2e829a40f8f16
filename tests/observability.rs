//! The metrics and otel slices of the all-on render, seen from outside: a real Prometheus
//! (Debian's `prometheus`, on loopback) scrapes the running service, and an OTLP receiver
//! decodes the protobuf the service really sends (src/otlp.rs; no collector binary is packaged
//! here). Also what happens when the collector is down, or accepts and never answers, and what
//! arrives when the service is stopped.
//!
//! Needs DATABASE_URL, `psql`, `prometheus` and `promtool` (`.ci/run` installs them).

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use template_harness::cargo::build_all_on_service;
use template_harness::http;
use template_harness::otlp::{Behaviour, OtlpReceiver, Span, SpanKind, unreachable_endpoint};
use template_harness::ports::free_port;
use template_harness::postgres::TempDb;
use template_harness::process::{EXIT_TIMEOUT, Proc, Service};
use template_harness::prometheus::{Prometheus, promtool_check_metrics};
use template_harness::random::{random_hex, random_uuid};
use template_harness::report::{ms, progress};

/// The name the service is rendered under; not e2e's, so the two builds keep their binaries.
const PROJECT: &str = "observed-service";
const EXPECTED_ENV_PREFIX: &str = "OBSERVED_SERVICE_";

/// Longest wait for Prometheus to see a value: it hands new targets to its scraper every 5 s
/// and then scrapes every second.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a span to reach the receiver (batches leave every 200 ms in these tests).
const SPAN_TIMEOUT: Duration = Duration::from_secs(15);

static SERVICE: LazyLock<Service> =
    LazyLock::new(|| build_all_on_service(PROJECT, EXPECTED_ENV_PREFIX, "observability"));

/// `serve` on a migrated database of its own, `/metrics` on `metrics_port`, with `env` added.
fn serve(label: &str, metrics_port: u16, env: &[(String, String)]) -> (Proc, TempDb) {
    let db = SERVICE.migrated_db();
    let mut launch = SERVICE
        .launch(label)
        .port(free_port())
        .database(&db.url())
        .setting("METRICS__PORT", metrics_port);
    for (key, value) in env {
        launch = launch.env(key, value);
    }
    let mut service = launch.spawn();
    service.wait_ready();
    (service, db)
}

/// `GET /metrics` on the metrics port.
fn exposition(metrics_port: u16) -> String {
    let response = http::request(metrics_port, "GET", "/metrics", &[], None)
        .unwrap_or_else(|error| panic!("GET /metrics on port {metrics_port}: {error}"));
    assert_eq!(response.status, 200, "GET /metrics: {}", response.body);
    response.body
}

/// Metrics, checked where they are used: Prometheus scrapes the service and counts by route.
#[test]
fn prometheus_scrapes_requests_by_route_pattern() {
    let metrics_port = free_port();
    let (service, _db) = serve(
        "serve (metrics)",
        metrics_port,
        &[(
            SERVICE.prefixed("DATABASE__MAX_CONNECTIONS"),
            "3".to_owned(),
        )],
    );
    let target: SocketAddr = ([127, 0, 0, 1], metrics_port).into();
    let prometheus = Prometheus::start(&[("service", target, "/metrics")]);
    prometheus.wait_for_value(r#"up{job="service"}"#, 1.0, SCRAPE_TIMEOUT);

    let (counted, timed, routes) = requests_to_one_route_are_one_series(&service, &prometheus);
    let pool = pool_process_and_build_metrics_are_there(&prometheus);
    let lines = the_exposition_passes_promtool_and_stays_private(&service, metrics_port);
    progress(&format!(
        "[observability] Prometheus read {ROUTE_REQUESTS} requests on /notes/{{id}} as {counted} (count) and {timed} (histogram), pool max {pool}; routes seen: {routes:?}; promtool accepts the exposition ({lines} lines)",
    ));
}

/// Requests to `/notes/{id}` with different ids, counted by Prometheus.
const ROUTE_REQUESTS: usize = 7;

/// Every request to a different path of one route: one series, never one per path. Returns the
/// counter's and the histogram's count, and the route labels seen.
fn requests_to_one_route_are_one_series(
    service: &Proc,
    prometheus: &Prometheus,
) -> (f64, f64, Vec<String>) {
    for _ in 0..ROUTE_REQUESTS {
        let response = service.get(&format!("/notes/{}", random_uuid()));
        assert_eq!(response.status, 404, "{}", response.body);
    }
    let counted = prometheus.wait_for_value(
        r#"http_server_requests_total{job="service",method="GET",route="/notes/{id}",status="404"}"#,
        ROUTE_REQUESTS as f64,
        SCRAPE_TIMEOUT,
    );
    let timed = prometheus.wait_for_value(
        r#"http_server_request_duration_seconds_count{job="service",route="/notes/{id}",status="404"}"#,
        ROUTE_REQUESTS as f64,
        SCRAPE_TIMEOUT,
    );
    let routes: Vec<String> = prometheus
        .query(r#"count by (route) (http_server_requests_total{job="service"})"#)
        .iter()
        .map(|sample| sample.label("route").unwrap_or("").to_owned())
        .collect();
    assert!(
        routes.iter().all(|route| !route.contains('-')),
        "a raw path became a route label: {routes:?}"
    );
    (counted[0].value, timed[0].value, routes)
}

/// The pool's, the process's and the build's metrics, one series each. Returns the pool's
/// maximum as Prometheus read it.
fn pool_process_and_build_metrics_are_there(prometheus: &Prometheus) -> f64 {
    let pool = prometheus.wait_for_value(
        r#"db_pool_max_connections{job="service"}"#,
        3.0,
        SCRAPE_TIMEOUT,
    );
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
        "http_server_active_requests",
        "db_pool_connections",
        "db_pool_idle_connections",
        "db_pool_acquire_timeouts_total",
    ] {
        let samples = prometheus.query(&format!(r#"{name}{{job="service"}}"#));
        assert_eq!(
            samples.len(),
            1,
            "{name}: {samples:?}\n{}",
            prometheus.describe()
        );
    }
    let build = prometheus.query(r#"build_info{job="service"}"#);
    assert_eq!(build.len(), 1, "build_info: {build:?}");
    assert_eq!(build[0].label("version"), Some("0.1.0"));
    assert_eq!(build[0].label("service"), Some(PROJECT));
    pool[0].value
}

/// promtool accepts the exposition; the public port answers `/metrics` with 404, and scrapes
/// (one a second by now) stay out of the request log. Returns the exposition's line count.
fn the_exposition_passes_promtool_and_stays_private(service: &Proc, metrics_port: u16) -> usize {
    let text = exposition(metrics_port);
    promtool_check_metrics(&text).unwrap_or_else(|failure| {
        panic!("promtool check metrics refuses the exposition: {failure}\n{text}")
    });
    let public = service.get("/metrics");
    assert_eq!(public.status, 404, "the public port serves /metrics");
    let scrape_lines = service
        .logs()
        .into_iter()
        .filter(|line| line["span"]["path"] == "/metrics" && line["span"]["route"] != "")
        .count();
    assert_eq!(
        scrape_lines,
        0,
        "scrapes are in the request log\n{}",
        service.describe()
    );
    text.lines().count()
}

/// A request that waited too long for a pooled connection is counted: the pool's one connection
/// is held by a request blocked on a table lock, and the next request gives up after 300 ms.
#[test]
fn acquire_timeouts_are_counted() {
    let metrics_port = free_port();
    let (service, db) = serve(
        "serve (one connection, 300 ms acquire timeout)",
        metrics_port,
        &[
            (
                SERVICE.prefixed("DATABASE__MAX_CONNECTIONS"),
                "1".to_owned(),
            ),
            (
                SERVICE.prefixed("DATABASE__ACQUIRE_TIMEOUT_MS"),
                "300".to_owned(),
            ),
        ],
    );
    let before = exposition(metrics_port);
    assert!(
        before
            .lines()
            .any(|line| line == "db_pool_acquire_timeouts_total 0"),
        "no db_pool_acquire_timeouts_total 0 before the timeout:\n{before}"
    );
    let lock = db.lock_table("notes");
    let port = service.port;
    let blocked = thread::spawn(move || {
        http::request(port, "POST", "/notes", &[], Some(r#"{"title":"waits"}"#))
    });
    db.wait_for_a_blocked_session(Duration::from_secs(5))
        .unwrap_or_else(|| {
            panic!(
                "POST /notes never waited for the lock\n{}",
                service.describe()
            )
        });

    let started = Instant::now();
    let starved = service.get("/notes");
    let waited = started.elapsed();
    assert_eq!(starved.status, 500, "{}", starved.body);
    let after = exposition(metrics_port);
    drop(lock);
    let finished = blocked
        .join()
        .expect("the blocked request's thread")
        .expect("POST /notes");
    assert_eq!(finished.status, 201, "{}", finished.body);
    assert!(
        after
            .lines()
            .any(|line| line == "db_pool_acquire_timeouts_total 1"),
        "the starved request is not counted:\n{after}"
    );
    progress(&format!(
        "[observability] a request starved of connections failed after {} ms and db_pool_acquire_timeouts_total went 0 -> 1",
        ms(waited)
    ));
}

/// The environment that sends traces to `endpoint`, in batches every 200 ms.
fn traces_to(endpoint: &str) -> Vec<(String, String)> {
    [
        ("OTEL_TRACES_EXPORTER", "otlp".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
    ]
    .map(|(key, value)| (key.to_owned(), value))
    .to_vec()
}

/// A `traceparent` naming a new trace: `(header, trace id, parent span id)`.
fn traceparent() -> (String, String, String) {
    let trace_id = format!("{}{}", random_hex(), random_hex());
    let parent = random_hex();
    (format!("00-{trace_id}-{parent}-01"), trace_id, parent)
}

/// Traces: the caller's trace continues in the server span, the query is its child, and the
/// request's log line names both ids.
#[test]
fn a_request_continues_the_callers_trace() {
    let receiver = OtlpReceiver::start(Behaviour::Answer);
    let (service, _db) = serve(
        "serve (traces)",
        free_port(),
        &traces_to(&receiver.endpoint()),
    );
    let (header, trace_id, parent) = traceparent();

    let response = service.request("GET", "/notes", &[("traceparent", &header)], None);
    assert_eq!(response.status, 200, "{}", response.body);

    let server = receiver.wait_for_span(
        |span| span.trace_id == trace_id && span.kind == SpanKind::Server,
        SPAN_TIMEOUT,
    );
    let expected = [
        ("http.request.method", "GET"),
        ("http.route", "/notes"),
        ("http.response.status_code", "200"),
    ];
    for (key, value) in expected {
        assert_eq!(
            server.attribute(key),
            Some(value),
            "{key} of {}",
            server.summary()
        );
    }
    assert_eq!(
        server.parent_span_id,
        parent,
        "the server span's parent: {}",
        server.summary()
    );
    assert_eq!(server.name, "GET /notes");
    assert_eq!(server.resource_attribute("service.name"), Some(PROJECT));
    let query = receiver.wait_for_span(
        |span| span.trace_id == trace_id && span.kind == SpanKind::Client,
        SPAN_TIMEOUT,
    );
    assert_eq!(
        query.parent_span_id,
        server.span_id,
        "the query's parent: {}",
        query.summary()
    );
    assert_eq!(query.name, "SELECT notes");
    assert_eq!(query.attribute("db.system.name"), Some("postgresql"));

    let line = service
        .logs()
        .into_iter()
        .find(|line| {
            line["message"] == "finished processing request" && line["span"]["route"] == "/notes"
        })
        .unwrap_or_else(|| panic!("no request log line for GET /notes\n{}", service.describe()));
    assert_eq!(
        line["span"]["trace_id"],
        Value::from(trace_id.clone()),
        "{line}"
    );
    assert_eq!(
        line["span"]["span_id"],
        Value::from(server.span_id.clone()),
        "{line}"
    );
    progress(&format!(
        "[observability] traceparent {header}: server span {} (parent {}), query span {} under it, log line with trace_id {}",
        server.span_id, server.parent_span_id, query.span_id, trace_id
    ));
}

/// Spans still queued when SIGTERM comes arrive before the process exits: batches leave every
/// 5 s (the default), so only the shutdown's flush can send these.
#[test]
fn sigterm_sends_the_queued_spans_before_exit() {
    const REQUESTS: usize = 5;
    let receiver = OtlpReceiver::start(Behaviour::Answer);
    let env = vec![
        ("OTEL_TRACES_EXPORTER".to_owned(), "otlp".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            receiver.endpoint(),
        ),
    ];
    let (mut service, _db) = serve("serve (traces, default batching)", free_port(), &env);
    let mut traces = Vec::new();
    for _ in 0..REQUESTS {
        let (header, trace_id, _) = traceparent();
        let response = service.request("GET", "/", &[("traceparent", &header)], None);
        assert_eq!(response.status, 200);
        traces.push(trace_id);
    }

    let took = service.stop_cleanly();
    let arrived: Vec<&String> = traces
        .iter()
        .filter(|trace_id| {
            receiver
                .spans()
                .iter()
                .any(|span: &Span| &span.trace_id == *trace_id && span.kind == SpanKind::Server)
        })
        .collect();
    assert_eq!(
        arrived.len(),
        REQUESTS,
        "{} of {REQUESTS} request spans arrived before exit\n{}\n{}",
        arrived.len(),
        receiver.describe(),
        service.describe()
    );
    progress(&format!(
        "[observability] SIGTERM {REQUESTS} requests after start: exit 0 after {} ms, all {REQUESTS} spans received",
        ms(took)
    ));
}

/// A collector that is down, or accepts connections and never answers: requests keep their
/// status and their pace, and the process still exits cleanly within its deadline.
#[test]
fn a_collector_down_or_silent_never_holds_requests_or_shutdown() {
    const REQUESTS: usize = 40;
    const DEADLINE_SECS: u64 = 5;
    let silent = OtlpReceiver::start(Behaviour::NeverAnswer);
    for (what, endpoint) in [
        ("down", unreachable_endpoint()),
        ("silent", silent.endpoint()),
    ] {
        let mut env = traces_to(&endpoint);
        env.push((
            SERVICE.prefixed("SHUTDOWN__TIMEOUT_SECS"),
            DEADLINE_SECS.to_string(),
        ));
        let (mut service, _db) = serve(&format!("serve (collector {what})"), free_port(), &env);
        let mut slowest = Duration::ZERO;
        for _ in 0..REQUESTS {
            let (header, _, _) = traceparent();
            let started = Instant::now();
            let response = service.request("GET", "/notes", &[("traceparent", &header)], None);
            slowest = slowest.max(started.elapsed());
            assert_eq!(response.status, 200, "collector {what}: {}", response.body);
            // Spread over several batches, so exports are attempted while requests run.
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            slowest < Duration::from_secs(1),
            "collector {what}: a request took {} ms\n{}",
            ms(slowest),
            service.describe()
        );
        let (status, took) = service.terminate_and_wait(EXIT_TIMEOUT);
        let status = status.unwrap_or_else(|| {
            panic!(
                "collector {what}: still running {} s after SIGTERM\n{}",
                EXIT_TIMEOUT.as_secs(),
                service.describe()
            )
        });
        assert_eq!(
            status.code(),
            Some(0),
            "collector {what}\n{}",
            service.describe()
        );
        assert!(
            took < Duration::from_secs(DEADLINE_SECS),
            "collector {what}: exit after {} ms, deadline {DEADLINE_SECS} s",
            ms(took)
        );
        progress(&format!(
            "[observability] collector {what}: {REQUESTS} requests all 200, slowest {} ms; exit 0 {} ms after SIGTERM (deadline {DEADLINE_SECS} s)",
            ms(slowest),
            ms(took)
        ));
    }
    assert!(
        silent.requests() > 0,
        "the silent collector was never sent a batch: the test proved nothing\n{}",
        silent.describe()
    );
}
