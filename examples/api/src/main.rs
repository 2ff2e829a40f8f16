//! Entry point: read the command line and the config, then run the chosen command.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use api_service::cli::Cli;
use api_service::config::Config;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Config is validated before anything else happens: a bad value stops the process here,
    // before a port is bound or a connection opened.
    let config = Config::load()?;
    // Dropped last, when `main` returns: it writes out the log lines still queued.
    let _log_writer = api_service::telemetry::init(config.logging.format)?;

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let outcome = runtime.block_on(cli.command.unwrap_or_default().run(config));
    // Whatever still runs here (a handler stuck past the shutdown deadline) is not waited for:
    // the process exits now, as the deadline promised.
    runtime.shutdown_timeout(Duration::from_millis(100));
    outcome
}
