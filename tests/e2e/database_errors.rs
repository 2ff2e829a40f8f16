//! A database that cannot be reached, as a newcomer meets it: `migrate` and `/readyz` say where
//! they tried (host and port, never the password), why it failed (nothing listening, an unknown
//! host, a wrong password, a missing database) and how to start the compose PostgreSQL.

use template_harness::ports::free_port;
use template_harness::postgres::{PgUrl, TempDb, postgres_url};
use template_harness::process::{Proc, READY_TIMEOUT};
use template_harness::random::random_hex;
use template_harness::report::progress;

use crate::SERVICE;

/// What the all-on render suggests: it has `compose.yaml` with a PostgreSQL.
const COMPOSE_HINT: &str = "docker compose up -d --wait db";

/// `migrate` against `url`, which must fail: its output (stdout and stderr).
fn failed_migrate(label: &str, url: &str) -> (Proc, String) {
    let migrate = SERVICE
        .command(&format!("migrate ({label})"), "migrate")
        .database(url)
        .run();
    assert!(
        migrate.status.is_some_and(|status| !status.success()),
        "`migrate` with {label} must fail\n{}",
        migrate.describe()
    );
    let said = format!("{}{}", migrate.stdout(), migrate.stderr());
    (migrate, said)
}

/// Asserts that `said` holds every one of `wanted`.
fn assert_says(said: &str, wanted: &[&str], what: &str) {
    for text in wanted {
        assert!(
            said.contains(text),
            "{what}: the message should say `{text}`:\n{said}"
        );
    }
}

/// Nothing listens on the port: `migrate` says where, "connection refused" and the hint, and
/// `/readyz` says the same in its check; the password is never printed.
#[test]
fn a_closed_port_is_named_with_its_cause_and_the_hint() {
    let password = format!("E2eClosed{}Pw", random_hex());
    let port = free_port();
    let url = format!("postgres://newcomer:{password}@127.0.0.1:{port}/orders");
    let (migrate, said) = failed_migrate("a closed port", &url);
    let place = format!("127.0.0.1:{port}");
    let wanted = [place.as_str(), "connection refused", COMPOSE_HINT];
    assert_says(&said, &wanted, "`migrate` against a closed port");
    migrate.assert_never_printed(&password, "the password");

    let mut service = SERVICE
        .launch("serve (a closed database port)")
        .port(free_port())
        .database(&url)
        .spawn();
    service.wait_for_status("/livez", 200, READY_TIMEOUT);
    let readyz = service.get("/readyz");
    service.stop_cleanly();
    assert_eq!(readyz.status, 503, "{readyz:?}");
    let check = &readyz.json()["checks"]["postgres:responseTime"][0];
    assert_eq!(check["status"], "fail", "{readyz:?}");
    let output = check["output"].as_str().unwrap_or_default();
    assert_says(output, &wanted, "/readyz against a closed port");
    service.assert_never_printed(&password, "the password");
    progress(&format!(
        "[e2e] closed database port: `migrate` says {:?}; /readyz says {output:?}",
        said.trim()
    ));
}

/// A host name that does not resolve is called an unknown host.
#[test]
fn an_unknown_host_is_named() {
    let url = "postgres://newcomer:secret@no-such-host.invalid:5432/orders";
    let (_, said) = failed_migrate("an unknown host", url);
    let wanted = ["no-such-host.invalid:5432", "unknown host", COMPOSE_HINT];
    assert_says(&said, &wanted, "`migrate` against an unknown host");
    progress(&format!("[e2e] unknown database host: {:?}", said.trim()));
}

/// A wrong password and a missing database are told apart, and the password is never printed.
#[test]
fn a_wrong_password_and_a_missing_database_are_told_apart() {
    let password = format!("E2eSecret{}Pw", random_hex());
    let db = TempDb::with_role("e2e", &password);
    let wrong = format!("E2eWrong{}Pw", random_hex());
    let url = PgUrl {
        password: Some(wrong.clone()),
        ..db.url.clone()
    };
    let (migrate, said) = failed_migrate("a wrong password", &url.to_string());
    let role = db.role.clone().expect("a role of its own");
    let place = format!("{}:{}", url.host, url.port);
    let wanted = [place.as_str(), "wrong password", role.as_str()];
    assert_says(&said, &wanted, "`migrate` with a wrong password");
    migrate.assert_never_printed(&wrong, "the wrong password");
    migrate.assert_never_printed(&password, "the real password");

    let missing = format!("e2e_missing_{}", random_hex());
    let url = PgUrl {
        database: missing.clone(),
        ..PgUrl::parse(&postgres_url())
    };
    let (migrate, said_missing) = failed_migrate("a missing database", &url.to_string());
    let wanted = [missing.as_str(), "does not exist"];
    assert_says(
        &said_missing,
        &wanted,
        "`migrate` against a missing database",
    );
    if let Some(password) = &url.password {
        migrate.assert_never_printed(password, "the password");
    }
    progress(&format!(
        "[e2e] wrong password: {:?}; missing database: {:?}",
        said.trim(),
        said_missing.trim()
    ));
}
