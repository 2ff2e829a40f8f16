//! Which template revision the service came from: the revision its answers file records, the
//! one `--from` names, or else the one whose render IS the service's first commit.
//!
//! cargo-generate cannot tell a render which commit it came from, so a fresh render records
//! none. The first commit that added the answers file holds the render as the user committed
//! it; each distinct state of the template in the source's history is rendered with the answers
//! of that commit, and the render whose git tree equals the commit's is the base. When none is
//! equal (the user edited before committing), the closest is taken, and the tool says so.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::answers::{FILE_NAME, Values};
use crate::git::{Git, short};
use crate::merge::tree_of;
use crate::render::{Render, Renderer};
use crate::repo::TemplateRepo;
use crate::service::Service;

/// The revision an update starts from, and the answers it was rendered with.
pub struct Base {
    pub commit: String,
    pub name: String,
    pub values: Values,
    pub how: How,
    /// The base's render, when finding the base made it.
    pub render: Option<Render>,
}

/// How the base was found.
pub enum How {
    Recorded,
    From,
    Content(Search),
}

/// What the search by content did.
pub struct Search {
    /// The service's commit whose tree was compared.
    pub first_commit: String,
    pub renders: usize,
    pub seconds: f64,
    /// Lines that differ between the base's render and that commit: 0 when it is exact.
    pub differing: usize,
}

/// Finds the base. `tips` are the source revisions whose history is searched.
pub fn find(
    service: &Service,
    repo: &TemplateRepo,
    renderer: &Renderer,
    from: Option<&str>,
    tips: &[&str],
) -> anyhow::Result<Base> {
    let answers = &service.answers;
    let given = |commit: String, how: How| Base {
        commit,
        name: answers.name().to_owned(),
        values: answers.values().clone(),
        how,
        render: None,
    };
    if let Some(from) = from {
        return Ok(given(repo.commit(from)?, How::From));
    }
    if !answers.revision().is_empty() {
        let commit = repo.commit(answers.revision()).with_context(|| {
            format!(
                "{FILE_NAME} records revision {}, which {} does not have: pass --from \
                 <revision> or the source that has it",
                answers.revision(),
                repo.location
            )
        })?;
        return Ok(given(commit, How::Recorded));
    }
    by_content(service, repo, renderer, tips)
}

fn by_content(
    service: &Service,
    repo: &TemplateRepo,
    renderer: &Renderer,
    tips: &[&str],
) -> anyhow::Result<Base> {
    let started = Instant::now();
    let renders_before = renderer.count();
    let first = service.first_commit()?;
    let mut states = Vec::new();
    for commit in repo.template_states(tips)? {
        let version = repo.version_at(&commit)?;
        states.push((commit, version));
    }
    let candidates = order(&states, first.answers.version());
    let (name, values) = (first.answers.name(), first.answers.values());
    let git = service.git();
    let mut best: Option<(usize, Render)> = None;
    let mut first_error = None;
    for commit in candidates {
        let render = match renderer.render(commit, name, values) {
            Ok(render) => render,
            // An old revision may refuse these answers; another revision is the base then.
            Err(error) => {
                first_error.get_or_insert(error);
                continue;
            }
        };
        let differing = differing_lines(&git, &render.dir, &first.tree, renderer.count())?;
        if best.as_ref().is_none_or(|(fewest, _)| differing < *fewest) {
            best = Some((differing, render));
        }
        if differing == 0 {
            break;
        }
    }
    let Some((differing, render)) = best else {
        return Err(first_error
            .unwrap_or_else(|| anyhow::anyhow!("no revision of the source writes {FILE_NAME}")))
        .with_context(|| format!("no revision of {} renders this service", repo.location));
    };
    Ok(Base {
        commit: render.commit.clone(),
        name: name.to_owned(),
        values: values.clone(),
        how: How::Content(Search {
            first_commit: first.commit,
            renders: renderer.count() - renders_before,
            seconds: started.elapsed().as_secs_f64(),
            differing,
        }),
        render: Some(render),
    })
}

