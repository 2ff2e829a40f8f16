//! Building the service and running it are separate steps: [`Application::build`] checks the
//! config and binds the port (port 0 picks a free one, as tests do), and
//! [`Application::run_until_stopped`] serves until it is told to stop.
//!
//! This is where the service's parts meet. Each module keeps to itself; this file lists, in the
//! order they run, what each part holds, its routes, the layers around every request, and what
//! it does when the service stops.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::{Config, HttpConfig};
use crate::http;
use crate::server;
use crate::state::AppState;

{%- if database and compose %}
/// What a database error suggests: the PostgreSQL that `compose.yaml` runs on this machine.
pub const DATABASE_HINT: &str = "for the compose PostgreSQL: `docker compose up -d --wait db`";
{%- elsif database %}
/// What a database error suggests.
pub const DATABASE_HINT: &str = "check that PostgreSQL runs there and that database.url names it";
{%- endif %}

/// A service bound to its port, ready to serve.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    /// Every route behind its middleware, given the state when serving starts.
    routes: Router<AppState>,
    state: AppState,
    config: Config,
{%- if metrics %}
    metrics: crate::prometheus::Exposition,
{%- endif %}
}

impl Application {
    /// Prepares everything that can fail on bad config, then binds the port last: a service
    /// that cannot work never accepts a connection.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
{%- if database %}
        // Lazy: the service starts, and `/livez` answers, while the database is still away.
        let db = crate::db::pool(&config.database, DATABASE_HINT).await?;
{%- endif %}
        let state = AppState {
            // What each part's handlers share, as `state.rs` lists it.
{%- if health %}
            readiness: crate::health::Readiness::default(),
{%- endif %}
{%- if database %}
            db,
{%- endif %}
        };
{%- if health and database %}
        crate::db::readiness::register(&state.readiness, &state.db, DATABASE_HINT);
{%- endif %}
{%- if metrics %}
        let metrics =
            crate::prometheus::Exposition::bind(config.host, config.metrics.port, &config.http)
                .await?;
{%- endif %}
{%- if metrics and database %}
        crate::db::pool_metrics::register(&metrics, &state.db);
{%- endif %}
        let routes = with_middleware(all_routes(), &config.http)?;
        let listener = TcpListener::bind((config.host, config.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
        Ok(Self {
            address: listener.local_addr()?,
            listener,
            routes,
            state,
            config,
{%- if metrics %}
            metrics,
{%- endif %}
        })
    }

    /// The address actually bound, with the real port when the config asked for port 0.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
{%- if metrics %}

    /// Where `/metrics` is served.
    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics.address()
    }
{%- endif %}

    /// Serves until `stop` resolves; then stops accepting, lets the requests in flight finish
    /// and closes what the service holds open. The `serve` command passes the process's stop
    /// signal; tests pass a channel they control.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "listening");
{%- if health %}
        // Out of rotation first: from the stop on, `/readyz` fails.
        let readiness = self.state.readiness.clone();
        let stop = async move {
            stop.await;
            readiness.set_draining();
        };
{%- endif %}
        let router = self.routes.with_state(self.state.clone());
{%- if shutdown %}
        // From the stop on, every response retires the connection it came on.
        let (router, stop) = crate::shutdown::close_connections_from(stop, router);
{%- endif %}
        let serve = move |stop_accepting| async move {
            server::serve(self.listener, router, &self.config.http, stop_accepting).await;
            // Last, so requests still draining had their connections.
{%- if database %}
            self.state.db.close().await;
{%- endif %}
{%- if otel %}
            crate::traces::flush().await;
{%- endif %}
        };
{%- if shutdown %}
        let running = crate::shutdown::run(self.config.shutdown, stop, serve);
{%- else %}
        let running = async move {
            serve(stop).await;
            Ok(())
        };
{%- endif %}
{%- if metrics %}
        // Scrapes are served for exactly as long as the service runs.
        let running = self.metrics.serve_during(running);
{%- endif %}
        running.await
    }
}

/// Every route and its middleware, but no socket: tests call it with `tower::ServiceExt::oneshot`.
///
/// Fails when the config holds a value no layer can use, such as a malformed CORS origin.
pub fn router(state: AppState, config: &HttpConfig) -> anyhow::Result<Router> {
    Ok(with_middleware(all_routes(), config)?.with_state(state))
}

/// The service's routes: each part's, merged.
pub fn all_routes() -> Router<AppState> {
    Router::new()
        .merge(http::routes())
{%- if health %}
        .merge(crate::health::router())
{%- endif %}
{%- if database %}
        .merge(crate::notes::router())
{%- endif %}
        // Unknown paths and methods get the same JSON error body as every other failure.
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
}

/// Puts `routes` behind every layer a request passes through: first those of
/// [`http::with_layers`], then, outside them, those that observe every answer, including the
/// ones the inner layers make themselves. Public so tests can put routes of their own behind it.
pub fn with_middleware<S>(routes: Router<S>, config: &HttpConfig) -> anyhow::Result<Router<S>>
where
    S: Clone + Send + Sync + 'static,
{
    let routes = http::with_layers(routes, config)?;
{%- if logging or otel %}
    let routes = crate::telemetry::with_request_span(routes);
{%- endif %}
{%- if metrics and database %}
    let routes = crate::db::pool_metrics::with_acquire_timeouts_counted(routes);
{%- endif %}
{%- if metrics %}
    let routes = crate::prometheus::with_request_metrics(routes);
{%- endif %}
    Ok(routes)
}
