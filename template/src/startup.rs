//! Building the service and running it are separate steps: `build` checks the config and binds
//! the port (port 0 picks a free one, as tests do), `run_until_stopped` serves.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
{%- if database and shutdown %}
use sqlx::PgPool;
{%- endif %}
use tokio::net::TcpListener;

{% if shutdown -%}
use crate::config::ShutdownConfig;
{% endif -%}
use crate::config::{Config, HttpConfig};
{%- if database %}
use crate::db;
{%- endif %}
{%- if health %}
use crate::health::Readiness;
{%- endif %}
use crate::http::{self, AppState};
use crate::server;
{%- if shutdown %}
use crate::shutdown;
{%- endif %}

/// A service bound to its port, ready to serve.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    http: HttpConfig,
{%- if health and shutdown %}
    readiness: Readiness,
{%- endif %}
{%- if database and shutdown %}
    db: PgPool,
{%- endif %}
{%- if shutdown %}
    shutdown: ShutdownConfig,
{%- endif %}
}

impl Application {
    /// Prepares everything that can fail on bad config, then binds the port last: a service
    /// that cannot work never accepts a connection.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
{%- if database %}
        if config.database.migrate_on_start {
            db::migrate(&config.database).await?;
        }
        // Lazy: the service starts, and `/livez` answers, while the database is still away.
        let db = db::lazy_pool(&config.database)?;
{%- endif %}
{%- if health %}
        let readiness = Readiness::default();
{%- endif %}
{%- if health and database %}
        let state = AppState {
            readiness: readiness.clone(),
            db: db.clone(),
        };
{%- elsif health %}
        let state = AppState {
            readiness: readiness.clone(),
        };
{%- elsif database %}
        let state = AppState { db: db.clone() };
{%- else %}
        let state = AppState::default();
{%- endif %}
        let router = http::router(state, &config.http)?;
        let listener = TcpListener::bind((config.host, config.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            address,
            router,
            http: config.http,
{%- if health and shutdown %}
            readiness,
{%- endif %}
{%- if database and shutdown %}
            db,
{%- endif %}
{%- if shutdown %}
            shutdown: config.shutdown,
{%- endif %}
        })
    }

    /// The address actually bound, with the real port when the config asked for port 0.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
{%- if shutdown %}

    /// Serves until `stop` resolves, then shuts down gracefully within the deadline (see
    /// [`shutdown::run`]). Production passes [`shutdown::signal`]; tests pass a channel they
    /// control.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "listening");
{%- if health %}
        let readiness = self.readiness;
        let stop = async move {
            stop.await;
            readiness.set_draining();
        };
{%- endif %}
        shutdown::run(self.shutdown, stop, |drained| async move {
            server::serve(self.listener, self.router, &self.http, drained).await;
{%- if database %}
            // Last, so requests still draining had their connections.
            self.db.close().await;
{%- endif %}
        })
        .await
    }
{%- else %}

    /// Serves until the process is killed.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "listening");
        let never = std::future::pending();
        server::serve(self.listener, self.router, &self.http, never).await;
        Ok(())
    }
{%- endif %}
}
