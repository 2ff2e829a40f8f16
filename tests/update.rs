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
use template_harness::render::{CargoGenerate, Generate, repo_root, template_dir};
use template_harness::report::progress;
use template_harness::update::{
    ANSWERS_FILE, Answer, Answers, FIRST_COMMIT_WITH_ANSWERS, RepositoryClone, TEMPLATE_MANIFEST,
    TemplateHistory, UserService, add_a_dependency, changelog_version, clone_this_repository,
    service_updated_with_new_dependencies,
};

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
    history.commit_release("revision B", "9.9.9-b", REVISION_B_NOTES)
}

/// Revision B's changelog entry.
const REVISION_B_NOTES: &str = "### Changed\n\n- The README's title names the service.\n\n\
                                By hand: nothing.";

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

/// A field of the service's `[template]` table, read with the tool's answers module.
fn answers_field(service: &UserService, key: &str) -> String {
    let answers = service.answers();
    match key {
        "version" => answers.version(),
        "name" => answers.name(),
        "source" => answers.source(),
        "revision" => answers.revision(),
        _ => panic!("no field {key} in [template]"),
    }
    .to_owned()
}

/// What is wrong with what the tool said after A -> B with the user's edits.
fn merged_output_problems(output: &std::process::Output, said: &str) -> Vec<String> {
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
    problems
}

