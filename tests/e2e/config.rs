//! The config layers, lowest first: defaults < config file < `PORT` < `<P>PORT` <
//! `<P>PORT_FILE`, read back with `config` and bound by `serve`; bad values stop the process
//! before it binds.

use std::path::PathBuf;

use tempfile::TempDir;
use template_harness::files::new_temp_dir;
use template_harness::ports::{accepts_connections, free_port};
use template_harness::postgres::{TempDb, postgres_url};
use template_harness::process::{Launch, assert_stops_before_binding};
use template_harness::report::{ms, progress};

use crate::SERVICE;

/// The port the template's default config names (the render keeps the default).
const DEFAULT_PORT: i64 = 8080;
/// The default of `http.request_timeout_secs`.
const DEFAULT_REQUEST_TIMEOUT_SECS: i64 = 30;

/// Config layers, file < PORT < <P>PORT < <P>PORT_FILE, read back with `config`, and `serve`
/// binds what the top layer names.
#[test]
fn config_layers_override_in_order() {
    let db = SERVICE.migrated_db();
    let layers = Layers::new(&db);
    let mut seen = Vec::new();
    for (count, (label, port, timeout)) in layers.expected().into_iter().enumerate() {
        config_prints(&layers, count, label, port, timeout);
        seen.push(format!("{label} -> {port}"));
    }
    progress(&format!("[e2e] config layers: {}", seen.join(", ")));
    serve_binds_the_top_layers_port(&layers);
}

/// Each layer sets the port (and the first and third the request timeout, a nested key) to a
/// value of its own.
struct Layers {
    database_url: String,
    from_file: u16,
    from_platform: u16,
    from_prefixed: u16,
    from_secret_file: u16,
    config_file: PathBuf,
    port_file: PathBuf,
    _dir: TempDir,
}

impl Layers {
    fn new(db: &TempDb) -> Self {
        let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
        let dir = new_temp_dir("e2e-config-");
        let config_file = dir.path().join("service.toml");
        std::fs::write(
            &config_file,
            format!("port = {}\n\n[http]\nrequest_timeout_secs = 11\n", ports[0]),
        )
        .expect("write config file");
        let port_file = dir.path().join("port");
        std::fs::write(&port_file, format!("{}\n", ports[3])).expect("write port file");
        Self {
            database_url: db.url(),
            from_file: ports[0],
            from_platform: ports[1],
            from_prefixed: ports[2],
            from_secret_file: ports[3],
            config_file,
            port_file,
            _dir: dir,
        }
    }

    /// `launch` with the first `count` layers, lowest first.
    fn apply(&self, launch: Launch, count: usize) -> Launch {
        let mut launch = launch.database(&self.database_url);
        if count >= 1 {
            launch = launch.setting("CONFIG_PATH", self.config_file.display());
        }
        if count >= 2 {
            launch = launch.env("PORT", self.from_platform);
        }
        if count >= 3 {
            launch = launch
                .setting("PORT", self.from_prefixed)
                .setting("HTTP__REQUEST_TIMEOUT_SECS", 12);
        }
        if count >= 4 {
            launch = launch.setting("PORT_FILE", self.port_file.display());
        }
        launch
    }

    /// For 0 to 4 layers: their label, the port and the request timeout that must win.
    fn expected(&self) -> [(&'static str, i64, i64); 5] {
        [
            ("defaults", DEFAULT_PORT, DEFAULT_REQUEST_TIMEOUT_SECS),
            ("+ config file", i64::from(self.from_file), 11),
            ("+ PORT", i64::from(self.from_platform), 11),
            ("+ <P>PORT", i64::from(self.from_prefixed), 12),
            ("+ <P>PORT_FILE", i64::from(self.from_secret_file), 12),
        ]
    }
}

/// `config` with the first `count` layers prints `port` and the nested timeout.
fn config_prints(layers: &Layers, count: usize, label: &str, port: i64, timeout: i64) {
    let run = layers
        .apply(SERVICE.command(&format!("config {label}"), "config"), count)
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
}

/// `serve` with every layer listens on the top layer's port, and on no lower one.
fn serve_binds_the_top_layers_port(layers: &Layers) {
    let top = layers.from_secret_file;
    let mut service = layers
        .apply(SERVICE.launch("serve (all layers)"), 4)
        .expect_port(top)
        .spawn();
    let ready = service.wait_ready();
    service.wait_for_log("`listening` on the top layer's port", |line| {
        line["message"] == "listening" && line["address"] == format!("127.0.0.1:{top}")
    });
    let lower = [layers.from_file, layers.from_platform, layers.from_prefixed];
    for port in lower {
        assert!(
            !accepts_connections(port),
            "a lower layer's port {port} is listening\n{}",
            service.describe()
        );
    }
    service.stop_cleanly();
    progress(&format!(
        "[e2e] serve binds <P>PORT_FILE's port {top} (ready in {} ms), not {}/{}/{}",
        ms(ready),
        lower[0],
        lower[1],
        lower[2]
    ));
}

/// Bad values stop the process before it binds, naming the key.
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
