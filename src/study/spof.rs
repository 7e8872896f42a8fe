//! Single points of failure: kill one thing at a time, each in a run of its own, and list
//! those whose death still fails requests once the layout has had time to route around it.
//!
//! Every run is the layout with its own script dropped, on the layout's seed (so every run
//! receives the same arrivals), warmed up for [`KILL_AT_S`] seconds; then one instance is
//! killed, and the failures are counted over the requests that arrive in the [`MEASURE_S`]
//! seconds after a settle time: what the layout needs to notice the death and fail over
//! ([`settle_s`]). One more run with nothing killed gives the failures the layout has anyway;
//! a death that adds more than [`THRESHOLD`] of the requests to them is a single point of
//! failure.

use serde::Serialize;

use crate::layout::{EntryMode, Layout, NodeId, NodeKind, Problem, Target};
use crate::sim::{Sim, SimConfig, TraceConfig};

use super::{Cancelled, Progress, par_map};

/// Simulated seconds run before the kill, so queues, caches and connections are in use.
pub const KILL_AT_S: f64 = 5.0;

/// Simulated seconds measured after the settle time.
pub const MEASURE_S: f64 = 10.0;

/// Added to the detection and failover delays: a request already waiting on a dead node when
/// it was noticed, a retry's backoff, the balancer's first probe after the kill.
pub const MARGIN_S: f64 = 2.0;

/// A death that fails more than this share of requests (beyond the layout's own failures
/// with nothing killed) makes its victim a single point of failure.
pub const THRESHOLD: f64 = 0.01;

/// Which things to kill, one at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every balancer, app server (each member of a pool), session store, cache (each member
    /// of a cluster), shard router and database. Not clients (they are the users), and not
    /// entries: a floating IP or a DNS name is an address, not a box that can crash.
    Everything,
    /// Only these nodes (each member of a pool or cluster in turn), with the same exclusions.
    Nodes(Vec<NodeId>),
}

/// How long after the kill failures start to count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Settle {
    /// From the layout's settings: [`settle_s`].
    Auto,
    /// This many simulated seconds.
    Seconds(f64),
}

/// One thing killed and what its death did.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SpofKill {
    /// What was killed: a node, or one member of a pool or cluster.
    pub target: Target,
    /// The node's name, with the member for a pool or cluster (`app[1]`).
    pub name: String,
    /// The node's kind as written in files (`load_balancer`).
    pub kind: &'static str,
    /// Requests that arrived in the measured window and finished (completed or failed).
    pub requests: u64,
    pub failed: u64,
    /// `failed / requests` (0 when no request finished).
    pub failure_share: f64,
    /// The death fails more than the threshold beyond the baseline's failures.
    pub single_point: bool,
}

/// What `spof` found: every candidate killed, in the layout's order.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SpofReport {
    pub layout: String,
    pub seed: u64,
    /// The simulated second each run kills its victim at.
    pub kill_at_s: f64,
    /// Failures count for requests arriving this long after the kill...
    pub settle_s: f64,
    /// ...and over this many seconds.
    pub measure_s: f64,
    pub threshold: f64,
    /// The failure share of the same window with nothing killed.
    pub baseline_failure_share: f64,
    pub killed: Vec<SpofKill>,
}

impl SpofReport {
    /// The single points of failure, in the layout's order.
    pub fn single_points(&self) -> impl Iterator<Item = &SpofKill> {
        self.killed.iter().filter(|k| k.single_point)
    }
}

/// Why a search gave no report.
#[derive(Clone, Debug, PartialEq)]
pub enum SpofError {
    /// The layout cannot run.
    Layout(Vec<Problem>),
    /// A run stopped at one of the core's limits (the reason).
    Halted(String),
    /// The settle time or a kill was refused (the reason).
    Invalid(String),
    Cancelled,
}

impl From<Cancelled> for SpofError {
    fn from(_: Cancelled) -> Self {
        SpofError::Cancelled
    }
}

