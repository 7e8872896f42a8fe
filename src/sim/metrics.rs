//! What a run measured: plain data, no serde (the report module has the serialisable form),
//! and `Sim::metrics`, which reads it from the core's counters without changing them.

use crate::layout::{KindTag, NodeId};

use super::Sim;
use super::hist::Hist;
use super::ix::UnitIx;
use super::request::FailReason;
use super::unit::{Areas, Kept, Role, Unit};

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
    /// Calls given a worker, and their mean wait in the queue for it (ms): measured per call,
    /// so `mean_queue` = start rate x `mean_wait_ms` is Little's law, not a definition.
    pub started: u64,
    pub mean_wait_ms: f64,
    pub max_queue: u32,
    /// Expected CPU demand of the work that arrived (mean service times), over the CPU's
    /// ceiling (USL on a sized box): what theory expects. The flags below are measured.
    pub offered_load: f64,
    /// Measured: the backlog grew over the run, or calls were refused for a full queue.
    pub unstable: bool,
    /// Measured: the resource that ran out, if one did (see [`saturation`]).
    pub saturated: Option<Resource>,
    /// Share of the time up with every core busy, and with every worker held.
    pub all_cores_busy: f64,
    pub all_workers_held: f64,
    pub queue_now: u32,
    pub workers: u32,
    pub cores: u32,
    /// A cache's counters (or an app server's local cache's) since it started (or was last
    /// flushed or resized).
    pub cache: Option<CacheMetrics>,
    /// On-demand price of the instance (0 for unpriced kinds).
    pub usd_per_hour: f64,
    /// A rate limiter's counters and buckets (`None` for every other kind).
    pub limiter: Option<LimiterMetrics>,
}

/// A rate limiter's decisions since counting started, and its buckets now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimiterMetrics {
    pub admitted: u64,
    /// Calls refused for an empty bucket (`rate_limited`).
    pub rejected: u64,
    /// Buckets kept now (per user or client: the recently busy ones; full ones are forgotten).
    pub buckets: u64,
    /// Of them, those without a whole token now.
    pub empty_buckets: u64,
    /// The lowest fill over the kept buckets, 0 to 1 (1 when none is kept).
    pub lowest_fill: f64,
}

/// A server's resource that can run out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// Every core busy: the CPU is the bottleneck.
    Cpu,
    /// Every worker held (serving, waiting for a core, or waiting on a downstream call).
    Workers,
    /// The queue grew over the run, or overflowed.
    Queue,
}

impl Resource {
    /// The name in the JSON report and the window.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Workers => "workers",
            Resource::Queue => "queue",
        }
    }
}

/// A resource in full use at least this share of the time is saturated.
pub const SATURATED_SHARE: f64 = 0.95;

/// What a server's own counters say about saturation: (the backlog grew or overflowed, the
/// resource that ran out). `all_busy` and `all_held` are the shares of the time up with every
/// core busy and every worker held; `growth` is the backlog (queued, and waiting for a core)
/// at the end over the start; `calls` and `refused` are calls that arrived and were refused
/// for a full queue.
///
/// The backlog "grew" when it gained more than 1 % of the calls that arrived (and at least
/// 10): a stable queue's length is a stationary random variable that does not scale with the
/// run, while an overloaded one gains (arrival rate - service rate) x time. More than 0.1 % of
/// calls refused for a full queue counts too.
pub fn saturation(
    all_busy: f64,
    all_held: f64,
    growth: i64,
    calls: u64,
    refused: u64,
) -> (bool, Option<Resource>) {
    let grew = growth as f64 > (0.01 * calls as f64).max(10.0);
    let unstable = grew || refused as f64 > 0.001 * calls as f64;
    let resource = if all_busy >= SATURATED_SHARE {
        Some(Resource::Cpu)
    } else if all_held >= SATURATED_SHARE {
        Some(Resource::Workers)
    } else if unstable {
        Some(Resource::Queue)
    } else {
        None
    };
    (unstable, resource)
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
    /// Keys that died with the cache (or the app server's local cache) that held them.
    pub cache_keys_lost: u64,
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
    /// Read replicas and how far behind their primaries they are now.
    pub replicas: Vec<super::ReplicaLag>,
    /// The event stream: kills, revivals, health-check verdicts, failovers, promotions,
    /// flushes, scale-outs and -ins, removals (`events.rs`).
    pub events: Vec<super::events::Event>,
    pub throughput_rps: f64,
    pub latency_ms: LatencyMs,
    /// Per instance, sorted by id.
    pub nodes: Vec<NodeMetrics>,
}

