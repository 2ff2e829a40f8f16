//! Where settings come from (the config slice). Each layer overrides the one before it:
//! 1. the defaults in `config`;
//! 2. a TOML file, when `API_SERVICE_CONFIG_PATH` names one (keys as in `config` output);
//! 3. the variables platforms set themselves (see [`PLATFORM_VARIABLES`]);
//! 4. `API_SERVICE_*` variables, nested keys joined by `__`: `API_SERVICE_HTTP__BODY_LIMIT_BYTES`;
//! 5. `API_SERVICE_*_FILE` variables naming a file that holds the value, the way container
//!    platforms hand out secrets: `API_SERVICE_<KEY>_FILE=/run/secrets/<key>`.
//!
//! A `.env` file, when present, is read into the environment first: a convenience for local
//! development that never overrides a variable already set. `.env.example` lists every variable.
//!
//! Every error names the key, where the value came from and what was expected, and never the
//! value itself.

use std::path::Path;

use anyhow::Context;
use figment::error::{Actual, Kind};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::Config;

/// Prefix of every variable this service reads, besides the ones platforms set themselves
/// (see [`PLATFORM_VARIABLES`]).
pub const ENV_PREFIX: &str = "API_SERVICE_";

impl Config {
    /// Reads every layer (see the module docs) and checks the result.
    ///
    /// Errors name the offending key and where it came from, never a secret's value.
    pub fn load() -> anyhow::Result<Self> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => return Err(error).context("cannot read .env"),
        }

        let mut figment = Figment::new();
        if let Some(path) = std::env::var_os(format!("{ENV_PREFIX}CONFIG_PATH")) {
            figment = figment.merge(config_file(Path::new(&path))?);
        }
        for variable in platform_variables() {
            figment = figment.merge(variable);
        }
        figment = figment.merge(prefixed_variables());
        for secret in secret_variables() {
            figment = figment.merge(secret);
        }
        for file in file_variables()? {
            figment = figment.merge(file);
        }
        let config: Self = figment.extract().map_err(describe)?;
        config.validate()?;
        Ok(config)
    }

    /// The effective configuration as TOML, with every secret replaced by `[REDACTED]`.
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("cannot print the configuration")
    }
}

/// Keys that hold secrets. Their values are taken as text exactly as given, where other values
/// are parsed (figment would read a password `007` as the number 7), and `config` prints them
/// as `[REDACTED]`.
const SECRET_KEYS: &[&str] = &[
    // Give each one's field `#[serde(with = "layers::secret")]` as well.
];

/// The variables platforms set themselves, and the key each sets.
pub const PLATFORM_VARIABLES: &[(&str, &str)] = &[
    // Heroku, Cloud Run, Fly and Render set `PORT`.
    ("PORT", "port"),
];

/// The key a variable name (prefix removed) sets: `HTTP__BODY_LIMIT_BYTES` sets
/// `http.body_limit_bytes`.
fn key_of(name: &str) -> String {
    name.replace("__", ".").to_ascii_lowercase()
}

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// A variable's text as the value of `key`: parsed like figment parses variables (`8080` is a
/// number, `true` a boolean), except for secrets, which stay text exactly as given.
fn value_of(key: &str, text: &str) -> Value {
    if is_secret(key) {
        Value::from(text.to_owned())
    } else {
        let Ok(value) = text.parse::<Value>();
        value
    }
}

/// Those of the [`PLATFORM_VARIABLES`] that are set. Each is a provider of its own, so an error
/// names its variable.
fn platform_variables() -> Vec<impl Provider> {
    PLATFORM_VARIABLES
        .iter()
        .filter_map(|&(variable, key)| {
            let text = std::env::var(variable).ok()?;
            let source = format!("environment variable {variable}");
            Some(Named::fixed(
                Serialized::default(key, value_of(key, &text)),
                source,
            ))
        })
        .collect()
}

/// `API_SERVICE_*` variables but the config file's path, `*_FILE` references and secrets.
fn prefixed_variables() -> impl Provider {
    let variables = Env::prefixed(ENV_PREFIX)
        .ignore(&["CONFIG_PATH"])
        .filter(|name| {
            file_reference(name.as_str()).is_none() && !is_secret(&key_of(name.as_str()))
        })
        .split("__");
    Named::environment(variables, ENV_PREFIX)
}

/// The TOML file `API_SERVICE_CONFIG_PATH` names. A syntax error is reported by line and column:
/// the TOML parser's own message quotes the line, which may hold a secret.
fn config_file(path: &Path) -> anyhow::Result<impl Provider> {
    let variable = format!("{ENV_PREFIX}CONFIG_PATH");
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
    Ok(Named::new(Toml::string(&text), move |_| source.clone()))
}

/// The name of the key a `*_FILE` variable sets, if the name is one.
fn file_reference(name: &str) -> Option<&str> {
    let split = name.len().checked_sub("_FILE".len())?;
    let (key, suffix) = name.split_at_checked(split)?;
    suffix.eq_ignore_ascii_case("_FILE").then_some(key)
}

/// The variable that sets `key` (`["database", "url"]`) under `prefix`.
fn variable_of(prefix: &str, key: &[&str]) -> String {
    format!("{prefix}{}", key.join("__").to_ascii_uppercase())
}

