//! Understand and compare: studies made of many runs of the core (A/B twins, sweeps, the
//! stress and single-point-of-failure searches, replications). Each study is a library
//! function that the window and the command line both call.
//!
//! A study is long: it takes a [`Progress`], counts its finished runs on it, and stops early
//! with [`Cancelled`] when the caller cancels it. The window runs studies on a thread of their
//! own (`app::job`); the command line draws the same progress on the terminal (`cli`).
//! Parallel runs go through [`par_map`] (rayon), each run on its own seed or variant, so the
//! results do not depend on how many cores there are or in which order runs finish.

pub mod compare;
pub mod dots;
pub mod plan;
pub mod spof;
pub mod stress;
pub mod sweep;
pub mod theory;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use crate::layout::Layout;
use crate::report::{self, RunJson};
use crate::sim::{Sim, SimConfig, TraceConfig};

pub mod rewind;
pub mod waterfall;

/// The study was cancelled before it finished; no partial result is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for Cancelled {}

#[derive(Debug, Default)]
struct Shared {
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
}

/// How far a study has come, and the caller's wish to stop it. Cheap to clone: clones share
/// the same counters, so the thread running a study and the window (or terminal) showing it
/// hold one each.
#[derive(Clone, Debug, Default)]
pub struct Progress(Arc<Shared>);

impl Progress {
    /// A progress of `total` steps, none done.
    pub fn new(total: u64) -> Self {
        let p = Progress::default();
        p.set_total(total);
        p
    }

    /// Steps in all (a study that learns its size as it goes, such as a bisection, may raise it).
    pub fn set_total(&self, total: u64) {
        self.0.total.store(total, Ordering::Relaxed);
    }

    /// Count `n` more steps done.
    pub fn add(&self, n: u64) {
        self.0.done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.0.done.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.0.total.load(Ordering::Relaxed)
    }

    /// Done over total, from 0 to 1 (0 while the total is unknown).
    pub fn fraction(&self) -> f32 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            (self.done() as f64 / total as f64).clamp(0.0, 1.0) as f32
        }
    }

    /// Ask the study to stop; it returns [`Cancelled`] at its next check.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancelled: `progress.check()?` between steps.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

/// `f` over every item in parallel on all cores (rayon), in the items' order, counting one
/// step of `progress` per item. Items not yet started when the study is cancelled are skipped
/// and the whole map returns [`Cancelled`].
pub fn par_map<T, R, F>(items: &[T], progress: &Progress, f: F) -> Result<Vec<R>, Cancelled>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R, Cancelled> + Sync + Send,
{
    items
        .par_iter()
        .map(|item| {
            progress.check()?;
            let r = f(item)?;
            progress.add(1);
            Ok(r)
        })
        .collect()
}

/// `layout` run headless for `warmup_s + seconds` with tracing off (a study reads only the
/// report, and tracing changes no result), cancellable, and reported as `tierlab run --json`
/// reports it; the inner `Err` says why it could not run.
pub fn run_report(
    layout: &Layout,
    seed: Option<u64>,
    warmup_s: f64,
    seconds: f64,
    progress: &Progress,
) -> Result<Result<RunJson, String>, Cancelled> {
    let config = SimConfig {
        seed,
        warmup_s,
        trace: TraceConfig {
            every: 0,
            capacity: 0,
            ..TraceConfig::default()
        },
    };
    let mut sim = match Sim::new(layout, config) {
        Ok(sim) => sim,
        Err(problems) => {
            let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Ok(Err(lines.join("\n")));
        }
    };
    run_until_s(&mut sim, warmup_s + seconds, progress)?;
    Ok(Ok(report::run_json(&sim, warmup_s)))
}

/// Simulated seconds run between two looks at `progress` in [`run_until_s`].
const CHECK_EVERY_S: f64 = 1.0;

/// [`Sim::run_until_s`] that looks at `progress` every simulated second and stops with
/// [`Cancelled`] when asked to. The result is exactly that of one `run_until_s` call.
pub fn run_until_s(sim: &mut Sim, seconds: f64, progress: &Progress) -> Result<(), Cancelled> {
    let mut at = sim.now_ns() as f64 / 1e9;
    while at < seconds && sim.halted().is_none() {
        progress.check()?;
        at = (at + CHECK_EVERY_S).min(seconds);
        sim.run_until_s(at);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_the_order_of_the_items_and_counts_each() {
        let p = Progress::new(100);
        let items: Vec<u64> = (0..100).collect();
        let out = par_map(&items, &p, |x| Ok(x * x));
        assert_eq!(out, Ok(items.iter().map(|x| x * x).collect::<Vec<_>>()));
        assert_eq!(p.done(), 100);
        assert_eq!(p.fraction(), 1.0);
    }

    #[test]
    fn a_cancelled_map_returns_cancelled_and_skips_what_had_not_started() {
        let p = Progress::new(1000);
        let items: Vec<u64> = (0..1000).collect();
        let out = par_map(&items, &p, |&x| {
            if x == 3 {
                p.cancel();
            }
            Ok(x)
        });
        assert_eq!(out, Err(Cancelled));
        assert!(p.done() < 1000, "{} of 1000 ran after the cancel", p.done());
    }
}
