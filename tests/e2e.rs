//! End-to-end checks of the all-on render (every slice on) run as a real process and seen only
//! from outside: its subcommands, its HTTP API over raw HTTP/1.1, its JSON logs, its config
//! layers, how it keeps secrets, graceful shutdown on SIGTERM, and a database outage staged with
//! a TCP proxy between the service and PostgreSQL.
//!
//! The render is built once (in target/renders, like tests/build.rs) and shared by every test.
//! Tests run on parallel threads: each one has its own free ports and, where it writes or needs
//! a login of its own, its own database; a failing test kills its child processes. Needs
//! DATABASE_URL (a PostgreSQL server that checks passwords over TCP, as a role that may create
//! roles and databases) and `psql`.
//!
//! Every check prints one `[e2e]` progress line with what it measured.

mod common;

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tempfile::TempDir;

use common::{Combo, new_temp_dir, postgres_url, progress};

/// The name the service is rendered under: its binary, its `GET /` answer and its env prefix.
const PROJECT: &str = "e2e-service";
/// The prefix the template derives from [`PROJECT`].
const EXPECTED_ENV_PREFIX: &str = "E2E_SERVICE_";
/// The port the template's default config names (the render keeps the default).
const DEFAULT_PORT: i64 = 8080;

/// Longest wait for `/readyz` to answer 200 after a start (the first start connects to
/// PostgreSQL).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a one-off command (`config`, `migrate`, `healthcheck`) may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a process stopped by bad config may take to exit.
const PROMPT_EXIT: Duration = Duration::from_secs(5);
/// Longest a service may take to exit after SIGTERM when nothing holds it.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The service under test

struct Service {
    bin: PathBuf,
    env_prefix: String,
}

/// The all-on render, built once. Only the binary is kept: the render's temporary folder is
/// removed once the build is done.
static SERVICE: LazyLock<Service> = LazyLock::new(|| {
    let started = Instant::now();
    progress(&format!(
        "[e2e] rendering {PROJECT} ({}) and building it ...",
        Combo::ALL_ON.label()
    ));
    let (render, bin) = common::render_and_build(PROJECT, Combo::ALL_ON);
    let config = render.read("src/config.rs");
    let env_prefix = config
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("pub const ENV_PREFIX: &str = \"")?
                .strip_suffix("\";")
        })
        .unwrap_or_else(|| panic!("no ENV_PREFIX in the rendered src/config.rs:\n{config}"))
        .to_owned();
    assert_eq!(
        env_prefix, EXPECTED_ENV_PREFIX,
        "the env prefix derived from the project name `{PROJECT}`"
    );
    progress(&format!(
        "[e2e] built {} in {} s",
        bin.display(),
        started.elapsed().as_secs()
    ));
    Service { bin, env_prefix }
});

/// `<prefix><key>`, e.g. `E2E_SERVICE_SHUTDOWN__DRAIN_DELAY_SECS`.
fn prefixed(key: &str) -> String {
    format!("{}{key}", SERVICE.env_prefix)
}

// ---------------------------------------------------------------------------------------------
// Small utilities

/// 16 random hex digits, different on every call.
fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// A random version-4 UUID in its text form.
fn random_uuid() -> String {
    let (a, b) = (random_hex(), random_hex());
    format!(
        "{}-{}-4{}-8{}-{}",
        &a[..8],
        &a[8..12],
        &a[13..16],
        &b[..3],
        &b[4..16]
    )
}

/// A port nothing listens on, never handed out twice in this process, so parallel tests do
/// not collide.
fn free_port() -> u16 {
    static HANDED_OUT: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Default::default);
    loop {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        if HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}

fn ms(duration: Duration) -> u128 {
    duration.as_millis()
}

fn list_ms(durations: &[Duration]) -> String {
    let list: Vec<String> = durations.iter().map(|d| ms(*d).to_string()).collect();
    format!("[{}] ms", list.join(", "))
}

/// Whether a TCP connection to `port` on 127.0.0.1 is accepted.
fn accepts_connections(port: u16) -> bool {
    TcpStream::connect_timeout(&local(port), Duration::from_millis(200)).is_ok()
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Whether `text` holds `key` as a whole word (not inside a longer name): `port` in
/// `invalid configuration: port: ...` but not in `E2E_SERVICE_PORT` or `import`.
fn names_key(text: &str, key: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    text.match_indices(key).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + key.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

// ---------------------------------------------------------------------------------------------
// Running the binary

/// One run of the service binary, being set up. The environment starts empty (the test's own
/// DATABASE_URL or PORT must not leak in) and the working folder is a fresh temporary one, so
/// no `.env` is read.
struct Launch {
    label: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    port: u16,
}

impl Launch {
    fn new(label: &str) -> Self {
        Self {
            label: label.to_owned(),
            args: Vec::new(),
            // Loopback only: nothing outside this machine reaches the test services.
            env: vec![(prefixed("HOST"), "127.0.0.1".to_owned())],
            port: 0,
        }
    }

    /// `config`, `migrate` or `healthcheck`; no command means `serve`.
    fn command(label: &str, command: &str) -> Self {
        let mut launch = Self::new(label);
        launch.args.push(command.to_owned());
        launch
    }

    fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.push((key.to_owned(), value.to_string()));
        self
    }

    /// `<prefix><key>=<value>`.
    fn setting(self, key: &str, value: impl ToString) -> Self {
        let key = prefixed(key);
        self.env(&key, value)
    }

    /// The platform's `PORT`, which is also the port the test talks to.
    fn port(self, port: u16) -> Self {
        self.env("PORT", port).expect_port(port)
    }

    /// The port the test talks to, when another layer sets it.
    fn expect_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    fn database(self, url: &str) -> Self {
        self.env("DATABASE_URL", url)
    }

    fn spawn(self) -> Proc {
        let workdir = new_temp_dir("e2e-workdir-");
        let mut cmd = Command::new(&SERVICE.bin);
        cmd.args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(workdir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect_lines(child.stdout.take().expect("piped stdout"), stdout.clone()),
            collect_lines(child.stderr.take().expect("piped stderr"), stderr.clone()),
        ];
        Proc {
            label: self.label,
            port: self.port,
            child,
            stdout,
            stderr,
            readers,
            status: None,
            _workdir: workdir,
        }
    }

    /// Runs a one-off command to its end (failing the test if it hangs).
    fn run(self) -> Proc {
        let mut proc = self.spawn();
        proc.expect_exit(COMMAND_TIMEOUT);
        proc
    }
}

fn collect_lines(
    pipe: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    into.lock()
                        .unwrap()
                        .push(text.trim_end_matches(['\r', '\n']).to_owned());
                }
            }
        }
    })
}