/// Read a latency summary (ms) out of a histogram of nanoseconds.
pub(super) fn latency_summary(h: &Hist, sum_ns: u128) -> LatencyMs {
    let n = h.len();
    if n == 0 {
        return LatencyMs::default();
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    let [p50, p95, p99] = h.values_at([0.50, 0.95, 0.99]);
    LatencyMs {
        mean: sum_ns as f64 / n as f64 / 1e6,
        p50: ms(p50),
        p95: ms(p95),
        p99: ms(p99),
        max: ms(h.max()),
    }
}

/// A latency histogram in nanoseconds: 1 ns to one hour, 3 significant figures, growing
/// past an hour when a latency needs it, so a longer one is recorded as it was and not clamped
/// (a clamped maximum fell below the mean). A [`Hist`]: an hdrhistogram's buckets of that
/// configuration, recorded without hdrhistogram's minimum and maximum upkeep and `Result`,
/// and read only where in use.
pub(super) fn new_histogram() -> Hist {
    Hist::new(3_600_000_000_000, 3)
}

/// The histogram behind the 100 ms series and the recent window: microseconds, 1 us to one
/// hour, 2 significant figures. Small, so reading three quantiles and clearing it ten times
/// a simulated second stays cheap; 1 % resolution is plenty for a plot. Microseconds, not the
/// core's nanoseconds: the window's percentiles are in the JSON report, and buckets of whole
/// microseconds are what they were recorded with (hdrhistogram's buckets are powers of two
/// of the lowest value, so a nanosecond histogram could not reproduce them). A [`Hist`]: the
/// buckets of an hdrhistogram of that configuration, touched only where in use.
pub(super) fn new_interval_histogram() -> Hist {
    Hist::new(3_600_000_000, 2)
}
impl Sim {
    /// Everything measured so far. Reads the counters as they stand (each instance's time
    /// integrals read at now, `Unit::areas_at`), so the window may call it on every frame.
    pub fn metrics(&self) -> Metrics {
        let now = self.now_ns;
        let measured_ns = now.saturating_sub(if self.warmup_done {
            self.warmup_ns.min(now)
        } else {
            now
        });
        let measured_s = measured_ns as f64 / 1e9;
        // One reading of each instance's integrals: its figures, and what it cost (every
        // priced instance, for the time it existed, removed ones too).
        let mut nodes: Vec<NodeMetrics> = Vec::with_capacity(self.units.len());
        let mut dollars = 0.0;
        for (i, u) in self.units.iter().enumerate() {
            let areas = u.areas_at(now);
            dollars += areas.billed_ns as f64 / 3.6e12 * u.usd_per_hour;
            if !u.removed {
                nodes.push(node_metrics(
                    u,
                    &areas,
                    now,
                    self.marked_down(UnitIx::at(i)),
                ));
            }
        }
        nodes.sort_by_key(|n| n.id);
        let t = &self.totals;
        let lookups = t.cache_hits + t.cache_misses;
        let failures = FailReason::ALL
            .iter()
            .map(|&r| (r, t.failed_by[r.index()]))
            .filter(|&(_, n)| n > 0)
            .collect();
        Metrics {
            seed: self.seed,
            simulated_s: now as f64 / 1e9,
            measured_s,
            requests: self.counts(),
            failures,
            calls: t.calls,
            retries: t.retries,
            amplification: ratio_or(t.calls as f64, t.first_calls as f64, 1.0),
            session_misses: t.session_misses,
            sessions_lost: t.sessions_lost,
            cache_keys_lost: t.cache_keys_lost,
            load_max_over_mean: load_max_over_mean(&nodes),
            stale_reads: t.stale_reads,
            writes_lost: t.writes_lost,
            promotions: t.promotions,
            cache_hits: t.cache_hits,
            cache_misses: t.cache_misses,
            local_cache_hits: t.local_cache_hits,
            local_cache_misses: t.local_cache_misses,
            cache_hit_ratio: ratio_or(t.cache_hits as f64, lookups as f64, 0.0),
            cost_usd_per_hour: if measured_s > 0.0 {
                dollars / (measured_s / 3600.0)
            } else {
                self.units
                    .iter()
                    .filter(|u| !u.removed)
                    .map(|u| u.usd_per_hour)
                    .sum()
            },
            cost_usd_per_million_requests: ratio_or(dollars, t.completed as f64, 0.0) * 1e6,
            autoscale: self.autoscale_report(),
            shard_moves: self.shard_moves.clone(),
            replicas: self.replica_lags(),
            events: self.timeline.clone(),
            throughput_rps: ratio_or(t.completed as f64, measured_s, 0.0),
            latency_ms: latency_summary(&t.latency, t.latency_sum_ns),
            nodes,
        }
    }
}

/// `a / b`, or `otherwise` when `b` is not positive.
fn ratio_or(a: f64, b: f64, otherwise: f64) -> f64 {
    if b > 0.0 { a / b } else { otherwise }
}

/// The busiest app server's served count over the mean of all app servers (1 is even).
fn load_max_over_mean(nodes: &[NodeMetrics]) -> f64 {
    let app_served: Vec<f64> = nodes
        .iter()
        .filter(|n| n.kind == KindTag::AppServer)
        .map(|n| n.served as f64)
        .collect();
    let mean = app_served.iter().sum::<f64>() / app_served.len().max(1) as f64;
    if mean > 0.0 {
        app_served.iter().copied().fold(0.0, f64::max) / mean
    } else {
        0.0
    }
}

/// One instance's figures, with its time integrals `a` read at `now`.
fn node_metrics(u: &Unit, a: &Areas, now: u64, marked_down: bool) -> NodeMetrics {
    let s = &u.stats;
    let ratio = |a: u128, b: u128| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let span = u128::from(now.saturating_sub(s.since_ns));
    let ceiling_cores = if u.usl {
        super::sizing::usl_throughput(f64::from(u.cores))
    } else {
        f64::from(u.cores)
    };
    let cpu_capacity = a.alive_ns as f64 * ceiling_cores;
    let offered_load = if cpu_capacity > 0.0 {
        s.demand_ns / cpu_capacity
    } else {
        0.0
    };
    let share = |x: u128| {
        if a.alive_ns > 0 {
            x as f64 / a.alive_ns as f64
        } else {
            0.0
        }
    };
    let (all_cores_busy, all_workers_held) = (share(a.all_busy_ns), share(a.all_held_ns));
    let backlog_now = (u.queue.len() + u.cpu_queue.len()) as i64;
    let (unstable, saturated) = if matches!(u.role, Role::Server { .. }) {
        saturation(
            all_cores_busy,
            all_workers_held,
            backlog_now - i64::from(s.backlog_start),
            s.calls,
            s.queue_full,
        )
    } else {
        (false, None)
    };
    let data_cache = match &u.role {
        Role::Server {
            kept: Kept::DataCache(c),
            ..
        } => Some(&**c),
        _ => u.local_cache.as_deref(),
    };
    NodeMetrics {
        id: UnitId {
            node: u.node,
            member: u.member,
        },
        name: u.name.clone(),
        kind: u.kind,
        alive: u.alive,
        marked_down,
        calls: s.calls,
        served: s.served,
        failed: s.failed,
        cpu_utilization: ratio(a.cpu, a.cores),
        worker_utilization: ratio(a.held, a.capacity),
        mean_queue: ratio(a.queue, span),
        started: s.started,
        mean_wait_ms: if s.started == 0 {
            0.0
        } else {
            s.wait_ns as f64 / s.started as f64 / 1e6
        },
        max_queue: s.max_queue,
        offered_load,
        unstable,
        saturated,
        all_cores_busy,
        all_workers_held,
        queue_now: u.queue.len() as u32,
        workers: u.workers,
        cores: u.cores,
        cache: data_cache.map(|c| {
            let k = c.counters();
            CacheMetrics {
                hits: k.hits,
                misses: k.misses,
                hit_ratio: k.hit_ratio(),
                evictions: k.evictions,
                keys: u64::from(c.len()),
            }
        }),
        usd_per_hour: u.usd_per_hour,
        limiter: match &u.role {
            Role::Limiter(l) => {
                let (buckets, empty_buckets, lowest_fill) = l.fill_at(now);
                Some(LimiterMetrics {
                    admitted: l.admitted,
                    rejected: l.rejected,
                    buckets,
                    empty_buckets,
                    lowest_fill,
                })
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use hdrhistogram::Histogram;

    use super::*;

    /// The run's summary reads what hdrhistogram (the reference, as the core used it before
    /// `Hist`) reads from the same latencies: percentiles and max at 3 significant figures.
    #[test]
    fn the_latency_summary_matches_hdrhistogram() {
        let mut r = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3)
            .unwrap_or_else(|e| panic!("{e}"));
        r.auto(true);
        let mut h = new_histogram();
        assert_eq!(latency_summary(&h, 0), LatencyMs::default());
        let mut sum_ns = 0u128;
        // 1 ns to past an hour: 0, 1, then a geometric spread with a long tail.
        let mut v = 0u64;
        for k in 0..20_000u64 {
            h.record(v);
            r.record(v.max(1)).unwrap_or_else(|e| panic!("{e}"));
            sum_ns += u128::from(v);
            v = if k % 1000 == 999 {
                7_200_000_000_000 + k
            } else {
                (v * 1_000_003 / 1_000_000 + 1 + k % 7) % 50_000_000_000
            };
        }
        let ms = |ns: u64| ns as f64 / 1e6;
        let want = LatencyMs {
            mean: sum_ns as f64 / r.len() as f64 / 1e6,
            p50: ms(r.value_at_quantile(0.50)),
            p95: ms(r.value_at_quantile(0.95)),
            p99: ms(r.value_at_quantile(0.99)),
            max: ms(r.max()),
        };
        assert_eq!(latency_summary(&h, sum_ns), want);
        assert!(
            want.max > 7_200_000.0,
            "a latency past an hour is kept, not clamped"
        );
    }
}
