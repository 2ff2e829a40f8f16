//! Renders every slice combination through the real cargo-generate and checks the files: no
//! Liquid left, exactly the expected file set, the expected dependencies, and the values applied.
//! No compiling here (tests/build.rs does that for a covering subset).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use template_harness::combos::{Combo, dependency_problems, file_set_problems, missing_pairs};
use template_harness::files::{list_files, new_temp_dir};
use template_harness::render::{Generate, Render, liquid_leftovers, stage_template_source};
use template_harness::report::progress;
use template_harness::slices::{
    CONFIG_KEYS, NON_KEY_NAMES, NON_KEY_VARIABLES, SLICES, config_keys,
};

/// Where the port and the environment prefix must show up in a render.
fn value_problems(render: &Render, combo: Combo, port: &str, prefix: &str) -> Vec<String> {
    let read = |file: &str| std::fs::read_to_string(render.dir.join(file)).unwrap_or_default();
    let mut problems = Vec::new();
    let config = read("src/config/mod.rs");
    if !config.contains(port) {
        problems.push(format!(
            "src/config/mod.rs does not contain the port {port}"
        ));
    }
    // Without the config slice the service reads only the platform's variables (PORT, ...):
    // the prefix has nowhere to go.
    if combo.is_on("config") {
        for file in ["src/config/layers.rs", ".env.example"] {
            if !read(file).contains(prefix) {
                problems.push(format!("{file} does not contain the env prefix {prefix}"));
            }
        }
    }
    problems
}

#[test]
fn pairwise_set_covers_every_pair() {
    let pairwise = Combo::pairwise();
    assert_eq!(missing_pairs(&pairwise), Vec::<String>::new());
    assert!(pairwise.contains(&Combo::ALL_OFF));
    // And the check itself notices a gap: dropping any row loses some pair.
    for skip in 0..pairwise.len() {
        let fewer: Vec<Combo> = pairwise
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, c)| *c)
            .collect();
        assert!(!missing_pairs(&fewer).is_empty(), "row {skip} is redundant");
    }
    assert_eq!(Combo::all().len(), 1 << SLICES.len());
    assert_eq!(missing_pairs(&Combo::all()), Vec::<String>::new());
}

