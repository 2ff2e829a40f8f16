//! The README's main job, done as a newcomer would: its one command renders a service, migrates
//! and runs it, and the example resource then works on the first try.
//!
//! The command line is read from README.md and run by bash in a copy of what a clone holds. Two
//! things differ from a person's shell, both for the harness's sake: `CARGO_TARGET_DIR` points at
//! the shared render build folder (so dependencies are not compiled again), and the command's
//! fixed `DATABASE_URL` must reach a PostgreSQL server (the one `.ci/run` starts answers there).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use template_harness::cargo::renders_target_dir;
use template_harness::files::new_temp_dir;
use template_harness::http::request;
use template_harness::ports::accepts_connections;
use template_harness::render::{cargo_generate_bin, repo_root, stage_template_source};
use template_harness::report::progress;

/// The port the README says the service serves on.
const README_PORT: u16 = 8080;
/// Longest wait for the render to build, migrate and answer `/livez`.
const LIVE_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait for `/readyz` once the service answers at all.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn the_readme_command_ends_with_a_working_example_resource() {
    let command = the_readme_command();
    assert!(
        !accepts_connections(README_PORT),
        "port {README_PORT} is taken: the README's service listens there"
    );
    let clone = new_temp_dir("readme-clone-");
    stage_template_source(clone.path());

    let mut run = ReadmeRun::start(&command, clone.path());
    let ready = run.wait_until_ready();
    let created = request(
        README_PORT,
        "POST",
        "/notes",
        &[],
        Some(r#"{"title":"hi"}"#),
    );
    run.stop();

    let created = created.expect("POST /notes answered");
    assert_eq!(
        created.status, 201,
        "the README's service answers the first POST /notes: {created:?}"
    );
    progress(&format!(
        "[readme] the README's command: /readyz 200 after {} s (render, build, migrate, start); POST /notes 201",
        ready.as_secs()
    ));
}

/// The one command line of README.md that renders and runs a service.
fn the_readme_command() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("read README.md");
    readme
        .lines()
        .find(|line| line.starts_with("cargo generate --path . template"))
        .expect("README.md gives one command that renders and runs a service")
        .to_owned()
}

/// The README's command run by bash in a process group of its own, so the service that `cargo
/// run` starts is stopped with it (also when the test fails).
struct ReadmeRun {
    command: String,
    child: Child,
    started: Instant,
}

impl ReadmeRun {
    fn start(command: &str, clone: &Path) -> Self {
        let mut bash = Command::new("bash");
        bash.args(["-c", command])
            .current_dir(clone)
            .env("CARGO_TARGET_DIR", renders_target_dir())
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CARGO_GENERATE_") {
                bash.env_remove(key);
            }
        }
        // The same cargo-generate the rest of the harness checks.
        let cargo_generate = cargo_generate_bin();
        let path = format!(
            "{}:{}",
            cargo_generate.parent().expect("a folder").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        bash.env("PATH", path);
        Self {
            command: command.to_owned(),
            started: Instant::now(),
            child: bash.spawn().expect("run bash"),
        }
    }

    /// Waits until `/readyz` answers 200: up to [`LIVE_TIMEOUT`] for the service to answer at
    /// all, then [`READY_TIMEOUT`] more. How long after the start it was ready.
    fn wait_until_ready(&mut self) -> Duration {
        let mut live_after = None;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the README's command ended ({status}) before the service was ready: `{}`",
                    self.command
                );
            }
            if live_after.is_none()
                && request(README_PORT, "GET", "/livez", &[], None).is_ok_and(|r| r.status == 200)
            {
                live_after = Some(self.started.elapsed());
            }
            let readyz = request(README_PORT, "GET", "/readyz", &[], None);
            if readyz.as_ref().is_ok_and(|r| r.status == 200) {
                return self.started.elapsed();
            }
            let waited_too_long = match live_after {
                Some(live) => self.started.elapsed() > live + READY_TIMEOUT,
                None => self.started.elapsed() > LIVE_TIMEOUT,
            };
            assert!(
                !waited_too_long,
                "the README's service is not ready: /readyz answered {readyz:?}"
            );
            thread::sleep(Duration::from_millis(500));
        }
    }

    /// SIGTERM to the whole group, then waits for bash.
    fn stop(&mut self) {
        // `kill -TERM -<pid>` reads the group as an option; `--` makes it the group.
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for ReadmeRun {
    fn drop(&mut self) {
        self.stop();
    }
}
