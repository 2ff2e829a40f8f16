//! The command line.

use clap::Parser;

use crate::answers::Define;

/// Takes template updates into this service: run it in the service's folder (a repository's
/// root or a folder of a monorepo), in a clean git tree.
#[derive(Debug, Parser)]
#[command(name = "cargo template-update", version, about)]
pub struct Args {
    /// The template repository: its git URL (recorded for later runs), or a local clone (used
    /// for this run only). Default: the one recorded in .template-answers.toml.
    #[arg(long, value_name = "GIT URL or PATH")]
    pub source: Option<String>,
    /// The template revision to go to: a commit, branch or tag. Default: the head of the
    /// source's default branch, or the service's own revision when `-d` changes answers (to
    /// switch a slice without taking other changes).
    #[arg(long, value_name = "REVISION")]
    pub to: Option<String>,
    /// The revision the service was rendered from, when neither the answers file nor the
    /// service's first commit tells it.
    #[arg(long, value_name = "REVISION")]
    pub from: Option<String>,
    /// Change an answer, e.g. `-d kubernetes=true` or `-d database=false`.
    #[arg(
        short = 'd',
        long = "define",
        value_name = "KEY=VALUE",
        conflicts_with = "check"
    )]
    pub defines: Vec<Define>,
    /// Only say whether the service is behind the newest template revision (or `--to`'s), and
    /// what the changelog says changed: exit 0 when up to date, 1 when behind. Changes nothing,
    /// so it takes no `-d`.
    #[arg(long)]
    pub check: bool,
}

/// The arguments. As `cargo template-update`, cargo passes the subcommand's name first.
pub fn parse() -> Args {
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("template-update") {
        args.remove(1);
    }
    Args::parse_from(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_and_defines_exclude_each_other() {
        let error =
            Args::try_parse_from(["x", "--check", "-d", "otel=true"]).expect_err("--check with -d");
        let text = error.to_string();
        assert!(
            text.contains("--check") && text.contains("--define"),
            "{text}"
        );
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn defines_are_parsed_as_key_value() {
        let args = Args::try_parse_from(["x", "-d", "kubernetes=true", "--define", "port=9090"])
            .expect("valid");
        let keys: Vec<&str> = args.defines.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["kubernetes", "port"]);
        assert!(Args::try_parse_from(["x", "-d", "kubernetes"]).is_err());
    }
}
