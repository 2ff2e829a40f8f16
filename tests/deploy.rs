//! The deployment slices: Kubernetes manifests under deploy/k8s, the GitHub Actions workflow and
//! cargo-deny's rules, checked with the tools a user would run.
//!
//! - What kustomize builds from deploy/k8s (`kubectl kustomize`, the same code as `kubectl
//!   apply -k`) validates against the Kubernetes schemas of two versions (`kubernetes-validate`,
//!   which bundles them), for every combination of the slices that shape the manifests.
//! - A second apply is safe: between two releases (a new image tag, then a changed setting) the
//!   pod template changes so the pods roll, the ConfigMap's hashed name follows its content, and
//!   nothing immutable changes (selectors, the Service's cluster IP; there is no Job).
//! - Secrets come only from files the user writes and git ignores: without them the build stops
//!   naming the file, so no placeholder Secret can ever replace a real one.
//! - The workflow validates against GitHub's workflow schema (`check-jsonschema`, bundled
//!   schema), keeps its `${{ }}` expressions and only reads the repository.
//! - checkov (a third-party scanner) reports no failed check on any distinct Dockerfile,
//!   kustomize output or workflow; checks that do not fit are skipped next to the resource with
//!   a reason, and the test prints the passed/failed/skipped counts of each.
//! - cargo-deny's licenses, bans and sources checks pass on the all-on render with its own
//!   deny.toml (`--offline`: the advisories check needs the RustSec database from the network,
//!   so it runs in the generated project's CI only).
//! - Consistency: the built service, started with exactly the environment the built ConfigMap
//!   and Secret give it (secret volumes written as files), runs the Deployment's `migrate`
//!   initContainer, binds the container port and answers its probes; preStop + shutdown
//!   deadline fit in the grace period. A test breaks a probe path, a port, a variable name and
//!   the initContainer's command in turn and checks that the consistency check notices each.
//!
//! kubectl, kubernetes-validate, check-jsonschema, checkov and cargo-deny must be installed
//! (`bash .ci/run` installs them); a missing one fails the test, saying how to get it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use template_harness::cargo::{build_binary, cargo, cargo_command};
use template_harness::command::strip_ansi;
use template_harness::files::{list_files, new_temp_dir};
use template_harness::http::request;
use template_harness::kubernetes::{
    Built, SHAPING_SLICES, build, container_args, is_hashed, k8s_dir, kustomization_inputs,
    kustomize, name_of, pod_environment, render_k8s, resolve_port, shaping_combo,
    write_secret_files, yaml_document,
};
use template_harness::ports::accepts_connections;
use template_harness::postgres::psql;
use template_harness::process::{Proc, Service, sigterm};
use template_harness::render::{Generate, Render};
use template_harness::report::progress;
use template_harness::tools::{CARGO_DENY_VERSION, checkov_bin, python_tool};
use template_harness::wait::poll_until;

/// Kubernetes versions whose schemas every manifest must satisfy.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.32.0", "1.35.0"];

// ---------------------------------------------------------------------------------------------
// Schemas and what kustomize builds

