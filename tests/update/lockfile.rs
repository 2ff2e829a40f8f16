//! The lockfile: an update leaves a tree that builds with `--locked`.

use super::*;

/// `package name -> version` in the lockfile text.
fn lock_pins(lock: &str) -> Vec<(String, String)> {
    let lock: toml::Table = lock.parse().expect("Cargo.lock parses");
    lock["package"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let field = |key: &str| package[key].as_str().expect("a string").to_owned();
            (field("name"), field("version"))
        })
        .collect()
}

#[test]
fn an_update_that_adds_dependencies_leaves_a_lockfile_that_builds_locked() {
    let (_history, service, output) =
        service_updated_with_new_dependencies(NAME, CargoGenerate::Pinned);
    let before = service.git(&["show", "HEAD:Cargo.lock"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    let status = service.git(&["status", "--porcelain"]);
    assert!(
        status.lines().any(|line| line == "M  Cargo.lock"),
        "Cargo.lock is not updated and staged:\n{status}\n{said}"
    );
    let after = lock_pins(&service.read("Cargo.lock"));
    for name in ["metrics", "metrics-exporter-prometheus", "itoa"] {
        assert!(
            after.iter().any(|(n, _)| n == name),
            "{name} is not in Cargo.lock"
        );
    }
    // The smallest change: every package pinned before keeps its version.
    let moved: Vec<String> = lock_pins(&before)
        .into_iter()
        .filter(|pin| !after.contains(pin))
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    assert!(moved.is_empty(), "pins that changed: {moved:?}");
    service.commit_all("metrics on, and template revision B");
    cargo(&service.dir, &["build", "--locked"]);
    progress(
        "[update] -d metrics=true and a new dependency: Cargo.lock synced and staged, \
              no pin moved, `cargo build --locked` passes",
    );
}

#[test]
fn a_conflicted_manifest_says_how_to_sync_the_lockfile_after_resolving() {
    let history = TemplateHistory::create();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    cargo(&service.dir, &["generate-lockfile"]);
    let manifest = service.read("Cargo.toml");
    service.write(
        "Cargo.toml",
        &manifest.replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1),
    );
    service.commit_all("our version, and Cargo.lock");
    history.replace(
        TEMPLATE_MANIFEST,
        "version = \"0.1.0\"",
        "version = \"0.1.1\"",
    );
    add_a_dependency(&history);

    let output = service.update(&["--source", &history.url()]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("Cargo.toml")
            && said.contains("cargo update --workspace")
            && said.contains("git add Cargo.lock"),
        "the tool does not say how to sync Cargo.lock once Cargo.toml is resolved:\n{said}"
    );
    progress("[update] Cargo.toml conflicted: the tool names `cargo update --workspace` for after");
}