/// What is wrong with the service's files and index after A -> B with the user's edits.
fn merged_tree_problems(service: &UserService, b: &str) -> Vec<String> {
    let mut problems = Vec::new();
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
    if answers_field(service, "version") != "9.9.9-b" || answers_field(service, "revision") != b {
        problems.push(format!(
            "{ANSWERS_FILE} does not record revision B:\n{}",
            service.read(ANSWERS_FILE)
        ));
    }
    problems
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
        let mut problems = merged_output_problems(&output, &said);
        problems.extend(merged_tree_problems(&service, &b));
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

/// Files and contents of `dir`; of `.template-answers.toml`, all but the source and revision.
fn tree(dir: &std::path::Path) -> Vec<(String, String)> {
    list_files(dir)
        .into_iter()
        .filter(|file| !file.starts_with(".git/") && !file.starts_with("target/"))
        .map(|file| {
            let text = std::fs::read_to_string(dir.join(&file)).unwrap_or_default();
            let text = if file == ANSWERS_FILE {
                let answers = Answers::parse(&text).expect("the answers file parses");
                format!(
                    "{} {} {:?}",
                    answers.version(),
                    answers.name(),
                    answers.values()
                )
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
        let source = history.url();

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
        let source = history.url();
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
        assert!(said.contains("kept deleted: compose.yaml"), "{said}");
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

// ---------------------------------------------------------------------------------------------
// Provenance: the base revision is found by what the service's first commit holds.

/// The first 12 digits of a commit id, as the tool prints them.
fn short(commit: &str) -> &str {
    &commit[..12]
}

/// The line of `said` that starts with `start`, or the whole text when there is none.
fn line_starting<'a>(said: &'a str, start: &str) -> &'a str {
    said.lines()
        .find(|line| line.trim_start().starts_with(start))
        .unwrap_or(said)
}

/// A commit in the middle of this repository's history whose default render differs from the
/// renders of the commits before and after it (the metrics and otel slices arrived).
const MIDDLE_COMMIT: &str = "6699d69";

/// `--check` on a service rendered at `commit` of this repository and committed as a user
/// would: the base it reports, and whether it says "up to date".
fn check_real_render(clone: &RepositoryClone, commit: &str, tool: CargoGenerate) -> (String, bool) {
    let full = clone.commit(commit);
    let service = clone.service_at(&full, NAME, &[], tool);
    let output = service.update(&["--check", "--source", &clone.url()]);
    let said = text(&output);
    let up_to_date = output.status.code() == Some(0) && said.contains("up to date");
    let behind = output.status.code() == Some(1) && said.contains("behind");
    assert!(
        up_to_date || behind,
        "{commit}: exit {:?}:\n{said}",
        output.status.code()
    );
    (line_starting(&said, "service:").to_owned(), up_to_date)
}

#[test]
fn renders_at_real_commits_of_this_repository_report_their_own_commit() {
    let clone = clone_this_repository();
    let head = clone.commit("HEAD");
    let head_template = clone.last_template_commit(&head);
    for tool in CargoGenerate::all() {
        for commit in [FIRST_COMMIT_WITH_ANSWERS, MIDDLE_COMMIT, head.as_str()] {
            let started = std::time::Instant::now();
            let (service_line, up_to_date) = check_real_render(&clone, commit, tool);
            let full = clone.commit(commit);
            // A render at a commit that did not touch the template matches the last one that did.
            let expected = if full == head { &head_template } else { &full };
            assert!(
                service_line.contains(&format!("template revision {}", short(expected))),
                "rendered at {commit} with cargo-generate {}: the tool does not report {} as \
                 the service's base:\n{service_line}",
                tool.version(),
                short(expected)
            );
            assert_eq!(
                up_to_date,
                full == head,
                "rendered at {commit}: only the render at HEAD is up to date:\n{service_line}"
            );
            progress(&format!(
                "[update] cargo-generate {}: rendered at {commit}: --check reports {} ({}), \
                 {} s",
                tool.version(),
                short(expected),
                if up_to_date { "up to date" } else { "behind" },
                started.elapsed().as_secs()
            ));
        }
    }
}

/// Revision B of the same version as A: the README's title and a doc line of src/health.rs.
fn revise_same_version(history: &TemplateHistory) -> String {
    history.replace(
        "template/README.md",
        "# {{project-name}}\n",
        "# {{project-name}}, B\n",
    );
    history.replace(
        "template/src/health.rs",
        "/// A probe's answer.",
        "/// A probe's answer (B).",
    );
    history.commit("revision B, same version", &history.version())
}

#[test]
fn a_render_at_a_later_commit_of_the_same_version_takes_that_commit_as_base() {
    for tool in CargoGenerate::all() {
        let history = TemplateHistory::create();
        revise_same_version(&history);
        let service = history.service(NAME, &[], tool);
        // The user's title, and src/health.rs's line set back to what A had.
        service.replace_line("README.md", 1, "# Our own title");
        let health = service.read("src/health.rs");
        service.write(
            "src/health.rs",
            &health.replace("/// A probe's answer (B).", "/// A probe's answer."),
        );
        service.commit_all("our edits");
        history.replace("template/.gitignore", "/target", "/target\n/scratch-c");
        history.commit("revision C", &history.version());

        let output = service.update(&["--source", &history.url()]);
        let said = text(&output);
        assert_eq!(
            output.status.code(),
            Some(0),
            "a spurious conflict:\n{said}"
        );
        assert!(service.read(".gitignore").contains("/scratch-c"), "{said}");
        assert!(
            service.read("README.md").starts_with("# Our own title\n"),
            "{said}"
        );
        assert!(
            service
                .read("src/health.rs")
                .contains("/// A probe's answer.\n"),
            "the line the user set back took the template's newer line:\n{said}"
        );
        progress(&format!(
            "[update] cargo-generate {}: rendered at B (same version as A), edited, updated to \
             C: no conflict, the user's lines kept",
            tool.version()
        ));
    }
}

#[test]
fn a_service_edited_before_its_first_commit_gets_the_closest_base_and_is_told() {
    let history = TemplateHistory::create();
    let a = history.head();
    let render = Generate::new().name(NAME).source(&history.path).render();
    let readme = render.dir.join("README.md");
    let text_before = std::fs::read_to_string(&readme).expect("read README.md");
    std::fs::write(
        &readme,
        format!("{text_before}Edited before the first commit.\n"),
    )
    .expect("edit README.md");
    let service = UserService::commit_render(render, CargoGenerate::Pinned);
    revise(&history);

    let output = service.update(&["--check", "--source", &history.url()]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    let service_line = line_starting(&said, "service:");
    assert!(
        service_line.contains(&format!("template revision {}", short(&a))),
        "{said}"
    );
    assert!(
        said.contains("closest") && said.contains("1 line differs") && said.contains("--from"),
        "the tool does not say plainly that no revision renders the service exactly:\n{said}"
    );
    progress("[update] edited before the first commit: --check names the closest base and says so");
}

#[test]
fn a_shallow_service_history_is_refused_with_what_to_fetch() {
    let history = TemplateHistory::create();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    service.replace_line("src/main.rs", 1, "//! Ours.");
    service.commit_all("our edit");
    revise(&history);
    let shallow = template_harness::files::new_temp_dir("shallow-service-");
    let dir = shallow.path().join("svc");
    let url = format!("file://{}", service.dir.display());
    let cloned = std::process::Command::new("git")
        .args(["clone", "--quiet", "--depth", "1", &url])
        .arg(&dir)
        .output()
        .expect("run git clone");
    assert!(cloned.status.success(), "{}", text(&cloned));
    let output = std::process::Command::new(template_harness::update::template_update_bin())
        .current_dir(&dir)
        .args(["--check", "--source", &history.url()])
        .env("CARGO_GENERATE", CargoGenerate::Pinned.bin())
        .output()
        .expect("run cargo-template-update");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(
        said.contains("shallow") && said.contains("fetch-depth: 0"),
        "{said}"
    );
    progress("[update] a shallow clone of the service: refused, naming `git fetch --unshallow`");
}

// ---------------------------------------------------------------------------------------------
// The lockfile: an update leaves a tree that builds with `--locked`.

/// `package name -> version` in the lockfile text.
fn lock_pins(lock: &str) -> Vec<(String, String)> {
    let lock: toml::Table = lock.parse().expect("Cargo.lock parses");
    lock["package"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let field = |key: &str| package[key].as_str().expect("a string").to_owned();
            (field("name"), field("version"))
        })
        .collect()
}

#[test]
fn an_update_that_adds_dependencies_leaves_a_lockfile_that_builds_locked() {
    let (_history, service, output) =
        service_updated_with_new_dependencies(NAME, CargoGenerate::Pinned);
    let before = service.git(&["show", "HEAD:Cargo.lock"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    let status = service.git(&["status", "--porcelain"]);
    assert!(
        status.lines().any(|line| line == "M  Cargo.lock"),
        "Cargo.lock is not updated and staged:\n{status}\n{said}"
    );
    let after = lock_pins(&service.read("Cargo.lock"));
    for name in ["metrics", "metrics-exporter-prometheus", "itoa"] {
        assert!(
            after.iter().any(|(n, _)| n == name),
            "{name} is not in Cargo.lock"
        );
    }
    // The smallest change: every package pinned before keeps its version.
    let moved: Vec<String> = lock_pins(&before)
        .into_iter()
        .filter(|pin| !after.contains(pin))
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    assert!(moved.is_empty(), "pins that changed: {moved:?}");
    service.commit_all("metrics on, and template revision B");
    cargo(&service.dir, &["build", "--locked"]);
    progress(
        "[update] -d metrics=true and a new dependency: Cargo.lock synced and staged, \
              no pin moved, `cargo build --locked` passes",
    );
}

#[test]
fn a_conflicted_manifest_says_how_to_sync_the_lockfile_after_resolving() {
    let history = TemplateHistory::create();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    cargo(&service.dir, &["generate-lockfile"]);
    let manifest = service.read("Cargo.toml");
    service.write(
        "Cargo.toml",
        &manifest.replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1),
    );
    service.commit_all("our version, and Cargo.lock");
    history.replace(
        TEMPLATE_MANIFEST,
        "version = \"0.1.0\"",
        "version = \"0.1.1\"",
    );
    add_a_dependency(&history);

    let output = service.update(&["--source", &history.url()]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("Cargo.toml")
            && said.contains("cargo update --workspace")
            && said.contains("git add Cargo.lock"),
        "the tool does not say how to sync Cargo.lock once Cargo.toml is resolved:\n{said}"
    );
    progress("[update] Cargo.toml conflicted: the tool names `cargo update --workspace` for after");
}

// ---------------------------------------------------------------------------------------------
// Rough edges.

#[test]
fn check_with_defines_is_refused() {
    let history = TemplateHistory::create();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    let before = service.state();
    let output = service.update(&["--check", "-d", "otel=true", "--source", &history.url()]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(
        said.contains("--check") && said.contains("--define"),
        "{said}"
    );
    assert_eq!(service.state(), before);
    progress("[update] --check -d otel=true: exit 2, naming both options");
}

/// Runs the tool with backtraces asked for, as this machine's environment does.
fn update_with_backtraces(service: &UserService, args: &[&str]) -> (Option<i32>, String) {
    let output = service.update_with_env(args, &[("RUST_BACKTRACE", "1")]);
    (output.status.code(), text(&output))
}

#[test]
fn a_source_that_is_not_the_template_repository_root_is_refused_up_front() {
    for tool in CargoGenerate::all() {
        let history = TemplateHistory::create();
        let service = history.service(NAME, &[], tool);
        revise(&history);
        let unrelated = history.path.with_file_name("unrelated");
        std::fs::create_dir_all(&unrelated).expect("create a folder");
        std::fs::write(unrelated.join("README.md"), "Another project.\n").expect("write");
        template_harness::update::git(&unrelated, &["init", "--quiet"]);
        template_harness::update::git(&unrelated, &["add", "--all"]);
        template_harness::update::git(&unrelated, &["commit", "--quiet", "-m", "another"]);
        let subfolder = history.path.join("template").display().to_string();
        let root = history.path.display().to_string();
        let unrelated = format!("file://{}", unrelated.display());
        let cases = [
            (subfolder.as_str(), format!("--source {root}")),
            (unrelated.as_str(), "not the template repository".to_owned()),
        ];
        for (source, expected) in &cases {
            for check in [true, false] {
                let before = service.state();
                let mut args = vec!["--source", *source];
                if check {
                    args.push("--check");
                }
                let (code, said) = update_with_backtraces(&service, &args);
                let case = format!("--source {source} (check: {check})");
                assert_eq!(code, Some(2), "{case}: {said}");
                assert!(
                    said.contains(expected.as_str()),
                    "{case}: does not say `{expected}`:\n{said}"
                );
                let lower = said.to_lowercase();
                assert!(
                    !lower.contains("backtrace") && !lower.contains("panicked"),
                    "{case}:\n{said}"
                );
                assert_eq!(service.state(), before, "{case}: the service changed");
            }
        }
        progress(&format!(
            "[update] cargo-generate {}: the template/ subfolder and an unrelated repository: \
             refused at --check and at update, exit 2, no backtrace",
            tool.version()
        ));
    }
}

/// The heading `file` is listed under: the nearest line before it that ends with a colon.
fn heading_of<'a>(said: &'a str, file: &str) -> &'a str {
    let lines: Vec<&str> = said.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.trim() == file)
        .unwrap_or_else(|| panic!("{file} is not listed on a line of its own:\n{said}"));
    lines[..at]
        .iter()
        .rev()
        .find(|line| line.trim_end().ends_with(':'))
        .copied()
        .unwrap_or("")
}

#[test]
fn conflicts_are_listed_by_kind_with_the_advice_for_each() {
    for tool in CargoGenerate::all() {
        let history = TemplateHistory::create();
        let service = history.service(NAME, &[], tool);
        service.replace_line("README.md", 1, "# Our own title");
        let deny = service.read("deny.toml");
        service.write("deny.toml", &format!("{deny}# Our own rule.\n"));
        service.write("NOTES.md", "Our notes.\n");
        service.commit_all("our edits");
        history.replace(
            "template/README.md",
            "# {{project-name}}\n",
            "# {{project-name}}, B\n",
        );
        history.git(&["rm", "--quiet", "template/deny.toml"]);
        history.write("template/NOTES.md", "The template's notes.\n");
        history.commit("revision B", &history.version());

        let output = service.update(&["--source", &history.url()]);
        let said = text(&output);
        assert_eq!(output.status.code(), Some(1), "{said}");
        let expected = [
            ("README.md", ["both changed", "`git add`"]),
            ("deny.toml", ["deleted by the template", "`git rm`"]),
            ("NOTES.md", ["added by both", "`git add`"]),
        ];
        for (file, words) in expected {
            let heading = heading_of(&said, file);
            for word in words {
                assert!(
                    heading.contains(word),
                    "{file} is listed under `{heading}`, which does not say `{word}`:\n{said}"
                );
            }
        }
        assert!(!said.contains("`git add` each"), "{said}");
        progress(&format!(
            "[update] cargo-generate {}: a content conflict, a file changed here and deleted by \
             the template, a file added by both: each listed under its advice",
            tool.version()
        ));
    }
}

#[test]
fn kept_deleted_is_said_only_when_the_template_changed_the_file() {
    let history = TemplateHistory::create();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    service.git(&["rm", "--quiet", "compose.yaml", ".dockerignore"]);
    service.commit_all("we run no compose, and ignore nothing");
    revise(&history);

    let output = service.update(&["--source", &history.url()]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.contains("kept deleted: compose.yaml"), "{said}");
    assert!(
        !said.contains(".dockerignore"),
        "the template did not change .dockerignore:\n{said}"
    );
    service.commit_all("take revision B");

    let again = service.update(&["-d", "kubernetes=true"]);
    let said = text(&again);
    assert_eq!(again.status.code(), Some(0), "{said}");
    assert!(
        !said.contains("kept deleted"),
        "said again on the next update:\n{said}"
    );
    progress("[update] kept deleted: named once, for the file the template changed");
}

// ---------------------------------------------------------------------------------------------
// What an update brings: versions and the changelog.

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

// ---------------------------------------------------------------------------------------------
// A portable source.

#[test]
fn a_local_path_source_works_for_the_run_but_is_not_recorded() {
    let history = TemplateHistory::create();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    revise(&history);
    let path = history.path.display().to_string();
    let output = service.update(&["--source", &path]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(service.read(".gitignore").contains("/scratch"), "{said}");
    assert!(
        said.contains("not recorded") && said.contains("git URL"),
        "{said}"
    );
    assert_eq!(
        answers_field(&service, "source"),
        "",
        "a local path was recorded"
    );
    progress("[update] --source <local path>: used, not recorded, and the tool says so");
}

#[test]
fn a_recorded_local_path_is_warned_about_at_render_time_and_on_every_run() {
    let history = TemplateHistory::create();
    let path = history.path.display().to_string();
    let render = Generate::new()
        .name(NAME)
        .source(&history.path)
        .define("template_source", &path)
        .render();
    let rendered = render.attempt.text();
    assert!(
        rendered.contains("warning") && rendered.contains("not a git URL"),
        "{rendered}"
    );
    let service = UserService::commit_render(render, CargoGenerate::Pinned);
    revise(&history);
    for args in [vec!["--check"], vec![]] {
        let output = service.update(&args);
        let said = text(&output);
        assert!(
            said.contains("warning") && said.contains("local path") && said.contains(&path),
            "{args:?}: no warning about the recorded local path:\n{said}"
        );
    }
    progress("[update] a recorded local path: the render and every run warn");
}

#[test]
fn a_detached_template_checkout_is_refused_unless_to_names_a_revision() {
    let history = TemplateHistory::create();
    let a = history.head();
    let service = history.service(NAME, &[], CargoGenerate::Pinned);
    revise(&history);
    history.git(&["tag", "v-b"]);
    history.git(&["checkout", "--quiet", "--detach", &a]);
    let path = history.path.display().to_string();
    for args in [vec!["--check", "--source", &path], vec!["--source", &path]] {
        let before = service.state();
        let output = service.update(&args);
        let said = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {said}");
        assert!(
            said.contains("detached") && said.contains("--to"),
            "{args:?}: {said}"
        );
        assert_eq!(service.state(), before);
    }
    let output = service.update(&["--source", &path, "--to", "v-b"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(service.read(".gitignore").contains("/scratch"), "{said}");
    progress("[update] a detached template checkout: refused, unless --to names the revision");
}

// ---------------------------------------------------------------------------------------------
// One declaration of the answers format and of the version.

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

// ---------------------------------------------------------------------------------------------
// Installing the tool.

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
