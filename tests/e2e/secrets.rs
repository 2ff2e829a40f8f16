//! Database passwords: given apart from the URL (from a variable or a file) they are used and
//! never shown; wrong, or inside a malformed URL, they are never printed either; a password
//! that looks like a number reaches PostgreSQL as written.

use std::time::Duration;

use template_harness::files::new_temp_dir;
use template_harness::ports::free_port;
use template_harness::postgres::{PgUrl, TempDb};
use template_harness::process::{Launch, Proc, READY_TIMEOUT, assert_stops_before_binding};
use template_harness::random::random_hex;
use template_harness::report::{ms, progress};

use crate::SERVICE;

/// A password given apart from the URL, from a variable or a file, is used and never shown.
#[test]
fn database_password_stays_secret() {
    // Letters around the digits: figment would read an all-digit value as a number.
    let password = format!("E2eSecret{}Pw", random_hex());
    let db = TempDb::with_role("e2e", &password);
    let url = db.url();
    assert!(!url.contains(&password), "the URL carries no password");
    without_the_password_the_role_cannot_log_in(&url);

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
        password_is_used_and_never_shown(how, &with_secret, &password);
    }
}

/// Control: without the password the database refuses the role, so a 200 later proves the
/// password reached PostgreSQL.
fn without_the_password_the_role_cannot_log_in(url: &str) {
    let mut without = SERVICE
        .launch("serve (no password)")
        .port(free_port())
        .database(url)
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
}

/// With the password given as `how`: `migrate` logs in, `config` shows it and the URL as
/// `[REDACTED]`, `serve` gets ready and writes, and none of them prints it.
fn password_is_used_and_never_shown(
    how: &str,
    with_secret: &dyn Fn(Launch) -> Launch,
    password: &str,
) {
    let migrate = with_secret(SERVICE.command(&format!("migrate ({how})"), "migrate")).run();
    assert!(
        migrate.status.is_some_and(|s| s.success()),
        "`migrate` logs in with the password from {how}\n{}",
        migrate.describe()
    );
    let config = with_secret(SERVICE.command(&format!("config ({how})"), "config")).run();
    config_redacts_the_password_and_the_url(&config, how);

    let launch = SERVICE.launch(&format!("serve ({how})")).port(free_port());
    let mut service = with_secret(launch).spawn();
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
        proc.assert_never_printed(password, "the database password");
    }
    progress(&format!(
        "[e2e] password via {how}: /readyz 200 after {} ms; config shows [REDACTED]; never printed by migrate/config/serve",
        ms(ready)
    ));
}

fn config_redacts_the_password_and_the_url(config: &Proc, how: &str) {
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
}

/// A malformed URL holding the password, and a wrong password: neither ever printed.
#[test]
fn bad_database_credentials_do_not_leak() {
    let password = format!("E2eSecret{}Pw", random_hex());
    let db = TempDb::with_role("e2e", &password);
    a_malformed_url_stops_the_service_unprinted(&db, &password);

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
    let (service, seen) = a_wrong_password_is_not_ready_and_warned_about(&url);
    for proc in [&config, &service] {
        proc.assert_never_printed(&wrong, "the wrong password");
        proc.assert_never_printed(&password, "the real password");
    }
    progress(&format!(
        "[e2e] wrong password: {seen}; password never printed"
    ));
}

fn a_malformed_url_stops_the_service_unprinted(db: &TempDb, password: &str) {
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
    refused.assert_never_printed(password, "the password inside the malformed URL");
}

/// `serve` with a wrong password: live, not ready, a warning about PostgreSQL. Returns the
/// stopped process and what was seen.
fn a_wrong_password_is_not_ready_and_warned_about(url: &str) -> (Proc, String) {
    let mut service = SERVICE
        .launch("serve (wrong password)")
        .port(free_port())
        .database(url)
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
    let seen = format!(
        "/livez 200 after {} ms, /readyz 503, warning logged ({})",
        ms(live),
        warning["error"].as_str().unwrap_or("no error field")
    );
    (service, seen)
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
        migrate.assert_exit_code(0, "`migrate` logs in with the password as written");
        let mut service = SERVICE
            .launch(&format!("serve (password {password})"))
            .port(free_port())
            .database(&db.url())
            .setting("DATABASE__PASSWORD", password)
            .spawn();
        service.wait_for_status("/readyz", 200, Duration::from_secs(10));
        service.stop_cleanly();
    }
}
