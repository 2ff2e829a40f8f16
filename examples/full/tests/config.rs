//! Config layering and validation.
//!
//! These tests change the process environment, so they live in a test binary of their own:
//! tests in `tests/api` read `DATABASE_URL` on other threads. `figment::Jail` runs each test in a
//! temporary directory under a lock and puts the environment back afterwards.

// `Jail` closures must return figment's own `Result`, whose error type is large.
#![allow(clippy::result_large_err)]

use figment::Jail;
use secrecy::ExposeSecret;

use full_service::config::{Config, ENV_PREFIX};

/// `Config::load`, with its error turned into the text a user would see.
fn load() -> Result<Config, String> {
    Config::load().map_err(|error| format!("{error:#}"))
}

/// Starts from an empty environment, so only what the test sets counts.
fn isolate(jail: &mut Jail) {
    jail.clear_env();
    // Loading requires a database URL; these tests never connect to it.
    jail.set_env("DATABASE_URL", "postgres://app@localhost:5432/app");
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    Jail::expect_with(|jail| {
        isolate(jail);

        let config = load().unwrap();

        assert_eq!(config.port, 8080);
        assert_eq!(config.http.request_timeout_secs, 30);
        Ok(())
    });
}

#[test]
fn each_layer_overrides_the_one_before() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.create_file("service.toml", "port = 1001\n[http]\nbody_limit_bytes = 10")?;
        jail.set_env(format!("{ENV_PREFIX}CONFIG_PATH"), "service.toml");
        assert_eq!(load().unwrap().port, 1001, "file over defaults");

        jail.set_env("PORT", "1002");
        assert_eq!(load().unwrap().port, 1002, "PORT over the file");

        jail.set_env(format!("{ENV_PREFIX}PORT"), "1003");
        assert_eq!(load().unwrap().port, 1003, "prefixed variable over PORT");

        jail.create_file("port", "1004\n")?;
        jail.set_env(format!("{ENV_PREFIX}PORT_FILE"), "port");
        assert_eq!(load().unwrap().port, 1004, "_FILE over the variable");

        assert_eq!(load().unwrap().http.body_limit_bytes, 10, "file keys stay");
        Ok(())
    });
}

#[test]
fn nested_keys_are_joined_by_double_underscores() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(format!("{ENV_PREFIX}HTTP__BODY_LIMIT_BYTES"), "2048");

        assert_eq!(load().unwrap().http.body_limit_bytes, 2048);
        Ok(())
    });
}

#[test]
fn a_malformed_port_names_the_key() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env("PORT", "abc");

        let error = load().unwrap_err();

        assert!(error.contains("port"), "{error}");
        Ok(())
    });
}

#[test]
fn a_value_under_the_wrong_key_is_named_by_key_and_source_but_never_shown() {
    // `HTTP` is a section: here it gets a value of its own instead of one of its keys.
    let secret = "postgres://app:pw-1234@db:5432/app";
    let variable = format!("{ENV_PREFIX}HTTP");
    let from_env = load_error(|jail| {
        jail.set_env(&variable, secret);
        Ok(())
    });
    let from_file = load_error(|jail| {
        jail.create_file("http", secret)?;
        jail.set_env(format!("{variable}_FILE"), "http");
        Ok(())
    });
    let from_toml = load_error(|jail| {
        jail.create_file("service.toml", &format!("http = {secret:?}"))?;
        jail.set_env(format!("{ENV_PREFIX}CONFIG_PATH"), "service.toml");
        Ok(())
    });

    for (error, source) in [
        (from_env, variable.clone()),
        (from_file, format!("{variable}_FILE")),
        (from_toml, "service.toml".to_owned()),
    ] {
        assert!(error.contains("http: expected a section"), "{error}");
        assert!(error.contains(&source), "{source}: {error}");
        assert!(!error.contains("pw-1234"), "{error}");
    }
}

/// The error `Config::load` reports after `arrange` has set up a jail.
fn load_error(arrange: impl FnOnce(&mut Jail) -> figment::error::Result<()>) -> String {
    let mut error = String::new();
    Jail::expect_with(|jail| {
        isolate(jail);
        arrange(jail)?;
        error = load().unwrap_err();
        Ok(())
    });
    error
}

