//! Tierlab's entry point: with no subcommand open the editor window, otherwise run headless.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = tierlab::cli::Cli::parse();
    if cli.command.is_none() {
        return match tierlab::app::run_window() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot open the window: {e}");
                ExitCode::from(2)
            }
        };
    }
    tierlab::cli::main_with(cli)
}
