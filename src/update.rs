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

/// Where the template's post hook repeats the version for renders (`fn version() { "X" }`):
/// a hook cannot read CHANGELOG.md, where the tool reads it.
pub const HOOK_VERSION_FILE: &str = "hooks/answers.rhai";

/// The template's manifest, as this repository holds it (rendered as the service's Cargo.toml).
pub const TEMPLATE_MANIFEST: &str = "template/Cargo.toml.liquid";

/// The answers file every render has: the tool's own definition.
pub use cargo_template_update::answers::FILE_NAME as ANSWERS_FILE;
pub use cargo_template_update::answers::{Answer, Answers};

/// The template's version as the tool reads it: the newest release in `changelog`.
pub fn changelog_version(changelog: &str) -> String {
    cargo_template_update::changelog::newest_release(&cargo_template_update::changelog::parse(
        changelog,
    ))
    .expect("CHANGELOG.md has a release heading `## [X.Y.Z] - DATE`")
    .to_string()
}

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
        std::fs::copy(repo_root().join("CHANGELOG.md"), path.join("CHANGELOG.md"))
            .expect("copy CHANGELOG.md");
        git(&path, &["init", "--quiet"]);
        git(&path, &["add", "--all"]);
        git(&path, &["commit", "--quiet", "-m", "revision A"]);
        Self { _dir: dir, path }
    }

    /// Runs git in the history's repository.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.path, args)
    }

    pub fn head(&self) -> String {
        git(&self.path, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// The version at the history's HEAD, as the tool reads it.
    pub fn version(&self) -> String {
        changelog_version(&self.read("CHANGELOG.md"))
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

    /// Commits what changed, as release `version` when that is not already the version, with
    /// `message` as its changelog entry; returns the commit.
    pub fn commit(&self, message: &str, version: &str) -> String {
        self.commit_release(message, version, &format!("- {message}"))
    }

    /// Commits what changed; when `version` is a new version, it becomes the newest release:
    /// a changelog entry with `notes`, and the hook's copy of the version.
    pub fn commit_release(&self, message: &str, version: &str, notes: &str) -> String {
        let current = self.version();
        if current != version {
            self.replace(
                HOOK_VERSION_FILE,
                &format!("fn version() {{ \"{current}\" }}"),
                &format!("fn version() {{ \"{version}\" }}"),
            );
            let changelog = self.read("CHANGELOG.md");
            let at = changelog
                .find("\n## [")
                .expect("CHANGELOG.md has a release heading");
            let entry = format!("\n## [{version}] - 2026-12-07\n\n{notes}\n");
            self.write(
                "CHANGELOG.md",
                &format!("{}{entry}{}", &changelog[..at], &changelog[at..]),
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
        UserService::commit_render(generate.render(), tool)
    }

    /// The history's `file://` URL: a source the tool records.
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
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
    /// Commits `render` as a user's new service, in a git repository of its own.
    pub fn commit_render(render: crate::render::Render, tool: CargoGenerate) -> Self {
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

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_else(|e| panic!("read {file} in the service: {e}"))
    }

    /// The service's answers file, read with the tool's own module.
    pub fn answers(&self) -> Answers {
        Answers::read(&self.dir).unwrap_or_else(|e| panic!("the service's answers: {e:#}"))
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

    /// Builds every target of the service and runs its own tests against the PostgreSQL server
    /// at `DATABASE_URL`; panics with cargo's output, naming the service as `what`, unless both
    /// pass.
    pub fn builds_and_passes_its_tests(&self, what: &str) {
        let database_url = crate::postgres::postgres_url();
        crate::cargo::cargo(&self.dir, &["build", "--all-targets"]);
        let tested = crate::cargo::cargo_command(&self.dir, &["test"])
            .env("DATABASE_URL", &database_url)
            .output()
            .expect("run cargo test");
        assert!(
            tested.status.success(),
            "{what} fails its own tests:\n{}",
            describe_output("cargo test", &tested)
        );
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
        self.update_with_env(args, &[])
    }

    /// Like [`update`](Self::update), with these environment variables set (the rest of the
    /// environment passes through, as in a user's shell).
    pub fn update_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(template_update_bin());
        cmd.current_dir(&self.dir)
            .args(args)
            .env("CARGO_GENERATE", self.tool.bin())
            .envs(env.iter().copied());
        run(&mut cmd)
    }
}

/// The first commit of this repository whose renders have an answers file.
pub const FIRST_COMMIT_WITH_ANSWERS: &str = "2c2ef65";

/// What in the template repository shapes a render.
pub const TEMPLATE_PATHS: [&str; 3] = ["template", "hooks", "cargo-generate.toml"];

/// A clone of this repository with a branch `main` at the commit checked out here, whatever
/// that checkout is (CI checks out a detached HEAD): the source a user's update would fetch.
pub struct RepositoryClone {
    _dir: TempDir,
    pub path: PathBuf,
}

/// Clones this repository; fails loudly when its history is shallow, since the tests that use
/// the clone render at older commits.
pub fn clone_this_repository() -> RepositoryClone {
    let root = repo_root();
    let shallow = git(&root, &["rev-parse", "--is-shallow-repository"]);
    assert_eq!(
        shallow.trim(),
        "false",
        "this checkout of the template repository is shallow: the update tests render at its \
         older commits and need the full history (`git fetch --unshallow`, or a clone without \
         --depth)"
    );
    let head = git(&root, &["rev-parse", "HEAD"]).trim().to_owned();
    let dir = new_temp_dir("template-clone-");
    let path = dir.path().join("template-repo");
    let target = path.display().to_string();
    let origin = root.display().to_string();
    git(
        dir.path(),
        &["clone", "--quiet", "--no-checkout", &origin, &target],
    );
    git(&path, &["update-ref", "refs/heads/main", &head]);
    git(&path, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    RepositoryClone { _dir: dir, path }
}

impl RepositoryClone {
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// The full commit id `revision` names.
    pub fn commit(&self, revision: &str) -> String {
        git(
            &self.path,
            &["rev-parse", &format!("{revision}^{{commit}}")],
        )
        .trim()
        .to_owned()
    }

    /// The newest commit at or before `revision` that changed what shapes a render.
    pub fn last_template_commit(&self, revision: &str) -> String {
        let mut args = vec!["log", "-1", "--format=%H", revision, "--"];
        args.extend(TEMPLATE_PATHS);
        git(&self.path, &args).trim().to_owned()
    }

    /// Renders the template as it was at `commit`, with `defines`, and commits the render as a
    /// user's new service.
    pub fn service_at(
        &self,
        commit: &str,
        name: &str,
        defines: &[(&str, &str)],
        tool: CargoGenerate,
    ) -> UserService {
        let tree = new_temp_dir("template-at-commit-");
        let mut archive = vec!["archive", "--format=tar", "--output"];
        let tar = tree.path().join("template.tar").display().to_string();
        archive.push(&tar);
        archive.push(commit);
        archive.extend(TEMPLATE_PATHS);
        git(&self.path, &archive);
        let source = tree.path().join("source");
        std::fs::create_dir_all(&source).expect("create the source folder");
        let unpacked = run(Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&source));
        assert!(
            unpacked.status.success(),
            "{}",
            describe_output("tar", &unpacked)
        );
        let mut generate = Generate::new().name(name).tool(tool).source(&source);
        for (key, value) in defines {
            generate = generate.define(key, value);
        }
        UserService::commit_render(generate.render(), tool)
    }
}

/// A service rendered with the defaults and committed with its `Cargo.lock`, as the
/// post-generate message says; then a template revision that adds a dependency (`itoa`), taken
/// together with the metrics slice switched on (`-d metrics=true`, which adds the metrics
/// crates): the update whose lockfile the Dockerfile's `--locked` build needs in step. Returns
/// the history, the service and what the tool did.
pub fn service_updated_with_new_dependencies(
    name: &str,
    tool: CargoGenerate,
) -> (TemplateHistory, UserService, Output) {
    let history = TemplateHistory::create();
    let service = history.service(name, &[], tool);
    crate::cargo::cargo(&service.dir, &["generate-lockfile"]);
    service.commit_all("Cargo.lock, as the post-generate message says");
    add_a_dependency(&history);
    let output = service.update(&[
        "--source",
        &history.url(),
        "--to",
        "main",
        "-d",
        "metrics=true",
    ]);
    (history, service, output)
}

/// A template revision that adds a dependency (`itoa`) to the service's manifest.
pub fn add_a_dependency(history: &TemplateHistory) -> String {
    history.replace(
        TEMPLATE_MANIFEST,
        "hyper-util = {",
        "itoa = \"1\"\nhyper-util = {",
    );
    history.commit("revision B: a new dependency", &history.version())
}
