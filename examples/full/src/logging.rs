//! Logs (factor XI): an event stream on stdout, never files. The platform collects and routes it.
//!
//! Lines are JSON objects when stdout is not a terminal (a container, a pipe) and readable text
//! when it is; `logging.format` forces either. `RUST_LOG` sets levels, as everywhere in Rust.
//! Every response gets one line, from [`with_request_log`], and every line logged while a
//! request is served carries the request span's fields, its request id among them.
//!
//! Lines are written by a thread of their own, so a request never waits on stdout: it formats
//! its line and queues it. The queue holds [`BUFFERED_LINES`]; when it is full (stdout slower
//! than the service for that long), logging waits for room rather than drop a line. The writer
//! batches what is queued into few writes, and [`output`]'s guard writes out the rest on exit.

use std::io::{BufWriter, IsTerminal};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, OnRequest, OnResponse, TraceLayer};
use tracing::{Level, Span, Subscriber};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// Lines queued for stdout at most: a burst of this many never waits on stdout.
pub const BUFFERED_LINES: usize = 8192;

/// The log output on stdout, for the process's subscriber, and the guard that writes out the
/// queued lines when dropped (waiting at most a second, should stdout take none): hold it until
/// `main` returns.
pub fn output(
    format: LogFormat,
) -> anyhow::Result<(impl Layer<Registry> + Send + Sync, WorkerGuard)> {
    let (stdout, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .lossy(false)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stdout()));
    Ok((lines(format, stdout)?, guard))
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

/// A subscriber with the log output alone, writing to `writer`: tests install it to read what
/// is logged.
pub fn subscriber<W>(
    format: LogFormat,
    writer: W,
) -> anyhow::Result<impl Subscriber + for<'span> LookupSpan<'span> + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    Ok(Registry::default().with(lines(format, writer)?))
}

/// Log lines in `format`, written to `writer`. `RUST_LOG` filters what it writes, and nothing
/// else a subscriber holds.
fn lines<W>(format: LogFormat, writer: W) -> anyhow::Result<impl Layer<Registry> + Send + Sync>
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
    Ok(output.with_filter(filter()?))
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

/// Logs every response of `routes`, and gives every request a request id. Apply it inside the
/// request span and outside every other layer, so the responses those layers make themselves
/// are logged too.
///
/// - Request ids: a client's own `x-request-id` is kept, otherwise a UUID is made; either way it
///   is recorded in the request span and sent back in the response.
/// - One INFO line per response with status and latency; failures (5xx) at ERROR.
pub fn with_request_log<S>(routes: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(in_current_span as fn(&Request) -> Span)
                .on_request(RecordRequestId)
                .on_response(LogResponse),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Lines about a request belong to the span it is served in.
fn in_current_span(_: &Request) -> Span {
    Span::current()
}

/// Records the request id in the request span, so every line logged while serving it names it.
#[derive(Clone, Copy)]
struct RecordRequestId;

impl<B> OnRequest<B> for RecordRequestId {
    fn on_request(&mut self, request: &axum::http::Request<B>, span: &Span) {
        if let Some(id) = request.headers().get("x-request-id") {
            span.record("request_id", id.to_str().unwrap_or(""));
        }
    }
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
        DefaultOnResponse::new()
            .level(level)
            .latency_unit(LatencyUnit::Millis)
            .on_response(response, latency, span);
    }
}
