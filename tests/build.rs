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

mod common;

use std::time::Instant;

use common::{Combo, DATABASE_URL_HELP, cargo_command, describe_output, progress, secs};
use template_harness::postgres::database_names;

/// The combinations to build: the pairwise set, all-on and all-off, each once.
fn combos() -> Vec<Combo> {
    let mut combos = vec![Combo::ALL_ON];
    for combo in Combo::pairwise().into_iter().chain([Combo::ALL_OFF]) {
        if !combos.contains(&combo) {
            combos.push(combo);
        }
    }
    combos
}

#[test]
fn covering_combinations_pass_fmt_clippy_and_tests() {
    let combos = combos();
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
        let render = common::render_combo(&combo.project_name(), *combo);
        let mut report = Vec::new();
        for (step, args) in steps {
            // The databases on the server before the render's own tests run.
            let databases_before = (step == "test" && combo.is_on("database")).then(database_names);
            let mut cmd = cargo_command(&render.dir, args);
            let output = common::run(&mut cmd);
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
                failures.push(format!(
                    "{} ({}): {step} failed\n{}",
                    combo.label(),
                    combo.project_name(),
                    describe_output(&format!("{cmd:?}"), &output)
                ));
                break;
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

#[test]
fn combination_list_is_a_deduplicated_covering_set() {
    let combos = combos();
    assert!(common::missing_pairs(&combos).is_empty());
    assert!(combos.contains(&Combo::ALL_ON) && combos.contains(&Combo::ALL_OFF));
    let mut unique = combos.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), combos.len());
}
