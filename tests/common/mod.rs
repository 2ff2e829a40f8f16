//! Helpers shared by the harness's test binaries: rendering the template through the real
//! cargo-generate, the slice combinations, and running cargo in a render.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod slices;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use tempfile::TempDir;

// Shared with the runtime helpers in the harness library; each test binary uses some.
#[allow(unused_imports)]
pub use template_harness::postgres::{DATABASE_URL_HELP, postgres_url};
#[allow(unused_imports)]
pub use template_harness::{new_temp_dir, progress};

use slices::{
    ALWAYS_FILES, COMBINED_FILES, CORE_DEPS, SLICE_DEPS, SLICE_FILES, SLICE_OFF_FILES, SLICES,
};

/// The cargo-generate release the template is tested with (see .ci/run).
pub const CARGO_GENERATE_VERSION: &str = "0.23.14";

// ---------------------------------------------------------------------------------------------
// Paths

/// The template repository (this package's root).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The template itself.
pub fn template_dir() -> PathBuf {
    repo_root().join("template")
}

/// One target folder shared by every render, so dependencies compile once.
pub fn renders_target_dir() -> PathBuf {
    repo_root().join("target").join("renders")
}

// ---------------------------------------------------------------------------------------------
// Slice combinations

/// Which slices are on, in the order of [`SLICES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Combo(pub [bool; SLICES.len()]);

impl Combo {
    pub const ALL_ON: Combo = Combo([true; SLICES.len()]);
    pub const ALL_OFF: Combo = Combo([false; SLICES.len()]);

    /// All 2^9 = 512 combinations, all-off first.
    pub fn all() -> Vec<Combo> {
        let n = SLICES.len();
        (0..1u32 << n)
            .map(|bits| Combo(std::array::from_fn(|i| bits & (1 << (n - 1 - i)) != 0)))
            .collect()
    }

    /// A covering set: every pair of slices takes all four on/off states in some combination.
    /// Six rows is the minimum for two-valued factors (it covers up to ten):
    /// below the all-off row, each slice's column is a different 3-of-5 choice of rows, and
    /// two such choices always overlap and always differ. `pairwise_set_covers_every_pair` in
    /// tests/render.rs checks the property.
    pub fn pairwise() -> Vec<Combo> {
        [
            "000000000",
            "111001011",
            "110100110",
            "101010101",
            "010111001",
            "001111110",
        ]
        .into_iter()
        .map(Combo::from_bits)
        .collect()
    }

    /// `"101101001"` -> config on, logging off, shutdown on, health on, database off, docker on,
    /// compose off, kubernetes off, ci on (the order of [`SLICES`]).
    pub fn from_bits(bits: &str) -> Combo {
        assert_eq!(
            bits.len(),
            SLICES.len(),
            "a combination has one bit per slice ({}): {bits}",
            SLICES.join(", ")
        );
        Combo(std::array::from_fn(|i| &bits[i..=i] == "1"))
    }

    pub fn bits(&self) -> String {
        self.0
            .iter()
            .map(|&on| if on { '1' } else { '0' })
            .collect()
    }

    pub fn is_on(&self, slice: &str) -> bool {
        let index = SLICES
            .iter()
            .position(|s| *s == slice)
            .unwrap_or_else(|| panic!("unknown slice `{slice}`"));
        self.0[index]
    }

