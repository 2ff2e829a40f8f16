//! Integration tests, one binary: the real service on a random port, driven over HTTP.
mod helpers;
mod http;
