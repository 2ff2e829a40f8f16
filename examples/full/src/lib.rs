//! Example service rendered from the full preset
//!
//! Everything the service does lives in this library; `main.rs` only reads the command line and
//! dispatches. Integration tests and one-off admin commands therefore run exactly the code that
//! production runs.

pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod server;
pub mod startup;
pub mod state;

pub mod logging;

pub mod shutdown;

pub mod health;

pub mod db;
pub mod notes;

pub mod metrics;

pub mod traces;
