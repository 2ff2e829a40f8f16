//! The shape of the template's Rust code, read from `template/` itself (no render needed): Liquid
//! only around whole lines, slice modules that stay out of the wiring, and modules that form no
//! import circle.
//!
//! Liquid tags do not change which modules a file names, so the template's files are read as
//! they are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use template_harness::files::list_files;
use template_harness::render::template_dir;
use template_harness::report::progress;

/// Modules that wire slices together. Slice modules must not name them: a slice that imports
/// the wiring cannot be added or removed on its own, and forms a circle with it.
const WIRING: &[&str] = &["cli", "http", "startup", "state"];

/// Modules that belong to one slice each.
const SLICE_MODULES: &[&str] = &[
    "db", "health", "logging", "metrics", "notes", "shutdown", "traces",
];

/// Every `.rs` file under `dir`, as paths relative to it, sorted.
fn rust_files(dir: &Path) -> Vec<String> {
    list_files(dir)
        .into_iter()
        .filter(|file| file.ends_with(".rs"))
        .collect()
}

/// `line` with every `{% … %}` tag removed, or `None` if a tag is left open.
fn without_tags(line: &str) -> Option<String> {
    let mut rest = line;
    let mut kept = String::new();
    while let Some(start) = rest.find("{%") {
        kept.push_str(&rest[..start]);
        let end = rest[start..].find("%}")?;
        rest = &rest[start + end + 2..];
    }
    kept.push_str(rest);
    Some(kept)
}

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

/// The top-level module a file of `src/` belongs to: `db/readiness.rs` belongs to `db`. `None`
/// for the crate roots.
fn module_of(file: &str) -> Option<&str> {
    let first = file.split('/').next()?;
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(name) => Some(name),
        None => Some(first),
    }
}

/// The top-level modules `text` names through `crate::`.
fn named_modules(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    text.match_indices("crate::")
        .filter_map(|(at, _)| {
            let name: String = text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            modules.contains(&name).then_some(name)
        })
        .collect()
}

/// Types named by inherent `impl Type {` blocks in `text`.
fn inherent_impls(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("impl ")?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let after = rest[name.len()..].trim_start();
            (!name.is_empty() && (after.starts_with('{') || after.is_empty())).then_some(name)
        })
        .collect()
}

/// Types `text` defines (`pub struct Name`, `pub enum Name`, …).
fn defined_types(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("pub ").unwrap_or(line);
            let rest = line
                .strip_prefix("struct ")
                .or_else(|| line.strip_prefix("enum "))?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// A circle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn slices_stay_out_of_the_wiring_and_modules_form_no_circle() {
    let src = template_dir().join("src");
    let files = rust_files(&src);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|file| module_of(file))
        .map(str::to_owned)
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut owner_of_type: BTreeMap<String, String> = BTreeMap::new();
    let mut impls = Vec::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let text = std::fs::read_to_string(src.join(file)).expect("read a template file");
        let edges = graph.entry(module.to_owned()).or_default();
        edges.extend(
            named_modules(&text, &modules)
                .into_iter()
                .filter(|named| named != module),
        );
        for name in defined_types(&text) {
            owner_of_type.insert(name, module.to_owned());
        }
        impls.extend(
            inherent_impls(&text)
                .into_iter()
                .map(|name| (module.to_owned(), file.clone(), name)),
        );
    }
    let mut problems = Vec::new();
    // `impl Type { … }` in another module makes the type's module depend on this one, which a
    // `use` would not show: count it as an edge back.
    for (module, file, name) in &impls {
        match owner_of_type.get(name) {
            Some(owner) if owner != module => {
                problems.push(format!(
                    "src/{file} adds methods to {name}, a type of `{owner}`: {owner} now \
                     depends on {module} without naming it"
                ));
                graph
                    .entry(owner.clone())
                    .or_default()
                    .insert(module.clone());
            }
            _ => {}
        }
    }
    for slice in SLICE_MODULES {
        for named in graph.get(*slice).into_iter().flatten() {
            if WIRING.contains(&named.as_str()) {
                problems.push(format!(
                    "the slice module `{slice}` names `{named}`, which wires slices together"
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        problems.push(format!("modules form a circle: {}", cycle.join(" -> ")));
    }
    let edges: Vec<String> = graph
        .iter()
        .map(|(module, named)| {
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            format!("{module} -> [{}]", named.join(", "))
        })
        .collect();
    progress(&format!("[structure] module graph: {}", edges.join("; ")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
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

/// The harness's own library (`src/`, every helper the tests share) forms no import circle
/// either: two modules that need each other are one module, or one of them holds something
/// that belongs below both.
#[test]
fn harness_modules_form_no_import_circle() {
    let src = template_dir()
        .parent()
        .expect("the repository holds template/")
        .join("src");
    // src/bin/ holds binaries of their own, not modules of the library.
    let files: Vec<String> = rust_files(&src)
        .into_iter()
        .filter(|file| !file.starts_with("bin/"))
        .collect();
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|file| module_of(file))
        .map(str::to_owned)
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let text = std::fs::read_to_string(src.join(file)).expect("read a harness file");
        let named = named_modules(&text, &modules);
        graph
            .entry(module.to_owned())
            .or_default()
            .extend(named.into_iter().filter(|named| named != module));
    }
    progress(&format!("[structure] harness module graph: {graph:?}"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the harness's modules form a circle: {}. Move what one of them takes from the \
             other into the module it belongs to, below both.",
            cycle.join(" -> ")
        );
    }
}

/// The harness stays readable: no file in `src/` or `tests/` over
/// `source_size::MAX_FILE_LINES` lines (src/update.rs excepted), and no function in `tests/`
/// over `MAX_TEST_FUNCTION_LINES` (tests/update.rs and tests/structure.rs excepted): a test reads
/// as the named steps of its scenario, with the helpers in `src/`.
#[test]
fn harness_files_and_test_functions_stay_small() {
    use template_harness::source_size::{MAX_FILE_LINES, MAX_TEST_FUNCTION_LINES, function_spans};
    let root = template_dir()
        .parent()
        .expect("the repository holds template/")
        .to_path_buf();
    let mut problems = Vec::new();
    let (mut longest_file, mut longest_function) = ((0, String::new()), (0, String::new()));
    for folder in ["src", "tests"] {
        for file in rust_files(&root.join(folder)) {
            let path = format!("{folder}/{file}");
            let text = std::fs::read_to_string(root.join(&path)).expect("read a harness file");
            let lines = text.lines().count();
            if lines > MAX_FILE_LINES && path != "src/update.rs" {
                problems.push(format!(
                    "{path} has {lines} lines (at most {MAX_FILE_LINES}): split it by \
                     scenario, or move helpers to the src/ module they belong to"
                ));
            }
            longest_file = longest_file.max((lines, path.clone()));
            if folder != "tests" || path == "tests/update.rs" || path == "tests/structure.rs" {
                continue;
            }
            for function in function_spans(&text) {
                let place = format!("{path}:{} fn {}", function.line, function.name);
                if function.lines > MAX_TEST_FUNCTION_LINES {
                    problems.push(format!(
                        "{place} has {} lines (at most {MAX_TEST_FUNCTION_LINES}): name its \
                         steps as functions",
                        function.lines
                    ));
                }
                longest_function = longest_function.max((function.lines, place));
            }
        }
    }
    progress(&format!(
        "[structure] longest harness file: {} ({} lines); longest test function: {} ({} lines)",
        longest_file.1, longest_file.0, longest_function.1, longest_function.0
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
