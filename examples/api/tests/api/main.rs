//! Integration tests, one binary: the real service on a random port, driven over HTTP.
//!
//! Every file in this folder is a module of this binary; `helpers` has what they share. A file
//! added here is picked up the next time the binary is compiled: when nothing else changed,
//! `touch tests/api/main.rs` makes cargo compile it again.

automod::dir!("tests/api");