    /// `config=on logging=off shutdown=on health=on database=off docker=on compose=off`
    pub fn label(&self) -> String {
        SLICES
            .iter()
            .zip(self.0)
            .map(|(slice, on)| format!("{slice}={}", if on { "on" } else { "off" }))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `-d key=value` pairs selecting this combination.
    pub fn defines(&self) -> Vec<(String, String)> {
        SLICES
            .iter()
            .zip(self.0)
            .map(|(slice, on)| (slice.to_string(), on.to_string()))
            .collect()
    }

    /// A project name for a render of this combination, e.g. `combo-101101001`.
    pub fn project_name(&self) -> String {
        format!("combo-{}", self.bits())
    }

    /// Every file a render of this combination must hold, and no other.
    pub fn expected_files(&self) -> BTreeSet<String> {
        let mut files: BTreeSet<String> = ALWAYS_FILES.iter().map(|f| f.to_string()).collect();
        for (slice, owned) in SLICE_FILES {
            if !self.is_on(slice) {
                continue;
            }
            for entry in *owned {
                match entry.strip_suffix('/') {
                    Some(folder) => {
                        let in_template = template_dir().join(folder);
                        if in_template.is_dir() {
                            for file in list_files(&in_template) {
                                files.insert(format!("{folder}/{file}"));
                            }
                        }
                    }
                    None => {
                        files.insert(entry.to_string());
                    }
                }
            }
        }
        for (slice, owned) in SLICE_OFF_FILES {
            if !self.is_on(slice) {
                files.extend(owned.iter().map(|file| file.to_string()));
            }
        }
        for (file, all_of, any_of) in COMBINED_FILES {
            if all_of.iter().all(|s| self.is_on(s)) && any_of.iter().any(|s| self.is_on(s)) {
                files.insert(file.to_string());
            }
        }
        files
    }
}

/// Says which pairs of slices miss which on/off states in `combos`, or nothing.
pub fn missing_pairs(combos: &[Combo]) -> Vec<String> {
    let mut missing = Vec::new();
    for (a, first) in SLICES.iter().enumerate() {
        for (b, second) in SLICES.iter().enumerate().skip(a + 1) {
            for (va, vb) in [(false, false), (false, true), (true, false), (true, true)] {
                if !combos.iter().any(|c| c.0[a] == va && c.0[b] == vb) {
                    missing.push(format!("{first}={va} {second}={vb}"));
                }
            }
        }
    }
    missing
}

// ---------------------------------------------------------------------------------------------
// Rendering

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
        let output = Command::new(&bin)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}; {install}", bin.display()));
        let version = String::from_utf8_lossy(&output.stdout);
        assert!(
            version.split_whitespace().any(|w| w == CARGO_GENERATE_VERSION),
            "{} reports `{}`, the harness needs cargo-generate {CARGO_GENERATE_VERSION}: {install}",
            bin.display(),
            version.trim()
        );
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

    /// Stages the template into `workspace/src` and returns the command that renders it into
    /// `workspace/out` (made here, as cargo-generate wants the destination to exist).
    pub fn command(&self, workspace: &Path) -> Command {
        let source = workspace.join("src");
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

        let mut cmd = Command::new(cargo_generate_bin());
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
        strip_ansi(&format!(
            "{}\n{}",
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        ))
    }

    pub fn describe(&self) -> String {
        describe_output(&self.command, &self.output)
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

/// Renders `combo` under `name` with the template's defaults for everything else.
pub fn render_combo(name: &str, combo: Combo) -> Render {
    Generate::new()
        .name(name)
        .defines(&combo.defines())
        .render()
}

// ---------------------------------------------------------------------------------------------
// Checks on a render

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

/// Differences between the files in `dir` and the files `combo` must produce.
pub fn file_set_problems(dir: &Path, combo: Combo) -> Vec<String> {
    let actual = list_files(dir);
    let expected = combo.expected_files();
    let mut problems = Vec::new();
    for missing in expected.difference(&actual) {
        problems.push(format!("missing file {missing}"));
    }
    for extra in actual.difference(&expected) {
        problems.push(format!(
            "unexpected file {extra} (add it to tests/common/slices.rs if it belongs)"
        ));
    }
    problems
}

/// Names of the direct dependencies in a Cargo.toml: `[dependencies]` (including target
/// tables) and `[dev-dependencies]` separately.
pub fn dependency_names(manifest: &toml::Table) -> (BTreeSet<String>, BTreeSet<String>) {
    fn names(table: Option<&toml::Value>) -> impl Iterator<Item = String> + '_ {
        table
            .and_then(|t| t.as_table())
            .into_iter()
            .flat_map(|t| t.keys().cloned())
    }
    let mut deps: BTreeSet<String> = names(manifest.get("dependencies")).collect();
    deps.extend(names(manifest.get("build-dependencies")));
    let mut dev: BTreeSet<String> = names(manifest.get("dev-dependencies")).collect();
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for target in targets.values() {
            deps.extend(names(target.get("dependencies")));
            deps.extend(names(target.get("build-dependencies")));
            dev.extend(names(target.get("dev-dependencies")));
        }
    }
    (deps, dev)
}

