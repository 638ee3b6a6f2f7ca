//! The `cellpk` binary: parse arguments, run the command, map errors to exit codes.

use clap::Parser;

use cellpk::cli::{self, Cli};
use cellpk::error::{EXIT_BAD_INPUT, EXIT_FAILURE};

fn main() {
    if let Err(err) = cli::execute(Cli::parse()) {
        eprintln!("error: {err:#}");
        std::process::exit(if cli::is_bad_input(&err) {
            EXIT_BAD_INPUT
        } else {
            EXIT_FAILURE
        });
    }
}