/// The candidates in the order they are tried: the states declaring the version the service
/// recorded first, each group newest first (`states` comes newest first). When two states
/// render the service alike, the newest is taken: they differ only in what these answers
/// leave out.
pub fn order<'a>(states: &'a [(String, Option<String>)], recorded: &str) -> Vec<&'a str> {
    let declares = |version: &Option<String>| version.as_deref() == Some(recorded);
    let matching = states.iter().filter(|(_, version)| declares(version));
    let others = states.iter().filter(|(_, version)| !declares(version));
    matching
        .chain(others)
        .map(|(commit, _)| commit.as_str())
        .collect()
}

/// Lines that differ between the render in `dir` and the service's `tree`. The answers file
/// is the tool's own, and `Cargo.lock`, which no render has, is what the post-generate message
/// tells the user to add to the first commit: neither counts.
fn differing_lines(git: &Git, dir: &Path, tree: &str, n: usize) -> anyhow::Result<usize> {
    let index = dir.with_file_name(format!("index-candidate-{n}"));
    let rendered = tree_of(git, dir, &index)?;
    let numstat = git.run([
        "diff",
        "--numstat",
        "--no-renames",
        &rendered,
        tree,
        "--",
        ".",
        &format!(":(exclude){FILE_NAME}"),
        ":(exclude)Cargo.lock",
    ])?;
    Ok(changed_lines(&numstat))
}

/// The changed lines in `git diff --numstat` output; a binary file counts as one.
pub fn changed_lines(numstat: &str) -> usize {
    numstat
        .lines()
        .map(|line| {
            let mut counts = line.split('\t').map(|field| field.parse::<usize>().ok());
            match (counts.next().flatten(), counts.next().flatten()) {
                (Some(added), Some(removed)) => added + removed,
                _ => 1,
            }
        })
        .sum()
}

/// How the base was found, for the output: ` (found by content: …)`.
pub fn describe(base: &Base) -> String {
    match &base.how {
        How::Recorded => format!("(recorded in {FILE_NAME})"),
        How::From => "(given with --from)".to_owned(),
        How::Content(search) if search.differing == 0 => format!(
            "(found by content: its render is exactly the service's first commit {}; {}, \
             {:.1} s)",
            short(&search.first_commit),
            renders(search.renders),
            search.seconds
        ),
        How::Content(search) => format!(
            "(found by content, the closest: no template revision renders the service's first \
             commit {} exactly, and {} {} from this one's render; {}, {:.1} s)",
            short(&search.first_commit),
            search.differing,
            if search.differing == 1 {
                "line differs"
            } else {
                "lines differ"
            },
            renders(search.renders),
            search.seconds
        ),
    }
}

fn renders(count: usize) -> String {
    if count == 1 {
        "1 render".to_owned()
    } else {
        format!("{count} renders")
    }
}

/// A warning when the base is a guess.
pub fn warning(base: &Base) -> Option<String> {
    match &base.how {
        How::Content(search) if search.differing > 0 => Some(format!(
            "the service's first commit {} was edited before it was committed, so its template \
             revision {} is the closest guess: if you know the revision it was rendered from, \
             pass --from <revision>",
            short(&search.first_commit),
            short(&base.commit)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_declaring_the_recorded_version_come_first_newest_first() {
        let states: Vec<(String, Option<String>)> = [
            ("e", Some("0.10.0")),
            ("d", Some("0.9.0")),
            ("c", Some("0.10.0")),
            ("b", None),
            ("a", Some("0.9.0")),
        ]
        .into_iter()
        .map(|(commit, version)| (commit.to_owned(), version.map(str::to_owned)))
        .collect();
        assert_eq!(order(&states, "0.9.0"), ["d", "a", "e", "c", "b"]);
        assert_eq!(order(&states, "0.10.0"), ["e", "c", "d", "b", "a"]);
        assert_eq!(order(&states, "7.0.0"), ["e", "d", "c", "b", "a"]);
    }

    #[test]
    fn changed_lines_add_both_columns_and_count_binaries_once() {
        let numstat = "3\t1\tsrc/main.rs\n0\t12\tcompose.yaml\n-\t-\tlogo.png\n";
        assert_eq!(changed_lines(numstat), 17);
        assert_eq!(changed_lines(""), 0);
    }
}
