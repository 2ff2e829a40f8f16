//! The README's main job, done as a newcomer would on a machine with Rust and Docker and no
//! PostgreSQL of its own: its one command renders a service, starts the render's compose
//! PostgreSQL, migrates and runs the service, and the example resource then works on the first
//! try.
//!
//! The command line is read from README.md and run by bash in a copy of what a clone holds, with
//! no `DATABASE_URL`. Three things differ from a person's shell, all for the harness's sake:
//! `CARGO_TARGET_DIR` points at the shared render build folder (so dependencies are not compiled
//! again); `POSTGRES_HOST_PORT` moves the compose PostgreSQL to a free port, because the CI
//! machine's own PostgreSQL holds 5432 (the README names the variable for the same case); and
//! `COMPOSE_PROJECT_NAME` gives the compose project a name of its own, which `down -v` removes
//! when the test ends, passed or failed. The note is then read back from the compose database, so
//! the service provably used it and not the CI machine's.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use template_harness::cargo::renders_target_dir;
use template_harness::container::{Cleanup, compose_problem, docker, engine_problem, unique};
use template_harness::files::new_temp_dir;
use template_harness::http::request;
use template_harness::ports::{accepts_connections, free_port};
use template_harness::render::{cargo_generate_bin, repo_root, stage_template_source};
use template_harness::report::progress;

/// The port the README says the service serves on.
const README_PORT: u16 = 8080;
/// The folder and compose service the README's command makes and starts.
const README_SERVICE: &str = "orders-api";
/// The database compose.yaml creates for it.
const README_DATABASE: &str = "orders_api";
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
    if let Some(problem) = engine_problem().or_else(compose_problem) {
        panic!("the README's command starts PostgreSQL with Docker Compose: {problem}");
    }
    let clone = new_temp_dir("readme-clone-");
    stage_template_source(clone.path());
    let compose = ComposeDb {
        project: unique("readme"),
        port: free_port(),
    };
    // Dropped last: `down -v` once the service has stopped, whatever happened.
    let mut cleanup = Cleanup::new();
    cleanup.later(&["compose", "-p", &compose.project, "down", "-v"]);

    let mut run = ReadmeRun::start(&command, clone.path(), &compose);
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
    let notes = compose.notes_count(&clone.path().join(README_SERVICE));
    assert_eq!(
        notes, "1",
        "the note is in the compose PostgreSQL (project {}, port {})",
        compose.project, compose.port
    );
    progress(&format!(
        "[readme] the README's command: /readyz 200 after {} s (render, compose PostgreSQL on port {}, \
         build, migrate, start); POST /notes 201, stored in the compose database",
        ready.as_secs(),
        compose.port
    ));
}

/// The compose project the README's command starts its PostgreSQL in.
struct ComposeDb {
    project: String,
    /// Host port of the compose PostgreSQL (`POSTGRES_HOST_PORT`).
    port: u16,
}

impl ComposeDb {
    /// How many notes the compose database holds, asked inside its container.
    fn notes_count(&self, service_dir: &Path) -> String {
        let output = Command::new("docker")
            .args(["compose", "-p", &self.project, "exec", "-T", "db"])
            .args(["psql", "-U", "postgres", "-d", README_DATABASE, "-tAc"])
            .arg("SELECT count(*) FROM notes")
            .current_dir(service_dir)
            .env("POSTGRES_HOST_PORT", self.port.to_string())
            .output()
            .expect("run docker compose exec");
        let containers = docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
        ]);
        assert!(
            output.status.success(),
            "psql in the compose db: {}\n{}\ncontainers: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&containers.stdout)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
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
    /// stdout and stderr of the command, for failure messages.
    log: std::path::PathBuf,
    child: Child,
    started: Instant,
}

impl ReadmeRun {
    fn start(command: &str, clone: &Path, compose: &ComposeDb) -> Self {
        let log = clone.join("readme-command.log");
        let output = std::fs::File::create(&log).expect("create the command's log");
        let mut bash = Command::new("bash");
        bash.args(["-c", command])
            .current_dir(clone)
            .env("CARGO_TARGET_DIR", renders_target_dir())
            .env("COMPOSE_PROJECT_NAME", &compose.project)
            .env("POSTGRES_HOST_PORT", compose.port.to_string())
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("share the log"))
            .stderr(output)
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
            log,
            started: Instant::now(),
            child: bash.spawn().expect("run bash"),
        }
    }

    /// The end of what the command printed.
    fn output_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Waits until `/readyz` answers 200: up to [`LIVE_TIMEOUT`] for the service to answer at
    /// all, then [`READY_TIMEOUT`] more. How long after the start it was ready.
    fn wait_until_ready(&mut self) -> Duration {
        let mut live_after = None;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the README's command ended ({status}) before the service was ready: `{}`\n{}",
                    self.command,
                    self.output_tail()
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
                "the README's service is not ready: /readyz answered {readyz:?}\n{}",
                self.output_tail()
            );
            thread::sleep(Duration::from_millis(500));
        }
    }

    /// SIGTERM to the whole group, then waits for bash.
    fn stop(&mut self) {
        // `kill -TERM -<pid>` reads the group as an option; `--` makes it the group.
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for ReadmeRun {
    fn drop(&mut self) {
        self.stop();
    }
}
