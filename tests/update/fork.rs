//! The organisation's fork, end to end (README.md, "For platform teams"): upstream makes a
//! release, the fork takes it with a plain `git merge`, and a service rendered from the fork
//! takes it with `cargo template-update`. The organisation's defaults and files survive in the
//! fork and in the service, and the updated service builds and passes its tests.

use std::process::Output;

use template_harness::fork::{
    FAVORITE, ORG_CONFIG, ORG_OWNERS, ORG_TEMPLATE_FILE, OrgFork, assert_merged,
};

use template_harness::update::git_output;

use super::*;

/// The upstream release: revision B's changes, and a new default port with a new prompt, on
/// the very placeholder whose default the organisation sets.
fn upstream_release(upstream: &TemplateHistory) -> String {
    upstream.replace(
        "template/cargo-generate.toml",
        "prompt = \"Port the service listens on (1-65535; the platform's PORT still wins)\"\n\
         default = \"8080\"",
        "prompt = \"Port the service listens on (1-65535; PORT still wins)\"\ndefault = \"8081\"",
    );
    revise(upstream)
}

/// The service team's own edits: a line of code and a file of their own.
fn edit_service(service: &UserService) {
    service.replace_line("src/main.rs", 1, "//! Entry point of our service (ours).");
    service.write("OURS.md", "Notes of our own.\n");
    service.commit_all("our edits");
}

/// What is wrong with a service of the fork, as to the organisation's defaults and files.
fn org_problems(service: &UserService, fork: &OrgFork) -> Vec<String> {
    let mut problems = Vec::new();
    let values = service.answers().values().clone();
    let expected = [
        ("port", Answer::Text("3000".into())),
        ("kubernetes", Answer::Bool(true)),
        ("metrics", Answer::Bool(true)),
        ("compose", Answer::Bool(false)),
    ];
    for (key, answer) in expected {
        if values.get(key) != Some(&answer) {
            problems.push(format!(
                "the org's {key} = {answer} is not the answer: {:?}",
                values.get(key)
            ));
        }
    }
    if answers_field(service, "source") != fork.url() {
        problems.push("the fork's URL is not the recorded source".to_owned());
    }
    let read = |file: &str| std::fs::read_to_string(service.dir.join(file)).unwrap_or_default();
    if !read("src/config/mod.rs").contains("port: 3000,") {
        problems.push("src/config/mod.rs does not default to the org's port 3000".to_owned());
    }
    if !read("deploy/k8s/config.env").contains("PORT=3000") {
        problems.push("deploy/k8s/config.env does not say PORT=3000".to_owned());
    }
    if service.dir.join("compose.yaml").exists() {
        problems.push("compose.yaml exists, while the org switched compose off".to_owned());
    }
    if std::fs::read_to_string(service.dir.join("CODEOWNERS"))
        .ok()
        .as_deref()
        != Some(ORG_OWNERS)
    {
        problems.push("the org's CODEOWNERS is missing or changed".to_owned());
    }
    problems
}

/// What is wrong with the fork after its merge: upstream's release must have arrived, and the
/// organisation's files stay as they were.
fn fork_problems(fork: &OrgFork, b: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let merged = git_output(&fork.path, &["merge-base", "--is-ancestor", b, "HEAD"]);
    if !merged.status.success() {
        problems.push("upstream's release is not in the fork's history".to_owned());
    }
    if !fork.read("template/.gitignore").contains("/scratch") {
        problems.push("upstream's change to template/.gitignore did not arrive".to_owned());
    }
    if !fork
        .read("template/cargo-generate.toml")
        .contains("default = \"8081\"")
    {
        problems.push("upstream's new default port did not arrive".to_owned());
    }
    if fork.read(ORG_CONFIG) != fork.org_config() {
        problems.push(format!("{ORG_CONFIG} changed in the merge"));
    }
    if fork.read(ORG_TEMPLATE_FILE) != ORG_OWNERS {
        problems.push(format!("{ORG_TEMPLATE_FILE} changed in the merge"));
    }
    problems
}

/// Upstream at A, the fork, a service rendered from the fork and edited by its team; then the
/// upstream release, the fork's merge and the service's update. Returns upstream, the fork,
/// the service, upstream's release commit and what the update tool did.
fn org_chain(tool: CargoGenerate) -> (TemplateHistory, OrgFork, UserService, String, Output) {
    let upstream = TemplateHistory::create();
    let fork = OrgFork::create(&upstream);
    let service = fork.service(NAME, &[], tool);
    let problems = org_problems(&service, &fork);
    assert!(
        problems.is_empty(),
        "a fresh render: {}",
        problems.join("\n")
    );
    edit_service(&service);

    let b = upstream_release(&upstream);
    assert_merged(&fork.merge_upstream());
    let output = service.update(&[]);
    (upstream, fork, service, b, output)
}

#[test]
fn an_upstream_release_reaches_a_service_of_the_org_fork_with_the_org_defaults() {
    for tool in CargoGenerate::all() {
        let (_upstream, fork, service, b, output) = org_chain(tool);
        let said = text(&output);
        let mut problems = fork_problems(&fork, &b);
        let fresh = fork.service("fresh-svc", &[], tool);
        problems.extend(
            org_problems(&fresh, &fork)
                .iter()
                .map(|p| format!("a render of the merged fork: {p}")),
        );

        if output.status.code() != Some(0) {
            problems.push(format!("the update exited {:?}", output.status.code()));
        }
        // The render through the favorite is the fork's render at that commit, to the byte.
        if !said.contains("its render is exactly the service's first commit") {
            problems.push("the tool did not find the fork's revision exactly".to_owned());
        }
        problems.extend(
            org_problems(&service, &fork)
                .iter()
                .map(|p| format!("the updated service: {p}")),
        );
        if !service.read(".gitignore").contains("/scratch")
            || !service
                .read("src/health.rs")
                .contains("as the health-check draft shapes it")
        {
            problems.push("upstream's changes did not reach the service".to_owned());
        }
        if !service
            .read("src/main.rs")
            .starts_with("//! Entry point of our service (ours).")
            || service.read("OURS.md") != "Notes of our own.\n"
        {
            problems.push("the service team's edits were lost".to_owned());
        }
        if answers_field(&service, "revision") != fork.head()
            || answers_field(&service, "version") != "9.9.9-b"
        {
            problems.push("the answers do not record the fork's merge".to_owned());
        }
        progress(&format!(
            "[update] cargo-generate {}: upstream release -> fork `git merge` (clean) -> \
             service `cargo template-update` (exit {:?}); {FAVORITE}'s port 3000, kubernetes, \
             metrics, no compose and CODEOWNERS kept in the fork's render and the service",
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
fn a_service_of_the_org_fork_builds_and_passes_its_tests_after_the_update() {
    let (_upstream, _fork, service, _b, output) = org_chain(CargoGenerate::Pinned);
    assert!(output.status.success(), "{}", text(&output));
    service.commit_all("take upstream's release, through the fork");

    service.builds_and_passes_its_tests("the updated service of the fork");
    progress("[update] the org fork's service after the update: builds, `cargo test` passes");
}
