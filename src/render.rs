//! Rendering the template through the real cargo-generate: finding the binary, staging what a
//! clone of the repository holds, one run ([`Generate`], [`Attempt`]), a successful render
//! ([`Render`]), and Liquid left in a render.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use tempfile::TempDir;

use crate::command::{describe_output, output_text};
use crate::files::{copy_tree, list_files, new_temp_dir};

/// The cargo-generate release the template is tested with (see .ci/run): the newest that
/// builds on the stable toolchain renders declare.
pub const CARGO_GENERATE_VERSION: &str = "0.23.14";

/// The newest cargo-generate release, which needs a newer rustc (.ci/run builds it with the
/// nightly toolchain). The template is proven against it too.
pub const NEWEST_CARGO_GENERATE_VERSION: &str = "0.26.0";

/// Where .ci/run installs the newest release, apart from the pinned one.
pub const NEWEST_CARGO_GENERATE_ROOT: &str = ".local/share/template-ci/cargo-generate-0.26.0";

/// Set to `1` to run without the newest cargo-generate: the tests that compare it with the
/// pinned release then say that they skipped it. For machines that cannot build it.
pub const SKIP_NEWEST_VARIABLE: &str = "TEMPLATE_HARNESS_SKIP_NEWEST_CARGO_GENERATE";

/// Which cargo-generate release runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CargoGenerate {
    /// [`CARGO_GENERATE_VERSION`], for everything.
    #[default]
    Pinned,
    /// [`NEWEST_CARGO_GENERATE_VERSION`], for a subset.
    Newest,
}

impl CargoGenerate {
    /// The releases a test runs with: both, unless [`SKIP_NEWEST_VARIABLE`] says otherwise.
    pub fn all() -> Vec<Self> {
        if std::env::var(SKIP_NEWEST_VARIABLE).as_deref() == Ok("1") {
            crate::report::progress(&format!(
                "[cargo-generate] {SKIP_NEWEST_VARIABLE}=1: skipping cargo-generate \
                 {NEWEST_CARGO_GENERATE_VERSION}, running {CARGO_GENERATE_VERSION} only"
            ));
            vec![Self::Pinned]
        } else {
            vec![Self::Pinned, Self::Newest]
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Self::Pinned => CARGO_GENERATE_VERSION,
            Self::Newest => NEWEST_CARGO_GENERATE_VERSION,
        }
    }

    /// The binary, found and version-checked once.
    pub fn bin(self) -> &'static Path {
        match self {
            Self::Pinned => cargo_generate_bin(),
            Self::Newest => newest_cargo_generate_bin(),
        }
    }
}

/// Finds the newest cargo-generate (`CARGO_GENERATE_NEWEST_BIN`, else where .ci/run installs
/// it) and checks its version, once. Fails loudly when it is missing.
pub fn newest_cargo_generate_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let install = format!(
            "install it with `cargo +nightly install cargo-generate --version \
             {NEWEST_CARGO_GENERATE_VERSION} --locked --root ~/{NEWEST_CARGO_GENERATE_ROOT}` \
             (or point CARGO_GENERATE_NEWEST_BIN at one, or set {SKIP_NEWEST_VARIABLE}=1 to \
             test with {CARGO_GENERATE_VERSION} only)"
        );
        let bin = std::env::var_os("CARGO_GENERATE_NEWEST_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                let home = std::env::var_os("HOME")?;
                Some(
                    PathBuf::from(home)
                        .join(NEWEST_CARGO_GENERATE_ROOT)
                        .join("bin")
                        .join(format!("cargo-generate{}", std::env::consts::EXE_SUFFIX)),
                )
            })
            .filter(|bin| bin.is_file())
            .unwrap_or_else(|| {
                panic!("cargo-generate {NEWEST_CARGO_GENERATE_VERSION} was not found: {install}")
            });
        check_version(&bin, NEWEST_CARGO_GENERATE_VERSION, &install);
        bin
    })
}

fn check_version(bin: &Path, expected: &str, install: &str) {
    let output = Command::new(bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}; {install}", bin.display()));
    let version = String::from_utf8_lossy(&output.stdout);
    assert!(
        version.split_whitespace().any(|w| w == expected),
        "{} reports `{}`, the harness needs cargo-generate {expected}: {install}",
        bin.display(),
        version.trim()
    );
}

