//! The harness's one HTTP client: HTTP/1.1 over a plain `TcpStream`, written out byte by byte,
//! so tests see exactly what the service sends and can misbehave the way real clients do (half
//! a head, a body in two halves, an idle keep-alive connection, a body over the limit). Also
//! what every response of the service must carry ([`SECURITY_HEADERS`], the JSON error shape).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::ports::local;

/// The security headers every response of the service carries.
pub const SECURITY_HEADERS: [(&str, &str); 3] = [
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("cache-control", "no-store"),
];

/// A parsed response. Header names are lower-case.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {self:?}"))
    }

    /// What is wrong with this as one of the service's error responses: not `status`, not
    /// `application/json`, no `{"error": "<text>"}` body, or a security header missing.
    pub fn error_response_problems(&self, status: u16) -> Vec<String> {
        let mut problems = Vec::new();
        if self.status != status {
            problems.push(format!("status {} instead of {status}", self.status));
        }
        let content_type = self.header("content-type").unwrap_or("(none)");
        if !content_type.starts_with("application/json") {
            problems.push(format!("content-type {content_type}"));
        }
        match serde_json::from_str::<Value>(&self.body) {
            Ok(body) if body.get("error").is_some_and(Value::is_string) => {}
            _ => problems.push(format!("body {:?} is not {{\"error\": ...}}", self.body)),
        }
        problems.extend(self.security_header_problems());
        problems
    }

    /// The [`SECURITY_HEADERS`] this response lacks or gives another value.
    pub fn security_header_problems(&self) -> Vec<String> {
        SECURITY_HEADERS
            .iter()
            .filter(|(name, value)| self.header(name) != Some(value))
            .map(|(name, value)| {
                format!(
                    "{name}: {:?} instead of {value:?}",
                    self.header(name).unwrap_or("(missing)")
                )
            })
            .collect()
    }
}

/// A connection to `port` on 127.0.0.1 with 10 s read and write timeouts.
pub fn connect(port: u16) -> Result<TcpStream, String> {
    let stream = TcpStream::connect_timeout(&local(port), Duration::from_secs(2))
        .map_err(|e| format!("cannot connect to port {port}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(10))))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// A connection to `port` that had one `GET /` answered 200 and was kept alive (no
/// `Connection: close`): ready to go idle.
pub fn kept_alive_after_one_request(port: u16) -> TcpStream {
    let mut stream = connect(port).unwrap_or_else(|e| panic!("{e}"));
    write!(stream, "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").expect("send a request");
    let response = read_response(&mut stream).expect("a response on the kept-alive connection");
    assert_eq!(response.status, 200, "{response:?}");
    assert_ne!(
        response.header("connection"),
        Some("close"),
        "the connection is kept alive: {response:?}"
    );
    stream
}

/// One request on a new connection (`Connection: close`); JSON bodies only.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Response, String> {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    let mut stream = connect(port)?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    read_response(&mut stream)
}

/// Sends `raw` exactly as given (head and body, written by the caller) on a new connection and
/// reads one response.
pub fn send(port: u16, raw: &[u8]) -> Result<Response, String> {
    let mut stream = connect(port)?;
    stream
        .write_all(raw)
        .map_err(|e| format!("cannot send the request: {e}"))?;
    read_response(&mut stream)
}

/// `POST <path>` with `body` sent as is under `content_type`, and `x-request-id: <request_id>`.
pub fn post_as(
    port: u16,
    path: &str,
    content_type: &str,
    body: &str,
    request_id: &str,
) -> Result<Response, String> {
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nx-request-id: {request_id}\r\n\r\n{body}",
        body.len()
    );
    send(port, raw.as_bytes())
}

/// `POST <path>` announcing a JSON body of `length` bytes and sending none: a limit on the
/// length must answer from the head alone.
pub fn post_announcing(
    port: u16,
    path: &str,
    length: usize,
    request_id: &str,
) -> Result<Response, String> {
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\nx-request-id: {request_id}\r\n\r\n"
    );
    send(port, raw.as_bytes())
}

/// `POST <path>` with the JSON `body` sent `Transfer-Encoding: chunked`, 256 bytes a chunk.
pub fn post_chunked(
    port: u16,
    path: &str,
    body: &str,
    request_id: &str,
) -> Result<Response, String> {
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nx-request-id: {request_id}\r\n\r\n"
    );
    for chunk in body.as_bytes().chunks(256) {
        raw.push_str(&format!("{:x}\r\n", chunk.len()));
        raw.push_str(&String::from_utf8_lossy(chunk));
        raw.push_str("\r\n");
    }
    raw.push_str("0\r\n\r\n");
    send(port, raw.as_bytes())
}

/// Reads one response: the head, then `Content-Length` bytes (the connection may stay open),
/// or a chunked body, or everything up to the end of the stream.
pub fn read_response(stream: &mut TcpStream) -> Result<Response, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut read_more = |buf: &mut Vec<u8>| -> Result<usize, String> {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("read failed: {e}"))?;
        buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    };
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if read_more(&mut buf)? == 0 {
            return Err(format!(
                "connection closed before a complete response head: {:?}",
                String::from_utf8_lossy(&buf)
            ));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = buf[head_end..].to_vec();
    if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad content-length {length:?}"))?;
        while body.len() < length {
            if read_more(&mut body)? == 0 {
                return Err("connection closed inside the body".to_owned());
            }
        }
        body.truncate(length);
    } else {
        while read_more(&mut body)? > 0 {}
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            body = dechunk(&body)?;
        }
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The payload of a complete `Transfer-Encoding: chunked` body.
pub fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunked body")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("truncated chunk")?);
        data = data.get(size + 2..).ok_or("truncated chunk")?;
    }
}

/// Whether the peer still holds `stream` open: no data and no end of stream pending.
pub fn still_open(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("set non-blocking");
    let open = matches!(stream.peek(&mut [0u8; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).expect("set blocking");
    open
}

/// Whether the peer closed `stream` (end of stream or reset), waiting up to `timeout`.
pub fn closed_by_peer(stream: &mut TcpStream, timeout: Duration) -> bool {
    stream.set_read_timeout(Some(timeout)).expect("set timeout");
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}
