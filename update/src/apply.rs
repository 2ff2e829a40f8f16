//! The update itself: render the base and the target, merge, record, sync the lockfile, and
//! tell the user what is left to do.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::answers::{self, Define, FILE_NAME};
use crate::conflicts;
use crate::git::short;
use crate::lockfile;
use crate::merge::{self, Merged};
use crate::provenance::Base;
use crate::render::{Render, Renderer};
use crate::repo::{Target, TemplateRepo};
use crate::service::Service;

/// Marks an error that happened after the service's files were changed.
#[derive(Debug)]
pub struct ChangesMade;

impl fmt::Display for ChangesMade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the update stopped after changing the service's files: `git reset --hard` \
             abandons it",
        )
    }
}

/// Everything an update works with.
pub struct Update<'a> {
    pub service: &'a Service,
    pub repo: &'a TemplateRepo,
    pub renderer: &'a Renderer<'a>,
    pub base: Base,
    pub target: &'a Target,
    pub defines: &'a [Define],
    /// `--to` was given: the target is the one named even with `-d`.
    pub to_given: bool,
    /// The source to record in the answers file.
    pub record: &'a str,
    pub work: &'a Path,
}

pub fn update(update: Update) -> anyhow::Result<ExitCode> {
    let Update { service, repo, .. } = update;
    // `-d` alone switches answers at the service's own revision, taking nothing else.
    let to = if update.defines.is_empty() || update.to_given {
        update.target.commit.clone()
    } else {
        update.base.commit.clone()
    };
    let placeholders = repo.placeholders_at(&to)?;
    let values = answers::with_defines(service.answers.values(), update.defines, &placeholders)
        .with_context(|| {
            format!(
                "at template revision {} (without --to, -d keeps the service's own revision; \
                 --to <revision> takes a newer template too)",
                short(&to)
            )
        })?;
    if values == update.base.values && repo.same_template(&update.base.commit, &to)? {
        println!("up to date: nothing to change");
        if update.record != service.answers.source() {
            record_source(service, update.record, &update.base.commit)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "target:  version {}, template revision {}",
        repo.version_at(&to)?.as_deref().unwrap_or("unknown"),
        short(&to)
    );
    println!(
        "rendering the service at {} and at {} ...",
        short(&update.base.commit),
        short(&to)
    );
    let old = match update.base.render {
        Some(render) => render,
        None => {
            update
                .renderer
                .render(&update.base.commit, &update.base.name, &update.base.values)?
        }
    };
    let new = update
        .renderer
        .render(&to, service.answers.name(), &values)?;
    // Everything that can fail without changing the service has been done.
    let merged = merge::merge_renders(service, &old.dir, &new.dir, update.work)?;
    finish(service, &new, update.record).context(ChangesMade)?;
    println!(
        "updated from {} to {}{}",
        short(&update.base.commit),
        short(&to),
        defines_text(update.defines)
    );
    let lock =
        lockfile::sync(&service.dir, &service.git(), &merged.conflicts).context(ChangesMade)?;
    Ok(tell(&merged, &lock))
}

/// Records the new render's answers, the revision and the source, keeping the user's file.
fn finish(service: &Service, new: &Render, record: &str) -> anyhow::Result<()> {
    let mut answers = service.answers.clone();
    answers.take_render(&new.answers);
    answers.set_revision(&new.commit);
    answers.set_source(record);
    std::fs::write(service.dir.join(FILE_NAME), answers.text())
        .with_context(|| format!("cannot write {FILE_NAME}"))?;
    service.git().run(["add", "--", &service.answers_path()])?;
    Ok(())
}

/// Records a newly given git URL (and the base revision) when there is nothing else to change.
fn record_source(service: &Service, source: &str, revision: &str) -> anyhow::Result<()> {
    let mut answers = service.answers.clone();
    answers.set_source(source);
    answers.set_revision(revision);
    std::fs::write(service.dir.join(FILE_NAME), answers.text())
        .with_context(|| format!("cannot write {FILE_NAME}"))?;
    service.git().run(["add", "--", &service.answers_path()])?;
    println!(
        "recorded the source {source} and revision {} in {FILE_NAME}: commit it",
        short(revision)
    );
    Ok(())
}

fn defines_text(defines: &[Define]) -> String {
    if defines.is_empty() {
        return String::new();
    }
    let list: Vec<String> = defines.iter().map(ToString::to_string).collect();
    format!(" with {}", list.join(", "))
}

/// Says what is left to do; the exit code: 0 when nothing is, 1 when something is.
fn tell(merged: &Merged, lock: &lockfile::Outcome) -> ExitCode {
    for file in &merged.kept_deleted {
        println!("  kept deleted: {file} (you deleted it; the template changed it)");
    }
    for line in lockfile::report(lock) {
        println!("{line}");
    }
    let lock_left = matches!(
        lock,
        lockfile::Outcome::Failed { .. } | lockfile::Outcome::AfterResolving { .. }
    );
    if merged.conflicts.is_empty() && !lock_left {
        println!("no conflicts: review with `git diff --cached`, then commit");
        return ExitCode::SUCCESS;
    }
    if !merged.conflicts.is_empty() {
        println!("conflicts to resolve, by kind:");
        print!("{}", conflicts::report(&merged.conflicts));
    }
    println!("then commit; `git reset --hard` abandons the update");
    ExitCode::from(1)
}
