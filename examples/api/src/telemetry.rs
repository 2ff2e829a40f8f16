//! Logs (factor XI): an event stream on stdout, never files. The platform collects and routes it.
//!
//! Lines are JSON objects when stdout is not a terminal (a container, a pipe) and readable text
//! when it is; `log.format` forces either. `RUST_LOG` sets levels, as everywhere in Rust.

use std::io::IsTerminal;

use anyhow::Context;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

use crate::config::LogFormat;

/// Installs the global subscriber writing to stdout, and logs panics through it. Call once, early
/// in `main`.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let subscriber = subscriber(format, std::io::stdout)?;
    tracing::subscriber::set_global_default(subscriber).context("a logger is already installed")?;
    log_panics();
    Ok(())
}

/// Panics become ERROR lines in the log, inside the span of whatever panicked (a request's, with
/// its request id), instead of plain text on stderr that log collectors cannot parse.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|panic| {
        tracing::error!(
            panic = panic.payload_as_str().unwrap_or("no message"),
            location = panic.location().map(ToString::to_string),
            "panicked"
        );
    }));
}

/// Builds the subscriber without installing it, so tests can give it their own writer.
pub fn subscriber<W>(format: LogFormat, writer: W) -> anyhow::Result<impl Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let json = match format {
        LogFormat::Auto => !std::io::stdout().is_terminal(),
        LogFormat::Json => true,
        LogFormat::Text => false,
    };
    let (json_layer, text_layer) = if json {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer);
        (Some(layer), None)
    } else {
        let layer = tracing_subscriber::fmt::layer().with_writer(writer);
        (None, Some(layer))
    };
    Ok(Registry::default()
        .with(filter()?)
        .with(json_layer)
        .with(text_layer))
}

/// `RUST_LOG` when set; otherwise INFO for this crate and the request log, WARN for the rest.
fn filter() -> anyhow::Result<EnvFilter> {
    match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .with_context(|| format!("RUST_LOG is not a valid filter: {directives}")),
        Err(_) => Ok(EnvFilter::new(format!(
            "{}=info,tower_http=info,warn",
            env!("CARGO_CRATE_NAME")
        ))),
    }
}
