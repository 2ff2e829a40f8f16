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
}

impl Application {
    /// Prepares everything that can fail on bad config, then binds the port last: a service
    /// that cannot work never accepts a connection.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let state = AppState {
            // Each slice's part, as `state.rs` lists them.
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
        })
    }

    /// The address actually bound, with the real port when the config asked for port 0.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until the process is killed.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "listening");
        let never = std::future::pending();
        let serving = server::serve(self.listener, self.router, &self.http, never);
        serving.await;
        Ok(())
    }
}
