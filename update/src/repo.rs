//! The template repository, as fetched now: a fresh `git clone --no-checkout` of the source (a
//! URL or a local path) into the temporary folder, so "newest" is always the source's default
//! branch as it is, never a stale or detached checkout.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, bail, ensure};

use crate::answers::{self, Placeholders};
use crate::changelog::{self, Entry};
use crate::git::{Git, short};
use crate::source::{self, Kind};

/// What in the template repository shapes a render: a change elsewhere (its tests, its README,
/// the changelog) changes no service.
pub const TEMPLATE_PATHS: [&str; 3] = ["template", "hooks", "cargo-generate.toml"];

/// What the template repository has at its root, at every revision a service can come from.
const LAYOUT: [&str; 3] = [
    "cargo-generate.toml",
    "template/cargo-generate.toml",
    "hooks/answers.rhai",
];

/// The clone.
pub struct TemplateRepo {
    git: Git,
    /// The source as given: what messages name.
    pub location: String,
    /// The branch the source's HEAD names, or `None` when it is detached.
    branch: Option<String>,
}

/// The revision an update goes to when `--to` names none, or the one `--to` names.
pub struct Target {
    pub commit: String,
    /// How it was chosen, for messages: `branch main of <source>`, `--to v1.2.0`.
    pub label: String,
}

impl TemplateRepo {
    /// Clones `location` into `work/source`. A local path must be a repository's root.
    pub fn fetch(location: &str, work: &Path) -> anyhow::Result<Self> {
        // git runs in the temporary folder: a relative path is made absolute first.
        let from = match source::classify(location) {
            Kind::Path => {
                check_local(location)?;
                std::fs::canonicalize(location)
                    .with_context(|| format!("cannot read the template source {location}"))?
                    .into_os_string()
            }
            Kind::Url => location.into(),
        };
        let dir = work.join("source");
        let output = Git::new(work).output(&[
            "clone".as_ref(),
            "--quiet".as_ref(),
            "--no-checkout".as_ref(),
            "--".as_ref(),
            from.as_os_str(),
            dir.as_os_str(),
        ])?;
        ensure!(
            output.status.success(),
            "cannot clone the template source {location}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let git = Git::new(&dir);
        let branch = git
            .run(["symbolic-ref", "--quiet", "--short", "HEAD"])
            .ok()
            .map(|name| name.trim().to_owned());
        Ok(Self {
            git,
            location: location.to_owned(),
            branch,
        })
    }

    /// The revision to update to: `--to`'s, or the head of the source's default branch.
    pub fn target(&self, to: Option<&str>) -> anyhow::Result<Target> {
        let target = match (to, &self.branch) {
            (Some(to), _) => Target {
                commit: self.commit(to)?,
                label: format!("--to {to}"),
            },
            (None, Some(branch)) => Target {
                commit: self.commit("HEAD")?,
                label: format!("branch {branch} of {}", self.location),
            },
            (None, None) => {
                let head = self.commit("HEAD")?;
                bail!(
                    "the template source {} has a detached HEAD (at {}), so it names no newest \
                     revision: check out its branch (e.g. `git -C {} switch main`), or pass \
                     --to <commit, branch or tag>",
                    self.location,
                    short(&head),
                    self.location
                );
            }
        };
        self.check_layout(&target.commit)?;
        Ok(target)
    }

    /// The full commit id `revision` names: a commit, a tag, or a branch of the source.
    pub fn commit(&self, revision: &str) -> anyhow::Result<String> {
        for name in [revision.to_owned(), format!("origin/{revision}")] {
            let found = self.git.run([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{name}^{{commit}}"),
            ]);
            if let Ok(id) = found {
                return Ok(id.trim().to_owned());
            }
        }
        bail!("unknown revision {revision} in {}", self.location)
    }

    /// Refuses a repository that does not have the template at its root at `commit`.
    pub fn check_layout(&self, commit: &str) -> anyhow::Result<()> {
        let mut missing = Vec::new();
        for path in LAYOUT {
            if !self.has(commit, path)? {
                missing.push(path);
            }
        }
        ensure!(
            missing.is_empty(),
            "{} is not the template repository: at {} it has no {}. Pass the template \
             repository's root (the folder with cargo-generate.toml, template/ and hooks/) or \
             its git URL",
            self.location,
            short(commit),
            missing.join(", ")
        );
        Ok(())
    }

    fn has(&self, commit: &str, path: &str) -> anyhow::Result<bool> {
        self.git
            .test(["cat-file", "-e", &format!("{commit}:{path}")])
            .or(Ok(false))
    }

    /// The text of `path` at `commit`, if it exists there.
    pub fn read(&self, commit: &str, path: &str) -> anyhow::Result<Option<String>> {
        if !self.has(commit, path)? {
            return Ok(None);
        }
        self.git
            .run(["show", &format!("{commit}:{path}")])
            .map(Some)
    }

    /// The changelog at `commit`, if the repository had one then.
    pub fn changelog_at(&self, commit: &str) -> anyhow::Result<Option<Vec<Entry>>> {
        Ok(self
            .read(commit, changelog::FILE)?
            .map(|text| changelog::parse(&text)))
    }

    /// The template's version at `commit`: the changelog's newest release, or for commits
    /// before the changelog, the version `hooks/answers.rhai` declared.
    pub fn version_at(&self, commit: &str) -> anyhow::Result<Option<String>> {
        if let Some(entries) = self.changelog_at(commit)? {
            return Ok(changelog::newest_release(&entries).map(ToString::to_string));
        }
        Ok(self
            .read(commit, changelog::LEGACY_FILE)?
            .and_then(|text| changelog::legacy_version(&text)))
    }

    /// The placeholders the template declares at `commit`.
    pub fn placeholders_at(&self, commit: &str) -> anyhow::Result<Placeholders> {
        let config = self
            .read(commit, "template/cargo-generate.toml")?
            .with_context(|| format!("no template/cargo-generate.toml at {}", short(commit)))?;
        answers::placeholders(&config)
    }

    /// Whether nothing that shapes a render differs between two commits.
    pub fn same_template(&self, a: &str, b: &str) -> anyhow::Result<bool> {
        let mut args = vec!["diff", "--quiet", a, b, "--"];
        args.extend(TEMPLATE_PATHS);
        self.git.test(args)
    }

    /// Every distinct state of what shapes a render, in the history of `tips`, that writes an
    /// answers file: for each, the commit that introduced it, newest first. Commits that leave
    /// those paths as an earlier commit had them render the same service and are left out.
    pub fn template_states(&self, tips: &[&str]) -> anyhow::Result<Vec<String>> {
        let mut args = vec!["rev-list", "--topo-order", "--reverse"];
        args.extend(tips);
        let commits: Vec<String> = self.git.run(args)?.lines().map(str::to_owned).collect();
        let paths = [
            "template",
            "hooks",
            "cargo-generate.toml",
            "hooks/answers.rhai",
        ];
        let mut input = String::new();
        for commit in &commits {
            for path in paths {
                input.push_str(&format!("{commit}:{path}\n"));
            }
        }
        let objects = self
            .git
            .run_with_input(&["cat-file", "--batch-check=%(objectname)"], &input)?;
        let objects: Vec<&str> = objects.lines().collect();
        ensure!(
            objects.len() == commits.len() * paths.len(),
            "git cat-file answered {} lines for {} paths",
            objects.len(),
            commits.len() * paths.len()
        );
        let mut seen = HashSet::new();
        let mut states = Vec::new();
        for (commit, objects) in commits.iter().zip(objects.chunks(paths.len())) {
            let writes_answers = !objects[3].ends_with(" missing");
            if writes_answers && seen.insert(objects[..3].join(" ")) {
                states.push(commit.clone());
            }
        }
        states.reverse();
        Ok(states)
    }

    /// Writes what shapes a render at `commit` into the folder `into`, as a clone would hold it.
    pub fn export(&self, commit: &str, into: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(into).context("cannot make a temporary folder")?;
        let tar = into.join("template.tar");
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "archive".as_ref(),
            "--format=tar".as_ref(),
            "--output".as_ref(),
            tar.as_os_str(),
            commit.as_ref(),
            "--".as_ref(),
        ];
        args.extend(TEMPLATE_PATHS.iter().map(std::ffi::OsStr::new));
        self.git.run(args)?;
        let unpacked = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(into)
            .status()
            .context("cannot run tar")?;
        ensure!(
            unpacked.success(),
            "cannot unpack the template at {}",
            short(commit)
        );
        std::fs::remove_file(&tar).context("cannot remove a temporary file")?;
        Ok(())
    }
}

