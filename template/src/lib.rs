//! {{description}}
//!
//! Everything the service does lives in this library; `main.rs` only reads the command line and
//! dispatches. Integration tests and one-off admin commands therefore run exactly the code that
//! production runs.

pub mod cli;
pub mod config;
{%- if database %}
pub mod db;
{%- endif %}
{%- if health %}
pub mod health;
{%- endif %}
pub mod http;
{%- if database %}
pub mod notes;
{%- endif %}
pub mod server;
{%- if shutdown %}
pub mod shutdown;
{%- endif %}
pub mod startup;
{%- if logging %}
pub mod telemetry;
{%- endif %}
