//! Third-party checks: checkov on every distinct kustomize output, Dockerfile and workflow, and
//! cargo-deny on the all-on dependency tree.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use template_harness::cargo::{cargo, cargo_command};
use template_harness::command::strip_ansi;
use template_harness::files::new_temp_dir;
use template_harness::kubernetes::{
    SHAPING_SLICES, k8s_dir, kustomize, render_k8s, shaping_combo, write_secret_files,
};
use template_harness::render::{Generate, Render};
use template_harness::report::progress;
use template_harness::tools::{CARGO_DENY_VERSION, CheckCounts, checkov, checkov_bin};

use crate::manifests::both;

/// Scanned files (relative to the scanned folder) and what each is, for the messages.
type Scanned = BTreeMap<String, String>;

#[test]
fn checkov_finds_nothing_to_fix_in_any_distinct_render() {
    let root = new_temp_dir("checkov-");
    let mut scanned = Scanned::new();
    stage_kustomize_outputs(root.path(), &mut scanned);
    stage_dockerfiles_and_workflows(root.path(), &mut scanned);

    let started = Instant::now();
    let report = checkov(root.path());
    let mut failures: Vec<String> = report
        .parsing_errors
        .iter()
        .map(|error| format!("checkov could not parse {error}"))
        .collect();
    failures.extend(
        report
            .failed
            .iter()
            .map(|(file, check)| format!("{}: {check}", scanned.get(file).unwrap_or(file))),
    );
    let mut totals: BTreeMap<&str, CheckCounts> = BTreeMap::new();
    for (file, what) in &scanned {
        let Some(counts) = report.counts.get(file) else {
            failures.push(format!("checkov reported nothing for {what} ({file})"));
            continue;
        };
        if counts.passed == 0 {
            failures.push(format!("checkov passed no check on {what} ({file})"));
        }
        progress(&format!("[deploy] checkov {what}: {}", counted(counts)));
        let kind = file.split('/').next().unwrap_or_default();
        totals.entry(kind).or_default().add(*counts);
    }
    for (kind, counts) in &totals {
        progress(&format!(
            "[deploy] checkov {kind} total: {}",
            counted(counts)
        ));
    }
    progress(&format!(
        "[deploy] checkov ({}) scanned {} file sets in {} s",
        checkov_bin().display(),
        scanned.len(),
        started.elapsed().as_secs()
    ));
    assert!(failures.is_empty(), "checkov:\n{}", failures.join("\n"));
}

fn counted(counts: &CheckCounts) -> String {
    format!(
        "{} passed, {} failed, {} skipped",
        counts.passed, counts.failed, counts.skipped
    )
}

/// What kustomize builds for every combination of the shaping slices, as
/// `kubernetes/k8s-<bits>.yaml`.
fn stage_kustomize_outputs(root: &Path, scanned: &mut Scanned) {
    std::fs::create_dir_all(root.join("kubernetes")).expect("create folder");
    for bits in 0..1u32 << SHAPING_SLICES.len() {
        let (defines, label) = shaping_combo(bits);
        let render = render_k8s(&format!("scan-k8s-{bits:02}"), &defines);
        let k8s = k8s_dir(&render);
        write_secret_files(&k8s);
        let text = kustomize(&k8s).unwrap_or_else(|e| panic!("kustomize {label}: {e}"));
        let file = format!("kubernetes/k8s-{bits:02}.yaml");
        std::fs::write(root.join(&file), text).expect("write kustomize output");
        scanned.insert(file, format!("kustomize output {label}"));
    }
}

/// Each distinct Dockerfile (it changes with health and database) and workflow (with database
/// and docker), in folders of their own.
fn stage_dockerfiles_and_workflows(root: &Path, scanned: &mut Scanned) {
    for (health, database) in [(true, true), (true, false), (false, true), (false, false)] {
        let (h, d) = (health as u8, database as u8);
        let render = Generate::new()
            .name(&format!("scan-image-{h}{d}"))
            .define("docker", "true")
            .define("health", &health.to_string())
            .define("database", &database.to_string())
            .render();
        let file = format!("dockerfile/health{h}-database{d}/Dockerfile");
        stage(root, &render, "Dockerfile", &file);
        let what = format!("Dockerfile health={health} database={database}");
        scanned.insert(file, what);
    }
    for (database, docker) in [(true, true), (true, false), (false, true), (false, false)] {
        let (d, k) = (database as u8, docker as u8);
        let render = Generate::new()
            .name(&format!("scan-ci-{d}{k}"))
            .define("ci", "true")
            .define("database", &database.to_string())
            .define("docker", &docker.to_string())
            .render();
        let file = format!("workflow/database{d}-docker{k}/.github/workflows/ci.yml");
        stage(root, &render, ".github/workflows/ci.yml", &file);
        let what = format!("workflow database={database} docker={docker}");
        scanned.insert(file, what);
    }
}

/// Copies `from` of the render to `to` under `root`.
fn stage(root: &Path, render: &Render, from: &str, to: &str) {
    let target = root.join(to);
    std::fs::create_dir_all(target.parent().expect("folder")).expect("create folder");
    std::fs::copy(render.dir.join(from), &target)
        .unwrap_or_else(|e| panic!("copy {from} to {}: {e}", target.display()));
}

#[test]
fn cargo_deny_accepts_the_all_on_dependency_tree() {
    let render = Generate::new()
        .name("deny-all-on")
        .define("kubernetes", "true")
        .render();
    // cargo-deny reads Cargo.lock and `cargo metadata`, which with --offline needs every
    // platform's crates downloaded: resolve and fetch first (crates.io, like every build).
    cargo(&render.dir, &["generate-lockfile"]);
    cargo(&render.dir, &["fetch"]);

    let (ok, text) = cargo_deny(&render, "deny.toml as rendered");
    assert!(ok, "cargo deny rejects the all-on render:\n{text}");

    // The check reads the render's deny.toml: without MIT in the allowed licenses it fails.
    let path = render.dir.join("deny.toml");
    let rules = std::fs::read_to_string(&path).expect("read deny.toml");
    assert!(rules.contains("    \"MIT\",\n"), "deny.toml allows MIT");
    std::fs::write(&path, rules.replace("    \"MIT\",\n", "")).expect("drop MIT");
    let (ok, text) = cargo_deny(&render, "MIT not allowed");
    assert!(
        !ok && text.contains("rejected"),
        "without MIT allowed, cargo deny should reject crates:\n{text}"
    );
}

/// `cargo deny --offline check licenses bans sources` in the render: whether it passed, and
/// what it printed.
fn cargo_deny(render: &Render, what: &str) -> (bool, String) {
    let mut cmd = cargo_command(
        &render.dir,
        &["deny", "--offline", "check", "licenses", "bans", "sources"],
    );
    let output = cmd.output().expect("cargo runs");
    let text = strip_ansi(&both(&output));
    if text.contains("no such command") {
        panic!(
            "cargo-deny is not installed: `cargo install cargo-deny --version \
             {CARGO_DENY_VERSION} --locked`, or run `bash .ci/run`, which does"
        );
    }
    progress(&format!(
        "[deploy] cargo deny --offline check licenses bans sources ({what}): {}",
        text.lines()
            .rfind(|l| l.contains(" ok") || l.contains("FAILED"))
            .unwrap_or("(no summary)")
            .trim()
    ));
    (output.status.success(), text)
}
