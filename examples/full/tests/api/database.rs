//! Migrations and the pool.

use std::time::Duration;

use secrecy::SecretString;
use sqlx::PgPool;

use full_service::config::DatabaseConfig;
use full_service::db;
use full_service::startup::DATABASE_HINT;

use crate::helpers::url_of;

/// Settings for `db`, with the defaults for everything else.
fn config_for(db: &PgPool) -> DatabaseConfig {
    DatabaseConfig {
        url: Some(SecretString::from(url_of(db))),
        ..DatabaseConfig::default()
    }
}

#[sqlx::test]
async fn migrating_again_changes_nothing(db: PgPool) {
    let again = db::migrate(&config_for(&db), DATABASE_HINT).await;

    assert!(again.is_ok(), "{again:?}");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(applied, db::MIGRATOR.iter().count() as i64);
}

#[sqlx::test(migrations = false)]
async fn pending_migrations_are_those_not_applied_yet(db: PgPool) {
    let before = db::pending_migrations(&db).await.unwrap();
    db::migrate(&config_for(&db), DATABASE_HINT).await.unwrap();
    let after = db::pending_migrations(&db).await.unwrap();

    let compiled: Vec<i64> = db::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(before, compiled);
    assert!(after.is_empty(), "{after:?}");
}

#[sqlx::test]
async fn migrate_is_not_cut_short_by_the_serving_statement_timeout(db: PgPool) {
    // Another session holds the migrations table: `migrate` waits far longer than the
    // statement timeout requests get.
    let mut lock = db.begin().await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let config = DatabaseConfig {
        statement_timeout_ms: 100,
        ..config_for(&db)
    };
    let migrate = tokio::spawn(async move { db::migrate(&config, DATABASE_HINT).await });
    tokio::time::sleep(Duration::from_millis(600)).await;
    lock.commit().await.unwrap();

    let outcome = migrate.await.unwrap();

    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn the_pool_starts_without_a_database() {
    let config = DatabaseConfig {
        url: Some("postgres://app@127.0.0.1:1/app".to_owned().into()),
        ..DatabaseConfig::default()
    };

    let pool = db::lazy_pool(&config);

    assert!(pool.is_ok(), "{:?}", pool.err());
}
