//! The fault tier: the all-on render (every slice on) run as a real process against a real
//! PostgreSQL, with one fault injected per test, seen only from outside. A handler blocked on a
//! table lock at SIGTERM, clients that send half a request head or go idle, values under the
//! wrong key (from each config source), CORS origins that cannot work, every kind of failing
//! request, a migration waiting on a lock under a short statement timeout, and a database
//! without its schema.
//!
//! Like tests/e2e/, the render is built once (in target/renders, under its own name so the two
//! binaries never overwrite each other), and tests run on parallel threads, each with its own
//! free ports and, where it writes or locks, its own database. Needs DATABASE_URL and `psql`.
//!
//! Every check prints one `[faults]` progress line with what it measured.

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use template_harness::cargo::build_all_on_service;
use template_harness::files::new_temp_dir;
use template_harness::http::{
    self, Response, closed_by_peer, connect, post_announcing, post_as, post_chunked, read_response,
};
use template_harness::ports::free_port;
use template_harness::postgres::{TempDb, postgres_url};
use template_harness::process::{
    COMMAND_TIMEOUT, Launch, READY_TIMEOUT, Service, assert_stops_before_binding, names_key,
};
use template_harness::random::random_hex;
use template_harness::report::{ms, one_line, progress};

/// The name the service is rendered under; not e2e's, so the two builds keep their binaries.
const PROJECT: &str = "faults-service";
/// The prefix the template derives from [`PROJECT`].
const EXPECTED_ENV_PREFIX: &str = "FAULTS_SERVICE_";

/// The security headers every response carries.
const SECURITY_HEADERS: [(&str, &str); 3] = [
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("cache-control", "no-store"),
];

/// The secret planted in every wrong-key value; it must never be printed.
const SECRET: &str = "pw-SECRET";

// ---------------------------------------------------------------------------------------------
// The service under test

/// The all-on render, built once. Only the binary is kept.
static SERVICE: LazyLock<Service> =
    LazyLock::new(|| build_all_on_service(PROJECT, EXPECTED_ENV_PREFIX, "faults"));

/// What is wrong with `response` as an error response: not `status`, not
/// `application/json`, no `{"error": "<text>"}` body, or a security header missing.
fn error_response_problems(response: &Response, status: u16) -> Vec<String> {
    let mut problems = Vec::new();
    if response.status != status {
        problems.push(format!("status {} instead of {status}", response.status));
    }
    let content_type = response.header("content-type").unwrap_or("(none)");
    if !content_type.starts_with("application/json") {
        problems.push(format!("content-type {content_type}"));
    }
    match serde_json::from_str::<Value>(&response.body) {
        Ok(body) if body.get("error").is_some_and(Value::is_string) => {}
        _ => problems.push(format!(
            "body {:?} is not {{\"error\": ...}}",
            response.body
        )),
    }
    problems.extend(security_header_problems(response));
    problems
}

fn security_header_problems(response: &Response) -> Vec<String> {
    SECURITY_HEADERS
        .iter()
        .filter(|(name, value)| response.header(name) != Some(value))
        .map(|(name, value)| {
            format!(
                "{name}: {:?} instead of {value:?}",
                response.header(name).unwrap_or("(missing)")
            )
        })
        .collect()
}

