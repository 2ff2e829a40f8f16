//! Health probes, in the IETF health-check format (`application/health+json`).
//!
//! - `/livez` says the process is alive. It checks nothing else on purpose: a liveness probe
//!   that checks a backing service restarts every replica when that service blips.
//! - `/readyz` says whether to send traffic here: it fails while shutting down, when
//!   PostgreSQL does not answer within [`PING_TIMEOUT`], and while the database lacks a
//!   migration this binary was built with (until `migrate` runs).
//!
//! The `healthcheck` command asks either from inside the container, for images without curl.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use std::time::Instant;

use anyhow::{Context, ensure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use sqlx::PgPool;
use tokio::net::TcpStream;

use crate::db;
use crate::http::AppState;

/// Longest a readiness check waits for a backing service. Probes time out after about a
/// second, and a slow answer is as bad as none.
pub const PING_TIMEOUT: Duration = Duration::from_millis(500);

/// Whether the service should still get traffic. Cloning shares the flag.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
}

impl Readiness {
    /// From now on `/readyz` fails: the service is shutting down.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// `pass` or `fail`, as the health-check draft spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
}

/// A probe's answer.
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Keyed `component:measurement`, e.g. `postgres:responseTime`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Vec<Check>>,
}

/// One measurement of one backing service.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub component_type: &'static str,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_value: Option<u128>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_unit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl IntoResponse for Health {
    fn into_response(self) -> Response {
        let status = match self.status {
            Status::Pass => StatusCode::OK,
            Status::Fail => StatusCode::SERVICE_UNAVAILABLE,
        };
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/health+json"),
        );
        // A cached "ready" is worse than none.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
}

async fn livez() -> Health {
    Health {
        status: Status::Pass,
        output: None,
        checks: BTreeMap::new(),
    }
}

async fn readyz(State(state): State<AppState>) -> Health {
    if state.readiness.is_draining() {
        return Health {
            status: Status::Fail,
            output: Some("shutting down".to_owned()),
            checks: BTreeMap::new(),
        };
    }
    let checks = postgres_checks(&state.db).await;
    let passing = checks
        .values()
        .flatten()
        .all(|check| check.status == Status::Pass);
    Health {
        status: if passing { Status::Pass } else { Status::Fail },
        output: None,
        checks,
    }
}

/// PostgreSQL answers within [`PING_TIMEOUT`] (`postgres:responseTime`), and has applied every
/// migration this binary was built with (`postgres:migrations`). The second needs the first.
async fn postgres_checks(pool: &PgPool) -> BTreeMap<String, Vec<Check>> {
    let started = Instant::now();
    let pending = tokio::time::timeout(PING_TIMEOUT, db::pending_migrations(pool)).await;
    let elapsed = started.elapsed();
    let pending = match pending {
        Ok(Ok(pending)) => pending,
        failed => {
            let error = match failed {
                Ok(Err(error)) => format!("{error:#}"),
                _ => format!("no answer within {PING_TIMEOUT:?}"),
            };
            // The details go to the log, which only operators read; probes get the gist.
            tracing::warn!(error, "readiness: PostgreSQL check failed");
            let failed = Check {
                component_type: "datastore",
                status: Status::Fail,
                observed_value: None,
                observed_unit: None,
                output: Some("PostgreSQL did not answer".to_owned()),
            };
            return BTreeMap::from([("postgres:responseTime".to_owned(), vec![failed])]);
        }
    };
    let response_time = Check {
        component_type: "datastore",
        status: Status::Pass,
        observed_value: Some(elapsed.as_millis()),
        observed_unit: Some("ms"),
        output: None,
    };
    let migrations = match pending.first() {
        None => Check {
            component_type: "datastore",
            status: Status::Pass,
            observed_value: Some(0),
            observed_unit: Some("pending migrations"),
            output: None,
        },
        Some(first) => {
            let output = format!(
                "migration {first} is not applied ({} pending): run `migrate`",
                pending.len()
            );
            tracing::warn!(%output, "readiness: the database schema is behind this build");
            Check {
                component_type: "datastore",
                status: Status::Fail,
                observed_value: Some(pending.len() as u128),
                observed_unit: Some("pending migrations"),
                output: Some(output),
            }
        }
    };
    BTreeMap::from([
        ("postgres:responseTime".to_owned(), vec![response_time]),
        ("postgres:migrations".to_owned(), vec![migrations]),
    ])
}

/// The `healthcheck` command: `GET /livez`, or `/readyz` when `ready`, on this host's `port`; Ok
/// only for 200.
///
/// The image's HEALTHCHECK asks `/livez`: platforms that restart unhealthy containers would
/// otherwise restart every replica while a backing service is down. Compose asks `/readyz`, as it
/// only waits on the answer.
pub async fn probe(port: u16, ready: bool) -> anyhow::Result<()> {
    let path = if ready { "/readyz" } else { "/livez" };
    let status = tokio::time::timeout(Duration::from_secs(3), status_of(port, path))
        .await
        .with_context(|| format!("no answer from {path} within 3 s"))??;
    ensure!(status == StatusCode::OK, "{path} answered {status}");
    Ok(())
}

async fn status_of(port: u16, path: &str) -> anyhow::Result<StatusCode> {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .with_context(|| format!("nothing listens on port {port}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake failed")?;
    tokio::spawn(connection);
    let request = Request::get(path)
        .header(header::HOST, "localhost")
        .body(Body::empty())?;
    let response = sender
        .send_request(request)
        .await
        .with_context(|| format!("{path} did not answer"))?;
    Ok(response.status())
}
