//! Connections at SIGTERM and at the header read timeout: a handler blocked on the database is
//! cut at the shutdown deadline; half a request head and an idle keep-alive connection are
//! closed while other clients are served.

use std::io::Write;
use std::net::TcpStream;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use template_harness::http::{
    self, Response, closed_by_peer, connect, kept_alive_after_one_request,
};
use template_harness::process::Proc;
use template_harness::report::{ms, progress};

use crate::SERVICE;

/// `POST /notes` on a thread of its own (it will wait for a lock): its answer when it comes.
fn post_note_in_the_background(
    port: u16,
    body: &'static str,
) -> JoinHandle<Result<Response, String>> {
    thread::spawn(move || http::request(port, "POST", "/notes", &[], Some(body)))
}

/// SIGTERM while a handler waits for a table lock. The shutdown deadline covers the handler
/// too: exit 1 at the deadline, not when the statement times out.
#[test]
fn sigterm_with_handler_blocked_on_database_exits_at_deadline() {
    const LIMIT: Duration = Duration::from_millis(3500);
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve(
        "serve (deadline 3 s, statement timeout 30 s)",
        &db.url(),
        &[
            ("SHUTDOWN__TIMEOUT_SECS", "3"),
            ("DATABASE__STATEMENT_TIMEOUT_MS", "30000"),
        ],
    );
    let lock = db.lock_table("notes");
    let client = post_note_in_the_background(
        service.port,
        r#"{"title":"blocked","body":"waits for the lock"}"#,
    );
    let blocked_after = db
        .wait_for_a_blocked_session(Duration::from_secs(5))
        .unwrap_or_else(|| {
            panic!(
                "POST /notes never waited for the table lock\n{}",
                service.describe()
            )
        });

    // Long enough to measure today's figure when the deadline does not hold.
    let (status, took) = service.terminate_and_wait(Duration::from_secs(40));
    progress(&format!(
        "[faults] SIGTERM with POST /notes blocked on a lock (seen waiting after {} ms): exit {} after {} ms; deadline 3000 ms, limit {} ms",
        ms(blocked_after),
        status.map_or("none (still running)".to_owned(), |s| format!(
            "{:?}",
            s.code()
        )),
        ms(took),
        ms(LIMIT)
    ));
    let status = status.unwrap_or_else(|| {
        panic!(
            "still running 40 s after SIGTERM (deadline 3 s)\n{}",
            service.describe()
        )
    });
    exits_1_at_the_deadline(&service, status.code(), took, LIMIT);
    drop(lock);
    let answer = client.join().expect("the client thread");
    assert!(
        !answer.as_ref().is_ok_and(|r| r.status == 201),
        "the blocked insert cannot have succeeded while the lock was held: {answer:?}"
    );
}

/// The exit came at the 3 s deadline (not before, and no later than `limit`), with code 1.
fn exits_1_at_the_deadline(service: &Proc, code: Option<i32>, took: Duration, limit: Duration) {
    assert!(
        took <= limit,
        "SIGTERM->exit took {} ms with a handler blocked on the database; the deadline is 3 s\n{}",
        ms(took),
        service.describe()
    );
    assert!(
        took >= Duration::from_millis(2500),
        "SIGTERM->exit took {} ms: the request in flight was not given until the 3 s deadline\n{}",
        ms(took),
        service.describe()
    );
    assert_eq!(
        code,
        Some(1),
        "a drain cut at the deadline exits 1\n{}",
        service.describe()
    );
}

/// A client that stops in the middle of its request head, and an idle keep-alive connection,
/// are both closed after `http.header_read_timeout_secs`, while others are served.
#[test]
fn header_read_timeout_closes_slow_and_idle_connections() {
    let db = SERVICE.migrated_db();
    let service = SERVICE.serve(
        "serve (header read timeout 2 s)",
        &db.url(),
        &[("HTTP__HEADER_READ_TIMEOUT_SECS", "2")],
    );
    let mut half = connect(service.port).expect("connect");
    write!(half, "GET / HTTP/1.1\r\nHost: x\r\n").expect("send half a head");
    let half_sent = Instant::now();
    let idle = kept_alive_after_one_request(service.port);
    let idle_since = Instant::now();

    let half_watch = watch_for_the_close(half, half_sent);
    let idle_watch = watch_for_the_close(idle, idle_since);
    let served = others_are_served_meanwhile(&service, &[&half_watch, &idle_watch], half_sent);
    let (half_closed, half_after) = half_watch.join().expect("watcher");
    let (idle_closed, idle_after) = idle_watch.join().expect("watcher");
    progress(&format!(
        "[faults] header read timeout 2 s: half a head closed={half_closed} after {} ms; idle keep-alive closed={idle_closed} after {} ms; {served} other requests served meanwhile",
        ms(half_after),
        ms(idle_after),
    ));
    for (what, closed, after) in [
        ("a half-sent head", half_closed, half_after),
        ("an idle keep-alive connection", idle_closed, idle_after),
    ] {
        assert!(
            closed,
            "{what} was still open {} ms later (header read timeout 2 s)\n{}",
            ms(after),
            service.describe()
        );
        assert!(
            after >= Duration::from_millis(1800) && after <= Duration::from_secs(4),
            "{what} was closed after {} ms; the header read timeout is 2 s\n{}",
            ms(after),
            service.describe()
        );
    }
    assert!(
        served > 0,
        "no other request was tried while the connections hung"
    );
}

/// Waits up to 6 s on a thread of its own for the service to close `stream`: whether it did,
/// and how long after `since`.
fn watch_for_the_close(mut stream: TcpStream, since: Instant) -> JoinHandle<(bool, Duration)> {
    thread::spawn(move || {
        let closed = closed_by_peer(&mut stream, Duration::from_secs(6));
        (closed, since.elapsed())
    })
}

/// `GET /` every 250 ms, each answered 200, until the watchers finish (or 7 s after `since`);
/// how many were served.
fn others_are_served_meanwhile(
    service: &Proc,
    watchers: &[&JoinHandle<(bool, Duration)>],
    since: Instant,
) -> usize {
    let mut served = 0;
    while !watchers.iter().all(|watcher| watcher.is_finished())
        && since.elapsed() < Duration::from_secs(7)
    {
        let answer = service.get("/");
        assert_eq!(
            answer.status,
            200,
            "another client is served while two connections hang: {answer:?}\n{}",
            service.describe()
        );
        served += 1;
        thread::sleep(Duration::from_millis(250));
    }
    served
}
