//! An organisation's fork of the template, as README.md's "For platform teams" section makes
//! one: a clone of the upstream template with the organisation's defaults in one file of its
//! own (`org/cargo-generate.toml`, a cargo-generate favorite with its values) and files of its
//! own (`template/CODEOWNERS`), taking upstream releases with a plain `git merge`; and the
//! services its developers render from it through the favorite.

use std::path::PathBuf;
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::command::{describe_output, run};
use crate::files::new_temp_dir;
use crate::render::{Attempt, CargoGenerate, Render};
use crate::update::{TemplateHistory, UserService, git, git_output};

/// The fork's one file of defaults: a cargo-generate app config holding the favorite.
pub const ORG_CONFIG: &str = "org/cargo-generate.toml";

/// The favorite's name, what developers pass to `cargo generate`.
pub const FAVORITE: &str = "acme-service";

/// A file the organisation adds to the template: every service it renders gets it.
pub const ORG_TEMPLATE_FILE: &str = "template/CODEOWNERS";

/// What [`ORG_TEMPLATE_FILE`] holds.
pub const ORG_OWNERS: &str = "* @acme/platform\n";

/// The organisation's defaults, as `[values]` of the favorite: a port of its own, the
/// Kubernetes and metrics slices on, no compose file.
pub const ORG_VALUES: [(&str, &str); 4] = [
    ("port", "\"3000\""),
    ("kubernetes", "true"),
    ("metrics", "true"),
    ("compose", "false"),
];

/// The fork: a clone of the upstream template whose `origin` is upstream.
pub struct OrgFork {
    _dir: TempDir,
    pub path: PathBuf,
}

impl OrgFork {
    /// Clones `upstream` and commits the organisation's defaults and owners, as a platform team
    /// does once.
    pub fn create(upstream: &TemplateHistory) -> Self {
        let dir = new_temp_dir("org-fork-");
        let path = dir.path().join("acme-template");
        let from = upstream.path.display().to_string();
        let into = path.display().to_string();
        git(dir.path(), &["clone", "--quiet", &from, &into]);
        let fork = Self { _dir: dir, path };
        std::fs::create_dir_all(fork.path.join("org")).expect("create org/");
        fork.write(ORG_CONFIG, &fork.org_config());
        fork.write(ORG_TEMPLATE_FILE, ORG_OWNERS);
        fork.git(&["add", "--all"]);
        fork.git(&["commit", "--quiet", "-m", "Acme's defaults and owners"]);
        fork
    }

    /// The fork's `file://` URL, where its developers clone it from.
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// The favorite, pointing at this fork, with [`ORG_VALUES`] and the fork's URL as
    /// `template_source`, so every service records where its updates come from.
    pub fn org_config(&self) -> String {
        let url = self.url();
        let mut text = format!(
            "# Acme's defaults for services rendered from this fork.\n\
             [favorites.{FAVORITE}]\n\
             description = \"Acme's Rust web service\"\n\
             git = \"{url}\"\n\n\
             [favorites.{FAVORITE}.values]\n\
             template_source = \"{url}\"\n"
        );
        for (key, value) in ORG_VALUES {
            text.push_str(&format!("{key} = {value}\n"));
        }
        text
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.path, args)
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path.join(file))
            .unwrap_or_else(|e| panic!("read {file} in the fork: {e}"))
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.path.join(file), text)
            .unwrap_or_else(|e| panic!("write {file} in the fork: {e}"));
    }

    /// `git fetch origin` and a plain `git merge origin/main`; returns what the merge did.
    pub fn merge_upstream(&self) -> Output {
        self.git(&["fetch", "--quiet", "origin"]);
        git_output(&self.path, &["merge", "--no-edit", "origin/main"])
    }

    /// Renders `name` as a developer does, `cargo generate --config org/cargo-generate.toml
    /// acme-service`, with `defines`, and commits it as a new service.
    pub fn service(
        &self,
        name: &str,
        defines: &[(&str, &str)],
        tool: CargoGenerate,
    ) -> UserService {
        let attempt = self.attempt(name, defines, tool);
        assert!(
            attempt.output.status.success(),
            "rendering from the fork failed:\n{}",
            attempt.describe()
        );
        let dir = attempt.destination().join(name);
        assert!(dir.is_dir(), "nothing rendered:\n{}", attempt.describe());
        UserService::commit_render(Render { dir, attempt }, tool)
    }

    fn attempt(&self, name: &str, defines: &[(&str, &str)], tool: CargoGenerate) -> Attempt {
        let workspace = new_temp_dir("org-fork-render-");
        let destination = workspace.path().join("out");
        std::fs::create_dir_all(&destination).expect("create the destination");
        let mut cmd = Command::new(tool.bin());
        cmd.arg("generate")
            .arg("--config")
            .arg(self.path.join(ORG_CONFIG))
            .arg(FAVORITE)
            .args([
                "--name",
                name,
                "--silent",
                "--vcs",
                "none",
                "--no-workspace",
            ])
            .arg("--destination")
            .arg(&destination)
            .env("RUST_BACKTRACE", "0");
        for (key, value) in defines {
            cmd.arg("-d").arg(format!("{key}={value}"));
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CARGO_GENERATE_") {
                cmd.env_remove(key);
            }
        }
        let output = run(&mut cmd);
        Attempt {
            workspace,
            command: format!("{cmd:?}"),
            output,
        }
    }
}

/// Fails with git's output unless `merge` succeeded.
pub fn assert_merged(merge: &Output) {
    assert!(
        merge.status.success(),
        "{}",
        describe_output("git merge origin/main, in the fork", merge)
    );
}
