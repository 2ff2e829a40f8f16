//! `cargo template-update`: brings template improvements, or slices switched on or off, into a
//! service rendered from the twelve-factor-service template.
//!
//! It renders the service twice through the real cargo-generate, with the answers recorded in
//! `.template-answers.toml`: once as it was rendered (the recorded revision and answers), once
//! as it should be now (the target revision, the answers with any `-d` changes). Git then merges
//! the difference between the two renders into the service's own code, as `git cherry-pick`
//! merges a commit: changes that do not overlap the service's edits apply; overlapping ones
//! leave ordinary conflict markers. Nothing of git's merge or of cargo-generate is redone here.
//!
//! Nothing is changed until every check passed and both renders exist: a dirty tree, a missing
//! answers file, an unknown revision or a failed render stops the tool with the service as it was.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail, ensure};
use clap::Parser;

/// The answers file every render has, at the service's root.
const ANSWERS_FILE: &str = ".template-answers.toml";

/// Where the template keeps its declared version (`fn version() { "X" }`).
const VERSION_FILE: &str = "hooks/answers.rhai";

/// What in the template repository shapes a render: a change elsewhere (its tests, its README)
/// changes no service.
const TEMPLATE_PATHS: &[&str] = &["template", "hooks", "cargo-generate.toml"];

/// Takes template updates into this service: run it at the root of a service rendered from the
/// template, in a clean git tree.
#[derive(Debug, Parser)]
#[command(name = "cargo template-update", version, about)]
struct Args {
    /// The template repository: a git URL or a local clone. Default: the one recorded.
    #[arg(long)]
    source: Option<String>,
    /// The template revision to update to. Default: the newest commit, or the recorded revision
    /// when `-d` changes answers (to switch a slice without taking other changes).
    #[arg(long)]
    to: Option<String>,
    /// The revision the service was rendered from, when the answers file records none and its
    /// version does not find it.
    #[arg(long)]
    from: Option<String>,
    /// Change an answer, e.g. `-d kubernetes=true` or `-d database=false`.
    #[arg(short = 'd', long = "define", value_name = "KEY=VALUE")]
    defines: Vec<String>,
    /// Only say whether the service is behind the newest template revision: exit 0 when it is
    /// up to date, 1 when it is behind. Changes nothing.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    // As `cargo template-update`, cargo passes the subcommand's name first.
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("template-update") {
        args.remove(1);
    }
    let args = Args::parse_from(args);
    match run(&args) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("error: {error:#}");
            eprintln!("nothing was changed");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let project = std::env::current_dir().context("cannot read the current folder")?;
    let answers = Answers::read(&project)?;
    let checkout = check_git_tree(&project)?;

    let source = args
        .source
        .clone()
        .or_else(|| (!answers.source.is_empty()).then(|| answers.source.clone()))
        .with_context(|| {
            format!("{ANSWERS_FILE} records no template source: pass --source <git URL or path>")
        })?;
    let work = tempfile::Builder::new()
        .prefix("template-update-")
        .tempdir()
        .context("cannot make a temporary folder")?;
    let repo = TemplateRepo::open(&source, work.path())?;

    let base = match (&args.from, answers.revision.is_empty()) {
        (Some(from), _) => repo.commit(from)?,
        (None, false) => repo
            .commit(&answers.revision)
            .with_context(|| format!("the revision {ANSWERS_FILE} records is not in {source}"))?,
        (None, true) => repo.commit_of_version(&answers.version)?,
    };
    let newest = repo.commit("HEAD")?;

    if args.check {
        return Ok(if repo.same_template(&base, &newest)? {
            println!(
                "up to date: the template has not changed since {}",
                short(&base)
            );
            ExitCode::SUCCESS
        } else {
            println!(
                "behind: rendered from {} (version {}), the newest template is {} (version {})",
                short(&base),
                answers.version,
                short(&newest),
                repo.version_at(&newest)?
            );
            ExitCode::from(1)
        });
    }

    let target = match &args.to {
        Some(to) => repo.commit(to)?,
        None if !args.defines.is_empty() => base.clone(),
        None => newest,
    };
    let new_values = answers.values_with(&args.defines)?;
    if new_values == answers.values && repo.same_template(&base, &target)? {
        println!("up to date: nothing to change");
        return Ok(ExitCode::SUCCESS);
    }

