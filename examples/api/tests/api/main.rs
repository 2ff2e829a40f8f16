//! Integration tests, one binary: the real service on a random port, driven over HTTP.
mod health;
mod helpers;
mod http;
mod logging;
mod metrics;
mod shutdown;
