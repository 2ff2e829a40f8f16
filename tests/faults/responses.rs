//! Failing requests of every kind: each answers `application/json` `{"error": ...}` with the
//! security headers, and what the outer layers answer is request-logged.

use std::time::Instant;

use serde_json::{Value, json};
use template_harness::http::{Response, post_announcing, post_chunked};
use template_harness::postgres::TempDb;
use template_harness::process::Proc;
use template_harness::random::random_hex;
use template_harness::report::{ms, progress};

use crate::{SERVICE, post_notes_raw};

/// Every kind of failing request answers `application/json` `{"error": ...}` with the
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
    let mut responses = Responses::default();
    responses.check("GET / (a 200)", service.get("/"), None);
    bad_requests_are_json(&service, &mut responses);
    bodies_over_the_limit_are_json(service.port, &mut responses);
    timeouts_and_database_errors_are_json(service.port, &db, &mut responses);
    assert!(
        responses.problems.is_empty(),
        "{} responses are wrong:\n{}\n{}",
        responses.problems.len(),
        responses.problems.join("\n"),
        service.describe()
    );
}

/// What is wrong with the responses checked so far.
#[derive(Default)]
struct Responses {
    problems: Vec<String>,
}

impl Responses {
    /// An error response with `status` (or, with `None`, a 200 with the security headers);
    /// prints what came.
    fn check(&mut self, what: &str, response: Response, status: Option<u16>) {
        let found = match status {
            Some(status) => response.error_response_problems(status),
            None => {
                let mut found = response.security_header_problems();
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
            self.problems.push(format!("{what}: {}", found.join("; ")));
        }
    }
}

fn request_id() -> String {
    format!("faults-{}", random_hex())
}

/// 400, 415, 422 (twice), 404 and 405.
fn bad_requests_are_json(service: &Proc, responses: &mut Responses) {
    let port = service.port;
    let json = "application/json";
    let cases = [
        ("malformed JSON body", json, r#"{"title":"#, 400),
        (
            "POST /notes as text/plain",
            "text/plain",
            r#"{"title":"t"}"#,
            415,
        ),
        ("missing field", json, r#"{"body":"no title"}"#, 422),
        ("empty title", json, r#"{"title":"  "}"#, 422),
    ];
    for (what, content_type, body, status) in cases {
        let response = post_notes_raw(port, content_type, body, &request_id());
        responses.check(what, response, Some(status));
    }
    responses.check("unknown path", service.get("/nowhere"), Some(404));
    let delete = service.request("DELETE", "/", &[], None);
    responses.check("DELETE /", delete, Some(405));
}

/// 413 for a body announced over the limit, and for a chunked one over it.
fn bodies_over_the_limit_are_json(port: u16, responses: &mut Responses) {
    let announced = post_announcing(port, "/notes", 4096, &request_id()).expect("POST /notes");
    responses.check(
        "Content-Length 4096 over a 1024-byte limit",
        announced,
        Some(413),
    );
    let body = format!(r#"{{"title":"big","body":"{}"}}"#, "x".repeat(4096));
    let chunked = post_chunked(port, "/notes", &body, &request_id()).expect("POST /notes");
    responses.check(
        "chunked body of 4096 bytes over a 1024-byte limit",
        chunked,
        Some(413),
    );
}

/// 503 from the request timeout (the table locked), then 500 from a database error (the table
/// dropped), which says no more than `internal error`.
fn timeouts_and_database_errors_are_json(port: u16, db: &TempDb, responses: &mut Responses) {
    {
        let _lock = db.lock_table("notes");
        let started = Instant::now();
        let response = post_notes_raw(
            port,
            "application/json",
            r#"{"title":"slow"}"#,
            &request_id(),
        );
        let what = format!(
            "POST /notes blocked on a lock, request timeout 1 s (answered after {} ms)",
            ms(started.elapsed())
        );
        responses.check(&what, response, Some(503));
    }
    db.psql("DROP TABLE notes");
    let response = post_notes_raw(port, "application/json", r#"{"title":"t"}"#, &request_id());
    let body = response.body.clone();
    responses.check("a database error (table dropped)", response, Some(500));
    if serde_json::from_str::<Value>(&body).ok() != Some(json!({"error": "internal error"})) {
        responses.problems.push(format!(
            "a database error: body {body:?} instead of {{\"error\":\"internal error\"}}"
        ));
    }
}

/// Responses made by the outer layers (413 from the body limit, 503 from the request timeout)
/// are request-logged with the client's request id; probes stay out of the log.
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
        let line = service.wait_for_request_log(request_id);
        assert_eq!(
            line["status"], status,
            "the request log line of {request_id}: {line}"
        );
        seen.push(format!(
            "{status} logged at {} with request id {request_id}",
            line["level"].as_str().unwrap_or("?")
        ));
    }
    service.stop_cleanly();
    assert_eq!(
        service.probe_log_lines(),
        0,
        "probes are not request-logged\n{}",
        service.describe()
    );
    progress(&format!(
        "[faults] request log: {}; 6 probes, none logged",
        seen.join("; ")
    ));
}
