//! Traces: OpenTelemetry spans sent over OTLP/HTTP with protobuf. Every request gets a server
//! span, continued from the caller's W3C `traceparent`, and every database query a child span.
//!
//! The standard variables configure it, and nothing else does:
//! - `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` is appended) or
//!   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `http://localhost:4318` when neither is set;
//! - `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the one protocol built in;
//! - `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TIMEOUT` (10 s);
//! - `OTEL_SERVICE_NAME` (this crate's name when unset) and `OTEL_RESOURCE_ATTRIBUTES`;
//! - `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (`parentbased_always_on`);
//! - `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`;
//! - `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn traces off.
//!
//! Spans leave in batches, from a thread of their own, every 5 s or 512 at a time. A request
//! only puts its span in a bounded queue (2,048): when the collector is down, slow or never
//! answers, requests are not delayed and memory does not grow. Spans that do not fit are
//! dropped and counted, with one warning in the log. On shutdown, [`flush`] sends what is
//! queued, for at most [`FLUSH_TIMEOUT`].

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, ensure};
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Status, TraceContextExt, TracerProvider};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Level, Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

/// Longest the shutdown waits for queued spans to reach the collector.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The one exporter of the process, kept for [`flush`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The layer that turns this crate's spans into OpenTelemetry spans, or `None` when traces are
/// turned off. Call it once, where the subscriber is built: spans become traces whatever
/// `RUST_LOG` lets through to a log. Fails on a setting it cannot use,
/// naming the variable.
pub fn layer<S>() -> anyhow::Result<Option<impl Layer<S>>>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    if turned_off()? {
        return Ok(None);
    }
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Ok(protocol) = std::env::var(variable) {
            ensure!(
                protocol == "http/protobuf",
                "{variable} must be http/protobuf, the one OTLP protocol this service is built with"
            );
        }
    }
    let exporter = SpanExporter::builder()
        .with_http()
        .build()
        .context("cannot set up the OTLP exporter from the OTEL_EXPORTER_OTLP_* variables")?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build();
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    ensure!(PROVIDER.set(provider).is_ok(), "traces are already set up");
    // Only this crate's spans: those of the HTTP client that sends spans would otherwise be
    // traced, sent, and traced again.
    let spans = Targets::new().with_target(env!("CARGO_CRATE_NAME"), Level::INFO);
    Ok(Some(
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            // Source file, line and thread of every span: the same few lines of this crate
            // for every request, sent again with each span.
            .with_location(false)
            .with_threads(false)
            .with_filter(spans),
    ))
}

/// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
fn turned_off() -> anyhow::Result<bool> {
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|value| value.eq_ignore_ascii_case("true")) {
        return Ok(true);
    }
    match std::env::var("OTEL_TRACES_EXPORTER").as_deref() {
        Err(_) | Ok("otlp") => Ok(false),
        Ok("none") => Ok(true),
        Ok(_) => anyhow::bail!("OTEL_TRACES_EXPORTER must be otlp or none"),
    }
}

/// Who sends the spans: `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`, with this crate's
/// name when neither names the service, and always the version of this build.
fn resource() -> Resource {
    let named = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES")
            .is_ok_and(|attributes| attributes.contains("service.name="));
    let resource = Resource::builder();
    let resource = if named {
        resource
    } else {
        resource.with_service_name(env!("CARGO_PKG_NAME"))
    };
    resource
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Makes `span`, a request's span, the server span of the caller's trace when the request
/// carries a `traceparent`, or the root of a new trace; gives it the HTTP attributes of the
/// OpenTelemetry conventions; and records `trace_id` and `span_id` on it, so every log line of
/// the request names them. Call it before the span is first entered, which starts it. The span
/// must declare `otel.name`, `trace_id` and `span_id`.
pub fn continue_trace(request: &Request, span: &Span) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
    // Fails only for a span that no subscriber records: there is no trace to continue then.
    if span.set_parent(parent).is_err() {
        return;
    }
    let method = request.method().as_str();
    let route = request.extensions().get::<MatchedPath>();
    span.record(
        "otel.name",
        route.map_or_else(
            || method.to_owned(),
            |route| format!("{method} {}", route.as_str()),
        ),
    );
    span.set_attribute("http.request.method", method.to_owned());
    if let Some(route) = route {
        span.set_attribute("http.route", route.as_str().to_owned());
    }
    span.set_attribute("url.path", request.uri().path().to_owned());
    let context = span.context();
    let ids = context.span().span_context().clone();
    if ids.is_valid() {
        span.record("trace_id", ids.trace_id().to_string());
        span.record("span_id", ids.span_id().to_string());
    }
}

/// Ends the span of every request of `routes` with its status: `http.response.status_code`, and
/// an error status for a 5xx (a 4xx is the client's error, not the server's). Apply it inside
/// the request span.
pub fn with_response_status<S>(routes: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes.layer(middleware::from_fn(record_status))
}

async fn record_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let span = Span::current();
    let status = response.status();
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.set_status(Status::error(status.to_string()));
    }
    response
}

/// Sends the spans still queued, for at most [`FLUSH_TIMEOUT`], and stops the exporter. Call it
/// once the last request is done.
pub async fn flush() {
    let Some(provider) = PROVIDER.get().cloned() else {
        return;
    };
    let flushed =
        tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_TIMEOUT)).await;
    match flushed {
        Ok(Ok(())) => tracing::debug!("traces sent"),
        Ok(Err(error)) => tracing::warn!(%error, "traces still queued were not all sent"),
        Err(error) => tracing::warn!(%error, "traces still queued were not sent"),
    }
}