    println!(
        "rendering the service at {} and at {} ...",
        short(&base),
        short(&target)
    );
    let old = repo.render(
        &base,
        &answers.name,
        &answers.values,
        &work.path().join("old"),
    )?;
    let new = repo.render(
        &target,
        &answers.name,
        &new_values,
        &work.path().join("new"),
    )?;
    let new_answers = std::fs::read_to_string(new.join(ANSWERS_FILE))
        .with_context(|| format!("the render at {} has no {ANSWERS_FILE}", short(&target)))?;
    for render in [&old, &new] {
        std::fs::remove_file(render.join(ANSWERS_FILE))
            .context("cannot set the renders' answers files aside")?;
    }

    // Everything that can fail without changing the service has been done.
    let merge = merge_renders(&checkout, &old, &new, work.path())?;
    let recorded = with_source_and_revision(&new_answers, &source, &target);
    std::fs::write(project.join(ANSWERS_FILE), recorded)
        .with_context(|| format!("cannot write {ANSWERS_FILE}"))?;
    git(&project, ["add", "--", ANSWERS_FILE])?;

    println!(
        "updated from {} to {}{}",
        short(&base),
        short(&target),
        if new_values == answers.values {
            String::new()
        } else {
            format!(" with {}", args.defines.join(", "))
        }
    );
    for file in &merge.kept_deleted {
        println!("  kept deleted: {file} (you deleted it; the template still has it)");
    }
    if merge.conflicts.is_empty() {
        println!("no conflicts: review with `git diff --cached`, then commit");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("conflicts, marked in these files:");
        for file in &merge.conflicts {
            println!("  {file}");
        }
        println!(
            "resolve them, `git add` each, then commit; `git reset --hard` abandons the update"
        );
        Ok(ExitCode::from(1))
    }
}

/// `.template-answers.toml`: what the service was rendered from.
struct Answers {
    version: String,
    name: String,
    source: String,
    revision: String,
    values: toml::Table,
}

impl Answers {
    fn read(project: &Path) -> anyhow::Result<Self> {
        let path = project.join(ANSWERS_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no {ANSWERS_FILE} in {}: run this at the root of a service rendered from the \
                 template (renders since version 0.9.0 have it)",
                project.display()
            )
        })?;
        let file: toml::Table = text
            .parse()
            .with_context(|| format!("{ANSWERS_FILE} is not valid TOML"))?;
        let template = file
            .get("template")
            .and_then(toml::Value::as_table)
            .with_context(|| format!("{ANSWERS_FILE} has no [template] table"))?;
        let field = |key: &str| -> anyhow::Result<String> {
            template
                .get(key)
                .and_then(toml::Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("{ANSWERS_FILE}: template.{key} is missing"))
        };
        let values = file
            .get("values")
            .and_then(toml::Value::as_table)
            .cloned()
            .with_context(|| format!("{ANSWERS_FILE} has no [values] table"))?;
        Ok(Self {
            version: field("version")?,
            name: field("name")?,
            source: field("source")?,
            revision: field("revision")?,
            values,
        })
    }

    /// The recorded values with `KEY=VALUE` changes applied. Only recorded keys can change, so a
    /// typo is an error rather than a value the template ignores.
    fn values_with(&self, defines: &[String]) -> anyhow::Result<toml::Table> {
        let mut values = self.values.clone();
        for define in defines {
            let (key, value) = define
                .split_once('=')
                .with_context(|| format!("-d {define}: expected KEY=VALUE"))?;
            let known = values.get(key).with_context(|| {
                let keys: Vec<&str> = self.values.keys().map(String::as_str).collect();
                format!(
                    "-d {define}: no answer is called {key} (answers: {})",
                    keys.join(", ")
                )
            })?;
            let value = match known {
                toml::Value::Boolean(_) => match value {
                    "true" => toml::Value::Boolean(true),
                    "false" => toml::Value::Boolean(false),
                    _ => bail!("-d {define}: {key} is true or false"),
                },
                _ => toml::Value::String(value.to_owned()),
            };
            values.insert(key.to_owned(), value);
        }
        Ok(values)
    }
}

