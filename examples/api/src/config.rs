//! Settings, typed and checked before anything starts (factor III: config in the environment).
//!
//! Each layer overrides the one before it:
//! 1. the defaults in this file;
//! 2. a TOML file, when `API_SERVICE_CONFIG_PATH` names one (keys as in `config` output);
//! 3. the variables platforms set themselves: `PORT`;
//! 4. `API_SERVICE_*` variables, nested keys joined by `__`: `API_SERVICE_HTTP__BODY_LIMIT_BYTES`;
//! 5. `API_SERVICE_*_FILE` variables naming a file that holds the value, the way container
//!    platforms hand out secrets: `API_SERVICE_DATABASE__PASSWORD_FILE=/run/secrets/db`.
//!
//! A `.env` file, when present, is read into the environment first: a convenience for local
//! development that never overrides a variable already set. `.env.example` lists every variable.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use anyhow::{Context, ensure};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

/// Prefix of every variable this service reads, besides the platform's own
/// `PORT`.
pub const ENV_PREFIX: &str = "API_SERVICE_";

/// Everything the service can be told. The defaults suit local development.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. `0.0.0.0` accepts connections from outside a container.
    pub host: IpAddr,
    /// Port to listen on (factor VII: port binding).
    pub port: u16,
    /// Limits on every HTTP request.
    pub http: HttpConfig,
    /// Log output.
    pub log: LogConfig,
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8080,
            http: HttpConfig::default(),
            log: LogConfig::default(),
            shutdown: ShutdownConfig::default(),
        }
    }
}

/// Bounds that keep one client from holding the service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a request may take before it is answered with 503 Service Unavailable.
    pub request_timeout_secs: u64,
    /// Largest request body accepted, in bytes; larger ones get 413 Payload Too Large.
    pub body_limit_bytes: usize,
    /// Origins whose browser scripts may call this service (`https://app.example.com`).
    /// Empty, the default, allows no cross-origin calls.
    pub cors_allowed_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            cors_allowed_origins: Vec::new(),
        }
    }
}

/// Log output (factor XI: logs are an event stream on stdout).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `auto` (JSON when stdout is not a terminal, text when it is), `json` or `text`.
    /// Levels come from `RUST_LOG`.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON unless stdout is a terminal.
    #[default]
    Auto,
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable text, for terminals.
    Text,
}

/// Graceful shutdown (factor IX: disposability).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds to keep serving after the stop signal while readiness already fails, so load
    /// balancers stop sending traffic before the listener closes. Zero where the platform
    /// waits itself (a Kubernetes `preStop` sleep).
    pub drain_delay_secs: u64,
    /// Seconds from the stop signal until the process exits whatever is still open. Keep it
    /// below the platform's grace period (10 s for `docker stop`, 30 s on Kubernetes).
    pub timeout_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_delay_secs: 0,
            timeout_secs: 8,
        }
    }
}

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
        let config_path = format!("{ENV_PREFIX}CONFIG_PATH");
        if let Some(path) = std::env::var_os(&config_path) {
            let path = Path::new(&path);
            ensure!(
                path.is_file(),
                "{config_path} names {}, which is not a readable file",
                path.display()
            );
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Self = figment
            .merge(platform_variables())
            .merge(prefixed_variables())
            .merge(SecretVariables)
            .merge(FileVariables)
            .extract()
            .map_err(describe)?;
        config.validate()?;
        Ok(config)
    }

    /// The effective configuration as TOML, with every secret replaced by `[REDACTED]`.
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("cannot print the configuration")
    }

    /// Checks what types alone cannot, so a bad value stops the service before it binds.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(self.port != 0, "port must be between 1 and 65535");
        ensure!(
            self.http.request_timeout_secs > 0,
            "http.request_timeout_secs must be at least 1"
        );
        ensure!(
            self.shutdown.drain_delay_secs < self.shutdown.timeout_secs,
            "shutdown.drain_delay_secs must be less than shutdown.timeout_secs"
        );
        Ok(())
    }
}

/// Keys that hold secrets. Their values are taken as text exactly as given, where other values
/// are parsed (figment would read a password `007` as the number 7), and `config` prints them
/// as `[REDACTED]`. Add a secret setting here and give its field `secret` and `redacted`.
const SECRET_KEYS: &[&str] = &[];

/// The key a variable name (prefix removed) sets: `DATABASE__URL` sets `database.url`.
fn key_of(name: &str) -> String {
    name.replace("__", ".").to_ascii_lowercase()
}

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// `PORT`, as platforms (Heroku, Cloud Run, Fly, Render) inject it.
fn platform_variables() -> Env {
    Env::raw().only(&["PORT"])
}

/// `API_SERVICE_*` variables but the config file's path, `*_FILE` references and secrets.
fn prefixed_variables() -> Env {
    Env::prefixed(ENV_PREFIX)
        .ignore(&["CONFIG_PATH"])
        .filter(|name| {
            file_reference(name.as_str()).is_none() && !is_secret(&key_of(name.as_str()))
        })
        .split("__")
}

/// The name of the key a `*_FILE` variable sets, if the name is one.
fn file_reference(name: &str) -> Option<&str> {
    let split = name.len().checked_sub("_FILE".len())?;
    let (key, suffix) = name.split_at_checked(split)?;
    suffix.eq_ignore_ascii_case("_FILE").then_some(key)
}

/// Secrets set by environment variables, as text: `API_SERVICE_*`.
struct SecretVariables;

impl Provider for SecretVariables {
    fn metadata(&self) -> Metadata {
        Metadata::named("secret environment variable")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut secrets = Figment::new();
        for (name, value) in std::env::vars_os() {
            let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
                continue;
            };
            let Some(key) = name.strip_prefix(ENV_PREFIX).map(key_of) else {
                continue;
            };
            if is_secret(&key) {
                secrets = secrets.merge(Serialized::default(&key, value));
            }
        }
        secrets.data()
    }
}

/// `API_SERVICE_KEY_FILE=/path` sets `KEY` to the contents of that file, less its trailing
/// newline: parsed like a variable, or as text for secrets.
struct FileVariables;

impl Provider for FileVariables {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("`{ENV_PREFIX}*_FILE` file"))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let references = Env::prefixed(ENV_PREFIX)
            .filter_map(|name| file_reference(name.as_str()).map(Into::into))
            .split("__");
        let mut files = Figment::new();
        for (key, path) in references.iter() {
            let variable = format!(
                "{ENV_PREFIX}{}_FILE",
                key.as_str().replace('.', "__").to_uppercase()
            );
            let contents = std::fs::read_to_string(&path)
                .map_err(|error| format!("{variable}: cannot read {path}: {error}"))?;
            let text = contents.trim_end_matches(['\r', '\n']);
            let value = if is_secret(key.as_str()) {
                Value::from(text.to_owned())
            } else {
                let Ok(value) = text.parse::<Value>();
                value
            };
            files = files.merge(Serialized::default(key.as_str(), value));
        }
        files.data()
    }
}

/// Every problem as `key: what is wrong (where it was set)`. figment's `Debug` output is not
/// used: it prints every value, secrets too.
fn describe(error: figment::Error) -> anyhow::Error {
    let problems: Vec<String> = error
        .into_iter()
        .map(|error| {
            let origin = error.metadata.as_ref().map_or_else(
                || "defaults".to_owned(),
                |metadata| metadata.name.to_string(),
            );
            format!("{}: {} (from {origin})", error.path.join("."), error.kind)
        })
        .collect();
    anyhow::anyhow!("invalid configuration: {}", problems.join("; "))
}
