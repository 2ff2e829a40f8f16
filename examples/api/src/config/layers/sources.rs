//! The providers `Config::load` merges, one per layer. Each value keeps the name of where it came
//! from (`environment variable API_SERVICE_HTTP__BODY_LIMIT_BYTES`, `TOML file app.toml`), so
//! an error can name its source without quoting the value.

use std::path::Path;

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::ENV_PREFIX;

/// The variables platforms set themselves, and the key each sets.
const PLATFORM_VARIABLES: &[(&str, &str)] = &[
    // Heroku, Cloud Run, Fly and Render set `PORT`.
    ("PORT", "port"),
];

/// Keys that hold secrets. Their values are taken as text exactly as given, where other values
/// are parsed (figment would read a password `007` as the number 7), and `config` prints them
/// as `[REDACTED]`.
const SECRET_KEYS: &[&str] = &[
    // Give each one's field `#[serde(with = "secret")]` as well.
];

/// The TOML file `API_SERVICE_CONFIG_PATH` names, if it names one. A syntax error is reported
/// by line and column: the TOML parser's own message quotes the line, which may hold a secret.
pub fn config_file() -> anyhow::Result<Figment> {
    let variable = format!("{ENV_PREFIX}CONFIG_PATH");
    let Some(path) = std::env::var_os(&variable) else {
        return Ok(Figment::new());
    };
    let path = Path::new(&path);
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{variable} names a file that cannot be read"))?;
    if let Err(error) = text.parse::<toml::Table>() {
        let at = error.span().map_or_else(String::new, |span| {
            let line = text[..span.start].matches('\n').count() + 1;
            let column = span.start - text[..span.start].rfind('\n').map_or(0, |at| at + 1) + 1;
            format!(" at line {line}, column {column}")
        });
        anyhow::bail!(
            "the TOML file {variable} names is not valid TOML{at}: {}",
            error.message()
        );
    }
    let source = format!("TOML file {}", path.display());
    Ok(Figment::from(Sourced::at(Toml::string(&text), source)))
}

/// Those of the platform's variables that are set.
pub fn platform_variables() -> Figment {
    PLATFORM_VARIABLES
        .iter()
        .filter_map(|&(variable, key)| {
            let text = std::env::var(variable).ok()?;
            let value = Serialized::default(key, parsed(key, &text));
            Some(Sourced::at(
                value,
                format!("environment variable {variable}"),
            ))
        })
        .fold(Figment::new(), Figment::merge)
}

/// `API_SERVICE_*` variables, but the config file's path, `*_FILE` variables and secrets.
pub fn prefixed_variables() -> impl Provider {
    let variables = Env::prefixed(ENV_PREFIX)
        .ignore(&["CONFIG_PATH"])
        .filter(|name| {
            key_of_file_variable(name.as_str()).is_none()
                && !is_secret(&key_of_variable(name.as_str()))
        })
        .split("__");
    Sourced::new(variables, |key| {
        format!("environment variable {}", variable_of_key(key))
    })
}

/// Secrets set by `API_SERVICE_*` variables, as text.
pub fn secret_variables() -> Figment {
    std::env::vars_os()
        .filter_map(|(name, value)| {
            let (name, value) = (name.into_string().ok()?, value.into_string().ok()?);
            let key = key_of_variable(name.strip_prefix(ENV_PREFIX)?);
            is_secret(&key).then(|| {
                let value = Serialized::default(&key, value);
                Sourced::at(value, format!("environment variable {name}"))
            })
        })
        .fold(Figment::new(), Figment::merge)
}

/// `API_SERVICE_<KEY>_FILE=/path` sets `<KEY>` to the contents of that file, less its trailing
/// newline: parsed like a variable, or as text for secrets.
pub fn file_variables() -> anyhow::Result<Figment> {
    let files = Env::prefixed(ENV_PREFIX)
        .filter_map(|name| key_of_file_variable(name.as_str()).map(Into::into))
        .split("__");
    let mut figment = Figment::new();
    for (key, path) in files.iter() {
        let key_path: Vec<&str> = key.as_str().split('.').collect();
        let variable = format!("{}_FILE", variable_of_key(&key_path));
        let contents = std::fs::read_to_string(&path)
            .with_context(|| format!("{variable} names a file that cannot be read"))?;
        let text = contents.trim_end_matches(['\r', '\n']);
        let value = Serialized::default(key.as_str(), parsed(key.as_str(), text));
        figment = figment.merge(Sourced::at(value, format!("the file {variable} names")));
    }
    Ok(figment)
}

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// A variable's text as the value of `key`: parsed like figment parses variables (`8080` is a
/// number, `true` a boolean), except for secrets, which stay text exactly as given.
fn parsed(key: &str, text: &str) -> Value {
    if is_secret(key) {
        Value::from(text.to_owned())
    } else {
        let Ok(value) = text.parse::<Value>();
        value
    }
}

/// `HTTP__BODY_LIMIT_BYTES` (prefix removed) sets the key `http.body_limit_bytes`.
fn key_of_variable(name: &str) -> String {
    name.replace("__", ".").to_ascii_lowercase()
}

/// The key `["http", "body_limit_bytes"]` is set by `API_SERVICE_HTTP__BODY_LIMIT_BYTES`.
fn variable_of_key(key: &[&str]) -> String {
    format!("{ENV_PREFIX}{}", key.join("__").to_ascii_uppercase())
}

/// `HTTP__BODY_LIMIT_BYTES_FILE` (prefix removed) names the file for
/// `HTTP__BODY_LIMIT_BYTES`; other names are no file variables.
fn key_of_file_variable(name: &str) -> Option<&str> {
    let split = name.len().checked_sub("_FILE".len())?;
    let (key, suffix) = name.split_at_checked(split)?;
    suffix.eq_ignore_ascii_case("_FILE").then_some(key)
}

/// A provider whose errors say where each value came from: `environment variable
/// API_SERVICE_HTTP__BODY_LIMIT_BYTES`, where figment would say "environment variable(s)".
struct Sourced<P> {
    provider: P,
    metadata: Metadata,
}

impl<P: Provider> Sourced<P> {
    /// Values whose source `source` names from their key.
    fn new(
        provider: P,
        source: impl Fn(&[&str]) -> String + Clone + Send + Sync + 'static,
    ) -> Self {
        let metadata = provider
            .metadata()
            .interpolater(move |_: &Profile, key: &[&str]| source(key));
        Self { provider, metadata }
    }

    /// Values that all come from `source`.
    fn at(provider: P, source: String) -> Self {
        Self::new(provider, move |_| source.clone())
    }
}

impl<P: Provider> Provider for Sourced<P> {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.provider.data()
    }
}
