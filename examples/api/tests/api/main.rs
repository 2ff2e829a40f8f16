//! Integration tests, one binary: the real service on a random port, driven over HTTP.
//! `helpers` has what the other modules share.

mod health;
mod helpers;
mod http;
mod logging;
mod prometheus;
mod server;
mod shutdown;
