//! Entry point: read the command line and the config, then run the chosen command.

use clap::Parser;

use minimal_service::cli::{Cli, Command};
use minimal_service::config::Config;
use minimal_service::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Config is validated before anything else happens: a bad value stops the process here,
    // before a port is bound or a connection opened.
    let config = Config::load()?;

    match cli.command.unwrap_or_default() {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped().await
        }
    }
}
