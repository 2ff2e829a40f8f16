//! The harness's own shape: no import circle, small files and test functions.

use super::*;

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
/// over `MAX_TEST_FUNCTION_LINES` (tests/update/ and tests/structure/ excepted): a test reads
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
            if folder != "tests"
                || path.starts_with("tests/update/")
                || path.starts_with("tests/structure/")
            {
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
