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
//! When told to stop, it closes the listener after taking the connections still queued on it,
//! lets requests in flight finish, closes idle connections, and gives connections that have
//! sent nothing yet a moment for their first request: a client that just opened one is sending
//! it, and closing the connection under it would lose that request.
//!
//! Connections speak HTTP/1.1: TLS and HTTP/2 end at the load balancer or ingress in front of the
//! service.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::config::HttpConfig;

/// How long a connection that has sent nothing yet may still send its first request once the
/// service stops accepting. Clients write their request as soon as the connection opens: this
/// covers the network in front of the service, and is short next to the shutdown deadline.
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

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
    // Every connection holds a receiver: `true` asks it to close, and the sender learns when
    // the last connection is gone.
    let (closing, connections) = watch::channel(false);
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
        spawn_connection(&http, stream, &router, &connections);
    }

    for stream in close_taking_queued(listener) {
        spawn_connection(&http, stream, &router, &connections);
    }
    drop(connections);
    // An error means every connection has already ended: nothing to tell.
    let _ = closing.send(true);
    closing.closed().await;
}

/// Serves one connection on a task of its own until it ends, or, once `closing` says so, until
/// the request in flight is answered. An idle connection then closes at once; one that has sent
/// nothing yet gets [`FIRST_REQUEST_GRACE`] for its first request, since its client opened it to
/// send one and may be sending it now.
fn spawn_connection(
    http: &http1::Builder,
    stream: TcpStream,
    router: &Router,
    closing: &watch::Receiver<bool>,
) {
    let requested = Arc::new(Notify::new());
    let service = {
        let router = TowerToHyperService::new(router.clone());
        let requested = Arc::clone(&requested);
        service_fn(move |request| {
            requested.notify_one();
            router.call(request)
        })
    };
    let connection = http.serve_connection(TokioIo::new(stream), service);
    let mut closing = closing.clone();
    tokio::spawn(async move {
        let mut connection = std::pin::pin!(connection);
        let asked_to_close = async {
            // An error means the server is gone; close as if asked.
            let _ = closing.wait_for(|closing| *closing).await;
            // A request that came before leaves a permit: no wait then.
            let _ = tokio::time::timeout(FIRST_REQUEST_GRACE, requested.notified()).await;
        };
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            () = asked_to_close => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        // Clients that vanish or time out end here; they are theirs to report, not ours.
        if let Err(error) = ended {
            tracing::debug!(%error, "connection closed with an error");
        }
    });
}

/// Closes `listener`, first taking the connections waiting in its queue. The kernel opened them
/// before the stop and their clients may already be sending on them: closing the listener
/// with them queued would reset them.
fn close_taking_queued(listener: TcpListener) -> Vec<TcpStream> {
    let Ok(listener) = listener.into_std() else {
        return Vec::new();
    };
    let mut queued = Vec::new();
    // The listener does not block: `accept` fails with `WouldBlock` once the queue is empty.
    while let Ok((stream, _peer)) = listener.accept() {
        let stream = stream
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(stream));
        if let Ok(stream) = stream {
            queued.push(stream);
        }
    }
    queued
}
