//! What the observability slices cost (`bench -- observability`). Renders the all-on service
//! four times: with `metrics` and `otel` both off, each alone, and both on, and builds each in
//! release (timed; from a clean target folder unless `BENCH_TARGET_DIR` names one to reuse, when
//! the times are those of incremental builds). Then, against PostgreSQL (DATABASE_URL), it serves each in turn, interleaved over several rounds, and loads `GET /notes/{id}` (an API
//! route with a query and the INFO request log) with `wrk`. With `otel`, the service sends its
//! spans to an OTLP receiver that decodes and counts them (one that kept them all would cost this
//! machine more than a collector elsewhere costs a service); with `metrics`, its `/metrics` is
//! scraped every second, as Prometheus would. Prints a markdown table: requests per second and
//! p99 latency, best round of each, and the ratio to the render with both off.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use template_harness::combos::{Combo, render_combo};
use template_harness::files::new_temp_dir;
use template_harness::http;
use template_harness::otlp::{Behaviour, OtlpReceiver};
use template_harness::ports::free_port;
use template_harness::process::{Proc, Service};

use crate::load::{CONNECTIONS, LOAD, measured_on, release_build, wrk};

const ROUNDS: usize = 3;

/// One variant under test.
struct Variant {
    label: &'static str,
    service: Service,
    build: Duration,
    traced: bool,
}

pub fn run() {
    let clean = new_temp_dir("bench-target-");
    let reused = std::env::var_os("BENCH_TARGET_DIR").map(PathBuf::from);
    let target = reused.as_deref().unwrap_or(clean.path());
    let variants = [
        variant("metrics and otel off", &["metrics", "otel"], target),
        variant("metrics only", &["otel"], target),
        variant("otel only", &["metrics"], target),
        variant("metrics and otel on", &[], target),
    ];
    let receiver = OtlpReceiver::start(Behaviour::Count);
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
    println!(
        "\n{}, wrk -t2 -c{CONNECTIONS} -d{LOAD}, best of {ROUNDS} interleaved rounds, GET /notes/{{id}} with the request log at INFO:\n",
        measured_on()
    );
    let build = if reused.is_some() {
        "release build (incremental)"
    } else {
        "clean release build"
    };
    println!("| render | {build} | req/s | p99 | req/s to off | p99 to off |");
    println!("|---|---|---|---|---|---|");
    let off = best[0];
    for (variant, (rps, p99)) in variants.iter().zip(&best) {
        println!(
            "| {} | {} s | {rps:.0} | {p99:.2} ms | {:.2} | {:.2} |",
            variant.label,
            variant.build.as_secs(),
            rps / off.0,
            p99 / off.1
        );
    }
    let on = best[3];
    println!(
        "\nThroughput cost of both slices: {:.1}% (goal: at most 15%). Spans received: {}.",
        (1.0 - on.0 / off.0) * 100.0,
        receiver.span_count()
    );
}

/// Renders the all-on service with `off` switched off and builds it in release from an empty
/// target folder of its own.
fn variant(label: &'static str, off: &[&str], targets: &Path) -> Variant {
    let name = match off {
        [] => "bench-observed",
        ["otel"] => "bench-metrics",
        ["metrics"] => "bench-otel",
        _ => "bench-plain",
    };
    let render = render_combo(name, Combo::all_on_but(off));
    let target = targets.join(name);
    eprintln!("building {label} ({name}) in release ...");
    let build = release_build(&render.dir, &target, &[]);
    let bin: PathBuf = target.join("release").join(name);
    // The render's folder goes with `render`; the binary stays in the target folder.
    Variant {
        label,
        service: Service {
            bin,
            env_prefix: format!("{}_", name.to_uppercase().replace('-', "_")),
            tag: "bench",
            metrics: !off.contains(&"metrics"),
        },
        build,
        traced: !off.contains(&"otel"),
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
    if variant.service.metrics {
        launch = launch.setting("METRICS__PORT", metrics_port);
    }
    if variant.traced {
        launch = launch
            .env("OTEL_TRACES_EXPORTER", "otlp")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint);
    }
    let mut service: Proc = launch.spawn();
    service.wait_ready();
    let created = service.post_json("/notes", r#"{"title":"benchmark"}"#);
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("note id").to_owned();
    let scraping = variant.service.metrics.then(|| {
        thread::spawn(move || {
            // Until the service is gone: Prometheus's pace of one scrape a second.
            while http::request(metrics_port, "GET", "/metrics", &[], None).is_ok() {
                thread::sleep(Duration::from_secs(1));
            }
        })
    });
    let load = wrk(port, &format!("/notes/{id}"));
    service.stop_cleanly();
    if let Some(scraping) = scraping {
        scraping.join().expect("the scraping thread");
    }
    (load.rps, load.p99_ms)
}
