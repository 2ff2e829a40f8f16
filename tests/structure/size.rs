//! Short functions and files in the template.

use super::*;

/// Longest function and longest file, in lines, in the template's Rust code.
const LONGEST_FUNCTION: usize = 80;

const LONGEST_FILE: usize = 700;

/// The length in lines of every function in `text` laid out by rustfmt: from its `fn` line to
/// the `}` at the same indentation. Each as `(name, first line, lines)`.
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut functions = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let signature = [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "const ",
            "async ",
            "unsafe ",
        ]
        .iter()
        .fold(trimmed, |rest, prefix| {
            rest.strip_prefix(prefix).unwrap_or(rest)
        });
        let Some(rest) = signature.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let closing = format!("{indent}}}");
        if let Some(end) = lines[index..].iter().position(|line| *line == closing) {
            functions.push((name, index + 1, end + 1));
        }
    }
    functions
}

#[test]
fn functions_and_files_stay_short() {
    let template = template_dir();
    let mut problems = Vec::new();
    let mut longest: Vec<(usize, String)> = Vec::new();
    for folder in ["src", "tests"] {
        for file in rust_files(&template.join(folder)) {
            let path = format!("{folder}/{file}");
            let text = std::fs::read_to_string(template.join(&path)).expect("read");
            let lines = text.lines().count();
            if lines > LONGEST_FILE {
                problems.push(format!("{path}: {lines} lines (at most {LONGEST_FILE})"));
            }
            for (name, at, length) in function_lengths(&text) {
                if length > LONGEST_FUNCTION {
                    problems.push(format!(
                        "{path}:{at}: fn {name} has {length} lines (at most {LONGEST_FUNCTION})"
                    ));
                }
                longest.push((length, format!("{path}::{name}")));
            }
        }
    }
    longest.sort_by_key(|(length, _)| std::cmp::Reverse(*length));
    let shown: Vec<String> = longest
        .iter()
        .take(3)
        .map(|(length, name)| format!("{name} {length}"))
        .collect();
    progress(&format!(
        "[structure] longest functions: {}",
        shown.join(", ")
    ));
    assert!(
        problems.is_empty(),
        "split these into parts named for what they do:\n{}",
        problems.join("\n")
    );
}
