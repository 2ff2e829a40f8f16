//! The shape of the template's Rust code, read from `template/` itself (no render needed):
//! Liquid only around whole lines and mostly in the wiring, core files that name no slice,
//! slice modules that name no other slice except through the files a pair of slices brings,
//! modules that form no import circle, short functions and files, generated code that carries
//! none of this repository's history, and one declaration of the slice list.
//!
//! Liquid tags do not change which modules a file names, so the template's files are read as
//! they are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use template_harness::files::list_files;
use template_harness::render::{repo_root, template_dir};
use template_harness::report::progress;
use template_harness::slices::{COMBINED_FILES, SLICE_FILES, SLICES};

/// Files of `template/src` that every request or setting goes through (a folder ends in `/`).
/// They name no slice: a slice is added or removed without touching them.
const CORE: &[&str] = &["error.rs", "http.rs", "server.rs", "config/"];

/// Files of `template/src` that put the parts together. They name the parts; nothing else may
/// name them, or a part could not be added or removed on its own, and would form a circle with
/// them.
const WIRING: &[&str] = &[
    "lib.rs",
    "main.rs",
    "cli.rs",
    "startup.rs",
    "state.rs",
    "telemetry.rs",
];

/// At most this share of a file's lines may hold a Liquid tag, except in the wiring, whose lists
/// of parts are Liquid by nature.
const MOST_TAGGED_SHARE: f64 = 0.15;

/// Longest function and longest file, in lines, in the template's Rust code.
const LONGEST_FUNCTION: usize = 80;
const LONGEST_FILE: usize = 700;

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

/// What a file of `template/src` is to the service.
#[derive(Clone, Debug, PartialEq)]
enum Role {
    Core,
    Wiring,
    /// Owned by one slice: present if and only if it is on.
    Slice(&'static str),
    /// Brought by a pair of slices (`src/slices.rs`'s `COMBINED_FILES`): the glue between them.
    Pair(Vec<&'static str>),
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Role::Core => f.write_str("core"),
            Role::Wiring => f.write_str("wiring"),
            Role::Slice(slice) => write!(f, "the {slice} slice's"),
            Role::Pair(slices) => write!(f, "the {} pair's", slices.join("+")),
        }
    }
}

/// The role of `file` (relative to `template/src`), or `None` when no list names it.
fn role_of(file: &str) -> Option<Role> {
    let path = format!("src/{file}");
    let listed = |entry: &str| match entry.strip_suffix('/') {
        Some(folder) => path.starts_with(&format!("{folder}/")),
        None => entry == path,
    };
    if WIRING.contains(&file) {
        return Some(Role::Wiring);
    }
    if let Some((_, all_of, any_of)) = COMBINED_FILES.iter().find(|(entry, _, _)| listed(entry)) {
        return Some(Role::Pair(all_of.iter().chain(*any_of).copied().collect()));
    }
    if let Some((slice, _)) = SLICE_FILES
        .iter()
        .find(|(_, owned)| owned.iter().any(|entry| listed(entry)))
    {
        return Some(Role::Slice(slice));
    }
    let core = CORE.iter().any(|entry| match entry.strip_suffix('/') {
        Some(folder) => file.starts_with(&format!("{folder}/")),
        None => *entry == file,
    });
    core.then_some(Role::Core)
}

/// The role of each top-level module of `files`: that of its `name.rs` or `name/mod.rs`.
fn module_roles(files: &[String]) -> BTreeMap<String, Role> {
    files
        .iter()
        .filter_map(|file| {
            let module = module_of(file)?;
            let is_root = *file == format!("{module}.rs") || *file == format!("{module}/mod.rs");
            Some((module.to_owned(), role_of(file).filter(|_| is_root)?))
        })
        .collect()
}

#[test]
fn every_source_file_has_a_role() {
    let files = rust_files(&template_dir().join("src"));
    let unlisted: Vec<&String> = files
        .iter()
        .filter(|file| role_of(file).is_none())
        .collect();
    assert!(
        unlisted.is_empty(),
        "files of template/src that are neither core, wiring, a slice's (src/slices.rs) nor a \
         pair's: {unlisted:?}. Say in tests/structure.rs (CORE, WIRING) or src/slices.rs what \
         each one is."
    );
}

#[test]
fn core_and_parts_name_no_other_part_and_no_wiring() {
    let src = template_dir().join("src");
    let files = rust_files(&src);
    let roles = module_roles(&files);
    let modules: BTreeSet<String> = roles.keys().cloned().collect();
    let mut problems = Vec::new();
    for file in &files {
        let Some(role) = role_of(file) else { continue };
        let text = std::fs::read_to_string(src.join(file)).expect("read a template file");
        let own = module_of(file).unwrap_or_default();
        for named in named_modules(&text, &modules) {
            let named_role = &roles[&named];
            let allowed = named == own
                || *named_role == Role::Core
                || match (&role, named_role) {
                    (Role::Wiring, _) => true,
                    (Role::Slice(slice), Role::Slice(other)) => slice == other,
                    (Role::Pair(slices), Role::Slice(other)) => slices.contains(other),
                    _ => false,
                };
            if !allowed {
                problems.push(format!(
                    "src/{file} ({role}) names `crate::{named}` ({named_role})"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "core files name only core modules, and a slice's module names only the core and its \
         own slice: glue between two slices goes in a file the pair brings (`[conditional]` in \
         template/cargo-generate.toml, COMBINED_FILES in src/slices.rs), listed by the wiring \
         ({WIRING:?}):\n{}",
        problems.join("\n")
    );
}

/// The Liquid conditions of `line` that need two slices or more at once.
fn pair_condition(line: &str) -> Option<&str> {
    let start = line.find("{%")?;
    let end = line[start..].find("%}")? + start + 2;
    let tag = &line[start..end];
    let words: Vec<&str> = tag.split_whitespace().collect();
    let is_condition = words
        .iter()
        .any(|word| matches!(*word, "if" | "elsif" | "unless"));
    (is_condition && words.contains(&"and")).then_some(tag)
}

#[test]
fn conditions_on_pairs_of_slices_stay_in_the_wiring() {
    let src = template_dir().join("src");
    let mut problems = Vec::new();
    for file in rust_files(&src) {
        if WIRING.contains(&file.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(src.join(&file)).expect("read a template file");
        for (index, line) in text.lines().enumerate() {
            if let Some(tag) = pair_condition(line) {
                problems.push(format!("src/{file}:{}: {tag}", index + 1));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a condition on two slices outside the wiring ({WIRING:?}): put what the pair does in a \
         file the pair brings, and let the wiring list it:\n{}",
        problems.join("\n")
    );
}

#[test]
fn modules_form_no_circle() {
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
        let marker = if file.starts_with("Cargo.toml") { "#" } else { "//" };
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
