//! What handlers share.
//!
//! Handlers never take the whole `AppState`: each takes only the part it uses (`State<PgPool>`,
//! `State<Readiness>`), which `FromRef` pulls out of it. The modules that own those parts
//! therefore know nothing of this struct, or of the routes around them.

use axum::extract::FromRef;

/// Cloned for every request, so every field is a cheap handle.
#[derive(Clone, FromRef)]
pub struct AppState {
    // A field for each part whose handlers share something, taken as `State<T>`.
{%- if health %}
    /// Whether `/readyz` may report ready, and what it checks.
    pub readiness: crate::health::Readiness,
{%- endif %}
{%- if database %}
    /// The connection pool (factor VI: state lives in a backing service, not in the process).
    pub db: sqlx::PgPool,
{%- endif %}
}
