//! Where the template comes from: a git URL, which works from any machine and is recorded in
//! the answers file, or a local path, which works for one run on one machine and is never
//! recorded.

use crate::answers::FILE_NAME;

/// What a source string names, by git's own rule: `scheme://…` is a URL, and so is the scp-like
/// `[user@]host:path` (a colon before any slash); anything else is a path on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Url,
    Path,
}

pub fn classify(source: &str) -> Kind {
    if let Some((scheme, _)) = source.split_once("://") {
        let valid = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            return Kind::Url;
        }
    }
    match (source.find(':'), source.find('/')) {
        (Some(colon), Some(slash)) if colon < slash => Kind::Url,
        (Some(colon), None) if colon > 0 => Kind::Url,
        _ => Kind::Path,
    }
}

/// The source this run uses, what the answers file records after it, and what to warn about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// What git clones: the `--source` given, or else the recorded one.
    pub location: String,
    /// The source to record: a URL given now, or else what was recorded (possibly nothing).
    pub record: String,
    pub warnings: Vec<String>,
}

/// Chooses the source from `--source` (`given`) and the answers file (`recorded`). `origin` is
/// the URL of a given local clone's `origin` remote, if it has one, to suggest instead.
pub fn choose(given: Option<&str>, recorded: &str, origin: Option<&str>) -> anyhow::Result<Chosen> {
    let mut warnings = Vec::new();
    let chosen = match given {
        Some(given) if classify(given) == Kind::Url => Chosen {
            location: given.to_owned(),
            record: given.to_owned(),
            warnings: Vec::new(),
        },
        Some(given) => {
            warnings.push(not_recorded(given, origin));
            Chosen {
                location: given.to_owned(),
                record: recorded.to_owned(),
                warnings: Vec::new(),
            }
        }
        None if recorded.is_empty() => anyhow::bail!(
            "{FILE_NAME} records no template source: pass --source <the template's git URL> \
             (it is recorded for the next runs)"
        ),
        None => Chosen {
            location: recorded.to_owned(),
            record: recorded.to_owned(),
            warnings: Vec::new(),
        },
    };
    if !chosen.record.is_empty() && classify(&chosen.record) == Kind::Path {
        warnings.push(recorded_path(&chosen.record));
    }
    Ok(Chosen { warnings, ..chosen })
}

fn not_recorded(path: &str, origin: Option<&str>) -> String {
    let instead = match origin {
        Some(origin) => format!(" (this clone's origin is {origin})"),
        None => String::new(),
    };
    format!(
        "--source {path} is a local path: it is used for this run, but it is not recorded in \
         {FILE_NAME}, since CI and other machines cannot reach it. Pass the template's git URL \
         instead (https://…, ssh://… or git@host:…){instead}: a git URL is recorded, and later \
         runs need no --source."
    )
}

fn recorded_path(path: &str) -> String {
    format!(
        "{FILE_NAME} records a local path as the template's source: {path}. Only this machine \
         can reach it; CI's weekly `cargo template-update --check` cannot. Record the \
         template's git URL instead: run `cargo template-update --source <git URL>` once."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart_as_git_does() {
        for url in [
            "https://github.com/acme/template.git",
            "http://git.example.com/template",
            "ssh://git@example.com:2222/acme/template.git",
            "git://example.com/template",
            "file:///srv/git/template",
            "git@github.com:acme/template.git",
            "example.com:template",
        ] {
            assert_eq!(classify(url), Kind::Url, "{url}");
        }
        for path in [
            "/home/me/template-src",
            "./template-src",
            "template-src",
            "../a:b",
            ":nothing",
            "",
        ] {
            assert_eq!(classify(path), Kind::Path, "{path}");
        }
    }

    #[test]
    fn a_given_url_is_used_and_recorded() {
        let chosen = choose(Some("https://example.com/t.git"), "", None).expect("chosen");
        assert_eq!(chosen.location, "https://example.com/t.git");
        assert_eq!(chosen.record, "https://example.com/t.git");
        assert!(chosen.warnings.is_empty());
    }

    #[test]
    fn a_given_path_is_used_not_recorded_and_warned_about() {
        let chosen = choose(
            Some("/home/me/t"),
            "https://example.com/t.git",
            Some("git@example.com:t.git"),
        )
        .expect("chosen");
        assert_eq!(chosen.location, "/home/me/t");
        assert_eq!(chosen.record, "https://example.com/t.git");
        assert_eq!(chosen.warnings.len(), 1);
        assert!(chosen.warnings[0].contains("not recorded"));
        assert!(chosen.warnings[0].contains("git@example.com:t.git"));
    }

    #[test]
    fn a_recorded_path_is_warned_about_on_every_run() {
        let chosen = choose(None, "/home/me/t", None).expect("chosen");
        assert_eq!(chosen.location, "/home/me/t");
        assert_eq!(chosen.warnings.len(), 1);
        assert!(chosen.warnings[0].contains("records a local path"));
        // A URL given now replaces it: nothing to warn about.
        let replaced =
            choose(Some("https://example.com/t.git"), "/home/me/t", None).expect("chosen");
        assert!(replaced.warnings.is_empty());
        // A path given now leaves the recorded path in place: both warnings.
        let both = choose(Some("/elsewhere"), "/home/me/t", None).expect("chosen");
        assert_eq!(both.warnings.len(), 2);
    }

    #[test]
    fn no_source_at_all_is_an_error_naming_the_option() {
        let error = choose(None, "", None).expect_err("no source").to_string();
        assert!(error.contains("--source"), "{error}");
    }
}
