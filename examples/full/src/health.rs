//! Health probes, in the IETF health-check format (`application/health+json`).
//!
//! - `/livez` says the process is alive. It checks nothing else on purpose: a liveness probe
//!   that checks a backing service restarts every replica when that service blips.
//! - `/readyz` says whether to send traffic here: it fails while shutting down, and when a
//!   backing service registered with [`Readiness::depends_on`] fails its checks (PostgreSQL's
//!   are in `db::readiness`).
//!
//! The `healthcheck` command asks either from inside the container, for images without curl.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, ensure};
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

/// Longest a readiness check should wait for a backing service. Probes time out after about a
/// second, and a slow answer is as bad as none.
pub const PING_TIMEOUT: Duration = Duration::from_millis(500);

/// A backing service's checks, keyed `component:measurement` (`postgres:responseTime`).
pub type Checks = BTreeMap<String, Vec<Check>>;

/// Runs one backing service's checks; called on every `/readyz`.
type Dependency = dyn Fn() -> Pin<Box<dyn Future<Output = Checks> + Send>> + Send + Sync;

/// Whether the service should get traffic: not while draining, and not while a backing service
/// it depends on fails. Cloning shares the flag and the checks.
#[derive(Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
    dependencies: Arc<Mutex<Vec<Arc<Dependency>>>>,
}

impl Readiness {
    /// Adds a backing service: `/readyz` runs `checks` on every call and fails when any of them
    /// does. `checks` must answer within [`PING_TIMEOUT`].
    pub fn depends_on<F, C>(&self, checks: F)
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: Future<Output = Checks> + Send + 'static,
    {
        self.dependencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(move || Box::pin(checks()) as Pin<Box<_>>));
    }

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
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: Checks,
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
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/health+json"),
        );
        response
    }
}

/// `/livez` and `/readyz`, for any state that holds a [`Readiness`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Readiness: FromRef<S>,
{
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

async fn readyz(State(readiness): State<Readiness>) -> Health {
    if readiness.is_draining() {
        return Health {
            status: Status::Fail,
            output: Some("shutting down".to_owned()),
            checks: BTreeMap::new(),
        };
    }
    // Copied out, so no lock is held while the checks wait on their services.
    let dependencies = readiness
        .dependencies
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut checks = Checks::new();
    for dependency in dependencies {
        checks.extend(dependency().await);
    }
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
