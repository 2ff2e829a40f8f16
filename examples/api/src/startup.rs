//! Building the service and running it are separate steps: `build` checks the config and binds
//! the port (port 0 picks a free one, as tests do), `run_until_stopped` serves.
//!
//! This is where the slices meet: each adds its part of the shared state in `build`.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::{Config, HttpConfig};
use crate::http;
use crate::server;
use crate::state::AppState;

/// A service bound to its port, ready to serve.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    http: HttpConfig,
    metrics: crate::metrics::Exposition,
    state: AppState,
    shutdown: crate::config::ShutdownConfig,
}

impl Application {
    /// Prepares everything that can fail on bad config, then binds the port last: a service
    /// that cannot work never accepts a connection.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let readiness = crate::health::Readiness::default();
        let metrics = crate::metrics::Metrics::install()?;
        let metrics = metrics
            .bind(config.host, config.metrics.port, &config.http)
            .await?;
        let state = AppState {
            // Each slice's part, as `state.rs` lists them.
            readiness,
        };
        let router = http::router(state.clone(), &config.http)?;
        let listener = TcpListener::bind((config.host, config.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            address,
            router,
            http: config.http,
            metrics,
            state,
            shutdown: config.shutdown,
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

    /// Serves until `stop` resolves, then shuts down gracefully within the deadline (see
    /// [`shutdown::run`](crate::shutdown::run)). Production passes
    /// [`shutdown::signal`](crate::shutdown::signal); tests pass a channel they control.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "listening");
        let stopping = self.state.clone();
        let stop = async move {
            stop.await;
            stopping.stop_traffic();
        };
        let serving = crate::shutdown::run(self.shutdown, stop, |drained| async move {
            server::serve(self.listener, self.router, &self.http, drained).await;
            // Last, so requests still draining had their connections.
            self.state.close().await;
        });
        self.metrics.serve_during(serving).await
    }
}
