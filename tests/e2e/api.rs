//! The service's own API: `migrate` as a process of its own, the example resource over HTTP,
//! and the JSON logs that name each request.

use std::time::Instant;

use serde_json::{Value, json};
use template_harness::ports::free_port;
use template_harness::postgres::TempDb;
use template_harness::process::Proc;
use template_harness::random::{random_hex, random_uuid};
use template_harness::report::{ms, progress};

use crate::{PROJECT, SERVICE};

/// `migrate` as its own process (twice), then the notes API over HTTP.
#[test]
fn notes_api_after_migrate() {
    let db = TempDb::new("e2e");
    migrate_twice(&db);

    let mut service = SERVICE
        .launch("serve")
        .port(free_port())
        .database(&db.url())
        .spawn();
    let ready = service.wait_ready();
    root_names_the_service(&service);
    let note = a_note_is_created(&service);
    the_note_is_fetched_and_listed(&service, &note);
    bad_and_unknown_notes_are_refused(&service);

    let exit = service.stop_cleanly();
    progress(&format!(
        "[e2e] notes API: ready in {} ms; create 201, fetch 200, list 200, empty title 422, unknown id 404; SIGTERM->exit {} ms",
        ms(ready),
        ms(exit)
    ));
}

/// `migrate` succeeds on a fresh database and again with nothing left to apply, and records
/// the one migration once.
fn migrate_twice(db: &TempDb) {
    for run in ["first", "second"] {
        let started = Instant::now();
        let migrate = SERVICE
            .command(&format!("migrate ({run} run)"), "migrate")
            .database(&db.url())
            .run();
        migrate.assert_exit_code(
            0,
            "`migrate` must succeed, also when there is nothing left to apply",
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
    let applied = db.psql("SELECT count(*) FROM _sqlx_migrations WHERE success");
    assert_eq!(applied, "1", "the one migration is recorded once");
}

fn root_names_the_service(service: &Proc) {
    let about = service.get("/");
    assert_eq!(
        about.status,
        200,
        "GET /: {about:?}\n{}",
        service.describe()
    );
    assert_eq!(about.json()["name"], PROJECT, "GET / names the service");
    assert_eq!(about.json()["version"], "0.1.0", "GET / gives the version");
}

/// `POST /notes` stores a trimmed title and the body; returns the note.
fn a_note_is_created(service: &Proc) -> Value {
    let body = format!("e2e body {}", random_hex());
    let created = service.post_json(
        "/notes",
        &json!({ "title": "  e2e title  ", "body": body }).to_string(),
    );
    assert_eq!(
        created.status,
        201,
        "POST /notes: {created:?}\n{}",
        service.describe()
    );
    let note = created.json();
    let id = note["id"].as_str().expect("the new note has an id");
    assert_eq!(id.len(), 36, "the id is a UUID: {note}");
    assert_eq!(note["title"], "e2e title", "the title is stored trimmed");
    assert_eq!(note["body"], body.as_str());
    note
}

fn the_note_is_fetched_and_listed(service: &Proc, note: &Value) {
    let id = note["id"].as_str().expect("the note has an id");
    let fetched = service.get(&format!("/notes/{id}"));
    assert_eq!(
        fetched.status,
        200,
        "GET /notes/{id}: {fetched:?}\n{}",
        service.describe()
    );
    assert_eq!(&fetched.json(), note, "GET /notes/{{id}} returns the note");

    let listed = service.get("/notes");
    assert_eq!(listed.status, 200, "GET /notes: {listed:?}");
    let listed = listed.json();
    assert!(
        listed.as_array().is_some_and(|notes| notes.contains(note)),
        "GET /notes lists the new note: {listed}"
    );
}

fn bad_and_unknown_notes_are_refused(service: &Proc) {
    let invalid = service.post_json("/notes", r#"{"title":"   ","body":"no title"}"#);
    assert_eq!(invalid.status, 422, "an empty title: {invalid:?}");
    assert_eq!(
        invalid.json(),
        json!({ "error": "title must not be empty" }),
        "the 422 says why"
    );

    let missing = service.get(&format!("/notes/{}", random_uuid()));
    assert_eq!(missing.status, 404, "an unknown id: {missing:?}");
    assert_eq!(missing.json()["error"], "not found");
}

/// JSON logs on stdout; request ids taken from the client or made, echoed and logged.
#[test]
fn json_logs_with_request_ids() {
    let db = SERVICE.migrated_db();
    let mut service = SERVICE.serve("serve", &db.url(), &[]);

    let given = a_given_request_id_is_echoed_and_logged(&mut service);
    let generated = a_missing_request_id_is_made_echoed_and_logged(&mut service, &given);

    service.stop_cleanly();
    let lines = after_the_exit_every_line_is_json_on_stdout(&service);
    progress(&format!(
        "[e2e] JSON logs: {lines} stdout lines, all JSON; request id {given} echoed and logged; generated id {generated} echoed and logged"
    ));
}

fn a_given_request_id_is_echoed_and_logged(service: &mut Proc) -> String {
    let given = format!("e2e-{}", random_hex());
    let answered = service.request("GET", "/", &[("x-request-id", &given)], None);
    assert_eq!(answered.status, 200, "GET /: {answered:?}");
    assert_eq!(
        answered.header("x-request-id"),
        Some(given.as_str()),
        "the client's request id comes back: {answered:?}"
    );
    let line = service.wait_for_request_log(&given);
    assert_eq!(
        line["status"], 200,
        "the request log line has the status: {line}"
    );
    assert_eq!(line["span"]["method"], "GET", "and the method: {line}");
    assert_eq!(line["span"]["route"], "/", "and the route: {line}");
    assert_eq!(line["level"], "INFO", "at INFO: {line}");
    assert!(line.get("latency").is_some(), "and the latency: {line}");
    given
}

fn a_missing_request_id_is_made_echoed_and_logged(service: &mut Proc, given: &str) -> String {
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
    let line = service.wait_for_request_log(&generated);
    assert_eq!(line["status"], 404, "{line}");
    assert_eq!(line["span"]["path"], "/nowhere", "{line}");
    generated
}

/// After the exit every line is in: all JSON, a `listening` line with the address, none about
/// the probes, nothing on stderr. Returns how many lines there are.
fn after_the_exit_every_line_is_json_on_stdout(service: &Proc) -> usize {
    let logs = service.logs();
    let address = format!("127.0.0.1:{}", service.port);
    assert!(
        logs.iter()
            .any(|line| line["message"] == "listening" && line["address"] == address),
        "a `listening` line with the address\n{}",
        service.describe()
    );
    assert_eq!(
        service.probe_log_lines(),
        0,
        "probes are not request-logged\n{}",
        service.describe()
    );
    assert!(
        service.stderr().trim().is_empty(),
        "logs go to stdout, stderr stays empty\n{}",
        service.describe()
    );
    logs.len()
}
