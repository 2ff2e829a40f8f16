//! The catalog slice's `catalog-info.yaml`: a Backstage Component that validates (zatalog's
//! schema of Backstage's entity kinds), says what it was given, and, with the kubernetes slice,
//! names the label every object kustomize builds carries, so Backstage's Kubernetes plugin finds
//! them. Off, it leaves nothing: no file and no label.

use serde_json::Value;
use template_harness::kubernetes::{build, k8s_dir, write_secret_files, yaml_stream};
use template_harness::render::{Generate, Render};
use template_harness::tools::{backstage_catalog_problems, python_tool};

use crate::manifests::both;

/// The id Backstage's Kubernetes plugin looks objects up by (a label and an annotation).
const KUBERNETES_ID: &str = "backstage.io/kubernetes-id";

/// Values given at the prompt, and where each must land in the entity.
const GIVEN: [(&str, &str); 4] = [
    ("catalog_owner", "group:default/payments"),
    ("catalog_system", "checkout"),
    ("catalog_lifecycle", "production"),
    ("github_org", "acme-shop"),
];

#[test]
fn the_catalog_entry_validates_and_matches_the_manifests() {
    let mut problems = Vec::new();
    // With kubernetes, the values given; without, the defaults.
    for kubernetes in [true, false] {
        let name = format!("catalog-k8s-{}", kubernetes as u8);
        let mut generate = Generate::new()
            .name(&name)
            .define("catalog", "true")
            .define("kubernetes", &kubernetes.to_string());
        if kubernetes {
            for (key, value) in GIVEN {
                generate = generate.define(key, value);
            }
        }
        let render = generate.render();
        let file = render.dir.join("catalog-info.yaml");
        problems.extend(
            backstage_catalog_problems(&file)
                .into_iter()
                .map(|p| format!("{name}: zatalog: {p}")),
        );
        let entity = component(&render);
        let wanted = if kubernetes {
            GIVEN.map(|(_, value)| value)
        } else {
            [
                "group:default/change-me",
                "change-me",
                "experimental",
                "change-me",
            ]
        };
        problems.extend(
            entity_problems(&entity, &name, wanted, kubernetes)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
        if kubernetes {
            problems.extend(manifest_label_problems(&render, &name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The one document of the render's catalog-info.yaml.
fn component(render: &Render) -> Value {
    let mut docs = yaml_stream(&render.read("catalog-info.yaml"));
    assert_eq!(
        docs.len(),
        1,
        "catalog-info.yaml holds one entity: {docs:?}"
    );
    docs.remove(0)
}

/// A Component of type service named after the project, with the given owner, system and
/// lifecycle, the repository's slug, the Kubernetes id exactly with the kubernetes slice, and no
/// API it does not publish.
fn entity_problems(
    entity: &Value,
    name: &str,
    [owner, system, lifecycle, org]: [&str; 4],
    kubernetes: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = [
        ("/apiVersion", "backstage.io/v1alpha1"),
        ("/kind", "Component"),
        ("/metadata/name", name),
        ("/spec/type", "service"),
        ("/spec/owner", owner),
        ("/spec/system", system),
        ("/spec/lifecycle", lifecycle),
    ];
    for (pointer, value) in expected {
        if entity.pointer(pointer).and_then(Value::as_str) != Some(value) {
            problems.push(format!(
                "{pointer} is {:?}, not {value:?}",
                entity.pointer(pointer)
            ));
        }
    }
    let annotations = &entity["metadata"]["annotations"];
    let slug = format!("{org}/{name}");
    if annotations["github.com/project-slug"].as_str() != Some(slug.as_str()) {
        problems.push(format!(
            "github.com/project-slug is not {slug}: {annotations}"
        ));
    }
    let id = annotations[KUBERNETES_ID].as_str();
    if id != kubernetes.then_some(name) {
        problems.push(format!(
            "{KUBERNETES_ID} annotation {id:?}, wanted the project name exactly with kubernetes"
        ));
    }
    if entity["spec"].get("providesApis").is_some() {
        problems.push("providesApis names an API the service does not publish".into());
    }
    problems
}

/// What kustomize builds carries the same id on every object and every pod, leaves the
/// selectors alone (they cannot change once applied), and still validates strictly.
fn manifest_label_problems(render: &Render, name: &str) -> Vec<String> {
    let k8s = k8s_dir(render);
    write_secret_files(&k8s);
    let built = build(&k8s);
    let mut problems = Vec::new();
    for doc in &built.docs {
        let what = format!("{name}: {} {}", doc["kind"], doc["metadata"]["name"]);
        if doc["metadata"]["labels"][KUBERNETES_ID].as_str() != Some(name) {
            problems.push(format!("{what} lacks the label {KUBERNETES_ID}: {name}"));
        }
        let template = &doc["spec"]["template"];
        if template.is_object() && template["metadata"]["labels"][KUBERNETES_ID] != name {
            problems.push(format!("{what}: its pods lack the label {KUBERNETES_ID}"));
        }
        for selector in ["selector", "podSelector"] {
            if doc["spec"][selector].to_string().contains(KUBERNETES_ID) {
                problems.push(format!("{what}: the id is in its {selector}"));
            }
        }
    }
    let out = render.dir.join("built.yaml");
    let text: Vec<String> = built.docs.iter().map(Value::to_string).collect();
    std::fs::write(&out, text.join("\n---\n")).expect("write kustomize output");
    let path = out.display().to_string();
    let output = python_tool(
        "kubernetes-validate",
        &["--strict", "--quiet", "-k", "1.35.0", &path],
    );
    if !output.status.success() {
        problems.push(format!("{name}: kubernetes-validate:\n{}", both(&output)));
    }
    problems
}

#[test]
fn without_the_catalog_slice_nothing_names_backstage() {
    let render = Generate::new()
        .name("catalog-off")
        .define("kubernetes", "true")
        .render();
    assert!(
        !render.has("catalog-info.yaml"),
        "catalog-info.yaml rendered with the catalog slice off"
    );
    let k8s = k8s_dir(&render);
    write_secret_files(&k8s);
    let built = build(&k8s);
    let mentions: Vec<String> = built
        .docs
        .iter()
        .filter(|doc| doc.to_string().contains("backstage.io"))
        .map(|doc| format!("{} {}", doc["kind"], doc["metadata"]["name"]))
        .collect();
    assert!(
        mentions.is_empty(),
        "with the catalog slice off these objects still name backstage.io: {mentions:?}"
    );
    let answers = render.read(".template-answers.toml");
    assert!(
        !answers.contains("catalog_owner"),
        "the answers record catalog values the render was not asked:\n{answers}"
    );
}
