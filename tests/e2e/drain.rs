//! Draining keep-alive clients: pooled clients that keep sending `POST /notes` back to back
//! through SIGTERM, the drain delay and the listener's close, as a load balancer's pool does,
//! lose no request. From the signal on every response says `Connection: close`, so each client
//! retires its connection after its next answer and opens a new one while the listener still
//! accepts; at the listener's close no connection that served a response since the signal is
//! left to be closed under a request.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use template_harness::http::read_response;
use template_harness::ports::local;
use template_harness::process::EXIT_TIMEOUT;
use template_harness::report::{ms, progress};

use crate::SERVICE;

/// Keep-alive clients sending at once.
const CLIENTS: usize = 32;
/// How long the service keeps serving after SIGTERM before its listener closes.
const DRAIN_DELAY_SECS: u64 = 2;
/// How long clients send before SIGTERM: every one of them is on a kept-alive connection by then.
const BEFORE_THE_SIGNAL: Duration = Duration::from_millis(500);
/// Longer than the signal takes to reach the service: a response read later than this after
/// SIGTERM was made after the service knew it was draining.
const SIGNAL_LATENCY: Duration = Duration::from_millis(250);
/// Longest pause of a client between an answer and its next request: a pool fed by upstream
/// traffic is idle now and then, and sends whenever a request comes.
const LONGEST_PAUSE_MICROS: usize = 5_000;
/// A client still sending this long after it started means the listener never closed.
const CLIENT_LIMIT: Duration = Duration::from_secs(20);

/// 32 keep-alive clients send `POST /notes` one after another, pausing 0 to 5 ms between an
/// answer and the next request; SIGTERM comes with a 2 s drain delay. A client does not check
/// that its connection is still open before reusing it, as a request already on its way over a
/// network could not. Each client retires its connection when a response says `Connection: close` and opens a new
/// one, until the listener refuses it. A request is lost when the connection it was written on
/// ends (end of stream or reset) without its response. None may be: every request gets its
/// 201, every response read after the signal says `Connection: close`, the database holds
/// exactly the notes that were answered, and the process exits 0.
#[test]
fn keep_alive_clients_lose_no_request_through_a_drain() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve(
        "serve (drain delay 2 s, keep-alive clients)",
        &db.url(),
        &[("SHUTDOWN__DRAIN_DELAY_SECS", &DRAIN_DELAY_SECS.to_string())],
    );
    let signalled = Arc::new(OnceLock::new());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let signalled = Arc::clone(&signalled);
            let port = service.port;
            thread::spawn(move || send_until_refused(port, client, &signalled))
        })
        .collect();
    thread::sleep(BEFORE_THE_SIGNAL);

    signalled.set(Instant::now()).expect("one signal");
    service.terminate();
    let tallies: Vec<Tally> = clients
        .into_iter()
        .map(|client| client.join().expect("a client thread"))
        .collect();
    let status = service.expect_exit(EXIT_TIMEOUT);
    let exited_after = signalled.get().expect("signalled").elapsed();

    let total = Tally::sum(&tallies);
    let stored: usize = db
        .psql("SELECT count(*) FROM notes")
        .parse()
        .expect("a count");
    let figures = format!(
        "{}, notes stored {stored}, exit {:?} after {} ms",
        total.figures(),
        status.code(),
        ms(exited_after)
    );
    progress(&format!("[e2e] drain: {figures}"));
    let mut problems = total.problems();
    if stored != total.answered {
        problems.push(format!(
            "the database holds {stored} notes for {} answered requests",
            total.answered
        ));
    }
    if status.code() != Some(0) {
        problems.push(format!("exit {:?}, not 0", status.code()));
    }
    assert!(
        problems.is_empty(),
        "{figures}\n{}\n{}",
        problems.join("\n"),
        service.describe()
    );
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    /// Requests written (or whose writing failed).
    sent: usize,
    /// Requests answered 201.
    answered: usize,
    /// Responses read more than [`SIGNAL_LATENCY`] after SIGTERM.
    after_signal: usize,
    /// Of those, the ones without `Connection: close`.
    kept_alive_after_signal: usize,
    /// Connections opened.
    connections: usize,
    /// Connections retired after a response said `Connection: close`.
    retired: usize,
    /// Requests whose connection ended without their response, described.
    lost: Vec<String>,
    /// Of those, the ones written on a connection that had served a response.
    lost_on_reused: usize,
}