#[test]
fn every_combination_renders_the_expected_files() {
    let combos = Combo::all();
    // One staged copy of the template serves every render, and renders run on every core:
    // each is a cargo-generate process and a rustfmt process, independent of the others.
    let staged = new_temp_dir("template-render-source-");
    let source = staged.path().join("src");
    stage_template_source(&source);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let started = Instant::now();
    let checked: Vec<Checked> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| check_renders(&combos, &next, &source)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    progress(&format!(
        "[render] {} combinations rendered and checked on {workers} threads in {} s",
        combos.len(),
        started.elapsed().as_secs()
    ));
    let mut failures = Vec::new();
    // Doc mentions of settings a render lacks, each with the combinations it shows up in.
    let mut doc_findings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for worker in checked {
        failures.extend(worker.failures);
        for (finding, bits) in worker.findings {
            doc_findings.entry(finding).or_default().push(bits);
        }
    }
    failures.sort();
    for bits in doc_findings.values_mut() {
        bits.sort();
    }
    assert!(
        failures.is_empty() && doc_findings.is_empty(),
        "{} of {} combinations render wrongly:\n\n{}\n\n\
         {} mentions of settings or variables that the render does not have \
         (file:line: key (as written): bits of the combinations, in the order {}):\n{}",
        failures.len(),
        combos.len(),
        failures.join("\n\n"),
        doc_findings.len(),
        SLICES.join(","),
        doc_findings
            .iter()
            .map(|(finding, bits)| format!("  {finding}: {}", abbreviate(bits)))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// What one render worker found.
struct Checked {
    /// A combination's label and its problems, for each combination with any.
    failures: Vec<String>,
    /// Each doc mention of a setting the render lacks, with the bits of its combination.
    findings: Vec<(String, String)>,
}

/// Renders and checks the combinations a shared counter hands out, until none is left.
fn check_renders(combos: &[Combo], next: &AtomicUsize, source: &Path) -> Checked {
    let mut failures = Vec::new();
    let mut findings = Vec::new();
    while let Some(&combo) = combos.get(next.fetch_add(1, Ordering::Relaxed)) {
        let name = combo.project_name();
        let render = Generate::new()
            .name(&name)
            .source(source)
            .defines(&combo.defines())
            .render();
        let prefix = format!("{}_", name.to_uppercase().replace('-', "_"));

        let mut problems = Vec::new();
        problems.extend(
            liquid_leftovers(&render.dir)
                .into_iter()
                .map(|hit| format!("Liquid left: {hit}")),
        );
        problems.extend(file_set_problems(&render.dir, combo));
        problems.extend(dependency_problems(&render.dir, combo));
        problems.extend(value_problems(&render, combo, "8080", &prefix));
        problems.extend(formatting_problems(&render.dir));
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", combo.label(), problems.join("\n  ")));
        }
        for finding in config_key_mentions(&render.dir, combo, &prefix) {
            findings.push((finding, combo.bits()));
        }
    }
    Checked { failures, findings }
}

/// `a, b, c` for a few combinations, `a, b, c and 61 more` for many.
fn abbreviate(bits: &[String]) -> String {
    const SHOWN: usize = 3;
    let shown = bits
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if bits.len() > SHOWN {
        format!("{shown} and {} more", bits.len() - SHOWN)
    } else {
        shown
    }
}

/// The files whose text tells users which settings exist.
fn documenting_files(dir: &Path) -> Vec<String> {
    list_files(dir)
        .into_iter()
        .filter(|file| {
            matches!(
                file.as_str(),
                "README.md" | ".env.example" | "compose.yaml" | "Dockerfile"
            ) || (file.starts_with("src/") && file.ends_with(".rs"))
                || file.starts_with("deploy/k8s/")
        })
        .collect()
}

/// Every mention, in the render's docs and code, of a setting the render does not have:
/// `<P>NAME` variables (`<P>DATABASE__PASSWORD_FILE` is `database.password`), dotted keys in
/// backticks (`` `shutdown.timeout_secs` ``) and the platform's `DATABASE_URL`. Each as
/// `file:line: key (as written)`.
fn config_key_mentions(dir: &Path, combo: Combo, prefix: &str) -> Vec<String> {
    let keys = config_keys(&|slice| combo.is_on(slice));
    let sections: Vec<&str> = CONFIG_KEYS
        .iter()
        .filter_map(|(key, _)| key.split_once('.').map(|(section, _)| section))
        .collect();
    // Without the config slice no `<P>` variable is read at all.
    let variable_problem = |name: &str| -> Option<String> {
        if NON_KEY_VARIABLES.contains(&name) {
            return (!combo.is_on("config")).then(|| name.to_string());
        }
        let key = name
            .strip_suffix("_FILE")
            .unwrap_or(name)
            .replace("__", ".")
            .to_ascii_lowercase();
        // `<P>DATABASE__` and the like name a group of keys.
        let known = if let Some(group) = key.strip_suffix('.') {
            keys.iter().any(|k| k.starts_with(&format!("{group}.")))
        } else {
            keys.contains(&key.as_str())
        };
        (!known || !combo.is_on("config")).then_some(key)
    };

    let mut findings = Vec::new();
    for file in documenting_files(dir) {
        let Ok(text) = std::fs::read_to_string(dir.join(&file)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let at = format!("{file}:{}", n + 1);
            for (start, _) in line.match_indices(prefix) {
                let rest = &line[start + prefix.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(rest.len());
                let name = &rest[..end];
                if name.is_empty() {
                    continue; // `<P>*`, `<P>…`, the prefix itself
                }
                if let Some(key) = variable_problem(name) {
                    findings.push(format!("{at}: {key} (<P>{name})"));
                }
            }
            // Odd-numbered pieces between backticks are code spans.
            for span in line.split('`').skip(1).step_by(2) {
                // A variable name without its prefix: `DATABASE__URL`.
                let unprefixed = span.contains("__")
                    && span.split("__").all(|part| !part.is_empty())
                    && span
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if unprefixed && !span.starts_with(prefix) {
                    if let Some(key) = variable_problem(span) {
                        findings.push(format!("{at}: {key} (`{span}`)"));
                    }
                    continue;
                }
                let Some((section, _)) = span.split_once('.') else {
                    continue;
                };
                let looks_like_key = span
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
                if looks_like_key
                    && sections.contains(&section)
                    && !keys.contains(&span)
                    && !NON_KEY_NAMES.contains(&span)
                {
                    findings.push(format!("{at}: {span} (`{span}`)"));
                }
            }
            if !combo.is_on("database") && line.contains("DATABASE_URL") {
                findings.push(format!("{at}: database.url (DATABASE_URL)"));
            }
        }
    }
    findings
}

/// `rustfmt --check` over every Rust file of a render: cheap enough for every combination,
/// where a full `cargo fmt` would need each render's dependencies resolved. Liquid blocks that
/// leave a blank line too many or a line too long show up here.
fn formatting_problems(dir: &std::path::Path) -> Vec<String> {
    // Crate roots only: rustfmt follows their `mod` declarations to the other files.
    let files: Vec<String> = list_files(dir)
        .into_iter()
        .filter(|file| {
            file == "src/lib.rs"
                || file == "src/main.rs"
                || (file.starts_with("tests/")
                    && file.ends_with(".rs")
                    && (file.matches('/').count() == 1 || file.ends_with("/main.rs")))
        })
        .collect();
    let output = std::process::Command::new("rustfmt")
        .args(["--check", "--edition", "2024"])
        .args(&files)
        .current_dir(dir)
        .output()
        .expect("rustfmt runs");
    if output.status.success() {
        Vec::new()
    } else {
        vec![format!(
            "not rustfmt-clean:\n{}",
            String::from_utf8_lossy(&output.stdout)
        )]
    }
}

#[test]
fn given_port_and_env_prefix_are_applied() {
    let render = Generate::new()
        .name("custom-values")
        .define("port", "9090")
        .define("env_prefix", "SHOP_")
        .render();
    let problems = value_problems(&render, Combo::ALL_ON, "9090", "SHOP_");
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let derived = "CUSTOM_VALUES_";
    for file in list_files(&render.dir) {
        let text =
            String::from_utf8_lossy(&std::fs::read(render.dir.join(&file)).unwrap()).into_owned();
        assert!(
            !text.contains(derived),
            "{file} uses the derived prefix {derived} although env_prefix=SHOP_ was given"
        );
    }
}

#[test]
fn env_prefix_is_derived_from_the_project_name() {
    let render = Generate::new().name("orders-api").render();
    let problems = value_problems(&render, Combo::ALL_ON, "8080", "ORDERS_API_");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn post_hook_says_what_was_generated_and_what_to_run() {
    let render = Generate::new()
        .name("told-service")
        .defines(&Combo::from_bits("101011001011").defines())
        .render();
    let text = render.attempt.text();
    for expected in [
        "slices on:  config, shutdown, database, docker, ci, otel, catalog",
        "slices off: logging, health, compose, kubernetes, metrics",
        "cargo generate-lockfile",
        "--locked",
        "cargo test",
        "cargo run",
        "DATABASE_URL",
    ] {
        assert!(
            text.contains(expected),
            "post hook output lacks `{expected}`:\n{text}"
        );
    }
}

#[test]
fn project_names_are_converted_the_way_cargo_generate_does() {
    // (given, folder and package name, crate name, env prefix). cargo-generate 0.23.14 keeps a
    // name that is already snake_case and makes anything else kebab-case (heck); the crate
    // name is heck's snake_case of that (hooks/NOTES.md).
    let cases = [
        ("My_Svc", "my-svc", "my_svc", "MY_SVC_"),
        ("Orders API", "orders-api", "orders_api", "ORDERS_API_"),
        (
            "lockFirmware",
            "lock-firmware",
            "lock_firmware",
            "LOCK_FIRMWARE_",
        ),
        ("orders--api-", "orders-api", "orders_api", "ORDERS_API_"),
        ("orders_api", "orders_api", "orders_api", "ORDERS_API_"),
    ];
    for (given, name, crate_name, prefix) in cases {
        let attempt = Generate::new().name(given).attempt();
        assert!(
            attempt.output.status.success(),
            "`--name {given}` was refused:\n{}",
            attempt.describe()
        );
        let folders: Vec<String> = std::fs::read_dir(attempt.destination())
            .expect("read destination")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            folders,
            [name],
            "`--name {given}` rendered into the wrong folder:\n{}",
            attempt.describe()
        );
        let dir = attempt.destination().join(name);
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
        };
        let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
        assert_eq!(
            manifest["package"]["name"].as_str(),
            Some(name),
            "`--name {given}`: package name in Cargo.toml"
        );
        assert!(
            read("src/main.rs").contains(&format!("use {crate_name}::")),
            "`--name {given}`: src/main.rs does not use the crate `{crate_name}`"
        );
        let problems = value_problems(
            &Render {
                dir: dir.clone(),
                attempt,
            },
            Combo::ALL_ON,
            "8080",
            prefix,
        );
        assert!(
            problems.is_empty(),
            "`--name {given}`: {}",
            problems.join("\n")
        );
    }
    // The hook says which name it made, and what from.
    let attempt = Generate::new().name("My_Svc").attempt();
    let text = attempt.text();
    assert!(
        text.contains("Project name: my-svc (crate my_svc), made from 'My_Svc'"),
        "the hooks do not tell the user the final name:\n{text}"
    );
}
