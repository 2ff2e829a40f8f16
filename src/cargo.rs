//! Cargo in a render: commands in the target folder every render shares, building a render's
//! binary, and the all-on service built once for the tests that run it as a process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::combos::{Combo, render_combo};
use crate::command::{describe_output, run};
use crate::process::Service;
use crate::render::{Render, repo_root};
use crate::report::progress;

/// One target folder shared by every render, so dependencies compile once.
pub fn renders_target_dir() -> PathBuf {
    repo_root().join("target").join("renders")
}

/// A cargo command run in `dir` with the shared target folder. RUSTFLAGS and friends are
/// removed (they would change every dependency's fingerprint and rebuild the cache);
/// DATABASE_URL passes through.
pub fn cargo_command(dir: &Path, args: &[&str]) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", renders_target_dir())
        .env("CARGO_TERM_COLOR", "never");
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs cargo in `dir`; on failure, panics with the command's full output.
pub fn cargo(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = cargo_command(dir, args);
    let output = run(&mut cmd);
    assert!(
        output.status.success(),
        "{}",
        describe_output(&format!("{cmd:?}"), &output)
    );
    output
}

/// Builds the render's binary in the shared target folder and returns its path.
pub fn build_binary(dir: &Path) -> PathBuf {
    cargo(dir, &["build"]);
    let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
        .expect("read Cargo.toml")
        .parse()
        .expect("parse Cargo.toml");
    let name = manifest
        .get("bin")
        .and_then(|b| b.as_array())
        .and_then(|bins| bins.first())
        .and_then(|b| b.get("name"))
        .or_else(|| manifest.get("package").and_then(|p| p.get("name")))
        .and_then(|n| n.as_str())
        .expect("package name in Cargo.toml")
        .to_string();
    let bin = renders_target_dir()
        .join("debug")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "cargo build succeeded but {} is missing",
        bin.display()
    );
    bin
}

/// Renders `combo` as `name` and builds it; the binary is overwritten by the next build of a
/// project with the same name.
pub fn render_and_build(name: &str, combo: Combo) -> (Render, PathBuf) {
    let render = render_combo(name, combo);
    let bin = build_binary(&render.dir);
    (render, bin)
}

/// The all-on render as `project`, built, for a test binary that runs it as a process (`tag`
/// names that binary in progress lines). Only the binary is kept: the render's temporary folder
/// is removed once the build is done. The env prefix read from the render must be
/// `expected_env_prefix`, the one the template derives from the name.
pub fn build_all_on_service(
    project: &str,
    expected_env_prefix: &str,
    tag: &'static str,
) -> Service {
    let started = Instant::now();
    progress(&format!(
        "[{tag}] rendering {project} ({}) and building it ...",
        Combo::ALL_ON.label()
    ));
    let (render, bin) = render_and_build(project, Combo::ALL_ON);
    let config = render.read("src/config/layers.rs");
    let env_prefix = config
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("pub const ENV_PREFIX: &str = \"")?
                .strip_suffix("\";")
        })
        .unwrap_or_else(|| panic!("no ENV_PREFIX in the rendered src/config/layers.rs:\n{config}"))
        .to_owned();
    assert_eq!(
        env_prefix, expected_env_prefix,
        "the env prefix derived from the project name `{project}`"
    );
    progress(&format!(
        "[{tag}] built {} in {} s",
        bin.display(),
        started.elapsed().as_secs()
    ));
    Service {
        bin,
        env_prefix,
        tag,
        metrics: true,
    }
}
