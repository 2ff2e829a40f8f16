//! A portable source: a git URL recorded, a local path used for one run but never recorded
//! silently, a detached checkout refused.

use super::*;

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
