//! Integration tests, one binary: the real service on a random port, driven over HTTP.
//! Tests that need PostgreSQL get a database of their own on the server `DATABASE_URL` names.
mod database;
mod health;
mod helpers;
mod http;
mod logging;
mod metrics;
mod notes;
mod shutdown;
