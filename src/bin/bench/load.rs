//! What the benchmarks share: release builds, wrk, process figures.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use template_harness::command::KillOnDrop;
use template_harness::http;
use template_harness::ports::free_port;
use template_harness::process::sigterm;

pub const LOAD: &str = "10s";
pub const CONNECTIONS: &str = "64";

/// `date +%F`, and this machine's core count, for the line above a table.
pub fn measured_on() -> String {
    let date = Command::new("date")
        .arg("+%F")
        .output()
        .expect("date")
        .stdout;
    format!(
        "Measured {} on this machine ({} cores)",
        String::from_utf8_lossy(&date).trim(),
        thread::available_parallelism().map_or(0, |n| n.get())
    )
}

/// `cargo build --release` in `dir` into `target`, with a `--config` for each of `config`
/// (profile overrides such as `profile.release.lto=false`). Returns how long it took.
pub fn release_build(dir: &Path, target: &Path, config: &[String]) -> Duration {
    let started = Instant::now();
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .args(config.iter().flat_map(|value| ["--config", value.as_str()]))
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build --release in {} failed",
        dir.display()
    );
    started.elapsed()
}

/// Appends a comment to `file`, as an edit would, so the next build compiles its crate again.
pub fn touch_source(file: &Path) {
    let mut text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    text.push_str("// changed by the benchmark to time a rebuild\n");
    std::fs::write(file, text).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// The size of `bin` once stripped of its symbols (`strip` on a copy): the size a release
/// profile with `strip = true` ships.
pub fn stripped_size(bin: &Path) -> u64 {
    let copy = PathBuf::from(format!("{}.stripped", bin.display()));
    let status = Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(bin)
        .status()
        .expect("run strip (binutils)");
    assert!(status.success(), "strip {} failed", bin.display());
    let size = std::fs::metadata(&copy).expect("stripped copy").len();
    std::fs::remove_file(&copy).ok();
    size
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A server binary and how to start it on a port.
pub struct Server {
    pub label: &'static str,
    pub bin: PathBuf,
    /// Variables besides `PORT`.
    pub env: Vec<(String, String)>,
    /// Where stdout goes: a file, as a container runtime's log driver writes one.
    pub stdout: PathBuf,
}

/// A started [`Server`].
pub struct Running {
    pub child: KillOnDrop,
    pub port: u16,
    /// From spawn to the first 200 on `/livez`.
    pub started_in: Duration,
}

impl Server {
    /// Starts the server on a free port and times it to its first 200 on `/livez`, asking every
    /// 200 µs.
    pub fn start(&self) -> Running {
        let port = free_port();
        let stdout = File::create(&self.stdout).expect("create the stdout file");
        let spawned = Instant::now();
        let child = Command::new(&self.bin)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.bin.display()));
        let mut child = KillOnDrop(child);
        loop {
            if http::request(port, "GET", "/livez", &[], None).is_ok_and(|r| r.status == 200) {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited with {status} before answering", self.label);
            }
            assert!(
                spawned.elapsed() < Duration::from_secs(30),
                "{} did not answer /livez within 30 s",
                self.label
            );
            thread::sleep(Duration::from_micros(200));
        }
        Running {
            started_in: spawned.elapsed(),
            port,
            child,
        }
    }
}

impl Running {
    /// Resident memory now, from /proc.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status");
        kib * 1024
    }

    /// CPU time the process has used so far (user and system), from /proc.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("read /proc/<pid>/stat");
        // Fields after the command name, which ends with the last `)`: utime and stime are the
        // 12th and 13th, in clock ticks.
        let after_name = &stat[stat.rfind(')').expect("a command name") + 2..];
        let fields: Vec<u64> = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|field| field.parse().expect("a tick count"))
            .collect();
        Duration::from_secs_f64((fields[0] + fields[1]) as f64 / clock_ticks_per_second())
    }

    /// `wrk` on `path`, with the server's CPU time per request over the load.
    pub fn load(&self, path: &str) -> Wrk {
        let before = self.cpu_time();
        let mut figures = wrk(self.port, path);
        let used = self.cpu_time() - before;
        figures.cpu_us_per_request = used.as_secs_f64() * 1e6 / figures.requests as f64;
        figures
    }

    /// SIGTERM, and the exit waited for.
    pub fn stop(mut self) {
        sigterm(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        panic!("the server did not exit within 30 s of SIGTERM");
    }
}

fn clock_ticks_per_second() -> f64 {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("run getconf CLK_TCK");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

/// One wrk run's figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wrk {
    pub rps: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// The server's CPU time (user and system) per request, when measured by [`Running::load`].
    pub cpu_us_per_request: f64,
}

/// `wrk -t2 -c64 -d10s --latency` on `path`.
pub fn wrk(port: u16, path: &str) -> Wrk {
    let output = Command::new("wrk")
        .args(["-t2", "-c", CONNECTIONS, "-d", LOAD, "--latency"])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("run wrk (apt-get install wrk; .ci/run installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        !text.contains("Non-2xx"),
        "wrk got error responses from {path}:\n{text}"
    );
    Wrk {
        rps: requests_per_second(&text),
        p99_ms: p99_ms(&text),
        requests: requests(&text),
        cpu_us_per_request: 0.0,
    }
}

/// The round with the most requests per second.
pub fn best(rounds: &[Wrk]) -> Wrk {
    rounds
        .iter()
        .copied()
        .fold(Wrk::default(), |a, b| if b.rps > a.rps { b } else { a })
}

pub fn median<T: PartialOrd + Copy>(values: &[T]) -> T {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    sorted[sorted.len() / 2]
}

/// `N requests in 10.00s, ...`
fn requests(wrk: &str) -> u64 {
    wrk.lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(count, _)| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{wrk}"))
}

fn requests_per_second(wrk: &str) -> f64 {
    wrk.lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{wrk}"))
}

fn p99_ms(wrk: &str) -> f64 {
    let value = wrk
        .lines()
        .find_map(|line| line.trim().strip_prefix("99%"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no 99% latency in wrk's output:\n{wrk}"));
    let (number, unit) = value.split_at(
        value
            .find(|c: char| c.is_alphabetic())
            .unwrap_or(value.len()),
    );
    let number: f64 = number.parse().unwrap_or_else(|_| panic!("latency {value}"));
    match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        _ => panic!("latency unit {unit} in {value}"),
    }
}
