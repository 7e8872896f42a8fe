//! `tierlab run FILE --traces FILE.jsonl`: replay the run with its slowest requests traced
//! and write their traces (slowest first), then the sampled rest, one JSON object a line.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::layout::Layout;
use crate::report::RunConfig;
use crate::sim::{Sim, SimConfig};
use crate::study::{Progress, waterfall};

use super::with_progress;

/// Write the traces of the run `sim` (made from `layout` and `config`) to `path`.
pub fn write(path: &Path, layout: &Layout, config: &RunConfig, sim: &Sim) -> Result<()> {
    let slowest: Vec<u64> = sim.slowest().iter().map(|s| s.request_id).collect();
    let sim_config = SimConfig {
        seed: config.seed,
        warmup_s: config.warmup_s,
        trace: config.trace,
    };
    let until_ns = sim.now_ns();
    let progress = Progress::new(until_ns.div_ceil(1_000_000_000) + 1);
    let replay = with_progress("replaying for the slowest traces", &progress, |p| {
        waterfall::replay_traced(layout, sim_config, sim.command_log(), until_ns, &slowest, p)
    });
    let replay = match replay {
        Ok(Ok(r)) => r,
        Ok(Err(why)) => anyhow::bail!("{why}"),
        Err(cancelled) => anyhow::bail!("{cancelled}"),
    };
    let mut text = Vec::new();
    for line in waterfall::trace_lines(&replay, &slowest) {
        serde_json::to_writer(&mut text, &line)?;
        text.push(b'\n');
    }
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(&text)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
