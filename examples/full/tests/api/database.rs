//! Migrations and the pool.

use full_service::config::DatabaseConfig;
use full_service::db;

use crate::helpers::test_database;

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let (_, pool) = test_database().await;

    let again = db::migrate(&pool).await;

    assert!(again.is_ok(), "{again:?}");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, db::MIGRATOR.iter().count() as i64);
}

#[tokio::test]
async fn the_pool_starts_without_a_database() {
    let config = DatabaseConfig {
        url: Some("postgres://app@127.0.0.1:1/app".to_owned().into()),
        ..DatabaseConfig::default()
    };

    let pool = db::connect(&config);

    assert!(pool.is_ok(), "{:?}", pool.err());
}
