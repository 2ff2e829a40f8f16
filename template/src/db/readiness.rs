//! What `/readyz` asks PostgreSQL: does it answer within [`PING_TIMEOUT`]
//! (`postgres:responseTime`), and has it applied every migration this binary was built with
//! (`postgres:migrations`)? The second needs the first.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::{cause_of, diagnose, unreachable};
use crate::health::{Check, Checks, PING_TIMEOUT, Readiness, Status};

/// The part of [`PING_TIMEOUT`] kept for finding out why PostgreSQL did not answer.
const DIAGNOSIS_TIMEOUT: Duration = Duration::from_millis(100);

/// Makes `/readyz` ask PostgreSQL, through `pool`, on every call. `hint` ends the check's output
/// when PostgreSQL cannot be reached: what to do.
pub fn register(readiness: &Readiness, pool: &PgPool, hint: &'static str) {
    let pool = pool.clone();
    readiness.depends_on(move || checks(pool.clone(), hint));
}

async fn checks(pool: PgPool, hint: &'static str) -> Checks {
    let started = Instant::now();
    let ping = PING_TIMEOUT - DIAGNOSIS_TIMEOUT;
    let pending = tokio::time::timeout(ping, super::pending_migrations(&pool)).await;
    let elapsed = started.elapsed();
    let pending = match pending {
        Ok(Ok(pending)) => pending,
        failed => {
            let options = pool.connect_options();
            let cause = match failed {
                Ok(Err(error)) if !matches!(error, sqlx::Error::PoolTimedOut) => {
                    cause_of(&error, &options)
                }
                _ => diagnose(&options, DIAGNOSIS_TIMEOUT).await,
            };
            // Where and why, never the password: the output says what to fix.
            let output = unreachable(&options, &cause, hint);
            tracing::warn!(error = %output, "readiness: PostgreSQL check failed");
            let failed = Check {
                component_type: "datastore",
                status: Status::Fail,
                observed_value: None,
                observed_unit: None,
                output: Some(output),
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
