//! `cargo template-update` on real git histories: the template copied into a repository of its
//! own as revision A, a service rendered from A and committed, the user's edits, and a
//! revision B of the template. Every check runs with the pinned and with the newest
//! cargo-generate.
//!
//! The update renders through the real cargo-generate and merges through the service's own git.

mod bad_starts;
mod fork;
mod lockfile;
mod merge;
mod provenance;
mod releases;
mod source;

use std::collections::BTreeSet;

use template_harness::cargo::cargo;
use template_harness::files::list_files;
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
