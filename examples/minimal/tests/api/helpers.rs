//! Shared setup: the real service on a random port.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use minimal_service::config::Config;
use minimal_service::startup::Application;

/// A running service and a client for it. Dropping it ends the server task.
pub struct TestApp {
    pub address: SocketAddr,
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
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the service with [`test_config`] changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config();
    configure(&mut config);
    start(config).await
}

async fn start(config: Config) -> TestApp {
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
        stop: Some(stop),
        server,
    }
}
