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
    if let Some(tierlab::cli::Cmd::BenchFrame {
        file,
        qps,
        two_hundred_nodes,
        warmup,
        frames,
    }) = &cli.command
    {
        return bench_frame(file, *qps, *two_hundred_nodes, *warmup, *frames);
    }
    tierlab::cli::main_with(cli)
}

/// `tierlab bench-frame`: the window's frame cost, headless.
fn bench_frame(file: &str, qps: Option<f64>, big: bool, warmup: f64, frames: usize) -> ExitCode {
    use tierlab::layout::NodeKind;
    let layout = if big {
        tierlab::app::bench::two_hundred_nodes(qps.unwrap_or(20_000.0))
    } else {
        match tierlab::cli::load(file) {
            Ok(mut l) => {
                if let Some(q) = qps {
                    let clients = l
                        .nodes
                        .iter()
                        .filter(|n| matches!(n.kind, NodeKind::Client(_)))
                        .count()
                        .max(1);
                    for n in &mut l.nodes {
                        if let NodeKind::Client(c) = &mut n.kind {
                            c.qps = q / clients as f64;
                        }
                    }
                }
                l
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        }
    };
    let name = layout.name.clone();
    let r = tierlab::app::bench::frame_cost(layout, warmup, frames);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: frame median {:.2} ms, p90 {:.2} ms over {frames} frames ({:.0} simulated requests/s arriving, {:.0} dots a frame)",
        ms(r.median()),
        ms(r.p90()),
        r.simulated_rps,
        r.dots_mean
    );
    ExitCode::SUCCESS
}
