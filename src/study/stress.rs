//! What breaks first: the highest traffic a layout serves within its goals, found by
//! bisection over steady-state runs, and the node that saturated when it broke.
//!
//! Every run is the layout with its script dropped and every client's rate multiplied by one
//! factor (an open-loop client's `qps`, a closed-loop client's `users`), on the layout's seed,
//! warmed up for [`WARMUP_S`] and measured for [`MEASURE_S`] seconds. A run passes when it meets
//! the layout's goals (or, when it has none, p99 at most [`P99_TIMES`] times the unloaded p99
//! and at most [`FAILURES_MAX`] of the requests failing) and no server's backlog grew (a
//! steady state exists). The factor is doubled (or halved) until one run passes and the next
//! fails, then bisected until the two are within [`PRECISION`] of each other.
//!
//! The node named is the one saturated at the first failing rate furthest down the call chain:
//! a database out of CPU holds the app servers' workers while they wait on it, so the app
//! servers look saturated too, but they are the symptom.

use serde::Serialize;

use crate::layout::{Goal, GoalMetric, Layout, LoopMode, NodeId, NodeKind, Problem};
use crate::report;
use crate::sim::{Metrics, Sim, SimConfig, TraceConfig};

use super::{Cancelled, Progress};

/// Simulated seconds run first at each rate and not counted.
pub const WARMUP_S: f64 = 5.0;
/// Simulated seconds measured at each rate.
pub const MEASURE_S: f64 = 10.0;
/// The default goal: p99 at most this many times the unloaded p99.
pub const P99_TIMES: f64 = 10.0;
/// The default goal: at most this share of requests fail.
pub const FAILURES_MAX: f64 = 0.01;
/// The rate factor of the unloaded run.
pub const UNLOADED_FACTOR: f64 = 0.05;
/// Bisection stops when the failing rate is within this share above the passing one.
pub const PRECISION: f64 = 0.02;
/// At most this many doublings or halvings from the layout's own rate.
const STEPS_MAX: u32 = 16;
/// Bisection steps at most (from a factor-of-two bracket, 6 reach 2 %).
const BISECT_MAX: u32 = 12;

/// One rate tried.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StressStep {
    /// The clients' rates multiplied by this.
    pub factor: f64,
    /// The open-loop clients' offered rate at this factor (0 when all are closed-loop).
    pub qps: f64,
    pub throughput_rps: f64,
    pub p99_ms: f64,
    pub failure_share: f64,
    pub passed: bool,
    /// Why it did not pass (`None` when it did).
    pub missed: Option<String>,
}

/// The node that ran out of a resource when the layout broke.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Saturated {
    pub node: NodeId,
    pub name: String,
    /// The node's kind as written in files.
    pub kind: &'static str,
    /// `cpu`, `workers` or `queue` (as in the run report's `saturated`).
    pub resource: &'static str,
}

/// What `stress` found.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StressReport {
    pub layout: String,
    pub seed: u64,
    pub warmup_s: f64,
    pub measure_s: f64,
    /// The goals each run was judged against, in words.
    pub goals: Vec<String>,
    /// p99 at a twentieth of the layout's rates.
    pub unloaded_p99_ms: f64,
    /// The highest rate served within the goals (`None`: even the lowest rate tried broke).
    pub held: Option<StressStep>,
    /// The lowest rate that broke (`None`: none broke up to the highest rate tried).
    pub broke: Option<StressStep>,
    /// The node saturated when it broke, furthest down the call chain.
    pub saturated: Option<Saturated>,
    /// Every run, in the order made.
    pub steps: Vec<StressStep>,
}

/// Why a search gave no report.
#[derive(Clone, Debug, PartialEq)]
pub enum StressError {
    /// The layout cannot run.
    Layout(Vec<Problem>),
    Cancelled,
}

impl From<Cancelled> for StressError {
    fn from(_: Cancelled) -> Self {
        StressError::Cancelled
    }
}

impl std::fmt::Display for StressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StressError::Layout(problems) => {
                f.write_str("the layout cannot run:")?;
                for p in problems {
                    write!(f, "\n{p}")?;
                }
                Ok(())
            }
            StressError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for StressError {}

