//! Telemetry: the process's one `tracing` subscriber, and the span each request is served in.
//!
//! Logs and traces both come from `tracing`. [`init`] installs the subscriber with each output,
//! and [`with_request_span`] serves every request inside the span [`request_span`] declares:
//! what is logged while serving it carries the span's fields, and its trace is this span.

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use tracing::{Instrument, Span};
use tracing_subscriber::layer::SubscriberExt;

use crate::config::LogFormat;

/// Installs the subscriber, with log lines in `format` on stdout, and logs panics through it.
/// Call once, early in `main`, and hold the guard to its end: dropping it writes out the log
/// lines still queued.
pub fn init(format: LogFormat) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    let (log_lines, guard) = crate::logging::output(format)?;
    let subscriber = tracing_subscriber::registry().with(log_lines);
    // Spans also become traces, whatever `RUST_LOG` lets through to the log.
    let subscriber = subscriber.with(crate::traces::layer()?);
    tracing::subscriber::set_global_default(subscriber).context("a logger is already installed")?;
    crate::logging::log_panics();
    Ok(guard)
}

/// Serves every request of `routes` inside its [`request_span`], with the layers that log and
/// trace it inside the span.
pub fn with_request_span<S>(routes: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let routes = crate::traces::with_response_status(routes);
    let routes = crate::logging::with_request_log(routes);
    routes.layer(middleware::from_fn(in_request_span))
}

async fn in_request_span(request: Request, next: Next) -> Response {
    let span = request_span(&request);
    next.run(request).instrument(span).await
}

/// The span a request is served in, and every field it has: declared here once, for the log and
/// the trace alike.
fn request_span(request: &Request) -> Span {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or("", |route| route.as_str()),
        path = request.uri().path(),
        // Recorded by the request log, once the request has its id.
        request_id = tracing::field::Empty,
        // `otel.name` and the ids are recorded by `continue_trace`, below.
        otel.kind = "server",
        otel.name = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    crate::traces::continue_trace(request, &span);
    span
}
