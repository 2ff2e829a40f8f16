//! Keeps the service's `Cargo.lock` in step with a merged `Cargo.toml`, so that the Dockerfile
//! and CI, which build with `--locked`, build the updated tree as it is.
//!
//! `cargo update --workspace` is the smallest change cargo offers: it updates only the
//! workspace's own packages, and adds a dependency only if the lockfile does not have it yet,
//! leaving every existing pin alone (cargo's documentation: "useful for updating Cargo.lock
//! after you've changed version numbers in Cargo.toml").

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::conflicts::Conflict;
use crate::git::Git;

/// What happened to the lockfile.
#[derive(Debug)]
pub enum Outcome {
    /// The workspace has no lockfile in git: nothing to keep in step.
    NotTracked,
    /// Synced and staged; `changes` are cargo's own lines (`Adding metrics v0.24.3`).
    Synced {
        lockfile: PathBuf,
        changes: Vec<String>,
    },
    /// A manifest is conflicted: cargo cannot read it until it is resolved.
    AfterResolving {
        manifests: Vec<String>,
        dir: PathBuf,
    },
    /// cargo failed: its message.
    Failed { dir: PathBuf, error: String },
}

/// Syncs and stages the lockfile of the workspace `service_dir` belongs to, unless a manifest
/// among `conflicts` must be resolved first.
pub fn sync(service_dir: &Path, git: &Git, conflicts: &[Conflict]) -> anyhow::Result<Outcome> {
    let manifests: Vec<String> = conflicts
        .iter()
        .filter(|conflict| conflict.path.rsplit('/').next() == Some("Cargo.toml"))
        .map(|conflict| conflict.path.clone())
        .collect();
    if !manifests.is_empty() {
        return Ok(Outcome::AfterResolving {
            manifests,
            dir: service_dir.to_path_buf(),
        });
    }
    let located = cargo(service_dir)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output()
        .context("cannot run cargo")?;
    if !located.status.success() {
        return Ok(Outcome::Failed {
            dir: service_dir.to_path_buf(),
            error: String::from_utf8_lossy(&located.stderr).trim().to_owned(),
        });
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&located.stdout).trim());
    let root = manifest
        .parent()
        .context("cargo named a manifest without a folder")?
        .to_path_buf();
    let lockfile = root.join("Cargo.lock");
    let tracked = git.test([
        "ls-files".as_ref(),
        "--error-unmatch".as_ref(),
        "--".as_ref(),
        lockfile.as_os_str(),
    ])?;
    if !lockfile.is_file() || !tracked {
        return Ok(Outcome::NotTracked);
    }
    let updated = cargo(&root)
        .args(["update", "--workspace"])
        .output()
        .context("cannot run cargo")?;
    let said = String::from_utf8_lossy(&updated.stderr).into_owned();
    if !updated.status.success() {
        return Ok(Outcome::Failed {
            dir: root,
            error: said.trim().to_owned(),
        });
    }
    git.run(["add".as_ref(), "--".as_ref(), lockfile.as_os_str()])?;
    let changes = said
        .lines()
        .map(str::trim)
        .filter(|line| {
            ["Adding ", "Removing ", "Updating ", "Downgrading "]
                .iter()
                .any(|verb| line.starts_with(verb))
                && !line.starts_with("Updating crates.io index")
                && !line.starts_with("Updating git repository")
        })
        .map(str::to_owned)
        .collect();
    Ok(Outcome::Synced { lockfile, changes })
}

/// cargo, as the one that runs this tool (`CARGO`, set when run as `cargo template-update`).
fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        // Not this tool's manifest, which `cargo run` would point at.
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_MANIFEST_PATH");
    command
}

/// How many of cargo's lines are shown.
const SHOWN: usize = 8;

/// What to tell the user.
pub fn report(outcome: &Outcome) -> Vec<String> {
    match outcome {
        Outcome::NotTracked => Vec::new(),
        Outcome::Synced { lockfile, changes } if changes.is_empty() => {
            vec![format!("{} needed no change", file_name(lockfile))]
        }
        Outcome::Synced { lockfile, changes } => {
            let mut lines = vec![format!(
                "{} synced to the merged manifest and staged (no other pin moved):",
                file_name(lockfile)
            )];
            lines.extend(
                changes
                    .iter()
                    .take(SHOWN)
                    .map(|change| format!("  {change}")),
            );
            if changes.len() > SHOWN {
                lines.push(format!(
                    "  … and {} more (`git diff --cached {}`)",
                    changes.len() - SHOWN,
                    file_name(lockfile)
                ));
            }
            lines
        }
        Outcome::AfterResolving { manifests, dir } => vec![format!(
            "Cargo.lock is not synced yet: {} is conflicted. Once resolved, run \
             `cargo update --workspace` in {} (it adds the new dependencies and moves no pin), \
             then `git add Cargo.lock`: the Dockerfile and CI build with --locked",
            manifests.join(", "),
            dir.display()
        )],
        Outcome::Failed { dir, error } => vec![format!(
            "Cargo.lock could not be synced: {error}\nrun `cargo update --workspace` in {}, then \
             `git add Cargo.lock`: the Dockerfile and CI build with --locked",
            dir.display()
        )],
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
