//! Test harness for the cargo-generate template in `template/`.
//!
//! Everything lives in `tests/`: each file there renders the template through the real
//! `cargo generate` and checks the result. This library is empty; cargo needs one target.
