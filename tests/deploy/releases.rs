//! A second release applied over the first: the pods roll, the ConfigMap's hashed name follows
//! its content, and nothing immutable changes.

use std::collections::BTreeSet;

use serde_json::Value;
use template_harness::kubernetes::{
    Built, build, k8s_dir, name_of, render_k8s, write_secret_files,
};
use template_harness::report::progress;

/// The kinds known to survive a second `kubectl apply -k`.
const RE_APPLICABLE: [&str; 7] = [
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
];

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
    let mut problems: Vec<String> = [before, after]
        .into_iter()
        .flat_map(what_a_second_apply_cannot_take)
        .collect();
    let (Ok(old), Ok(new)) = (before.one("Deployment"), after.one("Deployment")) else {
        problems.push("one Deployment in each release".into());
        return problems;
    };
    problems.extend(rollout_problems(before, after, old, new));
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
    problems.extend(containers_reading_another_config_map(new, new_name));
    problems
}

/// Kinds not known to survive a second apply, and Services that fix their cluster IP.
fn what_a_second_apply_cannot_take(built: &Built) -> Vec<String> {
    let mut problems = Vec::new();
    for doc in &built.docs {
        let kind = doc["kind"].as_str().unwrap_or_default();
        if !RE_APPLICABLE.contains(&kind) {
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
    problems
}

/// The pod template changes (the pods roll) while selectors, replicas, resource names and the
/// Secret's name stay.
fn rollout_problems(before: &Built, after: &Built, old: &Value, new: &Value) -> Vec<String> {
    let mut problems = Vec::new();
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
    problems
}

/// `(kind, name)` of every resource whose name has no content hash.
fn fixed_names(built: &Built) -> BTreeSet<(String, String)> {
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
}

/// Containers of the new pods that read a ConfigMap other than `new_name`.
fn containers_reading_another_config_map(new: &Value, new_name: &str) -> Vec<String> {
    let mut problems = Vec::new();
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
