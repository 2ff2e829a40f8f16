//! The database's schema: `migrate` is not cut short by the serving statement timeout, and a
//! service on a database without its schema is not ready until a one-off `migrate`.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use template_harness::ports::free_port;
use template_harness::postgres::TempDb;
use template_harness::process::{COMMAND_TIMEOUT, Proc, READY_TIMEOUT};
use template_harness::report::{ms, progress};

use crate::SERVICE;

/// `migrate` waits for a lock longer than the serving statement timeout and still succeeds:
/// migrations run without it.
#[test]
fn migrate_ignores_serving_statement_timeout() {
    const HOLD: Duration = Duration::from_millis(1500);
    let db = SERVICE.migrated_db();
    let lock = db.lock_table("_sqlx_migrations");
    let started = Instant::now();
    let mut migrate = SERVICE
        .command(
            "migrate (statement timeout 200 ms, table locked)",
            "migrate",
        )
        .database(&db.url())
        .setting("DATABASE__STATEMENT_TIMEOUT_MS", 200)
        .spawn();
    let mut seen_waiting = None;
    while started.elapsed() < HOLD && migrate.try_exit().is_none() {
        if seen_waiting.is_none() && db.sessions_waiting_for_a_lock() > 0 {
            seen_waiting = Some(started.elapsed());
        }
        thread::sleep(Duration::from_millis(20));
    }
    let running_at_release = migrate.try_exit().is_none();
    drop(lock);
    let released = started.elapsed();
    let status = migrate.expect_exit(COMMAND_TIMEOUT);
    progress(&format!(
        "[faults] migrate with statement timeout 200 ms behind a lock held {} ms: seen waiting after {}, still running at release: {running_at_release}, exit {:?} after {} ms",
        ms(released),
        seen_waiting.map_or("never".to_owned(), |d| format!("{} ms", ms(d))),
        status.code(),
        ms(started.elapsed())
    ));
    assert_eq!(
        status.code(),
        Some(0),
        "`migrate` must wait for the lock, not be cancelled by the serving statement timeout\n{}",
        migrate.describe()
    );
    assert!(
        running_at_release && seen_waiting.is_some(),
        "`migrate` must have waited for the lock the whole time\n{}",
        migrate.describe()
    );
}

/// A database without the schema. `/readyz` fails naming the missing migration, writes fail,
/// and after a one-off `migrate` the same process turns ready and writes work.
#[test]
fn readiness_waits_for_migrations() {
    let db = TempDb::new("faults");
    let mut service = SERVICE
        .launch("serve (database without the schema)")
        .port(free_port())
        .database(&db.url())
        .spawn();
    service.wait_for_status("/livez", 200, READY_TIMEOUT);
    let pid = service.child.id();
    let too_early = not_ready_naming_the_missing_migration(&service);

    let migrate = SERVICE
        .command("migrate (one-off, service running)", "migrate")
        .database(&db.url())
        .run();
    migrate.assert_exit_code(0, "a one-off `migrate` beside the running service succeeds");
    let ready_after = service.wait_for_status("/readyz", 200, Duration::from_secs(5));
    let created = service.post_json("/notes", r#"{"title":"after migrate"}"#);
    assert_eq!(
        created.status,
        201,
        "writes work after `migrate`: {created:?}\n{}",
        service.describe()
    );
    assert!(
        service.try_exit().is_none() && service.child.id() == pid,
        "the same process serves"
    );
    service.stop_cleanly();
    progress(&format!(
        "[faults] after a one-off migrate: /readyz 200 within {} ms, POST /notes {} (before: {too_early}), same process",
        ms(ready_after),
        created.status,
    ));
}

/// Once PostgreSQL itself answers (so only the schema can fail the check), `/readyz` is 503
/// naming the first missing migration, and a write fails. Returns the write's status.
fn not_ready_naming_the_missing_migration(service: &Proc) -> u16 {
    let deadline = Instant::now() + READY_TIMEOUT;
    let readyz = loop {
        let readyz = service.get("/readyz");
        let reached = serde_json::from_str::<Value>(&readyz.body)
            .is_ok_and(|body| body["checks"]["postgres:responseTime"][0]["status"] == "pass");
        if reached || Instant::now() > deadline {
            break readyz;
        }
        thread::sleep(Duration::from_millis(50));
    };
    let output = readyz.json()["checks"]["postgres:migrations"][0]["output"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    progress(&format!(
        "[faults] unmigrated database: /readyz {} with postgres:migrations output {output:?}",
        readyz.status
    ));
    assert_eq!(
        readyz.status,
        503,
        "/readyz must fail while migrations are missing: {readyz:?}\n{}",
        service.describe()
    );
    assert!(
        output.contains("20260101000000"),
        "checks[\"postgres:migrations\"][0].output names the first missing migration: {readyz:?}"
    );
    let write = service.post_json("/notes", r#"{"title":"too early"}"#);
    assert_ne!(write.status, 201, "no write without the schema: {write:?}");
    write.status
}
