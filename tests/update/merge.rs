//! Merging template changes around the user's edits: a clean update builds and passes its
//! tests, a slice switched on later matches a fresh render, a service in a monorepo folder, and
//! conflicts listed by kind.

use super::*;

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

    service.builds_and_passes_its_tests("the updated service");
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
        // catalog also sets one of the answers asked only when it is on.
        let switched: [(&str, &[(&str, &str)]); 3] = [
            ("kubernetes", &[]),
            ("database", &[]),
            ("catalog", &[("catalog_owner", "group:default/payments")]),
        ];
        for (slice, answers) in switched {
            let history = TemplateHistory::create();
            let service = history.service(NAME, &[(slice, "false")], tool);
            service.replace_line(
                "src/main.rs",
                1,
                "//! Entry point of our service (edited by us).",
            );
            service.commit_all("our edit");
            let source = history.path.display().to_string();
            let defines: Vec<String> = std::iter::once(format!("{slice}=true"))
                .chain(answers.iter().map(|(key, value)| format!("{key}={value}")))
                .collect();
            let mut args = vec!["--source", source.as_str()];
            for define in &defines {
                args.extend(["-d", define.as_str()]);
            }
            let output = service.update(&args);
            assert!(output.status.success(), "{}", text(&output));
            service.commit_all(&format!("switch {slice} on"));

            let mut fresh = Generate::new()
                .name(NAME)
                .tool(tool)
                .source(&history.path)
                .define(slice, "true");
            for (key, value) in answers {
                fresh = fresh.define(key, value);
            }
            let fresh = fresh.render();
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
