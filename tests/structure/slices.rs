//! The slice list is declared once.

use super::*;

/// The bool placeholders of template/cargo-generate.toml, in the order it declares them.
fn declared_slices() -> Vec<String> {
    let text = std::fs::read_to_string(template_dir().join("cargo-generate.toml"))
        .expect("read template/cargo-generate.toml");
    let mut slices = Vec::new();
    let mut placeholder = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            placeholder = line
                .strip_prefix("[placeholders.")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_owned);
        } else if line.replace(' ', "") == "type=\"bool\""
            && let Some(name) = placeholder.take()
        {
            slices.push(name);
        }
    }
    slices
}

/// The slice names quoted in `line`.
fn quoted_slices(line: &str, slices: &[String]) -> Vec<String> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .filter(|word| slices.iter().any(|slice| slice == word))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_slice_list_is_declared_once() {
    let declared = declared_slices();
    assert!(
        declared.len() >= 2,
        "template/cargo-generate.toml declares no bool placeholders: {declared:?}"
    );
    let mut problems = Vec::new();
    if SLICES.as_slice() != declared.as_slice() {
        problems.push(format!(
            "src/slices.rs's SLICES are {SLICES:?}, not the placeholders {declared:?}"
        ));
    }
    let hooks = repo_root().join("hooks");
    let shared = "slices.rhai";
    match std::fs::read_to_string(hooks.join(shared)) {
        Ok(text) => {
            let listed: Vec<String> = text
                .lines()
                .flat_map(|line| quoted_slices(line, &declared))
                .collect();
            if listed != declared {
                problems.push(format!(
                    "hooks/{shared} lists {listed:?}, not the placeholders {declared:?}"
                ));
            }
        }
        Err(error) => problems.push(format!(
            "hooks/{shared}, the hooks' one list of slices, cannot be read: {error}"
        )),
    }
    for file in list_files(&hooks) {
        if file == shared || !file.ends_with(".rhai") {
            continue;
        }
        let text = std::fs::read_to_string(hooks.join(&file)).expect("read a hook");
        for (index, line) in text.lines().enumerate() {
            if quoted_slices(line, &declared).len() >= 3 {
                problems.push(format!(
                    "hooks/{file}:{}: a list of slices of its own (import hooks/{shared}): {}",
                    index + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the slices are declared once, as the bool placeholders of \
         template/cargo-generate.toml; every other list must match them:\n{}",
        problems.join("\n")
    );
}
