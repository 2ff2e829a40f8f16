//! Graceful shutdown (factor IX: disposability): stop quickly and lose nothing in flight.
//!
//! On SIGTERM or SIGINT, readiness fails at once; the service keeps serving for
//! `shutdown.drain_delay_secs` while load balancers take it out of rotation; then it stops
//! accepting, closes idle connections and lets requests in flight finish. Whatever is still
//! open `shutdown.timeout_secs` after the signal is dropped, so a stuck client (one that never
//! finishes sending its headers, say) cannot hold the process past the platform's grace period.

use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::ShutdownConfig;

/// Resolves when the process is asked to stop: SIGTERM from an orchestrator or `docker stop`,
/// SIGINT from Ctrl-C.
pub async fn signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// Serves `router` until `stop` resolves, then drains as the module docs describe.
///
/// Returns `Ok` after a clean drain and an error when the deadline cut it short.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ShutdownConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let drain_delay = Duration::from_secs(config.drain_delay_secs);
    let timeout = Duration::from_secs(config.timeout_secs);
    let (stopping, stopped) = oneshot::channel::<()>();

    let drain = async move {
        stop.await;
        tracing::info!(?drain_delay, ?timeout, "shutting down");
        // The receiver lives as long as `serve` does; nobody to tell otherwise.
        let _ = stopping.send(());
        tokio::time::sleep(drain_delay).await;
        tracing::info!("no longer accepting connections; finishing requests in flight");
    };
    // axum waits for open connections without a limit; the deadline races it.
    let deadline = async move {
        match stopped.await {
            Ok(()) => tokio::time::sleep(timeout).await,
            Err(_) => std::future::pending().await,
        }
    };

    tokio::select! {
        served = axum::serve(listener, router).with_graceful_shutdown(drain).into_future() => {
            served.context("the server failed")?;
            tracing::info!("shutdown complete");
            Ok(())
        }
        () = deadline => {
            tracing::warn!(?timeout, "shutdown deadline reached; dropping open connections");
            anyhow::bail!("shutdown deadline of {timeout:?} reached with connections still open")
        }
    }
}
