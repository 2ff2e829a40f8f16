//! End-to-end checks of the all-on render (every slice on) run as a real process and seen only
//! from outside: its subcommands, its HTTP API over raw HTTP/1.1, its JSON logs, its config
//! layers, how it keeps secrets, graceful shutdown on SIGTERM, and a database outage staged with
//! a TCP proxy between the service and PostgreSQL.
//!
//! The render is built once (in target/renders, like tests/build.rs) and shared by every test.
//! Tests run on parallel threads: each one has its own free ports and, where it writes or needs
//! a login of its own, its own database; a failing test kills its child processes. Needs
//! DATABASE_URL (a PostgreSQL server that checks passwords over TCP, as a role that may create
//! roles and databases) and `psql`.
//!
//! Every check prints one `[e2e]` progress line with what it measured.

use std::io::{BufRead, BufReader, Write};
use std::net::ToSocketAddrs;
use std::sync::LazyLock;
use std::thread;
use std::time::{Duration, Instant};

use template_harness::cargo::build_all_on_service;
use template_harness::files::new_temp_dir;
use template_harness::http::{closed_by_peer, connect, read_response, still_open};
use template_harness::ports::{accepts_connections, free_port};
use template_harness::postgres::{PgUrl, TempDb, postgres_url, psql_at};
use template_harness::process::{
    EXIT_TIMEOUT, Launch, Proc, READY_TIMEOUT, Service, assert_stops_before_binding,
};
use template_harness::proxy::{Proxy, ProxyMode};
use template_harness::random::{random_hex, random_uuid};
use template_harness::report::{list_ms, ms, progress};

/// The name the service is rendered under: its binary, its `GET /` answer and its env prefix.
const PROJECT: &str = "e2e-service";
/// The prefix the template derives from [`PROJECT`].
const EXPECTED_ENV_PREFIX: &str = "E2E_SERVICE_";
/// The port the template's default config names (the render keeps the default).
const DEFAULT_PORT: i64 = 8080;

// ---------------------------------------------------------------------------------------------
// The service under test

/// The all-on render, built once. Only the binary is kept: the render's temporary folder is
/// removed once the build is done.
static SERVICE: LazyLock<Service> =
    LazyLock::new(|| build_all_on_service(PROJECT, EXPECTED_ENV_PREFIX, "e2e"));

// ---------------------------------------------------------------------------------------------
// The checks

