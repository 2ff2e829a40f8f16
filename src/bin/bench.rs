//! What the observability slices cost, measured on demand (not part of `cargo test`):
//!
//! ```text
//! cargo run --release --locked --bin bench
//! ```
//!
//! Renders the all-on service twice, with `metrics` and `otel` on and with both off, and builds
//! each in release from a clean target folder (timed). Then, against PostgreSQL (DATABASE_URL),
//! it serves each in turn, interleaved over several rounds, and loads `GET /notes/{id}` (an API
//! route with a query and the INFO request log) with `wrk`. The observed service sends its
//! spans to a real OTLP receiver and has its `/metrics` scraped every second, as in production.
//! Prints a markdown table: requests per second and p99 latency, best round of each, and the
//! ratio between the two.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use template_harness::combos::Combo;
use template_harness::files::new_temp_dir;
use template_harness::http;
use template_harness::otlp::{Behaviour, OtlpReceiver};
use template_harness::process::{Proc, Service, free_port};
use template_harness::render::render_combo;

const ROUNDS: usize = 3;
const LOAD: &str = "10s";
const CONNECTIONS: &str = "64";

/// One variant under test.
struct Variant {
    label: &'static str,
    service: Service,
    build: Duration,
    observed: bool,
}

fn main() {
    let target = new_temp_dir("bench-target-");
    let variants = [
        variant("metrics and otel off", &["metrics", "otel"], target.path()),
        variant("metrics and otel on", &[], target.path()),
    ];
    let receiver = OtlpReceiver::start(Behaviour::Answer);
    let mut results: Vec<Vec<(f64, f64)>> = vec![Vec::new(); variants.len()];
    for round in 1..=ROUNDS {
        for (index, variant) in variants.iter().enumerate() {
            let figures = measure(variant, &receiver.endpoint());
            eprintln!(
                "round {round}, {}: {:.0} req/s, p99 {:.2} ms",
                variant.label, figures.0, figures.1
            );
            results[index].push(figures);
        }
    }
    let best: Vec<(f64, f64)> = results
        .iter()
        .map(|rounds| {
            let rps = rounds.iter().map(|r| r.0).fold(0.0, f64::max);
            let p99 = rounds.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
            (rps, p99)
        })
        .collect();
    let date = Command::new("date")
        .arg("+%F")
        .output()
        .expect("date")
        .stdout;
    println!(
        "\nMeasured {} on this machine ({} cores), wrk -t2 -c{CONNECTIONS} -d{LOAD}, best of {ROUNDS} interleaved rounds, GET /notes/{{id}} with the request log at INFO:\n",
        String::from_utf8_lossy(&date).trim(),
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| render | clean release build | req/s | p99 |");
    println!("|---|---|---|---|");
    for (variant, (rps, p99)) in variants.iter().zip(&best) {
        println!(
            "| {} | {} s | {rps:.0} | {p99:.2} ms |",
            variant.label,
            variant.build.as_secs()
        );
    }
    let (off, on) = (best[0], best[1]);
    println!(
        "| ratio (on / off) | {:.2}x | {:.2} | {:.2} |",
        variants[1].build.as_secs_f64() / variants[0].build.as_secs_f64(),
        on.0 / off.0,
        on.1 / off.1
    );
    println!(
        "\nThroughput cost of both slices: {:.1}% (goal: at most 15%). Spans received: {}.",
        (1.0 - on.0 / off.0) * 100.0,
        receiver.spans().len()
    );
}

/// Renders the all-on service with `off` switched off and builds it in release from an empty
/// target folder of its own.
fn variant(label: &'static str, off: &[&str], targets: &Path) -> Variant {
    let name = if off.is_empty() {
        "bench-observed"
    } else {
        "bench-plain"
    };
    let render = render_combo(name, Combo::all_on_but(off));
    let target = targets.join(name);
    eprintln!("building {label} ({name}) in release ...");
    let started = Instant::now();
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .current_dir(&render.dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --release of {name} failed");
    let build = started.elapsed();
    let bin: PathBuf = target.join("release").join(name);
    // The render's folder goes with `render`; the binary stays in the target folder.
    Variant {
        label,
        service: Service {
            bin,
            env_prefix: format!("{}_", name.to_uppercase().replace('-', "_")),
            tag: "bench",
            metrics: off.is_empty(),
        },
        build,
        observed: off.is_empty(),
    }
}

/// Serves `variant` on a migrated database of its own with one note, loads it, and returns
/// (requests per second, p99 in ms).
fn measure(variant: &Variant, otlp_endpoint: &str) -> (f64, f64) {
    let db = variant.service.migrated_db();
    let port = free_port();
    let metrics_port = free_port();
    let mut launch = variant
        .service
        .launch(variant.label)
        .port(port)
        .database(&db.url())
        .env("RUST_LOG", "info");
    if variant.observed {
        launch = launch
            .setting("METRICS__PORT", metrics_port)
            .env("OTEL_TRACES_EXPORTER", "otlp")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint);
    }
    let mut service: Proc = launch.spawn();
    service.wait_ready();
    let created = service.post_json("/notes", r#"{"title":"benchmark"}"#);
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("note id").to_owned();
    let scraping = variant.observed.then(|| {
        thread::spawn(move || {
            // Until the service is gone: Prometheus's pace of one scrape a second.
            while http::request(metrics_port, "GET", "/metrics", &[], None).is_ok() {
                thread::sleep(Duration::from_secs(1));
            }
        })
    });
    let output = Command::new("wrk")
        .args(["-t2", "-c", CONNECTIONS, "-d", LOAD, "--latency"])
        .arg(format!("http://127.0.0.1:{port}/notes/{id}"))
        .output()
        .expect("run wrk (apt-get install wrk; .ci/run installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    service.stop_cleanly();
    if let Some(scraping) = scraping {
        scraping.join().expect("the scraping thread");
    }
    (requests_per_second(&text), p99_ms(&text))
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
