//! Shared setup: the real service on a random port.
//!
//! Tests that use the database take one from `#[sqlx::test]`: a fresh, migrated database of
//! their own on the server `DATABASE_URL` names, dropped when the test passes (and at the start
//! of the next run when it fails, so nothing piles up).

use std::net::{Ipv4Addr, SocketAddr};

use secrecy::SecretString;
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use full_service::config::Config;
use full_service::config::MetricsConfig;
use full_service::config::ShutdownConfig;
use full_service::startup::Application;

/// A running service and a client for it. Dropping it ends the server task.
pub struct TestApp {
    pub address: SocketAddr,
    pub metrics_address: SocketAddr,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the request failed")
    }

    /// Tells the service to stop, as the `serve` command's stop signal would.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).expect("the server is gone");
        }
    }

    /// Waits for the server to finish and returns how it ended.
    pub async fn finished(&mut self) -> anyhow::Result<()> {
        (&mut self.server).await.expect("the server task panicked")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Test settings: loopback only, a free port, and deadlines short enough for tests.
pub fn test_config() -> Config {
    Config {
        host: Ipv4Addr::LOCALHOST.into(),
        port: 0,
        metrics: MetricsConfig { port: 0 },
        shutdown: ShutdownConfig {
            timeout_secs: 3,
            ..ShutdownConfig::default()
        },
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the service with [`test_config`] changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config();
    // For tests that never reach the database: nothing listens there.
    config.database.url = Some(SecretString::from(NOWHERE.to_owned()));
    configure(&mut config);
    start(config).await
}

/// Starts the service on `db`, a database from `#[sqlx::test]`.
pub async fn spawn_app_on(db: &PgPool) -> TestApp {
    spawn_app_on_with(db, |_| {}).await
}

/// Starts the service on `db` with [`test_config`] changed by `configure`.
pub async fn spawn_app_on_with(db: &PgPool, configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config();
    config.database.url = Some(SecretString::from(url_of(db)));
    configure(&mut config);
    start(config).await
}

/// A database URL where nothing listens.
const NOWHERE: &str = "postgres://nobody@127.0.0.1:1/nothing";

/// The URL of `db` on the server `DATABASE_URL` names, with that URL's credentials.
pub fn url_of(db: &PgPool) -> String {
    let server =
        std::env::var("DATABASE_URL").expect("DATABASE_URL is set (#[sqlx::test] needs it)");
    let mut url = reqwest::Url::parse(&server).expect("DATABASE_URL is not a URL");
    let options = db.connect_options();
    url.set_path(
        options
            .get_database()
            .expect("#[sqlx::test] names its database"),
    );
    url.into()
}

async fn start(config: Config) -> TestApp {
    let app = Application::build(config)
        .await
        .expect("the service did not start");
    let address = app.address();
    let metrics_address = app.metrics_address();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        // A dropped sender counts as a stop signal too.
        let _ = stopped.await;
    }));
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::new(),
        stop: Some(stop),
        server,
    }
}
