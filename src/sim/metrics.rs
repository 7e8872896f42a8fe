//! What a run measured: plain data, no serde (the report module has the serialisable form).

use hdrhistogram::Histogram;

use crate::layout::{KindTag, NodeId};

use super::request::FailReason;

/// The request counters of a run, counting requests that arrived after the warm-up.
/// `arrived == completed + failed + in_flight` after every tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub in_flight: u64,
}

/// Latency summary, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatencyMs {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// An instance's stable id: its node and, in a pool, its member index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitId {
    pub node: NodeId,
    pub member: u32,
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.node, self.member)
    }
}

/// What one instance did since the warm-up.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeMetrics {
    pub id: UnitId,
    pub name: String,
    pub kind: KindTag,
    /// True while the instance is up.
    pub alive: bool,
    /// A balancer's health checks have marked it down.
    pub marked_down: bool,
    /// Calls that reached it.
    pub calls: u64,
    pub served: u64,
    pub failed: u64,
    /// Time workers spent serving (CPU), over worker time available, 0 to 1.
    pub cpu_utilization: f64,
    /// Time workers were held (serving or waiting on downstream calls), 0 to 1.
    pub worker_utilization: f64,
    /// Time-weighted mean queue length.
    pub mean_queue: f64,
    pub max_queue: u32,
    /// Expected CPU demand of the calls that arrived, over the capacity: 1 or more is unstable.
    pub offered_load: f64,
    /// Offered load at or above capacity: the queue grows without bound.
    pub unstable: bool,
    pub queue_now: u32,
    pub workers: u32,
    /// A cache's counters (or an app server's local cache's) since it started (or was last
    /// flushed or resized).
    pub cache: Option<CacheMetrics>,
    /// On-demand price of the instance (0 for unpriced kinds).
    pub usd_per_hour: f64,
}

/// A cache instance's counters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheMetrics {
    pub hits: u64,
    pub misses: u64,
    pub hit_ratio: f64,
    pub evictions: u64,
    /// Keys held now.
    pub keys: u64,
}

/// The metrics of a run at its current time.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub seed: u64,
    /// Simulated time so far, seconds.
    pub simulated_s: f64,
    /// Simulated time since the warm-up ended, seconds (what rates are measured over).
    pub measured_s: f64,
    pub requests: RequestCounts,
    /// Failed requests by reason (after the warm-up), in `FailReason::ALL` order, zeros left out.
    pub failures: Vec<(FailReason, u64)>,
    /// Calls made between nodes (each hop of each request, retries included), after the
    /// warm-up.
    pub calls: u64,
    /// Calls resent after a failure or timeout.
    pub retries: u64,
    /// Calls made per call that would have been made without retries. A client's resent
    /// request counts with every call it makes further down, not only its first hop.
    pub amplification: f64,
    /// Users who had logged in but found no session where their request landed.
    pub session_misses: u64,
    /// Sessions that died with the server (or store) that held them.
    pub sessions_lost: u64,
    /// Busiest app server's served calls over the mean of all app servers (1: even spread).
    pub load_max_over_mean: f64,
    /// Reads served by a replica that had not yet applied the latest write to their key.
    pub stale_reads: u64,
    /// Acknowledged writes a promoted replica never received (asynchronous replication).
    pub writes_lost: u64,
    /// Replicas promoted to primary.
    pub promotions: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Reads app servers found in their own local caches, and did not.
    pub local_cache_hits: u64,
    pub local_cache_misses: u64,
    /// Cache lookups that hit, over all lookups (0 with no cache).
    pub cache_hit_ratio: f64,
    /// What the layout's priced instances cost per hour, averaged over the measured time.
    pub cost_usd_per_hour: f64,
    /// The measured time's cost over the requests completed in it, per million.
    pub cost_usd_per_million_requests: f64,
    pub autoscale: Vec<super::AutoscaleReport>,
    pub shard_moves: Vec<super::ShardMove>,
    /// Every node's state over time: kills, revivals, health-check verdicts, removals.
    pub states: Vec<StateEvent>,
    pub throughput_rps: f64,
    pub latency_ms: LatencyMs,
    /// Per instance, sorted by id.
    pub nodes: Vec<NodeMetrics>,
}

/// Read a latency summary (ms) out of a histogram of nanoseconds.
pub fn latency_summary(h: &Histogram<u64>, sum_ns: u128) -> LatencyMs {
    let n = h.len();
    if n == 0 {
        return LatencyMs::default();
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    LatencyMs {
        mean: sum_ns as f64 / n as f64 / 1e6,
        p50: ms(h.value_at_quantile(0.50)),
        p95: ms(h.value_at_quantile(0.95)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
    }
}

/// Record `value` (at least 1) exactly: a histogram made here grows past its upper bound
/// rather than clamp the value to it. `saturating_record` clamps even when the histogram could
/// grow; only a value the histogram cannot hold at all (near `u64::MAX`) is clamped.
pub fn record(h: &mut Histogram<u64>, value: u64) {
    let value = value.max(1);
    if h.record(value).is_err() {
        h.saturating_record(value);
    }
}

/// A latency histogram in nanoseconds: 1 ns to one hour, 3 significant figures, growing
/// past an hour when a latency needs it, so a longer one is recorded as it was and not clamped
/// (a clamped maximum fell below the mean).
#[allow(clippy::expect_used)] // Constant bounds that hdrhistogram documents as valid.
pub fn new_histogram() -> Histogram<u64> {
    let mut h =
        Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("constant histogram bounds");
    h.auto(true);
    h
}

/// The histogram behind the 100 ms series: microseconds, 1 us to one hour, 2 significant
/// figures. Small, so reading three quantiles and resetting it ten times a simulated second
/// stays cheap; 1 % resolution is plenty for a plot.
#[allow(clippy::expect_used)] // Constant bounds that hdrhistogram documents as valid.
pub fn new_interval_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("constant histogram bounds");
    h.auto(true);
    h
}

/// A change in an instance's state, as the timeline of a run shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateChange {
    /// Killed (a crash).
    Down,
    /// Revived.
    Up,
    /// A balancer's health checks marked it down (it stops getting traffic from that balancer).
    MarkedDown,
    /// A balancer's health checks took it back.
    MarkedUp,
    /// Removed from the layout (or scaled in).
    Removed,
}

impl StateChange {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            StateChange::Down => "down",
            StateChange::Up => "up",
            StateChange::MarkedDown => "marked_down",
            StateChange::MarkedUp => "marked_up",
            StateChange::Removed => "removed",
        }
    }
}

/// One entry of the state timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct StateEvent {
    pub at_ns: u64,
    pub unit: UnitId,
    pub name: String,
    pub change: StateChange,
    /// For marked down/up: the balancer whose checks decided.
    pub by: Option<String>,
}
