//! Renders every slice combination through the real cargo-generate and checks the files: no
//! Liquid left, exactly the expected file set, the expected dependencies, and the values applied.
//! No compiling here (tests/build.rs does that for a covering subset).

mod common;

use common::{
    Combo, Generate, Render, dependency_problems, file_set_problems, liquid_leftovers,
    missing_pairs,
};

/// Where the port and the environment prefix must show up in a render.
fn value_problems(render: &Render, combo: Combo, port: &str, prefix: &str) -> Vec<String> {
    let read = |file: &str| std::fs::read_to_string(render.dir.join(file)).unwrap_or_default();
    let mut problems = Vec::new();
    let config = read("src/config.rs");
    if !config.contains(port) {
        problems.push(format!("src/config.rs does not contain the port {port}"));
    }
    // Without the config slice the service reads only the platform's variables (PORT, ...):
    // the prefix has nowhere to go.
    if combo.is_on("config") {
        for file in ["src/config.rs", ".env.example"] {
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
    assert_eq!(Combo::all().len(), 1 << common::slices::SLICES.len());
    assert_eq!(missing_pairs(&Combo::all()), Vec::<String>::new());
}

#[test]
fn every_combination_renders_the_expected_files() {
    let combos = Combo::all();
    let mut failures = Vec::new();
    for &combo in &combos {
        let name = combo.project_name();
        let render = Generate::new()
            .name(&name)
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
    }
    assert!(
        failures.is_empty(),
        "{} of {} combinations render wrongly:\n\n{}",
        failures.len(),
        combos.len(),
        failures.join("\n\n")
    );
}

/// `rustfmt --check` over every Rust file of a render: cheap enough for every combination,
/// where a full `cargo fmt` would need each render's dependencies resolved. Liquid blocks that
/// leave a blank line too many or a line too long show up here.
fn formatting_problems(dir: &std::path::Path) -> Vec<String> {
    // Crate roots only: rustfmt follows their `mod` declarations to the other files.
    let files: Vec<String> = common::list_files(dir)
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
    for file in common::list_files(&render.dir) {
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
        .defines(&Combo::from_bits("101011001").defines())
        .render();
    let text = render.attempt.text();
    for expected in [
        "slices on:  config, shutdown, database, docker, ci",
        "slices off: logging, health, compose, kubernetes",
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
