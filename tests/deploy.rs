//! The deployment slices: Kubernetes manifests under deploy/k8s and the GitHub Actions workflow.
//!
//! - Every manifest validates against the Kubernetes schemas of two versions
//!   (`kubernetes-validate`, which bundles them), for every combination of the slices that shape
//!   the manifests.
//! - The workflow validates against GitHub's workflow schema (`check-jsonschema`, bundled
//!   schema) and keeps its `${{ }}` expressions.
//! - Consistency: the built service, started with exactly the environment the ConfigMap and
//!   Secret declare (secret volumes written as files), binds the port the Deployment names and
//!   answers its probes; the migration Job's command works; preStop + shutdown deadline fit in
//!   the grace period. A test breaks a probe path, a port and a variable name in turn and checks
//!   that the consistency check notices each.
//!
//! The two Python tools come from PyPI (`.ci/run` installs them); a missing one fails the test.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{Generate, build_binary, postgres_url, progress};

/// Kubernetes versions whose schemas every manifest must satisfy.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.32.0", "1.35.0"];

/// The slices that change what the manifests say.
const SHAPING_SLICES: [&str; 5] = ["config", "logging", "shutdown", "health", "database"];

// ---------------------------------------------------------------------------------------------
// Tools

/// Runs a PyPI tool, failing loudly when it is not installed.
fn python_tool(name: &str, args: &[&str]) -> std::process::Output {
    Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{name} is not available ({e}). Install it with `pip install kubernetes-validate \
             check-jsonschema`, or run `bash .ci/run`, which does."
        )
    })
}

/// The YAML documents of a file, as JSON values (read by PyYAML, which kubernetes-validate
/// brings along).
fn yaml_documents(path: &Path) -> Vec<Value> {
    let script = "import json, sys, yaml\n\
                  docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]\n\
                  print(json.dumps(docs))";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{} is not YAML: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from python")
}

fn yaml_document(path: &Path) -> Value {
    let mut docs = yaml_documents(path);
    assert_eq!(docs.len(), 1, "{} holds one document", path.display());
    docs.remove(0)
}

// ---------------------------------------------------------------------------------------------
// Schemas

