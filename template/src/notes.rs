//! Notes, the example resource: routes, validation and queries of one resource in one file.
//! To add the next resource, copy this file, give it a table in a new migration and merge its
//! router in `http::routes`.

use anyhow::Context;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use crate::db::query_span;
use crate::error::ApiError;

/// Longest title accepted, in characters.
const MAX_TITLE_CHARS: usize = 200;

/// A stored note, as the API returns it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Note {
    pub id: Uuid,
    pub title: String,
    pub body: String,
}

/// What a client sends to create a note.
#[derive(Debug, Deserialize)]
pub struct NewNote {
    pub title: String,
    #[serde(default)]
    pub body: String,
}

impl NewNote {
    /// Rules the type cannot express. The message tells the client what to fix.
    fn validate(&self) -> Result<(), ApiError> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err(ApiError::Invalid("title must not be empty".to_owned()));
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(ApiError::Invalid(format!(
                "title must be at most {MAX_TITLE_CHARS} characters"
            )));
        }
        Ok(())
    }
}

/// The notes routes, for any state that holds the pool.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PgPool: FromRef<S>,
{
    Router::new()
        .route("/notes", get(list).post(create))
        .route("/notes/{id}", get(fetch))
}

/// `POST /notes`: 201 with the new note, or 422 saying what is wrong with it.
async fn create(
    State(db): State<PgPool>,
    Json(new): Json<NewNote>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    new.validate()?;
    let note = sqlx::query_as::<_, Note>(
        "INSERT INTO notes (id, title, body) VALUES ($1, $2, $3) RETURNING id, title, body",
    )
    .bind(Uuid::new_v4())
    .bind(new.title.trim())
    .bind(&new.body)
    .fetch_one(&db)
    .instrument(query_span("INSERT", "notes"))
    .await
    .context("cannot insert a note")?;
    Ok((StatusCode::CREATED, Json(note)))
}

/// `GET /notes/{id}`: the note, or 404.
async fn fetch(State(db): State<PgPool>, Path(id): Path<Uuid>) -> Result<Json<Note>, ApiError> {
    sqlx::query_as::<_, Note>("SELECT id, title, body FROM notes WHERE id = $1")
        .bind(id)
        .fetch_optional(&db)
        .instrument(query_span("SELECT", "notes"))
        .await
        .context("cannot fetch a note")?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// `GET /notes`: the 100 newest notes, newest first.
async fn list(State(db): State<PgPool>) -> Result<Json<Vec<Note>>, ApiError> {
    let notes = sqlx::query_as::<_, Note>(
        "SELECT id, title, body FROM notes ORDER BY created_at DESC, id LIMIT 100",
    )
    .fetch_all(&db)
    .instrument(query_span("SELECT", "notes"))
    .await
    .context("cannot list notes")?;
    Ok(Json(notes))
}
