//! {{description}}
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
{%- if logging or otel %}

pub mod telemetry;
{%- endif %}
{%- if logging %}

pub mod logging;
{%- endif %}
{%- if shutdown %}

pub mod shutdown;
{%- endif %}
{%- if health %}

pub mod health;
{%- endif %}
{%- if database %}

pub mod db;
pub mod notes;
{%- endif %}
{%- if metrics %}

pub mod prometheus;
{%- endif %}
{%- if otel %}

pub mod traces;
{%- endif %}
