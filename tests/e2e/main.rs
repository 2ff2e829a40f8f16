//! End-to-end checks of the all-on render (every slice on) run as a real process and seen only
//! from outside, one file a family of scenarios:
//!
//! - `api`: `migrate` as its own process, the example resource over raw HTTP/1.1, JSON logs
//!   with request ids;
//! - `config`: the config layers in order, bad values stopping it before it binds;
//! - `secrets`: database passwords from a variable or a file, used and never printed, also
//!   when wrong or inside a malformed URL;
//! - `shutdown`: graceful shutdown on SIGTERM (no request log line lost, a slow request
//!   finishing, idle and stuck connections) and the `healthcheck` command;
//! - `drain`: keep-alive clients sending through SIGTERM, the drain delay and the listener's
//!   close, losing no request;
//! - `outage`: a database outage staged with a TCP proxy between the service and PostgreSQL;
//! - `database_errors`: a database that cannot be reached, named with where, why and what to do.
//!
//! The render is built once (in target/renders, like tests/build.rs) and shared by every test.
//! Tests run on parallel threads: each one has its own free ports and, where it writes or needs
//! a login of its own, its own database; a failing test kills its child processes. Needs
//! DATABASE_URL (a PostgreSQL server that checks passwords over TCP, as a role that may create
//! roles and databases) and `psql`.
//!
//! Every check prints one `[e2e]` progress line with what it measured.

mod api;
mod config;
mod database_errors;
mod drain;
mod outage;
mod secrets;
mod shutdown;

use std::sync::LazyLock;

use template_harness::cargo::build_all_on_service;
use template_harness::process::Service;

/// The name the service is rendered under: its binary, its `GET /` answer and its env prefix.
const PROJECT: &str = "e2e-service";
/// The prefix the template derives from [`PROJECT`].
const EXPECTED_ENV_PREFIX: &str = "E2E_SERVICE_";

/// The all-on render, built once. Only the binary is kept: the render's temporary folder is
/// removed once the build is done.
static SERVICE: LazyLock<Service> =
    LazyLock::new(|| build_all_on_service(PROJECT, EXPECTED_ENV_PREFIX, "e2e"));
