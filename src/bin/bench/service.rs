//! The all-on service against a bare axum "hello", side by side in one interleaved run: start,
//! memory, throughput, binary size, build times and, with Docker, the image and its rebuild.
//!
//! Both are built in release from clean target folders. The service runs against PostgreSQL
//! (DATABASE_URL) with its default log filter (the request log at INFO) and stdout going to a
//! file, as a container runtime's log driver writes one; traces are not exported
//! (`OTEL_TRACES_EXPORTER=none`) and `/metrics` is not scraped. Each of [`ROUNDS`] rounds starts
//! each server [`STARTS`] times, then once more for the memory and load figures; the order
//! alternates between rounds. Load is `wrk -t2 -c64 -d10s`; the best round of each is kept.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use template_harness::combos::{Combo, render_combo};
use template_harness::container::{docker, docker_ok, image_size, runtime_base_image};
use template_harness::files::new_temp_dir;
use template_harness::ports::free_port;
use template_harness::process::Service;

use crate::load::{
    CONNECTIONS, LOAD, Server, Wrk, best, measured_on, median, mib, release_build, stripped_size,
    touch_source,
};

const ROUNDS: usize = 3;
const STARTS: usize = 5;
const NAME: &str = "bench-service";

/// What one server measured, over every round.
#[derive(Default)]
struct Figures {
    starts: Vec<Duration>,
    idle_rss: Vec<u64>,
    loaded_rss: Vec<u64>,
    livez: Vec<Wrk>,
    api: Vec<Wrk>,
    stripped: u64,
    clean_build: Duration,
    rebuild: Duration,
}

/// The image's figures.
struct Image {
    size: u64,
    base: u64,
    base_name: String,
    clean: Duration,
    rebuild: Duration,
}

pub fn run(with_docker: bool) {
    let work = new_temp_dir("bench-");

    let bare_dir = write_bare_axum(work.path());
    let bare_target = work.path().join("target-bare");
    let mut bare = Figures::default();
    eprintln!("building bare axum in release ...");
    bare.clean_build = release_build(&bare_dir, &bare_target, &[]);
    touch_source(&bare_dir.join("src/main.rs"));
    bare.rebuild = release_build(&bare_dir, &bare_target, &[]);
    let bare_bin = bare_target.join("release/bare-axum");
    bare.stripped = stripped_size(&bare_bin);

    let render = render_combo(NAME, Combo::ALL_ON);
    let service_target = work.path().join("target-service");
    let mut service = Figures::default();
    eprintln!("building the all-on render in release ...");
    service.clean_build = release_build(&render.dir, &service_target, &[]);
    touch_source(&render.dir.join("src/startup.rs"));
    service.rebuild = release_build(&render.dir, &service_target, &[]);
    let service_bin = service_target.join("release").join(NAME);
    service.stripped = stripped_size(&service_bin);

    let image = with_docker.then(|| image(&render.dir));

    let harness = Service {
        bin: service_bin.clone(),
        env_prefix: "BENCH_SERVICE_".into(),
        tag: "bench",
        metrics: true,
    };
    let db = harness.migrated_db();
    let servers = [
        Server {
            label: "bare axum",
            bin: bare_bin,
            env: Vec::new(),
            stdout: work.path().join("bare.stdout"),
        },
        Server {
            label: "service",
            bin: service_bin,
            env: vec![
                ("BENCH_SERVICE_HOST".into(), "127.0.0.1".into()),
                (
                    "BENCH_SERVICE_METRICS__PORT".into(),
                    free_port().to_string(),
                ),
                ("DATABASE_URL".into(), db.url()),
                ("OTEL_TRACES_EXPORTER".into(), "none".into()),
            ],
            stdout: work.path().join("service.stdout"),
        },
    ];
    let mut figures = [bare, service];
    for round in 1..=ROUNDS {
        let order: [usize; 2] = if round % 2 == 1 { [0, 1] } else { [1, 0] };
        for index in order {
            measure(&servers[index], &mut figures[index]);
            let f = &figures[index];
            eprintln!(
                "round {round}, {}: start {:.1} ms, idle {:.1} MB, /livez {:.0} req/s, / {:.0} req/s",
                servers[index].label,
                f.starts.last().expect("a start").as_secs_f64() * 1e3,
                *f.idle_rss.last().expect("an idle figure") as f64 / 1e6,
                f.livez.last().expect("a load").rps,
                f.api.last().expect("a load").rps,
            );
        }
    }
    print_table(&figures[0], &figures[1], image.as_ref());
}

/// A bare axum 0.8 service: one handler, answering `/` and `/livez`, nothing else.
fn write_bare_axum(work: &Path) -> PathBuf {
    let dir = work.join("bare-axum");
    std::fs::create_dir_all(dir.join("src")).expect("create the bare axum folder");
    std::fs::write(
        dir.join("Cargo.toml"),
        r#"[package]
name = "bare-axum"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
axum = "0.8"
tokio = { version = "1", features = ["macros", "net", "rt-multi-thread"] }
"#,
    )
    .expect("write the bare axum Cargo.toml");
    std::fs::write(
        dir.join("src/main.rs"),
        r#"use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let hello = get(|| async { "Hello, World!" });
    let app = Router::new().route("/", hello.clone()).route("/livez", hello);
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
"#,
    )
    .expect("write the bare axum main.rs");
    dir
}

