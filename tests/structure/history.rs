//! Generated code carries none of this repository's history, and renders take nothing from the
//! user's git config.

use super::*;

/// The words of a comment, lower-cased.
fn words(comment: &str) -> impl Iterator<Item = String> + '_ {
    comment
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Whether `text` holds a date written `YYYY-MM-DD`.
fn has_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(10).any(|window| {
        window.iter().enumerate().all(|(i, byte)| match i {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
    })
}

#[test]
fn generated_code_keeps_none_of_this_repositorys_history() {
    let template = template_dir();
    let mut problems = Vec::new();
    let mut files: Vec<String> = ["src", "tests"]
        .iter()
        .flat_map(|folder| {
            rust_files(&template.join(folder))
                .into_iter()
                .map(move |file| format!("{folder}/{file}"))
        })
        .collect();
    files.push("Cargo.toml.liquid".to_owned());
    for file in files {
        let text = std::fs::read_to_string(template.join(&file)).expect("read");
        let marker = if file.starts_with("Cargo.toml") {
            "#"
        } else {
            "//"
        };
        for (index, line) in text.lines().enumerate() {
            let at = format!("template/{file}:{}", index + 1);
            if has_date(line) {
                problems.push(format!("{at}: a date: {}", line.trim()));
            }
            let Some(comment) = line.trim_start().strip_prefix(marker) else {
                continue;
            };
            for word in words(comment) {
                if matches!(word.as_str(), "slice" | "slices" | "template" | "templates") {
                    problems.push(format!("{at}: \"{word}\" in a comment: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the generated code is the user's: no dates, machines or benchmark runs of this \
         repository (they belong in README.md), and comments that speak of the service, not of \
         the template and its slices:\n{}",
        problems.join("\n")
    );
}

#[test]
fn renders_take_nothing_from_the_users_git_config() {
    // cargo-generate fills `authors` and `username` from the git config of whoever renders:
    // two renders of one service on two machines would differ, and `cargo template-update`
    // would see the difference as a template change.
    let template = template_dir();
    let mut uses = Vec::new();
    for file in list_files(&template) {
        let text = std::fs::read_to_string(template.join(&file)).unwrap_or_default();
        for variable in ["authors", "username"] {
            let used = ["{{", "{{ "]
                .iter()
                .any(|open| text.contains(&format!("{open}{variable}")));
            if used || text.contains(&format!("variable::get(\"{variable}\")")) {
                uses.push(format!("template/{file} uses `{variable}`"));
            }
        }
    }
    assert!(uses.is_empty(), "{}", uses.join("\n"));
}
