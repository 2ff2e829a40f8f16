//! Integration tests, one binary: the real service on a random port, driven over HTTP.
{%- if database %}
//! Tests that need PostgreSQL get a database of their own on the server `DATABASE_URL` names.
{%- endif %}

{%- if database %}
mod database;
{%- endif %}
{%- if health %}
mod health;
{%- endif %}
mod helpers;
mod http;
{%- if logging %}
mod logging;
{%- endif %}
{%- if metrics %}
mod metrics;
{%- endif %}
{%- if database %}
mod notes;
{%- endif %}
{%- if shutdown %}
mod shutdown;
{%- endif %}
