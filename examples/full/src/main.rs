//! Entry point: read the command line and the config, then run the chosen command.

use clap::Parser;

use full_service::cli::{Cli, Command};
use full_service::config::Config;
use full_service::db;
use full_service::health;
use full_service::shutdown;
use full_service::startup::Application;
use full_service::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Config is validated before anything else happens: a bad value stops the process here,
    // before a port is bound or a connection opened.
    let config = Config::load()?;
    telemetry::init(config.log.format)?;

    match cli.command.unwrap_or_default() {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown::signal()).await
        }
        Command::Config => {
            print!("{}", config.to_redacted_toml()?);
            Ok(())
        }
        Command::Healthcheck => health::probe(config.port).await,
        Command::Migrate => db::migrate(&db::connect(&config.database)?).await,
    }
}
