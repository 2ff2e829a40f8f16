//! The fault tier: the all-on render (every slice on) run as a real process against a real
//! PostgreSQL, with one fault injected per test, seen only from outside, one file a family:
//!
//! - `connections`: a handler blocked on a table lock at SIGTERM, clients that send half a
//!   request head or go idle;
//! - `config`: values under the wrong key (from each config source), CORS origins that cannot
//!   work;
//! - `responses`: every kind of failing request, and the request log of what the outer layers
//!   answer;
//! - `database`: a migration waiting on a lock under a short statement timeout, and a database
//!   without its schema.
//!
//! Like tests/e2e/, the render is built once (in target/renders, under its own name so the two
//! binaries never overwrite each other), and tests run on parallel threads, each with its own
//! free ports and, where it writes or locks, its own database. Needs DATABASE_URL and `psql`.
//!
//! Every check prints one `[faults]` progress line with what it measured.

mod config;
mod connections;
mod database;
mod responses;

use std::sync::LazyLock;

use template_harness::cargo::build_all_on_service;
use template_harness::http::{Response, post_as};
use template_harness::process::Service;

/// The name the service is rendered under; not e2e's, so the two builds keep their binaries.
const PROJECT: &str = "faults-service";
/// The prefix the template derives from [`PROJECT`].
const EXPECTED_ENV_PREFIX: &str = "FAULTS_SERVICE_";

/// The all-on render, built once. Only the binary is kept.
static SERVICE: LazyLock<Service> =
    LazyLock::new(|| build_all_on_service(PROJECT, EXPECTED_ENV_PREFIX, "faults"));

/// `POST /notes` with `body` sent as is, with `content_type` and the request id given.
pub fn post_notes_raw(port: u16, content_type: &str, body: &str, request_id: &str) -> Response {
    post_as(port, "/notes", content_type, body, request_id)
        .unwrap_or_else(|e| panic!("POST /notes failed: {e}"))
}
