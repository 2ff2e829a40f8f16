//! `--check`: whether the service is behind, and what the changelog says the newer releases
//! bring. It changes nothing.

use std::process::ExitCode;

use semver::Version;

use crate::changelog;
use crate::git::short;
use crate::provenance::Base;
use crate::repo::{Target, TemplateRepo};
use crate::service::Service;

pub fn report(
    service: &Service,
    repo: &TemplateRepo,
    base: &Base,
    target: &Target,
) -> anyhow::Result<ExitCode> {
    let newest_version = repo.version_at(&target.commit)?;
    println!(
        "newest:  version {}, template revision {} ({})",
        newest_version.as_deref().unwrap_or("unknown"),
        short(&target.commit),
        target.label
    );
    if repo.same_template(&base.commit, &target.commit)? {
        println!(
            "up to date: nothing that renders has changed since template revision {}",
            short(&base.commit)
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "behind: the template changed since revision {}; `cargo template-update` takes the \
         changes",
        short(&base.commit)
    );
    for line in changes(
        repo,
        service.answers.version(),
        newest_version.as_deref(),
        target,
    )? {
        println!("{line}");
    }
    Ok(ExitCode::from(1))
}

/// The changelog's entries between the service's version and the newest.
fn changes(
    repo: &TemplateRepo,
    from: &str,
    to: Option<&str>,
    target: &Target,
) -> anyhow::Result<Vec<String>> {
    let Some(entries) = repo.changelog_at(&target.commit)? else {
        return Ok(vec![format!(
            "(the template has no {} at {} to say what changed)",
            changelog::FILE,
            short(&target.commit)
        )]);
    };
    let (Ok(from), Some(Ok(to))) = (Version::parse(from), to.map(Version::parse)) else {
        return Ok(vec![format!(
            "(version {from} is not a semantic version: see {} for what changed)",
            changelog::FILE
        )]);
    };
    let releases = changelog::between(&entries, &from, &to);
    let unreleased = changelog::unreleased(&entries);
    let mut lines = vec![String::new()];
    if releases.is_empty() && unreleased.is_none() {
        lines.push(format!(
            "No release since version {from}: the newer revisions are not in {} yet.",
            changelog::FILE
        ));
        return Ok(lines);
    }
    lines.push(format!(
        "What changed since version {from} ({} at {}):",
        changelog::FILE,
        short(&target.commit)
    ));
    for entry in unreleased.into_iter().chain(releases) {
        lines.push(String::new());
        lines.push(changelog::show(entry));
    }
    Ok(lines)
}
