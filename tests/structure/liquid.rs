//! Liquid only around whole lines, and mostly in the wiring.

use super::*;

/// At most this share of a file's lines may hold a Liquid tag, except in the wiring, whose lists
/// of parts are Liquid by nature.
const MOST_TAGGED_SHARE: f64 = 0.15;

#[test]
fn liquid_tags_stand_on_lines_of_their_own() {
    let template = template_dir();
    let mut problems = Vec::new();
    let mut counts = Vec::new();
    for folder in ["src", "tests"] {
        for file in rust_files(&template.join(folder)) {
            let path = format!("{folder}/{file}");
            let text = std::fs::read_to_string(template.join(&path)).expect("read a template file");
            let mut tagged = 0;
            for (index, line) in text.lines().enumerate() {
                if !line.contains("{%") {
                    continue;
                }
                tagged += 1;
                match without_tags(line) {
                    Some(rest) if rest.trim().is_empty() => {}
                    _ => problems.push(format!("{path}:{}: {}", index + 1, line.trim())),
                }
            }
            counts.push(format!("{path} {tagged}/{}", text.lines().count()));
        }
    }
    progress(&format!(
        "[structure] lines with a Liquid tag: {}",
        counts.join(", ")
    ));
    assert!(
        problems.is_empty(),
        "Liquid inside a line of Rust (an expression, a sentence, an attribute): wrap whole \
         items instead:\n{}",
        problems.join("\n")
    );
}

#[test]
fn liquid_stays_in_the_wiring() {
    let template = template_dir();
    let mut problems = Vec::new();
    let mut total = 0;
    for file in rust_files(&template.join("src")) {
        let text = std::fs::read_to_string(template.join("src").join(&file)).expect("read");
        let lines = text.lines().count();
        let tagged = text.lines().filter(|line| line.contains("{%")).count();
        total += tagged;
        let share = tagged as f64 / lines.max(1) as f64;
        if !WIRING.contains(&file.as_str()) && share > MOST_TAGGED_SHARE {
            problems.push(format!(
                "src/{file}: {tagged} of {lines} lines hold a Liquid tag ({:.0} %)",
                share * 100.0
            ));
        }
    }
    // The post hook writes tests/api/main.rs, a module for every file the render has there.
    if let Ok(main) = std::fs::read_to_string(template.join("tests/api/main.rs"))
        && main.contains("{%")
    {
        problems.push(
            "tests/api/main.rs holds Liquid: hooks/post.rhai writes it from the files beside it"
                .to_owned(),
        );
    }
    progress(&format!(
        "[structure] lines holding a Liquid tag in template/src: {total}"
    ));
    assert!(
        problems.is_empty(),
        "outside the wiring ({WIRING:?}) at most {:.0} % of a file's lines may hold a Liquid \
         tag: a part that varies that much belongs in a file of its own, which \
         `[conditional]` ignores bring or drop whole:\n{}",
        MOST_TAGGED_SHARE * 100.0,
        problems.join("\n")
    );
}
