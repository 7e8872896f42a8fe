//! `tierlab sweep`: a capacity sweep on the terminal (`study::sweep`).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{load, with_progress};
use crate::report::{self, RunConfig};
use crate::study::Progress;
use crate::study::sweep::{self, AxisSpec, SweepConfig};

/// The arguments of `tierlab sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The layout file (RON) or the name of a shipped layout.
    file: String,
    /// An axis: NODE.PARAM=FROM..TO:STEP (e.g. app.count=1..16:1); NODE is a node's name,
    /// PARAM a parameter of `tierlab params`. Repeat for a grid (the first is the plotted one).
    #[arg(long = "set", required = true, value_parser = AxisSpec::parse)]
    set: Vec<AxisSpec>,
    /// Measured simulated seconds of each point, after the warm-up.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    seconds: f64,
    /// Simulated seconds run first and not counted.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    warmup: f64,
    /// Seed of every point (default: the layout's).
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object (each point with its whole `run --json` report).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV, one row per point.
    #[arg(long)]
    csv: bool,
}

/// `tierlab sweep`: plan (every axis and variant checked), run with a progress bar, print.
pub fn sweep_cmd(args: &SweepArgs) -> Result<ExitCode> {
    let seconds = args.seconds;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 1e6) {
        anyhow::bail!("--seconds must be more than 0 and at most 1000000, not {seconds}");
    }
    let warmup = args.warmup;
    if !(warmup.is_finite() && (0.0..=1e6).contains(&warmup)) {
        anyhow::bail!("--warmup must be from 0 to 1000000, not {warmup}");
    }
    let layout = load(&args.file)?;
    if seconds * 1e3 < layout.tick_ms {
        anyhow::bail!(
            "--seconds must be at least one tick ({} ms in this layout), not {seconds}",
            layout.tick_ms
        );
    }
    let run_config = RunConfig {
        seconds,
        warmup_s: warmup,
        seed: args.seed,
        ..Default::default()
    };
    report::check_run_length(&layout, &run_config).map_err(anyhow::Error::msg)?;
    let plan = sweep::plan(&layout, &args.set).map_err(anyhow::Error::msg)?;
    let config = SweepConfig {
        seconds,
        warmup_s: warmup,
        seed: args.seed,
    };
    let progress = Progress::new(plan.variants.len() as u64);
    let result = with_progress("sweep", &progress, |p| sweep::run(&plan, &config, p));
    let Ok(result) = result else {
        anyhow::bail!("the sweep was cancelled");
    };
    let sweep = result.map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&sweep)?);
    } else if args.csv {
        print!("{}", sweep::to_csv(&sweep)?);
    } else {
        print!("{}", sweep::text(&sweep));
    }
    Ok(ExitCode::SUCCESS)
}
