//! The probes and the `healthcheck` command.

{% if database -%}
use std::time::{Duration, Instant};

{% endif -%}
use axum::http::StatusCode;
{%- if database %}
use secrecy::SecretString;
{%- endif %}
use serde_json::Value;
{%- if database %}
use sqlx::PgPool;
{%- endif %}
use tokio::net::TcpListener;

{% if database -%}
use {{crate_name}}::config::DatabaseConfig;
use {{crate_name}}::db;
{% endif -%}
use {{crate_name}}::health;
{%- if database %}
use {{crate_name}}::startup::DATABASE_HINT;
{%- endif %}

{% if database -%}
use crate::helpers::{spawn_app, spawn_app_on, spawn_app_with, url_of};
{% else -%}
use crate::helpers::spawn_app;
{% endif -%}

#[tokio::test]
async fn livez_passes_as_uncached_health_json() {
    let app = spawn_app().await;

    let response = app.get("/livez").await;

    let body = passing_health_json(response).await;
    assert!(body.get("checks").is_none(), "{body}");
}
{%- if database %}

#[sqlx::test]
async fn readyz_passes_when_the_database_answers_and_is_migrated(db: PgPool) {
    let app = spawn_app_on(&db).await;

    let response = app.get("/readyz").await;

    let body = passing_health_json(response).await;
    let postgres = &body["checks"]["postgres:responseTime"][0];
    assert_eq!(postgres["status"], "pass");
    assert_eq!(postgres["observedUnit"], "ms");
    assert_eq!(body["checks"]["postgres:migrations"][0]["status"], "pass");
}

#[sqlx::test(migrations = false)]
async fn readyz_fails_until_the_migrations_are_applied(db: PgPool) {
    let app = spawn_app_on(&db).await;
    let first = db::MIGRATOR.iter().next().expect("a migration").version;

    let before = app.get("/readyz").await;
    assert_eq!(before.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = before.json().await.unwrap();
    let migrations = &body["checks"]["postgres:migrations"][0];
    assert_eq!(migrations["status"], "fail", "{body}");
    let output = migrations["output"].as_str().unwrap_or_default();
    assert!(output.contains(&first.to_string()), "{body}");

    let config = DatabaseConfig {
        url: Some(SecretString::from(url_of(&db))),
        ..DatabaseConfig::default()
    };
    db::migrate(&config, DATABASE_HINT).await.unwrap();

    // The same process, no restart.
    passing_health_json(app.get("/readyz").await).await;
}

#[tokio::test]
async fn without_the_database_readyz_fails_fast_and_livez_still_passes() {
    let app = spawn_app_with(|config| {
        // Nothing listens on port 1: the database is "down".
        config.database.url = Some(SecretString::from(
            "postgres://postgres:hunter2@127.0.0.1:1/app".to_owned(),
        ));
    })
    .await;

    let started = Instant::now();
    let ready = app.get("/readyz").await;
    let elapsed = started.elapsed();
    let live = app.get("/livez").await;

    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    let body = ready.text().await.unwrap();
    assert!(!body.contains("hunter2"), "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "fail");
    let check = &body["checks"]["postgres:responseTime"][0];
    assert_eq!(check["status"], "fail");
    // Where it tried and why, with what to do: never the password.
    let output = check["output"].as_str().unwrap_or_default();
    for said in ["127.0.0.1:1", "connection refused", DATABASE_HINT] {
        assert!(output.contains(said), "{said:?} missing from {output:?}");
    }
    assert_eq!(live.status(), StatusCode::OK);
}
{%- else %}

#[tokio::test]
async fn readyz_passes_when_the_service_is_ready() {
    let app = spawn_app().await;

    let response = app.get("/readyz").await;

    passing_health_json(response).await;
}
{%- endif %}

#[tokio::test]
async fn healthcheck_asks_livez_and_with_ready_asks_readyz() {
    let app = spawn_app().await;
    let ready = app.get("/readyz").await.status() == StatusCode::OK;

    let live = health::probe(app.address.port(), false).await;
    let probed_ready = health::probe(app.address.port(), true).await;

    assert!(live.is_ok(), "{live:?}");
    assert_eq!(probed_ready.is_ok(), ready, "{probed_ready:?}");
}

#[tokio::test]
async fn healthcheck_fails_when_nothing_listens() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);

    for ready in [false, true] {
        let outcome = health::probe(port, ready).await;

        assert!(outcome.is_err());
    }
}

/// Checks a probe answered 200 with uncached health JSON whose status is `pass`; returns the body.
async fn passing_health_json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/health+json");
    assert_eq!(headers["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "pass", "{body}");
    body
}