/// Check 1: `migrate` as its own process (twice), then the notes API over HTTP.
#[test]
fn notes_api_after_migrate() {
    let db = TempDb::new("e2e");
    for run in ["first", "second"] {
        let started = Instant::now();
        let migrate = SERVICE
            .command(&format!("migrate ({run} run)"), "migrate")
            .database(&db.url())
            .run();
        assert_eq!(
            migrate.status.and_then(|s| s.code()),
            Some(0),
            "`migrate` must succeed, also when there is nothing left to apply\n{}",
            migrate.describe()
        );
        assert!(
            migrate.stdout().contains("database schema is up to date"),
            "`migrate` logs that the schema is up to date\n{}",
            migrate.describe()
        );
        progress(&format!(
            "[e2e] migrate ({run} run): exit 0 in {} ms",
            ms(started.elapsed())
        ));
    }
    let applied = psql_at(
        &db.url(),
        "SELECT count(*) FROM _sqlx_migrations WHERE success",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied, "1", "the one migration is recorded once");

    let port = free_port();
    let mut service = SERVICE
        .launch("serve")
        .port(port)
        .database(&db.url())
        .spawn();
    let ready = service.wait_ready();

    let about = service.get("/");
    assert_eq!(
        about.status,
        200,
        "GET /: {about:?}\n{}",
        service.describe()
    );
    assert_eq!(about.json()["name"], PROJECT, "GET / names the service");
    assert_eq!(about.json()["version"], "0.1.0", "GET / gives the version");

    let body = format!("e2e body {}", random_hex());
    let created = service.post_json(
        "/notes",
        &serde_json::json!({ "title": "  e2e title  ", "body": body }).to_string(),
    );
    assert_eq!(
        created.status,
        201,
        "POST /notes: {created:?}\n{}",
        service.describe()
    );
    let note = created.json();
    let id = note["id"]
        .as_str()
        .expect("the new note has an id")
        .to_owned();
    assert_eq!(id.len(), 36, "the id is a UUID: {note}");
    assert_eq!(note["title"], "e2e title", "the title is stored trimmed");
    assert_eq!(note["body"], body.as_str());

    let fetched = service.get(&format!("/notes/{id}"));
    assert_eq!(
        fetched.status,
        200,
        "GET /notes/{id}: {fetched:?}\n{}",
        service.describe()
    );
    assert_eq!(fetched.json(), note, "GET /notes/{{id}} returns the note");

    let listed = service.get("/notes");
    assert_eq!(listed.status, 200, "GET /notes: {listed:?}");
    let listed = listed.json();
    assert!(
        listed.as_array().is_some_and(|notes| notes.contains(&note)),
        "GET /notes lists the new note: {listed}"
    );

    let invalid = service.post_json("/notes", r#"{"title":"   ","body":"no title"}"#);
    assert_eq!(invalid.status, 422, "an empty title: {invalid:?}");
    assert_eq!(
        invalid.json(),
        serde_json::json!({ "error": "title must not be empty" }),
        "the 422 says why"
    );

    let missing = service.get(&format!("/notes/{}", random_uuid()));
    assert_eq!(missing.status, 404, "an unknown id: {missing:?}");
    assert_eq!(missing.json()["error"], "not found");

    let exit = service.stop_cleanly();
    progress(&format!(
        "[e2e] notes API: ready in {} ms; create 201, fetch 200, list 200, empty title 422, unknown id 404; SIGTERM->exit {} ms",
        ms(ready),
        ms(exit)
    ));
}

/// Check 2: JSON logs on stdout; request ids taken from the client or made, echoed and logged.
#[test]
fn json_logs_with_request_ids() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve("serve", &db.url(), &[]);
    let port = service.port;

    let given = format!("e2e-{}", random_hex());
    let answered = service.request("GET", "/", &[("x-request-id", &given)], None);
    assert_eq!(answered.status, 200, "GET /: {answered:?}");
    assert_eq!(
        answered.header("x-request-id"),
        Some(given.as_str()),
        "the client's request id comes back: {answered:?}"
    );
    let line = service.wait_for_log(&format!("with span.request_id {given}"), |line| {
        line["span"]["request_id"] == given.as_str() && line.get("status").is_some()
    });
    assert_eq!(
        line["status"], 200,
        "the request log line has the status: {line}"
    );
    assert_eq!(line["span"]["method"], "GET", "and the method: {line}");
    assert_eq!(line["span"]["route"], "/", "and the route: {line}");
    assert_eq!(line["level"], "INFO", "at INFO: {line}");
    assert!(line.get("latency").is_some(), "and the latency: {line}");

    let unnamed = service.get("/nowhere");
    assert_eq!(unnamed.status, 404, "GET /nowhere: {unnamed:?}");
    let generated = unnamed
        .header("x-request-id")
        .unwrap_or_else(|| panic!("a request without an id gets one: {unnamed:?}"))
        .to_owned();
    assert!(
        !generated.is_empty() && generated != given,
        "a fresh id is made: {generated:?}"
    );
    let line = service.wait_for_log(&format!("with span.request_id {generated}"), |line| {
        line["span"]["request_id"] == generated.as_str() && line.get("status").is_some()
    });
    assert_eq!(line["status"], 404, "{line}");
    assert_eq!(line["span"]["path"], "/nowhere", "{line}");

    service.stop_cleanly();
    // After the exit every line is in: all JSON, none about the probes, nothing on stderr.
    let logs = service.logs();
    assert!(
        logs.iter()
            .any(|line| line["message"] == "listening"
                && line["address"] == format!("127.0.0.1:{port}")),
        "a `listening` line with the address\n{}",
        service.describe()
    );
    assert!(
        !logs.iter().any(|line| {
            let path = &line["span"]["path"];
            path == "/readyz" || path == "/livez"
        }),
        "probes are not request-logged\n{}",
        service.describe()
    );
    assert!(
        service.stderr().trim().is_empty(),
        "logs go to stdout, stderr stays empty\n{}",
        service.describe()
    );
    progress(&format!(
        "[e2e] JSON logs: {} stdout lines, all JSON; request id {given} echoed and logged; generated id {generated} echoed and logged",
        logs.len()
    ));
}

