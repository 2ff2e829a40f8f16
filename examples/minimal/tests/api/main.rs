//! Integration tests, one binary: the real service on a random port, driven over HTTP.
//! `helpers` has what the other modules share.

mod helpers;
mod http;
mod server;
