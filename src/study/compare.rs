//! A/B twin runs: two layouts on the same seeds, so both receive the same arrivals, and a
//! paired comparison of their headline figures. Seed k runs both A and B; the difference
//! B − A on each seed is one sample, and a 95 % interval over those samples (Student t) says
//! whether a change is larger than the noise between seeds.

use serde::Serialize;

use super::{Cancelled, Progress, par_map};
use crate::layout::{Layout, Problem};
use crate::report::{self, Interval, RunJson};
use crate::sim::{Sim, SimConfig, TraceConfig};

/// How long to run the twins, on which seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareConfig {
    /// Measured simulated seconds, after the warm-up.
    pub seconds: f64,
    /// Simulated seconds run first and not counted.
    pub warmup_s: f64,
    /// The first seed (default: A's own); replications use the next ones.
    pub seed: Option<u64>,
    /// Seeds run; each runs both A and B. At least 2 for an interval.
    pub replications: usize,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            seconds: 60.0,
            warmup_s: 0.0,
            seed: None,
            replications: 5,
        }
    }
}

/// Which twin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Side {
    A,
    B,
}

/// Why a comparison has no result.
#[derive(Clone, Debug, PartialEq)]
pub enum CompareError {
    /// A layout cannot run: its errors.
    Invalid(Side, Vec<Problem>),
    /// A run stopped at a limit of the core (`sim::limits`) on this seed.
    Stopped(Side, u64, String),
    Cancelled,
}

impl std::fmt::Display for CompareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompareError::Invalid(side, problems) => {
                write!(f, "layout {side:?} cannot run:")?;
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
            CompareError::Stopped(side, seed, why) => {
                write!(f, "layout {side:?}, seed {seed}: {why}")
            }
            CompareError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for CompareError {}

impl From<Cancelled> for CompareError {
    fn from(_: Cancelled) -> Self {
        CompareError::Cancelled
    }
}

/// Which way is better for a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// What the paired interval says of B against A.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval of B − A lies wholly on the better side of zero.
    BBetter,
    /// Wholly on the worse side.
    BWorse,
    /// The interval holds zero: the change is no larger than the noise between seeds.
    WithinNoise,
    /// One replication gives no interval: run at least two.
    NoInterval,
}

impl Verdict {
    /// The words the table and the window show.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::BBetter => "B better",
            Verdict::BWorse => "B worse",
            Verdict::WithinNoise => "within noise",
            Verdict::NoInterval => "one run: no interval",
        }
    }
}

/// One figure of the comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiffRow {
    /// As in `tierlab run --json`: "throughput_rps", "latency_p99_ms", ...
    pub metric: &'static str,
    /// Mean over the seeds.
    pub a: f64,
    pub b: f64,
    /// Mean of B − A, and its 95 % interval over the seeds (paired).
    pub change: Interval,
    /// The change as a share of A's mean (absent when A's mean is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_share: Option<f64>,
    pub better: Better,
    pub verdict: Verdict,
    /// B − A on each seed, in seed order.
    pub per_seed: Vec<f64>,
}

/// The result of `compare`, and the JSON of `tierlab compare --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareJson {
    pub a: String,
    pub b: String,
    pub seeds: Vec<u64>,
    pub seconds: f64,
    pub warmup_seconds: f64,
    pub rows: Vec<DiffRow>,
}

/// A headline figure: its name, which way is better, and how to read it from a run.
struct Figure {
    metric: &'static str,
    better: Better,
    read: fn(&RunJson) -> f64,
    /// Shown only when it applies to one of the twins (a hit ratio needs a cache).
    applies: fn(&RunJson) -> bool,
}

fn always(_: &RunJson) -> bool {
    true
}

