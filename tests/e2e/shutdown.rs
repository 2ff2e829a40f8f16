//! Graceful shutdown on SIGTERM, seen from outside: no request log line is lost, a request in
//! flight finishes while readiness fails, idle connections do not hold the process and stuck
//! ones are cut at the deadline; and the `healthcheck` command, which probes liveness or
//! readiness the way a container engine would.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, PipeReader, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use template_harness::http::{
    closed_by_peer, connect, kept_alive_after_one_request, read_response, still_open,
};
use template_harness::ports::{accepts_connections, free_port};
use template_harness::postgres::TempDb;
use template_harness::process::{EXIT_TIMEOUT, Proc};
use template_harness::random::random_hex;
use template_harness::report::{list_ms, ms, progress};

use crate::SERVICE;

/// Keep-alive connections [`sigterm_loses_no_log_line`] sends on.
const LOGGED_CONNECTIONS: usize = 4;
/// Requests on each of them: fewer in all than the log writer's queue holds, so no request
/// waits on the log.
const LOGGED_REQUESTS: usize = 1500;

/// The request log is written by a thread of its own, off the request path, and a clean
/// shutdown loses none of it, even with the log collector behind. Stdout is a pipe this test
/// does not read until SIGTERM, so the pipe fills at once and nearly every line is still queued
/// in the service when the signal comes. After the exit every request id has exactly one
/// request log line, and the last line is `shutdown complete`.
#[test]
fn sigterm_loses_no_log_line() {
    let db = SERVICE.migrated_db();
    let (collector, stdout) = std::io::pipe().expect("a pipe for stdout");
    let mut service = SERVICE
        .launch("serve (log collector behind)")
        .port(free_port())
        .database(&db.url())
        .stdout_to(stdout)
        .spawn();
    service.wait_ready();
    let run = random_hex();
    let started = Instant::now();
    send_logged_requests(service.port, &run);
    let sent = started.elapsed();

    let (lines, exit) = sigterm_then_catch_up(&mut service, collector);
    every_request_is_logged_once(&lines, &run);
    assert_eq!(
        lines.last().map(|line| line["message"].clone()),
        Some("shutdown complete".into()),
        "the last line is `shutdown complete`, logged just before the exit; the last lines were\n{:?}",
        &lines[lines.len().saturating_sub(3)..]
    );
    progress(&format!(
        "[e2e] request log behind a stalled collector: {} requests in {} ms on \
         {LOGGED_CONNECTIONS} connections, SIGTERM->exit {} ms (writing the queue out), \
         {} request lines and `shutdown complete` after the exit",
        LOGGED_CONNECTIONS * LOGGED_REQUESTS,
        ms(sent),
        ms(exit),
        LOGGED_CONNECTIONS * LOGGED_REQUESTS
    ));
}