/// Runs a search usually makes, for a progress bar (it raises the total if it needs more).
pub const RUNS_GUESS: u64 = 14;

/// `layout` with its script dropped and every client's rate multiplied by `factor`.
pub fn scaled(layout: &Layout, factor: f64) -> Layout {
    let mut l = layout.clone();
    l.script.clear();
    for n in &mut l.nodes {
        if let NodeKind::Client(c) = &mut n.kind {
            match c.mode {
                LoopMode::Open => c.qps *= factor,
                LoopMode::Closed => {
                    c.users = ((f64::from(c.users) * factor).round() as u32).max(1);
                }
            }
        }
    }
    l
}

/// The open-loop clients' total rate in `layout`.
pub fn offered_qps(layout: &Layout) -> f64 {
    layout
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Client(c) if c.mode == LoopMode::Open => Some(c.qps),
            _ => None,
        })
        .sum()
}

/// Find the highest rate `layout` serves within its goals; see the module's documentation.
pub fn stress(layout: &Layout, progress: &Progress) -> Result<StressReport, StressError> {
    if progress.total() < RUNS_GUESS {
        progress.set_total(RUNS_GUESS);
    }
    let base_qps = offered_qps(layout);
    let unloaded = measure(layout, UNLOADED_FACTOR, progress)?.map_err(StressError::Layout)?;
    let unloaded_p99_ms = unloaded.latency_ms.p99;
    let goals = goals_for(layout, unloaded_p99_ms);
    let mut steps: Vec<StressStep> = Vec::new();
    let mut broke_metrics: Option<Metrics> = None;
    let try_factor = |factor: f64,
                      steps: &mut Vec<StressStep>,
                      broke_metrics: &mut Option<Metrics>|
     -> Result<bool, StressError> {
        if progress.done() + 1 >= progress.total() {
            progress.set_total(progress.total() + 1);
        }
        let step = match measure(layout, factor, progress)? {
            Ok(m) => {
                let missed = judge(&goals, &m);
                let failure_share = report::goal_value(GoalMetric::FailureShare, &m);
                let step = StressStep {
                    factor,
                    qps: base_qps * factor,
                    throughput_rps: m.throughput_rps,
                    p99_ms: m.latency_ms.p99,
                    failure_share,
                    passed: missed.is_none(),
                    missed,
                };
                if !step.passed {
                    *broke_metrics = Some(m);
                }
                step
            }
            Err(problems) => refused_step(factor, base_qps * factor, &problems),
        };
        let passed = step.passed;
        steps.push(step);
        Ok(passed)
    };
    // Bracket: lo passes, hi fails.
    let (mut lo, mut hi) = (None::<f64>, None::<f64>);
    let mut factor = 1.0;
    for _ in 0..=STEPS_MAX {
        if try_factor(factor, &mut steps, &mut broke_metrics)? {
            lo = Some(factor);
            if hi.is_some() {
                break;
            }
            factor *= 2.0;
        } else {
            hi = Some(factor);
            if lo.is_some() {
                break;
            }
            factor /= 2.0;
        }
    }
    if let (Some(mut l), Some(mut h)) = (lo, hi) {
        let mut last_broke = broke_metrics.clone();
        for _ in 0..BISECT_MAX {
            if h <= l * (1.0 + PRECISION) {
                break;
            }
            let mid = (l * h).sqrt();
            if try_factor(mid, &mut steps, &mut broke_metrics)? {
                l = mid;
            } else {
                h = mid;
                last_broke = broke_metrics.clone();
            }
        }
        lo = Some(l);
        hi = Some(h);
        broke_metrics = last_broke;
    }
    progress.set_total(progress.done());
    let find = |f: Option<f64>| f.and_then(|f| steps.iter().rev().find(|s| s.factor == f).cloned());
    let held = find(lo);
    let broke = find(hi);
    let saturated = broke_metrics
        .as_ref()
        .and_then(|m| first_saturated(layout, m));
    Ok(StressReport {
        layout: layout.name.clone(),
        seed: layout.seed,
        warmup_s: WARMUP_S,
        measure_s: MEASURE_S,
        goals: goals.iter().map(goal_text).collect(),
        unloaded_p99_ms,
        held,
        broke,
        saturated,
        steps,
    })
}

