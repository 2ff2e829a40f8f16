//! The service being updated: its answers file, and where it sits in its git repository.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};

use crate::answers::{self, Answers};
use crate::git::Git;

/// A service in a clean git tree.
pub struct Service {
    /// The service's folder: where the tool runs.
    pub dir: PathBuf,
    /// The git repository's root.
    pub top: PathBuf,
    /// The service's folder inside the repository: `""` at its root, `services/orders/` in a
    /// monorepo.
    pub prefix: String,
    /// The answers as HEAD has them.
    pub answers: Answers,
}

/// The commit that first added the service's answers file: the render as the user first
/// committed it.
pub struct FirstCommit {
    pub commit: String,
    /// The tree of the service's folder in that commit.
    pub tree: String,
    /// The answers as they were in that commit.
    pub answers: Answers,
}

impl Service {
    /// The service in `dir`. It must be in a git tree with nothing uncommitted: the merge then
    /// only ever adds to a state the user can return to.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let answers = Answers::read(dir)?;
        let git = Git::new(dir);
        let top = git
            .run(["rev-parse", "--show-toplevel"])
            .with_context(|| format!("{} is not in a git repository", dir.display()))?;
        let top = PathBuf::from(top.trim());
        let prefix = git.run(["rev-parse", "--show-prefix"])?.trim().to_owned();
        git.run(["rev-parse", "--verify", "--quiet", "HEAD"])
            .context("the repository has no commit yet: commit the rendered service first")?;
        let status = Git::new(&top).run(["status", "--porcelain", "--untracked-files=normal"])?;
        ensure!(
            status.trim().is_empty(),
            "the working tree is not clean: commit or stash these first:\n{}",
            status.trim_end()
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            top,
            prefix,
            answers,
        })
    }

    /// Git at the repository's root.
    pub fn git(&self) -> Git {
        Git::new(&self.top)
    }

    /// The service's answers file, as a path from the repository's root.
    pub fn answers_path(&self) -> String {
        format!("{}{}", self.prefix, answers::FILE_NAME)
    }

    /// The commit that added the answers file: the oldest in the service's history.
    pub fn first_commit(&self) -> anyhow::Result<FirstCommit> {
        let git = self.git();
        let shallow = git.run(["rev-parse", "--is-shallow-repository"])?;
        ensure!(
            shallow.trim() == "false",
            "the service's git history is shallow, so its first commit (the render) is not \
             here: fetch the whole history (`git fetch --unshallow`; in GitHub Actions, \
             actions/checkout with `fetch-depth: 0`), or pass --from <template revision>"
        );
        let path = self.answers_path();
        let added = git.run([
            "log",
            "--diff-filter=A",
            "--format=%H",
            "--reverse",
            "HEAD",
            "--",
            &path,
        ])?;
        let commit = added
            .lines()
            .next()
            .with_context(|| format!("no commit of this repository adds {path}"))?
            .to_owned();
        let folder = self.prefix.trim_end_matches('/');
        let tree = git.run(["rev-parse", &format!("{commit}:{folder}")])?;
        let text = git.run(["show", &format!("{commit}:{path}")])?;
        let answers =
            Answers::parse(&text).with_context(|| format!("{path} as commit {commit} added it"))?;
        Ok(FirstCommit {
            commit,
            tree: tree.trim().to_owned(),
            answers,
        })
    }
}