/// [`LOGGED_REQUESTS`] `GET /` on each of [`LOGGED_CONNECTIONS`] keep-alive connections at
/// once, with the request ids `log-<run>-<connection>-<n>`; every answer 200.
fn send_logged_requests(port: u16, run: &str) {
    let senders: Vec<_> = (0..LOGGED_CONNECTIONS)
        .map(|connection| {
            let run = run.to_owned();
            thread::spawn(move || {
                let mut stream = connect(port).expect("connect");
                stream.set_nodelay(true).expect("TCP_NODELAY");
                for n in 0..LOGGED_REQUESTS {
                    // One write per request: pieces would wait on Nagle and delayed ACKs.
                    let request = format!(
                        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-request-id: log-{run}-{connection}-{n}\r\n\r\n"
                    );
                    stream.write_all(request.as_bytes()).expect("send a request");
                    let response = read_response(&mut stream).expect("an answer");
                    assert_eq!(response.status, 200, "{response:?}");
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().expect("a sending thread");
    }
}

/// SIGTERM, and only then the collector reads stdout; exit 0. Every line as JSON, and how long
/// the exit took.
fn sigterm_then_catch_up(service: &mut Proc, collector: PipeReader) -> (Vec<Value>, Duration) {
    let signalled = Instant::now();
    service.terminate();
    let reading = thread::spawn(move || {
        BufReader::new(collector)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let status = service.expect_exit(EXIT_TIMEOUT);
    let exit = signalled.elapsed();
    let lines = reading.join().expect("the collecting thread");
    assert_eq!(status.code(), Some(0), "{}", service.describe());
    let logs = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line cut short or not JSON ({e}): {line}"))
        })
        .collect();
    (logs, exit)
}

fn every_request_is_logged_once(logs: &[Value], run: &str) {
    let mut seen = HashMap::<String, usize>::new();
    for line in logs {
        if let Some(id) = line["span"]["request_id"].as_str()
            && id.starts_with(&format!("log-{run}-"))
            && line.get("status").is_some()
        {
            *seen.entry(id.to_owned()).or_default() += 1;
        }
    }
    let expected = LOGGED_CONNECTIONS * LOGGED_REQUESTS;
    let missing: Vec<String> = (0..LOGGED_CONNECTIONS)
        .flat_map(|c| (0..LOGGED_REQUESTS).map(move |n| (c, n)))
        .map(|(c, n)| format!("log-{run}-{c}-{n}"))
        .filter(|id| !seen.contains_key(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {expected} answered requests have no log line after a clean exit (first: {:?}); \
         the log writer's queue was not written out",
        missing.len(),
        missing.first()
    );
    let repeated = seen.values().filter(|&&count| count > 1).count();
    assert_eq!(
        repeated, 0,
        "{repeated} requests were logged more than once"
    );
}

/// SIGTERM while a request's body is still arriving; readiness fails at once, the request
/// completes, the process exits 0.
#[test]
fn sigterm_lets_slow_request_finish() {
    let db = TempDb::new("e2e");
    let mut service = SERVICE.serve(
        "serve (drain delay 2 s)",
        &db.url(),
        &[
            ("DATABASE__MIGRATE_ON_START", "true"),
            ("SHUTDOWN__DRAIN_DELAY_SECS", "2"),
        ],
    );
    let mut slow = SlowPost::start(service.port);

    let signalled = Instant::now();
    service.terminate();
    let not_ready_after = readiness_fails_at_once_but_requests_are_served(&service, signalled);
    let listener_closed_after = the_listener_closes_after_the_drain_delay(&service, signalled);
    slow.completes_with_201(&mut service);

    let status = service.expect_exit(EXIT_TIMEOUT);
    let exited_after = signalled.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "a clean drain exits 0\n{}",
        service.describe()
    );
    slow.is_logged_and_stored(&service, &db);
    progress(&format!(
        "[e2e] SIGTERM with a slow POST: /readyz 503 after {} ms, listener closed after {} ms, POST 201, exit 0 after {} ms",
        ms(not_ready_after),
        ms(listener_closed_after),
        ms(exited_after)
    ));
}

/// A `POST /notes` whose head and first half of the body are sent before SIGTERM, the rest
/// after the listener closed.
struct SlowPost {
    stream: TcpStream,
    request_id: String,
    rest: &'static str,
}

impl SlowPost {
    const BODY: &'static str =
        r#"{"title":"slow note","body":"sent in two halves around SIGTERM"}"#;

    fn start(port: u16) -> Self {
        let request_id = format!("e2e-slow-{}", random_hex());
        let (first_half, rest) = Self::BODY.split_at(Self::BODY.len() / 2);
        let mut stream = connect(port).expect("connect for the slow request");
        write!(
            stream,
            "POST /notes HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nx-request-id: {request_id}\r\n\r\n{first_half}",
            Self::BODY.len()
        )
        .expect("send the head and half the body");
        thread::sleep(Duration::from_millis(300));
        Self {
            stream,
            request_id,
            rest,
        }
    }

    fn completes_with_201(&mut self, service: &mut Proc) {
        assert!(
            service.try_exit().is_none(),
            "the process exited with a request in flight\n{}",
            service.describe()
        );
        self.stream
            .write_all(self.rest.as_bytes())
            .expect("send the rest of the body");
        let response = read_response(&mut self.stream).unwrap_or_else(|e| {
            panic!(
                "the slow request got no response: {e}\n{}",
                service.describe()
            )
        });
        assert_eq!(
            response.status,
            201,
            "the request in flight completes: {response:?}\n{}",
            service.describe()
        );
        assert_eq!(response.json()["title"], "slow note");
    }

    /// After the exit: the drain is logged, and so is the request, whose note is stored.
    fn is_logged_and_stored(&self, service: &Proc, db: &TempDb) {
        for message in ["SIGTERM received", "shutting down", "shutdown complete"] {
            assert!(
                service.logged(message),
                "the logs show `{message}`\n{}",
                service.describe()
            );
        }
        assert!(
            service
                .find_log(
                    |line| line["span"]["request_id"] == self.request_id.as_str()
                        && line["status"] == 201
                )
                .is_some(),
            "the slow request is logged with 201\n{}",
            service.describe()
        );
        let stored = db.psql("SELECT count(*) FROM notes WHERE title = 'slow note'");
        assert_eq!(stored, "1", "the note is stored");
    }
}

/// `/readyz` answers 503 within 1 s of SIGTERM, on a new connection, while the listener is
/// still open and other requests are still served. Returns when it failed.
fn readiness_fails_at_once_but_requests_are_served(service: &Proc, signalled: Instant) -> Duration {
    let (readyz, not_ready_after) = loop {
        let readyz = service.get("/readyz");
        if readyz.status == 503 || signalled.elapsed() > Duration::from_secs(1) {
            break (readyz, signalled.elapsed());
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        readyz.status,
        503,
        "/readyz answers 503 within 1 s of SIGTERM: {readyz:?}\n{}",
        service.describe()
    );
    assert_eq!(readyz.json()["status"], "fail", "{readyz:?}");
    let during_drain = service.get("/");
    assert_eq!(
        during_drain.status,
        200,
        "requests are still served during the drain delay: {during_drain:?}\n{}",
        service.describe()
    );
    not_ready_after
}

/// The listener closes after the 2 s drain delay, not before and not much later. Returns when.
fn the_listener_closes_after_the_drain_delay(service: &Proc, signalled: Instant) -> Duration {
    let closed_after = loop {
        if !accepts_connections(service.port) {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "the listener is still open 5 s after SIGTERM (drain delay 2 s)\n{}",
            service.describe()
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert!(
        closed_after >= Duration::from_millis(1800),
        "the listener closed after {} ms, before the 2 s drain delay\n{}",
        ms(closed_after),
        service.describe()
    );
    closed_after
}

/// An idle keep-alive connection does not hold the process.
#[test]
fn idle_keep_alive_does_not_delay_exit() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve("serve (idle keep-alive)", &db.url(), &[]);
    let mut idle = an_idle_keep_alive_connection(service.port);

    let (status, took) = service.terminate_and_expect_exit(EXIT_TIMEOUT);
    assert_eq!(
        status.code(),
        Some(0),
        "an idle connection is closed, not waited for: exit 0\n{}",
        service.describe()
    );
    assert!(
        took < Duration::from_secs(2),
        "SIGTERM->exit took {} ms with an idle keep-alive connection (drain delay 0, deadline 8 s)\n{}",
        ms(took),
        service.describe()
    );
    assert!(
        closed_by_peer(&mut idle, Duration::from_secs(1)),
        "the idle connection was closed by the service"
    );
    assert!(
        service.logged("shutdown complete"),
        "a clean drain logs `shutdown complete`\n{}",
        service.describe()
    );
    progress(&format!(
        "[e2e] idle keep-alive connection: SIGTERM->exit {} ms, exit 0, connection closed",
        ms(took)
    ));
}

/// A connection that had one request answered, kept alive, and idle for 200 ms.
fn an_idle_keep_alive_connection(port: u16) -> TcpStream {
    let idle = kept_alive_after_one_request(port);
    thread::sleep(Duration::from_millis(200));
    assert!(
        still_open(&idle),
        "the idle connection is open before SIGTERM"
    );
    idle
}

/// A client stuck in the middle of its headers is cut at the deadline.
#[test]
fn stuck_client_cut_at_deadline() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve(
        "serve (deadline 2 s)",
        &db.url(),
        &[("SHUTDOWN__TIMEOUT_SECS", "2")],
    );
    let mut stuck = connect(service.port).expect("connect");
    write!(stuck, "GET / HTTP/1.1\r\nHost: x\r\n").expect("send half a head");
    thread::sleep(Duration::from_millis(300));
    assert!(
        still_open(&stuck),
        "the stuck connection is open before SIGTERM"
    );

    let (status, took) = service.terminate_and_expect_exit(Duration::from_secs(6));
    assert!(
        !status.success(),
        "cut at the deadline: the exit is non-zero\n{}",
        service.describe()
    );
    assert!(
        took >= Duration::from_millis(1800) && took <= Duration::from_millis(3500),
        "SIGTERM->exit took {} ms; the deadline is 2 s\n{}",
        ms(took),
        service.describe()
    );
    let warning = service
        .warning_about("deadline")
        .unwrap_or_else(|| panic!("a warning mentions the deadline\n{}", service.describe()));
    assert!(
        closed_by_peer(&mut stuck, Duration::from_secs(1)),
        "the stuck connection is closed"
    );
    progress(&format!(
        "[e2e] client stuck mid-headers: SIGTERM->exit {} ms (deadline 2 s), exit {:?}, logged {:?}",
        ms(took),
        status.code(),
        warning["message"].as_str().unwrap_or_default()
    ));
}

/// `healthcheck` with no arguments probes liveness (`/livez`); `--ready` probes readiness.
const LIVE: &[&str] = &[];
const READY: &[&str] = &["--ready"];

/// `healthcheck` probes liveness (`/livez`): it exits 0 while the service drains (a container
/// is not restarted for shutting down) and 1 when nothing listens. `healthcheck --ready`
/// probes readiness (`/readyz`): 0 only for 200, so 1 while draining.
#[test]
fn healthcheck_command() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve(
        "serve (for healthcheck)",
        &db.url(),
        &[("SHUTDOWN__DRAIN_DELAY_SECS", "3")],
    );
    let ready_took = both_pass_against_a_ready_service(&service, &db);
    let absent_took = both_fail_with_nothing_listening(&db);
    while_draining_only_readiness_fails(&mut service, &db);
    let status = service.expect_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", service.describe());
    progress(&format!(
        "[e2e] healthcheck / --ready: exit 0/0 against a ready service ({}); exit 1/1 with nothing on the port ({}); while draining --ready exits 1 (503), liveness exits 0",
        list_ms(&ready_took),
        list_ms(&absent_took),
    ));
}

/// A run of `healthcheck <args>` against `port`, and how long it took.
fn healthcheck(port: u16, db: &TempDb, args: &[&str], label: &str) -> (Proc, Duration) {
    let started = Instant::now();
    let run = SERVICE
        .command(
            &format!("healthcheck {} ({label})", args.join(" ")),
            "healthcheck",
        )
        .port(port)
        .database(&db.url())
        .args(args)
        .run();
    (run, started.elapsed())
}

fn both_pass_against_a_ready_service(service: &Proc, db: &TempDb) -> Vec<Duration> {
    let mut took = Vec::new();
    for args in [LIVE, READY] {
        let (ready, time) = healthcheck(service.port, db, args, "ready");
        assert_eq!(
            ready.status.and_then(|s| s.code()),
            Some(0),
            "healthcheck {args:?} against a ready service must exit 0\n{}\n{}",
            ready.describe(),
            service.describe()
        );
        took.push(time);
    }
    took
}

fn both_fail_with_nothing_listening(db: &TempDb) -> Vec<Duration> {
    let nobody = free_port();
    let mut took = Vec::new();
    for args in [LIVE, READY] {
        let (absent, time) = healthcheck(nobody, db, args, "nothing listening");
        absent.assert_exit_code(
            1,
            &format!("healthcheck {args:?} with nothing on port {nobody} must exit 1"),
        );
        assert!(
            absent.stderr().contains(&nobody.to_string()),
            "the message names the port\n{}",
            absent.describe()
        );
        took.push(time);
    }
    took
}

/// Draining (SIGTERM, drain delay 3 s): /readyz says 503, /livez still 200.
fn while_draining_only_readiness_fails(service: &mut Proc, db: &TempDb) {
    service.terminate();
    service.wait_for_status("/readyz", 503, Duration::from_secs(1));
    let (ready_draining, _) = healthcheck(service.port, db, READY, "draining");
    assert!(
        ready_draining.status.and_then(|s| s.code()) == Some(1)
            && ready_draining.stderr().contains("503"),
        "healthcheck --ready while draining must exit 1 naming the 503\n{}",
        ready_draining.describe()
    );
    let (live_draining, _) = healthcheck(service.port, db, LIVE, "draining");
    assert_eq!(
        live_draining.status.and_then(|s| s.code()),
        Some(0),
        "healthcheck (liveness) while draining must exit 0: the process is alive\n{}\n{}",
        live_draining.describe(),
        service.describe()
    );
}
