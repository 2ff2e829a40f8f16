//! `cargo template-update`: see the library's documentation, and README.md ("Day two").

use std::process::ExitCode;

use cargo_template_update::apply::ChangesMade;

fn main() -> ExitCode {
    let args = cargo_template_update::cli::parse();
    match cargo_template_update::run(&args) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.downcast_ref::<ChangesMade>().is_none() {
                eprintln!("nothing was changed");
            }
            ExitCode::from(2)
        }
    }
}
