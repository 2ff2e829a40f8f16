//! The template's version and what each release changed: `CHANGELOG.md` at the repository's
//! root, in the Keep a Changelog form (`## [X.Y.Z] - DATE` per release, newest first, and an
//! optional `## [Unreleased]`). Its newest release heading is the template's version. Commits
//! made before the changelog existed declare their version in `hooks/answers.rhai` only.

use semver::Version;

/// The changelog's path in the template repository.
pub const FILE: &str = "CHANGELOG.md";

/// Where commits older than the changelog declare their version: `fn version() { "X" }`.
pub const LEGACY_FILE: &str = "hooks/answers.rhai";

/// One `## [...]` section: its heading line and the text up to the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `None` for `## [Unreleased]`.
    pub version: Option<Version>,
    /// The heading as written, e.g. `## [0.10.0] - 2026-12-07`.
    pub heading: String,
    /// The lines under the heading, trimmed of blank lines at both ends.
    pub body: String,
}

/// The entries of a changelog, in the order written.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut current: Option<(String, Option<Version>, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some(name) = heading_name(line) {
            entries.extend(current.take().map(finish));
            let version = Version::parse(name).ok();
            let unreleased = name.eq_ignore_ascii_case("unreleased");
            if version.is_some() || unreleased {
                current = Some((line.trim_end().to_owned(), version, Vec::new()));
            }
        } else if line.starts_with("# ") || line.starts_with("## ") {
            // A heading of another kind ends the entry (link definitions stay with it).
            entries.extend(current.take().map(finish));
        } else if is_link_definition(line) {
            // `[0.10.0]: https://…` links the headings; it belongs to no entry.
        } else if let Some((_, _, body)) = &mut current {
            body.push(line);
        }
    }
    entries.extend(current.map(finish));
    entries
}

/// `0.10.0` in `## [0.10.0] - 2026-12-07`, `Unreleased` in `## [Unreleased]`.
fn heading_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("## [")?;
    let end = rest.find(']')?;
    Some(rest[..end].trim())
}

fn is_link_definition(line: &str) -> bool {
    line.starts_with('[') && line.contains("]: ")
}

fn finish((heading, version, body): (String, Option<Version>, Vec<&str>)) -> Entry {
    let body = body.join("\n").trim_matches('\n').trim_end().to_owned();
    Entry {
        version,
        heading,
        body,
    }
}

/// The newest release: the highest version among the entries.
pub fn newest_release(entries: &[Entry]) -> Option<&Version> {
    entries
        .iter()
        .filter_map(|entry| entry.version.as_ref())
        .max()
}

/// The releases a service at version `from` lacks, up to `to`: newest first.
pub fn between<'a>(entries: &'a [Entry], from: &Version, to: &Version) -> Vec<&'a Entry> {
    let mut releases: Vec<&Entry> = entries
        .iter()
        .filter(|entry| {
            entry
                .version
                .as_ref()
                .is_some_and(|version| version > from && version <= to)
        })
        .collect();
    releases.sort_by(|a, b| b.version.cmp(&a.version));
    releases
}

/// The `## [Unreleased]` entry, when it says anything.
pub fn unreleased(entries: &[Entry]) -> Option<&Entry> {
    entries
        .iter()
        .find(|entry| entry.version.is_none() && !entry.body.is_empty())
}

/// The version in the text of [`LEGACY_FILE`], as commits before the changelog declared it.
/// Those commits no longer change, so reading their one form is enough.
pub fn legacy_version(text: &str) -> Option<String> {
    let line = text
        .lines()
        .find(|line| line.trim_start().starts_with("fn version()"))?;
    let start = line.find('"')? + 1;
    let end = start + line[start..].find('"')?;
    Some(line[start..end].to_owned())
}

/// An entry as printed by `--check`.
pub fn show(entry: &Entry) -> String {
    if entry.body.is_empty() {
        entry.heading.clone()
    } else {
        format!("{}\n\n{}", entry.heading, entry.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGELOG: &str = "# Changelog\n\nAll notable changes.\n\n\
        ## [Unreleased]\n\n- Nothing yet.\n\n\
        ## [0.10.0] - 2026-12-07\n\n### Changed\n\n- Updates sync Cargo.lock.\n\n\
        By hand: nothing.\n\n\
        ## [0.9.1-rc.1] - 2026-12-03\n\n- A candidate.\n\n\
        ## [0.9.0] - 2026-12-02\n\n### Added\n\n- The answers file.\n\n\
        [0.10.0]: https://example.com/compare/0.9.0...0.10.0\n";

    fn version(text: &str) -> Version {
        Version::parse(text).expect("a version")
    }

    #[test]
    fn parses_headings_versions_and_bodies() {
        let entries = parse(CHANGELOG);
        let headings: Vec<&str> = entries.iter().map(|e| e.heading.as_str()).collect();
        assert_eq!(
            headings,
            [
                "## [Unreleased]",
                "## [0.10.0] - 2026-12-07",
                "## [0.9.1-rc.1] - 2026-12-03",
                "## [0.9.0] - 2026-12-02"
            ]
        );
        assert_eq!(entries[0].version, None);
        assert_eq!(
            entries[1].body,
            "### Changed\n\n- Updates sync Cargo.lock.\n\nBy hand: nothing."
        );
        assert_eq!(entries[3].body, "### Added\n\n- The answers file.");
    }

    #[test]
    fn the_newest_release_is_the_highest_version() {
        let entries = parse(CHANGELOG);
        assert_eq!(newest_release(&entries), Some(&version("0.10.0")));
        assert_eq!(newest_release(&parse("# Changelog\n")), None);
        // Order in the file does not matter.
        let shuffled = "## [0.9.0] - x\n\n## [0.10.0] - y\n";
        assert_eq!(newest_release(&parse(shuffled)), Some(&version("0.10.0")));
    }

    #[test]
    fn between_takes_what_the_service_lacks_newest_first() {
        let entries = parse(CHANGELOG);
        let found: Vec<&str> = between(&entries, &version("0.9.0"), &version("0.10.0"))
            .iter()
            .map(|e| e.heading.as_str())
            .collect();
        assert_eq!(
            found,
            ["## [0.10.0] - 2026-12-07", "## [0.9.1-rc.1] - 2026-12-03"]
        );
        assert!(between(&entries, &version("0.10.0"), &version("0.10.0")).is_empty());
        let up_to_candidate = between(&entries, &version("0.9.0"), &version("0.9.1-rc.1"));
        assert_eq!(up_to_candidate.len(), 1);
    }

    #[test]
    fn unreleased_is_found_only_with_text() {
        assert_eq!(
            unreleased(&parse(CHANGELOG)).map(|e| e.body.as_str()),
            Some("- Nothing yet.")
        );
        assert_eq!(unreleased(&parse("## [Unreleased]\n\n## [1.0.0]\n")), None);
    }

    #[test]
    fn headings_that_are_not_versions_are_skipped() {
        let entries = parse("## [not a version]\n\ntext\n\n## [1.2.3]\n\nmore\n");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].body, "more");
    }

    #[test]
    fn the_legacy_declaration_is_read() {
        let rhai = "// The version.\nfn version() { \"0.9.0\" }\n\nfn file_name() { \"x\" }\n";
        assert_eq!(legacy_version(rhai).as_deref(), Some("0.9.0"));
        assert_eq!(legacy_version("fn other() { \"1\" }\n"), None);
    }
}