#[test]
fn a_toml_syntax_error_gives_the_line_but_not_its_text() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.create_file("service.toml", "port = 1001\nsecret = \"pw-1234\n")?;
        jail.set_env(format!("{ENV_PREFIX}CONFIG_PATH"), "service.toml");

        let error = load().unwrap_err();

        assert!(error.contains("line 2"), "{error}");
        assert!(!error.contains("pw-1234"), "{error}");
        Ok(())
    });
}

#[test]
fn a_wrong_type_names_the_key_the_variable_and_the_type_but_not_the_value() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(
            format!("{ENV_PREFIX}HTTP__BODY_LIMIT_BYTES"),
            "lots-of-pw-1234",
        );

        let error = load().unwrap_err();

        assert!(error.contains("http.body_limit_bytes"), "{error}");
        assert!(
            error.contains(&format!("{ENV_PREFIX}HTTP__BODY_LIMIT_BYTES")),
            "{error}"
        );
        assert!(error.contains("found a string"), "{error}");
        assert!(!error.contains("pw-1234"), "{error}");
        Ok(())
    });
}

#[test]
fn an_unknown_setting_is_an_error_not_a_silent_typo() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(format!("{ENV_PREFIX}HTTP__BODY_LIMT_BYTES"), "1");

        let error = load().unwrap_err();

        let expected = format!(
            "http.body_limt_bytes: not a setting (from environment variable \
             {ENV_PREFIX}HTTP__BODY_LIMT_BYTES)"
        );
        assert!(error.contains(&expected), "{error}");
        Ok(())
    });
}

#[test]
fn an_unknown_section_is_named_once() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(format!("{ENV_PREFIX}CACHE__SIZE"), "1");

        let error = load().unwrap_err();

        let expected =
            format!("cache: not a setting (from environment variable {ENV_PREFIX}CACHE)");
        assert!(error.contains(&expected), "{error}");
        Ok(())
    });
}

#[test]
fn a_missing_config_file_is_an_error() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(format!("{ENV_PREFIX}CONFIG_PATH"), "nowhere.toml");

        let error = load().unwrap_err();

        assert!(error.contains("CONFIG_PATH"), "{error}");
        Ok(())
    });
}

#[test]
fn an_unknown_log_format_names_the_key() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(format!("{ENV_PREFIX}LOGGING__FORMAT"), "yaml");

        let error = load().unwrap_err();

        assert!(error.contains("logging.format"), "{error}");
        Ok(())
    });
}

#[test]
fn a_drain_delay_past_the_deadline_is_refused() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(format!("{ENV_PREFIX}SHUTDOWN__DRAIN_DELAY_SECS"), "30");
        jail.set_env(format!("{ENV_PREFIX}SHUTDOWN__TIMEOUT_SECS"), "10");

        let error = load().unwrap_err();

        assert!(error.contains("shutdown.drain_delay_secs"), "{error}");
        Ok(())
    });
}

#[test]
fn secrets_are_redacted_when_the_config_is_printed() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(
            format!("{ENV_PREFIX}DATABASE__URL"),
            "postgres://app:url-secret@db:5432/app",
        );
        jail.create_file("password", "file-secret\n")?;
        jail.set_env(format!("{ENV_PREFIX}DATABASE__PASSWORD_FILE"), "password");

        let printed = load().unwrap().to_redacted_toml().unwrap();

        assert!(printed.contains("[REDACTED]"), "{printed}");
        assert!(!printed.contains("url-secret"), "{printed}");
        assert!(!printed.contains("file-secret"), "{printed}");
        Ok(())
    });
}

#[test]
fn secrets_are_taken_exactly_as_written() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env("DATABASE_URL", "postgres://app@db:5432/app");
        jail.set_env(format!("{ENV_PREFIX}DATABASE__PASSWORD"), "007");
        assert_eq!(password(), "007", "from a variable");

        jail.create_file("password", "\"quoted\"\n")?;
        jail.set_env(format!("{ENV_PREFIX}DATABASE__PASSWORD_FILE"), "password");
        assert_eq!(password(), "\"quoted\"", "from a file");
        Ok(())
    });
}

fn password() -> String {
    let config = load().unwrap();
    let password = config.database.password.expect("a password");
    password.expose_secret().to_owned()
}

#[test]
fn a_malformed_database_url_names_the_setting_but_not_the_password() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(
            format!("{ENV_PREFIX}DATABASE__URL"),
            "postgres://app:hunter2@db:notaport/app",
        );

        let error = load().unwrap_err();

        assert!(error.contains("database.url"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        Ok(())
    });
}