/// The figures compared, in table order.
const FIGURES: [Figure; 7] = [
    Figure {
        metric: "throughput_rps",
        better: Better::Higher,
        read: |r| r.throughput_rps,
        applies: always,
    },
    Figure {
        metric: "latency_p50_ms",
        better: Better::Lower,
        read: |r| r.latency_ms.p50,
        applies: always,
    },
    Figure {
        metric: "latency_p99_ms",
        better: Better::Lower,
        read: |r| r.latency_ms.p99,
        applies: always,
    },
    Figure {
        metric: "failure_share",
        better: Better::Lower,
        read: failure_share,
        applies: always,
    },
    Figure {
        metric: "cache_hit_ratio",
        better: Better::Higher,
        read: |r| r.cache_hit_ratio,
        applies: |r| r.cache_hits + r.cache_misses > 0,
    },
    Figure {
        metric: "sessions_lost",
        better: Better::Lower,
        read: |r| r.sessions_lost as f64,
        applies: always,
    },
    Figure {
        metric: "cost_usd_per_hour",
        better: Better::Lower,
        read: |r| r.cost_usd_per_hour,
        applies: always,
    },
];

/// Failed requests over finished ones (0 when none finished).
pub fn failure_share(r: &RunJson) -> f64 {
    let done = r.requests.completed + r.requests.failed;
    if done == 0 {
        0.0
    } else {
        r.requests.failed as f64 / done as f64
    }
}

/// The seeds a comparison runs: `config.seed` (or A's own) and the next ones.
pub fn seeds(a: &Layout, config: &CompareConfig) -> Vec<u64> {
    report::replication_seeds(config.seed.unwrap_or(a.seed), config.replications.max(1))
}

/// Runs a comparison makes: both twins on every seed.
pub fn runs(config: &CompareConfig) -> u64 {
    2 * config.replications.max(1) as u64
}

/// Run A and B on the same seeds in parallel (`par_map`, one step of `progress` per run) and
/// compare them figure by figure with a paired interval.
pub fn compare(
    a: &Layout,
    b: &Layout,
    config: &CompareConfig,
    progress: &Progress,
) -> Result<CompareJson, CompareError> {
    // Refuse a layout that cannot run before starting any run.
    for (side, layout) in [(Side::A, a), (Side::B, b)] {
        let errors: Vec<Problem> = crate::layout::check(layout)
            .into_iter()
            .filter(|p| p.severity == crate::layout::Severity::Error)
            .collect();
        if !errors.is_empty() {
            return Err(CompareError::Invalid(side, errors));
        }
    }
    let seeds = seeds(a, config);
    let items: Vec<(Side, u64)> = seeds
        .iter()
        .flat_map(|&s| [(Side::A, s), (Side::B, s)])
        .collect();
    let run = |&(side, seed): &(Side, u64)| -> Result<Result<RunJson, CompareError>, Cancelled> {
        let layout = if side == Side::A { a } else { b };
        let sim_config = SimConfig {
            seed: Some(seed),
            warmup_s: config.warmup_s,
            trace: TraceConfig {
                every: 0,
                capacity: 0,
                ..TraceConfig::default()
            },
        };
        let mut sim = match Sim::new(layout, sim_config) {
            Ok(sim) => sim,
            Err(problems) => return Ok(Err(CompareError::Invalid(side, problems))),
        };
        super::run_until_s(&mut sim, config.warmup_s + config.seconds, progress)?;
        if let Some(halt) = sim.halted() {
            return Ok(Err(CompareError::Stopped(side, seed, halt.to_string())));
        }
        Ok(Ok(report::run_json(&sim, config.warmup_s)))
    };
    let out = par_map(&items, progress, run)?;
    let mut a_runs = Vec::with_capacity(seeds.len());
    let mut b_runs = Vec::with_capacity(seeds.len());
    for ((side, _), r) in items.iter().zip(out) {
        match side {
            Side::A => a_runs.push(r?),
            Side::B => b_runs.push(r?),
        }
    }
    Ok(CompareJson {
        a: a.name.clone(),
        b: b.name.clone(),
        seeds,
        seconds: config.seconds,
        warmup_seconds: config.warmup_s,
        rows: rows(&a_runs, &b_runs),
    })
}

