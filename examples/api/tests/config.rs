//! Config layering and validation.
//!
//! These tests change the process environment, so they live in a test binary of their own:
//! tests in `tests/api` read `DATABASE_URL` on other threads. `figment::Jail` runs each test in a
//! temporary directory under a lock and puts the environment back afterwards.

// `Jail` closures must return figment's own `Result`, whose error type is large.
#![allow(clippy::result_large_err)]

use figment::Jail;

use api_service::config::{Config, ENV_PREFIX};

/// `Config::load`, with its error turned into the text a user would see.
fn load() -> Result<Config, String> {
    Config::load().map_err(|error| format!("{error:#}"))
}

/// Starts from an empty environment, so only what the test sets counts.
fn isolate(jail: &mut Jail) {
    jail.clear_env();
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
fn an_unknown_setting_is_an_error_not_a_silent_typo() {
    Jail::expect_with(|jail| {
        isolate(jail);
        jail.set_env(format!("{ENV_PREFIX}HTTP__BODY_LIMT_BYTES"), "1");

        let error = load().unwrap_err();

        assert!(error.contains("body_limt_bytes"), "{error}");
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
        jail.set_env(format!("{ENV_PREFIX}LOG__FORMAT"), "yaml");

        let error = load().unwrap_err();

        assert!(error.contains("log.format"), "{error}");
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
