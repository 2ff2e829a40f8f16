//! The shape of the template's Rust code, read from `template/` itself (no render needed):
//! Liquid only around whole lines and mostly in the wiring, core files that name no slice,
//! slice modules that name no other slice except through the files a pair of slices brings,
//! modules that form no import circle, short functions and files, generated code that carries
//! none of this repository's history, and one declaration of the slice list.
//!
//! Liquid tags do not change which modules a file names, so the template's files are read as
//! they are.

mod harness;
mod history;
mod liquid;
mod modules;
mod size;
mod slices;

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