impl Tally {
    fn sum(tallies: &[Tally]) -> Tally {
        let mut total = Tally::default();
        for tally in tallies {
            total.sent += tally.sent;
            total.answered += tally.answered;
            total.after_signal += tally.after_signal;
            total.kept_alive_after_signal += tally.kept_alive_after_signal;
            total.connections += tally.connections;
            total.retired += tally.retired;
            total.lost.extend(tally.lost.iter().cloned());
            total.lost_on_reused += tally.lost_on_reused;
        }
        total
    }

    fn figures(&self) -> String {
        format!(
            "{CLIENTS} keep-alive clients, drain delay {DRAIN_DELAY_SECS} s: sent {}, answered {} \
             ({} read after SIGTERM, {} of them kept alive), lost {} ({} on a connection that \
             had served a response), connections opened {}, retired with `Connection: close` {}",
            self.sent,
            self.answered,
            self.after_signal,
            self.kept_alive_after_signal,
            self.lost.len(),
            self.lost_on_reused,
            self.connections,
            self.retired,
        )
    }

    /// What the clients saw that a drain must not do.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.lost.is_empty() {
            problems.push(format!(
                "{} requests lost, first: {:?}",
                self.lost.len(),
                &self.lost[..self.lost.len().min(4)]
            ));
        }
        if self.kept_alive_after_signal > 0 {
            problems.push(format!(
                "{} responses read more than {} ms after SIGTERM did not say `Connection: close`",
                self.kept_alive_after_signal,
                ms(SIGNAL_LATENCY)
            ));
        }
        problems
    }
}

/// A connection and how many responses it has served.
struct Connection {
    stream: TcpStream,
    served: usize,
}

/// One client: `POST /notes` after a [`pause`], reusing its connection until a response says
/// `Connection: close` or the connection ends, until the listener refuses a new one after
/// SIGTERM.
fn send_until_refused(port: u16, client: usize, signalled: &OnceLock<Instant>) -> Tally {
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut open: Option<Connection> = None;
    for request in 0.. {
        assert!(
            started.elapsed() < CLIENT_LIMIT,
            "client {client} is still sending {} s after it started: the listener never closed",
            CLIENT_LIMIT.as_secs()
        );
        thread::sleep(pause(client, request));
        let mut connection = match open.take() {
            Some(connection) => connection,
            None => match TcpStream::connect(local(port)) {
                Ok(stream) => {
                    tally.connections += 1;
                    Connection::new(stream)
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused && signalled.get().is_some() => {
                    return tally;
                }
                Err(e) => panic!("client {client} cannot connect to port {port}: {e}"),
            },
        };
        tally.sent += 1;
        let request_id = format!("drain-{client}-{request}");
        match connection.post_note(port, &request_id) {
            Ok(closes) => {
                tally.answered += 1;
                if signalled
                    .get()
                    .is_some_and(|at| at.elapsed() > SIGNAL_LATENCY)
                {
                    tally.after_signal += 1;
                    tally.kept_alive_after_signal += usize::from(!closes);
                }
                if closes {
                    tally.retired += 1;
                } else {
                    connection.served += 1;
                    open = Some(connection);
                }
            }
            Err(error) => {
                tally.lost_on_reused += usize::from(connection.served > 0);
                tally.lost.push(format!(
                    "{request_id}, written on a connection that had served {}: {error}",
                    connection.served
                ));
            }
        }
    }
    unreachable!("the loop ends when the listener refuses")
}

/// A pause of 0 to [`LONGEST_PAUSE_MICROS`], spread so that clients do not move in step.
fn pause(client: usize, request: usize) -> Duration {
    let micros = (client * 7_919 + request * 104_729) % LONGEST_PAUSE_MICROS;
    Duration::from_micros(micros as u64)
}

impl Connection {
    fn new(stream: TcpStream) -> Self {
        stream.set_nodelay(true).expect("TCP_NODELAY");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(10))))
            .expect("socket timeouts");
        Self { stream, served: 0 }
    }

    /// Sends one `POST /notes` in one write and reads its answer, which must be 201: whether
    /// it says `Connection: close`, or why no answer came.
    fn post_note(&mut self, port: u16, request_id: &str) -> Result<bool, String> {
        let body = format!(r#"{{"title":"{request_id}"}}"#);
        let request = format!(
            "POST /notes HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nx-request-id: {request_id}\r\n\r\n{body}",
            body.len()
        );
        self.stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("write failed: {e}"))?;
        let response = read_response(&mut self.stream)?;
        assert_eq!(response.status, 201, "{request_id}: {response:?}");
        Ok(response
            .header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close")))
    }
}
