//! Health probes, in the IETF health-check format (`application/health+json`).
//!
//! - `/livez` says the process is alive. It checks nothing else on purpose: a liveness probe
//!   that checks a backing service restarts every replica when that service blips.
//! - `/readyz` says whether to send traffic here: it fails while shutting down and when
//!   PostgreSQL does not answer within [`PING_TIMEOUT`].
//!
//! The `healthcheck` command asks `/readyz` from inside the container, for images without curl.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use serde::Serialize;
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
    let postgres = postgres_check(&state).await;
    let status = postgres.status;
    Health {
        status,
        output: None,
        checks: BTreeMap::from([("postgres:responseTime".to_owned(), vec![postgres])]),
    }
}

async fn postgres_check(state: &AppState) -> Check {
    match db::ping(&state.db, PING_TIMEOUT).await {
        Ok(elapsed) => Check {
            component_type: "datastore",
            status: Status::Pass,
            observed_value: Some(elapsed.as_millis()),
            observed_unit: Some("ms"),
            output: None,
        },
        Err(error) => {
            // The details go to the log, which only operators read; probes get the gist.
            tracing::warn!(
                error = format!("{error:#}"),
                "readiness: PostgreSQL check failed"
            );
            Check {
                component_type: "datastore",
                status: Status::Fail,
                observed_value: None,
                observed_unit: None,
                output: Some("PostgreSQL did not answer".to_owned()),
            }
        }
    }
}

/// The `healthcheck` command: `GET /readyz` on this host's `port`, Ok only for 200.
pub async fn probe(port: u16) -> anyhow::Result<()> {
    let status = tokio::time::timeout(Duration::from_secs(3), readyz_status(port))
        .await
        .context("no answer from /readyz within 3 s")??;
    ensure!(
        status == StatusCode::OK,
        "not ready: /readyz answered {status}"
    );
    Ok(())
}

async fn readyz_status(port: u16) -> anyhow::Result<StatusCode> {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .with_context(|| format!("nothing listens on port {port}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake failed")?;
    tokio::spawn(connection);
    let request = Request::get("/readyz")
        .header(header::HOST, "localhost")
        .body(Body::empty())?;
    let response = sender
        .send_request(request)
        .await
        .context("/readyz did not answer")?;
    Ok(response.status())
}