/// The template repository (this package's root).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The template itself.
pub fn template_dir() -> PathBuf {
    repo_root().join("template")
}

/// Finds the cargo-generate binary and checks its version, once. Fails loudly when it is
/// missing: a harness that skips without it would pass while testing nothing.
pub fn cargo_generate_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let install = format!(
            "install it with `cargo install cargo-generate --version {CARGO_GENERATE_VERSION} --locked` \
             (or point CARGO_GENERATE_BIN at one)"
        );
        let bin = find_cargo_generate()
            .unwrap_or_else(|| panic!("cargo-generate was not found on PATH or in $CARGO_HOME/bin: {install}"));
        check_version(&bin, CARGO_GENERATE_VERSION, &install);
        bin
    })
}

fn find_cargo_generate() -> Option<PathBuf> {
    let exe = format!("cargo-generate{}", std::env::consts::EXE_SUFFIX);
    if let Some(bin) = std::env::var_os("CARGO_GENERATE_BIN") {
        return Some(PathBuf::from(bin));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo").join("bin"));
    }
    dirs.into_iter().map(|d| d.join(&exe)).find(|p| p.is_file())
}

/// Copies what a clone of the repository gives cargo-generate (the root config, template/ and
/// hooks/) into `into`. Rendering from this copy instead of the repository itself matters:
/// `cargo generate --path` copies the whole folder first, and the repository's target/ holds
/// gigabytes of build output.
pub fn stage_template_source(into: &Path) {
    let root = repo_root();
    std::fs::create_dir_all(into).expect("create staging folder");
    std::fs::copy(
        root.join("cargo-generate.toml"),
        into.join("cargo-generate.toml"),
    )
    .expect("copy cargo-generate.toml");
    for dir in ["template", "hooks"] {
        copy_tree(&root.join(dir), &into.join(dir), &|rel| {
            rel == "target" || rel.ends_with("/target") || rel == ".git"
        });
    }
}

/// A cargo-generate invocation: `cargo generate --path <staged repo> template ...`.
#[derive(Clone, Debug, Default)]
pub struct Generate {
    name: Option<String>,
    defines: Vec<(String, String)>,
    values_file: Option<PathBuf>,
    interactive: bool,
    tool: CargoGenerate,
    source: Option<PathBuf>,
}

impl Generate {
    /// A non-interactive run (`--silent`), as scripts and CI use it.
    pub fn new() -> Self {
        Self::default()
    }

