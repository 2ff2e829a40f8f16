//! Slice combinations ([`Combo`]), the covering sets the harness renders, rendering one
//! ([`render_combo`]), and what a render of a combination must hold according to the slice
//! table in [`crate::slices`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::files::list_files;
use crate::render::{Generate, Render, repo_root, template_dir};
use crate::slices::{
    ALWAYS_FILES, COMBINED_FILES, CORE_DEPS, SLICE_DEPS, SLICE_FILES, SLICE_OFF_FILES, SLICES,
};

/// Which slices are on, in the order of [`SLICES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Combo(pub [bool; SLICES.len()]);

impl Combo {
    pub const ALL_ON: Combo = Combo([true; SLICES.len()]);
    pub const ALL_OFF: Combo = Combo([false; SLICES.len()]);

    /// All 2^12 = 4096 combinations, all-off first.
    pub fn all() -> Vec<Combo> {
        let n = SLICES.len();
        (0..1u32 << n)
            .map(|bits| Combo(std::array::from_fn(|i| bits & (1 << (n - 1 - i)) != 0)))
            .collect()
    }

    /// A covering set: every pair of slices takes all four on/off states in some combination.
    /// Below the all-off row, no two slices' columns are disjoint or nested, so every pair is
    /// on together somewhere and each is on without the other somewhere. Seven rows can hold up
    /// to fifteen such columns, but no twelfth one fits the eleven chosen before `catalog` (a
    /// search of all 63 found none), so it brought an eighth row: health, kubernetes and
    /// catalog. The seventh row has only the two observability slices on (traces
    /// without logs, metrics without a database). `pairwise_set_covers_every_pair` in
    /// tests/render.rs checks the property.
    pub fn pairwise() -> Vec<Combo> {
        [
            "000000000000",
            "111001011011",
            "110100110100",
            "101010101101",
            "010111001100",
            "001111110010",
            "000000000110",
            "000100010001",
        ]
        .into_iter()
        .map(Combo::from_bits)
        .collect()
    }

    /// The combinations tests/build.rs builds: the pairwise set, all-on and all-off, each once.
    pub fn covering() -> Vec<Combo> {
        let mut combos = vec![Combo::ALL_ON];
        for combo in Combo::pairwise().into_iter().chain([Combo::ALL_OFF]) {
            if !combos.contains(&combo) {
                combos.push(combo);
            }
        }
        combos
    }

    /// Every combination of `slices`, the other slices off; the first slice named is the
    /// lowest bit of the counting order.
    pub fn every_setting_of(slices: &[&str]) -> Vec<Combo> {
        (0..1u32 << slices.len())
            .map(|n| {
                Combo(std::array::from_fn(|i| {
                    slices
                        .iter()
                        .position(|s| *s == SLICES[i])
                        .is_some_and(|bit| n & (1 << bit) != 0)
                }))
            })
            .collect()
    }

    /// Every slice on but `off`.
    pub fn all_on_but(off: &[&str]) -> Combo {
        Combo(std::array::from_fn(|i| !off.contains(&SLICES[i])))
    }

    /// `"101101001010"` -> config on, logging off, shutdown on, health on, database off, docker
    /// on, compose off, kubernetes off, ci on, metrics off, otel on, catalog off (the order of
    /// [`SLICES`]).
    pub fn from_bits(bits: &str) -> Combo {
        assert_eq!(
            bits.len(),
            SLICES.len(),
            "a combination has one bit per slice ({}): {bits}",
            SLICES.join(", ")
        );
        Combo(std::array::from_fn(|i| &bits[i..=i] == "1"))
    }

    /// The slice combination a values file (`[values]`, as examples/*.toml) selects. It must
    /// name every slice: defaults differ (kubernetes is off), and a preset should not change
    /// meaning when one does.
    pub fn of_values_file(values_file: &Path) -> Combo {
        let text = std::fs::read_to_string(values_file).expect("read values file");
        let table: toml::Table = text.parse().expect("values file parses");
        let values = table
            .get("values")
            .and_then(|v| v.as_table())
            .unwrap_or_else(|| panic!("{} has no [values] table", values_file.display()));
        Combo(std::array::from_fn(|i| {
            let value = values.get(SLICES[i]).unwrap_or_else(|| {
                panic!(
                    "{} does not set `{}`: presets name every slice",
                    values_file.display(),
                    SLICES[i]
                )
            });
            value
                .as_bool()
                .unwrap_or_else(|| panic!("{} = {value} is not a bool", SLICES[i]))
        }))
    }

    pub fn bits(&self) -> String {
        self.0
            .iter()
            .map(|&on| if on { '1' } else { '0' })
            .collect()
    }

    pub fn is_on(&self, slice: &str) -> bool {
        let index = SLICES
            .iter()
            .position(|s| *s == slice)
            .unwrap_or_else(|| panic!("unknown slice `{slice}`"));
        self.0[index]
    }

