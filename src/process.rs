//! Running a rendered service's binary as a real process: set up its environment and command
//! ([`Launch`]), watch what it prints, talk HTTP to it, signal it and wait for its exit
//! ([`Proc`]).

use std::io::{BufRead, BufReader, PipeWriter, Read};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::command::KillOnDrop;
use crate::files::new_temp_dir;
use crate::http::{self, Response};
use crate::ports::{accepts_connections, free_port};
use crate::postgres::TempDb;
use crate::report::{ms, progress};
use crate::wait::poll_until;

/// Longest wait for `/readyz` to answer 200 after a start (the first start connects to
/// PostgreSQL).
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a one-off command (`config`, `migrate`, `healthcheck`) may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a process stopped by bad config may take to exit.
pub const PROMPT_EXIT: Duration = Duration::from_secs(5);
/// Longest a service may take to exit after SIGTERM when nothing holds it.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends SIGTERM to `pid`, as an orchestrator or `docker stop` does; whether `kill` succeeded.
pub fn sigterm(pid: u32) -> bool {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill")
        .success()
}

/// Whether `text` holds `key` as a whole word (not inside a longer name): `port` in
/// `invalid configuration: port: ...` but not in `E2E_SERVICE_PORT` or `import`.
pub fn names_key(text: &str, key: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    text.match_indices(key).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + key.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// A built service binary under test.
#[derive(Clone, Debug)]
pub struct Service {
    pub bin: PathBuf,
    /// Prefix of its variables, e.g. `E2E_SERVICE_`.
    pub env_prefix: String,
    /// The test binary's name for progress lines and temporary folders, e.g. `e2e`.
    pub tag: &'static str,
    /// Whether it has the metrics slice: [`Service::launch`] then gives `/metrics` a free port.
    pub metrics: bool,
}

impl Service {
    /// `<prefix><key>`, e.g. `E2E_SERVICE_SHUTDOWN__DRAIN_DELAY_SECS`.
    pub fn prefixed(&self, key: &str) -> String {
        format!("{}{key}", self.env_prefix)
    }

    /// A run of `serve` (the default command), on loopback only: nothing outside this machine
    /// reaches the test services. With the metrics slice, `/metrics` gets a free port of its
    /// own, so parallel runs do not compete for the default (a service without the slice
    /// refuses the setting). Traces are off unless a test names a collector
    /// (`OTEL_TRACES_EXPORTER=otlp` with `OTEL_EXPORTER_OTLP_ENDPOINT`): nothing else listens
    /// for them here.
    pub fn launch(&self, label: &str) -> Launch {
        let host = self.prefixed("HOST");
        let launch = self
            .launch_exactly(label)
            .env(&host, "127.0.0.1")
            .env("OTEL_TRACES_EXPORTER", "none");
        if self.metrics {
            launch.setting("METRICS__PORT", free_port())
        } else {
            launch
        }
    }

    /// A run with nothing in its environment but what the caller adds (not even the loopback
    /// host [`Service::launch`] sets): a container as a manifest declares it.
    pub fn launch_exactly(&self, label: &str) -> Launch {
        Launch {
            service: self.clone(),
            label: label.to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            port: 0,
            stdout: None,
        }
    }

    /// `serve` on a free port against `db_url`, with `<prefix><key>=<value>` for each of
    /// `settings`, waited for until ready.
    pub fn serve(&self, label: &str, db_url: &str, settings: &[(&str, &str)]) -> Proc {
        let mut launch = self.launch(label).port(free_port()).database(db_url);
        for (key, value) in settings {
            launch = launch.setting(key, value);
        }
        let mut service = launch.spawn();
        service.wait_ready();
        service
    }

    /// A run of `config`, `migrate` or `healthcheck`.
    pub fn command(&self, label: &str, command: &str) -> Launch {
        let mut launch = self.launch(label);
        launch.args.push(command.to_owned());
        launch
    }

    /// A database of the test's own (`<tag>_<random>`, owned by DATABASE_URL's role) with the
    /// schema applied by a `migrate` run: `/readyz` fails while migrations are missing.
    pub fn migrated_db(&self) -> TempDb {
        let db = TempDb::new(self.tag);
        let migrate = self.command("migrate", "migrate").database(&db.url()).run();
        migrate.assert_exit_code(0, "`migrate` must succeed on a fresh database");
        db
    }
}

/// One run of the service binary, being set up. The environment starts empty (the test's own
/// DATABASE_URL or PORT must not leak in) and the working folder is a fresh temporary one, so
/// no `.env` is read.
pub struct Launch {
    service: Service,
    pub label: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    pub port: u16,
    stdout: Option<PipeWriter>,
}

impl Launch {
    /// One more command-line argument (`--ready`).
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// More command-line arguments.
    pub fn args(mut self, args: impl IntoIterator<Item = impl ToString>) -> Self {
        self.args
            .extend(args.into_iter().map(|arg| arg.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.push((key.to_owned(), value.to_string()));
        self
    }

    /// More variables.
    pub fn envs(mut self, env: impl IntoIterator<Item = (impl ToString, impl ToString)>) -> Self {
        self.env
            .extend(env.into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// `<prefix><key>=<value>`.
    pub fn setting(self, key: &str, value: impl ToString) -> Self {
        let key = self.service.prefixed(key);
        self.env(&key, value)
    }

    /// The platform's `PORT`, which is also the port the test talks to.
    pub fn port(self, port: u16) -> Self {
        self.env("PORT", port).expect_port(port)
    }

    /// The port the test talks to, when another layer sets it.
    pub fn expect_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn database(self, url: &str) -> Self {
        self.env("DATABASE_URL", url)
    }

    /// Stdout into `pipe`, which the test reads when it chooses (a log collector that falls
    /// behind), instead of into [`Proc::stdout`].
    pub fn stdout_to(mut self, pipe: PipeWriter) -> Self {
        self.stdout = Some(pipe);
        self
    }

    pub fn spawn(self) -> Proc {
        let workdir = new_temp_dir(&format!("{}-workdir-", self.service.tag));
        let mut cmd = Command::new(&self.service.bin);
        cmd.args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(workdir.path())
            .stdin(Stdio::null())
            .stdout(self.stdout.map_or_else(Stdio::piped, Stdio::from))
            .stderr(Stdio::piped());
        let mut child = KillOnDrop(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}")),
        );
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = vec![collect_lines(
            child.stderr.take().expect("piped stderr"),
            stderr.clone(),
        )];
        if let Some(pipe) = child.stdout.take() {
            readers.push(collect_lines(pipe, stdout.clone()));
        }
        Proc {
            label: self.label,
            tag: self.service.tag,
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
    pub fn run(self) -> Proc {
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
pub struct Proc {
    pub label: String,
    tag: &'static str,
    pub port: u16,
    pub child: KillOnDrop,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    pub status: Option<ExitStatus>,
    _workdir: TempDir,
}

impl Proc {
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Everything the process printed, for assertion messages.
    pub fn describe(&self) -> String {
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

    pub fn try_exit(&mut self) -> Option<ExitStatus> {
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

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        poll_until(timeout, Duration::from_millis(5), || {
            self.try_exit().is_some()
        })?;
        self.status
    }

    pub fn expect_exit(&mut self, timeout: Duration) -> ExitStatus {
        self.wait_exit(timeout).unwrap_or_else(|| {
            panic!(
                "still running {} s after it should have exited\n{}",
                timeout.as_secs(),
                self.describe()
            )
        })
    }

    /// Sends SIGTERM, as an orchestrator or `docker stop` does.
    pub fn terminate(&self) {
        assert!(
            sigterm(self.child.id()),
            "kill -TERM failed\n{}",
            self.describe()
        );
    }

    /// SIGTERM, then up to `timeout` for the exit: its status (`None` while still running)
    /// and how long after the signal it came.
    pub fn terminate_and_wait(&mut self, timeout: Duration) -> (Option<ExitStatus>, Duration) {
        let signalled = Instant::now();
        self.terminate();
        let status = self.wait_exit(timeout);
        (status, signalled.elapsed())
    }

    /// SIGTERM, then the exit within `timeout` (failing the test otherwise): its status and
    /// how long after the signal it came.
    pub fn terminate_and_expect_exit(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let signalled = Instant::now();
        self.terminate();
        let status = self.expect_exit(timeout);
        (status, signalled.elapsed())
    }

    /// SIGTERM, then exit code 0 within [`EXIT_TIMEOUT`]. Returns how long the exit took.
    pub fn stop_cleanly(&mut self) -> Duration {
        let (status, took) = self.terminate_and_expect_exit(EXIT_TIMEOUT);
        assert_eq!(
            status.code(),
            Some(0),
            "SIGTERM with nothing in flight must end in exit code 0\n{}",
            self.describe()
        );
        took
    }

    /// Every stdout line parsed as JSON; fails the test on a line that is not a JSON object.
    pub fn logs(&self) -> Vec<Value> {
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

    pub fn find_log(&self, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        self.logs().into_iter().find(|line| wanted(line))
    }

    /// Whether a log line with this `message` was printed.
    pub fn logged(&self, message: &str) -> bool {
        self.find_log(|line| line["message"] == message).is_some()
    }

    /// The first WARN line whose message mentions `text`.
    pub fn warning_about(&self, text: &str) -> Option<Value> {
        self.find_log(|line| {
            line["level"] == "WARN"
                && line["message"]
                    .as_str()
                    .is_some_and(|message| message.contains(text))
        })
    }

    /// How many request log lines are about the probes (`/livez`, `/readyz`), which are not
    /// request-logged.
    pub fn probe_log_lines(&self) -> usize {
        self.logs()
            .iter()
            .filter(|line| {
                let path = &line["span"]["path"];
                path == "/livez" || path == "/readyz"
            })
            .count()
    }

    /// The request log line (the one with the status) of the request sent with
    /// `x-request-id: <request_id>`, waiting up to 5 s for it.
    pub fn wait_for_request_log(&mut self, request_id: &str) -> Value {
        self.wait_for_log(&format!("with span.request_id {request_id}"), |line| {
            line["span"]["request_id"] == request_id && line.get("status").is_some()
        })
    }

    /// The first log line matching `wanted`, waiting up to 5 s for it.
    pub fn wait_for_log(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let mut found = None;
        poll_until(Duration::from_secs(5), Duration::from_millis(20), || {
            found = self.find_log(&wanted);
            found.is_some()
        });
        found.unwrap_or_else(|| panic!("no log line {what} within 5 s\n{}", self.describe()))
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        http::request(self.port, method, path, headers, body).unwrap_or_else(|e| {
            panic!(
                "{method} {path} on port {} failed: {e}\n{}",
                self.port,
                self.describe()
            )
        })
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], None)
    }

    pub fn post_json(&self, path: &str, body: &str) -> Response {
        self.request("POST", path, &[], Some(body))
    }

    /// Polls `path` until it answers `status`; fails if the process exits or `timeout` passes.
    /// Returns how long it took.
    pub fn wait_for_status(&mut self, path: &str, status: u16, timeout: Duration) -> Duration {
        let mut last = String::new();
        let mut exited = None;
        let took = poll_until(timeout, Duration::from_millis(50), || {
            exited = self.try_exit();
            if exited.is_some() {
                return true;
            }
            match http::request(self.port, "GET", path, &[], None) {
                Ok(response) if response.status == status => return true,
                Ok(response) => last = format!("{} {}", response.status, response.body),
                Err(error) => last = error,
            }
            false
        });
        if let Some(exit) = exited {
            panic!(
                "exited ({exit}) while waiting for {path} to answer {status}\n{}",
                self.describe()
            );
        }
        took.unwrap_or_else(|| {
            panic!(
                "{path} did not answer {status} within {} s (last: {last})\n{}",
                timeout.as_secs(),
                self.describe()
            )
        })
    }

    pub fn wait_ready(&mut self) -> Duration {
        self.wait_for_status("/readyz", 200, READY_TIMEOUT)
    }

    /// Fails unless the process exited with `code`; `why` says what that code means here.
    pub fn assert_exit_code(&self, code: i32, why: &str) {
        assert_eq!(
            self.status.and_then(|s| s.code()),
            Some(code),
            "{why}\n{}",
            self.describe()
        );
    }

    /// Fails unless neither stream holds `secret`.
    pub fn assert_never_printed(&self, secret: &str, what: &str) {
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
pub fn assert_stops_before_binding(launch: Launch, key: &str) -> Proc {
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
        "[{}] {}: exit {} after {} ms, stderr names `{key}`, port {port} never bound",
        proc.tag,
        proc.label,
        status.code().map_or("by signal".into(), |c| c.to_string()),
        ms(took)
    ));
    proc
}