/// The diff rows of paired runs (`a_runs[k]` and `b_runs[k]` on the same seed).
pub fn rows(a_runs: &[RunJson], b_runs: &[RunJson]) -> Vec<DiffRow> {
    FIGURES
        .iter()
        .filter(|f| a_runs.iter().chain(b_runs).any(f.applies))
        .map(|f| {
            let a: Vec<f64> = a_runs.iter().map(f.read).collect();
            let b: Vec<f64> = b_runs.iter().map(f.read).collect();
            let per_seed: Vec<f64> = a.iter().zip(&b).map(|(a, b)| b - a).collect();
            let change = report::interval(&per_seed);
            let a_mean = report::interval(&a).mean;
            DiffRow {
                metric: f.metric,
                a: a_mean,
                b: report::interval(&b).mean,
                change_share: (a_mean != 0.0).then(|| change.mean / a_mean),
                better: f.better,
                verdict: verdict(&change, per_seed.len(), f.better),
                change,
                per_seed,
            }
        })
        .collect()
}

/// B better, worse or within noise: where the paired interval lies against zero.
fn verdict(change: &Interval, n: usize, better: Better) -> Verdict {
    if n < 2 {
        return Verdict::NoInterval;
    }
    let below = change.ci95_high < 0.0;
    let above = change.ci95_low > 0.0;
    match (better, below, above) {
        (Better::Lower, true, _) | (Better::Higher, _, true) => Verdict::BBetter,
        (Better::Lower, _, true) | (Better::Higher, true, _) => Verdict::BWorse,
        _ => Verdict::WithinNoise,
    }
}

/// The readable table of `tierlab compare`.
pub fn text(c: &CompareJson) -> String {
    let mut s = format!(
        "A: {}\nB: {}\n{} seeds {:?}, {} s measured after {} s warm-up; change = B − A, paired 95 % interval over the seeds\n\n",
        c.a,
        c.b,
        c.seeds.len(),
        c.seeds,
        c.seconds,
        c.warmup_seconds
    );
    s.push_str(&format!(
        "{:<18} {:>12} {:>12} {:>12} {:>8}  {:<26} {}\n",
        "figure", "A", "B", "change", "", "95 % interval", "verdict"
    ));
    for r in &c.rows {
        let share = r
            .change_share
            .map_or(String::new(), |x| format!("{:+.1} %", 100.0 * x));
        s.push_str(&format!(
            "{:<18} {:>12.4} {:>12.4} {:>+12.4} {:>8}  {:<26} {}\n",
            r.metric,
            r.a,
            r.b,
            r.change.mean,
            share,
            format!("{:+.4} to {:+.4}", r.change.ci95_low, r.change.ci95_high),
            r.verdict.text()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(low: f64, high: f64) -> Interval {
        Interval {
            mean: (low + high) / 2.0,
            ci95_low: low,
            ci95_high: high,
            half_width: (high - low) / 2.0,
        }
    }

    #[test]
    fn the_verdict_follows_the_interval_and_the_better_direction() {
        assert_eq!(verdict(&iv(-3.0, -1.0), 5, Better::Lower), Verdict::BBetter);
        assert_eq!(verdict(&iv(-3.0, -1.0), 5, Better::Higher), Verdict::BWorse);
        assert_eq!(verdict(&iv(1.0, 3.0), 5, Better::Lower), Verdict::BWorse);
        assert_eq!(verdict(&iv(1.0, 3.0), 5, Better::Higher), Verdict::BBetter);
        assert_eq!(
            verdict(&iv(-1.0, 3.0), 5, Better::Lower),
            Verdict::WithinNoise
        );
        assert_eq!(
            verdict(&iv(0.0, 0.0), 5, Better::Lower),
            Verdict::WithinNoise
        );
        assert_eq!(
            verdict(&iv(-3.0, -1.0), 1, Better::Lower),
            Verdict::NoInterval
        );
    }
}