/// The new answers file, with the template's source and the revision it was rendered at.
fn with_source_and_revision(answers: &str, source: &str, revision: &str) -> String {
    let quote = |text: &str| toml::Value::String(text.to_owned()).to_string();
    answers
        .lines()
        .map(|line| {
            if line.starts_with("source = ") {
                format!("source = {}", quote(source))
            } else if line.starts_with("revision = ") {
                format!("revision = {}", quote(revision))
            } else {
                line.to_owned()
            }
        })
        .map(|line| line + "\n")
        .collect()
}

/// Where the service sits: the git repository's root, and the service's folder in it (`""` at
/// the root, `services/orders/` in a monorepo).
struct Checkout {
    top: PathBuf,
    prefix: String,
}

/// The service must be in a git tree with nothing uncommitted: the merge then only ever adds to
/// a state the user can return to.
fn check_git_tree(project: &Path) -> anyhow::Result<Checkout> {
    let top = git(project, ["rev-parse", "--show-toplevel"])
        .with_context(|| format!("{} is not in a git repository", project.display()))?;
    let top = PathBuf::from(top.trim());
    let prefix = git(project, ["rev-parse", "--show-prefix"])?
        .trim()
        .to_owned();
    git(project, ["rev-parse", "--verify", "--quiet", "HEAD"])
        .context("the repository has no commit yet: commit the rendered service first")?;
    let status = git(&top, ["status", "--porcelain", "--untracked-files=normal"])?;
    ensure!(
        status.trim().is_empty(),
        "the working tree is not clean: commit or stash these first:\n{}",
        status.trim_end()
    );
    Ok(Checkout { top, prefix })
}

/// What the merge left for the user to know.
struct Merge {
    conflicts: Vec<String>,
    kept_deleted: Vec<String>,
}

/// Merges the change from the `old` render to the `new` one into the service: git's
/// cherry-pick of a commit `new` whose parent is `old`, so that `old` is the merge base, the
/// service's HEAD is "ours" and the new render "theirs".
fn merge_renders(
    checkout: &Checkout,
    old: &Path,
    new: &Path,
    work: &Path,
) -> anyhow::Result<Merge> {
    let project = checkout.top.as_path();
    let old_tree = placed(checkout, &tree_of(project, old, work)?, work)?;
    let new_tree = placed(checkout, &tree_of(project, new, work)?, work)?;
    let old_commit = commit_tree(project, &old_tree, None, "the template, as rendered before")?;
    let new_commit = commit_tree(project, &new_tree, Some(&old_commit), "the template, now")?;

    // Files of the old render that the service no longer has: the user deleted them.
    let deleted_by_user: BTreeSet<String> = git(
        project,
        [
            "diff",
            "--name-only",
            "--diff-filter=D",
            &old_commit,
            "HEAD",
        ],
    )?
    .lines()
    .map(str::to_owned)
    .collect();

    // Exit 1 means conflicts, which the status below lists; anything else is a failure.
    let picked = Command::new("git")
        .current_dir(project)
        .args(["cherry-pick", "--no-commit", &new_commit])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("cannot run git")?;
    let status = git(project, ["status", "--porcelain", "--untracked-files=no"])?;
    let unmerged: Vec<(String, String)> = status
        .lines()
        .filter_map(|line| {
            let (code, file) = line.split_at_checked(3)?;
            let code = code.trim_end();
            matches!(code, "DD" | "AU" | "UD" | "UA" | "DU" | "AA" | "UU")
                .then(|| (code.to_owned(), file.to_owned()))
        })
        .collect();
    if !picked.status.success() && unmerged.is_empty() {
        bail!(
            "git could not merge the template's changes: {}",
            String::from_utf8_lossy(&picked.stderr).trim()
        );
    }

    let mut conflicts = Vec::new();
    let mut kept_deleted: BTreeSet<String> = deleted_by_user;
    for (code, file) in unmerged {
        if code == "DU" {
            // Deleted here, changed by the template: it stays deleted.
            git(project, ["rm", "--quiet", "--", &file])?;
            kept_deleted.insert(file);
        } else {
            conflicts.push(file);
        }
    }
    // Nothing is left of the cherry-pick but the merged index and files.
    let _ = git(project, ["cherry-pick", "--quit"]);
    // Only files the new render still has are worth mentioning as kept deleted.
    let new_files = git(project, ["ls-tree", "-r", "--name-only", &new_commit])?;
    let new_files: BTreeSet<&str> = new_files.lines().collect();
    kept_deleted.retain(|file| new_files.contains(file.as_str()));
    Ok(Merge {
        conflicts,
        kept_deleted: kept_deleted.into_iter().collect(),
    })
}