/// A running (or finished) service process with everything it printed. Killed when dropped
/// while still running, so a failing test leaves nothing behind.
struct Proc {
    label: String,
    port: u16,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
    _workdir: TempDir,
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Proc {
    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Everything the process printed, for assertion messages.
    fn describe(&self) -> String {
        let status = self
            .status
            .map_or_else(|| "still running".to_owned(), |s| s.to_string());
        format!(
            "process `{}` (pid {}, port {}, {status})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.label,
            self.child.id(),
            self.port,
            self.stdout(),
            self.stderr()
        )
    }

    fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.status = Some(status);
            // The pipes are closed: the readers finish with the last lines.
            for reader in self.readers.drain(..) {
                let _ = reader.join();
            }
        }
        self.status
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn expect_exit(&mut self, timeout: Duration) -> ExitStatus {
        self.wait_exit(timeout).unwrap_or_else(|| {
            panic!(
                "still running {} s after it should have exited\n{}",
                timeout.as_secs(),
                self.describe()
            )
        })
    }

    /// Sends SIGTERM, as an orchestrator or `docker stop` does.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed\n{}", self.describe());
    }

    /// SIGTERM, then exit code 0 within [`EXIT_TIMEOUT`]. Returns how long the exit took.
    fn stop_cleanly(&mut self) -> Duration {
        let signalled = Instant::now();
        self.terminate();
        let status = self.expect_exit(EXIT_TIMEOUT);
        let took = signalled.elapsed();
        assert_eq!(
            status.code(),
            Some(0),
            "SIGTERM with nothing in flight must end in exit code 0\n{}",
            self.describe()
        );
        took
    }

    /// Every stdout line parsed as JSON; fails the test on a line that is not a JSON object.
    fn logs(&self) -> Vec<Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .map(|line| match serde_json::from_str::<Value>(line) {
                Ok(value) if value.is_object() => value,
                _ => panic!(
                    "stdout line is not a JSON object: {line:?}\n{}",
                    self.describe()
                ),
            })
            .collect()
    }

    fn find_log(&self, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        self.logs().into_iter().find(|line| wanted(line))
    }

    /// The first log line matching `wanted`, waiting up to 5 s for it.
    fn wait_for_log(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(line) = self.find_log(&wanted) {
                return line;
            }
            if Instant::now() >= deadline {
                panic!("no log line {what} within 5 s\n{}", self.describe());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        http(self.port, method, path, headers, body).unwrap_or_else(|e| {
            panic!(
                "{method} {path} on port {} failed: {e}\n{}",
                self.port,
                self.describe()
            )
        })
    }

    fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], None)
    }

    fn post_json(&self, path: &str, body: &str) -> Response {
        self.request("POST", path, &[], Some(body))
    }

    /// Polls `path` until it answers `status`; fails if the process exits or `timeout` passes.
    /// Returns how long it took.
    fn wait_for_status(&mut self, path: &str, status: u16, timeout: Duration) -> Duration {
        let started = Instant::now();
        let mut last;
        loop {
            if let Some(exit) = self.try_exit() {
                panic!(
                    "exited ({exit}) while waiting for {path} to answer {status}\n{}",
                    self.describe()
                );
            }
            match http(self.port, "GET", path, &[], None) {
                Ok(response) if response.status == status => return started.elapsed(),
                Ok(response) => last = format!("{} {}", response.status, response.body),
                Err(error) => last = error,
            }
            if started.elapsed() >= timeout {
                panic!(
                    "{path} did not answer {status} within {} s (last: {last})\n{}",
                    timeout.as_secs(),
                    self.describe()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_ready(&mut self) -> Duration {
        self.wait_for_status("/readyz", 200, READY_TIMEOUT)
    }

    /// Fails unless neither stream holds `secret`.
    fn assert_never_printed(&self, secret: &str, what: &str) {
        assert!(
            !self.stdout().contains(secret) && !self.stderr().contains(secret),
            "{what} appears in the output of `{}`\n{}",
            self.label,
            self.describe()
        );
    }
}

/// A process stopped by bad config: it must exit non-zero within [`PROMPT_EXIT`], never accept
/// a connection on `port` meanwhile, log no `listening` line and name `key` on stderr.
fn assert_stops_before_binding(launch: Launch, key: &str) -> Proc {
    let port = launch.port;
    assert!(!accepts_connections(port), "port {port} is taken already");
    let started = Instant::now();
    let mut proc = launch.spawn();
    let mut bound = false;
    let status = loop {
        if let Some(status) = proc.try_exit() {
            break status;
        }
        if started.elapsed() > PROMPT_EXIT {
            panic!(
                "bad config: still running after {} s\n{}",
                PROMPT_EXIT.as_secs(),
                proc.describe()
            );
        }
        bound |= accepts_connections(port);
    };
    let took = started.elapsed();
    assert!(
        !status.success(),
        "bad config must end in a non-zero exit\n{}",
        proc.describe()
    );
    assert!(
        !bound && !accepts_connections(port),
        "bad config: port {port} accepted a connection\n{}",
        proc.describe()
    );
    assert!(
        !proc.stdout().contains("listening"),
        "bad config: a `listening` line was logged\n{}",
        proc.describe()
    );
    assert!(
        names_key(&proc.stderr(), key),
        "bad config: stderr does not name the key `{key}`\n{}",
        proc.describe()
    );
    progress(&format!(
        "[e2e] {}: exit {} after {} ms, stderr names `{key}`, port {port} never bound",
        proc.label,
        status.code().map_or("by signal".into(), |c| c.to_string()),
        ms(took)
    ));
    proc
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 over a plain TcpStream

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {self:?}"))
    }
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let stream = TcpStream::connect_timeout(&local(port), Duration::from_secs(2))
        .map_err(|e| format!("cannot connect to port {port}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(10))))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// One request on a new connection (`Connection: close`); JSON bodies only.
fn http(
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

/// Reads one response: the head, then `Content-Length` bytes (the connection may stay open),
/// or a chunked body, or everything up to the end of the stream.
fn read_response(stream: &mut TcpStream) -> Result<Response, String> {
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

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
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
fn still_open(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("set non-blocking");
    let open = matches!(stream.peek(&mut [0u8; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).expect("set blocking");
    open
}

/// Whether the peer closed `stream` (end of stream or reset), waiting up to `timeout`.
fn closed_by_peer(stream: &mut TcpStream, timeout: Duration) -> bool {
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

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The parts of a `postgres://` URL the tests change.
#[derive(Clone, Debug)]
struct PgUrl {
    user: String,
    password: Option<String>,
    host: String,
    port: u16,
    database: String,
    /// `?...` or empty.
    query: String,
}

impl PgUrl {
    fn parse(url: &str) -> Self {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .unwrap_or_else(|| panic!("DATABASE_URL must start with postgres://: {url}"));
        let (rest, query) = match rest.find('?') {
            Some(at) => (&rest[..at], rest[at..].to_owned()),
            None => (rest, String::new()),
        };
        let (authority, database) = rest.split_once('/').unwrap_or((rest, "postgres"));
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .unwrap_or(("postgres", authority));
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
            None => (userinfo.to_owned(), None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (
                host.to_owned(),
                port.parse().expect("DATABASE_URL has a numeric port"),
            ),
            None => (hostport.to_owned(), 5432),
        };
        Self {
            user,
            password,
            host,
            port,
            database: database.to_owned(),
            query,
        }
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres://{}", self.user)?;
        if let Some(password) = &self.password {
            write!(f, ":{password}")?;
        }
        write!(
            f,
            "@{}:{}/{}{}",
            self.host, self.port, self.database, self.query
        )
    }
}

fn psql_at(url: &str, sql: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!(
            "psql failed for `{sql}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn psql(sql: &str) -> String {
    psql_at(&postgres_url(), sql).unwrap_or_else(|e| panic!("{e}"))
}

/// A database of this test's own, dropped (with its role, if it has one) afterwards.
struct TempDb {
    name: String,
    role: Option<String>,
    /// Reaches the database as its owner; without a password for a role of its own.
    url: PgUrl,
}

impl TempDb {
    /// A new database owned by DATABASE_URL's role.
    fn new() -> Self {
        let name = format!("e2e_{}", random_hex());
        psql(&format!("CREATE DATABASE {name}"));
        let mut url = PgUrl::parse(&postgres_url());
        url.database = name.clone();
        Self {
            name,
            role: None,
            url,
        }
    }

    /// A new login role with `password` and a new database it owns; `url` has no password.
    fn with_role(password: &str) -> Self {
        let suffix = random_hex();
        let role = format!("e2e_role_{suffix}");
        let name = format!("e2e_{suffix}");
        psql(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"));
        let db = Self {
            name: name.clone(),
            role: Some(role.clone()),
            url: PgUrl {
                user: role.clone(),
                password: None,
                database: name.clone(),
                ..PgUrl::parse(&postgres_url())
            },
        };
        psql(&format!("CREATE DATABASE {name} OWNER {role}"));
        db
    }

    fn url(&self) -> String {
        self.url.to_string()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let url = postgres_url();
        let _ = psql_at(
            &url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        if let Some(role) = &self.role {
            let _ = psql_at(&url, &format!("DROP ROLE IF EXISTS {role}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy that can play a database outage

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProxyMode {
    /// Forward every connection to the database.
    Forward,
    /// Accept connections and never answer: a network partition.
    Blackhole,
    /// Shutting the listener.
    Closed,
}

struct ProxyShared {
    mode: Mutex<ProxyMode>,
    /// Both ends of every connection it holds, to cut them.
    connections: Mutex<Vec<TcpStream>>,
    accepted: AtomicUsize,
}

/// Listens on a port of its own and forwards to `upstream`; [`Proxy::close`] stops the
/// "database": live connections are cut and new ones refused (the port has no listener).
struct Proxy {
    port: u16,
    upstream: SocketAddr,
    shared: Arc<ProxyShared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Self {
        let mut proxy = Self {
            port: free_port(),
            upstream,
            shared: Arc::new(ProxyShared {
                mode: Mutex::new(ProxyMode::Closed),
                connections: Mutex::new(Vec::new()),
                accepted: AtomicUsize::new(0),
            }),
            acceptor: None,
        };
        proxy.open(ProxyMode::Forward);
        proxy
    }

    /// Listens again on the same port.
    fn open(&mut self, mode: ProxyMode) {
        assert!(self.acceptor.is_none(), "the proxy is open already");
        *self.shared.mode.lock().unwrap() = mode;
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(local(self.port)) {
                Ok(listener) => break listener,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("the proxy cannot listen on port {} again: {e}", self.port),
            }
        };
        let shared = self.shared.clone();
        let upstream = self.upstream;
        self.acceptor = Some(thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let mode = *shared.mode.lock().unwrap();
                match mode {
                    ProxyMode::Closed => break,
                    ProxyMode::Blackhole => {
                        shared.accepted.fetch_add(1, Ordering::Relaxed);
                        shared.connections.lock().unwrap().push(client);
                    }
                    ProxyMode::Forward => {
                        shared.accepted.fetch_add(1, Ordering::Relaxed);
                        let Ok(server) = TcpStream::connect(upstream) else {
                            continue;
                        };
                        // One copy of each end per direction, one to cut it with.
                        let copies = (
                            client.try_clone(),
                            server.try_clone(),
                            client.try_clone(),
                            server.try_clone(),
                        );
                        let (Ok(to_client), Ok(to_server), Ok(client_cut), Ok(server_cut)) = copies
                        else {
                            continue;
                        };
                        shared
                            .connections
                            .lock()
                            .unwrap()
                            .extend([client_cut, server_cut]);
                        thread::spawn(move || pipe(client, to_server));
                        thread::spawn(move || pipe(server, to_client));
                    }
                }
            }
            // The listener is dropped here: new connections are refused.
        }));
    }

    /// Stops listening and cuts every connection it holds.
    fn close(&mut self) {
        *self.shared.mode.lock().unwrap() = ProxyMode::Closed;
        if let Some(acceptor) = self.acceptor.take() {
            // Wakes the acceptor, which sees `Closed` and drops the listener.
            let _ = TcpStream::connect_timeout(&local(self.port), Duration::from_secs(1));
            let _ = acceptor.join();
        }
        for connection in self.shared.connections.lock().unwrap().drain(..) {
            let _ = connection.shutdown(Shutdown::Both);
        }
    }

    fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

// ---------------------------------------------------------------------------------------------
// The checks

/// Check 1: `migrate` as its own process (twice), then the notes API over HTTP.
#[test]
fn notes_api_after_migrate() {
    let db = TempDb::new();
    for run in ["first", "second"] {
        let started = Instant::now();
        let migrate = Launch::command(&format!("migrate ({run} run)"), "migrate")
            .database(&db.url())
            .run();
        assert_eq!(
            migrate.status.and_then(|s| s.code()),
            Some(0),
            "`migrate` must succeed, also when there is nothing left to apply\n{}",
            migrate.describe()
        );
        assert!(
            migrate.stdout().contains("database schema is up to date"),
            "`migrate` logs that the schema is up to date\n{}",
            migrate.describe()
        );
        progress(&format!(
            "[e2e] migrate ({run} run): exit 0 in {} ms",
            ms(started.elapsed())
        ));
    }
    let applied = psql_at(
        &db.url(),
        "SELECT count(*) FROM _sqlx_migrations WHERE success",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied, "1", "the one migration is recorded once");

    let port = free_port();
    let mut service = Launch::new("serve").port(port).database(&db.url()).spawn();
    let ready = service.wait_ready();

    let about = service.get("/");
    assert_eq!(
        about.status,
        200,
        "GET /: {about:?}\n{}",
        service.describe()
    );
    assert_eq!(about.json()["name"], PROJECT, "GET / names the service");
    assert_eq!(about.json()["version"], "0.1.0", "GET / gives the version");

    let body = format!("e2e body {}", random_hex());
    let created = service.post_json(
        "/notes",
        &serde_json::json!({ "title": "  e2e title  ", "body": body }).to_string(),
    );
    assert_eq!(
        created.status,
        201,
        "POST /notes: {created:?}\n{}",
        service.describe()
    );
    let note = created.json();
    let id = note["id"]
        .as_str()
        .expect("the new note has an id")
        .to_owned();
    assert_eq!(id.len(), 36, "the id is a UUID: {note}");
    assert_eq!(note["title"], "e2e title", "the title is stored trimmed");
    assert_eq!(note["body"], body.as_str());

    let fetched = service.get(&format!("/notes/{id}"));
    assert_eq!(
        fetched.status,
        200,
        "GET /notes/{id}: {fetched:?}\n{}",
        service.describe()
    );
    assert_eq!(fetched.json(), note, "GET /notes/{{id}} returns the note");

    let listed = service.get("/notes");
    assert_eq!(listed.status, 200, "GET /notes: {listed:?}");
    let listed = listed.json();
    assert!(
        listed.as_array().is_some_and(|notes| notes.contains(&note)),
        "GET /notes lists the new note: {listed}"
    );

    let invalid = service.post_json("/notes", r#"{"title":"   ","body":"no title"}"#);
    assert_eq!(invalid.status, 422, "an empty title: {invalid:?}");
    assert_eq!(
        invalid.json(),
        serde_json::json!({ "error": "title must not be empty" }),
        "the 422 says why"
    );

    let missing = service.get(&format!("/notes/{}", random_uuid()));
    assert_eq!(missing.status, 404, "an unknown id: {missing:?}");
    assert_eq!(missing.json()["error"], "not found");

    let exit = service.stop_cleanly();
    progress(&format!(
        "[e2e] notes API: ready in {} ms; create 201, fetch 200, list 200, empty title 422, unknown id 404; SIGTERM->exit {} ms",
        ms(ready),
        ms(exit)
    ));
}

/// Check 2: JSON logs on stdout; request ids taken from the client or made, echoed and logged.
#[test]
fn json_logs_with_request_ids() {
    let port = free_port();
    let mut service = Launch::new("serve")
        .port(port)
        .database(&postgres_url())
        .spawn();
    service.wait_ready();

    let given = format!("e2e-{}", random_hex());
    let answered = service.request("GET", "/", &[("x-request-id", &given)], None);
    assert_eq!(answered.status, 200, "GET /: {answered:?}");
    assert_eq!(
        answered.header("x-request-id"),
        Some(given.as_str()),
        "the client's request id comes back: {answered:?}"
    );
    let line = service.wait_for_log(&format!("with span.request_id {given}"), |line| {
        line["span"]["request_id"] == given.as_str() && line.get("status").is_some()
    });
    assert_eq!(
        line["status"], 200,
        "the request log line has the status: {line}"
    );
    assert_eq!(line["span"]["method"], "GET", "and the method: {line}");
    assert_eq!(line["span"]["route"], "/", "and the route: {line}");
    assert_eq!(line["level"], "INFO", "at INFO: {line}");
    assert!(line.get("latency").is_some(), "and the latency: {line}");

    let unnamed = service.get("/nowhere");
    assert_eq!(unnamed.status, 404, "GET /nowhere: {unnamed:?}");
    let generated = unnamed
        .header("x-request-id")
        .unwrap_or_else(|| panic!("a request without an id gets one: {unnamed:?}"))
        .to_owned();
    assert!(
        !generated.is_empty() && generated != given,
        "a fresh id is made: {generated:?}"
    );
    let line = service.wait_for_log(&format!("with span.request_id {generated}"), |line| {
        line["span"]["request_id"] == generated.as_str() && line.get("status").is_some()
    });
    assert_eq!(line["status"], 404, "{line}");
    assert_eq!(line["span"]["path"], "/nowhere", "{line}");

    service.stop_cleanly();
    // After the exit every line is in: all JSON, none about the probes, nothing on stderr.
    let logs = service.logs();
    assert!(
        logs.iter()
            .any(|line| line["message"] == "listening"
                && line["address"] == format!("127.0.0.1:{port}")),
        "a `listening` line with the address\n{}",
        service.describe()
    );
    assert!(
        !logs.iter().any(|line| {
            let path = &line["span"]["path"];
            path == "/readyz" || path == "/livez"
        }),
        "probes are not request-logged\n{}",
        service.describe()
    );
    assert!(
        service.stderr().trim().is_empty(),
        "logs go to stdout, stderr stays empty\n{}",
        service.describe()
    );
    progress(&format!(
        "[e2e] JSON logs: {} stdout lines, all JSON; request id {given} echoed and logged; generated id {generated} echoed and logged",
        logs.len()
    ));
}

/// Check 3: config layers, file < PORT < <P>PORT < <P>PORT_FILE, read back with `config`,
/// and `serve` binds what the top layer names.
#[test]
fn config_layers_override_in_order() {
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let (from_file, from_platform, from_prefixed, from_secret_file) =
        (ports[0], ports[1], ports[2], ports[3]);
    let dir = new_temp_dir("e2e-config-");
    let config_file = dir.path().join("service.toml");
    std::fs::write(
        &config_file,
        format!("port = {from_file}\n\n[http]\nrequest_timeout_secs = 11\n"),
    )
    .expect("write config file");
    let port_file = dir.path().join("port");
    std::fs::write(&port_file, format!("{from_secret_file}\n")).expect("write port file");

    // The first `layers` layers, lowest first.
    let layered = |launch: Launch, layers: usize| {
        let mut launch = launch.database(&postgres_url());
        if layers >= 1 {
            launch = launch.setting("CONFIG_PATH", config_file.display());
        }
        if layers >= 2 {
            launch = launch.env("PORT", from_platform);
        }
        if layers >= 3 {
            launch = launch
                .setting("PORT", from_prefixed)
                .setting("HTTP__REQUEST_TIMEOUT_SECS", 12);
        }
        if layers >= 4 {
            launch = launch.setting("PORT_FILE", port_file.display());
        }
        launch
    };
    let expected = [
        ("defaults", DEFAULT_PORT, 30),
        ("+ config file", i64::from(from_file), 11),
        ("+ PORT", i64::from(from_platform), 11),
        ("+ <P>PORT", i64::from(from_prefixed), 12),
        ("+ <P>PORT_FILE", i64::from(from_secret_file), 12),
    ];
    let mut seen = Vec::new();
    for (layers, (label, port, timeout)) in expected.into_iter().enumerate() {
        let run = layered(
            Launch::command(&format!("config {label}"), "config"),
            layers,
        )
        .run();
        assert!(
            run.status.is_some_and(|s| s.success()),
            "`config` failed\n{}",
            run.describe()
        );
        let config: toml::Table = run
            .stdout()
            .parse()
            .unwrap_or_else(|e| panic!("`config` prints TOML ({e})\n{}", run.describe()));
        assert_eq!(
            config.get("port").and_then(|p| p.as_integer()),
            Some(port),
            "port with layers {label}\n{}",
            run.describe()
        );
        assert_eq!(
            config
                .get("http")
                .and_then(|h| h.get("request_timeout_secs"))
                .and_then(|t| t.as_integer()),
            Some(timeout),
            "http.request_timeout_secs (nested key) with layers {label}\n{}",
            run.describe()
        );
        seen.push(format!("{label} -> {port}"));
    }
    progress(&format!("[e2e] config layers: {}", seen.join(", ")));

    let mut service = layered(Launch::new("serve (all layers)"), 4)
        .expect_port(from_secret_file)
        .spawn();
    let ready = service.wait_ready();
    service.wait_for_log("`listening` on the top layer's port", |line| {
        line["message"] == "listening" && line["address"] == format!("127.0.0.1:{from_secret_file}")
    });
    for port in [from_file, from_platform, from_prefixed] {
        assert!(
            !accepts_connections(port),
            "a lower layer's port {port} is listening\n{}",
            service.describe()
        );
    }
    service.stop_cleanly();
    progress(&format!(
        "[e2e] serve binds <P>PORT_FILE's port {from_secret_file} (ready in {} ms), not {from_file}/{from_platform}/{from_prefixed}",
        ms(ready)
    ));
}

/// Check 4: bad values stop the process before it binds, naming the key.
#[test]
fn bad_config_stops_before_binding() {
    // If PORT=abc were skipped, the config file's port would be bound: watch that one.
    let port = free_port();
    let dir = new_temp_dir("e2e-bad-config-");
    let config_file = dir.path().join("service.toml");
    std::fs::write(&config_file, format!("port = {port}\n")).expect("write config file");
    assert_stops_before_binding(
        Launch::new("PORT=abc")
            .setting("CONFIG_PATH", config_file.display())
            .env("PORT", "abc")
            .database(&postgres_url())
            .expect_port(port),
        "port",
    );

    assert_stops_before_binding(
        Launch::new("<P>LOG__FORMAT=yaml")
            .port(free_port())
            .setting("LOG__FORMAT", "yaml")
            .database(&postgres_url()),
        "log.format",
    );
}

/// Check 5a: a password given apart from the URL, from a variable or a file, is used and never shown.
#[test]
fn database_password_stays_secret() {
    // Letters around the digits: figment would read an all-digit value as a number.
    let password = format!("E2eSecret{}Pw", random_hex());
    let db = TempDb::with_role(&password);
    let url = db.url();
    assert!(!url.contains(&password), "the URL carries no password");

    // Control: without the password the database refuses the role, so a 200 below proves the
    // password reached PostgreSQL.
    let port = free_port();
    let mut without = Launch::new("serve (no password)")
        .port(port)
        .database(&url)
        .spawn();
    without.wait_for_status("/livez", 200, READY_TIMEOUT);
    let readyz = without.get("/readyz");
    assert_eq!(
        readyz.status,
        503,
        "without a password the role cannot log in: {readyz:?}\n{}",
        without.describe()
    );
    without.stop_cleanly();

    let secret_dir = new_temp_dir("e2e-secret-");
    let secret_file = secret_dir.path().join("db-password");
    std::fs::write(&secret_file, format!("{password}\n")).expect("write secret file");
    let ways = [
        (
            "<P>DATABASE__PASSWORD",
            "DATABASE__PASSWORD",
            password.clone(),
        ),
        (
            "<P>DATABASE__PASSWORD_FILE",
            "DATABASE__PASSWORD_FILE",
            secret_file.display().to_string(),
        ),
    ];
    for (how, key, value) in ways {
        let with_secret = |launch: Launch| launch.database(&url).setting(key, &value);

        let migrate = with_secret(Launch::command(&format!("migrate ({how})"), "migrate")).run();
        assert!(
            migrate.status.is_some_and(|s| s.success()),
            "`migrate` logs in with the password from {how}\n{}",
            migrate.describe()
        );

        let config = with_secret(Launch::command(&format!("config ({how})"), "config")).run();
        assert!(
            config.status.is_some_and(|s| s.success()),
            "`config` with {how}\n{}",
            config.describe()
        );
        let table: toml::Table = config.stdout().parse().expect("`config` prints TOML");
        let database = &table["database"];
        assert_eq!(
            database.get("password").and_then(|p| p.as_str()),
            Some("[REDACTED]"),
            "`config` shows the password as [REDACTED]\n{}",
            config.describe()
        );
        assert_eq!(
            database.get("url").and_then(|p| p.as_str()),
            Some("[REDACTED]"),
            "`config` shows the URL as [REDACTED]\n{}",
            config.describe()
        );

        let port = free_port();
        let mut service = with_secret(Launch::new(&format!("serve ({how})")).port(port)).spawn();
        let ready = service.wait_ready();
        let created = service.post_json("/notes", r#"{"title":"secret","body":"kept"}"#);
        assert_eq!(
            created.status,
            201,
            "writes work with the password from {how}: {created:?}\n{}",
            service.describe()
        );
        service.stop_cleanly();

        for proc in [&migrate, &config, &service] {
            proc.assert_never_printed(&password, "the database password");
        }
        progress(&format!(
            "[e2e] password via {how}: /readyz 200 after {} ms; config shows [REDACTED]; never printed by migrate/config/serve",
            ms(ready)
        ));
    }
}

/// Check 5b: a malformed URL holding the password, and a wrong password: neither ever printed.
#[test]
fn bad_database_credentials_do_not_leak() {
    let password = format!("E2eSecret{}Pw", random_hex());
    let db = TempDb::with_role(&password);

    let malformed = format!(
        "postgres://{}:{password}@{}:notaport/{}",
        db.url.user, db.url.host, db.name
    );
    let refused = assert_stops_before_binding(
        Launch::new("malformed DATABASE_URL")
            .port(free_port())
            .database(&malformed),
        "database.url",
    );
    refused.assert_never_printed(&password, "the password inside the malformed URL");

    let wrong = format!("E2eWrong{}Pw", random_hex());
    let url = PgUrl {
        password: Some(wrong.clone()),
        ..db.url.clone()
    }
    .to_string();
    let config = Launch::command("config (wrong password)", "config")
        .database(&url)
        .run();
    assert!(
        config.status.is_some_and(|s| s.success()) && config.stdout().contains("[REDACTED]"),
        "`config` redacts the URL\n{}",
        config.describe()
    );

    let port = free_port();
    let mut service = Launch::new("serve (wrong password)")
        .port(port)
        .database(&url)
        .spawn();
    let live = service.wait_for_status("/livez", 200, READY_TIMEOUT);
    let readyz = service.get("/readyz");
    assert_eq!(
        readyz.status,
        503,
        "a wrong password: not ready: {readyz:?}\n{}",
        service.describe()
    );
    assert_eq!(
        readyz.json()["checks"]["postgres:responseTime"][0]["status"],
        "fail",
        "{readyz:?}"
    );
    let warning = service.wait_for_log("warning that PostgreSQL failed the check", |line| {
        line["level"] == "WARN"
            && line["message"]
                .as_str()
                .is_some_and(|m| m.contains("PostgreSQL"))
    });
    service.stop_cleanly();
    for proc in [&config, &service] {
        proc.assert_never_printed(&wrong, "the wrong password");
        proc.assert_never_printed(&password, "the real password");
    }
    progress(&format!(
        "[e2e] wrong password: /livez 200 after {} ms, /readyz 503, warning logged ({}); password never printed",
        ms(live),
        warning["error"].as_str().unwrap_or("no error field")
    ));
}

/// Check 6: SIGTERM while a request's body is still arriving; readiness fails at once, the
/// request completes, the process exits 0.
#[test]
fn sigterm_lets_slow_request_finish() {
    let db = TempDb::new();
    let port = free_port();
    let mut service = Launch::new("serve (drain delay 2 s)")
        .port(port)
        .database(&db.url())
        .setting("DATABASE__MIGRATE_ON_START", "true")
        .setting("SHUTDOWN__DRAIN_DELAY_SECS", 2)
        .spawn();
    service.wait_ready();

    let request_id = format!("e2e-slow-{}", random_hex());
    let body = r#"{"title":"slow note","body":"sent in two halves around SIGTERM"}"#;
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut slow = connect(port).expect("connect for the slow request");
    write!(
        slow,
        "POST /notes HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nx-request-id: {request_id}\r\n\r\n{first_half}",
        body.len()
    )
    .expect("send the head and half the body");
    thread::sleep(Duration::from_millis(300));

    let signalled = Instant::now();
    service.terminate();

    // Readiness fails at once, on a new connection, while the listener is still open.
    let (readyz, not_ready_after) = loop {
        let readyz = service.get("/readyz");
        if readyz.status == 503 || signalled.elapsed() > Duration::from_secs(1) {
            break (readyz, signalled.elapsed());
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        readyz.status,
        503,
        "/readyz answers 503 within 1 s of SIGTERM: {readyz:?}\n{}",
        service.describe()
    );
    assert_eq!(readyz.json()["status"], "fail", "{readyz:?}");
    let during_drain = service.get("/");
    assert_eq!(
        during_drain.status,
        200,
        "requests are still served during the drain delay: {during_drain:?}\n{}",
        service.describe()
    );

    // After the drain delay the listener closes.
    let listener_closed_after = loop {
        if !accepts_connections(port) {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "the listener is still open 5 s after SIGTERM (drain delay 2 s)\n{}",
            service.describe()
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert!(
        listener_closed_after >= Duration::from_millis(1800),
        "the listener closed after {} ms, before the 2 s drain delay\n{}",
        ms(listener_closed_after),
        service.describe()
    );
    assert!(
        service.try_exit().is_none(),
        "the process exited with a request in flight\n{}",
        service.describe()
    );

    slow.write_all(second_half.as_bytes())
        .expect("send the rest of the body");
    let response = read_response(&mut slow).unwrap_or_else(|e| {
        panic!(
            "the slow request got no response: {e}\n{}",
            service.describe()
        )
    });
    assert_eq!(
        response.status,
        201,
        "the request in flight completes: {response:?}\n{}",
        service.describe()
    );
    assert_eq!(response.json()["title"], "slow note");

    let status = service.expect_exit(EXIT_TIMEOUT);
    let exited_after = signalled.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "a clean drain exits 0\n{}",
        service.describe()
    );
    for message in ["SIGTERM received", "shutting down", "shutdown complete"] {
        assert!(
            service
                .find_log(|line| line["message"] == message)
                .is_some(),
            "the logs show `{message}`\n{}",
            service.describe()
        );
    }
    assert!(
        service
            .find_log(
                |line| line["span"]["request_id"] == request_id.as_str() && line["status"] == 201
            )
            .is_some(),
        "the slow request is logged with 201\n{}",
        service.describe()
    );
    let stored = psql_at(
        &db.url(),
        "SELECT count(*) FROM notes WHERE title = 'slow note'",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, "1", "the note is stored");
    progress(&format!(
        "[e2e] SIGTERM with a slow POST: /readyz 503 after {} ms, listener closed after {} ms, POST 201, exit 0 after {} ms",
        ms(not_ready_after),
        ms(listener_closed_after),
        ms(exited_after)
    ));
}

/// Check 7a: an idle keep-alive connection does not hold the process.
#[test]
fn idle_keep_alive_does_not_delay_exit() {
    let port = free_port();
    let mut service = Launch::new("serve (idle keep-alive)")
        .port(port)
        .database(&postgres_url())
        .spawn();
    service.wait_ready();

    let mut idle = connect(port).expect("connect");
    write!(idle, "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").expect("send a request");
    let response = read_response(&mut idle).expect("a response on the kept-alive connection");
    assert_eq!(response.status, 200, "{response:?}");
    assert_ne!(
        response.header("connection"),
        Some("close"),
        "the connection is kept alive: {response:?}"
    );
    thread::sleep(Duration::from_millis(200));
    assert!(
        still_open(&idle),
        "the idle connection is open before SIGTERM"
    );

    let signalled = Instant::now();
    service.terminate();
    let status = service.expect_exit(EXIT_TIMEOUT);
    let took = signalled.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "an idle connection is closed, not waited for: exit 0\n{}",
        service.describe()
    );
    assert!(
        took < Duration::from_secs(2),
        "SIGTERM->exit took {} ms with an idle keep-alive connection (drain delay 0, deadline 8 s)\n{}",
        ms(took),
        service.describe()
    );
    assert!(
        closed_by_peer(&mut idle, Duration::from_secs(1)),
        "the idle connection was closed by the service"
    );
    assert!(
        service
            .find_log(|line| line["message"] == "shutdown complete")
            .is_some(),
        "a clean drain logs `shutdown complete`\n{}",
        service.describe()
    );
    progress(&format!(
        "[e2e] idle keep-alive connection: SIGTERM->exit {} ms, exit 0, connection closed",
        ms(took)
    ));
}

/// Check 7b: a client stuck in the middle of its headers is cut at the deadline.
#[test]
fn stuck_client_cut_at_deadline() {
    let port = free_port();
    let mut service = Launch::new("serve (deadline 2 s)")
        .port(port)
        .database(&postgres_url())
        .setting("SHUTDOWN__TIMEOUT_SECS", 2)
        .spawn();
    service.wait_ready();

    let mut stuck = connect(port).expect("connect");
    write!(stuck, "GET / HTTP/1.1\r\nHost: x\r\n").expect("send half a head");
    thread::sleep(Duration::from_millis(300));
    assert!(
        still_open(&stuck),
        "the stuck connection is open before SIGTERM"
    );

    let signalled = Instant::now();
    service.terminate();
    let status = service.expect_exit(Duration::from_secs(6));
    let took = signalled.elapsed();
    assert!(
        !status.success(),
        "cut at the deadline: the exit is non-zero\n{}",
        service.describe()
    );
    assert!(
        took >= Duration::from_millis(1800) && took <= Duration::from_millis(3500),
        "SIGTERM->exit took {} ms; the deadline is 2 s\n{}",
        ms(took),
        service.describe()
    );
    let warning = service
        .find_log(|line| {
            line["level"] == "WARN"
                && line["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("deadline"))
        })
        .unwrap_or_else(|| panic!("a warning mentions the deadline\n{}", service.describe()));
    assert!(
        closed_by_peer(&mut stuck, Duration::from_secs(1)),
        "the stuck connection is closed"
    );
    progress(&format!(
        "[e2e] client stuck mid-headers: SIGTERM->exit {} ms (deadline 2 s), exit {:?}, logged {:?}",
        ms(took),
        status.code(),
        warning["message"].as_str().unwrap_or_default()
    ));
}

/// Check 8: `healthcheck` exits 0 only when `/readyz` on PORT answers 200.
#[test]
fn healthcheck_command() {
    let port = free_port();
    let mut service = Launch::new("serve (for healthcheck)")
        .port(port)
        .database(&postgres_url())
        .setting("SHUTDOWN__DRAIN_DELAY_SECS", 3)
        .spawn();
    service.wait_ready();

    let healthcheck = |port: u16, label: &str| {
        let started = Instant::now();
        let run = Launch::command(&format!("healthcheck ({label})"), "healthcheck")
            .port(port)
            .database(&postgres_url())
            .run();
        (run, started.elapsed())
    };

    let (ready, ready_took) = healthcheck(port, "ready");
    assert_eq!(
        ready.status.and_then(|s| s.code()),
        Some(0),
        "healthcheck against a ready service\n{}\n{}",
        ready.describe(),
        service.describe()
    );

    let nobody = free_port();
    let (absent, absent_took) = healthcheck(nobody, "nothing listening");
    assert!(
        absent.status.is_some_and(|s| !s.success()),
        "healthcheck with nothing on port {nobody} must fail\n{}",
        absent.describe()
    );
    assert!(
        absent.stderr().contains(&nobody.to_string()),
        "the message names the port\n{}",
        absent.describe()
    );

    // Draining: /readyz says 503, so the healthcheck fails too.
    service.terminate();
    service.wait_for_status("/readyz", 503, Duration::from_secs(1));
    let (draining, _) = healthcheck(port, "draining");
    assert!(
        draining.status.is_some_and(|s| !s.success()) && draining.stderr().contains("503"),
        "healthcheck while draining must fail with 503\n{}",
        draining.describe()
    );
    let status = service.expect_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", service.describe());
    progress(&format!(
        "[e2e] healthcheck: exit 0 against a ready service ({} ms); exit {:?} with nothing on the port ({} ms); exit {:?} while draining",
        ms(ready_took),
        absent.status.and_then(|s| s.code()),
        ms(absent_took),
        draining.status.and_then(|s| s.code())
    ));
}

/// Check 9: PostgreSQL goes away and comes back; readiness follows within a second,
/// liveness stays, no restart.
#[test]
fn database_outage_without_restart() {
    let upstream_url = PgUrl::parse(&postgres_url());
    let upstream = (upstream_url.host.as_str(), upstream_url.port)
        .to_socket_addrs()
        .expect("resolve the database host")
        .next()
        .expect("an address for the database host");
    let mut proxy = Proxy::start(upstream);
    let through_proxy = PgUrl {
        host: "127.0.0.1".to_owned(),
        port: proxy.port,
        ..upstream_url
    }
    .to_string();

    let port = free_port();
    let mut service = Launch::new("serve (behind the proxy)")
        .port(port)
        .database(&through_proxy)
        .spawn();
    let ready = service.wait_ready();
    assert!(
        proxy.accepted() > 0,
        "the service reaches PostgreSQL through the proxy"
    );
    let pid = service.child.id();

    // The probes while the database is away: /readyz 503 within 1 s, /livez 200.
    let probe_outage = |service: &Proc, phase: &str| {
        let (mut readyz_took, mut livez_took) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let started = Instant::now();
            let readyz = service.get("/readyz");
            let took = started.elapsed();
            assert_eq!(
                readyz.status,
                503,
                "{phase}: /readyz must fail: {readyz:?}\n{}",
                service.describe()
            );
            assert!(
                took < Duration::from_secs(1),
                "{phase}: /readyz took {} ms, more than 1 s\n{}",
                ms(took),
                service.describe()
            );
            assert_eq!(
                readyz.json()["checks"]["postgres:responseTime"][0]["status"],
                "fail",
                "{readyz:?}"
            );
            readyz_took.push(took);

            let started = Instant::now();
            let livez = service.get("/livez");
            livez_took.push(started.elapsed());
            assert_eq!(
                livez.status,
                200,
                "{phase}: /livez stays 200: {livez:?}\n{}",
                service.describe()
            );
            thread::sleep(Duration::from_millis(100));
        }
        progress(&format!(
            "[e2e] outage ({phase}): /readyz 503 in {}, /livez 200 in {}",
            list_ms(&readyz_took),
            list_ms(&livez_took)
        ));
    };

    proxy.close();
    probe_outage(&service, "connections cut, new ones refused");

    proxy.open(ProxyMode::Blackhole);
    probe_outage(&service, "connections accepted, never answered");

    proxy.close();
    proxy.open(ProxyMode::Forward);
    let back = service.wait_for_status("/readyz", 200, Duration::from_secs(10));
    assert!(
        back < Duration::from_secs(5),
        "/readyz took {} ms to recover\n{}",
        ms(back),
        service.describe()
    );
    assert!(
        service.try_exit().is_none() && service.child.id() == pid,
        "the same process is still serving"
    );
    assert!(
        service
            .find_log(|line| line["level"] == "WARN"
                && line["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("PostgreSQL")))
            .is_some(),
        "the failed checks are logged as warnings\n{}",
        service.describe()
    );
    let exit = service.stop_cleanly();
    progress(&format!(
        "[e2e] database outage: ready in {} ms at start; restore->/readyz 200 after {} ms without a restart; SIGTERM->exit {} ms",
        ms(ready),
        ms(back),
        ms(exit)
    ));
}

/// A password that looks like a number must reach PostgreSQL exactly as written.
///
/// Secrets are taken as text: figment would otherwise read `007` as the number 7 and `1.50` as
/// 1.5, and the database would refuse the password.
#[test]
fn numeric_looking_password_used_verbatim() {
    for password in ["007", "1.50"] {
        let db = TempDb::with_role(password);
        let port = free_port();
        let mut service = Launch::new(&format!("serve (password {password})"))
            .port(port)
            .database(&db.url())
            .setting("DATABASE__PASSWORD", password)
            .spawn();
        service.wait_for_status("/readyz", 200, Duration::from_secs(10));
        service.stop_cleanly();
    }
}
