//! Graceful shutdown (factor IX: disposability): stop quickly and lose nothing in flight.
//!
//! On SIGTERM or SIGINT, readiness fails at once; the service keeps serving for
//! `shutdown.drain_delay_secs` while load balancers take it out of rotation, and every response
//! asks its client to close the connection it came on; then it stops accepting, closes idle
//! connections, lets requests in flight finish and closes its backing services. `shutdown.timeout_secs` after the signal the process exits whatever is still
//! running: a stuck client, a handler waiting on a locked row, a pool waiting for that handler.
//! The platform's grace period is never the limit that ends it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tokio::sync::oneshot;
use tower_http::set_header::SetResponseHeaderLayer;

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

/// From the moment `stop` resolves, every response of `router` says `Connection: close`.
/// Returns the router and `stop`, which marks that moment as it resolves.
///
/// Load balancers and client pools keep HTTP/1.1 connections open and reuse them, and a failing
/// readiness probe stops new connections, not these. Closing such a connection while it is idle
/// races a request its client may already be sending, which then fails with no way to know
/// whether it ran. A response that says `Connection: close` retires the connection without that
/// race: the client sends nothing more on it, hyper closes it once the response is written, and
/// during the drain delay the client opens a new one while the listener still accepts. So when
/// the listener closes, no connection that served a response since the signal is left open.
///
/// A connection idle through the whole drain delay has had no response to carry the header. It
/// is closed with the listener, as the idle timeout (`http.header_read_timeout_secs`) closes idle
/// connections at any other time: a request its client sends at that moment fails as it would
/// then, and HTTP clients retry such a request only when it is idempotent.
pub fn close_connections_from(
    stop: impl Future<Output = ()> + Send + 'static,
    router: Router,
) -> (Router, impl Future<Output = ()> + Send + 'static) {
    let draining = Arc::new(AtomicBool::new(false));
    let close_after_response = {
        let draining = Arc::clone(&draining);
        move |_: &Response| {
            draining
                .load(Ordering::Relaxed)
                .then(|| HeaderValue::from_static("close"))
        }
    };
    let router = router.layer(SetResponseHeaderLayer::overriding(
        header::CONNECTION,
        close_after_response,
    ));
    let stop = async move {
        stop.await;
        draining.store(true, Ordering::Relaxed);
    };
    (router, stop)
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