    /// A run that prompts (no `--silent`); it needs a terminal.
    pub fn interactive() -> Self {
        Self {
            interactive: true,
            ..Self::default()
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    pub fn define(mut self, key: &str, value: &str) -> Self {
        self.defines.push((key.to_string(), value.to_string()));
        self
    }

    pub fn defines(mut self, defines: &[(String, String)]) -> Self {
        self.defines.extend(defines.iter().cloned());
        self
    }

    pub fn values_file(mut self, path: &Path) -> Self {
        self.values_file = Some(path.to_path_buf());
        self
    }

    /// Runs this cargo-generate release instead of the pinned one.
    pub fn tool(mut self, tool: CargoGenerate) -> Self {
        self.tool = tool;
        self
    }

    /// Renders the template in `source` (a folder laid out like this repository) instead of a
    /// staged copy of this repository's.
    pub fn source(mut self, source: &Path) -> Self {
        self.source = Some(source.to_path_buf());
        self
    }

    /// Stages the template into `workspace/src` and returns the command that renders it into
    /// `workspace/out` (made here, as cargo-generate wants the destination to exist).
    pub fn command(&self, workspace: &Path) -> Command {
        let source = self.source.clone().unwrap_or_else(|| workspace.join("src"));
        let destination = workspace.join("out");
        if !source.exists() {
            stage_template_source(&source);
        }
        std::fs::create_dir_all(&destination).expect("create destination folder");
        // An empty app config keeps the user's $CARGO_HOME/cargo-generate.toml out of the run.
        let app_config = workspace.join("cargo-generate-app.toml");
        std::fs::write(&app_config, "").expect("write empty app config");

        let mut args: Vec<OsString> = vec![
            "generate".into(),
            "--path".into(),
            source.into(),
            "template".into(),
            "--vcs".into(),
            "none".into(),
            "--no-workspace".into(),
            "--config".into(),
            app_config.into(),
            "--destination".into(),
            destination.into(),
        ];
        if !self.interactive {
            args.push("--silent".into());
        }
        if let Some(name) = &self.name {
            args.push("--name".into());
            args.push(name.into());
        }
        if let Some(values) = &self.values_file {
            args.push("--values-file".into());
            args.push(values.into());
        }
        for (key, value) in &self.defines {
            args.push("-d".into());
            args.push(format!("{key}={value}").into());
        }

        let mut cmd = Command::new(self.tool.bin());
        // Backtraces would bury the hooks' messages.
        cmd.args(args)
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0");
        // Values from the environment would silently change what renders.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CARGO_GENERATE_") {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// Runs cargo-generate into a fresh temporary folder and returns what happened, success or
    /// not. The folder lives as long as the returned [`Attempt`].
    pub fn attempt(&self) -> Attempt {
        let workspace = new_temp_dir("template-render-");
        let mut cmd = self.command(workspace.path());
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
        Attempt {
            workspace,
            command: format!("{cmd:?}"),
            output,
        }
    }

    /// Renders and fails the test, showing cargo-generate's output, unless that worked.
    pub fn render(&self) -> Render {
        let name = self.name.clone().expect("a render needs a project name");
        let attempt = self.attempt();
        assert!(
            attempt.output.status.success(),
            "cargo-generate failed:\n{}",
            attempt.describe()
        );
        let dir = attempt.destination().join(&name);
        assert!(
            dir.is_dir(),
            "cargo-generate succeeded but {} is missing:\n{}",
            dir.display(),
            attempt.describe()
        );
        Render { dir, attempt }
    }
}

/// One cargo-generate run and the temporary folder it worked in.
pub struct Attempt {
    pub workspace: TempDir,
    pub command: String,
    pub output: Output,
}

impl Attempt {
    /// The `--destination` folder; the project, if any, is a folder inside it.
    pub fn destination(&self) -> PathBuf {
        self.workspace.path().join("out")
    }

    /// stdout and stderr together, ANSI colours removed.
    pub fn text(&self) -> String {
        output_text(&self.output)
    }

    pub fn describe(&self) -> String {
        describe_output(&self.command, &self.output)
    }

    /// Fails unless cargo-generate refused the input, its message mentions every one of
    /// `mentions`, and the project folder `name`, if made at all, holds no file.
    pub fn assert_refused(&self, name: &str, mentions: &[&str]) {
        assert!(
            !self.output.status.success(),
            "cargo-generate accepted bad input:\n{}",
            self.describe()
        );
        let text = self.text();
        for word in mentions {
            assert!(
                text.contains(word),
                "the message does not mention `{word}`:\n{text}"
            );
        }
        let project = self.destination().join(name);
        if project.exists() {
            let files = list_files(&project);
            assert!(files.is_empty(), "bad input rendered files: {files:?}");
        }
    }
}

/// A successful render; the files are deleted when it is dropped.
pub struct Render {
    /// The rendered project.
    pub dir: PathBuf,
    pub attempt: Attempt,
}

impl Render {
    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_else(|e| panic!("read {} in the render: {e}", file))
    }

    pub fn has(&self, file: &str) -> bool {
        self.dir.join(file).exists()
    }
}

/// Liquid left in the rendered files: `file:line: text` for each hit.
pub fn liquid_leftovers(dir: &Path) -> Vec<String> {
    let mut hits = Vec::new();
    for file in list_files(dir) {
        let bytes = std::fs::read(dir.join(&file)).expect("read rendered file");
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            // GitHub Actions expressions (`${{ github.sha }}`) are meant to stay.
            let line_without_expressions = line.replace("${{", "");
            if ["{{", "{%", "%}"]
                .iter()
                .any(|m| line_without_expressions.contains(m))
            {
                hits.push(format!("{file}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    hits
}
