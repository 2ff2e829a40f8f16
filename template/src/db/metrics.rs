//! The pool's metrics: open, idle and most connections, read on every scrape, and the requests
//! that gave up waiting for a connection (`db_pool_acquire_timeouts_total`), which say the pool
//! is too small or PostgreSQL too slow before clients notice.

use metrics::Unit;
use sqlx::PgPool;

const CONNECTIONS: &str = "db_pool_connections";
const IDLE: &str = "db_pool_idle_connections";
const MAX: &str = "db_pool_max_connections";
const ACQUIRE_TIMEOUTS: &str = "db_pool_acquire_timeouts_total";

/// What a scrape reads from `pool`, for [`Metrics::observe`](crate::metrics::Metrics::observe).
pub fn observer(pool: PgPool) -> impl Fn() + Send + Sync + 'static {
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
    move || {
        metrics::gauge!(CONNECTIONS).set(f64::from(pool.size()));
        metrics::gauge!(IDLE).set(pool.num_idle() as f64);
        metrics::gauge!(MAX).set(f64::from(pool.options().get_max_connections()));
    }
}

/// Counts `cause` in `db_pool_acquire_timeouts_total` when it is, or was caused by, a request
/// that waited too long for a connection.
pub fn count_acquire_timeout(cause: &anyhow::Error) {
    let timed_out = cause
        .chain()
        .any(|error| matches!(error.downcast_ref(), Some(sqlx::Error::PoolTimedOut)));
    if timed_out {
        metrics::counter!(ACQUIRE_TIMEOUTS).increment(1);
    }
}