/// Secrets set by `API_SERVICE_*` variables, as text. Each is a provider of its own, so an
/// error names its variable.
fn secret_variables() -> Vec<impl Provider> {
    let mut secrets = Vec::new();
    for (name, value) in std::env::vars_os() {
        let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
            continue;
        };
        let Some(key) = name.strip_prefix(ENV_PREFIX).map(key_of) else {
            continue;
        };
        if is_secret(&key) {
            let source = format!("environment variable {name}");
            let value = value.to_owned();
            secrets.push(Named::fixed(Serialized::default(&key, value), source));
        }
    }
    secrets
}

/// `API_SERVICE_<KEY>_FILE=/path` sets `<KEY>` to the contents of that file, less its trailing
/// newline: parsed like a variable, or as text for secrets. Each is a provider of its own, so an
/// error names its variable.
fn file_variables() -> anyhow::Result<Vec<impl Provider>> {
    let references = Env::prefixed(ENV_PREFIX)
        .filter_map(|name| file_reference(name.as_str()).map(Into::into))
        .split("__");
    let mut files = Vec::new();
    for (key, path) in references.iter() {
        let parts: Vec<&str> = key.as_str().split('.').collect();
        let variable = format!("{}_FILE", variable_of(ENV_PREFIX, &parts));
        let contents = std::fs::read_to_string(&path)
            .with_context(|| format!("{variable} names a file that cannot be read"))?;
        let text = contents.trim_end_matches(['\r', '\n']);
        let source = format!("the file {variable} names");
        files.push(Named::fixed(
            Serialized::default(key.as_str(), value_of(key.as_str(), text)),
            source,
        ));
    }
    Ok(files)
}

/// A provider whose errors say where a value came from: `environment variable
/// API_SERVICE_HTTP__BODY_LIMIT_BYTES`, not "environment variable(s)".
struct Named<P> {
    provider: P,
    metadata: Metadata,
}

impl<P: Provider> Named<P> {
    fn new(
        provider: P,
        source: impl Fn(&[&str]) -> String + Clone + Send + Sync + 'static,
    ) -> Self {
        let metadata = provider
            .metadata()
            .interpolater(move |_: &Profile, key: &[&str]| source(key));
        Self { provider, metadata }
    }

    /// Variables named `prefix` + the key in upper case, nested keys joined by `__`.
    fn environment(provider: P, prefix: &'static str) -> Self {
        Self::new(provider, move |key| {
            format!("environment variable {}", variable_of(prefix, key))
        })
    }

    /// Every value from one place.
    fn fixed(provider: P, source: String) -> Self {
        Self::new(provider, move |_| source.clone())
    }
}

impl<P: Provider> Provider for Named<P> {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.provider.data()
    }
}

/// Every problem as `key: what is wrong (from where)`. Values are never shown: neither figment's
/// `Debug` output nor its messages are used, as both quote the value, which may be a secret given
/// under the wrong key.
fn describe(error: figment::Error) -> anyhow::Error {
    let problems: Vec<String> = error
        .into_iter()
        .map(|error| {
            let mut key = error.path.clone();
            // figment ends the path of an unknown field with the field itself; older releases
            // did not.
            if let Kind::UnknownField(field, _) = &error.kind
                && key.last() != Some(field)
            {
                key.push(field.clone());
            }
            let source = error.metadata.as_ref().map_or_else(
                || "the defaults".to_owned(),
                |metadata| {
                    let profile = error.profile.clone().unwrap_or_default();
                    metadata.interpolate(&profile, &key)
                },
            );
            let problem = problem(&error.kind);
            match key.join(".") {
                key if key.is_empty() => format!("{problem} (from {source})"),
                key => format!("{key}: {problem} (from {source})"),
            }
        })
        .collect();
    anyhow::anyhow!("invalid configuration: {}", problems.join("; "))
}

/// What is wrong, in words that name the expected type and never the value.
fn problem(kind: &Kind) -> String {
    match kind {
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!(
                "expected {}, found {}",
                expected_type(expected),
                kind_of(actual)
            )
        }
        Kind::InvalidLength(_, expected) => format!("expected {expected}"),
        Kind::UnknownVariant(_, expected) => format!("expected one of {}", expected.join(", ")),
        Kind::UnknownField(_, _) => "not a setting".to_owned(),
        Kind::MissingField(field) => format!("`{field}` is missing"),
        Kind::DuplicateField(field) => format!("`{field}` is given twice"),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "number out of range".to_owned(),
        Kind::Unsupported(actual) | Kind::UnsupportedKey(actual, _) => {
            format!("{} is not supported here", kind_of(actual))
        }
        // Messages from this file's providers and from parsers of types like IP addresses,
        // which describe the problem, not the value.
        Kind::Message(message) => message.clone(),
    }
}

/// serde's name for what it expected, with sections (structs) in the words of this config.
fn expected_type(expected: &str) -> String {
    if expected.starts_with("struct ") {
        "a section of settings (set its keys one by one)".to_owned()
    } else {
        expected.to_owned()
    }
}

/// The kind of a value that was found, without the value.
fn kind_of(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a decimal number",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit | Actual::Option => "nothing",
        Actual::Seq => "a list",
        Actual::Map | Actual::NewtypeStruct | Actual::StructVariant => "a section",
        _ => "a value of another type",
    }
}
