//! Renders a covering set of slice combinations (every pair of slices in all four on/off states,
//! plus all-on and all-off) and checks each render the way its own CI would: `cargo fmt --check`,
//! `cargo clippy --all-targets -- -D warnings` (which also turns rustc's warnings into errors)
//! and `cargo test`.
//!
//! One test runs the combinations one after another in one shared target folder
//! (target/renders): dependencies compile once and no two cargo runs fight over its lock.
//! Renders with the database slice need PostgreSQL: DATABASE_URL must be set. Their tests must
//! leave no database behind on that server: the databases are listed before and after
//! `cargo test` (with `psql`), and a new one fails the combination.
//!
//! After those steps, each render with the config slice prints its settings (`config`), and the
//! keys must be exactly those of `CONFIG_KEYS` in src/slices.rs for that combination:
//! tests/render.rs trusts that table when it checks what the docs mention.

use std::collections::BTreeSet;
use std::time::Instant;

use template_harness::cargo::cargo_command;
use template_harness::combos::{Combo, missing_pairs, render_combo};
use template_harness::command::{describe_output, run};
use template_harness::postgres::{DATABASE_URL_HELP, database_names};
use template_harness::report::{progress, secs};
use template_harness::slices::config_keys;

#[test]
fn covering_combinations_pass_fmt_clippy_and_tests() {
    let combos = Combo::covering();
    let database_url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    if database_url.is_none() && combos.iter().any(|c| c.is_on("database")) {
        panic!("{DATABASE_URL_HELP}");
    }

    let steps: [(&str, &[&str]); 3] = [
        ("fmt", &["fmt", "--check"]),
        (
            "clippy",
            &["clippy", "--all-targets", "--", "-D", "warnings"],
        ),
        ("test", &["test"]),
    ];
    let total = combos.len();
    let mut failures = Vec::new();
    for (i, combo) in combos.iter().enumerate() {
        let started = Instant::now();
        progress(&format!(
            "[combo {}/{total}] {}: checking ...",
            i + 1,
            combo.label()
        ));
        let render = render_combo(&combo.project_name(), *combo);
        let mut report = Vec::new();
        let mut passed = true;
        for (step, args) in steps {
            // The databases on the server before the render's own tests run.
            let databases_before = (step == "test" && combo.is_on("database")).then(database_names);
            let mut cmd = cargo_command(&render.dir, args);
            let output = run(&mut cmd);
            let mut leak_report = None;
            if let Some(before) = databases_before {
                let after = database_names();
                let left: Vec<&String> = after.iter().filter(|n| !before.contains(n)).collect();
                if left.is_empty() {
                    leak_report = Some(format!(
                        "no database left behind ({} before, {} after)",
                        before.len(),
                        after.len()
                    ));
                } else {
                    leak_report = Some(format!("{} databases LEFT BEHIND", left.len()));
                    failures.push(format!(
                        "{} ({}): its tests left {} databases on the DATABASE_URL server \
                         ({} before `cargo test`, {} after): {}",
                        combo.label(),
                        combo.project_name(),
                        left.len(),
                        before.len(),
                        after.len(),
                        left.iter()
                            .map(|n| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            if output.status.success() {
                report.push(format!("{step} ok"));
                report.extend(leak_report);
            } else {
                // Later steps would fail the same way or hide this failure: stop here.
                report.push(format!("{step} FAILED"));
                report.extend(leak_report);
                passed = false;
                failures.push(format!(
                    "{} ({}): {step} failed\n{}",
                    combo.label(),
                    combo.project_name(),
                    describe_output(&format!("{cmd:?}"), &output)
                ));
                break;
            }
        }
        if passed && combo.is_on("config") {
            match config_key_problem(&render.dir, *combo) {
                None => report.push("config keys ok".to_string()),
                Some(problem) => {
                    report.push("config keys FAILED".to_string());
                    failures.push(format!(
                        "{} ({}): config keys differ from CONFIG_KEYS in src/slices.rs\n{problem}",
                        combo.label(),
                        combo.project_name()
                    ));
                }
            }
        }
        progress(&format!(
            "[combo {}/{total}] {}: {} ({} s)",
            i + 1,
            combo.label(),
            report.join(", "),
            secs(started)
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {total} combinations failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Runs the render's `config` command and compares the keys it prints with the table, or
/// says why it could not. Optional settings are printed only when set, so every one the
/// combination has is set here (DATABASE_URL comes from the harness's environment).
fn config_key_problem(dir: &std::path::Path, combo: Combo) -> Option<String> {
    let prefix = format!("{}_", combo.project_name().to_uppercase().replace('-', "_"));
    let mut cmd = cargo_command(dir, &["run", "-q", "--", "config"]);
    if combo.is_on("database") {
        cmd.env(format!("{prefix}DATABASE__PASSWORD"), "cross-check");
    }
    let output = run(&mut cmd);
    let described = || describe_output(&format!("{cmd:?}"), &output);
    if !output.status.success() {
        return Some(described());
    }
    let printed: toml::Table = match String::from_utf8_lossy(&output.stdout).parse() {
        Ok(table) => table,
        Err(e) => return Some(format!("the output is not TOML: {e}\n{}", described())),
    };
    fn flatten(table: &toml::Table, above: &str, keys: &mut BTreeSet<String>) {
        for (name, value) in table {
            let key = if above.is_empty() {
                name.clone()
            } else {
                format!("{above}.{name}")
            };
            match value.as_table() {
                Some(inner) => flatten(inner, &key, keys),
                None => {
                    keys.insert(key);
                }
            }
        }
    }
    let mut actual = BTreeSet::new();
    flatten(&printed, "", &mut actual);
    let expected: BTreeSet<String> = config_keys(&|slice| combo.is_on(slice))
        .into_iter()
        .map(String::from)
        .collect();
    if actual == expected {
        return None;
    }
    Some(format!(
        "printed but not in the table: {:?}\nin the table but not printed: {:?}\n{}",
        actual.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&actual).collect::<Vec<_>>(),
        described()
    ))
}

#[test]
fn combination_list_is_a_deduplicated_covering_set() {
    let combos = Combo::covering();
    assert!(missing_pairs(&combos).is_empty());
    assert!(combos.contains(&Combo::ALL_ON) && combos.contains(&Combo::ALL_OFF));
    let mut unique = combos.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), combos.len());
}
