//! Release profiles compared on the all-on render (`bench -- profiles`): for each, a clean
//! release build, a rebuild after one file is touched (what an image rebuild after a change
//! under src/ pays), the stripped binary, and the throughput of `GET /` with the request log at
//! INFO, interleaved over [`ROUNDS`] rounds. Each profile is given whole as cargo `--config`
//! values, which take precedence over the render's own `[profile.release]`. `bench -- profiles
//! 0 5` measures rows 0 and 5 of [`PROFILES`] only.

use std::time::Duration;

use template_harness::combos::{Combo, render_combo};
use template_harness::files::new_temp_dir;
use template_harness::ports::free_port;
use template_harness::process::Service;

use crate::load::{
    CONNECTIONS, LOAD, Server, Wrk, best, measured_on, mib, release_build, stripped_size,
    touch_source,
};

const ROUNDS: usize = 2;
const NAME: &str = "bench-profiles";

/// What the table calls each profile, and its settings as cargo `--config` values: every
/// setting the render's own profile might make is given, so each row stands alone.
const PROFILES: &[(&str, [&str; 5])] = &[
    (
        "cargo's default: thin-local LTO, 16 codegen units",
        ["false", "16", "16", "\"unwind\"", "3"],
    ),
    ("1 codegen unit", ["false", "1", "1", "\"unwind\"", "3"]),
    (
        "`lto = \"thin\"`",
        ["\"thin\"", "16", "16", "\"unwind\"", "3"],
    ),
    (
        "`lto = \"fat\"`, 1 codegen unit",
        ["\"fat\"", "1", "1", "\"unwind\"", "3"],
    ),
    (
        "`lto = \"fat\"`, 1 codegen unit, `panic = \"abort\"`",
        ["\"fat\"", "1", "1", "\"abort\"", "3"],
    ),
    (
        "dependencies in 1 codegen unit, the service in 16",
        ["false", "16", "1", "\"unwind\"", "3"],
    ),
    (
        "`lto = \"fat\"`, 1 codegen unit, `opt-level = \"s\"`",
        ["\"fat\"", "1", "1", "\"unwind\"", "\"s\""],
    ),
];

/// The `--config` values of one row of [`PROFILES`].
fn config([lto, units, dependency_units, panic, opt_level]: [&str; 5]) -> Vec<String> {
    vec![
        format!("profile.release.lto={lto}"),
        format!("profile.release.codegen-units={units}"),
        format!("profile.release.package.\"*\".codegen-units={dependency_units}"),
        format!("profile.release.panic={panic}"),
        format!("profile.release.opt-level={opt_level}"),
        "profile.release.strip=false".to_owned(),
        "profile.release.debug=false".to_owned(),
        "profile.release.incremental=false".to_owned(),
    ]
}

struct Built {
    label: &'static str,
    server: Server,
    clean: Duration,
    rebuild: Duration,
    stripped: u64,
    loads: Vec<Wrk>,
}

/// Builds and measures the rows of [`PROFILES`] whose numbers `rows` gives (all when empty).
pub fn run(rows: &[usize]) {
    let work = new_temp_dir("bench-profiles-");
    let render = render_combo(NAME, Combo::ALL_ON);
    let metrics_port = free_port().to_string();
    let mut db = None;
    let mut built: Vec<Built> = Vec::new();
    for (index, &(label, settings)) in PROFILES.iter().enumerate() {
        if !rows.is_empty() && !rows.contains(&index) {
            continue;
        }
        let env = config(settings);
        let target = work.path().join(format!("target-{index}"));
        eprintln!("building with {label} ...");
        let clean = release_build(&render.dir, &target, &env);
        touch_source(&render.dir.join("src/startup.rs"));
        let rebuild = release_build(&render.dir, &target, &env);
        let bin = target.join("release").join(NAME);
        let stripped = stripped_size(&bin);
        eprintln!(
            "{label}: clean {:.0} s, rebuild {:.0} s, stripped {:.2} MiB",
            clean.as_secs_f64(),
            rebuild.as_secs_f64(),
            mib(stripped)
        );
        let db_url = db
            .get_or_insert_with(|| {
                Service {
                    bin: bin.clone(),
                    env_prefix: "BENCH_PROFILES_".into(),
                    tag: "bench",
                    metrics: true,
                }
                .migrated_db()
            })
            .url();
        built.push(Built {
            label,
            server: Server {
                label,
                bin,
                env: vec![
                    ("BENCH_PROFILES_HOST".into(), "127.0.0.1".into()),
                    ("BENCH_PROFILES_METRICS__PORT".into(), metrics_port.clone()),
                    ("DATABASE_URL".into(), db_url),
                    ("OTEL_TRACES_EXPORTER".into(), "none".into()),
                ],
                stdout: work.path().join(format!("stdout-{index}")),
            },
            clean,
            rebuild,
            stripped,
            loads: Vec::new(),
        });
    }
    for round in 1..=ROUNDS {
        for profile in &mut built {
            let running = profile.server.start();
            let load = running.load("/");
            running.stop();
            eprintln!("round {round}, {}: {:.0} req/s", profile.label, load.rps);
            profile.loads.push(load);
        }
    }

    println!(
        "\n{}, the all-on render; `GET /` with the request log at INFO, wrk -t2 -c{CONNECTIONS} \
         -d{LOAD}, best of {ROUNDS} interleaved rounds:\n",
        measured_on()
    );
    println!(
        "| profile | clean release build | rebuild, one file touched | stripped binary | req/s | p99 | CPU per request |"
    );
    println!("|---|---|---|---|---|---|---|");
    for profile in &built {
        let load = best(&profile.loads);
        println!(
            "| {} | {:.0} s | {:.0} s | {:.2} MiB | {:.0} | {:.2} ms | {:.1} µs |",
            profile.label,
            profile.clean.as_secs_f64(),
            profile.rebuild.as_secs_f64(),
            mib(profile.stripped),
            load.rps,
            load.p99_ms,
            load.cpu_us_per_request
        );
    }
}
