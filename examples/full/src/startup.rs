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
/// What a database error suggests: the PostgreSQL that `compose.yaml` runs on this machine.
pub const DATABASE_HINT: &str = "for the compose PostgreSQL: `docker compose up -d --wait db`";

/// A service bound to its port, ready to serve.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    /// Every route behind its middleware, given the state when serving starts.
    routes: Router<AppState>,
    state: AppState,
    config: Config,
    metrics: crate::prometheus::Exposition,
}

impl Application {
    /// Prepares everything that can fail on bad config, then binds the port last: a service
    /// that cannot work never accepts a connection.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Lazy: the service starts, and `/livez` answers, while the database is still away.
        let db = crate::db::pool(&config.database, DATABASE_HINT).await?;
        let state = AppState {
            // What each part's handlers share, as `state.rs` lists it.
            readiness: crate::health::Readiness::default(),
            db,
        };
        crate::db::readiness::register(&state.readiness, &state.db, DATABASE_HINT);
        let metrics =
            crate::prometheus::Exposition::bind(config.host, config.metrics.port, &config.http)
                .await?;
        crate::db::pool_metrics::register(&metrics, &state.db);
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
            metrics,
        })
    }

    /// The address actually bound, with the real port when the config asked for port 0.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` is served.
    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics.address()
    }

    /// Serves until `stop` resolves; then stops accepting, lets the requests in flight finish
    /// and closes what the service holds open. The `serve` command passes the process's stop
    /// signal; tests pass a channel they control.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "listening");
        // Out of rotation first: from the stop on, `/readyz` fails.
        let readiness = self.state.readiness.clone();
        let stop = async move {
            stop.await;
            readiness.set_draining();
        };
        let router = self.routes.with_state(self.state.clone());
        // From the stop on, every response retires the connection it came on.
        let (router, stop) = crate::shutdown::close_connections_from(stop, router);
        let serve = move |stop_accepting| async move {
            server::serve(self.listener, router, &self.config.http, stop_accepting).await;
            // Last, so requests still draining had their connections.
            self.state.db.close().await;
            crate::traces::flush().await;
        };
        let running = crate::shutdown::run(self.config.shutdown, stop, serve);
        // Scrapes are served for exactly as long as the service runs.
        let running = self.metrics.serve_during(running);
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
        .merge(crate::health::router())
        .merge(crate::notes::router())
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
    let routes = crate::telemetry::with_request_span(routes);
    let routes = crate::db::pool_metrics::with_acquire_timeouts_counted(routes);
    let routes = crate::prometheus::with_request_metrics(routes);
    Ok(routes)
}
