//! Settings, typed and checked before anything starts (factor III: config in the environment).
//!
//! This file holds what the service can be told, with its defaults, and the checks types alone
//! cannot make. Where values come from is [`Config::load`]'s job, in its own module.
//!
//! A bad value stops the service before it binds. Every error names the key, and never the
//! value itself: it may be a secret under the wrong key.

{%- if config %}

mod layers;

pub use layers::ENV_PREFIX;
{%- else %}

mod platform;
{%- endif %}

use std::net::{IpAddr, Ipv4Addr};

use anyhow::ensure;
use serde::{Deserialize, Serialize};

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
{%- if logging %}
    /// Log output.
    pub logging: LoggingConfig,
{%- endif %}
{%- if shutdown %}
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
{%- endif %}
{%- if database %}
    /// The PostgreSQL database (factor IV: an attached resource, located by config alone).
    pub database: DatabaseConfig,
{%- endif %}
{%- if metrics %}
    /// Prometheus metrics, served on a port of their own.
    pub metrics: MetricsConfig,
{%- endif %}
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: {{port}},
            http: HttpConfig::default(),
{%- if logging %}
            logging: LoggingConfig::default(),
{%- endif %}
{%- if shutdown %}
            shutdown: ShutdownConfig::default(),
{%- endif %}
{%- if database %}
            database: DatabaseConfig::default(),
{%- endif %}
{%- if metrics %}
            metrics: MetricsConfig::default(),
{%- endif %}
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
    /// Origins whose browser scripts may call this service (`https://app.example.com`), or
    /// `["*"]` for any origin (without credentials). Empty, the default, allows no cross-origin
    /// calls.
    pub cors_allowed_origins: Vec<String>,
    /// Seconds a connection may take to send a complete request head. The same limit closes a
    /// keep-alive connection that sits idle between requests.
    pub header_read_timeout_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            cors_allowed_origins: Vec::new(),
            header_read_timeout_secs: 10,
        }
    }
}
{%- if logging %}

/// Log output (factor XI: logs are an event stream on stdout).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
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
{%- endif %}
{%- if shutdown %}

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
{%- endif %}
{%- if database %}

mod secret;

/// Where the database is and how the pool uses it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://user:password@host:5432/name`, usually from `DATABASE_URL`, which platforms
    /// set themselves. A secret: it usually holds the password.
    #[serde(with = "secret")]
    pub url: Option<secrecy::SecretString>,
{%- if config %}
    /// Replaces the password in `url` when set, so the URL can sit in plain config and the
    /// password in a secret file (`{{env_prefix}}DATABASE__PASSWORD_FILE`).
    #[serde(with = "secret")]
    pub password: Option<secrecy::SecretString>,
{%- endif %}
    /// Most connections the pool keeps open.
    pub max_connections: u32,
    /// Milliseconds a request waits for a free connection before it fails.
    pub acquire_timeout_ms: u64,
    /// Milliseconds a statement may run before PostgreSQL cancels it; 0 means no limit.
    pub statement_timeout_ms: u64,
    /// Apply pending migrations when `serve` starts. Off by default: run the `migrate` command
    /// as its own release step, so replicas starting together never race to migrate.
    pub migrate_on_start: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
{%- if config %}
            password: None,
{%- endif %}
            max_connections: 10,
            acquire_timeout_ms: 3_000,
            statement_timeout_ms: 10_000,
            migrate_on_start: false,
        }
    }
}

impl DatabaseConfig {
    /// Where the database is and how to log in, without the limits that serving adds. Errors name
    /// the setting, never its value.
    pub fn connect_options(&self) -> anyhow::Result<sqlx::postgres::PgConnectOptions> {
        use anyhow::Context as _;
        use secrecy::ExposeSecret as _;

        let url = self
            .url
            .as_ref()
            .context("database.url is not set: set DATABASE_URL")?;
        let url = url.expose_secret();
        ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "database.url must start with postgres:// or postgresql://"
        );
        let options: sqlx::postgres::PgConnectOptions = url
            .parse()
            .context("database.url is not a valid PostgreSQL URL")?;
{%- if config %}
        // `database.password` keeps the password out of the URL, e.g. in a secret file.
        let options = match &self.password {
            Some(password) => options.password(password.expose_secret()),
            None => options,
        };
{%- endif %}
        Ok(options)
    }
}
{%- endif %}

{%- if metrics %}

/// Where Prometheus scrapes `/metrics`: a port of its own, which the service's public port and
/// its Kubernetes Service never expose.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Port `/metrics` is served on, at the same `host` as the service.
    pub port: u16,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { port: 9464 }
    }
}
{%- endif %}

impl Config {
    /// Checks what types alone cannot, so a bad value stops the service before it binds.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(self.port != 0, "port must be between 1 and 65535");
        ensure!(
            self.http.request_timeout_secs > 0,
            "http.request_timeout_secs must be at least 1"
        );
        ensure!(
            self.http.header_read_timeout_secs > 0,
            "http.header_read_timeout_secs must be at least 1"
        );
{%- if shutdown %}
        ensure!(
            self.shutdown.drain_delay_secs < self.shutdown.timeout_secs,
            "shutdown.drain_delay_secs must be less than shutdown.timeout_secs"
        );
{%- endif %}
{%- if metrics %}
        ensure!(
            self.metrics.port != 0,
            "metrics.port must be between 1 and 65535"
        );
        ensure!(
            self.metrics.port != self.port,
            "metrics.port must differ from port"
        );
{%- endif %}
{%- if database %}
        self.database
            .connect_options()
            .map_err(|error| error.context("database.url is not usable"))?;
{%- endif %}
        Ok(())
    }
}
