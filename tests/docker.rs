//! The container slices for real: the Dockerfile builds an image, the image runs and stops as a
//! platform expects, and compose brings up the service with PostgreSQL.
//!
//! - `dockerfile_and_compose_pass_static_checks`: hadolint on every distinct Dockerfile and
//!   `docker compose config` on every distinct compose.yaml the template renders.
//! - `all_on_image_builds_runs_and_stops`: the all-on render's image (clean build, then a rebuild
//!   after a change under src/), run beside a PostgreSQL container: no shell or package manager
//!   in the image, non-root numeric user,
//!   `/readyz` 200 on the published port after a one-off `migrate` container, JSON logs,
//!   HEALTHCHECK healthy, `docker stop` → exit 0 well within the grace period; then compose up,
//!   the example resource through the published port, `down -v`.
//! - `image_without_database_builds_runs_and_stops`: the same for a render without a database.
//! - `an_updated_service_builds_its_image_with_the_synced_lockfile`: a service taken through
//!   `cargo template-update` to a revision with new dependencies builds its image as committed.
//!
//! The tier runs whenever a Docker engine answers. Under `CI=true` a missing engine, Compose v2
//! or hadolint fails the test; elsewhere the test says what did not run and why, and passes.
//! On a machine without a registry, `.ci/container-images` provides the base images first.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use template_harness::cargo::cargo;
use template_harness::combos::{Combo, render_combo};
use template_harness::command::{describe_output, run, strip_ansi};
use template_harness::container::{
    Cleanup, ENGINE, available, build_image, compose_problem, docker, docker_ok, engine_problem,
    hadolint_problem, image_paths, image_size, runtime_base_image, unique,
};
use template_harness::http::{Response, request};
use template_harness::ports::free_port;
use template_harness::render::{CargoGenerate, Render};
use template_harness::report::progress;
use template_harness::update::service_updated_with_new_dependencies;
use template_harness::wait::poll_until;

/// How long `docker stop` waits before SIGKILL (its default). The service's own deadline is 8 s.
const STOP_GRACE_SECS: u64 = 10;

/// How often a wait below checks again.
const POLL: Duration = Duration::from_millis(250);

// ---------------------------------------------------------------------------------------------
// Static checks

/// Slices the Dockerfile and compose.yaml depend on; the other slices leave them unchanged.
const CONTAINER_FILE_SLICES: [&str; 4] = ["health", "database", "docker", "compose"];

