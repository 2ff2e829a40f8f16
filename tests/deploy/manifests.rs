//! What kustomize builds from deploy/k8s, for every combination of the slices that shape it:
//! valid for two Kubernetes versions, built from exactly the files shipped, safe to apply, and
//! with Secrets only from files the user writes and git ignores.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use template_harness::files::{list_files, new_temp_dir};
use template_harness::kubernetes::{
    Built, SHAPING_SLICES, container_args, is_hashed, k8s_dir, kustomization_inputs, kustomize,
    name_of, render_k8s, shaping_combo, write_secret_files,
};
use template_harness::render::Render;
use template_harness::report::progress;
use template_harness::tools::python_tool;

/// Kubernetes versions whose schemas every manifest must satisfy.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.32.0", "1.35.0"];

#[test]
fn manifests_validate_for_every_combination_of_the_shaping_slices() {
    let out = new_temp_dir("k8s-built-");
    let mut renders = Vec::new();
    let mut files: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for bits in 0..1u32 << SHAPING_SLICES.len() {
        let (defines, label) = shaping_combo(bits);
        let render = render_k8s(&format!("k8s-{bits:02}"), &defines);
        let database = bits & (1 << 4) != 0;
        let found = match built_from_the_shipped_files(&render, database) {
            Ok((text, found)) => {
                let path = out.path().join(format!("k8s-{bits:02}.yaml"));
                std::fs::write(&path, &text).expect("write kustomize output");
                files.push(path.display().to_string());
                found
            }
            Err(found) => found,
        };
        problems.extend(
            found
                .into_iter()
                .map(|p| format!("k8s-{bits:02} {label}: {p}")),
        );
        renders.push(render);
    }
    for version in KUBERNETES_VERSIONS {
        let mut args = vec!["--strict", "--quiet", "-k", version];
        args.extend(files.iter().map(String::as_str));
        let output = python_tool("kubernetes-validate", &args);
        if !output.status.success() {
            problems.push(format!(
                "kubernetes-validate -k {version}:\n{}",
                both(&output)
            ));
        }
    }
    progress(&format!(
        "[deploy] kustomize output of {} renders validated against Kubernetes {}",
        files.len(),
        KUBERNETES_VERSIONS.join(" and ")
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// stdout and stderr of a tool, one after the other.
pub fn both(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The kustomization of `render` reads exactly the files shipped (and secret files exactly with
/// a database); with those written, what it builds (returned, with the problems found), or the
/// problems that stopped it.
fn built_from_the_shipped_files(
    render: &Render,
    database: bool,
) -> Result<(String, Vec<String>), Vec<String>> {
    let k8s = k8s_dir(render);
    let mut problems = Vec::new();
    // Every shipped file is read by the kustomization, and every file it reads is shipped,
    // except the secret files the user writes.
    let (plain, secret_files) = kustomization_inputs(&k8s);
    let mut listed: Vec<String> = plain.clone();
    listed.sort();
    let mut present: Vec<String> = list_files(&k8s)
        .into_iter()
        .filter(|name| name != "kustomization.yaml")
        .collect();
    present.sort();
    if listed != present {
        problems.push(format!(
            "kustomization reads {listed:?}, the folder holds {present:?}"
        ));
    }
    if database == secret_files.is_empty() {
        problems.push(format!(
            "secret files {secret_files:?}, wanted exactly with database"
        ));
    }
    let written = write_secret_files(&k8s);
    match kustomize(&k8s) {
        Ok(text) => {
            problems.extend(built_problems(&Built::from_yaml(&text), &written));
            Ok((text, problems))
        }
        Err(error) => {
            problems.push(format!("kubectl kustomize: {error}"));
            Err(problems)
        }
    }
}

/// What every kustomize output must hold, whatever the slices.
pub fn built_problems(built: &Built, written_secrets: &BTreeMap<String, String>) -> Vec<String> {
    let deployment = match built.one("Deployment") {
        Ok(deployment) => deployment,
        Err(problem) => return vec![problem],
    };
    let mut problems = pod_problems(deployment, !written_secrets.is_empty());
    match built.one("ConfigMap") {
        Ok(config_map) if !is_hashed(name_of(config_map)) => {
            problems.push(format!(
                "ConfigMap {} has no content hash in its name: a changed setting would not roll the pods",
                name_of(config_map)
            ));
        }
        Ok(_) => {}
        Err(problem) => problems.push(problem),
    }
    problems.extend(secret_problems(built, written_secrets));
    for kind in ["Job", "CronJob", "Pod"] {
        if !built.of_kind(kind).is_empty() {
            problems.push(format!(
                "a {kind}: its template cannot change once applied, so a second release fails"
            ));
        }
    }
    problems
}

/// The Deployment leaves replicas to the HPA, mounts no token, tolerates a slow readiness
/// answer and, with a database, migrates first.
fn pod_problems(deployment: &Value, database: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if deployment["spec"].get("replicas").is_some() {
        problems.push(
            "the Deployment sets replicas: every apply would reset what the HPA chose".into(),
        );
    }
    let pod = &deployment["spec"]["template"]["spec"];
    if pod["automountServiceAccountToken"] != Value::Bool(false) {
        problems.push("automountServiceAccountToken must be false".into());
    }
    // One slow answer must not take a replica out of the Service (Kubernetes' default is 3).
    let readiness = &pod["containers"][0]["readinessProbe"];
    let misses = readiness["failureThreshold"].as_u64().unwrap_or(3);
    if misses < 2 {
        problems.push(format!(
            "readinessProbe failureThreshold {misses}: one slow answer takes the pod out"
        ));
    }
    // With a database, `migrate` runs before the service in every new pod.
    let migrates_first = pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| container_args(c) == ["migrate"]);
    if migrates_first != database {
        problems.push(format!(
            "an initContainer running `migrate`: {migrates_first}, wanted exactly with a database"
        ));
    }
    problems
}

/// One hashed Secret holding exactly the written secret files, or none without them.
fn secret_problems(built: &Built, written_secrets: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let secrets = built.of_kind("Secret");
    match (secrets.as_slice(), written_secrets.is_empty()) {
        ([], true) => {}
        ([secret], false) => {
            if !is_hashed(name_of(secret)) {
                problems.push(format!("Secret {} has no content hash", name_of(secret)));
            }
            let data = Built::secret_data(secret);
            if &data != written_secrets {
                problems.push(format!(
                    "the Secret holds keys {:?}, not exactly the files written ({:?})",
                    data.keys().collect::<Vec<_>>(),
                    written_secrets.keys().collect::<Vec<_>>()
                ));
            }
        }
        (secrets, _) => problems.push(format!(
            "{} Secrets built; wanted one from the secret files {:?}",
            secrets.len(),
            written_secrets.keys().collect::<Vec<_>>()
        )),
    }
    problems
}

#[test]
fn secrets_come_only_from_files_git_ignores() {
    let mut problems = Vec::new();
    for (name, defines, file) in [
        ("secrets-config", &[][..], "secrets/database-password"),
        (
            "secrets-no-config",
            &[("config", "false")][..],
            "secrets/database-url",
        ),
    ] {
        let render = render_k8s(name, defines);
        let k8s = k8s_dir(&render);
        let found = no_shipped_secret_and_none_without_the_file(name, &k8s, file)
            .into_iter()
            .chain(git_never_sees_the_secret_file(&render, file))
            .chain(the_secret_holds_exactly_it(&k8s, file));
        problems.extend(found.map(|p| format!("{name}: {p}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// No shipped manifest is a Secret (a placeholder would overwrite the real one on apply), and
/// before the user writes `file` the build stops and names it.
fn no_shipped_secret_and_none_without_the_file(name: &str, k8s: &Path, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for shipped in list_files(k8s) {
        let text = std::fs::read_to_string(k8s.join(&shipped)).expect("read manifest");
        if text.lines().any(|line| line.trim() == "kind: Secret") {
            problems.push(format!("deploy/k8s/{shipped} declares a Secret"));
        }
    }
    match kustomize(k8s) {
        Ok(_) => problems.push(format!(
            "kustomize builds without deploy/k8s/{file}: what would the Secret hold?"
        )),
        Err(error) if !error.contains(file) => {
            problems.push(format!("kustomize fails without naming {file}:\n{error}"));
        }
        Err(error) => progress(&format!(
            "[deploy] {name}: without {file}, kustomize stops: {}",
            error.lines().next().unwrap_or_default()
        )),
    }
    problems
}

/// Once the secret files are written in a git repository, git ignores `file` and `git
/// status` does not show it.
fn git_never_sees_the_secret_file(render: &Render, file: &str) -> Vec<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(&render.dir)
            .output()
            .expect("git runs")
    };
    assert!(git(&["init", "--quiet"]).status.success(), "git init");
    write_secret_files(&k8s_dir(render));
    let mut problems = Vec::new();
    let ignored = git(&["check-ignore", "--quiet", &format!("deploy/k8s/{file}")]);
    if !ignored.status.success() {
        problems.push(format!("git does not ignore deploy/k8s/{file}"));
    }
    let status = git(&["status", "--porcelain", "--untracked-files=all"]);
    let status = String::from_utf8_lossy(&status.stdout);
    if status.contains("secrets/") {
        problems.push(format!("git status shows the secret file:\n{status}"));
    }
    problems
}

/// Once written, the Secret holds exactly the secret files.
fn the_secret_holds_exactly_it(k8s: &Path, file: &str) -> Vec<String> {
    let written = write_secret_files(k8s);
    match kustomize(k8s) {
        Ok(text) => built_problems(&Built::from_yaml(&text), &written),
        Err(error) => vec![format!("kustomize with {file}: {error}")],
    }
}
