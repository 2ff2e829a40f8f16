//! The rendered examples in examples/<preset>/ must match what the template renders now from
//! examples/<preset>.toml, so a reviewer sees in the diff what a template change does to
//! generated code.
//!
//! Refresh them with `UPDATE_EXAMPLES=1 cargo test --test examples`.

use std::path::Path;

use template_harness::combos::{Combo, file_set_problems, preset_files};
use template_harness::files::{copy_tree, list_files, list_files_except};
use template_harness::render::{Generate, repo_root};

/// Build output and lockfiles from trying an example out are not part of the render.
fn not_rendered(rel: &str) -> bool {
    rel == "target" || rel == "Cargo.lock"
}

/// Files that differ between the checked-in example and a fresh render.
fn differences(checked_in: &Path, fresh: &Path) -> Vec<String> {
    if !checked_in.is_dir() {
        return vec!["the folder is missing".to_string()];
    }
    let old = list_files_except(checked_in, &not_rendered);
    let new = list_files(fresh);
    let mut diffs = Vec::new();
    for file in old.union(&new) {
        match (old.contains(file), new.contains(file)) {
            (true, false) => diffs.push(format!("{file}: no longer rendered")),
            (false, true) => diffs.push(format!("{file}: rendered now, not checked in")),
            _ => {
                let a = std::fs::read(checked_in.join(file)).expect("read example file");
                let b = std::fs::read(fresh.join(file)).expect("read rendered file");
                if a != b {
                    diffs.push(format!("{file}: content differs"));
                }
            }
        }
    }
    diffs
}

/// Replaces examples/<preset>/ with the fresh render, keeping target/ and Cargo.lock.
fn refresh(checked_in: &Path, fresh: &Path) {
    if checked_in.is_dir() {
        for entry in std::fs::read_dir(checked_in).expect("read example folder") {
            let entry = entry.expect("entry");
            if not_rendered(&entry.file_name().to_string_lossy()) {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("remove old example folder");
            } else {
                std::fs::remove_file(&path).expect("remove old example file");
            }
        }
    }
    copy_tree(fresh, checked_in, &|_| false);
}

#[test]
fn checked_in_examples_match_the_template() {
    let update = std::env::var("UPDATE_EXAMPLES").is_ok_and(|v| v == "1");
    let presets = preset_files();
    let names: Vec<&str> = presets.iter().map(|(n, _)| n.as_str()).collect();
    for required in ["minimal", "full"] {
        assert!(
            names.contains(&required),
            "examples/{required}.toml is missing"
        );
    }

    let mut stale = Vec::new();
    let mut wrong = Vec::new();
    for (preset, values_file) in &presets {
        let render = Generate::new()
            .name(&format!("{preset}-service"))
            .values_file(values_file)
            .render();
        let combo = Combo::of_values_file(values_file);
        let problems = file_set_problems(&render.dir, combo);
        if !problems.is_empty() {
            wrong.push(format!(
                "examples/{preset}.toml renders the wrong files for {}:\n  {}",
                combo.label(),
                problems.join("\n  ")
            ));
        }

        let checked_in = repo_root().join("examples").join(preset);
        if update {
            refresh(&checked_in, &render.dir);
            continue;
        }
        let diffs = differences(&checked_in, &render.dir);
        if !diffs.is_empty() {
            stale.push(format!("examples/{preset}/:\n  {}", diffs.join("\n  ")));
        }
    }
    if !stale.is_empty() {
        wrong.push(format!(
            "the checked-in examples differ from what the template renders now; review the \
             template change, then refresh them with `UPDATE_EXAMPLES=1 cargo test --test examples`:\n\n{}",
            stale.join("\n\n")
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn presets_cover_all_on_and_all_off() {
    let combos: Vec<Combo> = preset_files()
        .iter()
        .map(|(_, file)| Combo::of_values_file(file))
        .collect();
    assert!(
        combos.contains(&Combo::ALL_ON),
        "no preset turns every slice on"
    );
    assert!(
        combos.contains(&Combo::ALL_OFF),
        "no preset turns every slice off"
    );
}
