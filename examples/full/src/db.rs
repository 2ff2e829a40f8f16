//! PostgreSQL, an attached resource (factor IV): where it is comes from config alone, so a
//! local database, a managed one or a test's own swap without a code change.
//!
//! Migrations in `migrations/` are compiled into the binary and applied by the `migrate`
//! command, a one-off process of the same build and config (factor XII).

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

use crate::config::DatabaseConfig;
use crate::config::ENV_PREFIX;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

impl DatabaseConfig {
    /// Connection settings from the config. Errors name the setting, never its value.
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
        if self.statement_timeout_ms > 0 {
            options = options.options([("statement_timeout", self.statement_timeout_ms)]);
        }
        Ok(options)
    }
}

/// A pool that connects on first use, so the service starts while the database is away and
/// recovers by itself when it is back.
pub fn connect(config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
        .connect_lazy_with(config.connect_options()?))
}

/// Applies pending migrations. Running it again applies nothing.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("cannot apply migrations (is database.url right and the database up?)")?;
    tracing::info!(
        migrations = MIGRATOR.iter().count(),
        "database schema is up to date"
    );
    Ok(())
}

/// Round trip to the database within `timeout`; returns how long it took.
pub async fn ping(pool: &PgPool, timeout: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    tokio::time::timeout(timeout, async {
        let mut connection = pool.acquire().await?;
        connection.ping().await
    })
    .await
    .with_context(|| format!("no answer within {timeout:?}"))?
    .context("cannot reach the database at database.url")?;
    Ok(started.elapsed())
}
