//! `tierlab compare A B`: A/B twin runs on the same seeds, as a table or JSON.

use std::process::ExitCode;

use anyhow::Result;

use super::{load, with_progress};
use crate::report::{self, RunConfig};
use crate::study::Progress;
use crate::study::compare::{self, CompareConfig};

/// The arguments of `tierlab compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Layout A (file or shipped name).
    pub a: String,
    /// Layout B, run on the same seeds as A.
    pub b: String,
    /// Measured simulated seconds, after the warm-up.
    #[arg(long, default_value_t = 60.0, allow_negative_numbers = true)]
    pub seconds: f64,
    /// Simulated seconds run first and not counted.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub warmup: f64,
    /// First seed (default: A's); replication k runs both layouts on seed + k.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seeds run (each runs A and B); at least 2 for a paired interval.
    #[arg(long, default_value_t = 5)]
    pub replications: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `tierlab compare`: both layouts on every seed in parallel, with a progress bar.
pub fn compare_cmd(args: &CompareArgs) -> Result<ExitCode> {
    let CompareArgs {
        a,
        b,
        seconds,
        warmup,
        seed,
        replications,
        json,
    } = args;
    if !(seconds.is_finite() && *seconds > 0.0 && *seconds <= 1e6) {
        anyhow::bail!("--seconds must be more than 0 and at most 1000000, not {seconds}");
    }
    if !(warmup.is_finite() && (0.0..=1e6).contains(warmup)) {
        anyhow::bail!("--warmup must be from 0 to 1000000, not {warmup}");
    }
    if !(1..=1000).contains(replications) {
        anyhow::bail!("--replications must be from 1 to 1000, not {replications}");
    }
    let (la, lb) = (load(a)?, load(b)?);
    for (name, l) in [(a, &la), (b, &lb)] {
        if seconds * 1e3 < l.tick_ms {
            anyhow::bail!(
                "--seconds must be at least one tick ({} ms in {name}), not {seconds}",
                l.tick_ms
            );
        }
        let run = RunConfig {
            seconds: *seconds,
            warmup_s: *warmup,
            ..Default::default()
        };
        report::check_run_length(l, &run).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    }
    let config = CompareConfig {
        seconds: *seconds,
        warmup_s: *warmup,
        seed: *seed,
        replications: *replications,
    };
    let progress = Progress::new(compare::runs(&config));
    let result = with_progress("compare", &progress, |p| {
        compare::compare(&la, &lb, &config, p)
    })?;
    if *json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        // Twins often share a layout name (B a copy with one change): name the files too.
        println!("A = {a}\nB = {b}");
        print!("{}", compare::text(&result));
    }
    Ok(ExitCode::SUCCESS)
}