impl std::fmt::Display for SpofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpofError::Layout(problems) => {
                f.write_str("the layout cannot run:")?;
                for p in problems {
                    write!(f, "\n{p}")?;
                }
                Ok(())
            }
            SpofError::Halted(why) => write!(f, "a run stopped: {why}"),
            SpofError::Invalid(why) => f.write_str(why),
            SpofError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for SpofError {}

/// The settle time of a layout, in simulated seconds: how long the slowest of its recovery
/// mechanisms may take, summed over the tiers (a death is noticed by one tier, but the sum
/// bounds any chain of them), plus [`MARGIN_S`]:
///
/// - a balancer's health checks: `health_interval_ms x unhealthy_threshold +
///   health_timeout_ms` (the slowest balancer with checks on; without checks it never routes
///   around a dead backend, so nothing is waited for);
/// - an entry's failover: a floating IP's `heartbeat_ms x missed_beats`; health-checked DNS's
///   `check_interval_ms x check_threshold + dns_ttl_s` (clients keep the old answer for a
///   TTL); plain round-robin DNS never fails over;
/// - a replicated database's `promotion_delay_ms` (primaries with a replica only).
pub fn settle_s(layout: &Layout) -> f64 {
    let mut checks_ms: f64 = 0.0;
    let mut failover_ms: f64 = 0.0;
    let mut promotion_ms: f64 = 0.0;
    for node in &layout.nodes {
        match &node.kind {
            NodeKind::LoadBalancer(b) if b.health_checks => {
                checks_ms = checks_ms.max(
                    b.health_interval_ms * f64::from(b.unhealthy_threshold) + b.health_timeout_ms,
                );
            }
            NodeKind::Entry(e) => {
                let ms = match e.mode {
                    EntryMode::FloatingIp => e.heartbeat_ms * f64::from(e.missed_beats),
                    EntryMode::DnsHealthChecked => {
                        e.check_interval_ms * f64::from(e.check_threshold) + e.dns_ttl_s * 1e3
                    }
                    EntryMode::DnsRoundRobin => 0.0,
                };
                failover_ms = failover_ms.max(ms);
            }
            NodeKind::Database(d) if layout.replication.iter().any(|r| r.primary == node.id) => {
                promotion_ms = promotion_ms.max(d.promotion_delay_ms);
            }
            _ => {}
        }
    }
    (checks_ms + failover_ms + promotion_ms) / 1e3 + MARGIN_S
}

/// The things `scope` kills, one at a time, in the layout's order, with their names.
pub fn candidates(layout: &Layout, scope: &Scope) -> Vec<(Target, String)> {
    let mut out = Vec::new();
    for node in &layout.nodes {
        if matches!(node.kind, NodeKind::Client(_) | NodeKind::Entry(_)) {
            continue;
        }
        if let Scope::Nodes(ids) = scope
            && !ids.contains(&node.id)
        {
            continue;
        }
        let count = node.kind.count();
        if count > 1 {
            for m in 0..count {
                out.push((Target::member(node.id, m), format!("{}[{m}]", node.name)));
            }
        } else {
            out.push((Target::node(node.id), node.name.clone()));
        }
    }
    out
}

/// Runs a search makes: one per candidate and one with nothing killed. The total for a
/// [`Progress`].
pub fn runs(layout: &Layout, scope: &Scope) -> u64 {
    candidates(layout, scope).len() as u64 + 1
}

