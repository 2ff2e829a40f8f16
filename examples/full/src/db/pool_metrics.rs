//! The pool's metrics: open, idle and most connections, read on every scrape, and the requests
//! that gave up waiting for a connection (`db_pool_acquire_timeouts_total`), which say the pool
//! is too small or PostgreSQL too slow before clients notice.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use metrics::Unit;
use sqlx::PgPool;

use crate::error::Cause;
use crate::prometheus::Exposition;

const CONNECTIONS: &str = "db_pool_connections";
const IDLE: &str = "db_pool_idle_connections";
const MAX: &str = "db_pool_max_connections";
const ACQUIRE_TIMEOUTS: &str = "db_pool_acquire_timeouts_total";

/// Makes every scrape of `exposition` read the sizes of `pool`.
pub fn register(exposition: &Exposition, pool: &PgPool) {
    metrics::describe_gauge!(CONNECTIONS, Unit::Count, "Connections the pool holds open");
    metrics::describe_gauge!(IDLE, Unit::Count, "Open connections no request is using");
    metrics::describe_gauge!(MAX, Unit::Count, "Most connections the pool opens");
    metrics::describe_counter!(
        ACQUIRE_TIMEOUTS,
        Unit::Count,
        "Requests that waited database.acquire_timeout_ms for a connection and failed"
    );
    // Present from the start, so a rate over it works before the first timeout.
    metrics::counter!(ACQUIRE_TIMEOUTS).increment(0);
    let pool = pool.clone();
    exposition.observe(move || {
        metrics::gauge!(CONNECTIONS).set(f64::from(pool.size()));
        metrics::gauge!(IDLE).set(pool.num_idle() as f64);
        metrics::gauge!(MAX).set(f64::from(pool.options().get_max_connections()));
    });
}

/// Counts the requests of `routes` that failed because they waited too long for a connection.
/// sqlx has no hook for a timed-out acquire, so they are counted where they surface: in the
/// [`Cause`] an internal error leaves in its response.
pub fn with_acquire_timeouts_counted<S>(routes: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes.layer(middleware::from_fn(count_acquire_timeouts))
}

async fn count_acquire_timeouts(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let timed_out = response.extensions().get::<Cause>().is_some_and(|cause| {
        cause
            .0
            .chain()
            .any(|error| matches!(error.downcast_ref(), Some(sqlx::Error::PoolTimedOut)))
    });
    if timed_out {
        metrics::counter!(ACQUIRE_TIMEOUTS).increment(1);
    }
    response
}