/// A local source must be a git repository's root: a folder inside one (its `template/`, say)
/// would clone nothing, or the wrong thing.
fn check_local(location: &str) -> anyhow::Result<()> {
    let path = Path::new(location);
    ensure!(
        path.is_dir(),
        "the template source {location} is neither a git URL nor a folder"
    );
    let git = Git::new(path);
    let bare = git
        .run(["rev-parse", "--is-bare-repository"])
        .with_context(|| format!("the template source {location} is not a git repository"))?;
    if bare.trim() == "true" {
        return Ok(());
    }
    let prefix = git.run(["rev-parse", "--show-prefix"])?;
    if !prefix.trim().is_empty() {
        let top = git.run(["rev-parse", "--show-toplevel"])?;
        bail!(
            "the template source {location} is the folder {} inside the git repository {}: pass \
             --source {} (the template repository's root), or better its git URL",
            prefix.trim().trim_end_matches('/'),
            top.trim(),
            top.trim()
        );
    }
    Ok(())
}

/// The URL of the `origin` remote of a local clone, to suggest instead of its path.
pub fn origin_of(location: &str) -> Option<String> {
    if source::classify(location) != Kind::Path {
        return None;
    }
    Git::new(Path::new(location))
        .run(["remote", "get-url", "origin"])
        .ok()
        .map(|url| url.trim().to_owned())
        .filter(|url| source::classify(url) == Kind::Url)
}