#[test]
fn manifests_validate_for_every_combination_of_the_shaping_slices() {
    let mut renders = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut problems = Vec::new();
    for bits in 0..1u32 << SHAPING_SLICES.len() {
        let mut generate = Generate::new()
            .name(&format!("k8s-{bits:02}"))
            .define("kubernetes", "true");
        for (i, slice) in SHAPING_SLICES.iter().enumerate() {
            let on = bits & (1 << i) != 0;
            generate = generate.define(slice, if on { "true" } else { "false" });
        }
        let render = generate.render();
        let k8s = render.dir.join("deploy/k8s");
        let kustomization = yaml_document(&k8s.join("kustomization.yaml"));
        let listed: Vec<String> = kustomization["resources"]
            .as_array()
            .expect("kustomization resources")
            .iter()
            .map(|r| r.as_str().expect("a file name").to_owned())
            .collect();
        let mut present: Vec<String> = std::fs::read_dir(&k8s)
            .expect("read deploy/k8s")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name != "kustomization.yaml")
            .collect();
        present.sort();
        let mut sorted = listed.clone();
        sorted.sort();
        if sorted != present {
            problems.push(format!(
                "k8s-{bits:02}: kustomization lists {listed:?}, the folder holds {present:?}"
            ));
        }
        files.extend(present.iter().map(|name| k8s.join(name)));
        renders.push(render);
    }
    for version in KUBERNETES_VERSIONS {
        let mut args = vec!["--strict", "--quiet", "-k", version];
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        args.extend(paths.iter().map(String::as_str));
        let output = python_tool("kubernetes-validate", &args);
        if !output.status.success() {
            problems.push(format!(
                "kubernetes-validate -k {version}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    progress(&format!(
        "[deploy] {} manifests from {} renders validated against Kubernetes {}",
        files.len(),
        renders.len(),
        KUBERNETES_VERSIONS.join(" and ")
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn the_workflow_validates_and_keeps_its_github_expressions() {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    let mut renders = Vec::new();
    for (database, docker) in [(true, true), (true, false), (false, true), (false, false)] {
        let render = Generate::new()
            .name(&format!("workflow-{}{}", database as u8, docker as u8))
            .define("ci", "true")
            .define("database", &database.to_string())
            .define("docker", &docker.to_string())
            .render();
        let path = render.dir.join(".github/workflows/ci.yml");
        let text = render.read(".github/workflows/ci.yml");
        if docker != text.contains("${{ github.sha }}") {
            problems.push(format!(
                "docker={docker}: the image tag expression `${{{{ github.sha }}}}` should be \
                 there exactly when the docker slice is on:\n{text}"
            ));
        }
        let workflow = yaml_document(&path);
        if database != workflow["jobs"]["check"]["services"]["postgres"].is_object() {
            problems.push(format!(
                "database={database}: a PostgreSQL service exactly when the slice is on"
            ));
        }
        files.push(path.display().to_string());
        renders.push(render);
    }
    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(files.iter().map(String::as_str));
    let output = python_tool("check-jsonschema", &args);
    if !output.status.success() {
        problems.push(format!(
            "check-jsonschema:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// Consistency between the manifests and the service

/// A render with manifests, built. Each test renders its own (names differ: the database role
/// and database are named after the project).
struct Deployed {
    render: common::Render,
    bin: PathBuf,
    name: String,
}

fn deployed(name: &str, port: u16, defines: &[(&str, &str)]) -> Deployed {
    let mut generate = Generate::new()
        .name(name)
        .define("kubernetes", "true")
        .define("port", &port.to_string());
    for (key, value) in defines {
        generate = generate.define(key, value);
    }
    let render = generate.render();
    let bin = build_binary(&render.dir);
    Deployed {
        render,
        bin,
        name: name.to_owned(),
    }
}

impl Deployed {
    fn manifest(&self, file: &str) -> Value {
        yaml_document(&self.render.dir.join("deploy/k8s").join(file))
    }

    fn has(&self, file: &str) -> bool {
        self.render.dir.join("deploy/k8s").join(file).exists()
    }
}

/// What a pod's container would see: environment variables, and secret files written under
/// `root` in place of their mount paths.
struct PodEnvironment {
    env: BTreeMap<String, String>,
    _root: tempfile::TempDir,
}

/// Builds the environment of `pod_spec`'s first container from the ConfigMap and Secret, as
/// the kubelet would, except that mount paths are moved under a temporary folder and the
/// database host (a cluster DNS name) becomes the test's PostgreSQL.
fn pod_environment(deployed: &Deployed, pod_spec: &Value) -> Result<PodEnvironment, String> {
    let config_map = deployed.manifest("configmap.yaml");
    let secret = deployed.manifest("secret.yaml");
    let secret_name = secret["metadata"]["name"].as_str().unwrap_or_default();
    let secret_data = secret["stringData"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let container = &pod_spec["containers"][0];
    let root = common::new_temp_dir("pod-");
    let mut env = BTreeMap::new();
    let mut mounts = Vec::new();

    for source in container["envFrom"].as_array().into_iter().flatten() {
        let wanted = source["configMapRef"]["name"].as_str().unwrap_or_default();
        if wanted != config_map["metadata"]["name"].as_str().unwrap_or_default() {
            return Err(format!(
                "envFrom names ConfigMap {wanted:?}, which is not declared"
            ));
        }
        for (key, value) in config_map["data"].as_object().into_iter().flatten() {
            env.insert(key.clone(), value.as_str().unwrap_or_default().to_owned());
        }
    }
    for entry in container["env"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or_default().to_owned();
        let value = if let Some(value) = entry["value"].as_str() {
            value.to_owned()
        } else {
            let reference = &entry["valueFrom"]["secretKeyRef"];
            let key = reference["key"].as_str().unwrap_or_default();
            if reference["name"].as_str() != Some(secret_name) {
                return Err(format!("{name} refers to an undeclared Secret"));
            }
            secret_data
                .get(key)
                .and_then(Value::as_str)
                .ok_or(format!(
                    "{name} refers to Secret key {key:?}, which is not declared"
                ))?
                .to_owned()
        };
        env.insert(name, value);
    }
    for mount in container["volumeMounts"].as_array().into_iter().flatten() {
        let volume_name = mount["name"].as_str().unwrap_or_default();
        let volume = pod_spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"].as_str() == Some(volume_name))
            .ok_or(format!(
                "volume {volume_name:?} is mounted but not declared"
            ))?;
        let mount_path = mount["mountPath"].as_str().unwrap_or_default().to_owned();
        let local = root.path().join(mount_path.trim_start_matches('/'));
        std::fs::create_dir_all(&local).expect("create mount folder");
        if let Some(name) = volume["secret"]["secretName"].as_str() {
            if name != secret_name {
                return Err(format!("volume {volume_name:?} names an undeclared Secret"));
            }
            for (key, value) in &secret_data {
                std::fs::write(local.join(key), value.as_str().unwrap_or_default())
                    .expect("write secret file");
            }
        }
        mounts.push((mount_path, local));
    }
    // Paths inside the container point into the temporary folder instead.
    for value in env.values_mut() {
        for (mount_path, local) in &mounts {
            if let Some(rest) = value.strip_prefix(mount_path.as_str()) {
                *value = format!("{}{rest}", local.display());
            }
        }
    }
    if let Some(url) = env.get_mut("DATABASE_URL") {
        *url = on_test_server(url);
    }
    env.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
    Ok(PodEnvironment { env, _root: root })
}

/// The same URL (user, password, database) on the test's PostgreSQL server.
fn on_test_server(url: &str) -> String {
    let server = postgres_url();
    let server_host = server
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("host:port in DATABASE_URL");
    let (scheme_and_user, rest) = url.split_once('@').expect("user@host in the URL");
    let path = rest.split_once('/').map_or("", |(_, path)| path);
    format!("{scheme_and_user}@{server_host}/{path}")
}

/// Creates the role and database the manifests name, with the Secret's password, on the test
/// server (dropping leftovers of an earlier run first).
fn provision_database(deployed: &Deployed, env: &BTreeMap<String, String>) -> Result<(), String> {
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
        None => deployed.manifest("secret.yaml")["stringData"]["database-password"]
            .as_str()
            .ok_or("DATABASE_URL has no password and the Secret no database-password")?
            .to_owned(),
    };
    let database = url.rsplit('/').next().expect("database name");
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
        let output = Command::new("psql")
            .arg(postgres_url())
            .args([
                "--quiet",
                "--no-psqlrc",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// A process started from a container spec, killed if still running when dropped.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, args: &[String], env: &BTreeMap<String, String>) -> Running {
    let workdir = common::new_temp_dir("pod-workdir-");
    let child = Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(workdir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the service");
    Running { child }
}

fn container_args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The status code of `GET path` on the local port, if anything answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// The container port a probe or Service names, by number or by port name.
fn resolve_port(container: &Value, port: &Value) -> Option<u16> {
    if let Some(number) = port.as_u64() {
        return u16::try_from(number).ok();
    }
    let name = port.as_str()?;
    container["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"].as_str() == Some(name))?["containerPort"]
        .as_u64()
        .and_then(|n| u16::try_from(n).ok())
}

/// Checks the Deployment (and Job) against the running service; returns what does not match.
fn consistency_problems(deployed: &Deployed) -> Vec<String> {
    let mut problems = Vec::new();
    let deployment = deployed.manifest("deployment.yaml");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let environment = match pod_environment(deployed, pod) {
        Ok(environment) => environment,
        Err(problem) => return vec![problem],
    };
    let env = &environment.env;
    if pod["enableServiceLinks"] != Value::Bool(false) {
        problems.push("enableServiceLinks must be false".into());
    }

    if deployed.has("migrate-job.yaml") {
        if let Err(problem) = provision_database(deployed, env) {
            problems.push(problem);
            return problems;
        }
        let job = deployed.manifest("migrate-job.yaml");
        let job_pod = &job["spec"]["template"]["spec"];
        match pod_environment(deployed, job_pod) {
            Ok(job_environment) => {
                let args = container_args(&job_pod["containers"][0]);
                let mut migrate = start(&deployed.bin, &args, &job_environment.env);
                let status = migrate.child.wait().expect("wait for the Job's command");
                if !status.success() {
                    problems.push(format!(
                        "the migration Job's command {args:?} failed: {status}"
                    ));
                }
            }
            Err(problem) => problems.push(format!("migration Job: {problem}")),
        }
    }

    let Some(port) = resolve_port(container, &container["ports"][0]["containerPort"]) else {
        problems.push("the container declares no port".into());
        return problems;
    };
    let args = container_args(container);
    let mut service = start(&deployed.bin, &args, env);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = service.child.try_wait() {
            problems.push(format!(
                "with the declared environment the service exits ({status}) instead of \
                 listening on containerPort {port}"
            ));
            return problems;
        }
        if started.elapsed() > Duration::from_secs(15) {
            problems.push(format!(
                "nothing listens on containerPort {port} after 15 s"
            ));
            return problems;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    for probe_kind in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let probe = &container[probe_kind];
        if let Some(get) = probe["httpGet"].as_object() {
            let path = get["path"].as_str().unwrap_or("/");
            let probe_port = resolve_port(container, &get["port"]);
            if probe_port != Some(port) {
                problems.push(format!(
                    "{probe_kind} targets port {probe_port:?}, not {port}"
                ));
                continue;
            }
            // Probes pass on 200-399; give a just-started service a few seconds.
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut status = http_status(port, path);
            while !status.is_some_and(|s| (200..400).contains(&s)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
                status = http_status(port, path);
            }
            if !status.is_some_and(|s| (200..400).contains(&s)) {
                problems.push(format!("{probe_kind} GET {path} answers {status:?}"));
            }
        } else if probe["tcpSocket"].is_object() {
            let probe_port = resolve_port(container, &probe["tcpSocket"]["port"]);
            if probe_port != Some(port) {
                problems.push(format!(
                    "{probe_kind} targets port {probe_port:?}, not {port}"
                ));
            }
        } else {
            problems.push(format!("{probe_kind} is missing"));
        }
    }

    // preStop sleep + the service's shutdown deadline must fit in the grace period.
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
    let _ = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status();
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
    let config = deployed.render.read("src/config.rs");
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
    let k8s = deployed.render.dir.join("deploy/k8s");
    let breakages = [
        ("deployment.yaml", "path: /readyz", "path: /ready"),
        (
            "deployment.yaml",
            "containerPort: 18733",
            "containerPort: 18734",
        ),
        (
            "configmap.yaml",
            "DATABASE__PASSWORD_FILE",
            "DATABASE__PASSWORD_PATH",
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
