//! Git, run as the `git` program: every repository operation of the tool goes through here, so
//! that an error always names the command and shows git's own message.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail, ensure};

/// Git in one repository (the folder it runs in), optionally with an index file of its own so
/// that trees can be written without touching the repository's index.
#[derive(Clone, Debug)]
pub struct Git {
    dir: PathBuf,
    index: Option<PathBuf>,
}

impl Git {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            index: None,
        }
    }

    /// The same repository with `index` as its index file (`GIT_INDEX_FILE`).
    pub fn with_index(&self, index: &Path) -> Self {
        Self {
            dir: self.dir.clone(),
            index: Some(index.to_path_buf()),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new("git");
        command.current_dir(&self.dir);
        if let Some(index) = &self.index {
            command.env("GIT_INDEX_FILE", index);
        }
        command
    }

    /// Runs git; its stdout, or an error naming the command with git's stderr.
    pub fn run<I, S>(&self, args: I) -> anyhow::Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<S> = args.into_iter().collect();
        let output = self.output(&args)?;
        if !output.status.success() {
            bail!(
                "git {} failed: {}",
                shown(&args),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs git for a yes/no answer: exit 0 is yes, exit 1 no, anything else an error.
    pub fn test<I, S>(&self, args: I) -> anyhow::Result<bool>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<S> = args.into_iter().collect();
        let output = self.output(&args)?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => bail!(
                "git {} failed: {}",
                shown(&args),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }
    }

    /// Runs git and returns what happened, whatever its exit status.
    pub fn output<S: AsRef<OsStr>>(&self, args: &[S]) -> anyhow::Result<Output> {
        self.command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("cannot run git: is it installed?")
    }

    /// Runs git with `input` on its stdin; its stdout.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> anyhow::Result<String> {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run git: is it installed?")?;
        let mut stdin = child.stdin.take().context("git has no stdin")?;
        // Written from a thread: git answers while it reads, and a full pipe would block both.
        let input = input.to_owned();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output().context("cannot run git")?;
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("writing to git failed"))?
            .context("cannot write to git")?;
        ensure!(
            output.status.success(),
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// A commit of `tree`, made with a fixed identity so that no git configuration is needed,
    /// and never signed: such commits only carry renders into a merge.
    pub fn commit_tree(
        &self,
        tree: &str,
        parent: Option<&str>,
        message: &str,
    ) -> anyhow::Result<String> {
        let mut command = self.command();
        command
            .env("GIT_AUTHOR_NAME", "cargo template-update")
            .env("GIT_AUTHOR_EMAIL", "template-update@localhost")
            .env("GIT_COMMITTER_NAME", "cargo template-update")
            .env("GIT_COMMITTER_EMAIL", "template-update@localhost")
            .args(["commit-tree", "--no-gpg-sign", tree, "-m", message]);
        if let Some(parent) = parent {
            command.args(["-p", parent]);
        }
        let output = command.output().context("cannot run git")?;
        ensure!(
            output.status.success(),
            "git commit-tree failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

fn shown<S: AsRef<OsStr>>(args: &[S]) -> String {
    args.iter()
        .map(|arg| arg.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A commit id as the tool prints it: its first 12 digits.
pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
