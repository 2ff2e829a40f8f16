//! Benchmarks, run on demand and never by `cargo test`. Each prints a markdown table.
//!
//! ```text
//! cargo run --release --locked --bin bench                  # the service against bare axum
//! cargo run --release --locked --bin bench -- --no-docker   # the same without the image figures
//! cargo run --release --locked --bin bench -- profiles      # release profiles compared
//! cargo run --release --locked --bin bench -- profiles 0 5  # rows 0 and 5 of that table
//! cargo run --release --locked --bin bench -- observability # what metrics and otel cost
//! ```
//!
//! All need PostgreSQL (DATABASE_URL) and wrk; the image figures need Docker and the base images
//! (`.ci/container-images`). Run them on an otherwise idle machine: the figures are wall times.

mod load;
mod observability;
mod profiles;
mod service;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => service::run(true),
        ["--no-docker"] => service::run(false),
        ["profiles", rows @ ..] => profiles::run(
            &rows
                .iter()
                .map(|row| row.parse().expect("profile rows are numbers"))
                .collect::<Vec<usize>>(),
        ),
        ["observability"] => observability::run(),
        other => {
            eprintln!(
                "unknown arguments {other:?}; expected none, --no-docker, profiles or observability"
            );
            std::process::exit(2);
        }
    }
}