/// `tree` as the whole repository would hold it: HEAD's tree with the service's folder
/// replaced by `tree`. At the repository's root that is `tree` itself.
fn placed(checkout: &Checkout, tree: &str, work: &Path) -> anyhow::Result<String> {
    if checkout.prefix.is_empty() {
        return Ok(tree.to_owned());
    }
    let index = work.join("index-placed");
    let run = |args: &[&str]| git_with_index(&checkout.top, &index, args);
    let folder = checkout.prefix.trim_end_matches('/');
    run(&["read-tree", "HEAD"])?;
    run(&[
        "rm",
        "-r",
        "--cached",
        "--quiet",
        "--ignore-unmatch",
        "--",
        folder,
    ])?;
    run(&["read-tree", &format!("--prefix={}", checkout.prefix), tree])?;
    let placed = run(&["write-tree"])?;
    let _ = std::fs::remove_file(&index);
    Ok(placed.trim().to_owned())
}

/// The git tree of the files in `dir`, written into the service's object store. The render's
/// own `.gitignore` applies, as it would in the service.
fn tree_of(project: &Path, dir: &Path, work: &Path) -> anyhow::Result<String> {
    let index = work.join(format!(
        "index-{}",
        dir.file_name().and_then(OsStr::to_str).unwrap_or("tree")
    ));
    let work_tree = [OsStr::new("--work-tree"), dir.as_os_str()];
    let run = |args: &[&str]| {
        let args = work_tree.iter().copied().chain(args.iter().map(OsStr::new));
        git_with_index(project, &index, args)
    };
    run(&["add", "--all"])?;
    let tree = run(&["write-tree"])?;
    let _ = std::fs::remove_file(&index);
    Ok(tree.trim().to_owned())
}

