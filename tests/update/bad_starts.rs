//! Bad starts: a dirty tree, a missing answers file, an unknown revision, `--check` with `-d`,
//! a source that is not the template repository, a shallow clone. Each says what is wrong and
//! changes nothing.

use super::*;

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
