//! Building the service and running it are separate steps: `build` checks the config and binds
//! the port (port 0 picks a free one, as tests do), `run_until_stopped` serves.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::ShutdownConfig;
use crate::config::{Config, HttpConfig};
use crate::health::Readiness;
use crate::http::{self, AppState};
use crate::server;
use crate::shutdown;

/// A service bound to its port, ready to serve.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    http: HttpConfig,
    readiness: Readiness,
    shutdown: ShutdownConfig,
}

impl Application {
    /// Prepares everything that can fail on bad config, then binds the port last: a service
    /// that cannot work never accepts a connection.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let readiness = Readiness::default();
        let state = AppState {
            readiness: readiness.clone(),
        };
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
            readiness,
            shutdown: config.shutdown,
        })
    }

    /// The address actually bound, with the real port when the config asked for port 0.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `stop` resolves, then shuts down gracefully within the deadline (see
    /// [`shutdown::run`]). Production passes [`shutdown::signal`]; tests pass a channel they
    /// control.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "listening");
        let readiness = self.readiness;
        let stop = async move {
            stop.await;
            readiness.set_draining();
        };
        shutdown::run(self.shutdown, stop, |drained| async move {
            server::serve(self.listener, self.router, &self.http, drained).await;
        })
        .await
    }
}
