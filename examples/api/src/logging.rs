//! Logs (factor XI): an event stream on stdout, never files. The platform collects and routes it.
//!
//! Lines are JSON objects when stdout is not a terminal (a container, a pipe) and readable text
//! when it is; `logging.format` forces either. `RUST_LOG` sets levels, as everywhere in Rust.
//! Every response gets one line, from [`with_request_log`].
//!
//! Lines are written by a thread of their own, so a request never waits on stdout: it formats
//! its line and queues it. The queue holds [`BUFFERED_LINES`]; when it is full (stdout slower
//! than the service for that long), logging waits for room rather than drop a line. The writer
//! batches what is queued into few writes, and [`init`]'s guard writes out the rest on exit.

use std::io::{BufWriter, IsTerminal};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::response::Response;
use tower_http::LatencyUnit;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, OnResponse, TraceLayer};
use tracing::{Level, Span, Subscriber};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// Lines queued for stdout at most: a burst of this many never waits on stdout.
pub const BUFFERED_LINES: usize = 8192;

/// Installs the global subscriber writing to stdout, and logs panics through it. Call once, early
/// in `main`, and hold the guard to its end: dropping it writes out the queued lines (waiting at
/// most a second, should stdout take none).
pub fn init(format: LogFormat) -> anyhow::Result<WorkerGuard> {
    let (stdout, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .lossy(false)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stdout()));
    let subscriber = subscriber(format, stdout)?;
    // Spans also become traces, whatever `RUST_LOG` lets through to the log.
    let subscriber = subscriber.with(crate::traces::layer()?);
    tracing::subscriber::set_global_default(subscriber).context("a logger is already installed")?;
    log_panics();
    Ok(guard)
}

/// Panics become ERROR lines in the log, inside the span of whatever panicked (a request's, with
/// its request id), instead of plain text on stderr that log collectors cannot parse.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|panic| {
        tracing::error!(
            panic = panic.payload_as_str().unwrap_or("no message"),
            location = panic.location().map(ToString::to_string),
            "panicked"
        );
    }));
}

/// Builds the subscriber without installing it, so tests can give it their own writer.
/// `RUST_LOG` filters what it writes, and nothing else a layer added to it sees.
pub fn subscriber<W>(
    format: LogFormat,
    writer: W,
) -> anyhow::Result<impl Subscriber + for<'span> LookupSpan<'span> + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let json = match format {
        LogFormat::Auto => !std::io::stdout().is_terminal(),
        LogFormat::Json => true,
        LogFormat::Text => false,
    };
    let output = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().with_writer(writer).boxed()
    };
    Ok(Registry::default().with(output.with_filter(filter()?)))
}

/// `RUST_LOG` when set; otherwise INFO for this crate and the request log, WARN for the rest.
fn filter() -> anyhow::Result<EnvFilter> {
    match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .with_context(|| format!("RUST_LOG is not a valid filter: {directives}")),
        Err(_) => Ok(EnvFilter::new(format!(
            "{}=info,tower_http=info,warn",
            env!("CARGO_CRATE_NAME")
        ))),
    }
}

/// Puts `routes` inside the request log and request ids. Apply it outside every other layer, so
/// every response is logged, including those the other layers make themselves. The request id
/// is outermost, so it exists before anything logs: a client's own `x-request-id` is kept,
/// otherwise a UUID is made; either way it is sent back in the response.
pub fn with_request_log<S>(routes: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes
        .layer(request_log())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

type RequestLog =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, fn(&Request) -> Span, (), LogResponse>;

/// Request logs: one INFO line per response with status and latency, inside a span that carries
/// method, route pattern, path and request id; failures (5xx) are logged at ERROR.
fn request_log() -> RequestLog {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request) -> Span)
        .on_request(())
        .on_response(LogResponse)
}

/// The span every line logged during a request carries: method, route pattern, path and
/// request id.
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
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        path = request.uri().path(),
        request_id,
        // Filled in by `traces::continue_trace`.
        otel.kind = "server",
        otel.name = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    crate::traces::continue_trace(request, &span);
    span
}

/// Logs each response at INFO, except probe answers (`application/health+json`): orchestrators
/// ask for them every few seconds on every replica, so they are logged at DEBUG, and a failing
/// probe logs its own warning.
#[derive(Clone, Copy)]
struct LogResponse;

impl<B> OnResponse<B> for LogResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let is_probe = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value == "application/health+json");
        let level = if is_probe { Level::DEBUG } else { Level::INFO };
        crate::traces::record_response(response.status(), span);
        DefaultOnResponse::new()
            .level(level)
            .latency_unit(LatencyUnit::Millis)
            .on_response(response, latency, span);
    }
}
