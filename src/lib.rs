//! Test harness for the cargo-generate template in `template/`.
//!
//! The tests live in `tests/`: each file there renders the template through the real
//! `cargo generate` and checks the result. Every helper they share lives here, once, in a
//! module of its own:
//!
//! - [`render`]: the cargo-generate binary, staging the template, rendering it;
//! - [`combos`]: slice combinations, rendering one, and what a render of one must hold;
//! - [`slices`]: the table of what each slice owns (files, dependencies, settings);
//! - [`cargo`]: cargo in a render, building its binary and the all-on service;
//! - [`process`]: the service binary as a real process;
//! - [`ports`]: loopback ports, free ones handed out to tests;
//! - [`http`]: the HTTP/1.1 client over a plain `TcpStream`;
//! - [`postgres`]: `psql`, database URLs and throwaway databases;
//! - [`proxy`]: a TCP proxy that can play a database outage;
//! - [`prometheus`]: a real Prometheus server scraping a service, PromQL queries, promtool;
//! - [`otlp`]: an OTLP/HTTP trace receiver decoding the protobuf a service exports;
//! - [`container`]: the docker CLI and a cleanup guard for what a test made with it;
//! - [`kubernetes`]: kustomize output, secret files and a pod's environment;
//! - [`tools`]: external checkers (PyPI tools, checkov, cargo-deny);
//! - [`command`]: running a one-off command, describing its output, the kill-on-drop guard;
//! - [`fork`]: an organisation's fork of the template and services rendered from it;
//! - [`files`]: temporary folders, listing and copying file trees;
//! - [`wait`]: polling for a condition with a deadline;
//! - [`random`]: random names and ids;
//! - [`report`]: progress lines and their figures;
//! - [`source_size`]: how long the harness's own files and functions are;
//! - [`update`]: `cargo template-update` and template histories for its tests.

pub mod cargo;
pub mod combos;
pub mod command;
pub mod container;
pub mod files;
pub mod fork;
pub mod http;
pub mod kubernetes;
pub mod otlp;
pub mod ports;
pub mod postgres;
pub mod process;
pub mod prometheus;
pub mod proxy;
pub mod random;
pub mod render;
pub mod report;
pub mod slices;
pub mod source_size;
pub mod tools;
pub mod update;
pub mod wait;
