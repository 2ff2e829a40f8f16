//! The template renders the same through the cargo-generate release it pins and through the
//! newest release: users have either. A difference fails with a diff.
//!
//! The pairwise set (every pair of slices in each of its on/off states) and a values file run
//! through both releases. The bad-input, interactive and update tests run with both as well.

use std::path::Path;
use std::process::Command;

use template_harness::combos::Combo;
use template_harness::render::{CargoGenerate, Generate, Render, repo_root};
use template_harness::report::progress;

fn render(tool: CargoGenerate, name: &str, combo: Combo) -> Render {
    Generate::new()
        .tool(tool)
        .name(name)
        .defines(&combo.defines())
        .render()
}

/// `diff -ru` of two renders, or nothing when they are the same.
fn difference(pinned: &Path, newest: &Path) -> String {
    let output = Command::new("diff")
        .arg("-ru")
        .arg(pinned)
        .arg(newest)
        .output()
        .expect("run diff");
    match output.status.code() {
        Some(0) => String::new(),
        Some(1) => String::from_utf8_lossy(&output.stdout).into_owned(),
        _ => panic!("diff failed: {}", String::from_utf8_lossy(&output.stderr)),
    }
}

#[test]
fn the_newest_cargo_generate_renders_what_the_pinned_one_renders() {
    let tools = CargoGenerate::all();
    if tools.len() < 2 {
        return;
    }
    let mut differences = Vec::new();
    let combos = Combo::pairwise();
    for (index, combo) in combos.iter().enumerate() {
        let name = format!("versions-{index}");
        let pinned = render(CargoGenerate::Pinned, &name, *combo);
        let newest = render(CargoGenerate::Newest, &name, *combo);
        let diff = difference(&pinned.dir, &newest.dir);
        if !diff.is_empty() {
            differences.push(format!("{}:\n{diff}", combo.label()));
        }
    }
    // A values file, as `cargo template-update` replays answers.
    let values = repo_root().join("examples").join("full.toml");
    let pinned = Generate::new()
        .tool(CargoGenerate::Pinned)
        .name("versions-values")
        .values_file(&values)
        .render();
    let newest = Generate::new()
        .tool(CargoGenerate::Newest)
        .name("versions-values")
        .values_file(&values)
        .render();
    let diff = difference(&pinned.dir, &newest.dir);
    if !diff.is_empty() {
        differences.push(format!("--values-file examples/full.toml:\n{diff}"));
    }
    progress(&format!(
        "[versions] cargo-generate {} and {}: {} pairwise combinations and a values file, {} \
         rendered differently",
        CargoGenerate::Pinned.version(),
        CargoGenerate::Newest.version(),
        combos.len(),
        differences.len()
    ));
    assert!(
        differences.is_empty(),
        "cargo-generate {} renders differently from {}:\n{}",
        CargoGenerate::Newest.version(),
        CargoGenerate::Pinned.version(),
        differences.join("\n")
    );
}
