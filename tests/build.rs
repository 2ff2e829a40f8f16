//! Renders a covering set of slice combinations (every pair of slices in all four on/off states,
//! plus all-on and all-off) and checks each render the way its own CI would: `cargo fmt --check`,
//! `cargo clippy --all-targets -- -D warnings` (which also turns rustc's warnings into errors)
//! and `cargo test`.
//!
//! One test runs the combinations one after another in one shared target folder
//! (target/renders): dependencies compile once and no two cargo runs fight over its lock.
//! Renders with the database slice need PostgreSQL: DATABASE_URL must be set. Their tests must
//! leave no database behind on that server. Only what those tests make is counted: they run
//! with a master database of their own (`SqlxTestDatabases` in src/postgres.rs), where sqlx
//! records every test database it makes until it drops it, so a database another client
//! creates on the server meanwhile does not count. The first render with a database proves
//! that: a test of its own that fails leaves its database, which the check names, while a
//! database made by another client during the run is not named.
//!
//! After those steps, each render with the config slice prints its settings (`config`), and the
//! keys must be exactly those of `CONFIG_KEYS` in src/slices.rs for that combination:
//! tests/render.rs trusts that table when it checks what the docs mention.

use std::collections::BTreeSet;
use std::time::Instant;

use template_harness::cargo::cargo_command;
use template_harness::combos::{Combo, missing_pairs, render_combo};
use template_harness::command::{describe_output, run};
use template_harness::postgres::{
    DATABASE_URL_HELP, SqlxTestDatabases, TempDb, database_names, drop_database,
};
use template_harness::render::Render;
use template_harness::report::{progress, secs};
use template_harness::slices::config_keys;

/// The checks a render's own CI runs, in order.
const CI_STEPS: [(&str, &[&str]); 3] = [
    ("fmt", &["fmt", "--check"]),
    (
        "clippy",
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    ),
    ("test", &["test"]),
];

