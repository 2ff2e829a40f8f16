//! The command line: one binary, several commands. Admin tasks run as one-off processes of the
//! same build with the same config as the server (factor XII). A new one is a variant of
//! [`Command`], whose doc comment is its `--help`, and an arm in [`Command::run`].

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::startup::Application;
use crate::startup::DATABASE_HINT;

#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Default, Subcommand)]
pub enum Command {
    /// Serve HTTP until stopped (the default when no command is given).
    #[default]
    Serve,
    /// Print the effective configuration as TOML, secrets redacted, and exit.
    Config,
    /// Ask the local service whether it is alive (`/livez`), or with `--ready` whether it is
    /// ready for traffic (`/readyz`): exit 0 if it answers 200, 1 otherwise. Meant for container
    /// health checks on images without a shell or curl.
    Healthcheck {
        /// Ask `/readyz` instead of `/livez`.
        #[arg(long)]
        ready: bool,
    },
    /// Apply pending database migrations and exit. Safe to run again: applied ones are skipped.
    Migrate,
}

impl Command {
    /// Runs the command to its end: for `serve`, until the service is stopped.
    pub async fn run(self, config: Config) -> anyhow::Result<()> {
        match self {
            Self::Serve => {
                let app = Application::build(config).await?;
                app.run_until_stopped(crate::shutdown::signal()).await
            }
            Self::Config => {
                print!("{}", config.to_redacted_toml()?);
                Ok(())
            }
            Self::Healthcheck { ready } => crate::health::probe(config.port, ready).await,
            Self::Migrate => crate::db::migrate(&config.database, DATABASE_HINT).await,
        }
    }
}
