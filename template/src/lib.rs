//! {{description}}
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

pub mod metrics;
{%- endif %}
{%- if otel %}

pub mod traces;
{%- endif %}