/// Parses the render's Cargo.toml and compares its dependencies with the slice table.
pub fn dependency_problems(dir: &Path, combo: Combo) -> Vec<String> {
    let text = match std::fs::read_to_string(dir.join("Cargo.toml")) {
        Ok(text) => text,
        Err(e) => return vec![format!("cannot read Cargo.toml: {e}")],
    };
    let manifest: toml::Table = match text.parse() {
        Ok(m) => m,
        Err(e) => return vec![format!("Cargo.toml does not parse: {e}\n{text}")],
    };
    let (deps, dev) = dependency_names(&manifest);
    let all: BTreeSet<&String> = deps.iter().chain(&dev).collect();
    let mut problems = Vec::new();
    for core in CORE_DEPS {
        if !all.contains(&core.to_string()) {
            problems.push(format!("core dependency {core} is missing"));
        }
    }
    for (dep, owners) in SLICE_DEPS {
        let wanted = owners.iter().any(|s| combo.is_on(s));
        let present = all.contains(&dep.to_string());
        if wanted && !present {
            problems.push(format!(
                "dependency {dep} is missing (owned by {})",
                owners.join("/")
            ));
        }
        if !wanted && present {
            problems.push(format!(
                "dependency {dep} is present although {} is off",
                owners.join("/")
            ));
        }
    }
    for dep in &deps {
        let known = CORE_DEPS.contains(&dep.as_str()) || SLICE_DEPS.iter().any(|(d, _)| d == dep);
        if !known {
            problems.push(format!(
                "dependency {dep} is in no slice's list (add it to tests/common/slices.rs)"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Cargo in a render

/// A cargo command run in `dir` with the shared target folder. RUSTFLAGS and friends are
/// removed (they would change every dependency's fingerprint and rebuild the cache);
/// DATABASE_URL passes through.
pub fn cargo_command(dir: &Path, args: &[&str]) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", renders_target_dir())
        .env("CARGO_TERM_COLOR", "never");
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs cargo in `dir`; on failure, panics with the command's full output.
pub fn cargo(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = cargo_command(dir, args);
    let output = run(&mut cmd);
    assert!(
        output.status.success(),
        "{}",
        describe_output(&format!("{cmd:?}"), &output)
    );
    output
}

/// Runs a command, failing the test if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

/// The command, its exit status and everything it printed.
pub fn describe_output(command: &str, output: &Output) -> String {
    format!(
        "command: {command}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        strip_ansi(&String::from_utf8_lossy(&output.stdout)),
        strip_ansi(&String::from_utf8_lossy(&output.stderr)),
    )
}

/// Builds the render's binary in the shared target folder and returns its path.
pub fn build_binary(dir: &Path) -> PathBuf {
    cargo(dir, &["build"]);
    let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
        .expect("read Cargo.toml")
        .parse()
        .expect("parse Cargo.toml");
    let name = manifest
        .get("bin")
        .and_then(|b| b.as_array())
        .and_then(|bins| bins.first())
        .and_then(|b| b.get("name"))
        .or_else(|| manifest.get("package").and_then(|p| p.get("name")))
        .and_then(|n| n.as_str())
        .expect("package name in Cargo.toml")
        .to_string();
    let bin = renders_target_dir()
        .join("debug")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "cargo build succeeded but {} is missing",
        bin.display()
    );
    bin
}

/// Renders `combo` as `name` and builds it; the binary is overwritten by the next build of a
/// project with the same name.
pub fn render_and_build(name: &str, combo: Combo) -> (Render, PathBuf) {
    let render = render_combo(name, combo);
    let bin = build_binary(&render.dir);
    (render, bin)
}

/// The all-on render as `project`, built, for a test binary that runs it as a process (`tag`
/// names that binary in progress lines). Only the binary is kept: the render's temporary folder
/// is removed once the build is done. The env prefix read from the render must be
/// `expected_env_prefix`, the one the template derives from the name.
pub fn build_all_on_service(
    project: &str,
    expected_env_prefix: &str,
    tag: &'static str,
) -> template_harness::process::Service {
    let started = Instant::now();
    progress(&format!(
        "[{tag}] rendering {project} ({}) and building it ...",
        Combo::ALL_ON.label()
    ));
    let (render, bin) = render_and_build(project, Combo::ALL_ON);
    let config = render.read("src/config.rs");
    let env_prefix = config
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("pub const ENV_PREFIX: &str = \"")?
                .strip_suffix("\";")
        })
        .unwrap_or_else(|| panic!("no ENV_PREFIX in the rendered src/config.rs:\n{config}"))
        .to_owned();
    assert_eq!(
        env_prefix, expected_env_prefix,
        "the env prefix derived from the project name `{project}`"
    );
    progress(&format!(
        "[{tag}] built {} in {} s",
        bin.display(),
        started.elapsed().as_secs()
    ));
    template_harness::process::Service {
        bin,
        env_prefix,
        tag,
    }
}

// ---------------------------------------------------------------------------------------------
// Files and output

/// Every file under `dir`, as `/`-separated paths relative to it.
pub fn list_files(dir: &Path) -> BTreeSet<String> {
    list_files_except(dir, &|_| false)
}

/// Like [`list_files`], leaving out paths (files or folders) for which `skip` is true.
pub fn list_files_except(dir: &Path, skip: &dyn Fn(&str) -> bool) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, skip: &dyn Fn(&str) -> bool, out: &mut BTreeSet<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read folder {}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.expect("read folder entry");
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .expect("path under base")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if skip(&rel) {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, skip, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, skip, &mut out);
    out
}

/// Copies `from` into `to` (made if missing), leaving out relative paths for which `skip` is
/// true. File permissions are copied too.
pub fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&str) -> bool) {
    for file in list_files_except(from, skip) {
        let target = to.join(&file);
        std::fs::create_dir_all(target.parent().expect("file has a parent"))
            .expect("create folder");
        std::fs::copy(from.join(&file), &target)
            .unwrap_or_else(|e| panic!("copy {file} to {}: {e}", target.display()));
    }
    std::fs::create_dir_all(to).expect("create folder");
}

/// Removes ANSI colour and cursor sequences.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // parameters and intermediates, then one final byte in @..~
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else if let Some('(' | ')') = chars.next() {
                // character set selection: ESC ( B
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Seconds since `start`, for progress lines.
pub fn secs(start: Instant) -> u64 {
    start.elapsed().as_secs()
}
