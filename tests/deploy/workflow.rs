//! The GitHub Actions workflow, for each setting of the slices that shape it: valid against
//! GitHub's workflow schema, its `${{ }}` expressions kept, a read-only token, cargo-deny, and
//! the scheduled check that the service is not behind its template.

use serde_json::{Value, json};
use template_harness::kubernetes::yaml_document;
use template_harness::render::{Generate, Render};
use template_harness::tools::python_tool;

use crate::manifests::both;

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
        problems.extend(workflow_problems(&render, database, docker));
        files.push(
            render
                .dir
                .join(".github/workflows/ci.yml")
                .display()
                .to_string(),
        );
        renders.push(render);
    }
    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(files.iter().map(String::as_str));
    let output = python_tool("check-jsonschema", &args);
    if !output.status.success() {
        problems.push(format!("check-jsonschema:\n{}", both(&output)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// What is wrong with the render's workflow, given the two slices that shape it.
fn workflow_problems(render: &Render, database: bool, docker: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let text = render.read(".github/workflows/ci.yml");
    if docker != text.contains("${{ github.sha }}") {
        problems.push(format!(
            "docker={docker}: the image tag expression `${{{{ github.sha }}}}` should be \
             there exactly when the docker slice is on:\n{text}"
        ));
    }
    let workflow = yaml_document(&render.dir.join(".github/workflows/ci.yml"));
    if database != workflow["jobs"]["check"]["services"]["postgres"].is_object() {
        problems.push(format!(
            "database={database}: a PostgreSQL service exactly when the slice is on"
        ));
    }
    // Least privilege: the token GitHub hands every job can only read the repository.
    if workflow["permissions"] != json!({ "contents": "read" }) {
        problems.push(format!(
            "top-level permissions are {}, not exactly `contents: read`",
            workflow["permissions"]
        ));
    }
    let deny_step = steps(&workflow["jobs"]["dependencies"])
        .any(|step| step["uses"] == "EmbarkStudios/cargo-deny-action@v2");
    if !deny_step || !render.has("deny.toml") {
        problems.push("a dependencies job running cargo-deny with the render's deny.toml".into());
    }
    if !checks_the_template_on_the_schedule_only(&workflow) {
        problems.push(format!(
            "a template-update job that runs `cargo template-update --check` on the schedule \
             only: {}",
            workflow["jobs"]["template-update"]
        ));
    }
    problems
}

fn steps(job: &Value) -> impl Iterator<Item = &Value> {
    job["steps"].as_array().into_iter().flatten()
}

/// The scheduled check that the service is not behind its template, and only then.
fn checks_the_template_on_the_schedule_only(workflow: &Value) -> bool {
    let update = &workflow["jobs"]["template-update"];
    let runs_check = steps(update).any(|step| step["run"] == "cargo template-update --check");
    // PyYAML reads the key `on` the YAML 1.1 way, as `true`.
    let triggers = match &workflow["on"] {
        Value::Null => &workflow["true"],
        on => on,
    };
    let scheduled = triggers["schedule"].is_array()
        && update["if"].as_str().is_some_and(|condition| {
            condition.contains("'schedule'") && !condition.contains("push")
        });
    runs_check && scheduled
}
