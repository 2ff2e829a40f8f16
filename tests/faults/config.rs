//! Config that cannot work: a value under the wrong key from each source, and CORS origins,
//! stop the service before it binds, naming the key and the source, never the value.

use std::panic::AssertUnwindSafe;
use std::path::Path;

use template_harness::files::new_temp_dir;
use template_harness::ports::free_port;
use template_harness::postgres::{TempDb, postgres_url};
use template_harness::process::{Launch, assert_stops_before_binding, names_key};
use template_harness::report::{one_line, progress};

use crate::SERVICE;

/// The secret planted in every wrong-key value; it must never be printed.
const SECRET: &str = "pw-SECRET";

/// A value under the wrong key, or a config file that does not parse, from one source.
struct WrongKey {
    label: String,
    launch: Launch,
    /// The key stderr must name.
    key: &'static str,
    /// The source stderr must name, one of these (a TOML file is named by its path or by the
    /// variable that names it).
    sources: Vec<String>,
    /// The value that must not appear.
    value: &'static str,
}

/// A value under the wrong key (a section given a string, a word for a number) and a config
/// file that does not parse, from each source: stop before binding, name the key and the
/// source, never print the value.
#[test]
fn wrong_key_names_key_and_source_never_the_value() {
    let dir = new_temp_dir("faults-config-");
    // One after another: each run polls its port in a tight loop until the process exits. A
    // failing case does not hide the next ones: its message is printed, the test fails at the end.
    let mut failed = Vec::new();
    for case in wrong_key_cases(dir.path()) {
        let label = case.label.clone();
        let checked =
            std::panic::catch_unwind(AssertUnwindSafe(|| stops_naming_key_and_source(case)));
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

/// The wrong-key cases, with their files written into `dir`. No DATABASE_URL with a wrong
/// `database`: the platform's variable would replace the string with a table and hide the fault.
fn wrong_key_cases(dir: &Path) -> Vec<WrongKey> {
    let url = format!("postgres://u:{SECRET}@h/db");
    let value_file = dir.join("database");
    std::fs::write(&value_file, format!("{url}\n")).expect("write the value file");
    let wrong_toml = dir.join("wrong-key.toml");
    std::fs::write(&wrong_toml, format!("database = \"{url}\"\n")).expect("write the TOML file");
    let broken_toml = dir.join("broken.toml");
    let broken = format!("[database]\npassword = \"{SECRET}\nmax_connections = 5\n");
    std::fs::write(&broken_toml, broken).expect("write the TOML file");
    let (database_var, file_var) = (
        SERVICE.prefixed("DATABASE"),
        SERVICE.prefixed("DATABASE_FILE"),
    );
    let config_path_var = SERVICE.prefixed("CONFIG_PATH");
    let (wrong_path, broken_path) = (
        wrong_toml.display().to_string(),
        broken_toml.display().to_string(),
    );
    let case = |label: String, launch: Launch, key, sources: &[&String], value| WrongKey {
        label,
        launch,
        key,
        sources: sources.iter().map(|source| source.to_string()).collect(),
        value,
    };
    vec![
        case(
            format!("{database_var}=<url>"),
            SERVICE.launch("<P>DATABASE=<url>").env(&database_var, &url),
            "database",
            &[&database_var],
            SECRET,
        ),
        case(
            format!("{file_var}=<file holding the url>"),
            SERVICE
                .launch("<P>DATABASE_FILE=<file>")
                .env(&file_var, value_file.display()),
            "database",
            &[&file_var],
            SECRET,
        ),
        case(
            "TOML file: database = <url>".to_owned(),
            SERVICE
                .launch("<P>CONFIG_PATH (database = <url>)")
                .setting("CONFIG_PATH", &wrong_path),
            "database",
            &[&wrong_path, &config_path_var],
            SECRET,
        ),
        // Syntax comes before keys: the file and the line are what can be named.
        case(
            "TOML file with a syntax error on the password line".to_owned(),
            SERVICE
                .launch("<P>CONFIG_PATH (unterminated password string)")
                .setting("CONFIG_PATH", &broken_path),
            "line 2",
            &[&broken_path, &config_path_var],
            SECRET,
        ),
        case(
            "<P>HTTP__BODY_LIMIT_BYTES=lots".to_owned(),
            SERVICE
                .launch("<P>HTTP__BODY_LIMIT_BYTES=lots")
                .setting("HTTP__BODY_LIMIT_BYTES", "lots")
                .database(&postgres_url()),
            "http.body_limit_bytes",
            &[&SERVICE.prefixed("HTTP__BODY_LIMIT_BYTES")],
            "lots",
        ),
    ]
}

/// The case stops the service before it binds, naming the key and the source, never the value.
fn stops_naming_key_and_source(case: WrongKey) {
    let WrongKey {
        label,
        launch,
        key,
        sources,
        value,
    } = case;
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
}

/// CORS origins. `*` alone allows any origin; a trailing slash is dropped; `*` mixed with
/// origins, and anything not an origin, stop the service before it binds, without a panic.
#[test]
fn cors_origins_work_or_stop_before_binding() {
    let db = SERVICE.migrated_db();
    let allowed = allowed_origin(&db, r#"["*"]"#, "https://anywhere.example");
    assert_eq!(allowed, "*", "[\"*\"] allows any origin");
    progress(
        "[faults] cors [\"*\"]: starts; GET / from https://anywhere.example -> access-control-allow-origin: *",
    );
    let configured = r#"["https://app.example.com/"]"#;
    let allowed = allowed_origin(&db, configured, "https://app.example.com");
    assert_eq!(
        allowed, "https://app.example.com",
        "a trailing slash is dropped from a configured origin"
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
            "http.cors_allowed_origins",
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

/// `access-control-allow-origin` of a `GET /` from `origin`, with `origins` configured.
fn allowed_origin(db: &TempDb, origins: &str, origin: &str) -> String {
    let service = SERVICE.serve(
        &format!("serve (cors {origins})"),
        &db.url(),
        &[("HTTP__CORS_ALLOWED_ORIGINS", origins)],
    );
    let answer = service.request("GET", "/", &[("Origin", origin)], None);
    assert_eq!(answer.status, 200, "{answer:?}");
    answer
        .header("access-control-allow-origin")
        .unwrap_or_else(|| {
            panic!(
                "no access-control-allow-origin with cors {origins} for {origin}: {answer:?}\n{}",
                service.describe()
            )
        })
        .to_owned()
}
