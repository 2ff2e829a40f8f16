//! Roles of the template's source files: core files name no slice, parts name no other part
//! except through pair files, conditions on pairs stay in the wiring, and no import circle.

use super::*;

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
         pair's: {unlisted:?}. Say in tests/structure/main.rs (CORE, WIRING) or src/slices.rs what \
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
