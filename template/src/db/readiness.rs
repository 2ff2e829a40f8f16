//! What `/readyz` asks PostgreSQL: does it answer within [`PING_TIMEOUT`]
//! (`postgres:responseTime`), and has it applied every migration this binary was built with
//! (`postgres:migrations`)? The second needs the first.

use std::collections::BTreeMap;
use std::time::Instant;

use sqlx::PgPool;

use crate::health::{Check, Checks, PING_TIMEOUT, Readiness, Status};

/// Makes `/readyz` ask PostgreSQL, through `pool`, on every call.
pub fn register(readiness: &Readiness, pool: &PgPool) {
    let pool = pool.clone();
    readiness.depends_on(move || checks(pool.clone()));
}

async fn checks(pool: PgPool) -> Checks {
    let started = Instant::now();
    let pending = tokio::time::timeout(PING_TIMEOUT, super::pending_migrations(&pool)).await;
    let elapsed = started.elapsed();
    let pending = match pending {
        Ok(Ok(pending)) => pending,
        failed => {
            let error = match failed {
                Ok(Err(error)) => format!("{error:#}"),
                _ => format!("no answer within {PING_TIMEOUT:?}"),
            };
            // The details go to the log, which only operators read; probes get the gist.
            tracing::warn!(error, "readiness: PostgreSQL check failed");
            let failed = Check {
                component_type: "datastore",
                status: Status::Fail,
                observed_value: None,
                observed_unit: None,
                output: Some("PostgreSQL did not answer".to_owned()),
            };
            return BTreeMap::from([("postgres:responseTime".to_owned(), vec![failed])]);
        }
    };
    let response_time = Check {
        component_type: "datastore",
        status: Status::Pass,
        observed_value: Some(elapsed.as_millis()),
        observed_unit: Some("ms"),
        output: None,
    };
    let migrations = match pending.first() {
        None => Check {
            component_type: "datastore",
            status: Status::Pass,
            observed_value: Some(0),
            observed_unit: Some("pending migrations"),
            output: None,
        },
        Some(first) => {
            let output = format!(
                "migration {first} is not applied ({} pending): run `migrate`",
                pending.len()
            );
            tracing::warn!(%output, "readiness: the database schema is behind this build");
            Check {
                component_type: "datastore",
                status: Status::Fail,
                observed_value: Some(pending.len() as u128),
                observed_unit: Some("pending migrations"),
                output: Some(output),
            }
        }
    };
    BTreeMap::from([
        ("postgres:responseTime".to_owned(), vec![response_time]),
        ("postgres:migrations".to_owned(), vec![migrations]),
    ])
}
