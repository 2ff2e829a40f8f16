//! What handlers share, composed from each slice's part.
//!
//! Handlers never take the whole `AppState`: each takes only its slice's part (`State<PgPool>`,
//! `State<Readiness>`), which `FromRef` pulls out of it. Slice modules therefore know nothing of
//! this struct, or of `http`, and a slice is added or removed here by one field.

use axum::extract::FromRef;

/// Cloned for every request, so every field is a cheap handle.
#[derive(Clone, FromRef)]
pub struct AppState {
    // A field per slice whose handlers share something, taken as `State<T>`.
    /// Whether `/readyz` may report ready, and what it checks.
    pub readiness: crate::health::Readiness,
    /// The connection pool (factor VI: state lives in a backing service, not in the process).
    pub db: sqlx::PgPool,
}

impl AppState {
    /// The stop signal arrived: take this instance out of rotation.
    pub fn stop_traffic(&self) {
        // Each slice that keeps traffic away does it here.
        self.readiness.set_draining();
    }

    /// The last request is done: close what the slices hold open.
    pub async fn close(self) {
        // Each slice closes its backing services here.
        self.db.close().await;
        crate::traces::flush().await;
    }
}
