//! `tierlab rewind FILE`: what the window's rewind snapshots cost on a layout, estimated from
//! the core's tables and measured as the process's peak resident memory (run it again with
//! `--budget-mib 0` for the peak without snapshots).

use std::process::ExitCode;

use anyhow::Result;

use crate::layout;
use crate::sim::{Sim, SimConfig};
use crate::study::rewind::{EVERY_S, Timeline};

/// Run `file` for `seconds`, recording snapshots every simulated 100 ms sample as the window's
/// frames would, within `budget_mib`, and print the figures.
pub fn rewind_cmd(file: &str, seconds: f64, budget_mib: u64) -> Result<ExitCode> {
    let layout = super::load(file)?;
    let config = SimConfig {
        seed: None,
        warmup_s: 0.0,
        // Traced as the window traces for its dots: every snapshot copies these traces.
        trace: crate::study::dots::window_trace_config(&layout),
    };
    let mut sim = Sim::new(&layout, config).map_err(super::problems_error)?;
    let mut timeline = Timeline::new(EVERY_S, budget_mib << 20);
    let (mut taken, mut most_held) = (0u64, 0u64);
    let end_ns = layout::s_to_ns(seconds);
    while sim.now_ns() < end_ns && sim.halted().is_none() {
        if timeline.record(&sim) {
            taken += 1;
        }
        most_held = most_held.max(timeline.bytes());
        sim.run_ticks((100_000_000 / sim.tick_ns().max(1)).max(1));
    }
    let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
    let largest = timeline.sizes().iter().map(|s| s.1).max().unwrap_or(0);
    println!(
        "{}: {seconds} s simulated, budget {budget_mib} MiB",
        layout.name
    );
    println!(
        "snapshots: {taken} taken, {} held, every {} s; {:.1} MiB held at the end, at most {:.1} MiB (estimates), largest {:.2} MiB; one live core {:.2} MiB",
        timeline.len(),
        timeline.every_s(),
        mib(timeline.bytes()),
        mib(most_held),
        mib(largest),
        mib(sim.clone().footprint_bytes()),
    );
    match peak_rss_kib() {
        Some(kib) => println!("peak resident memory: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak resident memory: unknown (no /proc/self/status)"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The process's peak resident set (`VmHWM`), KiB, where Linux reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