/// `POST /notes` with `body` sent as is, with `content_type` and the request id given.
fn post_notes_raw(port: u16, content_type: &str, body: &str, request_id: &str) -> Response {
    post_as(port, "/notes", content_type, body, request_id)
        .unwrap_or_else(|e| panic!("POST /notes failed: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The checks

/// Fault a: SIGTERM while a handler waits for a table lock. The shutdown deadline covers the
/// handler too: exit 1 at the deadline, not when the statement times out.
#[test]
fn sigterm_with_handler_blocked_on_database_exits_at_deadline() {
    const DEADLINE: Duration = Duration::from_secs(3);
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
    let port = service.port;
    let lock = db.lock_table("notes");
    let client = thread::spawn(move || {
        http::request(
            port,
            "POST",
            "/notes",
            &[],
            Some(r#"{"title":"blocked","body":"waits for the lock"}"#),
        )
    });
    let blocked_after = db
        .wait_for_a_blocked_session(Duration::from_secs(5))
        .unwrap_or_else(|| {
            panic!(
                "POST /notes never waited for the table lock\n{}",
                service.describe()
            )
        });

    let signalled = Instant::now();
    service.terminate();
    // Long enough to measure today's figure when the deadline does not hold.
    let status = service.wait_exit(Duration::from_secs(40));
    let took = signalled.elapsed();
    progress(&format!(
        "[faults] SIGTERM with POST /notes blocked on a lock (seen waiting after {} ms): exit {} after {} ms; deadline {} ms, limit {} ms",
        ms(blocked_after),
        status.map_or("none (still running)".to_owned(), |s| format!(
            "{:?}",
            s.code()
        )),
        ms(took),
        ms(DEADLINE),
        ms(LIMIT)
    ));
    let status = status.unwrap_or_else(|| {
        panic!(
            "still running 40 s after SIGTERM (deadline 3 s)\n{}",
            service.describe()
        )
    });
    assert!(
        took <= LIMIT,
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
        status.code(),
        Some(1),
        "a drain cut at the deadline exits 1\n{}",
        service.describe()
    );
    drop(lock);
    let answer = client.join().expect("the client thread");
    assert!(
        !answer.as_ref().is_ok_and(|r| r.status == 201),
        "the blocked insert cannot have succeeded while the lock was held: {answer:?}"
    );
}

/// Fault b: a client that stops in the middle of its request head, and an idle keep-alive
/// connection, are both closed after `http.header_read_timeout_secs`, while others are served.
#[test]
fn header_read_timeout_closes_slow_and_idle_connections() {
    let db = SERVICE.migrated_db();
    let service = SERVICE.serve(
        "serve (header read timeout 2 s)",
        &db.url(),
        &[("HTTP__HEADER_READ_TIMEOUT_SECS", "2")],
    );
    let port = service.port;

    let mut half = connect(port).expect("connect");
    write!(half, "GET / HTTP/1.1\r\nHost: x\r\n").expect("send half a head");
    let half_sent = Instant::now();

    let mut idle = connect(port).expect("connect");
    write!(idle, "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").expect("send a request");
    let response = read_response(&mut idle).expect("a response on the kept-alive connection");
    let idle_since = Instant::now();
    assert_eq!(response.status, 200, "{response:?}");
    assert_ne!(
        response.header("connection"),
        Some("close"),
        "the connection is kept alive: {response:?}"
    );

    let watch = |mut stream: std::net::TcpStream, since: Instant| {
        thread::spawn(move || {
            let closed = closed_by_peer(&mut stream, Duration::from_secs(6));
            (closed, since.elapsed())
        })
    };
    let half_watch = watch(half, half_sent);
    let idle_watch = watch(idle, idle_since);

    // Meanwhile the service answers everyone else.
    let mut served = Vec::new();
    while !(half_watch.is_finished() && idle_watch.is_finished())
        && half_sent.elapsed() < Duration::from_secs(7)
    {
        let answer = service.get("/");
        assert_eq!(
            answer.status,
            200,
            "another client is served while two connections hang: {answer:?}\n{}",
            service.describe()
        );
        served.push(half_sent.elapsed());
        thread::sleep(Duration::from_millis(250));
    }
    let (half_closed, half_after) = half_watch.join().expect("watcher");
    let (idle_closed, idle_after) = idle_watch.join().expect("watcher");
    progress(&format!(
        "[faults] header read timeout 2 s: half a head closed={half_closed} after {} ms; idle keep-alive closed={idle_closed} after {} ms; {} other requests served meanwhile",
        ms(half_after),
        ms(idle_after),
        served.len()
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
        !served.is_empty(),
        "no other request was tried while the connections hung"
    );
}

/// Fault c: a value under the wrong key (a section given a string, a word for a number) and a
/// config file that does not parse, from each source: stop before binding, name the key and the
/// source, never print the value.
#[test]
fn wrong_key_names_key_and_source_never_the_value() {
    let dir = new_temp_dir("faults-config-");
    let url = format!("postgres://u:{SECRET}@h/db");
    let value_file = dir.path().join("database");
    std::fs::write(&value_file, format!("{url}\n")).expect("write the value file");
    let wrong_toml = dir.path().join("wrong-key.toml");
    std::fs::write(&wrong_toml, format!("database = \"{url}\"\n")).expect("write the TOML file");
    let broken_toml = dir.path().join("broken.toml");
    std::fs::write(
        &broken_toml,
        format!("[database]\npassword = \"{SECRET}\nmax_connections = 5\n"),
    )
    .expect("write the TOML file");

    let database_var = SERVICE.prefixed("DATABASE");
    let file_var = SERVICE.prefixed("DATABASE_FILE");
    let wrong_path = wrong_toml.display().to_string();
    let broken_path = broken_toml.display().to_string();
    // (label, launch, the key stderr must name, the source it must name (a TOML file is named
    // by its path or by the variable that names it), the value that must not appear)
    // No DATABASE_URL with a wrong `database`: the platform's variable would replace the string
    // with a table and hide the fault.
    let config_path_var = SERVICE.prefixed("CONFIG_PATH");
    let cases: Vec<(String, Launch, &str, Vec<String>, &str)> = vec![
        (
            format!("{database_var}=<url>"),
            SERVICE.launch("<P>DATABASE=<url>").env(&database_var, &url),
            "database",
            vec![database_var.clone()],
            SECRET,
        ),
        (
            format!("{file_var}=<file holding the url>"),
            SERVICE
                .launch("<P>DATABASE_FILE=<file>")
                .env(&file_var, value_file.display()),
            "database",
            vec![file_var.clone()],
            SECRET,
        ),
        (
            "TOML file: database = <url>".to_owned(),
            SERVICE
                .launch("<P>CONFIG_PATH (database = <url>)")
                .setting("CONFIG_PATH", &wrong_path),
            "database",
            vec![wrong_path.clone(), config_path_var.clone()],
            SECRET,
        ),
        // Syntax comes before keys: the file and the line are what can be named.
        (
            "TOML file with a syntax error on the password line".to_owned(),
            SERVICE
                .launch("<P>CONFIG_PATH (unterminated password string)")
                .setting("CONFIG_PATH", &broken_path),
            "line 2",
            vec![broken_path.clone(), config_path_var.clone()],
            SECRET,
        ),
        (
            "<P>HTTP__BODY_LIMIT_BYTES=lots".to_owned(),
            SERVICE
                .launch("<P>HTTP__BODY_LIMIT_BYTES=lots")
                .setting("HTTP__BODY_LIMIT_BYTES", "lots")
                .database(&postgres_url()),
            "http.body_limit_bytes",
            vec![SERVICE.prefixed("HTTP__BODY_LIMIT_BYTES")],
            "lots",
        ),
    ];
    // One after another: each run polls its port in a tight loop until the process exits. A
    // failing case does not hide the next ones: its message is printed, the test fails at the end.
    let mut failed = Vec::new();
    for (label, launch, key, sources, value) in cases {
        let checked = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let proc = assert_stops_before_binding(launch.port(free_port()), key);
            proc.assert_never_printed(value, &format!("{label}: the value {value:?}"));
            let stderr = proc.stderr();
            let source = sources
                .iter()
                .find(|source| names_key(&stderr, source))
                .unwrap_or_else(|| {
                    panic!(
                        "{label}: stderr does not name the source ({})\n{}",
                        sources.join(" or "),
                        proc.describe()
                    )
                });
            progress(&format!(
                "[faults] {label}: names `{key}` and `{source}`, never prints {value:?}: {}",
                one_line(&stderr)
            ));
        }));
        if checked.is_err() {
            failed.push(label);
        }
    }
    assert!(
        failed.is_empty(),
        "{} cases failed (their messages are above): {}",
        failed.len(),
        failed.join("; ")
    );
}

/// Fault d: CORS origins. `*` alone allows any origin; a trailing slash is dropped; `*` mixed
/// with origins, and anything not an origin, stop the service before it binds, without a panic.
#[test]
fn cors_origins_work_or_stop_before_binding() {
    const KEY: &str = "http.cors_allowed_origins";
    let db = SERVICE.migrated_db();
    let wildcard = SERVICE.serve(
        "serve (cors [\"*\"])",
        &db.url(),
        &[("HTTP__CORS_ALLOWED_ORIGINS", r#"["*"]"#)],
    );
    let answer = wildcard.request("GET", "/", &[("Origin", "https://anywhere.example")], None);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("*"),
        "[\"*\"] allows any origin: {answer:?}\n{}",
        wildcard.describe()
    );
    progress(
        "[faults] cors [\"*\"]: starts; GET / from https://anywhere.example -> access-control-allow-origin: *",
    );

    let slash = SERVICE.serve(
        "serve (cors [\"https://app.example.com/\"])",
        &db.url(),
        &[(
            "HTTP__CORS_ALLOWED_ORIGINS",
            r#"["https://app.example.com/"]"#,
        )],
    );
    let answer = slash.request("GET", "/", &[("Origin", "https://app.example.com")], None);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com"),
        "a trailing slash is dropped from a configured origin: {answer:?}\n{}",
        slash.describe()
    );
    progress(
        "[faults] cors [\"https://app.example.com/\"]: Origin https://app.example.com -> access-control-allow-origin: https://app.example.com",
    );

    for origins in [r#"["*","https://a.example"]"#, r#"["not an origin"]"#] {
        let proc = assert_stops_before_binding(
            SERVICE
                .launch(&format!("cors {origins}"))
                .port(free_port())
                .database(&db.url())
                .setting("HTTP__CORS_ALLOWED_ORIGINS", origins),
            KEY,
        );
        assert!(
            !proc.stderr().contains("panicked"),
            "cors {origins}: a panic instead of a config error\n{}",
            proc.describe()
        );
        progress(&format!(
            "[faults] cors {origins}: refused before binding, no panic: {}",
            one_line(&proc.stderr())
        ));
    }
}

/// Fault e: every kind of failing request answers `application/json` `{"error": ...}` with the
/// security headers, and so does a 200.
#[test]
fn every_error_response_is_json_with_security_headers() {
    let db = SERVICE.migrated_db();
    let service = SERVICE.serve(
        "serve (body limit 1024 B, request timeout 1 s)",
        &db.url(),
        &[
            ("HTTP__BODY_LIMIT_BYTES", "1024"),
            ("HTTP__REQUEST_TIMEOUT_SECS", "1"),
        ],
    );
    let port = service.port;
    let id = || format!("faults-{}", random_hex());
    let mut problems = Vec::new();
    let mut check = |what: &str, response: Response, status: Option<u16>| {
        let found = match status {
            Some(status) => error_response_problems(&response, status),
            None => {
                let mut found = security_header_problems(&response);
                if response.status != 200 {
                    found.insert(0, format!("status {} instead of 200", response.status));
                }
                found
            }
        };
        progress(&format!(
            "[faults] {what}: {} {} {}{}",
            response.status,
            response
                .header("content-type")
                .unwrap_or("(no content-type)"),
            response.body.chars().take(80).collect::<String>(),
            if found.is_empty() {
                "; security headers present".to_owned()
            } else {
                format!("; WRONG: {}", found.join(", "))
            }
        ));
        if !found.is_empty() {
            problems.push(format!("{what}: {}", found.join("; ")));
        }
    };

    check("GET / (a 200)", service.get("/"), None);
    check(
        "malformed JSON body",
        post_notes_raw(port, "application/json", r#"{"title":"#, &id()),
        Some(400),
    );
    check(
        "POST /notes as text/plain",
        post_notes_raw(port, "text/plain", r#"{"title":"t"}"#, &id()),
        Some(415),
    );
    check(
        "missing field",
        post_notes_raw(port, "application/json", r#"{"body":"no title"}"#, &id()),
        Some(422),
    );
    check(
        "empty title",
        post_notes_raw(port, "application/json", r#"{"title":"  "}"#, &id()),
        Some(422),
    );
    check("unknown path", service.get("/nowhere"), Some(404));
    check(
        "DELETE /",
        service.request("DELETE", "/", &[], None),
        Some(405),
    );
    check(
        "Content-Length 4096 over a 1024-byte limit",
        post_announcing(port, "/notes", 4096, &id()).expect("POST /notes"),
        Some(413),
    );
    check(
        "chunked body of 4096 bytes over a 1024-byte limit",
        {
            let body = format!(r#"{{"title":"big","body":"{}"}}"#, "x".repeat(4096));
            post_chunked(port, "/notes", &body, &id()).expect("POST /notes")
        },
        Some(413),
    );
    {
        let _lock = db.lock_table("notes");
        let started = Instant::now();
        let response = post_notes_raw(port, "application/json", r#"{"title":"slow"}"#, &id());
        check(
            &format!(
                "POST /notes blocked on a lock, request timeout 1 s (answered after {} ms)",
                ms(started.elapsed())
            ),
            response,
            Some(503),
        );
    }
    db.psql("DROP TABLE notes");
    let response = post_notes_raw(port, "application/json", r#"{"title":"t"}"#, &id());
    let body = response.body.clone();
    check("a database error (table dropped)", response, Some(500));
    if serde_json::from_str::<Value>(&body).ok()
        != Some(serde_json::json!({"error": "internal error"}))
    {
        problems.push(format!(
            "a database error: body {body:?} instead of {{\"error\":\"internal error\"}}"
        ));
    }
    assert!(
        problems.is_empty(),
        "{} responses are wrong:\n{}\n{}",
        problems.len(),
        problems.join("\n"),
        service.describe()
    );
}

/// Fault f: responses made by the outer layers (413 from the body limit, 503 from the request
/// timeout) are request-logged with the client's request id; probes stay out of the log.
#[test]
fn request_log_sees_outer_layer_responses() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve(
        "serve (request log: body limit 1024 B, request timeout 1 s)",
        &db.url(),
        &[
            ("HTTP__BODY_LIMIT_BYTES", "1024"),
            ("HTTP__REQUEST_TIMEOUT_SECS", "1"),
        ],
    );
    let port = service.port;

    let too_long = format!("faults-413-{}", random_hex());
    let response = post_announcing(port, "/notes", 4096, &too_long).expect("POST /notes");
    assert_eq!(response.status, 413, "{response:?}");
    let timed_out = format!("faults-503-{}", random_hex());
    {
        let _lock = db.lock_table("notes");
        let response = post_notes_raw(port, "application/json", r#"{"title":"slow"}"#, &timed_out);
        assert_eq!(response.status, 503, "{response:?}");
    }
    for _ in 0..3 {
        service.get("/livez");
        service.get("/readyz");
    }
    let mut seen = Vec::new();
    for (request_id, status) in [(&too_long, 413), (&timed_out, 503)] {
        let line = service.wait_for_log(
            &format!("with span.request_id {request_id} and status {status}"),
            |line| line["span"]["request_id"] == request_id.as_str() && line["status"] == status,
        );
        seen.push(format!(
            "{status} logged at {} with request id {request_id}",
            line["level"].as_str().unwrap_or("?")
        ));
    }
    service.stop_cleanly();
    let probes = service
        .logs()
        .into_iter()
        .filter(|line| {
            let path = &line["span"]["path"];
            path == "/livez" || path == "/readyz"
        })
        .count();
    assert_eq!(
        probes,
        0,
        "probes are not request-logged\n{}",
        service.describe()
    );
    progress(&format!(
        "[faults] request log: {}; 6 probes, none logged",
        seen.join("; ")
    ));
}

/// Fault g: `migrate` waits for a lock longer than the serving statement timeout and still
/// succeeds: migrations run without it.
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

/// Fault h: a database without the schema. `/readyz` fails naming the missing migration, writes
/// fail, and after a one-off `migrate` the same process turns ready and writes work.
#[test]
fn readiness_waits_for_migrations() {
    let db = TempDb::new("faults");
    let mut service = SERVICE
        .launch("serve (database without the schema)")
        .port(free_port())
        .database(&db.url())
        .spawn();
    service.wait_for_status("/livez", 200, READY_TIMEOUT);
    // Wait until PostgreSQL itself answers, so only the schema can fail the check.
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
    let pid = service.child.id();
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

    let migrate = SERVICE
        .command("migrate (one-off, service running)", "migrate")
        .database(&db.url())
        .run();
    assert_eq!(
        migrate.status.and_then(|s| s.code()),
        Some(0),
        "{}",
        migrate.describe()
    );
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
        "[faults] after a one-off migrate: /readyz 200 within {} ms, POST /notes {} (before: {}), same process",
        ms(ready_after),
        created.status,
        write.status
    ));
}
