//! Example service rendered from the full preset
//!
//! Everything the service does lives in this library; `main.rs` only reads the command line and
//! dispatches. Integration tests and one-off admin commands therefore run exactly the code that
//! production runs.

pub mod cli;
pub mod config;
pub mod db;
pub mod health;
pub mod http;
pub mod notes;
pub mod server;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
