//! Shared setup: the real service on a random port, with a database of its own.

use std::net::{Ipv4Addr, SocketAddr};

use secrecy::SecretString;
use sqlx::{AssertSqlSafe, PgPool};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use full_service::config::Config;
use full_service::config::ShutdownConfig;
use full_service::db;
use full_service::http::AppState;
use full_service::startup::Application;

/// A running service and a client for it. Dropping it stops the server task.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    /// A pool on the app's own database, for arranging and inspecting data.
    pub db: PgPool,
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

    /// Delivers the stop signal, as SIGTERM would.
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

/// Test settings: loopback only, a free port, a short shutdown deadline.
pub fn test_config() -> Config {
    Config {
        host: Ipv4Addr::LOCALHOST.into(),
        port: 0,
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
    let (url, db) = test_database().await;
    config.database.url = Some(SecretString::from(url));
    configure(&mut config);
    let app = Application::build(config)
        .await
        .expect("the service did not start");
    let address = app.address();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        // A dropped sender counts as a stop signal too.
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        stop: Some(stop),
        server,
    }
}

/// State for driving the router without a socket; its pool points nowhere and must not be used.
pub fn test_state() -> AppState {
    AppState {
        readiness: Default::default(),
        db: PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/nothing").expect("a valid URL"),
    }
}

/// A new, migrated database on the server `DATABASE_URL` names; returns its URL and a pool.
pub async fn test_database() -> (String, PgPool) {
    let server = std::env::var("DATABASE_URL").expect(
        "DATABASE_URL is not set. These tests need a PostgreSQL server they may create databases \
         on: start one (`docker compose up -d db`, or a local install) and export \
         DATABASE_URL=postgres://USER:PASSWORD@localhost:5432/postgres",
    );
    let admin = PgPool::connect(&server)
        .await
        .expect("cannot connect to DATABASE_URL: is PostgreSQL running and the URL right?");
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .execute(&admin)
        .await
        .expect("cannot create a test database: may the DATABASE_URL user create databases?");
    admin.close().await;

    let mut url = reqwest::Url::parse(&server).expect("DATABASE_URL is not a URL");
    url.set_path(&name);
    let pool = PgPool::connect(url.as_str())
        .await
        .expect("cannot connect to the test database");
    db::migrate(&pool).await.expect("the migrations failed");
    (url.into(), pool)
}