    /// `config=on logging=off shutdown=on health=on database=off docker=on compose=off`
    pub fn label(&self) -> String {
        SLICES
            .iter()
            .zip(self.0)
            .map(|(slice, on)| format!("{slice}={}", if on { "on" } else { "off" }))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `-d key=value` pairs selecting this combination.
    pub fn defines(&self) -> Vec<(String, String)> {
        SLICES
            .iter()
            .zip(self.0)
            .map(|(slice, on)| (slice.to_string(), on.to_string()))
            .collect()
    }

    /// A project name for a render of this combination, e.g. `combo-101101001`.
    pub fn project_name(&self) -> String {
        format!("combo-{}", self.bits())
    }

    /// Every file a render of this combination must hold, and no other.
    pub fn expected_files(&self) -> BTreeSet<String> {
        let mut files: BTreeSet<String> = ALWAYS_FILES.iter().map(|f| f.to_string()).collect();
        for (slice, owned) in SLICE_FILES {
            if !self.is_on(slice) {
                continue;
            }
            for entry in *owned {
                match entry.strip_suffix('/') {
                    Some(folder) => {
                        let in_template = template_dir().join(folder);
                        if in_template.is_dir() {
                            for file in list_files(&in_template) {
                                files.insert(format!("{folder}/{file}"));
                            }
                        }
                    }
                    None => {
                        files.insert(entry.to_string());
                    }
                }
            }
        }
        for (slice, owned) in SLICE_OFF_FILES {
            if !self.is_on(slice) {
                files.extend(owned.iter().map(|file| file.to_string()));
            }
        }
        for (file, all_of, any_of) in COMBINED_FILES {
            if all_of.iter().all(|s| self.is_on(s)) && any_of.iter().any(|s| self.is_on(s)) {
                files.insert(file.to_string());
            }
        }
        files
    }
}

/// Renders `combo` under `name` with the template's defaults for everything else.
pub fn render_combo(name: &str, combo: Combo) -> Render {
    Generate::new()
        .name(name)
        .defines(&combo.defines())
        .render()
}

/// Every examples/*.toml (a preset of values), by name, sorted.
pub fn preset_files() -> Vec<(String, PathBuf)> {
    let dir = repo_root().join("examples");
    let mut presets: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("read examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    presets.sort();
    presets
}

/// Says which pairs of slices miss which on/off states in `combos`, or nothing.
pub fn missing_pairs(combos: &[Combo]) -> Vec<String> {
    let mut missing = Vec::new();
    for (a, first) in SLICES.iter().enumerate() {
        for (b, second) in SLICES.iter().enumerate().skip(a + 1) {
            for (va, vb) in [(false, false), (false, true), (true, false), (true, true)] {
                if !combos.iter().any(|c| c.0[a] == va && c.0[b] == vb) {
                    missing.push(format!("{first}={va} {second}={vb}"));
                }
            }
        }
    }
    missing
}

/// Differences between the files in `dir` and the files `combo` must produce.
pub fn file_set_problems(dir: &Path, combo: Combo) -> Vec<String> {
    let actual = list_files(dir);
    let expected = combo.expected_files();
    let mut problems = Vec::new();
    for missing in expected.difference(&actual) {
        problems.push(format!("missing file {missing}"));
    }
    for extra in actual.difference(&expected) {
        problems.push(format!(
            "unexpected file {extra} (add it to src/slices.rs if it belongs)"
        ));
    }
    problems
}

/// Names of the direct dependencies in a Cargo.toml: `[dependencies]` (including target
/// tables) and `[dev-dependencies]` separately.
pub fn dependency_names(manifest: &toml::Table) -> (BTreeSet<String>, BTreeSet<String>) {
    fn names(table: Option<&toml::Value>) -> impl Iterator<Item = String> + '_ {
        table
            .and_then(|t| t.as_table())
            .into_iter()
            .flat_map(|t| t.keys().cloned())
    }
    let mut deps: BTreeSet<String> = names(manifest.get("dependencies")).collect();
    deps.extend(names(manifest.get("build-dependencies")));
    let mut dev: BTreeSet<String> = names(manifest.get("dev-dependencies")).collect();
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for target in targets.values() {
            deps.extend(names(target.get("dependencies")));
            deps.extend(names(target.get("build-dependencies")));
            dev.extend(names(target.get("dev-dependencies")));
        }
    }
    (deps, dev)
}

/// Parses the render's Cargo.toml and compares its dependencies with the slice table.
pub fn dependency_problems(dir: &Path, combo: Combo) -> Vec<String> {
    let text = match std::fs::read_to_string(dir.join("Cargo.toml")) {
        Ok(text) => text,
        Err(e) => return vec![format!("cannot read Cargo.toml: {e}")],
    };
    let manifest: toml::Table = match text.parse() {
        Ok(m) => m,
        Err(e) => return vec![format!("Cargo.toml does not parse: {e}\n{text}")],
    };
    let (deps, dev) = dependency_names(&manifest);
    let all: BTreeSet<&String> = deps.iter().chain(&dev).collect();
    let mut problems = Vec::new();
    for core in CORE_DEPS {
        if !all.contains(&core.to_string()) {
            problems.push(format!("core dependency {core} is missing"));
        }
    }
    for (dep, owners) in SLICE_DEPS {
        let wanted = owners.iter().any(|s| combo.is_on(s));
        let present = all.contains(&dep.to_string());
        if wanted && !present {
            problems.push(format!(
                "dependency {dep} is missing (owned by {})",
                owners.join("/")
            ));
        }
        if !wanted && present {
            problems.push(format!(
                "dependency {dep} is present although {} is off",
                owners.join("/")
            ));
        }
    }
    for dep in &deps {
        let known = CORE_DEPS.contains(&dep.as_str()) || SLICE_DEPS.iter().any(|(d, _)| d == dep);
        if !known {
            problems.push(format!(
                "dependency {dep} is in no slice's list (add it to src/slices.rs)"
            ));
        }
    }
    problems
}
