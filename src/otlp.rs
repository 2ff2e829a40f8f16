//! An OTLP/HTTP trace receiver on loopback ([`OtlpReceiver`]), standing in for an OpenTelemetry
//! collector (none is packaged here): it decodes the real protobuf a service exports to
//! `POST /v1/traces` and keeps every span ([`Span`]) for the test to look at. It can also
//! accept exports and never answer them ([`Behaviour::NeverAnswer`]), and
//! [`unreachable_endpoint`] names a port nothing listens on, for a collector that is down.
//!
//! HTTP is hyper's (HTTP/1.1 with keep-alive) on a small tokio runtime of the receiver's own;
//! the receiver only decides what to answer, and a collector that never answers is a handler
//! that never returns.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode as HttpStatus, http};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

pub use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
pub use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use crate::ports::free_port;
use crate::wait::poll_until;

/// The path OTLP/HTTP exporters post traces to, under the endpoint.
pub const TRACES_PATH: &str = "/v1/traces";
/// The one body encoding the receiver decodes.
pub const PROTOBUF: &str = "application/x-protobuf";
/// Largest request body the receiver reads.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// How the receiver treats an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Decode it, keep its spans and answer 200 with an empty `ExportTraceServiceResponse`.
    Answer,
    /// Read it (and keep its spans, so a test sees it arrived) but never answer; the
    /// connection stays open until the receiver is dropped: a collector that hangs.
    NeverAnswer,
    /// Decode it and answer like [`Behaviour::Answer`], but only count its spans
    /// ([`OtlpReceiver::span_count`]): a collector under load, whose work on this machine
    /// should be no more than a real one's.
    Count,
}

/// A span as it arrived, flattened for assertions. Ids are lowercase hex.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    /// A number outside the proto's enum reads as `Unspecified`.
    pub kind: SpanKind,
    /// Every attribute's value as text: strings as they are, numbers and booleans as written
    /// in JSON, arrays and key-value lists as JSON, bytes as hex.
    pub attributes: BTreeMap<String, String>,
    /// The attributes of the resource that exported it (`service.name`, ...), as text.
    pub resource: BTreeMap<String, String>,
    /// The instrumentation scope's name (the tracer's name).
    pub scope: String,
    /// `Unset` when the span has no status.
    pub status: StatusCode,
    pub status_message: String,
    /// The names of its events, in order.
    pub events: Vec<String>,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
}

impl Span {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    pub fn resource_attribute(&self, key: &str) -> Option<&str> {
        self.resource.get(key).map(String::as_str)
    }

    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_empty()
    }

    /// End minus start (zero if the end comes first).
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.end_unix_nanos.saturating_sub(self.start_unix_nanos))
    }

    /// `name (kind) trace/span <- parent`, for assertion messages.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}) {}/{} <- {}",
            self.name,
            self.kind.as_str_name(),
            self.trace_id,
            self.span_id,
            if self.is_root() {
                "root"
            } else {
                &self.parent_span_id
            }
        )
    }
}

struct Shared {
    behaviour: Behaviour,
    spans: Mutex<Vec<Span>>,
    /// One line per request the receiver refused or could not read.
    errors: Mutex<Vec<String>>,
    connections: AtomicUsize,
    requests: AtomicUsize,
    exports: AtomicUsize,
    decode_failures: AtomicUsize,
    /// Spans received, kept or not.
    span_count: AtomicUsize,
    /// Set when the receiver is dropped: connections ending then are no errors.
    closed: AtomicBool,
}

