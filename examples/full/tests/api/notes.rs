//! The example resource, end to end over HTTP and a real database.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::spawn_app_on;

#[sqlx::test]
async fn a_created_note_can_be_fetched_and_listed(db: PgPool) {
    let app = spawn_app_on(&db).await;

    let created = app
        .client
        .post(app.url("/notes"))
        .json(&json!({ "title": "First", "body": "Hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();

    let fetched = app.get(&format!("/notes/{id}")).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.json::<Value>().await.unwrap(), created);

    let listed: Value = app.get("/notes").await.json().await.unwrap();
    assert_eq!(listed, json!([created]));
}

#[sqlx::test]
async fn an_empty_title_is_a_422_that_says_why(db: PgPool) {
    let app = spawn_app_on(&db).await;

    let response = app
        .client
        .post(app.url("/notes"))
        .json(&json!({ "title": "  " }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "title must not be empty");
}

#[sqlx::test]
async fn an_unknown_note_is_a_404(db: PgPool) {
    let app = spawn_app_on(&db).await;

    let response = app.get("/notes/00000000-0000-0000-0000-000000000000").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_database_error_is_a_generic_500(db: PgPool) {
    let app = spawn_app_on(&db).await;
    sqlx::query("DROP TABLE notes").execute(&db).await.unwrap();

    let response = app.get("/notes").await;

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.text().await.unwrap();
    assert_eq!(body, r#"{"error":"internal error"}"#);
}
