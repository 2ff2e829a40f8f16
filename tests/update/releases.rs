//! What an update brings, and one declaration of the answers format and of the version:
//! versions and the changelog, the answers file, installing the tool.

use super::*;

#[test]
fn the_answers_file_replays_the_render_through_values_file() {
    for tool in CargoGenerate::all() {
        let first = Generate::new()
            .tool(tool)
            .name(NAME)
            .define(
                "description",
                "Orders for O'Brien & Co., täglich: 100% <fast>",
            )
            .define("port", "9090")
            .define("database", "false")
            .define("kubernetes", "true")
            .render();
        let again = Generate::new()
            .tool(tool)
            .name(NAME)
            .values_file(&first.dir.join(ANSWERS_FILE))
            .render();
        let output = std::process::Command::new("diff")
            .arg("-ru")
            .arg(&first.dir)
            .arg(&again.dir)
            .output()
            .expect("run diff");
        assert!(
            output.status.success(),
            "cargo-generate {}: --values-file {ANSWERS_FILE} renders something else:\n{}",
            tool.version(),
            String::from_utf8_lossy(&output.stdout)
        );
        progress(&format!(
            "[update] cargo-generate {}: --values-file {ANSWERS_FILE} renders the same service",
            tool.version()
        ));
    }
}

#[test]
fn check_names_both_versions_and_prints_the_changelog_between_them() {
    let history = TemplateHistory::create();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    let version = history.version();
    revise(&history);

    let output = service.update(&["--check", "--source", &history.url()]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        line_starting(&said, "service:").contains(&format!("version {version}")),
        "{said}"
    );
    assert!(
        line_starting(&said, "newest:").contains("version 9.9.9-b"),
        "{said}"
    );
    for line in [
        "## [9.9.9-b] - 2026-12-07",
        "- The README's title names the service.",
        "By hand: nothing.",
    ] {
        assert!(
            said.contains(line),
            "the changelog entry is not printed (`{line}`):\n{said}"
        );
    }
    assert!(
        !said.contains(&format!("## [{version}]")),
        "an entry the service has is printed:\n{said}"
    );
    progress(&format!(
        "[update] --check: versions {version} and 9.9.9-b, and the entry between"
    ));
}

#[test]
fn the_answers_the_hook_writes_parse_with_the_tools_module() {
    // The pre hook refuses quotes, backslashes and line breaks in a description.
    let description = "Orders for O'Brien & Co., täglich: 100% <fast> # not a comment";
    let render = Generate::new()
        .name(NAME)
        .define("description", description)
        .define("port", "9090")
        .define("database", "false")
        .define("kubernetes", "true")
        // On, so the answers asked only with it (catalog_owner, ...) are given and recorded.
        .define("catalog", "true")
        .define("catalog_owner", "group:default/payments")
        .define("template_source", "https://example.com/acme/template.git")
        .render();
    let text = render.read(ANSWERS_FILE);
    let answers = Answers::parse(&text)
        .unwrap_or_else(|e| panic!("the hook's answers do not parse: {e:#}\n{text}"));
    assert_eq!(answers.name(), NAME);
    assert_eq!(answers.source(), "https://example.com/acme/template.git");
    assert_eq!(answers.revision(), "");
    let values = answers.values();
    assert_eq!(values["description"], Answer::Text(description.to_owned()));
    assert_eq!(values["port"], Answer::Text("9090".to_owned()));
    assert_eq!(values["database"], Answer::Bool(false));
    assert_eq!(values["kubernetes"], Answer::Bool(true));
    assert_eq!(
        values["catalog_owner"],
        Answer::Text("group:default/payments".to_owned())
    );
    // Every placeholder the template declares is answered.
    let config = std::fs::read_to_string(template_dir().join("cargo-generate.toml"))
        .expect("read template/cargo-generate.toml");
    let declared = cargo_template_update::answers::placeholders(&config).expect("parses");
    let answered: Vec<&String> = values.keys().collect();
    let declared: Vec<&String> = declared.keys().collect();
    assert_eq!(
        answered, declared,
        "answered and declared placeholders differ"
    );
    progress(&format!(
        "[update] the hook's answers file parses with the tool's module: {} values",
        values.len()
    ));
}

#[test]
fn the_version_renders_record_is_the_changelogs_newest_release() {
    let changelog =
        std::fs::read_to_string(repo_root().join("CHANGELOG.md")).expect("read CHANGELOG.md");
    let newest = changelog_version(&changelog);
    let render = Generate::new().name(NAME).render();
    let answers = Answers::parse(&render.read(ANSWERS_FILE)).expect("the answers parse");
    assert_eq!(
        answers.version(),
        newest,
        "hooks/answers.rhai declares {} but CHANGELOG.md's newest release is {newest}: bump \
         them together",
        answers.version()
    );
    progress(&format!(
        "[update] renders record version {newest}, CHANGELOG.md's newest release"
    ));
}

/// `cargo install --git <repo> cargo-template-update` reads every manifest in the repository
/// to find the package; a Liquid `Cargo.toml` in `template/` made it print a red `error:`.
/// A crate depending on the tool by git makes cargo scan the checkout the same way (the same
/// git source reads the same manifests and prints the same message), without building it.
#[test]
fn cargo_finds_the_tool_in_this_repository_without_an_error() {
    let clone = clone_this_repository();
    let probe = template_harness::files::new_temp_dir("install-probe-");
    std::fs::create_dir_all(probe.path().join("src")).expect("create the probe's src");
    std::fs::write(probe.path().join("src/lib.rs"), "").expect("write the probe's lib.rs");
    let manifest = format!(
        "[package]\nname = \"install-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
         [dependencies]\ncargo-template-update = {{ git = \"{}\", branch = \"main\" }}\n",
        clone.url()
    );
    std::fs::write(probe.path().join("Cargo.toml"), manifest).expect("write the probe");
    let output = template_harness::cargo::cargo_command(probe.path(), &["generate-lockfile"])
        .output()
        .expect("run cargo");
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        !said.contains("error:"),
        "cargo prints an error while reading this repository:\n{said}"
    );
    progress("[update] cargo reads every manifest of this repository without an error");
}

/// The tool's own unit tests (its modules, in `update/src`) run with every test pass: the tool is
/// a package of its own, outside this one's `cargo test`.
#[test]
fn the_tools_own_unit_tests_pass() {
    use template_harness::command::{describe_output, run};
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["test", "--locked", "--manifest-path"])
        .arg(repo_root().join("update").join("Cargo.toml"))
        .env(
            "CARGO_TARGET_DIR",
            repo_root().join("target").join("update"),
        );
    let output = run(&mut cmd);
    let said = text(&output);
    assert!(
        output.status.success(),
        "{}",
        describe_output("cargo test (update/)", &output)
    );
    let passed: usize = said
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed > 0, "the tool's unit tests did not run:\n{said}");
    progress(&format!(
        "[update] the tool's own unit tests: {passed} passed"
    ));
}
