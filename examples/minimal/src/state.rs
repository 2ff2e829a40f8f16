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
}