/// A commit of `tree`, made with a fixed identity so that no git configuration is needed.
fn commit_tree(
    project: &Path,
    tree: &str,
    parent: Option<&str>,
    message: &str,
) -> anyhow::Result<String> {
    let mut command = Command::new("git");
    command
        .current_dir(project)
        .env("GIT_AUTHOR_NAME", "cargo template-update")
        .env("GIT_AUTHOR_EMAIL", "template-update@localhost")
        .env("GIT_COMMITTER_NAME", "cargo template-update")
        .env("GIT_COMMITTER_EMAIL", "template-update@localhost")
        // Never signed: these commits only carry the renders into the merge.
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

/// The template's git repository: a local clone, or a temporary clone of a URL.
struct TemplateRepo {
    dir: PathBuf,
    source: String,
}

impl TemplateRepo {
    fn open(source: &str, work: &Path) -> anyhow::Result<Self> {
        let local = Path::new(source);
        let dir = if local.is_dir() {
            git(local, ["rev-parse", "--git-dir"])
                .with_context(|| format!("the template source {source} is not a git repository"))?;
            local.to_path_buf()
        } else {
            let clone = work.join("source");
            let output = Command::new("git")
                .args(["clone", "--quiet", "--no-checkout", source])
                .arg(&clone)
                .output()
                .context("cannot run git")?;
            ensure!(
                output.status.success(),
                "cannot clone the template source {source}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            clone
        };
        Ok(Self {
            dir,
            source: source.to_owned(),
        })
    }

    /// The full commit id `revision` names.
    fn commit(&self, revision: &str) -> anyhow::Result<String> {
        git(
            &self.dir,
            [
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{revision}^{{commit}}"),
            ],
        )
        .map(|id| id.trim().to_owned())
        .map_err(|_| anyhow::anyhow!("unknown revision {revision} in {}", self.source))
    }

    /// The version the template declares at `commit`.
    fn version_at(&self, commit: &str) -> anyhow::Result<String> {
        let text = git(&self.dir, ["show", &format!("{commit}:{VERSION_FILE}")])?;
        declared_version(&text)
            .with_context(|| format!("{VERSION_FILE} at {} declares no version", short(commit)))
    }

    /// The oldest commit that declares `version`: the release a service of that version was
    /// rendered from, when it recorded no revision. The oldest, because a later commit of the
    /// same version may carry changes the service lacks; changes it has already merge cleanly.
    fn commit_of_version(&self, version: &str) -> anyhow::Result<String> {
        let commits = git(&self.dir, ["log", "--format=%H", "--reverse", "HEAD"])?;
        commits
            .lines()
            .find(|commit| self.version_at(commit).ok().as_deref() == Some(version))
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "no revision of {} declares version {version}: pass --from <revision>",
                    self.source
                )
            })
    }

    /// Whether nothing that shapes a render differs between two commits.
    fn same_template(&self, a: &str, b: &str) -> anyhow::Result<bool> {
        let mut args = vec!["diff", "--quiet", a, b, "--"];
        args.extend(TEMPLATE_PATHS);
        let status = Command::new("git")
            .current_dir(&self.dir)
            .args(&args)
            .status()
            .context("cannot run git")?;
        match status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => bail!("git diff failed in {}", self.source),
        }
    }

    /// Renders the service at `commit` with `values` through cargo-generate; returns its folder.
    fn render(
        &self,
        commit: &str,
        name: &str,
        values: &toml::Table,
        into: &Path,
    ) -> anyhow::Result<PathBuf> {
        let tree = into.join("template-source");
        let out = into.join("out");
        std::fs::create_dir_all(&tree).context("cannot make a temporary folder")?;
        std::fs::create_dir_all(&out).context("cannot make a temporary folder")?;
        let archive = Command::new("git")
            .current_dir(&self.dir)
            .args(["archive", "--format=tar", commit])
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run git")?;
        let unpacked = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(&tree)
            .stdin(archive.stdout.context("git archive gave no output")?)
            .status()
            .context("cannot run tar")?;
        ensure!(
            unpacked.success(),
            "cannot unpack the template at {}",
            short(commit)
        );

        let values_file = into.join("values.toml");
        let mut file = toml::Table::new();
        file.insert("values".to_owned(), toml::Value::Table(values.clone()));
        std::fs::write(&values_file, toml::to_string(&file)?)
            .context("cannot write the values file")?;

        let mut command = cargo_generate();
        command
            .arg("--path")
            .arg(&tree)
            .arg("template")
            .args(["--name", name, "--silent", "--vcs", "none", "--destination"])
            .arg(&out)
            .arg("--values-file")
            .arg(&values_file)
            // Values from the environment or the user's cargo-generate config would change
            // the render behind the answers' back.
            .env_remove("CARGO_GENERATE_VALUE_PROJECT_NAME");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CARGO_GENERATE_VALUE_") {
                command.env_remove(key);
            }
        }
        let output = command.output().context("cannot run cargo-generate")?;
        ensure!(
            output.status.success(),
            "cargo-generate could not render the template at {}:\n{}{}",
            short(commit),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let rendered = out.join(name);
        ensure!(
            rendered.is_dir(),
            "cargo-generate rendered nothing at {}",
            rendered.display()
        );
        Ok(rendered)
    }
}

/// `cargo generate`, or the cargo-generate binary `CARGO_GENERATE` names.
fn cargo_generate() -> Command {
    let mut command = match std::env::var_os("CARGO_GENERATE") {
        Some(bin) => Command::new(bin),
        None => Command::new("cargo"),
    };
    // Both take the subcommand's name first: `cargo-generate generate --path …`.
    command.arg("generate");
    command
}

/// The version in the text of [`VERSION_FILE`]: `fn version() { "X" }`.
fn declared_version(text: &str) -> Option<String> {
    let line = text.lines().find(|line| line.starts_with("fn version()"))?;
    let start = line.find('"')? + 1;
    let end = start + line[start..].find('"')?;
    Some(line[start..end].to_owned())
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// Runs git in `dir`; its stdout, or an error with its stderr.
fn git<I, S>(dir: &Path, args: I) -> anyhow::Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_git(Command::new("git").current_dir(dir), args)
}

/// Like [`git`], with the index in the file `index` instead of the repository's own.
fn git_with_index<I, S>(dir: &Path, index: &Path, args: I) -> anyhow::Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_git(
        Command::new("git")
            .current_dir(dir)
            .env("GIT_INDEX_FILE", index),
        args,
    )
}

fn run_git<I, S>(command: &mut Command, args: I) -> anyhow::Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let output = command.args(&args).output().context("cannot run git")?;
    if !output.status.success() {
        let shown: Vec<String> = args
            .iter()
            .map(|arg| arg.as_ref().to_string_lossy().into_owned())
            .collect();
        bail!(
            "git {} failed: {}",
            shown.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
