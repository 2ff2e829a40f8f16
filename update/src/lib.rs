//! `cargo template-update`: brings template improvements, or slices switched on or off, into a
//! service rendered from the twelve-factor-service template.
//!
//! It renders the service twice through the real cargo-generate: once as it was rendered (the
//! base revision and the answers it was rendered with), once as it should be now (the target
//! revision, the answers with any `-d` changes). Git then merges the difference between the
//! two renders into the service's own code, as `git cherry-pick` merges a commit: changes that
//! do not overlap the service's edits apply; overlapping ones leave ordinary conflict markers.
//! Nothing of git's merge, of cargo's resolver or of cargo-generate is redone here.
//!
//! Nothing is changed until every check passed and both renders exist: a dirty tree, a missing
//! answers file, a source that is not the template, an unknown revision or a failed render
//! stops the tool with the service as it was.
//!
//! The modules, in the order a run uses them: [`cli`], [`service`] (the service's checkout),
//! [`answers`] (the answers file), [`source`] (URL or path, what is recorded), [`repo`] (the
//! fresh clone of the source), [`provenance`] (the base revision), [`render`]
//! (cargo-generate), [`check`] (`--check` and [`changelog`]), [`apply`], [`merge`] and
//! [`conflicts`], [`lockfile`]; [`git`] runs git for all of them.

pub mod answers;
pub mod apply;
pub mod changelog;
pub mod check;
pub mod cli;
pub mod conflicts;
pub mod git;
pub mod lockfile;
pub mod merge;
pub mod provenance;
pub mod render;
pub mod repo;
pub mod service;
pub mod source;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::Args;
use crate::git::short;
use crate::render::Renderer;
use crate::repo::TemplateRepo;
use crate::service::Service;

/// One run, in the current folder.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let dir = std::env::current_dir().context("cannot read the current folder")?;
    let service = Service::open(&dir)?;
    let work = tempfile::Builder::new()
        .prefix("template-update-")
        .tempdir()
        .context("cannot make a temporary folder")?;
    let (chosen, repo) = fetch_source(args, &service, work.path())?;
    let target = repo.target(args.to.as_deref())?;
    let renderer = Renderer::new(&repo, work.path());
    let tips = ["HEAD", target.commit.as_str()];
    let base = provenance::find(&service, &repo, &renderer, args.from.as_deref(), &tips)?;
    say_base(&service, &base);
    if args.check {
        return check::report(&service, &repo, &base, &target);
    }
    apply::update(apply::Update {
        service: &service,
        repo: &repo,
        renderer: &renderer,
        base,
        target: &target,
        defines: &args.defines,
        to_given: args.to.is_some(),
        record: &chosen.record,
        work: work.path(),
    })
}

/// Chooses the source (warning about local paths) and clones it.
fn fetch_source(
    args: &Args,
    service: &Service,
    work: &std::path::Path,
) -> anyhow::Result<(source::Chosen, TemplateRepo)> {
    let given = args.source.as_deref();
    let origin = given.and_then(repo::origin_of);
    let chosen = source::choose(given, service.answers.source(), origin.as_deref())?;
    for warning in &chosen.warnings {
        eprintln!("warning: {warning}");
    }
    let repo = TemplateRepo::fetch(&chosen.location, work)?;
    Ok((chosen, repo))
}

fn say_base(service: &Service, base: &provenance::Base) {
    println!(
        "service: version {}, template revision {} {}",
        service.answers.version(),
        short(&base.commit),
        provenance::describe(base)
    );
    if let Some(warning) = provenance::warning(base) {
        eprintln!("warning: {warning}");
    }
}
