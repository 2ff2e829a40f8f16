//! Entry point: read the command line and the config, then run the chosen command.

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Config is validated before anything else happens: a bad value stops the process here,
    // before a port is bound or a connection opened.
    let config = Config::load()?;
{%- if logging %}
    telemetry::init(config.log.format)?;
{%- endif %}

    match cli.command.unwrap_or_default() {
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
        Command::Healthcheck => health::probe(config.port).await,
{%- endif %}
{%- if database %}
        Command::Migrate => db::migrate(&db::connect(&config.database)?).await,
{%- endif %}
    }
}
