//! A real Prometheus server on loopback for one test ([`Prometheus`]): it scrapes the targets it
//! is given every second and answers PromQL over its HTTP API. Also `promtool check metrics`
//! on an exposition ([`promtool_check_metrics`]). Both binaries come from Debian's
//! `prometheus` package, which .ci/run installs.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::command::KillOnDrop;
use crate::files::new_temp_dir;
use crate::http;
use crate::ports::free_port;
use crate::report::{ms, progress};
use crate::wait::poll_until;

/// Longest wait for a started server to answer `/-/ready` with 200.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the server scrapes each target (and evaluates anything).
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

const INSTALL_HINT: &str = "Debian's `prometheus` package provides it: \
    `apt-get install -y prometheus`, or run `bash .ci/run`, which installs it with apt";

/// One scrape target: Prometheus fetches `http://<addr><metrics_path>` as job `job`.
#[derive(Clone, Debug)]
pub struct Target {
    pub job: String,
    pub addr: SocketAddr,
    /// The path of the exposition, e.g. `/metrics`.
    pub metrics_path: String,
}

impl Target {
    pub fn new(job: &str, addr: SocketAddr, metrics_path: &str) -> Self {
        Self {
            job: job.to_owned(),
            addr,
            metrics_path: metrics_path.to_owned(),
        }
    }
}

/// One series of a query's answer: its labels (`__name__` included when the query keeps it)
/// and its value at the query's time.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub metric: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.metric.get(name).map(String::as_str)
    }
}

/// A Prometheus server of the test's own on `127.0.0.1:<port>`, storing into a temporary
/// folder; killed when dropped. Its log (stderr) goes to a file in that folder, shown by
/// [`Prometheus::describe`].
pub struct Prometheus {
    pub port: u16,
    child: KillOnDrop,
    log: PathBuf,
    config: String,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts a server scraping `targets` (`(job, address, metrics path)`) every second and
    /// waits until it is ready. Fails the test, saying how to install it, when the binary is
    /// missing. The first scrape comes about 5 s after the start (Prometheus hands discovered
    /// targets to its scraper every 5 s), so waits need a timeout well above that;
    /// `wait_for_value("up{job=\"<job>\"}", 1.0, ...)` waits for a first good scrape.
    pub fn start(targets: &[(&str, SocketAddr, &str)]) -> Self {
        let targets: Vec<Target> = targets
            .iter()
            .map(|(job, addr, path)| Target::new(job, *addr, path))
            .collect();
        Self::start_targets(&targets)
    }