#[test]
fn manifests_validate_for_every_combination_of_the_shaping_slices() {
    let out = new_temp_dir("k8s-built-");
    let mut renders = Vec::new();
    let mut files: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for bits in 0..1u32 << SHAPING_SLICES.len() {
        let (defines, label) = shaping_combo(bits);
        let render = render_k8s(&format!("k8s-{bits:02}"), &defines);
        let k8s = k8s_dir(&render);
        let database = bits & (1 << 4) != 0;

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
                "k8s-{bits:02} {label}: kustomization reads {listed:?}, the folder holds {present:?}"
            ));
        }
        if database == secret_files.is_empty() {
            problems.push(format!(
                "k8s-{bits:02} {label}: secret files {secret_files:?}, wanted exactly with database"
            ));
        }
        let written = write_secret_files(&k8s);

        let text = match kustomize(&k8s) {
            Ok(text) => text,
            Err(error) => {
                problems.push(format!("k8s-{bits:02} {label}: kubectl kustomize: {error}"));
                continue;
            }
        };
        let built = Built::from_yaml(&text);
        problems.extend(
            built_problems(&built, &written)
                .into_iter()
                .map(|p| format!("k8s-{bits:02} {label}: {p}")),
        );
        let path = out.path().join(format!("k8s-{bits:02}.yaml"));
        std::fs::write(&path, &text).expect("write kustomize output");
        files.push(path.display().to_string());
        renders.push(render);
    }
    for version in KUBERNETES_VERSIONS {
        let mut args = vec!["--strict", "--quiet", "-k", version];
        args.extend(files.iter().map(String::as_str));
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
        "[deploy] kustomize output of {} renders validated against Kubernetes {}",
        files.len(),
        KUBERNETES_VERSIONS.join(" and ")
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// What every kustomize output must hold, whatever the slices.
fn built_problems(built: &Built, written_secrets: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let deployment = match built.one("Deployment") {
        Ok(deployment) => deployment,
        Err(problem) => return vec![problem],
    };
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
    if migrates_first == written_secrets.is_empty() {
        problems.push(format!(
            "an initContainer running `migrate`: {migrates_first}, wanted exactly with a database"
        ));
    }
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
    for kind in ["Job", "CronJob", "Pod"] {
        if !built.of_kind(kind).is_empty() {
            problems.push(format!(
                "a {kind}: its template cannot change once applied, so a second release fails"
            ));
        }
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
        // No shipped manifest is a Secret: a placeholder would overwrite the real one on apply.
        for shipped in list_files(&k8s) {
            let text = std::fs::read_to_string(k8s.join(&shipped)).expect("read manifest");
            if text.lines().any(|line| line.trim() == "kind: Secret") {
                problems.push(format!("{name}: deploy/k8s/{shipped} declares a Secret"));
            }
        }
        // Before the user writes the file, the build stops and names it.
        match kustomize(&k8s) {
            Ok(_) => problems.push(format!(
                "{name}: kustomize builds without deploy/k8s/{file}: what would the Secret hold?"
            )),
            Err(error) if !error.contains(file) => problems.push(format!(
                "{name}: kustomize fails without naming {file}:\n{error}"
            )),
            Err(error) => progress(&format!(
                "[deploy] {name}: without {file}, kustomize stops: {}",
                error.lines().next().unwrap_or_default()
            )),
        }
        // The file never reaches git.
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(&render.dir)
                .output()
                .expect("git runs")
        };
        assert!(git(&["init", "--quiet"]).status.success(), "git init");
        let written = write_secret_files(&k8s);
        let ignored = git(&["check-ignore", "--quiet", &format!("deploy/k8s/{file}")]);
        if !ignored.status.success() {
            problems.push(format!("{name}: git does not ignore deploy/k8s/{file}"));
        }
        let status = git(&["status", "--porcelain", "--untracked-files=all"]);
        let status = String::from_utf8_lossy(&status.stdout);
        if status.contains("secrets/") {
            problems.push(format!(
                "{name}: git status shows the secret file:\n{status}"
            ));
        }
        // Once written, the Secret holds exactly it.
        match kustomize(&k8s) {
            Ok(text) => problems.extend(
                built_problems(&Built::from_yaml(&text), &written)
                    .into_iter()
                    .map(|p| format!("{name}: {p}")),
            ),
            Err(error) => problems.push(format!("{name}: kustomize with {file}: {error}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_second_release_rolls_the_pods_and_changes_nothing_immutable() {
    let mut problems = Vec::new();
    for (name, defines) in [
        ("release-all-on", &[][..]),
        ("release-no-config", &[("config", "false")][..]),
        ("release-no-database", &[("database", "false")][..]),
    ] {
        let render = render_k8s(name, defines);
        let k8s = k8s_dir(&render);
        write_secret_files(&k8s);
        let first = build(&k8s);

        // Release 2: a new image tag, the same settings.
        let kustomization = k8s.join("kustomization.yaml");
        let text = std::fs::read_to_string(&kustomization).expect("read kustomization");
        assert!(
            text.contains("newTag: \"0.1.0\""),
            "{name}: the image tag is 0.1.0"
        );
        std::fs::write(
            &kustomization,
            text.replace("newTag: \"0.1.0\"", "newTag: \"0.2.0\""),
        )
        .expect("set the new tag");
        let second = build(&k8s);

        // Release 3: the same image, a changed setting.
        let config_env = k8s.join("config.env");
        let mut settings = std::fs::read_to_string(&config_env).expect("read config.env");
        settings.push_str("RUST_LOG=info\n");
        std::fs::write(&config_env, settings).expect("change a setting");
        let third = build(&k8s);

        for (change, before, after, settings_changed) in [
            ("new image tag", &first, &second, false),
            ("changed setting", &second, &third, true),
        ] {
            let found = release_problems(before, after, settings_changed);
            if found.is_empty() {
                progress(&format!(
                    "[deploy] {name}, {change}: the pod template changes, ConfigMap {} -> {}, \
                     selectors and Service unchanged",
                    name_of(before.one("ConfigMap").expect("one ConfigMap")),
                    name_of(after.one("ConfigMap").expect("one ConfigMap")),
                ));
            }
            problems.extend(found.into_iter().map(|p| format!("{name}, {change}: {p}")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What applying `after` over `before` would do wrong.
fn release_problems(before: &Built, after: &Built, settings_changed: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let allowed = [
        "ConfigMap",
        "Secret",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ];
    for built in [before, after] {
        for doc in &built.docs {
            let kind = doc["kind"].as_str().unwrap_or_default();
            if !allowed.contains(&kind) {
                problems.push(format!(
                    "a {kind} ({}): not known to survive a second apply",
                    name_of(doc)
                ));
            }
        }
        for service in built.of_kind("Service") {
            for field in ["clusterIP", "clusterIPs"] {
                if service["spec"].get(field).is_some() {
                    problems.push(format!(
                        "Service {} sets {field}, which cannot change once assigned",
                        name_of(service)
                    ));
                }
            }
        }
    }
    let (Ok(old), Ok(new)) = (before.one("Deployment"), after.one("Deployment")) else {
        problems.push("one Deployment in each release".into());
        return problems;
    };
    if old["spec"]["selector"] != new["spec"]["selector"] {
        problems.push("the Deployment's selector changes: it is immutable".into());
    }
    if new["spec"].get("replicas").is_some() {
        problems.push("the Deployment sets replicas: the apply resets the HPA's count".into());
    }
    let service_selectors = |built: &Built| -> Vec<Value> {
        built
            .of_kind("Service")
            .iter()
            .map(|s| s["spec"]["selector"].clone())
            .collect()
    };
    if service_selectors(before) != service_selectors(after) {
        problems.push("the Service's selector changes".into());
    }
    if old["spec"]["template"] == new["spec"]["template"] {
        problems.push("the pod template is unchanged: the pods would not roll".into());
    }
    let fixed_names = |built: &Built| -> BTreeSet<(String, String)> {
        built
            .docs
            .iter()
            .filter(|d| !matches!(d["kind"].as_str(), Some("ConfigMap" | "Secret")))
            .map(|d| {
                (
                    d["kind"].as_str().unwrap_or_default().to_owned(),
                    name_of(d).to_owned(),
                )
            })
            .collect()
    };
    if fixed_names(before) != fixed_names(after) {
        problems.push(format!(
            "resource names change: {:?} -> {:?}",
            fixed_names(before),
            fixed_names(after)
        ));
    }
    let secret_names = |built: &Built| -> Vec<String> {
        built
            .of_kind("Secret")
            .iter()
            .map(|s| name_of(s).to_owned())
            .collect()
    };
    if secret_names(before) != secret_names(after) {
        problems.push("the Secret's name changes although its file did not".into());
    }
    let (Ok(old_config), Ok(new_config)) = (before.one("ConfigMap"), after.one("ConfigMap")) else {
        problems.push("one ConfigMap in each release".into());
        return problems;
    };
    let (old_name, new_name) = (name_of(old_config), name_of(new_config));
    if settings_changed == (old_name == new_name) {
        problems.push(format!(
            "ConfigMap {old_name} -> {new_name}: its name must change exactly when a setting does"
        ));
    }
    // Every container of the new pods reads the new ConfigMap.
    let pod = &new["spec"]["template"]["spec"];
    for container in ["initContainers", "containers"]
        .iter()
        .flat_map(|list| pod[list].as_array().into_iter().flatten())
    {
        for source in container["envFrom"].as_array().into_iter().flatten() {
            if let Some(wanted) = source["configMapRef"]["name"].as_str()
                && wanted != new_name
            {
                problems.push(format!(
                    "container {} reads ConfigMap {wanted}, not {new_name}",
                    container["name"]
                ));
            }
        }
    }
    problems
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
        // Least privilege: the token GitHub hands every job can only read the repository.
        if workflow["permissions"] != serde_json::json!({ "contents": "read" }) {
            problems.push(format!(
                "top-level permissions are {}, not exactly `contents: read`",
                workflow["permissions"]
            ));
        }
        let deny_step = workflow["jobs"]["dependencies"]["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|step| step["uses"] == "EmbarkStudios/cargo-deny-action@v2");
        if !deny_step || !render.has("deny.toml") {
            problems
                .push("a dependencies job running cargo-deny with the render's deny.toml".into());
        }
        // The scheduled check that the service is not behind its template, and only then.
        let update = &workflow["jobs"]["template-update"];
        let runs_check = update["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|step| step["run"] == "cargo template-update --check");
        // PyYAML reads the key `on` the YAML 1.1 way, as `true`.
        let triggers = match &workflow["on"] {
            Value::Null => &workflow["true"],
            on => on,
        };
        let scheduled = triggers["schedule"].is_array()
            && update["if"].as_str().is_some_and(|condition| {
                condition.contains("'schedule'") && !condition.contains("push")
            });
        if !runs_check || !scheduled {
            problems.push(format!(
                "a template-update job that runs `cargo template-update --check` on the schedule \
                 only: {update}"
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
// Third-party checks: checkov and cargo-deny

#[test]
fn checkov_finds_nothing_to_fix_in_any_distinct_render() {
    let root = new_temp_dir("checkov-");
    let mut renders = Vec::new();
    // file set (relative to root) -> what it is
    let mut sets: BTreeMap<String, String> = BTreeMap::new();

    for bits in 0..1u32 << SHAPING_SLICES.len() {
        let (defines, label) = shaping_combo(bits);
        let render = render_k8s(&format!("scan-k8s-{bits:02}"), &defines);
        let k8s = k8s_dir(&render);
        write_secret_files(&k8s);
        let text = kustomize(&k8s).unwrap_or_else(|e| panic!("kustomize {label}: {e}"));
        let file = format!("kubernetes/k8s-{bits:02}.yaml");
        std::fs::create_dir_all(root.path().join("kubernetes")).expect("create folder");
        std::fs::write(root.path().join(&file), text).expect("write kustomize output");
        sets.insert(file, format!("kustomize output {label}"));
    }
    // The Dockerfile changes with health and database; the workflow with database and docker.
    for (health, database) in [(true, true), (true, false), (false, true), (false, false)] {
        let render = Generate::new()
            .name(&format!("scan-image-{}{}", health as u8, database as u8))
            .define("docker", "true")
            .define("health", &health.to_string())
            .define("database", &database.to_string())
            .render();
        let file = format!(
            "dockerfile/health{}-database{}/Dockerfile",
            health as u8, database as u8
        );
        let target = root.path().join(&file);
        std::fs::create_dir_all(target.parent().expect("folder")).expect("create folder");
        std::fs::copy(render.dir.join("Dockerfile"), &target).expect("copy Dockerfile");
        sets.insert(
            file,
            format!("Dockerfile health={health} database={database}"),
        );
        renders.push(render);
    }
    for (database, docker) in [(true, true), (true, false), (false, true), (false, false)] {
        let render = Generate::new()
            .name(&format!("scan-ci-{}{}", database as u8, docker as u8))
            .define("ci", "true")
            .define("database", &database.to_string())
            .define("docker", &docker.to_string())
            .render();
        let file = format!(
            "workflow/database{}-docker{}/.github/workflows/ci.yml",
            database as u8, docker as u8
        );
        let target = root.path().join(&file);
        std::fs::create_dir_all(target.parent().expect("folder")).expect("create folder");
        std::fs::copy(render.dir.join(".github/workflows/ci.yml"), &target).expect("copy workflow");
        sets.insert(
            file,
            format!("workflow database={database} docker={docker}"),
        );
        renders.push(render);
    }

    // One run over everything: checkov takes seconds to start. --skip-download keeps it
    // offline (it would fetch guideline links from its vendor).
    let started = Instant::now();
    let checkov = checkov_bin();
    let output = Command::new(&checkov)
        .arg("--directory")
        .arg(root.path())
        .args([
            "--framework",
            "kubernetes",
            "dockerfile",
            "github_actions",
            "--output",
            "json",
            "--skip-download",
        ])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", checkov.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reports = match reports {
        Value::Array(reports) => reports,
        one => vec![one],
    };

    #[derive(Default)]
    struct Counts {
        passed: usize,
        failed: usize,
        skipped: usize,
    }
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut failures = Vec::new();
    for report in &reports {
        let results = &report["results"];
        for error in results["parsing_errors"].as_array().into_iter().flatten() {
            failures.push(format!("checkov could not parse {error}"));
        }
        for (outcome, list) in ["passed_checks", "failed_checks", "skipped_checks"]
            .iter()
            .enumerate()
        {
            for check in results[list].as_array().into_iter().flatten() {
                let file = check["file_path"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_owned();
                let entry = counts.entry(file.clone()).or_default();
                match outcome {
                    0 => entry.passed += 1,
                    1 => {
                        entry.failed += 1;
                        failures.push(format!(
                            "{}: {} {} ({})",
                            sets.get(&file).unwrap_or(&file),
                            check["check_id"].as_str().unwrap_or_default(),
                            check["check_name"].as_str().unwrap_or_default(),
                            check["resource"].as_str().unwrap_or_default(),
                        ));
                    }
                    _ => entry.skipped += 1,
                }
            }
        }
    }
    let mut totals: BTreeMap<&str, Counts> = BTreeMap::new();
    for (file, what) in &sets {
        let Some(c) = counts.get(file) else {
            failures.push(format!("checkov reported nothing for {what} ({file})"));
            continue;
        };
        if c.passed == 0 {
            failures.push(format!("checkov passed no check on {what} ({file})"));
        }
        progress(&format!(
            "[deploy] checkov {what}: {} passed, {} failed, {} skipped",
            c.passed, c.failed, c.skipped
        ));
        let total = totals
            .entry(file.split('/').next().unwrap_or_default())
            .or_default();
        total.passed += c.passed;
        total.failed += c.failed;
        total.skipped += c.skipped;
    }
    for (kind, c) in &totals {
        progress(&format!(
            "[deploy] checkov {kind} total: {} passed, {} failed, {} skipped",
            c.passed, c.failed, c.skipped
        ));
    }
    progress(&format!(
        "[deploy] checkov ({}) scanned {} file sets in {} s",
        checkov.display(),
        sets.len(),
        started.elapsed().as_secs()
    ));
    assert!(failures.is_empty(), "checkov:\n{}", failures.join("\n"));
}

#[test]
fn cargo_deny_accepts_the_all_on_dependency_tree() {
    let render = Generate::new()
        .name("deny-all-on")
        .define("kubernetes", "true")
        .render();
    // cargo-deny reads Cargo.lock and `cargo metadata`, which with --offline needs every
    // platform's crates downloaded: resolve and fetch first (crates.io, like every build).
    cargo(&render.dir, &["generate-lockfile"]);
    cargo(&render.dir, &["fetch"]);
    let deny = |what: &str| {
        let mut cmd = cargo_command(
            &render.dir,
            &["deny", "--offline", "check", "licenses", "bans", "sources"],
        );
        let output = cmd.output().expect("cargo runs");
        let text = strip_ansi(&format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
        if text.contains("no such command") {
            panic!(
                "cargo-deny is not installed: `cargo install cargo-deny --version \
                 {CARGO_DENY_VERSION} --locked`, or run `bash .ci/run`, which does"
            );
        }
        progress(&format!(
            "[deploy] cargo deny --offline check licenses bans sources ({what}): {}",
            text.lines()
                .rfind(|l| l.contains(" ok") || l.contains("FAILED"))
                .unwrap_or("(no summary)")
                .trim()
        ));
        (output.status.success(), text)
    };

    let (ok, text) = deny("deny.toml as rendered");
    assert!(ok, "cargo deny rejects the all-on render:\n{text}");

    // The check reads the render's deny.toml: without MIT in the allowed licenses it fails.
    let path = render.dir.join("deny.toml");
    let rules = std::fs::read_to_string(&path).expect("read deny.toml");
    assert!(rules.contains("    \"MIT\",\n"), "deny.toml allows MIT");
    std::fs::write(&path, rules.replace("    \"MIT\",\n", "")).expect("drop MIT");
    let (ok, text) = deny("MIT not allowed");
    assert!(
        !ok && text.contains("rejected"),
        "without MIT allowed, cargo deny should reject crates:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Consistency between the manifests and the service

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

/// Checks what kustomize builds against the running service; returns what does not match.
fn consistency_problems(deployed: &Deployed) -> Vec<String> {
    let mut problems = Vec::new();
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
    if pod["enableServiceLinks"] != Value::Bool(false) {
        problems.push("enableServiceLinks must be false".into());
    }

    // The initContainers run to completion, in order, before the service starts.
    let init_containers = pod["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !init_containers.is_empty()
        && let Err(problem) = provision_database(deployed, &built, env)
    {
        problems.push(problem);
        return problems;
    }
    for init in &init_containers {
        let name = init["name"].as_str().unwrap_or_default();
        match pod_environment(&built, pod, init) {
            Ok(init_environment) => {
                let args = container_args(init);
                let mut process = start(deployed, &args, &init_environment.env);
                let status = process.child.wait().expect("wait for the initContainer");
                if !status.success() {
                    problems.push(format!("initContainer {name} {args:?} failed: {status}"));
                    return problems;
                }
                progress(&format!(
                    "[deploy] {}: initContainer {name} {args:?} exits 0",
                    deployed.name
                ));
            }
            Err(problem) => {
                problems.push(format!("initContainer {name}: {problem}"));
                return problems;
            }
        }
    }

    let Some(port) = resolve_port(container, &container["ports"][0]["containerPort"]) else {
        problems.push("the container declares no port".into());
        return problems;
    };
    let args = container_args(container);
    let mut service = start(deployed, &args, env);
    let listening = poll_until(Duration::from_secs(15), Duration::from_millis(50), || {
        accepts_connections(port) || service.try_exit().is_some()
    });
    if let Some(status) = service.status {
        problems.push(format!(
            "with the declared environment the service exits ({status}) instead of \
             listening on containerPort {port}"
        ));
        return problems;
    }
    if listening.is_none() {
        problems.push(format!(
            "nothing listens on containerPort {port} after 15 s"
        ));
        return problems;
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
            let passes = |status: Option<u16>| status.is_some_and(|s| (200..400).contains(&s));
            let mut status = None;
            poll_until(Duration::from_secs(10), Duration::from_millis(100), || {
                status = request(port, "GET", path, &[], None).ok().map(|r| r.status);
                passes(status)
            });
            if !passes(status) {
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
