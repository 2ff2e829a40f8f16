//! Example service rendered from the full preset
//!
//! Everything the service does lives in this library; `main.rs` only reads the command line and
//! dispatches. Integration tests and one-off admin commands therefore run exactly the code that
//! production runs.
//!
//! [`startup`] is the place to start reading: it builds the service from its parts and runs it.
//! [`http`], [`server`], [`error`] and [`config`] hold what every request and every setting
//! goes through; each module after them is one part of the service, which `startup` (and,
//! for admin commands, `cli`) puts in its place.

pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod server;
pub mod startup;
pub mod state;

pub mod telemetry;

pub mod logging;

pub mod shutdown;

pub mod health;

pub mod db;
pub mod notes;

pub mod prometheus;

pub mod traces;
