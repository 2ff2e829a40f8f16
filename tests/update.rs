//! `cargo template-update` on real git histories: the template copied into a repository of its
//! own as revision A, a service rendered from A and committed, the user's edits, and a
//! revision B of the template. Every check runs with the pinned and with the newest
//! cargo-generate.
//!
//! The update renders through the real cargo-generate and merges through the service's own git.

use std::collections::BTreeSet;

use template_harness::cargo::cargo;
use template_harness::files::list_files;
use template_harness::postgres::postgres_url;
use template_harness::render::{CargoGenerate, Generate};
use template_harness::report::progress;
use template_harness::update::{ANSWERS_FILE, TemplateHistory, UserService};

/// The name services are rendered under.
const NAME: &str = "update-svc";

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Revision B: a template-only change (`.gitignore`), a change to the line the user also edits
/// (README.md's title), a change to a file the user deletes (compose.yaml), a change to Rust
/// code, and a new version.
fn revise(history: &TemplateHistory) -> String {
    history.replace(
        "template/.gitignore",
        "/target",
        "/target\n# Added by revision B.\n/scratch",
    );
    history.replace(
        "template/README.md",
        "# {{project-name}}\n",
        "# {{project-name}}, a service\n",
    );
    let compose = history.read("template/compose.yaml");
    history.write(
        "template/compose.yaml",
        &format!("{compose}# Changed by revision B.\n"),
    );
    history.replace(
        "template/src/health.rs",
        "/// A probe's answer.",
        "/// A probe's answer, as the health-check draft shapes it.",
    );
    history.commit("revision B", "9.9.9-b")
}

/// The user's edits: a line the template never changes (`src/main.rs`'s first line), a new
/// file, and compose.yaml deleted.
fn edit_without_conflict(service: &UserService) {
    service.replace_line(
        "src/main.rs",
        1,
        "//! Entry point of our service (edited by us).",
    );
    service.write("OURS.md", "Notes of our own.\n");
    service.git(&["rm", "--quiet", "compose.yaml"]);
    service.commit_all("our edits");
}

fn answers_field(service: &UserService, key: &str) -> String {
    let answers: toml::Table = service.read(ANSWERS_FILE).parse().expect("answers parse");
    answers["template"][key]
        .as_str()
        .expect("a string field")
        .to_owned()
}

#[test]
fn update_merges_template_changes_around_the_users_edits() {
    for tool in CargoGenerate::all() {
        let history = TemplateHistory::create();
        let service = history.service(NAME, &[], tool);
        edit_without_conflict(&service);
        service.replace_line("README.md", 1, "# Our own title");
        service.commit_all("our title");
        let b = revise(&history);

        let source = history.path.display().to_string();
        let output = service.update(&["--source", &source]);
        let said = text(&output);
        let mut problems = Vec::new();
        if output.status.code() != Some(1) {
            problems.push(format!(
                "exit code {:?}, expected 1 for a conflict",
                output.status.code()
            ));
        }
        if !said.contains("conflicts") || !said.contains("  README.md") {
            problems.push("the conflict in README.md is not listed".to_owned());
        }
        if !said.contains("kept deleted: compose.yaml") {
            problems.push("it does not say that compose.yaml stays deleted".to_owned());
        }
        if !service.read(".gitignore").contains("/scratch") {
            problems.push("the template-only change to .gitignore did not arrive".to_owned());
        }
        if !service
            .read("src/health.rs")
            .contains("as the health-check draft shapes it")
        {
            problems.push("the template's change to src/health.rs did not arrive".to_owned());
        }
        if !service
            .read("src/main.rs")
            .starts_with("//! Entry point of our service (edited by us).")
        {
            problems.push("the user's edit to src/main.rs was lost".to_owned());
        }
        let readme = service.read("README.md");
        if !(readme.contains("<<<<<<<")
            && readme.contains("# Our own title")
            && readme.contains(&format!("# {NAME}, a service")))
        {
            problems.push(format!(
                "README.md has no ordinary conflict markers:\n{readme}"
            ));
        }
        if service.dir.join("compose.yaml").exists() {
            problems.push("compose.yaml, deleted by the user, came back".to_owned());
        }
        if service.read("OURS.md") != "Notes of our own.\n" {
            problems.push("the user's own file changed".to_owned());
        }
        let status = service.git(&["status", "--porcelain"]);
        if !status.lines().any(|line| line == "UU README.md") {
            problems.push(format!(
                "git does not see README.md as conflicted:\n{status}"
            ));
        }
        if answers_field(&service, "version") != "9.9.9-b"
            || answers_field(&service, "revision") != b
        {
            problems.push(format!(
                "{ANSWERS_FILE} does not record revision B:\n{}",
                service.read(ANSWERS_FILE)
            ));
        }
        progress(&format!(
            "[update] cargo-generate {}: A -> B with edits: exit {:?}, README.md conflicted, \
             compose.yaml kept deleted, .gitignore and src/health.rs merged",
            tool.version(),
            output.status.code()
        ));
        assert!(
            problems.is_empty(),
            "{}\n--- the tool said ---\n{said}",
            problems.join("\n")
        );
    }
}

