//! `cargo template-update` (the package in `update/`) and what its tests work on: a template
//! repository with a history of its own, made by the test, and services rendered from it and
//! committed, as a user's would be.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use tempfile::TempDir;

use crate::command::{describe_output, run};
use crate::files::{copy_tree, new_temp_dir};
use crate::render::{CargoGenerate, Generate, repo_root, stage_template_source};

/// Where the template declares its version (`fn version() { "X" }`).
pub const VERSION_FILE: &str = "hooks/answers.rhai";

/// The answers file every render has.
pub const ANSWERS_FILE: &str = ".template-answers.toml";

/// Builds `cargo-template-update` once, with its own lockfile, and returns the binary.
pub fn template_update_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = repo_root().join("target").join("update");
        let manifest = repo_root().join("update").join("Cargo.toml");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--locked", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target);
        let output = run(&mut cmd);
        assert!(
            output.status.success(),
            "{}",
            describe_output("cargo build cargo-template-update", &output)
        );
        target.join("debug").join("cargo-template-update")
    })
}

/// Runs git in `dir` as a fixed user; panics with its output unless it succeeds.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_output(dir, args);
    assert!(
        output.status.success(),
        "{}",
        describe_output(&format!("git {}", args.join(" ")), &output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs git in `dir` as a fixed user and returns what happened.
pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args([
            "-c",
            "user.name=Template Test",
            "-c",
            "user.email=test@localhost",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args);
    run(&mut cmd)
}

/// The declared version in the text of [`VERSION_FILE`].
pub fn declared_version(text: &str) -> String {
    let line = text
        .lines()
        .find(|line| line.starts_with("fn version()"))
        .expect("hooks/answers.rhai declares `fn version()`");
    line.split('"').nth(1).expect("a quoted version").to_owned()
}

/// A copy of this repository's template as a git repository of its own: revision A is the
/// template as it is, later revisions are what a test changes.
pub struct TemplateHistory {
    _dir: TempDir,
    pub path: PathBuf,
}

impl TemplateHistory {
    /// The template as it is now, committed as the first revision.
    pub fn create() -> Self {
        let dir = new_temp_dir("template-history-");
        let path = dir.path().join("template-repo");
        stage_template_source(&path);
        git(&path, &["init", "--quiet"]);
        git(&path, &["add", "--all"]);
        git(&path, &["commit", "--quiet", "-m", "revision A"]);
        Self { _dir: dir, path }
    }

    pub fn head(&self) -> String {
        git(&self.path, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub fn version(&self) -> String {
        declared_version(&self.read(VERSION_FILE))
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path.join(file))
            .unwrap_or_else(|e| panic!("read {file} in the template history: {e}"))
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.path.join(file), text)
            .unwrap_or_else(|e| panic!("write {file} in the template history: {e}"));
    }

    /// Replaces `from` with `to` in `file`, which must hold `from`.
    pub fn replace(&self, file: &str, from: &str, to: &str) {
        let text = self.read(file);
        assert!(text.contains(from), "{file} does not hold {from:?}");
        self.write(file, &text.replacen(from, to, 1));
    }

    /// Commits what changed, with the declared version set to `version`; returns the commit.
    pub fn commit(&self, message: &str, version: &str) -> String {
        let current = self.version();
        if current != version {
            self.replace(
                VERSION_FILE,
                &format!("fn version() {{ \"{current}\" }}"),
                &format!("fn version() {{ \"{version}\" }}"),
            );
        }
        git(&self.path, &["add", "--all"]);
        git(&self.path, &["commit", "--quiet", "-m", message]);
        self.head()
    }

    /// Renders the template at its current revision as `name` and commits it as a user's new
    /// service. The service lives as long as the returned value.
    pub fn service(
        &self,
        name: &str,
        defines: &[(&str, &str)],
        tool: CargoGenerate,
    ) -> UserService {
        let mut generate = Generate::new().name(name).tool(tool).source(&self.path);
        for (key, value) in defines {
            generate = generate.define(key, value);
        }
        let render = generate.render();
        git(&render.dir, &["init", "--quiet"]);
        git(&render.dir, &["add", "--all"]);
        git(
            &render.dir,
            &["commit", "--quiet", "-m", "rendered from the template"],
        );
        UserService {
            dir: render.dir.clone(),
            tool,
            _render: render,
            _repository: None,
        }
    }

    /// Like [`service`](Self::service), but the service is the folder `services/<name>` of a
    /// larger repository (a monorepo) that holds other files too.
    pub fn service_in_monorepo(&self, name: &str, tool: CargoGenerate) -> UserService {
        let render = Generate::new()
            .name(name)
            .tool(tool)
            .source(&self.path)
            .render();
        let repository = new_temp_dir("monorepo-");
        let dir = repository.path().join("services").join(name);
        copy_tree(&render.dir, &dir, &|_| false);
        std::fs::write(
            repository.path().join("README.md"),
            "The organisation's monorepo.\n",
        )
        .expect("write the monorepo's README");
        git(repository.path(), &["init", "--quiet"]);
        git(repository.path(), &["add", "--all"]);
        git(
            repository.path(),
            &["commit", "--quiet", "-m", "a monorepo with one service"],
        );
        UserService {
            dir,
            tool,
            _render: render,
            _repository: Some(repository),
        }
    }
}

/// A rendered service under git, as a user keeps it.
pub struct UserService {
    pub dir: PathBuf,
    tool: CargoGenerate,
    _render: crate::render::Render,
    _repository: Option<TempDir>,
}

impl UserService {
    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_else(|e| panic!("read {file} in the service: {e}"))
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.join(file), text)
            .unwrap_or_else(|e| panic!("write {file} in the service: {e}"));
    }

    /// Replaces line `number` (from 1) of `file`.
    pub fn replace_line(&self, file: &str, number: usize, line: &str) {
        let text = self.read(file);
        let mut lines: Vec<&str> = text.lines().collect();
        lines[number - 1] = line;
        self.write(file, &(lines.join("\n") + "\n"));
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.dir, args)
    }

    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "-m", message]);
    }

    /// `git status --porcelain` and HEAD: what "nothing changed" compares.
    pub fn state(&self) -> (String, String) {
        (
            self.git(&["status", "--porcelain", "--untracked-files=all"]),
            self.git(&["rev-parse", "HEAD"]),
        )
    }

    /// Runs `cargo template-update` here with `args`, through this service's cargo-generate.
    pub fn update(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(template_update_bin());
        cmd.current_dir(&self.dir)
            .args(args)
            .env("CARGO_GENERATE", self.tool.bin())
            .env("RUST_BACKTRACE", "0");
        run(&mut cmd)
    }
}
