//! What a merge left unmerged, by kind, from `git status --porcelain -z`, and the advice for
//! each kind. In a cherry-pick "us" is the service and "them" the template's change.

use std::fmt::Write as _;

/// The kinds of unmerged path git reports (the `XY` of `git status --porcelain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `UU`: both changed the file.
    BothChanged,
    /// `AA`: both added a file of that name.
    BothAdded,
    /// `UD`: changed here, deleted by the template.
    DeletedByTemplate,
    /// `DU`: deleted here, changed by the template.
    DeletedHere,
    /// `AU`: added here, and the template's side conflicts with it (a rename).
    AddedHere,
    /// `UA`: added by the template, and this side conflicts with it (a rename).
    AddedByTemplate,
    /// `DD`: deleted on both sides (a rename).
    BothDeleted,
}

impl Kind {
    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "UU" => Self::BothChanged,
            "AA" => Self::BothAdded,
            "UD" => Self::DeletedByTemplate,
            "DU" => Self::DeletedHere,
            "AU" => Self::AddedHere,
            "UA" => Self::AddedByTemplate,
            "DD" => Self::BothDeleted,
            _ => return None,
        })
    }

    /// The heading files of this kind are listed under: what happened and what to run.
    pub fn heading(self) -> &'static str {
        match self {
            Self::BothChanged => {
                "both changed (keep what you want between the conflict markers, then `git add`):"
            }
            Self::BothAdded => {
                "added by both, with different contents (merge the two between the markers, \
                 then `git add`):"
            }
            Self::DeletedByTemplate => {
                "changed by you, deleted by the template (`git rm` to take the deletion, or \
                 `git add` to keep your version):"
            }
            Self::DeletedHere => {
                "deleted by you, changed by the template (`git rm` to keep it deleted, or \
                 `git add` to take the template's version):"
            }
            Self::AddedHere | Self::AddedByTemplate => {
                "added on one side while the other renamed or changed it (edit, then `git add`, \
                 or `git rm` to drop it):"
            }
            Self::BothDeleted => "deleted on both sides (`git rm`):",
        }
    }
}

/// One unmerged path, relative to the repository's root.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conflict {
    pub kind: Kind,
    pub path: String,
}

/// The unmerged paths in the output of `git status --porcelain -z`.
pub fn parse_status(status: &str) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    let mut fields = status.split('\0').filter(|field| !field.is_empty());
    while let Some(entry) = fields.next() {
        let (Some(code), Some(path)) = (entry.get(..2), entry.get(3..)) else {
            continue;
        };
        // A rename or copy is followed by its original path, in a field of its own.
        if code.contains(['R', 'C']) {
            fields.next();
        }
        if let Some(kind) = Kind::from_code(code) {
            conflicts.push(Conflict {
                kind,
                path: path.to_owned(),
            });
        }
    }
    conflicts.sort();
    conflicts
}

/// The conflicts grouped under their headings, one path a line.
pub fn report(conflicts: &[Conflict]) -> String {
    let mut text = String::new();
    let mut last = None;
    for conflict in conflicts {
        if last != Some(conflict.kind) {
            let _ = writeln!(text, "  {}", conflict.kind.heading());
            last = Some(conflict.kind);
        }
        let _ = writeln!(text, "    {}", conflict.path);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmerged_entries_are_classified_and_the_rest_ignored() {
        let status = "UU README.md\0M  src/main.rs\0UD deny.toml\0AA NOTES.md\0\
                      R  new.rs\0old.rs\0DU compose.yaml\0?? scratch\0A  added.rs\0";
        let found = parse_status(status);
        let kinds: Vec<(Kind, &str)> = found.iter().map(|c| (c.kind, c.path.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (Kind::BothChanged, "README.md"),
                (Kind::BothAdded, "NOTES.md"),
                (Kind::DeletedByTemplate, "deny.toml"),
                (Kind::DeletedHere, "compose.yaml"),
            ]
        );
    }

    #[test]
    fn paths_with_spaces_and_renames_stay_whole() {
        let status = "R  a b.rs\0c d.rs\0UU docs/my notes.md\0";
        let found = parse_status(status);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "docs/my notes.md");
    }

    #[test]
    fn every_unmerged_code_has_a_kind() {
        for code in ["DD", "AU", "UD", "UA", "DU", "AA", "UU"] {
            assert!(Kind::from_code(code).is_some(), "{code}");
        }
        assert!(Kind::from_code("M ").is_none());
    }

    #[test]
    fn the_report_groups_files_under_their_advice() {
        let conflicts = parse_status("UU a.md\0UD b.toml\0UU c.md\0");
        let text = report(&conflicts);
        let expected = format!(
            "  {}\n    a.md\n    c.md\n  {}\n    b.toml\n",
            Kind::BothChanged.heading(),
            Kind::DeletedByTemplate.heading()
        );
        assert_eq!(text, expected);
        assert!(Kind::DeletedByTemplate.heading().contains("`git rm`"));
        assert!(Kind::BothChanged.heading().contains("`git add`"));
    }
}