#[test]
fn an_update_without_conflicts_builds_and_passes_its_tests() {
    let database_url = postgres_url();
    let history = TemplateHistory::create();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    edit_without_conflict(&service);
    revise(&history);

    let output = service.update(&[]);
    // No source recorded yet: the tool says so and changes nothing.
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let source = history.path.display().to_string();
    let output = service.update(&["--source", &source]);
    assert!(output.status.success(), "{}", text(&output));
    service.commit_all("take template revision B");

    cargo(&service.dir, &["build", "--all-targets"]);
    let tested = template_harness::cargo::cargo_command(&service.dir, &["test"])
        .env("DATABASE_URL", &database_url)
        .output()
        .expect("run cargo test");
    assert!(
        tested.status.success(),
        "the updated service fails its own tests:\n{}",
        text(&tested)
    );
    progress("[update] A -> B without conflicts: builds, and `cargo test` passes");
}

/// Files and contents of `dir`, except `.template-answers.toml`'s source and revision.
fn tree(dir: &std::path::Path) -> Vec<(String, String)> {
    list_files(dir)
        .into_iter()
        .filter(|file| !file.starts_with(".git/") && !file.starts_with("target/"))
        .map(|file| {
            let text = std::fs::read_to_string(dir.join(&file)).unwrap_or_default();
            let text = if file == ANSWERS_FILE {
                text.lines()
                    .filter(|line| {
                        !line.starts_with("source = ") && !line.starts_with("revision = ")
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                text
            };
            (file, text)
        })
        .collect()
}

#[test]
fn a_slice_switched_on_later_matches_a_fresh_render() {
    for tool in CargoGenerate::all() {
        for slice in ["kubernetes", "database"] {
            let history = TemplateHistory::create();
            let service = history.service(NAME, &[(slice, "false")], tool);
            service.replace_line(
                "src/main.rs",
                1,
                "//! Entry point of our service (edited by us).",
            );
            service.commit_all("our edit");
            let source = history.path.display().to_string();
            let define = format!("{slice}=true");
            let output = service.update(&["--source", &source, "-d", &define]);
            assert!(output.status.success(), "{}", text(&output));
            service.commit_all(&format!("switch {slice} on"));

            let fresh = Generate::new()
                .name(NAME)
                .tool(tool)
                .source(&history.path)
                .define(slice, "true")
                .render();
            let updated = tree(&service.dir);
            let expected = tree(&fresh.dir);
            let updated_files: BTreeSet<&String> = updated.iter().map(|(file, _)| file).collect();
            let expected_files: BTreeSet<&String> = expected.iter().map(|(file, _)| file).collect();
            let mut problems = Vec::new();
            for file in expected_files.symmetric_difference(&updated_files) {
                problems.push(format!(
                    "{file}: in only one of the update and the fresh render"
                ));
            }
            for ((file, ours), (_, fresh)) in updated.iter().zip(expected.iter()) {
                if ours == fresh {
                    continue;
                }
                let edited = file == "src/main.rs"
                    && ours.lines().skip(1).eq(fresh.lines().skip(1))
                    && ours.starts_with("//! Entry point of our service");
                if !edited {
                    problems.push(format!(
                        "{file} differs from a fresh render with {slice} on"
                    ));
                }
            }
            progress(&format!(
                "[update] cargo-generate {}: {slice} switched on later: {} files, {} \
                 differences from a fresh render besides the user's edit",
                tool.version(),
                updated.len(),
                problems.len()
            ));
            assert!(
                problems.is_empty(),
                "{}\n--- the tool said ---\n{}",
                problems.join("\n"),
                text(&output)
            );
        }
    }
}

#[test]
fn check_mode_says_whether_the_service_is_behind() {
    for tool in CargoGenerate::all() {
        let history = TemplateHistory::create();
        let service = history.service(NAME, &[], tool);
        let source = history.path.display().to_string();

        let current = service.update(&["--check", "--source", &source]);
        assert_eq!(
            current.status.code(),
            Some(0),
            "fresh render: {}",
            text(&current)
        );

        // A change outside what renders (the template repository's own files) changes nothing.
        history.write("NOTES-OF-THE-TEMPLATE-REPO.md", "not rendered\n");
        history.commit("a file of the template repository only", &history.version());
        let unrendered = service.update(&["--check", "--source", &source]);
        assert_eq!(unrendered.status.code(), Some(0), "{}", text(&unrendered));

        revise(&history);
        let behind = service.update(&["--check", "--source", &source]);
        assert_eq!(
            behind.status.code(),
            Some(1),
            "after revision B: {}",
            text(&behind)
        );
        assert!(text(&behind).contains("behind"), "{}", text(&behind));

        let updated = service.update(&["--source", &source]);
        assert!(updated.status.success(), "{}", text(&updated));
        service.commit_all("take revision B");
        // The source is recorded now.
        let again = service.update(&["--check"]);
        assert_eq!(
            again.status.code(),
            Some(0),
            "after the update: {}",
            text(&again)
        );
        progress(&format!(
            "[update] cargo-generate {}: --check: 0 when current, 0 after an unrendered change, \
             1 when behind, 0 after the update",
            tool.version()
        ));
    }
}

/// A case: its name, what spoils the service, the tool's arguments, what the message must say.
type BadStart<'a> = (&'a str, &'a dyn Fn(&UserService), Vec<&'a str>, &'a str);

#[test]
fn bad_starts_say_what_is_wrong_and_change_nothing() {
    for tool in CargoGenerate::all() {
        // Each case renders at A and then finds revision B: an update that would change files.
        let source = "{source}";
        let cases: [BadStart; 4] = [
            (
                "a dirty tree",
                &|service| service.write("src/main.rs", "// uncommitted\n"),
                vec!["--source", source],
                "not clean",
            ),
            (
                "an untracked file",
                &|service| service.write("scratch.txt", "x\n"),
                vec!["--source", source],
                "scratch.txt",
            ),
            (
                "an unknown revision",
                &|_| {},
                vec!["--source", source, "--to", "no-such-revision"],
                "unknown revision no-such-revision",
            ),
            (
                "a missing answers file",
                &|service| {
                    service.git(&["rm", "--quiet", ANSWERS_FILE]);
                    service.commit_all("no answers");
                },
                vec!["--source", source],
                "no .template-answers.toml",
            ),
        ];
        for (case, spoil, args, expected) in cases {
            let history = TemplateHistory::create();
            let service = history.service(NAME, &[], tool);
            revise(&history);
            spoil(&service);
            let before = service.state();
            let path = history.path.display().to_string();
            let args: Vec<&str> = args
                .iter()
                .map(|arg| if *arg == source { path.as_str() } else { arg })
                .collect();
            let output = service.update(&args);
            let said = text(&output);
            assert_eq!(output.status.code(), Some(2), "{case}: {said}");
            assert!(
                said.contains(expected),
                "{case}: the message does not say `{expected}`:\n{said}"
            );
            assert!(said.contains("nothing was changed"), "{case}: {said}");
            assert_eq!(service.state(), before, "{case}: the service changed");
            progress(&format!(
                "[update] cargo-generate {}: {case}: exit 2, `{expected}`, nothing changed",
                tool.version()
            ));
        }
    }
}

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
fn a_source_given_at_render_time_is_used_by_the_first_update() {
    for tool in CargoGenerate::all() {
        let history = TemplateHistory::create();
        let source = history.path.display().to_string();
        let service = history.service(NAME, &[("template_source", &source)], tool);
        assert_eq!(
            answers_field(&service, "source"),
            source,
            "the source is not recorded"
        );
        edit_without_conflict(&service);
        let b = revise(&history);
        let output = service.update(&[]);
        assert!(output.status.success(), "{}", text(&output));
        assert_eq!(answers_field(&service, "revision"), b);
        assert!(
            service.read(".gitignore").contains("/scratch"),
            "revision B did not arrive"
        );
        progress(&format!(
            "[update] cargo-generate {}: `-d template_source=…` at render time: the first \
             update needs no --source",
            tool.version()
        ));
    }
}

#[test]
fn a_service_in_a_monorepo_folder_takes_updates() {
    for tool in CargoGenerate::all() {
        let history = TemplateHistory::create();
        let service = history.service_in_monorepo(NAME, tool);
        edit_without_conflict(&service);
        let b = revise(&history);
        let source = history.path.display().to_string();
        let output = service.update(&["--source", &source]);
        let said = text(&output);
        assert!(output.status.success(), "{said}");
        assert!(
            service.read(".gitignore").contains("/scratch"),
            "revision B did not arrive: {said}"
        );
        assert_eq!(answers_field(&service, "revision"), b);
        assert!(
            said.contains(&format!("kept deleted: services/{NAME}/compose.yaml")),
            "{said}"
        );
        let changed = service.git(&["status", "--porcelain"]);
        let outside: Vec<&str> = changed
            .lines()
            .filter(|line| !line[3..].starts_with(&format!("services/{NAME}/")))
            .collect();
        assert!(
            outside.is_empty(),
            "the update touched files outside the service: {outside:?}"
        );
        progress(&format!(
            "[update] cargo-generate {}: a service in services/{NAME} of a monorepo: updated, \
             nothing outside its folder touched",
            tool.version()
        ));
    }
}