#[test]
fn covering_combinations_pass_fmt_clippy_and_tests() {
    let combos = Combo::covering();
    let database_url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    if database_url.is_none() && combos.iter().any(|c| c.is_on("database")) {
        panic!("{DATABASE_URL_HELP}");
    }
    let total = combos.len();
    let mut failures = Vec::new();
    let mut leak_check_proven = false;
    for (i, combo) in combos.iter().enumerate() {
        let started = Instant::now();
        let label = format!("[combo {}/{total}] {}", i + 1, combo.label());
        progress(&format!("{label}: checking ..."));
        let render = render_combo(&combo.project_name(), *combo);
        let mut checked = Checked::new(*combo);
        let passed = ci_steps_pass(&render, &mut checked);
        if passed && combo.is_on("config") {
            check_config_keys(&render, &mut checked);
        }
        if passed && combo.is_on("database") && !leak_check_proven {
            prove_the_leak_check(&render, &mut checked);
            leak_check_proven = true;
        }
        progress(&format!(
            "{label}: {} ({} s)",
            checked.notes.join(", "),
            secs(started)
        ));
        failures.extend(checked.failures);
    }
    assert!(
        failures.is_empty(),
        "{} of {total} combinations failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// What checking one combination found: notes for the progress line, and failures.
struct Checked {
    combo: Combo,
    notes: Vec<String>,
    failures: Vec<String>,
}

impl Checked {
    fn new(combo: Combo) -> Self {
        Self {
            combo,
            notes: Vec::new(),
            failures: Vec::new(),
        }
    }

    fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// A failure, named after the combination and its project.
    fn fail(&mut self, what: &str) {
        self.failures.push(format!(
            "{} ({}): {what}",
            self.combo.label(),
            self.combo.project_name()
        ));
    }
}

/// `cargo fmt --check`, clippy and `cargo test` in the render, stopping at the first that
/// fails (later steps would fail the same way or hide it). The tests run against a master
/// database of their own, and must leave no test database behind. Whether every step passed.
fn ci_steps_pass(render: &Render, checked: &mut Checked) -> bool {
    for (step, args) in CI_STEPS {
        let mut cmd = cargo_command(&render.dir, args);
        let databases = (step == "test" && checked.combo.is_on("database"))
            .then(|| SqlxTestDatabases::new("build_tests"));
        if let Some(databases) = &databases {
            cmd.env("DATABASE_URL", databases.database_url());
        }
        let output = run(&mut cmd);
        let passed = output.status.success();
        checked.note(format!("{step} {}", if passed { "ok" } else { "FAILED" }));
        if let Some(databases) = &databases {
            check_nothing_left_behind(databases, checked);
        }
        if !passed {
            let output = describe_output(&format!("{cmd:?}"), &output);
            checked.fail(&format!("{step} failed\n{output}"));
            return false;
        }
    }
    true
}

/// Fails the combination if its tests left databases on the server.
fn check_nothing_left_behind(databases: &SqlxTestDatabases, checked: &mut Checked) {
    let left = databases.left_behind();
    if left.is_empty() {
        checked.note("no test database left behind");
        return;
    }
    checked.note(format!("{} test databases LEFT BEHIND", left.len()));
    checked.fail(&format!(
        "its tests left {} databases on the DATABASE_URL server (recorded by sqlx in \
         {}._sqlx_test.databases): {}",
        left.len(),
        databases.master_name(),
        left.join(", ")
    ));
}

/// A test the harness adds to a render: it fails once sqlx has made its database, which sqlx
/// then keeps (for a person to inspect) until the test passes again.
const LEAKING_TEST: &str = r#"//! Added by the template's harness: a test that leaves its database behind.

#[sqlx::test(migrations = false)]
async fn fails_after_sqlx_made_its_database(_db: sqlx::PgPool) {
    panic!("fails on purpose, so that sqlx keeps its database");
}
"#;

/// Proves the database check on `render` (a render with the database slice whose tests just
/// ran): while another client creates a database on the server, a test that fails leaves its
/// database behind. The check must name the test's database and only that.
fn prove_the_leak_check(render: &Render, checked: &mut Checked) {
    std::fs::write(render.dir.join("tests/leaks_its_database.rs"), LEAKING_TEST)
        .expect("add a leaking test to the render");
    let databases = SqlxTestDatabases::new("build_proof");
    let before = database_names();
    let other_client = TempDb::new("bars_schema");
    let mut cmd = cargo_command(&render.dir, &["test", "--test", "leaks_its_database"]);
    let output = run(cmd.env("DATABASE_URL", databases.database_url()));
    let left = databases.left_behind();
    let new_on_the_server: Vec<String> = database_names()
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect();
    for name in &left {
        drop_database(name);
    }
    let failed_on_purpose = !output.status.success()
        && String::from_utf8_lossy(&output.stdout).contains("fails on purpose");
    let proven = failed_on_purpose
        && new_on_the_server.contains(&other_client.name)
        && left.len() == 1
        && left.iter().all(|name| name.starts_with("_sqlx_test_"));
    if proven {
        checked.note(format!(
            "leak check proven (names {}, not {} made meanwhile)",
            left[0], other_client.name
        ));
    } else {
        checked.note("leak check NOT proven");
        checked.fail(&format!(
            "the database check is not proven: a failing #[sqlx::test] must leave exactly one \
             database, named by the check ({left:?}), while {} (made by another client \
             meanwhile, new on the server: {new_on_the_server:?}) is not named\n{}",
            other_client.name,
            describe_output(&format!("{cmd:?}"), &output)
        ));
    }
}

/// The settings `config` prints must be exactly the table's for the combination.
fn check_config_keys(render: &Render, checked: &mut Checked) {
    match config_key_problem(&render.dir, checked.combo) {
        None => checked.note("config keys ok"),
        Some(problem) => {
            checked.note("config keys FAILED");
            checked.fail(&format!(
                "config keys differ from CONFIG_KEYS in src/slices.rs\n{problem}"
            ));
        }
    }
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
