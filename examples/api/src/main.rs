//! Entry point: read the command line and the config, then run the chosen command.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use api_service::cli::{Cli, Command};
use api_service::config::Config;
use api_service::health;
use api_service::shutdown;
use api_service::startup::Application;
use api_service::telemetry;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Config is validated before anything else happens: a bad value stops the process here,
    // before a port is bound or a connection opened.
    let config = Config::load()?;
    telemetry::init(config.log.format)?;

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let outcome = runtime.block_on(run(cli.command.unwrap_or_default(), config));
    // Whatever still runs here (a handler stuck past the shutdown deadline) is not waited for:
    // the process exits now, as the deadline promised.
    runtime.shutdown_timeout(Duration::from_millis(100));
    outcome
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown::signal()).await
        }
        Command::Config => {
            print!("{}", config.to_redacted_toml()?);
            Ok(())
        }
        Command::Healthcheck { ready } => health::probe(config.port, ready).await,
    }
}