    /// [`Prometheus::start`] with [`Target`]s.
    pub fn start_targets(targets: &[Target]) -> Self {
        let dir = new_temp_dir("prometheus-");
        let config = config_yaml(targets);
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, &config).expect("write prometheus.yml");
        let log = dir.path().join("prometheus.log");
        let log_file = File::create(&log).expect("create the Prometheus log file");
        let port = free_port();
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                log_file.try_clone().expect("clone the log file handle"),
            ))
            .stderr(Stdio::from(log_file));
        let child = match cmd.spawn() {
            Ok(child) => KillOnDrop(child),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                panic!("the `prometheus` binary is not on PATH ({e}). {INSTALL_HINT}.")
            }
            Err(e) => panic!("could not start {cmd:?}: {e}"),
        };
        let mut server = Self {
            port,
            child,
            log,
            config,
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let mut last = String::new();
        let mut exited = None;
        let took = poll_until(READY_TIMEOUT, Duration::from_millis(50), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                exited = Some(status);
                return true;
            }
            match http::request(self.port, "GET", "/-/ready", &[], None) {
                Ok(response) if response.status == 200 => return true,
                Ok(response) => last = format!("{} {}", response.status, response.body.trim()),
                Err(error) => last = error,
            }
            false
        });
        if let Some(status) = exited {
            panic!(
                "Prometheus exited ({status}) before it was ready\n{}",
                self.describe()
            );
        }
        let took = took.unwrap_or_else(|| {
            panic!(
                "Prometheus did not answer /-/ready with 200 within {} s (last: {last})\n{}",
                READY_TIMEOUT.as_secs(),
                self.describe()
            )
        });
        progress(&format!(
            "[prometheus] ready on port {} after {} ms",
            self.port,
            ms(took)
        ));
    }

    /// `http://127.0.0.1:<port>`, for a person reading a failure.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The config, the scrape targets' health and the log, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "Prometheus on port {} (pid {})\n--- prometheus.yml ---\n{}--- targets ---\n{}\n\
             --- log ---\n{}",
            self.port,
            self.child.id(),
            self.config,
            self.targets_health(),
            self.log()
        )
    }

    /// One line per scrape target: job, URL, health and the last scrape error
    /// (`GET /api/v1/targets`).
    pub fn targets_health(&self) -> String {
        let response = match http::request(self.port, "GET", "/api/v1/targets", &[], None) {
            Ok(response) => response,
            Err(error) => return format!("(no answer: {error})"),
        };
        let Ok(body) = serde_json::from_str::<Value>(&response.body) else {
            return format!("(not JSON: {} {})", response.status, response.body);
        };
        let targets = body["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if targets.is_empty() {
            return "(no active targets)".to_owned();
        }
        targets
            .iter()
            .map(|t| {
                format!(
                    "{} {} health={} last_error={:?}",
                    t["labels"]["job"].as_str().unwrap_or("?"),
                    t["scrapeUrl"].as_str().unwrap_or("?"),
                    t["health"].as_str().unwrap_or("?"),
                    t["lastError"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// An instant query (`GET /api/v1/query`): every series of the answer, or what went
    /// wrong (no answer, a status other than 200, a PromQL error).
    pub fn try_query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        let response = http::request(self.port, "GET", &path, &[], None)?;
        let body: Value = serde_json::from_str(&response.body).map_err(|e| {
            format!(
                "answer is not JSON ({e}): {} {}",
                response.status, response.body
            )
        })?;
        if response.status != 200 || body["status"] != "success" {
            return Err(format!(
                "query {promql:?} failed: {} {}",
                response.status, response.body
            ));
        }
        parse_result(&body["data"]).map_err(|e| format!("query {promql:?}: {e}: {}", response.body))
    }

    /// [`Prometheus::try_query`], failing the test on an error.
    pub fn query(&self, promql: &str) -> Vec<Sample> {
        self.try_query(promql)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.describe()))
    }

    /// Queries `promql` every 200 ms until `done` holds for its answer; fails the test after
    /// `timeout`, showing the last answer, the targets' health and the log.
    pub fn wait_for(
        &self,
        promql: &str,
        done: impl Fn(&[Sample]) -> bool,
        timeout: Duration,
    ) -> Vec<Sample> {
        let mut last = Err("never queried".to_owned());
        let took = poll_until(timeout, Duration::from_millis(200), || {
            last = self.try_query(promql);
            last.as_deref().is_ok_and(&done)
        });
        match (took, last) {
            (Some(took), Ok(samples)) => {
                progress(&format!(
                    "[prometheus] {promql} as expected after {} ms",
                    ms(took)
                ));
                samples
            }
            (_, last) => panic!(
                "query {promql:?} did not give the expected answer within {} s\nlast answer: \
                 {last:?}\n{}",
                timeout.as_secs(),
                self.describe()
            ),
        }
    }

    /// Waits until some series of `promql`'s answer has the value `value`; returns the answer.
    pub fn wait_for_value(&self, promql: &str, value: f64, timeout: Duration) -> Vec<Sample> {
        self.wait_for(
            promql,
            |samples| samples.iter().any(|s| same_value(s.value, value)),
            timeout,
        )
    }
}

/// Equal, or both NaN; close enough for sums of small floats.
fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// prometheus.yml: a one-second scrape (and timeout) for every target. Strings are written as
/// JSON strings, which YAML reads as double-quoted scalars.
fn config_yaml(targets: &[Target]) -> String {
    let quote = |s: &str| Value::from(s).to_string();
    let mut yaml = format!(
        "global:\n  scrape_interval: {0}s\n  scrape_timeout: {0}s\n  evaluation_interval: {0}s\n\
         scrape_configs:\n",
        SCRAPE_INTERVAL.as_secs()
    );
    if targets.is_empty() {
        yaml.push_str("  []\n");
    }
    for target in targets {
        yaml.push_str(&format!(
            "  - job_name: {}\n    metrics_path: {}\n    static_configs:\n      - targets: [{}]\n",
            quote(&target.job),
            quote(&target.metrics_path),
            quote(&target.addr.to_string())
        ));
    }
    yaml
}

/// `data` of a query answer: a vector (one sample per series) or a scalar (one sample, no
/// labels). A value is a string (`"1"`, `"NaN"`, `"+Inf"`).
fn parse_result(data: &Value) -> Result<Vec<Sample>, String> {
    let value_of = |pair: &Value| -> Result<f64, String> {
        let text = pair[1]
            .as_str()
            .ok_or_else(|| format!("value is not [time, \"number\"]: {pair}"))?;
        text.parse()
            .map_err(|_| format!("value {text:?} is not a number"))
    };
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .ok_or("`result` is not a list")?
            .iter()
            .map(|series| {
                let metric = series["metric"]
                    .as_object()
                    .map(|labels| {
                        labels
                            .iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Sample {
                    metric,
                    value: value_of(&series["value"])?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![Sample {
            metric: BTreeMap::new(),
            value: value_of(&data["result"])?,
        }]),
        other => Err(format!(
            "result type {other:?} is not handled (an instant query gives a vector or a scalar)"
        )),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a query string.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// What `promtool check metrics` said about an exposition it did not accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromtoolFailure {
    /// 1 when the text does not parse, 3 when it parses but breaks a lint rule (a counter
    /// without `_total`, a metric without HELP); `None` when killed by a signal.
    pub exit_code: Option<i32>,
    /// stdout and stderr together: one line per problem.
    pub output: String,
}

impl PromtoolFailure {
    /// Whether the text parsed and only lint rules failed (exit code 3).
    pub fn lint_only(&self) -> bool {
        self.exit_code == Some(3)
    }
}

impl fmt::Display for PromtoolFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self
            .exit_code
            .map_or_else(|| "by signal".to_owned(), |c| c.to_string());
        write!(
            f,
            "promtool check metrics: exit {code}\n{}",
            self.output.trim_end()
        )
    }
}

/// Pipes `exposition` (Prometheus text format) to `promtool check metrics`. Ok when promtool
/// exits 0; otherwise its exit code and output. Fails the test when promtool is missing.
pub fn promtool_check_metrics(exposition: &str) -> Result<(), PromtoolFailure> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            if e.kind() == ErrorKind::NotFound {
                panic!("the `promtool` binary is not on PATH ({e}). {INSTALL_HINT}.")
            }
            panic!("could not start promtool: {e}")
        });
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written from a thread of its own: promtool may answer before it has read everything.
    let text = exposition.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(text.as_bytes());
    });
    let output = child.wait_with_output().expect("wait for promtool");
    let _ = writer.join();
    if output.status.success() {
        return Ok(());
    }
    Err(PromtoolFailure {
        exit_code: output.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    #[test]
    fn promtool_accepts_a_valid_exposition_and_rejects_garbage() {
        let valid = "# HELP demo_requests_total Requests served.\n\
                     # TYPE demo_requests_total counter\n\
                     demo_requests_total{route=\"/x\"} 3\n";
        promtool_check_metrics(valid).unwrap_or_else(|e| panic!("valid exposition: {e}"));

        let garbage = promtool_check_metrics("this is { not metrics\n")
            .expect_err("garbage must be rejected");
        assert_eq!(garbage.exit_code, Some(1), "{garbage}");
        assert!(!garbage.lint_only(), "{garbage}");

        let lint = promtool_check_metrics("# HELP demo A counter.\n# TYPE demo counter\ndemo 1\n")
            .expect_err("a counter without _total must fail the lint");
        assert!(lint.lint_only(), "{lint}");
        assert!(lint.output.contains("_total"), "{lint}");
    }

    #[test]
    fn url_encode_keeps_unreserved_characters_only() {
        assert_eq!(
            url_encode(r#"sum(x{a="b c"})"#),
            "sum%28x%7Ba%3D%22b%20c%22%7D%29"
        );
        assert_eq!(url_encode("a-b_c.d~9"), "a-b_c.d~9");
    }

    /// A real server scrapes a one-line exposition and answers a query on it.
    #[test]
    fn prometheus_scrapes_a_target_and_answers_a_query() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let body = "# HELP demo_up_total Demo.\n# TYPE demo_up_total counter\n\
                            demo_up_total{kind=\"a\"} 7\n";
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        let prometheus = Prometheus::start(&[("demo", addr, "/metrics")]);
        let samples =
            prometheus.wait_for_value("demo_up_total{job=\"demo\"}", 7.0, Duration::from_secs(20));
        assert_eq!(samples.len(), 1, "{samples:?}");
        assert_eq!(samples[0].label("kind"), Some("a"), "{samples:?}");
        assert_eq!(prometheus.query("scalar(sum(demo_up_total))")[0].value, 7.0);
        assert!(prometheus.query("absent_metric_here").is_empty());
        assert!(prometheus.try_query("sum(").is_err());
    }
}
