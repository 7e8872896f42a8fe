//! Tierlab's entry point: parse the arguments, then run headless.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    tierlab::cli::main_with(tierlab::cli::Cli::parse())
}
