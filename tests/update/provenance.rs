//! Provenance: the base revision is found by what the service's first commit holds.

use super::*;

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
