//! Metrics in the Prometheus text format, on a port of their own (`metrics.port`): the public
//! port never serves them, and scrapes never reach the request log.
//!
//! - HTTP: `http_server_requests_total` and `http_server_request_duration_seconds` by method,
//!   route pattern (never the raw path, whose ids would make a series per request) and status;
//!   `http_server_active_requests`.
//! - The process: resident memory, CPU seconds, open file descriptors, start time (`process_*`).
//! - `build_info`, always 1, labelled with the service and its version.
//! - What other parts of the service read at scrape time, registered with
//!   [`Exposition::observe`] (the database pool's `db_pool_*`, in `db::pool_metrics`).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::config::HttpConfig;
use crate::server;

const REQUESTS: &str = "http_server_requests_total";
const DURATION: &str = "http_server_request_duration_seconds";
const ACTIVE: &str = "http_server_active_requests";

/// Request latency buckets, in seconds, for an API: 5 ms to 10 s.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histograms are compacted when nobody scrapes, so memory stays bounded.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Reads a value that is only known at scrape time, such as a pool's idle connections.
type Observer = dyn Fn() + Send + Sync;

/// What a scrape reads: the registry, the process and the observers. Cloning shares them.
#[derive(Clone)]
struct Metrics {
    handle: PrometheusHandle,
    process: Arc<metrics_process::Collector>,
    observers: Arc<Mutex<Vec<Box<Observer>>>>,
}

impl Metrics {
    /// Installs the process-wide recorder (once: later calls share it, as tests that build
    /// several services in one process do), describes every metric and sets `build_info`.
    fn install() -> anyhow::Result<Self> {
        static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
        let handle = RECORDER
            .get_or_init(|| {
                PrometheusBuilder::new()
                    .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), DURATION_BUCKETS)
                    .and_then(PrometheusBuilder::install_recorder)
                    .map_err(|error| error.to_string())
            })
            .clone()
            .map_err(anyhow::Error::msg)
            .context("cannot install the metrics recorder")?;

        metrics::describe_counter!(
            REQUESTS,
            Unit::Count,
            "HTTP requests answered, by method, route pattern and status code"
        );
        metrics::describe_histogram!(
            DURATION,
            Unit::Seconds,
            "Time from a request's arrival to its response, by method, route pattern and status code"
        );
        metrics::describe_gauge!(ACTIVE, Unit::Count, "HTTP requests being answered now");
        metrics::describe_gauge!("build_info", "Always 1; the labels say which build runs");
        metrics::gauge!(
            "build_info",
            "service" => env!("CARGO_PKG_NAME"),
            "version" => env!("CARGO_PKG_VERSION"),
        )
        .set(1.0);
        let process = metrics_process::Collector::default();
        process.describe();

        Ok(Self {
            handle,
            process: Arc::new(process),
            observers: Arc::default(),
        })
    }
}

/// `/metrics`, bound to its port.
pub struct Exposition {
    listener: TcpListener,
    address: SocketAddr,
    metrics: Metrics,
    http: HttpConfig,
}

impl Exposition {
    /// Installs the recorder and binds `/metrics` to `host:port`, without serving yet. Port 0
    /// picks a free one. Its connections get the same header read timeout as the service's
    /// (`http`).
    pub async fn bind(host: IpAddr, port: u16, http: &HttpConfig) -> anyhow::Result<Self> {
        let metrics = Metrics::install()?;
        let listener = TcpListener::bind((host, port))
            .await
            .with_context(|| format!("cannot listen on {host}:{port} for metrics.port"))?;
        Ok(Self {
            address: listener.local_addr()?,
            listener,
            metrics,
            http: http.clone(),
        })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Also runs `observer` on every scrape, before the metrics are written out.
    pub fn observe(&self, observer: impl Fn() + Send + Sync + 'static) {
        self.metrics
            .observers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(observer));
    }

    /// Runs `service` with scrapes served beside it, and returns what it returns. The
    /// exposition lives exactly as long: a scrape during the shutdown drain still sees the
    /// requests it counts, and nothing it holds (the pool the scrapes read) outlives the
    /// service, not even when the service's task is aborted.
    pub async fn serve_during<T>(self, service: impl Future<Output = T>) -> T {
        let handle = self.metrics.handle.clone();
        let upkeep = async move {
            let mut upkeep = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                upkeep.tick().await;
                handle.run_upkeep();
            }
        };
        let router = Router::new()
            .route("/metrics", get(scrape))
            .with_state(self.metrics);
        let scrapes = server::serve(self.listener, router, &self.http, std::future::pending());
        tokio::select! {
            output = service => output,
            () = upkeep => unreachable!("the upkeep loop never ends"),
            () = scrapes => unreachable!("scrapes are served until the service stops"),
        }
    }
}

/// `GET /metrics`: every metric, in the Prometheus text format.
async fn scrape(State(metrics): State<Metrics>) -> Response {
    metrics.process.collect();
    for observer in metrics
        .observers
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        observer();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.handle.render(),
    )
        .into_response()
}

/// Counts and times every request that passes through `routes`, by its route pattern. Apply it
/// outside the other layers, so the answers they make themselves (timeouts, rejected bodies)
/// are counted too.
pub fn with_request_metrics<S>(routes: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes.layer(middleware::from_fn(record))
}

async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    // Unmatched paths share one label: a scan of random URLs must not add a series per URL.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let _active = Active::start();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(DURATION, &labels).record(started.elapsed());
    response
}

/// One request in `http_server_active_requests`, for as long as it lives: a request whose
/// client goes away is dropped, not finished, and must leave the gauge too.
struct Active;

impl Active {
    fn start() -> Self {
        metrics::gauge!(ACTIVE).increment(1.0);
        Self
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        metrics::gauge!(ACTIVE).decrement(1.0);
    }
}
