//! PostgreSQL, an attached resource (factor IV): where it is comes from config alone, so a
//! local database, a managed one or a test's own swap without a code change.
//!
//! Migrations in `migrations/` are compiled into the binary and applied by the `migrate`
//! command, a one-off process of the same build and config (factor XII).

use std::time::Duration;

use anyhow::{Context, ensure};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DatabaseConfig;
use crate::config::ENV_PREFIX;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// PostgreSQL's code for "relation does not exist".
const UNDEFINED_TABLE: &str = "42P01";

impl DatabaseConfig {
    /// Where the database is and how to log in, without the limits that serving adds. Errors name
    /// the setting, never its value.
    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        let url = self.url.as_ref().with_context(|| {
            format!("database.url is not set: set DATABASE_URL or {ENV_PREFIX}DATABASE__URL")
        })?;
        let url = url.expose_secret();
        ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "database.url must start with postgres:// or postgresql://"
        );
        let mut options: PgConnectOptions = url
            .parse()
            .context("database.url is not a valid PostgreSQL URL")?;
        if let Some(password) = &self.password {
            options = options.password(password.expose_secret());
        }
        Ok(options)
    }
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
