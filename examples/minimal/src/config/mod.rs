//! Settings, typed and checked before anything starts (factor III: config in the environment).
//!
//! This file holds what the service can be told, with its defaults, and the checks types alone
//! cannot make. Where values come from is [`Config::load`]'s job, in its own module.
//!
//! A bad value stops the service before it binds. Every error names the key, and never the
//! value itself: it may be a secret under the wrong key.

mod platform;

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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8080,
            http: HttpConfig::default(),
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
        Ok(())
    }
}