/// The layout's own goals, or by default p99 at most `P99_TIMES` the unloaded p99 and at most
/// `FAILURES_MAX` of requests failing.
fn goals_for(layout: &Layout, unloaded_p99_ms: f64) -> Vec<Goal> {
    if layout.goals.is_empty() {
        vec![
            Goal {
                metric: GoalMetric::LatencyP99Ms,
                at_most: Some(P99_TIMES * unloaded_p99_ms),
                at_least: None,
            },
            Goal {
                metric: GoalMetric::FailureShare,
                at_most: Some(FAILURES_MAX),
                at_least: None,
            },
        ]
    } else {
        layout.goals.clone()
    }
}

/// A rate so high that the core's limits refuse the layout: a break, with no node.
fn refused_step(factor: f64, qps: f64, problems: &[crate::layout::Problem]) -> StressStep {
    StressStep {
        factor,
        qps,
        throughput_rps: 0.0,
        p99_ms: 0.0,
        failure_share: 0.0,
        passed: false,
        missed: Some(
            problems
                .first()
                .map_or("the core's limits".into(), |p| p.to_string()),
        ),
    }
}

/// One steady-state run at `factor`: the metrics, or the problems of a layout that cannot run.
fn measure(
    layout: &Layout,
    factor: f64,
    progress: &Progress,
) -> Result<Result<Metrics, Vec<Problem>>, Cancelled> {
    let l = scaled(layout, factor);
    let sim = Sim::new(
        &l,
        SimConfig {
            seed: None,
            warmup_s: WARMUP_S,
            trace: TraceConfig {
                every: 0,
                capacity: 0,
                ..TraceConfig::default()
            },
        },
    );
    let mut sim = match sim {
        Ok(s) => s,
        Err(p) => return Ok(Err(p)),
    };
    super::run_until_s(&mut sim, WARMUP_S + MEASURE_S, progress)?;
    progress.add(1);
    Ok(Ok(sim.metrics()))
}

/// Why a run misses (`None`: it passes): a goal missed, or a server's backlog grew.
fn judge(goals: &[Goal], m: &Metrics) -> Option<String> {
    let mut missed: Vec<String> = report::goals(goals, m)
        .into_iter()
        .filter(|g| !g.met)
        .map(|g| format!("{} was {:.3}", g.metric, g.value))
        .collect();
    if let Some(n) = m.nodes.iter().find(|n| n.unstable) {
        missed.push(format!("{}'s backlog grew", n.name));
    }
    (!missed.is_empty()).then(|| missed.join("; "))
}

fn goal_text(g: &Goal) -> String {
    match (g.at_most, g.at_least) {
        (Some(x), _) => format!("{} <= {x:.3}", g.metric.name()),
        (_, Some(x)) => format!("{} >= {x:.3}", g.metric.name()),
        _ => g.metric.name().to_string(),
    }
}

/// The saturated node furthest down the call chain: one that calls (through any number of
/// wires) no other saturated node; among several, the one whose resource was in full use the
/// largest share of the time.
fn first_saturated(layout: &Layout, m: &Metrics) -> Option<Saturated> {
    let saturated: Vec<NodeId> = m
        .nodes
        .iter()
        .filter(|n| n.saturated.is_some())
        .map(|n| n.id.node)
        .collect();
    let calls_saturated = |from: NodeId| {
        let mut seen = vec![from];
        let mut at = 0;
        while at < seen.len() {
            let here = seen[at];
            at += 1;
            for w in layout.wires.iter().filter(|w| w.from == here) {
                if w.to != from && saturated.contains(&w.to) {
                    return true;
                }
                if !seen.contains(&w.to) {
                    seen.push(w.to);
                }
            }
        }
        false
    };
    let busiest = |n: &crate::sim::NodeMetrics| n.all_cores_busy.max(n.all_workers_held);
    let n = m
        .nodes
        .iter()
        .filter(|n| n.saturated.is_some() && !calls_saturated(n.id.node))
        .max_by(|a, b| busiest(a).total_cmp(&busiest(b)))?;
    Some(Saturated {
        node: n.id.node,
        name: layout.name_of(n.id.node),
        kind: n.kind.file_name(),
        resource: n.saturated?.name(),
    })
}
