//! PostgreSQL, an attached resource (factor IV): where it is comes from config alone, so a
//! local database, a managed one or a test's own swap without a code change.
//!
//! Migrations in `migrations/` are compiled into the binary and applied by the `migrate`
//! command, a one-off process of the same build and config (factor XII).

pub mod pool_metrics;

pub mod readiness;

use std::io::ErrorKind;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, PgPool};
use tracing::Span;

use crate::config::DatabaseConfig;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// PostgreSQL's code for "relation does not exist".
const UNDEFINED_TABLE: &str = "42P01";
/// PostgreSQL's code for a wrong password.
const INVALID_PASSWORD: &str = "28P01";
/// PostgreSQL's code for "database does not exist".
const INVALID_CATALOG_NAME: &str = "3D000";

/// The pool `serve` uses: after applying pending migrations when `database.migrate_on_start`
/// says so, a [`lazy_pool`]. `hint` ends a connection error (see [`unreachable`]).
pub async fn pool(config: &DatabaseConfig, hint: &str) -> anyhow::Result<PgPool> {
    if config.migrate_on_start {
        migrate(config, hint).await?;
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
/// time holds sqlx's advisory lock until it is done. Running it again applies nothing. `hint`
/// ends a connection error (see [`unreachable`]).
pub async fn migrate(config: &DatabaseConfig, hint: &str) -> anyhow::Result<()> {
    let options = config.connect_options()?;
    let wait = Duration::from_millis(config.acquire_timeout_ms);
    let connected = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(wait)
        .connect_with(options.clone())
        .await;
    let pool = match connected {
        Ok(pool) => pool,
        Err(sqlx::Error::PoolTimedOut) => {
            let cause = diagnose(&options, wait).await;
            bail!("cannot migrate: {}", unreachable(&options, &cause, hint))
        }
        Err(error) => {
            let cause = cause_of(&error, &options);
            bail!("cannot migrate: {}", unreachable(&options, &cause, hint))
        }
    };
    let applied = MIGRATOR.run(&pool).await.context("cannot apply migrations");
    pool.close().await;
    applied?;
    tracing::info!(
        migrations = MIGRATOR.iter().count(),
        "database schema is up to date"
    );
    Ok(())
}

/// Says that PostgreSQL could not be reached and what to do about it: where it was asked (host,
/// port and database, never the password or the URL, which can hold it), why it failed, and
/// `hint`, what to do.
pub fn unreachable(options: &PgConnectOptions, cause: &str, hint: &str) -> String {
    format!(
        "cannot connect to PostgreSQL at {}:{} (database {}): {cause}; {hint}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(options.get_username()),
    )
}

/// The cause of a failed connection, in words that say what to fix. PostgreSQL's own messages
/// name the user or the database, never the password.
pub fn cause_of(error: &sqlx::Error, options: &PgConnectOptions) -> String {
    match error {
        sqlx::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => {
            "connection refused: nothing listens on that port".to_owned()
        }
        // The resolver's error, as the standard library words it.
        sqlx::Error::Io(io) if io.to_string().starts_with("failed to lookup address") => {
            format!("unknown host ({io})")
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(database) => match database.code().as_deref() {
            Some(INVALID_PASSWORD) => format!(
                "wrong password for user {}: check the password in the settings",
                options.get_username()
            ),
            Some(INVALID_CATALOG_NAME) => format!(
                "database {} does not exist: create it, or name one that does",
                options.get_database().unwrap_or(options.get_username())
            ),
            code => format!("{} ({})", database.message(), code.unwrap_or_default()),
        },
        sqlx::Error::PoolTimedOut => "no connection came free in time".to_owned(),
        other => other.to_string(),
    }
}

/// Why a pool got no connection in time. A pool retries a refused connection until its timeout
/// and then says only that it timed out, so one connection of its own, given `within`, finds the
/// cause.
pub async fn diagnose(options: &PgConnectOptions, within: Duration) -> String {
    match tokio::time::timeout(within, PgConnection::connect_with(options)).await {
        Ok(Err(error)) => cause_of(&error, options),
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            "no free connection in time, though PostgreSQL accepts new ones".to_owned()
        }
        Err(_) => "no answer in time".to_owned(),
    }
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
