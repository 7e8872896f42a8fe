//! `tierlab plan`: the capacity planner on the terminal (`study::plan`).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{load, with_progress};
use crate::study::Progress;
use crate::study::plan::{self, Ask};

/// The arguments of `tierlab plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The layout file (RON) or the name of a shipped layout.
    file: String,
    /// The app-server pool to size, by name.
    #[arg(long)]
    node: String,
    /// The 99th percentile to stay under, ms.
    #[arg(long = "p99-ms")]
    p99_ms: f64,
    /// Requests per second, shared among the open-loop clients in their proportions.
    #[arg(long)]
    qps: f64,
    /// Simulated seconds of the confirming run.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Seed of the confirming run (default: the layout's).
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// `tierlab plan`: the theory's answer and the run that confirms it; exit 1 when the run
/// misses the target.
pub fn plan_cmd(args: &PlanArgs) -> Result<ExitCode> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 1e5) {
        anyhow::bail!(
            "--seconds must be more than 0 and at most 100000, not {}",
            args.seconds
        );
    }
    let layout = load(&args.file)?;
    let ask = Ask {
        node: args.node.clone(),
        p99_ms: args.p99_ms,
        qps: args.qps,
        seconds: args.seconds,
        warmup_s: 0.0,
        seed: args.seed,
    };
    plan::check(&layout, &ask).map_err(anyhow::Error::msg)?;
    let progress = Progress::new(1);
    let Ok(answer) = with_progress("plan", &progress, |p| plan::plan(&layout, &ask, p)) else {
        anyhow::bail!("the plan was cancelled");
    };
    let answer = answer.map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{}", plan::text(&answer));
    }
    Ok(if answer.confirmed.met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