impl Shared {
    fn new(behaviour: Behaviour) -> Self {
        Self {
            behaviour,
            spans: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            exports: AtomicUsize::new(0),
            decode_failures: AtomicUsize::new(0),
            span_count: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    fn error(&self, line: String) {
        self.errors.lock().unwrap().push(line);
    }

    /// Counts an export's spans and, unless only counting, keeps them.
    fn keep(&self, export: ExportTraceServiceRequest) {
        let received: usize = export
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum();
        self.span_count.fetch_add(received, Ordering::SeqCst);
        if self.behaviour != Behaviour::Count {
            let spans = flatten(export);
            self.spans.lock().unwrap().extend(spans);
        }
        self.exports.fetch_add(1, Ordering::SeqCst);
    }
}

/// Listens on `127.0.0.1:<port>` (a port the system picks) and serves HTTP/1.1 with keep-alive.
/// Stops listening and closes every connection when dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Runs the listener and every connection: dropping it ends them all.
    runtime: Option<Runtime>,
}

impl OtlpReceiver {
    pub fn start(behaviour: Behaviour) -> Self {
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind the OTLP receiver");
        let addr = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener for tokio");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("otlp-receiver")
            .enable_io()
            .build()
            .expect("a runtime for the OTLP receiver");
        let shared = Arc::new(Shared::new(behaviour));
        let accepting = shared.clone();
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).expect("listen with tokio");
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, peer, accepting.clone()));
            }
        });
        Self {
            addr,
            shared,
            runtime: Some(runtime),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: the value of `OTEL_EXPORTER_OTLP_ENDPOINT` (exporters add
    /// `/v1/traces`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/v1/traces`: the value of `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// (taken as is).
    pub fn traces_url(&self) -> String {
        format!("{}{TRACES_PATH}", self.endpoint())
    }

    /// How many spans arrived, kept or not.
    pub fn span_count(&self) -> usize {
        self.shared.span_count.load(Ordering::SeqCst)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<Span> {
        self.shared.spans.lock().unwrap().clone()
    }

    /// Forgets the spans received so far (the counts stay).
    pub fn clear(&self) {
        self.shared.spans.lock().unwrap().clear();
    }

    /// Connections accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// HTTP requests read in full, whatever their path or body.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Trace exports decoded (each may hold many spans).
    pub fn exports(&self) -> usize {
        self.shared.exports.load(Ordering::SeqCst)
    }

    /// `POST /v1/traces` bodies that were not an `ExportTraceServiceRequest` (answered 400).
    pub fn decode_failures(&self) -> usize {
        self.shared.decode_failures.load(Ordering::SeqCst)
    }

    /// One line per request refused (wrong path, content type or encoding, bad body) or
    /// connection dropped inside a request.
    pub fn errors(&self) -> Vec<String> {
        self.shared.errors.lock().unwrap().clone()
    }

    /// The counts, the errors and every span, for assertion messages.
    pub fn describe(&self) -> String {
        let spans = self.spans();
        let errors = self.errors();
        format!(
            "OTLP receiver at {} ({:?}): {} connections, {} requests, {} exports, {} decode \
             failures\n--- errors ---\n{}\n--- {} spans ---\n{}",
            self.endpoint(),
            self.shared.behaviour,
            self.connections(),
            self.requests(),
            self.exports(),
            self.decode_failures(),
            errors.join("\n"),
            spans.len(),
            spans
                .iter()
                .map(Span::summary)
                .collect::<Vec<_>>()
                .join("\n")
        )
    }

    /// Polls every 20 ms until `done` holds for the spans received so far and returns them;
    /// fails the test after `timeout`, showing what arrived.
    pub fn wait_for_spans(&self, done: impl Fn(&[Span]) -> bool, timeout: Duration) -> Vec<Span> {
        let mut spans = Vec::new();
        let found = poll_until(timeout, Duration::from_millis(20), || {
            spans = self.spans();
            done(&spans)
        });
        if found.is_none() {
            panic!(
                "the expected spans did not arrive within {} ms\n{}",
                timeout.as_millis(),
                self.describe()
            );
        }
        spans
    }

    /// The first span for which `wanted` holds, waiting up to `timeout` for it.
    pub fn wait_for_span(&self, wanted: impl Fn(&Span) -> bool, timeout: Duration) -> Span {
        self.wait_for_spans(|spans| spans.iter().any(&wanted), timeout)
            .into_iter()
            .find(|span| wanted(span))
            .expect("a span that matched a moment ago")
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Some(runtime) = self.runtime.take() {
            // Drops every task: the listener and each connection close.
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// `http://127.0.0.1:<port>` on a free port with no listener: a collector that is down
/// (connections are refused).
pub fn unreachable_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// A response of the receiver's.
type Reply = Response<Full<Bytes>>;

fn reply(status: HttpStatus, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Serves one connection with hyper (HTTP/1.1, keep-alive) until the peer closes it or the
/// receiver is dropped.
async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let handling = shared.clone();
    let service = service_fn(move |request| handle(request, handling.clone()));
    let served = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served
        && !shared.closed.load(Ordering::SeqCst)
    {
        shared.error(format!("connection from {peer}: {error}"));
    }
}

/// Reads one request in full, then answers it (or, for [`Behaviour::NeverAnswer`], holds it).
async fn handle(request: Request<Incoming>, shared: Arc<Shared>) -> Result<Reply, Infallible> {
    let what = format!("{} {}", request.method(), request.uri());
    let (head, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            shared.error(format!("{what}: the body could not be read: {error}"));
            let status = if error.is::<LengthLimitError>() {
                HttpStatus::PAYLOAD_TOO_LARGE
            } else {
                HttpStatus::BAD_REQUEST
            };
            return Ok(reply(status, "text/plain", "the body could not be read"));
        }
    };
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let answer = answer(&what, &head, &body, &shared);
    if shared.behaviour == Behaviour::NeverAnswer {
        // The request, and with it the connection, stays open until the receiver is dropped.
        std::future::pending::<()>().await;
    }
    Ok(answer)
}

/// Decodes a trace export and keeps its spans; refuses anything else, noting why.
fn answer(what: &str, head: &http::request::Parts, body: &[u8], shared: &Shared) -> Reply {
    let refuse = |status, text: &'static str, why: String| {
        shared.error(format!("{what}: {why}"));
        reply(status, "text/plain; charset=utf-8", text)
    };
    let header = |name: header::HeaderName| {
        head.headers
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    if head.method != Method::POST || head.uri.path() != TRACES_PATH {
        let why = format!("only POST {TRACES_PATH} is served");
        return refuse(HttpStatus::NOT_FOUND, "only POST /v1/traces is served", why);
    }
    let unsupported = HttpStatus::UNSUPPORTED_MEDIA_TYPE;
    if let Some(encoding) =
        header(header::CONTENT_ENCODING).filter(|e| !e.eq_ignore_ascii_case("identity"))
    {
        let why = format!("Content-Encoding {encoding:?} is not decoded (send it uncompressed)");
        return refuse(unsupported, "compressed bodies are not decoded", why);
    }
    let content_type = header(header::CONTENT_TYPE).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case(PROTOBUF) {
        let why =
            format!("content-type {content_type:?} is not {PROTOBUF} (OTLP/JSON is not decoded)");
        return refuse(unsupported, "only application/x-protobuf", why);
    }
    match ExportTraceServiceRequest::decode(body) {
        Ok(export) => {
            shared.keep(export);
            let empty = ExportTraceServiceResponse::default();
            reply(HttpStatus::OK, PROTOBUF, empty.encode_to_vec())
        }
        Err(error) => {
            shared.decode_failures.fetch_add(1, Ordering::SeqCst);
            let why = format!(
                "{} bytes are not an ExportTraceServiceRequest: {error}",
                body.len()
            );
            refuse(
                HttpStatus::BAD_REQUEST,
                "not an ExportTraceServiceRequest",
                why,
            )
        }
    }
}

/// Every span of an export, each with its resource's attributes and its scope's name.
fn flatten(export: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for resource_spans in export.resource_spans {
        let resource = attributes(
            &resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default(),
        );
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans.scope.map(|s| s.name).unwrap_or_default();
            for span in scope_spans.spans {
                let status = span.status.unwrap_or_default();
                out.push(Span {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                    attributes: attributes(&span.attributes),
                    resource: resource.clone(),
                    scope: scope.clone(),
                    status: StatusCode::try_from(status.code).unwrap_or(StatusCode::Unset),
                    status_message: status.message,
                    events: span.events.into_iter().map(|e| e.name).collect(),
                    start_unix_nanos: span.start_time_unix_nano,
                    end_unix_nanos: span.end_time_unix_nano,
                });
            }
        }
    }
    out
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|kv| (kv.key.clone(), any_value_text(kv.value.as_ref())))
        .collect()
}

/// An attribute value as text: a string as it is, anything else as JSON (bytes as a hex
/// string); an empty value is `""`.
pub fn any_value_text(value: Option<&AnyValue>) -> String {
    match any_value_json(value) {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

fn any_value_json(value: Option<&AnyValue>) -> Value {
    use any_value::Value as V;
    match value.and_then(|v| v.value.as_ref()) {
        None => Value::String(String::new()),
        Some(V::StringValue(s)) => Value::from(s.as_str()),
        Some(V::BoolValue(b)) => Value::from(*b),
        Some(V::IntValue(i)) => Value::from(*i),
        // NaN and infinities are not JSON numbers: written as Rust prints them.
        Some(V::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map_or_else(|| Value::from(d.to_string()), Value::Number),
        Some(V::BytesValue(bytes)) => Value::from(hex(bytes)),
        Some(V::ArrayValue(array)) => array
            .values
            .iter()
            .map(|v| any_value_json(Some(v)))
            .collect(),
        Some(V::KvlistValue(list)) => Value::Object(
            list.values
                .iter()
                .map(|kv| (kv.key.clone(), any_value_json(kv.value.as_ref())))
                .collect(),
        ),
        Some(V::StringValueStrindex(index)) => Value::from(format!("strindex:{index}")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    use std::io::Write;
    use std::net::TcpStream;

    use super::*;
    use crate::http::{closed_by_peer, read_response, still_open};

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn one_span_export() -> Vec<u8> {
        use any_value::Value as V;
        let span = opentelemetry_proto::tonic::trace::v1::Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0xab; 8],
            parent_span_id: vec![0x0c; 8],
            name: "GET /notes".to_owned(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 5_000,
            attributes: vec![
                kv("http.request.method", V::StringValue("GET".to_owned())),
                kv("http.response.status_code", V::IntValue(200)),
                kv("sampled", V::BoolValue(true)),
                kv("ratio", V::DoubleValue(0.5)),
            ],
            status: Some(Status {
                message: "boom".to_owned(),
                code: StatusCode::Error as i32,
            }),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", V::StringValue("demo".to_owned()))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "demo-tracer".to_owned(),
                        ..Default::default()
                    }),
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    fn post(stream: &mut TcpStream, content_type: &str, extra: &str, body: &[u8]) {
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n{extra}\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("send head");
        stream.write_all(body).expect("send body");
    }

    fn connect(receiver: &OtlpReceiver) -> TcpStream {
        let stream = TcpStream::connect(receiver.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream
    }

    #[test]
    fn answer_decodes_a_protobuf_export_and_keeps_the_connection() {
        let receiver = OtlpReceiver::start(Behaviour::Answer);
        assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));
        let mut stream = connect(&receiver);

        post(&mut stream, PROTOBUF, "", &one_span_export());
        let response = read_response(&mut stream).expect("a response");
        assert_eq!(
            response.status,
            200,
            "{response:?}\n{}",
            receiver.describe()
        );
        assert_eq!(response.header("content-type"), Some(PROTOBUF));
        assert!(
            ExportTraceServiceResponse::decode(response.body.as_bytes()).is_ok(),
            "{response:?}"
        );

        let span = receiver.wait_for_span(|s| s.name == "GET /notes", Duration::from_secs(1));
        assert_eq!(span.trace_id, "0102030405060708090a0b0c0d0e0f10");
        assert_eq!(span.span_id, "abababababababab");
        assert_eq!(span.parent_span_id, "0c0c0c0c0c0c0c0c");
        assert_eq!(span.kind, SpanKind::Server);
        assert_eq!(span.attribute("http.request.method"), Some("GET"));
        assert_eq!(span.attribute("http.response.status_code"), Some("200"));
        assert_eq!(span.attribute("sampled"), Some("true"));
        assert_eq!(span.attribute("ratio"), Some("0.5"));
        assert_eq!(span.resource_attribute("service.name"), Some("demo"));
        assert_eq!(span.scope, "demo-tracer");
        assert_eq!(
            (span.status, span.status_message.as_str()),
            (StatusCode::Error, "boom")
        );
        assert_eq!(span.duration(), Duration::from_nanos(4_000));

        // The same connection: garbage is a decode failure, JSON and gzip are refused.
        post(&mut stream, PROTOBUF, "", b"\xff\xff\xff not protobuf");
        assert_eq!(read_response(&mut stream).expect("a response").status, 400);
        post(&mut stream, "application/json", "", b"{}");
        assert_eq!(read_response(&mut stream).expect("a response").status, 415);
        post(
            &mut stream,
            PROTOBUF,
            "Content-Encoding: gzip\r\n",
            b"\x1f\x8b",
        );
        assert_eq!(read_response(&mut stream).expect("a response").status, 415);

        assert_eq!(receiver.connections(), 1, "{}", receiver.describe());
        assert_eq!(receiver.requests(), 4, "{}", receiver.describe());
        assert_eq!(receiver.exports(), 1, "{}", receiver.describe());
        assert_eq!(receiver.decode_failures(), 1, "{}", receiver.describe());
        assert_eq!(receiver.errors().len(), 3, "{}", receiver.describe());
        assert_eq!(receiver.spans().len(), 1, "{}", receiver.describe());
    }

    #[test]
    fn never_answer_reads_the_export_and_holds_the_connection() {
        let receiver = OtlpReceiver::start(Behaviour::NeverAnswer);
        let mut stream = connect(&receiver);
        post(&mut stream, PROTOBUF, "", &one_span_export());
        stream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .expect("timeout");
        let sent = Instant::now();
        let answer = read_response(&mut stream);
        assert!(answer.is_err(), "an answer came: {answer:?}");
        assert!(sent.elapsed() >= Duration::from_millis(900));
        assert!(still_open(&stream), "the receiver closed the connection");
        assert_eq!(receiver.requests(), 1, "{}", receiver.describe());
        assert_eq!(receiver.spans().len(), 1, "{}", receiver.describe());

        drop(receiver);
        assert!(
            closed_by_peer(&mut stream, Duration::from_secs(2)),
            "dropping the receiver must close its connections"
        );
    }

    #[test]
    fn unreachable_endpoint_refuses_connections() {
        let endpoint = unreachable_endpoint();
        let addr: SocketAddr = endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("an address");
        let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        assert!(refused.is_err(), "{endpoint} accepted a connection");
    }
}