/// One round for one server: [`STARTS`] timed starts, then one run for memory and load.
fn measure(server: &Server, figures: &mut Figures) {
    for _ in 0..STARTS {
        let running = server.start();
        figures.starts.push(running.started_in);
        running.stop();
    }
    let running = server.start();
    thread::sleep(Duration::from_secs(1));
    figures.idle_rss.push(running.rss_bytes());
    figures.livez.push(running.load("/livez"));
    figures.api.push(running.load("/"));
    figures.loaded_rss.push(running.rss_bytes());
    running.stop();
}

/// A clean image build (`--no-cache`), then a rebuild after a change under src/.
fn image(dir: &Path) -> Image {
    let tag = format!("{NAME}:bench");
    let context = dir.to_string_lossy().into_owned();
    eprintln!("building the image from scratch ...");
    let started = std::time::Instant::now();
    docker_ok(&["build", "--no-cache", "--force-rm", "-t", &tag, &context]);
    let clean = started.elapsed();
    let size = image_size(&tag);
    let base_name = runtime_base_image(dir);
    let base = image_size(&base_name);
    touch_source(&dir.join("src/startup.rs"));
    eprintln!("building the image again after a change under src/ ...");
    let started = std::time::Instant::now();
    docker_ok(&["build", "--force-rm", "-t", &tag, &context]);
    let rebuild = started.elapsed();
    docker(&["rmi", "-f", &tag]);
    Image {
        size,
        base,
        base_name,
        clean,
        rebuild,
    }
}

fn print_table(bare: &Figures, service: &Figures, image: Option<&Image>) {
    println!(
        "\n{}, release builds, the all-on render against PostgreSQL and a bare axum 0.8 \"hello\", \
         {ROUNDS} interleaved rounds (start: median of {}; load: wrk -t2 -c{CONNECTIONS} -d{LOAD}, \
         best round):\n",
        measured_on(),
        ROUNDS * STARTS
    );
    println!("| figure | bare axum | service | ratio | goal |");
    println!("|---|---|---|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let row = |figure: &str, bare: f64, service: f64, unit: &str, goal: &str| {
        let value = |v: f64| {
            if unit.is_empty() {
                format!("{v:.0}")
            } else {
                format!("{v:.1} {unit}")
            }
        };
        println!(
            "| {figure} | {} | {} | {:.2}× | {goal} |",
            value(bare),
            value(service),
            service / bare
        );
    };
    row(
        "start to first 200 on `/livez`",
        ms(median(&bare.starts)),
        ms(median(&service.starts)),
        "ms",
        "≤ 1.5×",
    );
    let mb = |bytes: &[u64]| median(bytes) as f64 / 1e6;
    row(
        "idle RSS",
        mb(&bare.idle_rss),
        mb(&service.idle_rss),
        "MB",
        "≤ 2×",
    );
    row(
        "RSS after load",
        mb(&bare.loaded_rss),
        mb(&service.loaded_rss),
        "MB",
        "",
    );
    let (bare_livez, service_livez) = (best(&bare.livez), best(&service.livez));
    row(
        "`/livez` req/s",
        bare_livez.rps,
        service_livez.rps,
        "",
        "≥ 0.8×",
    );
    row(
        "`/livez` p99",
        bare_livez.p99_ms,
        service_livez.p99_ms,
        "ms",
        "",
    );
    row(
        "`/livez` CPU per request",
        bare_livez.cpu_us_per_request,
        service_livez.cpu_us_per_request,
        "µs",
        "",
    );
    let (bare_api, service_api) = (best(&bare.api), best(&service.api));
    row(
        "`GET /` req/s (service: request log at INFO)",
        bare_api.rps,
        service_api.rps,
        "",
        "≥ 0.65×",
    );
    row("`GET /` p99", bare_api.p99_ms, service_api.p99_ms, "ms", "");
    row(
        "`GET /` CPU per request",
        bare_api.cpu_us_per_request,
        service_api.cpu_us_per_request,
        "µs",
        "",
    );
    println!(
        "| stripped binary | {:.2} MiB | {:.2} MiB | | service ≤ 6 MiB |",
        mib(bare.stripped),
        mib(service.stripped)
    );
    let s = |d: Duration| d.as_secs_f64();
    row(
        "clean release build",
        s(bare.clean_build),
        s(service.clean_build),
        "s",
        "",
    );
    row(
        "release rebuild, one file touched",
        s(bare.rebuild),
        s(service.rebuild),
        "s",
        "",
    );
    if let Some(image) = image {
        println!(
            "| image | | {:.1} MB ({:.1} MB of it the base, `{}`) | | ≤ 40 MB |",
            image.size as f64 / 1e6,
            image.base as f64 / 1e6,
            image.base_name
        );
        println!(
            "| image build, clean | | {:.0} s | | |",
            image.clean.as_secs_f64()
        );
        println!(
            "| image rebuild after a change under `src/` | | {:.0} s | 1/{:.1} of clean | ≤ 1/6 |",
            image.rebuild.as_secs_f64(),
            image.clean.as_secs_f64() / image.rebuild.as_secs_f64()
        );
    }
}
