//! The entry point: no subcommand opens the window, `bench-frame` measures it, else `cli`.

use std::process::ExitCode;

use clap::Parser as _;
use tierlab::app::bench::{FrameBench, bench_frame};
use tierlab::cli::{Cli, Cmd};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        None => match tierlab::app::run_window() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot open the window: {e}");
                ExitCode::from(2)
            }
        },
        Some(Cmd::BenchFrame {
            file,
            qps,
            two_hundred_nodes,
            warmup,
            frames,
            write_layout,
        }) => bench_frame(&FrameBench {
            file,
            qps: *qps,
            two_hundred_nodes: *two_hundred_nodes,
            warmup_s: *warmup,
            frames: *frames,
            write_layout: write_layout.as_deref(),
        }),
        Some(_) => tierlab::cli::main_with(cli),
    }
}
