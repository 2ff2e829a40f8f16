//! An OTLP/HTTP trace receiver on loopback ([`OtlpReceiver`]), standing in for an OpenTelemetry
//! collector (none is packaged here): it decodes the real protobuf a service exports to
//! `POST /v1/traces` and keeps every span ([`Span`]) for the test to look at. It can also
//! accept exports and never answer them ([`Behaviour::NeverAnswer`]), and
//! [`unreachable_endpoint`] names a port nothing listens on, for a collector that is down.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use serde_json::Value;

pub use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
pub use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use crate::ports::free_port;
use crate::wait::poll_until;

/// The path OTLP/HTTP exporters post traces to, under the endpoint.
pub const TRACES_PATH: &str = "/v1/traces";
/// The one body encoding the receiver decodes.
pub const PROTOBUF: &str = "application/x-protobuf";
/// Largest request head the receiver reads.
const MAX_HEAD: usize = 64 * 1024;
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
    /// A copy of every accepted connection, to cut them all when the receiver is dropped.
    streams: Mutex<Vec<TcpStream>>,
    closed: AtomicBool,
}

impl Shared {
    fn error(&self, line: String) {
        self.errors.lock().unwrap().push(line);
    }
}

/// Listens on `127.0.0.1:<port>` (a port the system picks), one thread per connection, HTTP/1.1
/// with keep-alive. Stops listening and cuts every connection when dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl OtlpReceiver {
    pub fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind the OTLP receiver");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            behaviour,
            spans: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            exports: AtomicUsize::new(0),
            decode_failures: AtomicUsize::new(0),
            span_count: AtomicUsize::new(0),
            streams: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        let acceptor = thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.closed.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let Ok(copy) = stream.try_clone() else {
                    continue;
                };
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                accepting.streams.lock().unwrap().push(copy);
                let shared = accepting.clone();
                thread::spawn(move || serve(stream, &shared));
            }
            // The listener is dropped here: new connections are refused.
        });
        Self {
            addr,
            shared,
            acceptor: Some(acceptor),
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
        if let Some(acceptor) = self.acceptor.take() {
            // Wakes the acceptor, which sees `closed` and drops the listener.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = acceptor.join();
        }
        for stream in self.shared.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// `http://127.0.0.1:<port>` on a free port with no listener: a collector that is down
/// (connections are refused).
pub fn unreachable_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// One request read off a connection. Header names are lower-case.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A request read, with the reply that refuses it when its body could not be framed.
type Framed = (Request, Option<Reply>);

/// What the receiver answers, when it answers.
struct Reply {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    close: bool,
}

impl Reply {
    fn text(status: u16, reason: &'static str, text: &str) -> Self {
        Self {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
            close: false,
        }
    }
}

/// Serves one connection: requests one after another until the peer closes it or the
/// receiver is dropped.
fn serve(mut stream: TcpStream, shared: &Shared) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let mut buf = Vec::new();
    loop {
        let (request, framing) = match read_request(&mut stream, &mut buf) {
            Ok(Some(read)) => read,
            Ok(None) => return,
            Err(error) => {
                if !shared.closed.load(Ordering::SeqCst) {
                    shared.error(format!("connection from {peer}: {error}"));
                }
                return;
            }
        };
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let reply = match framing {
            // The body's end is unknown: answer and close.
            Some(reply) => reply,
            None => handle(&request, shared),
        };
        if shared.behaviour == Behaviour::NeverAnswer {
            // Holds the connection: the next read blocks until the peer gives up or the
            // receiver is dropped.
            continue;
        }
        let close = reply.close || request.wants_close();
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            reply.status,
            reply.reason,
            reply.content_type,
            reply.body.len()
        );
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&reply.body);
        if stream.write_all(&bytes).is_err() || close {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Reads one request: its head, then `Content-Length` bytes. `None` when the peer closed the
/// connection between requests. A request whose body cannot be framed (chunked, no length,
/// too long) comes with the reply that refuses it.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Option<Framed>, String> {
    let mut chunk = [0u8; 16 * 1024];
    let mut read_more = |buf: &mut Vec<u8>| -> Result<usize, String> {
        loop {
            match stream.read(&mut chunk) {
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
    };
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("request head over {MAX_HEAD} bytes"));
        }
        if read_more(buf)? == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            return Err(format!(
                "closed inside a request head: {:?}",
                String::from_utf8_lossy(buf)
            ));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(format!("bad request line {request_line:?}"));
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body: Vec::new(),
    };
    buf.drain(..head_end);
    let refuse = |status, reason, text: &str| {
        Some(Reply {
            close: true,
            ..Reply::text(status, reason, text)
        })
    };
    if request.header("transfer-encoding").is_some() {
        return Ok(Some((
            request,
            refuse(
                411,
                "Length Required",
                "chunked bodies are not read; send a Content-Length",
            ),
        )));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(text) => match text.parse::<usize>() {
            Ok(length) if length <= MAX_BODY => length,
            _ => {
                return Ok(Some((
                    request,
                    refuse(413, "Content Too Large", "bad or too large Content-Length"),
                )));
            }
        },
    };
    while buf.len() < length {
        if read_more(buf)? == 0 {
            return Err(format!(
                "closed inside a body: {} of {length} bytes",
                buf.len()
            ));
        }
    }
    request.body = buf.drain(..length).collect();
    Ok(Some((request, None)))
}

/// Decodes a trace export and keeps its spans; refuses anything else, noting why.
fn handle(request: &Request, shared: &Shared) -> Reply {
    let what = format!("{} {}", request.method, request.target);
    let path = request.target.split('?').next().unwrap_or_default();
    if request.method != "POST" || path != TRACES_PATH {
        shared.error(format!("{what}: only POST {TRACES_PATH} is served"));
        return Reply::text(404, "Not Found", "only POST /v1/traces is served");
    }
    if let Some(encoding) = request
        .header("content-encoding")
        .filter(|e| !e.eq_ignore_ascii_case("identity"))
    {
        shared.error(format!(
            "{what}: Content-Encoding {encoding:?} is not decoded (send it uncompressed)"
        ));
        return Reply::text(
            415,
            "Unsupported Media Type",
            "compressed bodies are not decoded",
        );
    }
    let content_type = request.header("content-type").unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case(PROTOBUF) {
        shared.error(format!(
            "{what}: content-type {content_type:?} is not {PROTOBUF} (OTLP/JSON is not decoded)"
        ));
        return Reply::text(415, "Unsupported Media Type", "only application/x-protobuf");
    }
    let export = match ExportTraceServiceRequest::decode(request.body.as_slice()) {
        Ok(export) => export,
        Err(error) => {
            shared.decode_failures.fetch_add(1, Ordering::SeqCst);
            shared.error(format!(
                "{what}: {} bytes are not an ExportTraceServiceRequest: {error}",
                request.body.len()
            ));
            return Reply::text(400, "Bad Request", "not an ExportTraceServiceRequest");
        }
    };
    let received: usize = export
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .map(|scope| scope.spans.len())
        .sum();
    shared.span_count.fetch_add(received, Ordering::SeqCst);
    if shared.behaviour != Behaviour::Count {
        let spans = flatten(export);
        shared.spans.lock().unwrap().extend(spans);
    }
    shared.exports.fetch_add(1, Ordering::SeqCst);
    Reply {
        status: 200,
        reason: "OK",
        content_type: PROTOBUF,
        body: ExportTraceServiceResponse::default().encode_to_vec(),
        close: false,
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