#[test]
fn dockerfile_and_compose_pass_static_checks() {
    let hadolint = available("hadolint", hadolint_problem());
    let compose = available("docker compose config", compose_problem());
    let mut problems = Vec::new();
    let (mut dockerfiles, mut compose_files) = (0, 0);
    // Every combination of those slices, the others off: each distinct Dockerfile and
    // compose.yaml the template renders.
    for combo in Combo::every_setting_of(&CONTAINER_FILE_SLICES) {
        let render = render_combo(&format!("static-{}", combo.bits()), combo);
        if hadolint && render.has("Dockerfile") {
            dockerfiles += 1;
            let output = run(Command::new("hadolint")
                .arg("Dockerfile")
                .current_dir(&render.dir));
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
            let output = run(Command::new("docker").args([
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

/// Like [`build_image`], but from scratch (`--no-cache`); then changes a file under src/ and
/// builds again, which must reuse the dependency layer. Prints the times and the image size.
fn build_image_measured(render: &Render, tag: &str, cleanup: &mut Cleanup) {
    cargo(&render.dir, &["generate-lockfile"]);
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
    let output = strip_ansi(&format!(
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

/// Programs a runtime image must not hold: shells and package managers. The service needs
/// neither (its HEALTHCHECK is the binary's own `healthcheck`).
const NOT_IN_THE_IMAGE: [&str; 10] = [
    "bin/sh",
    "usr/bin/sh",
    "bin/bash",
    "usr/bin/bash",
    "bin/dash",
    "usr/bin/dash",
    "usr/bin/apt",
    "usr/bin/apt-get",
    "usr/bin/dpkg",
    "bin/busybox",
];

/// The image holds the service and no shell or package manager: not in its file system, and
/// `docker run --entrypoint /bin/sh` has nothing to start.
fn assert_only_the_service(tag: &str) {
    let paths = image_paths(tag);
    let found: Vec<&str> = NOT_IN_THE_IMAGE
        .iter()
        .copied()
        .filter(|path| paths.contains(*path))
        .collect();
    assert!(
        found.is_empty(),
        "the runtime image holds {found:?}; it should hold the service and what it links, no \
         shell or package manager"
    );
    let shell = docker(&["run", "--rm", "--entrypoint", "/bin/sh", tag, "-c", "true"]);
    assert!(
        !shell.status.success(),
        "`docker run --entrypoint /bin/sh {tag}` ran a shell"
    );
    progress(&format!(
        "docker tier: {tag}: {} paths in the image, none of {} present; /bin/sh does not start",
        paths.len(),
        NOT_IN_THE_IMAGE.len()
    ));
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
    let published = docker_ok(&["port", &name, &format!("{port}/tcp")]);
    let host_port: u16 = published
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no published port for {port}: {published}"));

    runs_as_a_numeric_non_root_user(&name);
    assert_only_the_service(tag);
    ready_on_the_published_port_and_healthy(&name, host_port);
    let logs = docker_stop_exits_0_within_the_grace_period(&name, tag);
    the_logs_are_json_and_show_the_drain(&logs);
}

/// Everything the container printed so far.
fn container_logs(name: &str) -> String {
    let out = docker(&["logs", name]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A numeric, non-root user: in the image config and for the process itself.
fn runs_as_a_numeric_non_root_user(name: &str) {
    let user = docker_ok(&["inspect", "--format", "{{.Config.User}}", name]);
    let uid = user.split(':').next().unwrap_or("");
    assert!(
        uid.parse::<u32>().is_ok_and(|u| u != 0),
        "the image's user is `{user}`, not a numeric non-root user"
    );
    let top = docker_ok(&["top", name, "-o", "pid,uid,args"]);
    assert!(
        top.lines()
            .skip(1)
            .all(|l| l.split_whitespace().nth(1) == Some(uid)),
        "a process in the container does not run as {uid}:\n{top}"
    );
}

/// `/readyz` answers 200 on the published port within 30 s, and the HEALTHCHECK reports
/// healthy within 40 s.
fn ready_on_the_published_port_and_healthy(name: &str, host_port: u16) {
    let ready = poll_until(Duration::from_secs(30), POLL, || {
        request(host_port, "GET", "/readyz", &[], None).is_ok_and(|r| r.status == 200)
    });
    assert!(
        ready.is_some(),
        "GET /readyz on the published port {host_port} did not answer 200 within 30 s: {:?}\n--- logs ---\n{}",
        request(host_port, "GET", "/readyz", &[], None),
        container_logs(name)
    );
    let healthy = poll_until(Duration::from_secs(40), POLL, || {
        docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", name]) == "healthy"
    });
    assert!(
        healthy.is_some(),
        "the HEALTHCHECK did not report healthy within 40 s: {}",
        docker_ok(&["inspect", "--format", "{{json .State.Health}}", name])
    );
}

/// `docker stop` ends in exit 0 well within the grace period. Returns the container's logs.
fn docker_stop_exits_0_within_the_grace_period(name: &str, tag: &str) -> String {
    let started = Instant::now();
    docker_ok(&["stop", "-t", &STOP_GRACE_SECS.to_string(), name]);
    let stop_time = started.elapsed();
    let exit_code = docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", name]);
    let logs = container_logs(name);
    progress(&format!(
        "docker tier: {tag}: docker stop -> exit {exit_code} after {:.1} s",
        stop_time.as_secs_f64()
    ));
    assert!(
        exit_code == "0" && stop_time < Duration::from_secs(STOP_GRACE_SECS - 1),
        "docker stop took {stop_time:?} (grace period {STOP_GRACE_SECS} s) and the container \
         exited {exit_code}; a clean drain exits 0 well within the grace period\n--- logs ---\n{logs}"
    );
    logs
}

/// The drain is logged, and every line is JSON (log format auto: stdout is not a terminal).
fn the_logs_are_json_and_show_the_drain(logs: &str) {
    for expected in ["SIGTERM received", "shutdown complete"] {
        assert!(
            logs.contains(expected),
            "the logs lack `{expected}`:\n{logs}"
        );
    }
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
    let pg_ready = poll_until(Duration::from_secs(60), POLL, || {
        docker(&["exec", &postgres, "pg_isready", "-U", "postgres"])
            .status
            .success()
    });
    assert!(
        pg_ready.is_some(),
        "PostgreSQL did not get ready within 60 s"
    );

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
    let compose = Compose::new(render);
    cleanup.later(&["rmi", "-f", "dockertier-full:dev"]);
    cleanup.later(&[
        "compose",
        "-p",
        &compose.project,
        "-f",
        &compose.file,
        "down",
        "-v",
    ]);
    docker_ok(&["tag", image, "dockertier-full:dev"]);

    up_waits_until_healthy_after_migrate(&compose);
    notes_work_through_the_published_port(compose.app_port);
    down_leaves_no_container_or_volume(&compose);
    progress("docker tier: compose: migrate, POST /notes, GET /notes/{id}, down -v all worked");
}

/// The render's compose.yaml as a project of its own, on free host ports.
struct Compose {
    project: String,
    file: String,
    app_port: u16,
    db_port: u16,
}

impl Compose {
    fn new(render: &Render) -> Self {
        Self {
            project: unique("compose"),
            file: render
                .dir
                .join("compose.yaml")
                .to_string_lossy()
                .into_owned(),
            app_port: free_port(),
            db_port: free_port(),
        }
    }

    /// `docker compose <args>` for this project: the command line and its output.
    fn run(&self, args: &[&str]) -> (String, Output) {
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "-p", &self.project, "-f", &self.file])
            .args(args)
            .env("HOST_PORT", self.app_port.to_string())
            .env("POSTGRES_HOST_PORT", self.db_port.to_string());
        let output = run(&mut cmd);
        (format!("{cmd:?}"), output)
    }
}

/// `up --wait` succeeds, and the one-off `migrate` service exited 0.
fn up_waits_until_healthy_after_migrate(compose: &Compose) {
    let started = Instant::now();
    let (command, up) = compose.run(&["up", "-d", "--wait"]);
    let (_, logs) = compose.run(&["logs", "--no-color"]);
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
    let (_, migrate) = compose.run(&[
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
}

/// A note created and fetched through the app's published port.
fn notes_work_through_the_published_port(app_port: u16) {
    let created = request(
        app_port,
        "POST",
        "/notes",
        &[],
        Some(r#"{"title": "from compose", "body": "through the published port"}"#),
    );
    let Ok(Response {
        status: 201, body, ..
    }) = &created
    else {
        panic!("POST /notes through compose answered {created:?}");
    };
    let note: serde_json::Value = serde_json::from_str(body).expect("POST /notes returns JSON");
    let id = note["id"].as_str().expect("the note has an id");
    let fetched = request(app_port, "GET", &format!("/notes/{id}"), &[], None);
    assert!(
        fetched
            .as_ref()
            .is_ok_and(|r| r.status == 200 && r.body.contains("from compose")),
        "GET /notes/{id} through compose answered {fetched:?}"
    );
}

/// `down -v` succeeds and leaves no container and no volume of the project.
fn down_leaves_no_container_or_volume(compose: &Compose) {
    let (command, down) = compose.run(&["down", "-v"]);
    assert!(
        down.status.success(),
        "{}",
        describe_output(&command, &down)
    );
    let (_, left) = compose.run(&["ps", "-a", "-q"]);
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "containers left after down -v"
    );
    let volumes = docker_ok(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", compose.project),
    ]);
    assert!(volumes.is_empty(), "volumes left after down -v: {volumes}");
}

#[test]
fn image_without_database_builds_runs_and_stops() {
    if !available("the image tests", engine_problem()) {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let mut cleanup = Cleanup::new();
    let combo = Combo::all_on_but(&["database"]);
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

// ---------------------------------------------------------------------------------------------
// An updated service

/// `cargo template-update` with a template revision that adds a dependency and `-d
/// metrics=true`: the tree it leaves, committed as it is (conflicts aside, the user's only
/// step), builds its image, whose Dockerfile builds with `--locked`.
#[test]
fn an_updated_service_builds_its_image_with_the_synced_lockfile() {
    if !available("the updated service's image", engine_problem()) {
        return;
    }
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let mut cleanup = Cleanup::new();
    let (_history, service, output) =
        service_updated_with_new_dependencies("dockertier-updated", CargoGenerate::Pinned);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        describe_output("cargo template-update", &output)
    );
    service.commit_all("take the template update");

    let tag = format!("{}:test", unique("updated"));
    cleanup.later(&["rmi", "-f", &tag]);
    let started = Instant::now();
    let dir = service.dir.to_string_lossy().into_owned();
    docker_ok(&["build", "--force-rm", "-t", &tag, &dir]);
    let help = docker_ok(&["run", "--rm", "--read-only", &tag, "--help"]);
    assert!(
        help.contains("serve"),
        "the image's binary does not run:\n{help}"
    );
    progress(&format!(
        "docker tier: {tag}: the updated service (new dependencies, Cargo.lock synced by the \
         tool) built with --locked in {:.0} s, and its binary runs",
        started.elapsed().as_secs_f64()
    ));
}
