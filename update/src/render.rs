//! Renders the service at a template revision through the real cargo-generate, as a user's
//! `cargo generate` would, with the answers given as a values file.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, ensure};

use crate::answers::{self, Answers, Values};
use crate::git::short;
use crate::repo::TemplateRepo;

/// Renders into numbered folders under one temporary folder.
pub struct Renderer<'a> {
    repo: &'a TemplateRepo,
    work: PathBuf,
    count: Cell<usize>,
}

/// A render: the service's files without the answers file, which is parsed apart.
pub struct Render {
    pub commit: String,
    pub dir: PathBuf,
    /// The answers file the render wrote.
    pub answers: Answers,
}

impl<'a> Renderer<'a> {
    pub fn new(repo: &'a TemplateRepo, work: &Path) -> Self {
        Self {
            repo,
            work: work.to_path_buf(),
            count: Cell::new(0),
        }
    }

    /// How many renders were made so far.
    pub fn count(&self) -> usize {
        self.count.get()
    }

    /// Renders the service `name` at `commit` with `values`.
    pub fn render(&self, commit: &str, name: &str, values: &Values) -> anyhow::Result<Render> {
        self.count.set(self.count.get() + 1);
        let into = self.work.join(format!("render-{}", self.count.get()));
        let tree = into.join("template-source");
        let out = into.join("out");
        self.repo.export(commit, &tree)?;
        std::fs::create_dir_all(&out).context("cannot make a temporary folder")?;
        let values_file = into.join("values.toml");
        std::fs::write(&values_file, answers::values_file(values))
            .context("cannot write the values file")?;
        // An empty configuration keeps the user's $CARGO_HOME/cargo-generate.toml (defaults,
        // favorites, values) out of the render.
        let config = into.join("cargo-generate-app.toml");
        std::fs::write(&config, "").context("cannot write a temporary file")?;

        let mut command = cargo_generate();
        command
            .arg("--path")
            .arg(&tree)
            .arg("template")
            .args([
                "--name",
                name,
                "--silent",
                "--vcs",
                "none",
                "--no-workspace",
            ])
            .arg("--config")
            .arg(&config)
            .arg("--destination")
            .arg(&out)
            .arg("--values-file")
            .arg(&values_file);
        let output = command.output().context(
            "cannot run cargo-generate: is it installed (`cargo install cargo-generate`)?",
        )?;
        ensure!(
            output.status.success(),
            "cargo-generate could not render the template at {}:\n{}",
            short(commit),
            error_text(&output)
        );
        let dir = out.join(name);
        ensure!(
            dir.is_dir(),
            "cargo-generate rendered nothing at {}",
            dir.display()
        );
        let answers = Answers::read(&dir).with_context(|| {
            format!("the render at {} has no usable answers file", short(commit))
        })?;
        // The answers file is the tool's to write, never part of the merge.
        std::fs::remove_file(dir.join(answers::FILE_NAME))
            .context("cannot set the render's answers file aside")?;
        Ok(Render {
            commit: commit.to_owned(),
            dir,
            answers,
        })
    }
}

/// `cargo generate`, or the cargo-generate binary `CARGO_GENERATE` names, with nothing from
/// the environment that would change the render or bury its message.
fn cargo_generate() -> Command {
    let mut command = match std::env::var_os("CARGO_GENERATE") {
        Some(bin) => Command::new(bin),
        None => Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())),
    };
    // Both take the subcommand's name first: `cargo-generate generate --path …`.
    command.arg("generate");
    // A backtrace would bury cargo-generate's one-line message (and a hook's).
    command
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0");
    // Values from the environment would change the render behind the answers' back.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CARGO_GENERATE_") {
            command.env_remove(key);
        }
    }
    command
}

/// What cargo-generate said when it failed: its error output, or else everything it printed.
fn error_text(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = if stderr.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        stderr.into_owned()
    };
    text.trim_end().to_owned()
}
