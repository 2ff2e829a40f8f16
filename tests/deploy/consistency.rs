//! Consistency between the manifests and the service: the built service, started with exactly
//! the environment the built ConfigMap and Secret give it, runs the initContainers, binds the
//! container port, answers its probes, and stops within the grace period. And the check notices
//! a manifest broken in any of those places.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use template_harness::cargo::build_binary;
use template_harness::http::request;
use template_harness::kubernetes::{
    Built, container_args, k8s_dir, kustomize, pod_environment, render_k8s, resolve_port,
    write_secret_files,
};
use template_harness::ports::accepts_connections;
use template_harness::postgres::psql;
use template_harness::process::{Proc, Service, sigterm};
use template_harness::render::Render;
use template_harness::report::progress;
use template_harness::wait::poll_until;

#[test]
fn the_service_runs_as_the_manifests_declare_it() {
    let deployed = deployed("deploy-all-on", 18731, &[]);

    let problems = consistency_problems(&deployed);

    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn without_config_and_health_the_manifests_still_match() {
    // No config slice: the database URL comes from the Secret as a variable. No health slice:
    // TCP probes instead of HTTP ones.
    let deployed = deployed(
        "deploy-bare",
        18732,
        &[("config", "false"), ("health", "false")],
    );

    let problems = consistency_problems(&deployed);

    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_consistency_check_notices_a_broken_manifest() {
    let deployed = deployed("deploy-broken", 18733, &[]);
    let k8s = k8s_dir(&deployed.render);
    let breakages = [
        ("deployment.yaml", "path: /readyz", "path: /ready"),
        (
            "deployment.yaml",
            "containerPort: 18733",
            "containerPort: 18734",
        ),
        (
            "config.env",
            "DATABASE__PASSWORD_FILE",
            "DATABASE__PASSWORD_PATH",
        ),
        ("config.env", "sslmode=verify-full", "sslmode=prefer"),
        (
            "deployment.yaml",
            "args: [\"migrate\"]",
            "args: [\"migrations\"]",
        ),
    ];
    for (file, from, to) in breakages {
        let path = k8s.join(file);
        let original = std::fs::read_to_string(&path).expect("read manifest");
        assert!(original.contains(from), "{file} has `{from}`");
        std::fs::write(&path, original.replace(from, to)).expect("break the manifest");

        let problems = consistency_problems(&deployed);

        std::fs::write(&path, &original).expect("restore the manifest");
        assert!(
            !problems.is_empty(),
            "{file}: `{from}` -> `{to}` went unnoticed"
        );
        progress(&format!(
            "[deploy] broken {file} (`{from}` -> `{to}`) noticed: {}",
            problems.join("; ")
        ));
    }
}

/// A render with manifests, built, with its secret files written. Each test renders its own
/// (names differ: the database role and database are named after the project).
struct Deployed {
    render: Render,
    service: Service,
    name: String,
}

fn deployed(name: &str, port: u16, defines: &[(&str, &str)]) -> Deployed {
    let mut all = vec![("port", port.to_string())];
    all.extend(defines.iter().map(|(k, v)| (*k, v.to_string())));
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let render = render_k8s(name, &all);
    write_secret_files(&k8s_dir(&render));
    let service = Service {
        bin: build_binary(&render.dir),
        // Unused: the containers get exactly the environment the manifests declare.
        env_prefix: String::new(),
        tag: "deploy",
        // Unused too: launched only as the manifests declare.
        metrics: false,
    };
    Deployed {
        render,
        service,
        name: name.to_owned(),
    }
}

/// A container of the pod as a process: its args and exactly its environment.
fn start(deployed: &Deployed, args: &[String], env: &BTreeMap<String, String>) -> Proc {
    deployed
        .service
        .launch_exactly(&format!("{} {args:?}", deployed.name))
        .args(args)
        .envs(env)
        .spawn()
}

/// Checks what kustomize builds against the running service; returns what does not match. A
/// problem that stops the pod (an initContainer failing, nothing listening) ends the check.
fn consistency_problems(deployed: &Deployed) -> Vec<String> {
    let built = match kustomize(&k8s_dir(&deployed.render)) {
        Ok(text) => Built::from_yaml(&text),
        Err(error) => return vec![format!("kubectl kustomize: {error}")],
    };
    let deployment = match built.one("Deployment") {
        Ok(deployment) => deployment,
        Err(problem) => return vec![problem],
    };
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let environment = match pod_environment(&built, pod, container) {
        Ok(environment) => environment,
        Err(problem) => return vec![problem],
    };
    let env = &environment.env;
    let mut problems = Vec::new();
    if pod["enableServiceLinks"] != Value::Bool(false) {
        problems.push("enableServiceLinks must be false".into());
    }
    let started = run_init_containers(deployed, &built, pod, env)
        .and_then(|()| serve_on_the_container_port(deployed, container, env));
    let (port, mut service) = match started {
        Ok(started) => started,
        Err(problem) => {
            problems.push(problem);
            return problems;
        }
    };
    problems.extend(probe_problems(container, port));
    problems.extend(shutdown_problems(deployed, pod, env, &mut service, port));
    problems
}

/// With initContainers: provisions the database the manifests name, then runs each to
/// completion, in order, before the service starts.
fn run_init_containers(
    deployed: &Deployed,
    built: &Built,
    pod: &Value,
    env: &BTreeMap<String, String>,
) -> Result<(), String> {
    let init_containers = pod["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !init_containers.is_empty() {
        provision_database(deployed, built, env)?;
    }
    for init in &init_containers {
        let name = init["name"].as_str().unwrap_or_default();
        let init_environment = pod_environment(built, pod, init)
            .map_err(|problem| format!("initContainer {name}: {problem}"))?;
        let args = container_args(init);
        let mut process = start(deployed, &args, &init_environment.env);
        let status = process.child.wait().expect("wait for the initContainer");
        if !status.success() {
            return Err(format!("initContainer {name} {args:?} failed: {status}"));
        }
        progress(&format!(
            "[deploy] {}: initContainer {name} {args:?} exits 0",
            deployed.name
        ));
    }
    Ok(())
}

/// Starts the service container and waits up to 15 s for it to listen on its declared port.
fn serve_on_the_container_port(
    deployed: &Deployed,
    container: &Value,
    env: &BTreeMap<String, String>,
) -> Result<(u16, Proc), String> {
    let port = resolve_port(container, &container["ports"][0]["containerPort"])
        .ok_or("the container declares no port")?;
    let mut service = start(deployed, &container_args(container), env);
    let listening = poll_until(Duration::from_secs(15), Duration::from_millis(50), || {
        accepts_connections(port) || service.try_exit().is_some()
    });
    if let Some(status) = service.status {
        return Err(format!(
            "with the declared environment the service exits ({status}) instead of \
             listening on containerPort {port}"
        ));
    }
    if listening.is_none() {
        return Err(format!(
            "nothing listens on containerPort {port} after 15 s"
        ));
    }
    Ok((port, service))
}

/// Each probe targets the container port, and HTTP probes pass (200-399) within 10 s.
fn probe_problems(container: &Value, port: u16) -> Vec<String> {
    let mut problems = Vec::new();
    for probe_kind in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let probe = &container[probe_kind];
        let (target, http_path) = if let Some(get) = probe["httpGet"].as_object() {
            (&get["port"], Some(get["path"].as_str().unwrap_or("/")))
        } else if probe["tcpSocket"].is_object() {
            (&probe["tcpSocket"]["port"], None)
        } else {
            problems.push(format!("{probe_kind} is missing"));
            continue;
        };
        let probe_port = resolve_port(container, target);
        if probe_port != Some(port) {
            problems.push(format!(
                "{probe_kind} targets port {probe_port:?}, not {port}"
            ));
            continue;
        }
        let Some(path) = http_path else { continue };
        // Probes pass on 200-399; give a just-started service a few seconds.
        let passes = |status: Option<u16>| status.is_some_and(|s| (200..400).contains(&s));
        let mut status = None;
        poll_until(Duration::from_secs(10), Duration::from_millis(100), || {
            status = request(port, "GET", path, &[], None).ok().map(|r| r.status);
            passes(status)
        });
        if !passes(status) {
            problems.push(format!("{probe_kind} GET {path} answers {status:?}"));
        }
    }
    problems
}

/// preStop sleep + the service's shutdown deadline fit in the grace period, and SIGTERM exits
/// 0 within what is left of it after preStop.
fn shutdown_problems(
    deployed: &Deployed,
    pod: &Value,
    env: &BTreeMap<String, String>,
    service: &mut Proc,
    port: u16,
) -> Vec<String> {
    let mut problems = Vec::new();
    let container = &pod["containers"][0];
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    let deadline = env
        .iter()
        .find(|(key, _)| key.ends_with("SHUTDOWN__TIMEOUT_SECS"))
        .map(|(_, value)| value.parse::<u64>().expect("a number of seconds"))
        .unwrap_or_else(|| default_shutdown_timeout(deployed));
    if pre_stop + deadline >= grace {
        problems.push(format!(
            "terminationGracePeriodSeconds {grace} does not cover preStop {pre_stop} s + \
             shutdown deadline {deadline} s"
        ));
    }
    let stopped = Instant::now();
    let _ = sigterm(service.child.id());
    let status = service.child.wait().expect("wait for the service");
    let took = stopped.elapsed();
    if !status.success() || took > Duration::from_secs(grace - pre_stop) {
        problems.push(format!("SIGTERM: {status} after {took:?}"));
    }
    progress(&format!(
        "[deploy] {}: port {port} and probes answer; grace {grace} s >= preStop {pre_stop} s + \
         deadline {deadline} s; SIGTERM -> exit in {} ms",
        deployed.name,
        took.as_millis()
    ));
    problems
}

/// The rendered default of `shutdown.timeout_secs`, for renders whose ConfigMap does not set it.
fn default_shutdown_timeout(deployed: &Deployed) -> u64 {
    let config = deployed.render.read("src/config/mod.rs");
    config
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("timeout_secs: ")?
                .strip_suffix(',')
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Creates the role and database the manifests name, with the Secret's password, on the test
/// server (dropping leftovers of an earlier run first).
fn provision_database(
    deployed: &Deployed,
    built: &Built,
    env: &BTreeMap<String, String>,
) -> Result<(), String> {
    let url = env
        .get("DATABASE_URL")
        .ok_or("the pod has no DATABASE_URL")?;
    let credentials = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(credentials, _)| credentials)
        .expect("user in DATABASE_URL");
    let (user, url_password) = match credentials.split_once(':') {
        Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
        None => (credentials.to_owned(), None),
    };
    // The password the Secret holds; whether the service finds it is what the check is about.
    let password = match url_password {
        Some(password) => password,
        None => built
            .one("Secret")
            .map(Built::secret_data)?
            .remove("database-password")
            .ok_or("DATABASE_URL has no password and the Secret no database-password")?,
    };
    let database = url
        .rsplit('/')
        .next()
        .and_then(|rest| rest.split('?').next())
        .expect("database name");
    assert!(
        database.starts_with(&deployed.name.replace('-', "_")),
        "the database is named after the project"
    );
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
        format!("DROP ROLE IF EXISTS \"{user}\""),
        format!(
            "CREATE ROLE \"{user}\" LOGIN PASSWORD '{}'",
            password.trim()
        ),
        format!("CREATE DATABASE \"{database}\" OWNER \"{user}\""),
    ] {
        psql(&sql);
    }
    Ok(())
}
