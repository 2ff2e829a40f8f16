//! Entry point: read the command line and the config, then run the chosen command.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use {{crate_name}}::cli::{Cli, Command};
use {{crate_name}}::config::Config;
{%- if database %}
use {{crate_name}}::db;
{%- endif %}
{%- if health %}
use {{crate_name}}::health;
{%- endif %}
{%- if shutdown %}
use {{crate_name}}::shutdown;
{%- endif %}
use {{crate_name}}::startup::Application;
{%- if logging %}
use {{crate_name}}::telemetry;
{%- endif %}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Config is validated before anything else happens: a bad value stops the process here,
    // before a port is bound or a connection opened.
    let config = Config::load()?;
{%- if logging %}
    telemetry::init(config.log.format)?;
{%- endif %}

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
{%- if shutdown %}
            app.run_until_stopped(shutdown::signal()).await
{%- else %}
            app.run_until_stopped().await
{%- endif %}
        }
{%- if config %}
        Command::Config => {
            print!("{}", config.to_redacted_toml()?);
            Ok(())
        }
{%- endif %}
{%- if health %}
        Command::Healthcheck { ready } => health::probe(config.port, ready).await,
{%- endif %}
{%- if database %}
        Command::Migrate => db::migrate(&config.database).await,
{%- endif %}
    }
}
