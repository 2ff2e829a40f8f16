//! PostgreSQL, an attached resource (factor IV): where it is comes from config alone, so a
//! local database, a managed one or a test's own swap without a code change.
//!
//! Migrations in `migrations/` are compiled into the binary and applied by the `migrate`
//! command, a one-off process of the same build and config (factor XII).

pub mod pool_metrics;

pub mod readiness;

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use tracing::Span;

use crate::config::DatabaseConfig;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// PostgreSQL's code for "relation does not exist".
const UNDEFINED_TABLE: &str = "42P01";

/// The pool `serve` uses: after applying pending migrations when `database.migrate_on_start`
/// says so, a [`lazy_pool`].
pub async fn pool(config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    if config.migrate_on_start {
        migrate(config).await?;
    }
    lazy_pool(config)
}

/// The pool requests use. It connects on first use, so the service starts while the database is
/// away and recovers by itself when it is back. Every statement gets
/// `database.statement_timeout_ms`.
pub fn lazy_pool(config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    let mut options = config.connect_options()?;
    if config.statement_timeout_ms > 0 {
        options = options.options([("statement_timeout", config.statement_timeout_ms)]);
    }
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
        .connect_lazy_with(options))
}

/// The span of one query: `SELECT notes` for a `SELECT` on the `notes` table. It carries the
/// names the OpenTelemetry conventions give database calls, so whatever a subscriber does with
/// spans (log lines, traces) says which statement ran.
pub fn query_span(operation: &'static str, table: &'static str) -> Span {
    tracing::info_span!(
        "query",
        otel.name = %format_args!("{operation} {table}"),
        otel.kind = "client",
        db.system.name = "postgresql",
        db.operation.name = operation,
        db.collection.name = table,
    )
}

/// Applies pending migrations over a connection of its own. The serving statement timeout does
/// not apply: a migration may take as long as it needs, and another `migrate` running at the same
/// time holds sqlx's advisory lock until it is done. Running it again applies nothing.
pub async fn migrate(config: &DatabaseConfig) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
        .connect_with(config.connect_options()?)
        .await
        .context("cannot connect to the database at database.url to migrate it")?;
    let applied = MIGRATOR.run(&pool).await.context("cannot apply migrations");
    pool.close().await;
    applied?;
    tracing::info!(
        migrations = MIGRATOR.iter().count(),
        "database schema is up to date"
    );
    Ok(())
}

/// Versions of the migrations compiled into this binary that the database has not applied,
/// oldest first. A database ahead of the binary (during a rolling release) is fine.
pub async fn pending_migrations(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let applied: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(applied) => applied,
            // No migration was ever applied: sqlx creates the table with the first one.
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some(UNDEFINED_TABLE) =>
            {
                Vec::new()
            }
            Err(error) => return Err(error),
        };
    Ok(MIGRATOR
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
        .map(|migration| migration.version)
        .filter(|version| !applied.contains(version))
        .collect())
}