/// Check 2b: the request log is written by a thread of its own, off the request path, and a
/// clean shutdown loses none of it, even with the log collector behind. Stdout is a pipe this
/// test does not read until SIGTERM, so the pipe fills at once and nearly every line is still
/// queued in the service when the signal comes. [`LOGGED_CONNECTIONS`] keep-alive connections
/// send [`LOGGED_REQUESTS`] requests each (fewer in all than the queue holds, so no request
/// waits on the log); after the exit every request id has exactly one request log line, and the
/// last line is `shutdown complete`.
#[test]
fn sigterm_loses_no_log_line() {
    const LOGGED_CONNECTIONS: usize = 4;
    const LOGGED_REQUESTS: usize = 1500;
    let db = SERVICE.migrated_db();
    let (collector, stdout) = std::io::pipe().expect("a pipe for stdout");
    let mut service = SERVICE
        .launch("serve (log collector behind)")
        .port(free_port())
        .database(&db.url())
        .stdout_to(stdout)
        .spawn();
    service.wait_ready();
    let port = service.port;
    let run = random_hex();
    let started = Instant::now();
    let senders: Vec<_> = (0..LOGGED_CONNECTIONS)
        .map(|connection| {
            let run = run.clone();
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
    let sent = started.elapsed();

    let signalled = Instant::now();
    service.terminate();
    // The collector catches up only now.
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

    let logs: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line cut short or not JSON ({e}): {line}"))
        })
        .collect();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for line in &logs {
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
    assert_eq!(
        logs.last().map(|line| line["message"].clone()),
        Some("shutdown complete".into()),
        "the last line is `shutdown complete`, logged just before the exit; the last lines were\n{}",
        lines[lines.len().saturating_sub(3)..].join("\n")
    );
    progress(&format!(
        "[e2e] request log behind a stalled collector: {expected} requests in {} ms on \
         {LOGGED_CONNECTIONS} connections, SIGTERM->exit {} ms (writing the queue out), \
         {expected} request lines and `shutdown complete` after the exit",
        ms(sent),
        ms(exit)
    ));
}

/// Check 3: config layers, file < PORT < <P>PORT < <P>PORT_FILE, read back with `config`,
/// and `serve` binds what the top layer names.
#[test]
fn config_layers_override_in_order() {
    let db = SERVICE.migrated_db();
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let (from_file, from_platform, from_prefixed, from_secret_file) =
        (ports[0], ports[1], ports[2], ports[3]);
    let dir = new_temp_dir("e2e-config-");
    let config_file = dir.path().join("service.toml");
    std::fs::write(
        &config_file,
        format!("port = {from_file}\n\n[http]\nrequest_timeout_secs = 11\n"),
    )
    .expect("write config file");
    let port_file = dir.path().join("port");
    std::fs::write(&port_file, format!("{from_secret_file}\n")).expect("write port file");

    // The first `layers` layers, lowest first.
    let layered = |launch: Launch, layers: usize| {
        let mut launch = launch.database(&db.url());
        if layers >= 1 {
            launch = launch.setting("CONFIG_PATH", config_file.display());
        }
        if layers >= 2 {
            launch = launch.env("PORT", from_platform);
        }
        if layers >= 3 {
            launch = launch
                .setting("PORT", from_prefixed)
                .setting("HTTP__REQUEST_TIMEOUT_SECS", 12);
        }
        if layers >= 4 {
            launch = launch.setting("PORT_FILE", port_file.display());
        }
        launch
    };
    let expected = [
        ("defaults", DEFAULT_PORT, 30),
        ("+ config file", i64::from(from_file), 11),
        ("+ PORT", i64::from(from_platform), 11),
        ("+ <P>PORT", i64::from(from_prefixed), 12),
        ("+ <P>PORT_FILE", i64::from(from_secret_file), 12),
    ];
    let mut seen = Vec::new();
    for (layers, (label, port, timeout)) in expected.into_iter().enumerate() {
        let run = layered(
            SERVICE.command(&format!("config {label}"), "config"),
            layers,
        )
        .run();
        assert!(
            run.status.is_some_and(|s| s.success()),
            "`config` failed\n{}",
            run.describe()
        );
        let config: toml::Table = run
            .stdout()
            .parse()
            .unwrap_or_else(|e| panic!("`config` prints TOML ({e})\n{}", run.describe()));
        assert_eq!(
            config.get("port").and_then(|p| p.as_integer()),
            Some(port),
            "port with layers {label}\n{}",
            run.describe()
        );
        assert_eq!(
            config
                .get("http")
                .and_then(|h| h.get("request_timeout_secs"))
                .and_then(|t| t.as_integer()),
            Some(timeout),
            "http.request_timeout_secs (nested key) with layers {label}\n{}",
            run.describe()
        );
        seen.push(format!("{label} -> {port}"));
    }
    progress(&format!("[e2e] config layers: {}", seen.join(", ")));

    let mut service = layered(SERVICE.launch("serve (all layers)"), 4)
        .expect_port(from_secret_file)
        .spawn();
    let ready = service.wait_ready();
    service.wait_for_log("`listening` on the top layer's port", |line| {
        line["message"] == "listening" && line["address"] == format!("127.0.0.1:{from_secret_file}")
    });
    for port in [from_file, from_platform, from_prefixed] {
        assert!(
            !accepts_connections(port),
            "a lower layer's port {port} is listening\n{}",
            service.describe()
        );
    }
    service.stop_cleanly();
    progress(&format!(
        "[e2e] serve binds <P>PORT_FILE's port {from_secret_file} (ready in {} ms), not {from_file}/{from_platform}/{from_prefixed}",
        ms(ready)
    ));
}

/// Check 4: bad values stop the process before it binds, naming the key.
#[test]
fn bad_config_stops_before_binding() {
    // If PORT=abc were skipped, the config file's port would be bound: watch that one.
    let port = free_port();
    let dir = new_temp_dir("e2e-bad-config-");
    let config_file = dir.path().join("service.toml");
    std::fs::write(&config_file, format!("port = {port}\n")).expect("write config file");
    assert_stops_before_binding(
        SERVICE
            .launch("PORT=abc")
            .setting("CONFIG_PATH", config_file.display())
            .env("PORT", "abc")
            .database(&postgres_url())
            .expect_port(port),
        "port",
    );

    assert_stops_before_binding(
        SERVICE
            .launch("<P>LOGGING__FORMAT=yaml")
            .port(free_port())
            .setting("LOGGING__FORMAT", "yaml")
            .database(&postgres_url()),
        "logging.format",
    );
}

/// Check 5a: a password given apart from the URL, from a variable or a file, is used and never shown.
#[test]
fn database_password_stays_secret() {
    // Letters around the digits: figment would read an all-digit value as a number.
    let password = format!("E2eSecret{}Pw", random_hex());
    let db = TempDb::with_role("e2e", &password);
    let url = db.url();
    assert!(!url.contains(&password), "the URL carries no password");

    // Control: without the password the database refuses the role, so a 200 below proves the
    // password reached PostgreSQL.
    let port = free_port();
    let mut without = SERVICE
        .launch("serve (no password)")
        .port(port)
        .database(&url)
        .spawn();
    without.wait_for_status("/livez", 200, READY_TIMEOUT);
    let readyz = without.get("/readyz");
    assert_eq!(
        readyz.status,
        503,
        "without a password the role cannot log in: {readyz:?}\n{}",
        without.describe()
    );
    without.stop_cleanly();

    let secret_dir = new_temp_dir("e2e-secret-");
    let secret_file = secret_dir.path().join("db-password");
    std::fs::write(&secret_file, format!("{password}\n")).expect("write secret file");
    let ways = [
        (
            "<P>DATABASE__PASSWORD",
            "DATABASE__PASSWORD",
            password.clone(),
        ),
        (
            "<P>DATABASE__PASSWORD_FILE",
            "DATABASE__PASSWORD_FILE",
            secret_file.display().to_string(),
        ),
    ];
    for (how, key, value) in ways {
        let with_secret = |launch: Launch| launch.database(&url).setting(key, &value);

        let migrate = with_secret(SERVICE.command(&format!("migrate ({how})"), "migrate")).run();
        assert!(
            migrate.status.is_some_and(|s| s.success()),
            "`migrate` logs in with the password from {how}\n{}",
            migrate.describe()
        );

        let config = with_secret(SERVICE.command(&format!("config ({how})"), "config")).run();
        assert!(
            config.status.is_some_and(|s| s.success()),
            "`config` with {how}\n{}",
            config.describe()
        );
        let table: toml::Table = config.stdout().parse().expect("`config` prints TOML");
        let database = &table["database"];
        assert_eq!(
            database.get("password").and_then(|p| p.as_str()),
            Some("[REDACTED]"),
            "`config` shows the password as [REDACTED]\n{}",
            config.describe()
        );
        assert_eq!(
            database.get("url").and_then(|p| p.as_str()),
            Some("[REDACTED]"),
            "`config` shows the URL as [REDACTED]\n{}",
            config.describe()
        );

        let port = free_port();
        let mut service = with_secret(SERVICE.launch(&format!("serve ({how})")).port(port)).spawn();
        let ready = service.wait_ready();
        let created = service.post_json("/notes", r#"{"title":"secret","body":"kept"}"#);
        assert_eq!(
            created.status,
            201,
            "writes work with the password from {how}: {created:?}\n{}",
            service.describe()
        );
        service.stop_cleanly();

        for proc in [&migrate, &config, &service] {
            proc.assert_never_printed(&password, "the database password");
        }
        progress(&format!(
            "[e2e] password via {how}: /readyz 200 after {} ms; config shows [REDACTED]; never printed by migrate/config/serve",
            ms(ready)
        ));
    }
}

/// Check 5b: a malformed URL holding the password, and a wrong password: neither ever printed.
#[test]
fn bad_database_credentials_do_not_leak() {
    let password = format!("E2eSecret{}Pw", random_hex());
    let db = TempDb::with_role("e2e", &password);

    let malformed = format!(
        "postgres://{}:{password}@{}:notaport/{}",
        db.url.user, db.url.host, db.name
    );
    let refused = assert_stops_before_binding(
        SERVICE
            .launch("malformed DATABASE_URL")
            .port(free_port())
            .database(&malformed),
        "database.url",
    );
    refused.assert_never_printed(&password, "the password inside the malformed URL");

    let wrong = format!("E2eWrong{}Pw", random_hex());
    let url = PgUrl {
        password: Some(wrong.clone()),
        ..db.url.clone()
    }
    .to_string();
    let config = SERVICE
        .command("config (wrong password)", "config")
        .database(&url)
        .run();
    assert!(
        config.status.is_some_and(|s| s.success()) && config.stdout().contains("[REDACTED]"),
        "`config` redacts the URL\n{}",
        config.describe()
    );

    let port = free_port();
    let mut service = SERVICE
        .launch("serve (wrong password)")
        .port(port)
        .database(&url)
        .spawn();
    let live = service.wait_for_status("/livez", 200, READY_TIMEOUT);
    let readyz = service.get("/readyz");
    assert_eq!(
        readyz.status,
        503,
        "a wrong password: not ready: {readyz:?}\n{}",
        service.describe()
    );
    assert_eq!(
        readyz.json()["checks"]["postgres:responseTime"][0]["status"],
        "fail",
        "{readyz:?}"
    );
    let warning = service.wait_for_log("warning that PostgreSQL failed the check", |line| {
        line["level"] == "WARN"
            && line["message"]
                .as_str()
                .is_some_and(|m| m.contains("PostgreSQL"))
    });
    service.stop_cleanly();
    for proc in [&config, &service] {
        proc.assert_never_printed(&wrong, "the wrong password");
        proc.assert_never_printed(&password, "the real password");
    }
    progress(&format!(
        "[e2e] wrong password: /livez 200 after {} ms, /readyz 503, warning logged ({}); password never printed",
        ms(live),
        warning["error"].as_str().unwrap_or("no error field")
    ));
}

/// Check 6: SIGTERM while a request's body is still arriving; readiness fails at once, the
/// request completes, the process exits 0.
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
    let port = service.port;

    let request_id = format!("e2e-slow-{}", random_hex());
    let body = r#"{"title":"slow note","body":"sent in two halves around SIGTERM"}"#;
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut slow = connect(port).expect("connect for the slow request");
    write!(
        slow,
        "POST /notes HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nx-request-id: {request_id}\r\n\r\n{first_half}",
        body.len()
    )
    .expect("send the head and half the body");
    thread::sleep(Duration::from_millis(300));

    let signalled = Instant::now();
    service.terminate();

    // Readiness fails at once, on a new connection, while the listener is still open.
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

    // After the drain delay the listener closes.
    let listener_closed_after = loop {
        if !accepts_connections(port) {
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
        listener_closed_after >= Duration::from_millis(1800),
        "the listener closed after {} ms, before the 2 s drain delay\n{}",
        ms(listener_closed_after),
        service.describe()
    );
    assert!(
        service.try_exit().is_none(),
        "the process exited with a request in flight\n{}",
        service.describe()
    );

    slow.write_all(second_half.as_bytes())
        .expect("send the rest of the body");
    let response = read_response(&mut slow).unwrap_or_else(|e| {
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

    let status = service.expect_exit(EXIT_TIMEOUT);
    let exited_after = signalled.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "a clean drain exits 0\n{}",
        service.describe()
    );
    for message in ["SIGTERM received", "shutting down", "shutdown complete"] {
        assert!(
            service
                .find_log(|line| line["message"] == message)
                .is_some(),
            "the logs show `{message}`\n{}",
            service.describe()
        );
    }
    assert!(
        service
            .find_log(
                |line| line["span"]["request_id"] == request_id.as_str() && line["status"] == 201
            )
            .is_some(),
        "the slow request is logged with 201\n{}",
        service.describe()
    );
    let stored = psql_at(
        &db.url(),
        "SELECT count(*) FROM notes WHERE title = 'slow note'",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, "1", "the note is stored");
    progress(&format!(
        "[e2e] SIGTERM with a slow POST: /readyz 503 after {} ms, listener closed after {} ms, POST 201, exit 0 after {} ms",
        ms(not_ready_after),
        ms(listener_closed_after),
        ms(exited_after)
    ));
}

/// Check 7a: an idle keep-alive connection does not hold the process.
#[test]
fn idle_keep_alive_does_not_delay_exit() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve("serve (idle keep-alive)", &db.url(), &[]);
    let port = service.port;

    let mut idle = connect(port).expect("connect");
    write!(idle, "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").expect("send a request");
    let response = read_response(&mut idle).expect("a response on the kept-alive connection");
    assert_eq!(response.status, 200, "{response:?}");
    assert_ne!(
        response.header("connection"),
        Some("close"),
        "the connection is kept alive: {response:?}"
    );
    thread::sleep(Duration::from_millis(200));
    assert!(
        still_open(&idle),
        "the idle connection is open before SIGTERM"
    );

    let signalled = Instant::now();
    service.terminate();
    let status = service.expect_exit(EXIT_TIMEOUT);
    let took = signalled.elapsed();
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
        service
            .find_log(|line| line["message"] == "shutdown complete")
            .is_some(),
        "a clean drain logs `shutdown complete`\n{}",
        service.describe()
    );
    progress(&format!(
        "[e2e] idle keep-alive connection: SIGTERM->exit {} ms, exit 0, connection closed",
        ms(took)
    ));
}

/// Check 7b: a client stuck in the middle of its headers is cut at the deadline.
#[test]
fn stuck_client_cut_at_deadline() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve(
        "serve (deadline 2 s)",
        &db.url(),
        &[("SHUTDOWN__TIMEOUT_SECS", "2")],
    );
    let port = service.port;

    let mut stuck = connect(port).expect("connect");
    write!(stuck, "GET / HTTP/1.1\r\nHost: x\r\n").expect("send half a head");
    thread::sleep(Duration::from_millis(300));
    assert!(
        still_open(&stuck),
        "the stuck connection is open before SIGTERM"
    );

    let signalled = Instant::now();
    service.terminate();
    let status = service.expect_exit(Duration::from_secs(6));
    let took = signalled.elapsed();
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
        .find_log(|line| {
            line["level"] == "WARN"
                && line["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("deadline"))
        })
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

/// Check 8: `healthcheck` probes liveness (`/livez`): it exits 0 while the service drains
/// (a container is not restarted for shutting down) and 1 when nothing listens.
/// `healthcheck --ready` probes readiness (`/readyz`): 0 only for 200, so 1 while draining.
#[test]
fn healthcheck_command() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve(
        "serve (for healthcheck)",
        &db.url(),
        &[("SHUTDOWN__DRAIN_DELAY_SECS", "3")],
    );
    let port = service.port;

    // `args` after the command: none for liveness, `--ready` for readiness.
    let healthcheck = |port: u16, args: &[&str], label: &str| {
        let started = Instant::now();
        let mut launch = SERVICE
            .command(
                &format!("healthcheck {} ({label})", args.join(" ")),
                "healthcheck",
            )
            .port(port)
            .database(&db.url());
        for arg in args {
            launch = launch.arg(arg);
        }
        let run = launch.run();
        (run, started.elapsed())
    };
    const LIVE: &[&str] = &[];
    const READY: &[&str] = &["--ready"];

    let mut ready_took = Vec::new();
    for args in [LIVE, READY] {
        let (ready, took) = healthcheck(port, args, "ready");
        assert_eq!(
            ready.status.and_then(|s| s.code()),
            Some(0),
            "healthcheck {args:?} against a ready service must exit 0\n{}\n{}",
            ready.describe(),
            service.describe()
        );
        ready_took.push(took);
    }

    let nobody = free_port();
    let mut absent_took = Vec::new();
    for args in [LIVE, READY] {
        let (absent, took) = healthcheck(nobody, args, "nothing listening");
        assert_eq!(
            absent.status.and_then(|s| s.code()),
            Some(1),
            "healthcheck {args:?} with nothing on port {nobody} must exit 1\n{}",
            absent.describe()
        );
        assert!(
            absent.stderr().contains(&nobody.to_string()),
            "the message names the port\n{}",
            absent.describe()
        );
        absent_took.push(took);
    }

    // Draining: /readyz says 503, /livez still 200.
    service.terminate();
    service.wait_for_status("/readyz", 503, Duration::from_secs(1));
    let (ready_draining, _) = healthcheck(port, READY, "draining");
    assert!(
        ready_draining.status.and_then(|s| s.code()) == Some(1)
            && ready_draining.stderr().contains("503"),
        "healthcheck --ready while draining must exit 1 naming the 503\n{}",
        ready_draining.describe()
    );
    let (live_draining, _) = healthcheck(port, LIVE, "draining");
    assert_eq!(
        live_draining.status.and_then(|s| s.code()),
        Some(0),
        "healthcheck (liveness) while draining must exit 0: the process is alive\n{}\n{}",
        live_draining.describe(),
        service.describe()
    );
    let status = service.expect_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "{}", service.describe());
    progress(&format!(
        "[e2e] healthcheck / --ready: exit 0/0 against a ready service ({}); exit 1/1 with nothing on the port ({}); while draining --ready exits 1 (503), liveness exits 0",
        list_ms(&ready_took),
        list_ms(&absent_took),
    ));
}

