//! Graceful shutdown (factor IX: disposability): stop quickly and lose nothing in flight.
//!
//! On SIGTERM or SIGINT, readiness fails at once; the service keeps serving for
//! `shutdown.drain_delay_secs` while load balancers take it out of rotation; then it stops
//! accepting, closes idle connections, lets requests in flight finish and closes its backing
//! services. `shutdown.timeout_secs` after the signal the process exits whatever is still
//! running: a stuck client, a handler waiting on a locked row, a pool waiting for that handler.
//! The platform's grace period is never the limit that ends it.

use std::pin::Pin;
use std::time::Duration;

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

/// Runs `service` until it finishes, or until the deadline cuts it short.
///
/// `service` gets the moment to stop accepting connections: `stop`, then the drain delay.
/// Whatever it does after that (the drain, closing the pool) counts against the deadline, which
/// starts when `stop` resolves. Returns `Ok` after a clean shutdown and an error when the
/// deadline was reached; the caller then exits without waiting for what is still running (see
/// `main`).
pub async fn run<F>(
    config: ShutdownConfig,
    stop: impl Future<Output = ()> + Send + 'static,
    service: impl FnOnce(Drained) -> F,
) -> anyhow::Result<()>
where
    F: Future<Output = ()>,
{
    let drain_delay = Duration::from_secs(config.drain_delay_secs);
    let timeout = Duration::from_secs(config.timeout_secs);
    let (stopping, stopped) = oneshot::channel::<()>();

    let drained: Drained = Box::pin(async move {
        stop.await;
        tracing::info!(?drain_delay, ?timeout, "shutting down");
        // The receiver lives as long as this function runs; nobody to tell otherwise.
        let _ = stopping.send(());
        tokio::time::sleep(drain_delay).await;
        tracing::info!("no longer accepting connections; finishing requests in flight");
    });
    let deadline = async move {
        match stopped.await {
            Ok(()) => tokio::time::sleep(timeout).await,
            Err(_) => std::future::pending().await,
        }
    };

    tokio::select! {
        () = service(drained) => {
            tracing::info!("shutdown complete");
            Ok(())
        }
        () = deadline => {
            tracing::warn!(?timeout, "shutdown deadline reached; exiting with work still open");
            anyhow::bail!("shutdown deadline of {timeout:?} reached with work still open")
        }
    }
}

/// Resolves when the service should stop accepting connections: after the stop signal and the
/// drain delay.
pub type Drained = Pin<Box<dyn Future<Output = ()> + Send>>;
