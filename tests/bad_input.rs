//! Bad input must stop cargo-generate with a message that names the problem, and render
//! nothing.
//!
//! Project names are checked by hooks/init.rhai, which runs before cargo-generate 0.23.14 makes
//! the project folder: nothing at all is left behind. Values given with `-d` only reach hooks
//! after that folder exists, and no hook may delete it (hooks/NOTES.md): for those the folder is
//! left empty and the message tells the user to remove it.

use template_harness::files::list_files;
use template_harness::render::{Attempt, CargoGenerate, Generate};

/// Nothing at all may exist at the destination: not even an empty folder.
fn assert_nothing_left(attempt: &Attempt) {
    let left = list_files(&attempt.destination());
    let entries: Vec<_> = std::fs::read_dir(attempt.destination())
        .expect("read destination")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        entries.is_empty(),
        "bad input left {entries:?} (files: {left:?}) at the destination:\n{}",
        attempt.describe()
    );
}

#[test]
fn bad_project_names_are_refused_before_anything_is_made() {
    // Names are first converted the way cargo-generate converts them (`9 Lives` -> `9-lives`,
    // `Fn` -> `fn`); what cannot become a crate name then is refused, naming both spellings.
    let cases: &[(&str, &[&str])] = &[
        ("1abc", &["'1abc'", "starts with a digit"]),
        (
            "9 Lives",
            &["'9 Lives'", "'9-lives'", "starts with a digit"],
        ),
        ("fn", &["'fn'", "Rust keyword"]),
        ("Fn", &["'Fn'", "'fn'", "Rust keyword"]),
        ("test", &["'test'", "reserved crate name"]),
        ("proc-macro", &["'proc_macro'", "reserved crate name"]),
        ("!!!", &["'!!!'", "no letters or digits"]),
        ("Ördnung", &["'ördnung'", "contains 'ö'"]),
    ];
    for tool in CargoGenerate::all() {
        for (name, mentions) in cases {
            let attempt = Generate::new().tool(tool).name(name).attempt();
            attempt.assert_refused(name, mentions);
            assert_nothing_left(&attempt);
        }
    }
}

#[test]
fn a_snake_case_name_is_refused_for_kubernetes_manifests() {
    // cargo-generate keeps `orders_api` as it is, and Kubernetes object names cannot hold `_`.
    // The kubernetes value is known only in the pre hook, after the folder exists.
    let name = "orders_api";
    for tool in CargoGenerate::all() {
        refuse_snake_case_for_kubernetes(tool, name);
    }
}

fn refuse_snake_case_for_kubernetes(tool: CargoGenerate, name: &str) {
    let attempt = Generate::new()
        .tool(tool)
        .name(name)
        .define("kubernetes", "true")
        .attempt();
    attempt.assert_refused(name, &["'orders_api'", "Kubernetes", "--name orders-api"]);
    assert!(
        attempt.text().contains("remove the empty folder"),
        "the message does not say to remove the empty folder:\n{}",
        attempt.text()
    );
}

#[test]
fn bad_values_are_refused_and_render_nothing() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("port", "99999", &["'99999'", "1 to 65535"]),
        ("description", "Say \"hi\"", &["description", "'\"'"]),
        ("description", "C:\\path", &["description", "'\\'"]),
        ("port", "0", &["'0'", "1 to 65535"]),
        ("port", "080", &["'080'", "leading zeros"]),
        ("env_prefix", "lower_", &["'lower_'", "upper-case letter"]),
        ("env_prefix", "SHOP", &["'SHOP'", "ending in '_'"]),
        (
            "env_prefix",
            "1SHOP_",
            &["'1SHOP_'", "upper-case letter first"],
        ),
    ];
    for (tool, (key, value, mentions)) in CargoGenerate::all()
        .into_iter()
        .flat_map(|tool| cases.iter().map(move |case| (tool, case)))
    {
        let name = "bad-values";
        let attempt = Generate::new()
            .tool(tool)
            .name(name)
            .define(key, value)
            .attempt();
        attempt.assert_refused(name, mentions);
        // cargo-generate 0.23.14 has made the project folder before any hook sees `-d` values
        // (hooks/NOTES.md); the message must at least tell the user to remove it.
        if attempt.destination().join(name).exists() {
            let text = attempt.text();
            assert!(
                text.contains("remove the empty folder"),
                "an empty folder is left and the message does not say so:\n{text}"
            );
        }
    }
}

#[test]
fn a_non_numeric_port_is_refused() {
    // Caught by the placeholder's regex in template/cargo-generate.toml, before the hooks.
    for tool in CargoGenerate::all() {
        let attempt = Generate::new()
            .tool(tool)
            .name("bad-port")
            .define("port", "http")
            .attempt();
        attempt.assert_refused("bad-port", &["\"http\"", "port"]);
    }
}

#[test]
fn catalog_values_that_would_break_catalog_info_yaml_are_refused() {
    // Caught by the placeholders' regexes, which cargo-generate applies to the conditional
    // placeholders too: a colon and space would end a YAML value, a slash split the slug.
    let cases = [
        ("catalog_owner", "team: payments"),
        ("catalog_system", "checkout system"),
        ("catalog_lifecycle", "production # for now"),
        ("github_org", "acme/shop"),
    ];
    for tool in CargoGenerate::all() {
        for (key, value) in cases {
            let attempt = Generate::new()
                .tool(tool)
                .name("bad-catalog")
                .define("catalog", "true")
                .define(key, value)
                .attempt();
            attempt.assert_refused("bad-catalog", &[&format!("\"{value}\""), key]);
        }
    }
}