/// Kill each thing in `scope` in a run of its own (in parallel, [`par_map`]) and measure the
/// share of requests that fail after the settle time. See the module's documentation.
pub fn spof(
    layout: &Layout,
    scope: &Scope,
    settle: Settle,
    progress: &Progress,
) -> Result<SpofReport, SpofError> {
    let mut quiet = layout.clone();
    quiet.script.clear();
    let problems = crate::layout::check(&quiet);
    if problems
        .iter()
        .any(|p| p.severity == crate::layout::Severity::Error)
    {
        return Err(SpofError::Layout(problems));
    }
    let settle_s = match settle {
        Settle::Auto => settle_s(&quiet),
        Settle::Seconds(s) if s.is_finite() && (0.0..=1e5).contains(&s) => s,
        Settle::Seconds(s) => {
            return Err(SpofError::Invalid(format!(
                "the settle time must be from 0 to 100000 s, not {s}"
            )));
        }
    };
    // The baseline (None) first, then each candidate.
    let mut runs: Vec<Option<(Target, String)>> = vec![None];
    runs.extend(candidates(&quiet, scope).into_iter().map(Some));
    let results = par_map(&runs, progress, |victim| {
        Ok(one_run(
            &quiet,
            victim.as_ref().map(|(t, _)| *t),
            settle_s,
            progress,
        ))
    })?;
    let mut shares = Vec::with_capacity(results.len());
    for r in results {
        shares.push(r?);
    }
    let baseline = shares[0].share();
    let killed = runs
        .into_iter()
        .zip(shares)
        .filter_map(|(victim, counted)| {
            let (target, name) = victim?;
            let kind = quiet.node(target.node)?.kind.tag().file_name();
            let share = counted.share();
            Some(SpofKill {
                target,
                name,
                kind,
                requests: counted.requests,
                failed: counted.failed,
                failure_share: share,
                single_point: share - baseline > THRESHOLD,
            })
        })
        .collect();
    Ok(SpofReport {
        layout: quiet.name.clone(),
        seed: quiet.seed,
        kill_at_s: KILL_AT_S,
        settle_s,
        measure_s: MEASURE_S,
        threshold: THRESHOLD,
        baseline_failure_share: baseline,
        killed,
    })
}

/// Requests counted in one run's window.
#[derive(Clone, Copy, Debug)]
struct Counted {
    requests: u64,
    failed: u64,
}

impl Counted {
    fn share(self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failed as f64 / self.requests as f64
        }
    }
}

/// One run: kill `victim` (if any) at [`KILL_AT_S`], count the requests arriving from the
/// settle time on (the core's warm-up ends there, so its counters hold exactly them).
fn one_run(
    layout: &Layout,
    victim: Option<Target>,
    settle_s: f64,
    progress: &Progress,
) -> Result<Counted, SpofError> {
    let mut sim = Sim::new(
        layout,
        SimConfig {
            seed: None,
            warmup_s: KILL_AT_S + settle_s,
            trace: TraceConfig {
                every: 0,
                capacity: 0,
                ..TraceConfig::default()
            },
        },
    )
    .map_err(SpofError::Layout)?;
    super::run_until_s(&mut sim, KILL_AT_S, progress)?;
    if let Some(t) = victim {
        sim.apply(crate::layout::Command::Kill(t))
            .map_err(SpofError::Invalid)?;
    }
    super::run_until_s(&mut sim, KILL_AT_S + settle_s + MEASURE_S, progress)?;
    if let Some(halt) = sim.halted() {
        return Err(SpofError::Halted(halt.to_string()));
    }
    let c = sim.counts();
    Ok(Counted {
        requests: c.completed + c.failed,
        failed: c.failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> Layout {
        let Some(text) = crate::shipped::find(name) else {
            panic!("{name} is not shipped");
        };
        crate::layout::from_ron(text).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn the_settle_time_of_an_active_passive_pair_is_its_failover_plus_checks_plus_margin() {
        let layout = shipped("active-passive.ron");
        // Balancers' defaults: 1000 ms x 3 + 500 ms; the pair: 500 ms x 3 beats.
        assert_eq!(settle_s(&layout), 3.5 + 1.5 + MARGIN_S);
    }

    #[test]
    fn candidates_skip_clients_and_entries_and_split_pools_into_members() {
        let layout = shipped("active-passive.ron");
        let names: Vec<String> = candidates(&layout, &Scope::Everything)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(names, ["lb-a", "lb-b", "app[0]", "app[1]", "app[2]"]);
    }
}