/// Check 9: PostgreSQL goes away and comes back; readiness follows within a second,
/// liveness stays, no restart.
#[test]
fn database_outage_without_restart() {
    let db = SERVICE.migrated_db();
    let upstream_url = db.url.clone();
    let upstream = (upstream_url.host.as_str(), upstream_url.port)
        .to_socket_addrs()
        .expect("resolve the database host")
        .next()
        .expect("an address for the database host");
    let mut proxy = Proxy::start(upstream);
    let through_proxy = PgUrl {
        host: "127.0.0.1".to_owned(),
        port: proxy.port,
        ..upstream_url
    }
    .to_string();

    let port = free_port();
    let mut service = SERVICE
        .launch("serve (behind the proxy)")
        .port(port)
        .database(&through_proxy)
        .spawn();
    let ready = service.wait_ready();
    assert!(
        proxy.accepted() > 0,
        "the service reaches PostgreSQL through the proxy"
    );
    let pid = service.child.id();

    // The probes while the database is away: /readyz 503 within 1 s, /livez 200.
    let probe_outage = |service: &Proc, phase: &str| {
        let (mut readyz_took, mut livez_took) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let started = Instant::now();
            let readyz = service.get("/readyz");
            let took = started.elapsed();
            assert_eq!(
                readyz.status,
                503,
                "{phase}: /readyz must fail: {readyz:?}\n{}",
                service.describe()
            );
            assert!(
                took < Duration::from_secs(1),
                "{phase}: /readyz took {} ms, more than 1 s\n{}",
                ms(took),
                service.describe()
            );
            assert_eq!(
                readyz.json()["checks"]["postgres:responseTime"][0]["status"],
                "fail",
                "{readyz:?}"
            );
            readyz_took.push(took);

            let started = Instant::now();
            let livez = service.get("/livez");
            livez_took.push(started.elapsed());
            assert_eq!(
                livez.status,
                200,
                "{phase}: /livez stays 200: {livez:?}\n{}",
                service.describe()
            );
            thread::sleep(Duration::from_millis(100));
        }
        progress(&format!(
            "[e2e] outage ({phase}): /readyz 503 in {}, /livez 200 in {}",
            list_ms(&readyz_took),
            list_ms(&livez_took)
        ));
    };

    proxy.close();
    probe_outage(&service, "connections cut, new ones refused");

    proxy.open(ProxyMode::Blackhole);
    probe_outage(&service, "connections accepted, never answered");

    proxy.close();
    proxy.open(ProxyMode::Forward);
    let back = service.wait_for_status("/readyz", 200, Duration::from_secs(10));
    assert!(
        back < Duration::from_secs(5),
        "/readyz took {} ms to recover\n{}",
        ms(back),
        service.describe()
    );
    assert!(
        service.try_exit().is_none() && service.child.id() == pid,
        "the same process is still serving"
    );
    assert!(
        service
            .find_log(|line| line["level"] == "WARN"
                && line["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("PostgreSQL")))
            .is_some(),
        "the failed checks are logged as warnings\n{}",
        service.describe()
    );
    let exit = service.stop_cleanly();
    progress(&format!(
        "[e2e] database outage: ready in {} ms at start; restore->/readyz 200 after {} ms without a restart; SIGTERM->exit {} ms",
        ms(ready),
        ms(back),
        ms(exit)
    ));
}

/// A password that looks like a number must reach PostgreSQL exactly as written.
///
/// Secrets are taken as text: figment would otherwise read `007` as the number 7 and `1.50` as
/// 1.5, and the database would refuse the password.
#[test]
fn numeric_looking_password_used_verbatim() {
    for password in ["007", "1.50"] {
        let db = TempDb::with_role("e2e", password);
        let migrate = SERVICE
            .command(&format!("migrate (password {password})"), "migrate")
            .database(&db.url())
            .setting("DATABASE__PASSWORD", password)
            .run();
        assert_eq!(
            migrate.status.and_then(|s| s.code()),
            Some(0),
            "{}",
            migrate.describe()
        );
        let port = free_port();
        let mut service = SERVICE
            .launch(&format!("serve (password {password})"))
            .port(port)
            .database(&db.url())
            .setting("DATABASE__PASSWORD", password)
            .spawn();
        service.wait_for_status("/readyz", 200, Duration::from_secs(10));
        service.stop_cleanly();
    }
}
