//! The HTTP server: accepts connections and serves the router on each (factor VII: the service
//! binds its own port).
//!
//! hyper serves every connection here rather than `axum::serve`, because `axum::serve` sets no
//! timer: without one, a client that opens a connection and sends its request head slowly, or
//! not at all, holds that connection for as long as the process runs. With the timer,
//! `http.header_read_timeout_secs` bounds the wait for every request head. On a kept-alive
//! connection that wait starts when the previous response is sent, so the same limit closes idle
//! keep-alive connections.
//!
//! Connections speak HTTP/1.1: TLS and HTTP/2 end at the load balancer or ingress in front of the
//! service.

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::config::HttpConfig;

/// Serves `router` on `listener` until `stop` resolves; then stops accepting, lets requests in
/// flight finish, closes idle connections and returns once every connection is closed.
///
/// It waits for open connections without a limit: the shutdown deadline is the caller's.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &HttpConfig,
    stop: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(config.header_read_timeout_secs));
    let connections = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);

    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin, then go on.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Clients that vanish or time out end here; they are theirs to report, not ours.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }

    drop(listener);
    connections.shutdown().await;
}
