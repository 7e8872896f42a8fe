//! Metrics to reports: the JSON object of `tierlab run --json`, the readable summary table,
//! goals met or missed, and confidence intervals over replications. The serialisable types live
//! here, not in the core.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::layout::{self, Goal, GoalMetric, Layout, Problem};
use crate::sim::events::Event;
use crate::sim::{Metrics, NodeMetrics, ReplicaLag, Sim, SimConfig, TraceConfig};

mod cdn;
pub use cdn::CdnJson;

/// How long and how to run a layout headless.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    /// Measured simulated seconds, after the warm-up.
    pub seconds: f64,
    /// Simulated seconds run first and not counted.
    pub warmup_s: f64,
    /// Overrides the layout's seed.
    pub seed: Option<u64>,
    pub trace: TraceConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seconds: 60.0,
            warmup_s: 0.0,
            seed: None,
            trace: TraceConfig::default(),
        }
    }
}

/// Run a layout headless for `config.warmup_s + config.seconds` of simulated time.
pub fn run(layout: &Layout, config: &RunConfig) -> Result<Sim, Vec<Problem>> {
    let mut sim = Sim::new(
        layout,
        SimConfig {
            seed: config.seed,
            warmup_s: config.warmup_s,
            trace: config.trace,
        },
    )?;
    sim.run_until_s(config.warmup_s + config.seconds);
    Ok(sim)
}

/// The `requests` object.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RequestsJson {
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    pub in_flight: u64,
}

/// The `latency_ms` object.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencyJson {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// One entry of `nodes`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NodeJson {
    /// `node.member`, e.g. `"3.0"`.
    pub id: String,
    pub node: u32,
    pub member: u32,
    pub name: String,
    pub kind: &'static str,
    pub alive: bool,
    /// Marked down by a balancer's health checks.
    pub marked_down: bool,
    pub calls: u64,
    pub served: u64,
    pub failed: u64,
    pub cpu_utilization: f64,
    pub worker_utilization: f64,
    pub mean_queue: f64,
    pub max_queue: u32,
    /// Expected CPU demand over the CPU's ceiling, from mean service times (theory).
    pub offered_load: f64,
    /// Measured: the backlog grew over the run, or calls were refused for a full queue.
    pub unstable: bool,
    /// Measured: the resource that ran out (`cpu`, `workers` or `queue`), or null.
    pub saturated: Option<&'static str>,
    /// Shares of the time up with every core busy and with every worker held.
    pub all_cores_busy: f64,
    pub all_workers_held: f64,
    pub workers: u32,
    pub cores: u32,
    /// On-demand price of the instance, USD per hour (0: not priced).
    pub usd_per_hour: f64,
    /// Caches (and app servers with a local cache): counters since the cache started (or was
    /// flushed or resized).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheJson>,
    /// Rate limiters: calls admitted and rejected (`rate_limited`), and the buckets at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limiter: Option<LimiterJson>,
}

/// A rate limiter's counters (after the warm-up) and its buckets at the end of the run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LimiterJson {
    pub admitted: u64,
    pub rejected: u64,
    /// Rejected over all decisions (0 without calls).
    pub rejected_share: f64,
    pub buckets: u64,
    pub empty_buckets: u64,
    pub lowest_fill: f64,
}

/// A cache instance's counters.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CacheJson {
    pub hits: u64,
    pub misses: u64,
    pub hit_ratio: f64,
    pub evictions: u64,
    pub keys: u64,
}

/// An autoscaled pool.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AutoscaleJson {
    pub node: u32,
    pub name: String,
    pub count: u32,
    pub max_count: u32,
    pub scale_outs: u64,
    pub scale_ins: u64,
    /// Changes of direction within one cool-down of the previous change.
    pub flaps: u64,
}

/// One entry of the run's event stream.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EventJson {
    pub at_s: f64,
    /// `down`, `up`, `marked_down`, `marked_up`, `removed`, `failover`, `promotion`, `flush`,
    /// `scale_out` or `scale_in`.
    pub event: &'static str,
    pub node: u32,
    /// The pool member (0-based) for an event of one instance; absent for a whole node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<u32>,
    /// The instance's or node's name, e.g. `app[2]`.
    pub name: String,
    /// marked_down / marked_up: the deciding balancer; failover: the balancer that holds the
    /// IP now; scale_out / scale_in: the pool's size, e.g. `3 -> 5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The last seconds of the run (`sim::window`): what the window's summary strip shows.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecentJson {
    pub seconds: f64,
    pub completed: u64,
    pub failed: u64,
    /// Of the failed, refused by a rate limiter (absent when none were).
    #[serde(skip_serializing_if = "is_zero")]
    pub rate_limited: u64,
    /// Absent when nothing completed in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_p99_ms: Option<f64>,
    /// Absent without cache lookups in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_hit_ratio: Option<f64>,
}

/// A change of a shard router's shard count.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ShardMoveJson {
    pub router: String,
    pub at_s: f64,
    pub shards_before: usize,
    pub shards_after: usize,
    pub keys_moved_share: f64,
}

/// What one shard's death makes unavailable: one entry per shard router and shard.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ShardLossJson {
    pub router: String,
    pub shard: String,
    /// Share of the key space the shard owns: the keys unavailable while it is down.
    pub keys_share: f64,
    /// Share of the calls to the router's shards that this shard took in the measured run:
    /// the requests that would fail while it is down (hot keys make it differ from
    /// `keys_share`). 0 when the shards took no call.
    pub requests_share: f64,
}

/// One read replica's state at the end of the run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReplicaJson {
    pub primary: String,
    pub replica: String,
    pub alive: bool,
    /// Writes committed at the primary that it has not applied.
    pub writes_behind: u64,
    /// Age of the oldest write it has not applied, ms (0: caught up).
    pub lag_ms: f64,
}

/// One entry of `goals`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GoalJson {
    pub metric: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    pub value: f64,
    pub met: bool,
}

/// The JSON object `tierlab run --json` prints for one run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunJson {
    pub layout: String,
    pub seed: u64,
    pub simulated_seconds: f64,
    pub warmup_seconds: f64,
    pub measured_seconds: f64,
    pub requests: RequestsJson,
    /// Failed requests by reason, sorted by name.
    pub failures: BTreeMap<&'static str, u64>,
    /// Calls between nodes (every hop of every request, retries included).
    pub calls: u64,
    /// Calls resent after a failure or timeout.
    pub retries: u64,
    /// Calls made per call that would have been made without retries.
    pub amplification: f64,
    /// Users who had logged in but found no session where their request landed.
    pub session_misses: u64,
    /// Sessions that died with the box that held them.
    pub sessions_lost: u64,
    /// Keys that died with the cache (or app server's local cache) that held them.
    pub cache_keys_lost: u64,
    /// Busiest app server's served calls over the mean (1: even).
    pub load_max_over_mean: f64,
    /// Cache lookups that hit over all lookups (0 without a cache).
    pub cache_hit_ratio: f64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Reads app servers found in their own local caches, and did not.
    pub local_cache_hits: u64,
    pub local_cache_misses: u64,
    /// Reads served by a replica that had not yet applied the latest write to the key.
    pub stale_reads: u64,
    /// Acknowledged writes a promoted replica never received.
    pub writes_lost: u64,
    pub promotions: u64,
    pub cost_usd_per_hour: f64,
    pub cost_usd_per_million_requests: f64,
    pub autoscale: Vec<AutoscaleJson>,
    pub shard_moves: Vec<ShardMoveJson>,
    /// What one shard's death makes unavailable, per router and shard (omitted without a
    /// shard router).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shard_loss: Vec<ShardLossJson>,
    /// Read replicas and how far behind their primaries they are now (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaJson>,
    /// CDN edges: hit ratio, hits, misses, forwarded, origin load (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cdn: Vec<CdnJson>,
    /// The event stream: kills, revivals, health-check verdicts, failovers, promotions,
    /// flushes, scale-outs and -ins, removals, oldest first.
    pub events: Vec<EventJson>,
    /// The last seconds of the run.
    pub recent: RecentJson,
    pub throughput_rps: f64,
    pub latency_ms: LatencyJson,
    pub nodes: Vec<NodeJson>,
    pub goals: Vec<GoalJson>,
    /// Scripted commands the running system refused.
    pub notes: Vec<String>,
    /// Why the run stopped before its end (a limit of `sim::limits`); absent when it ran to
    /// the end, so a normal run's report keeps its shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Message queues: backlog, consumer lag, rates in and out, drops (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueJson>,
}

/// One message queue's row of the report (`sim::QueueMetrics`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct QueueJson {
    pub node: u32,
    pub name: String,
    pub capacity: u32,
    /// Messages waiting at the end of the run, and the most that waited.
    pub backlog: u32,
    pub max_backlog: u32,
    /// Age of the oldest waiting message at the end: how far the consumers lag.
    pub lag_ms: f64,
    pub enqueued: u64,
    /// Writes refused because the queue was full (`message_queue_full`).
    pub dropped: u64,
    pub pulled: u64,
    pub processed: u64,
    pub failed: u64,
    pub in_per_s: f64,
    pub out_per_s: f64,
    /// Mean time from enqueue to processed, and in the backlog before a consumer pulled it.
    pub processed_mean_ms: f64,
    pub waited_mean_ms: f64,
}

fn queue_json(q: &crate::sim::QueueMetrics) -> QueueJson {
    QueueJson {
        node: q.node.0,
        name: q.name.clone(),
        capacity: q.capacity,
        backlog: q.backlog,
        max_backlog: q.counts.max_backlog,
        lag_ms: q.lag_ms,
        enqueued: q.counts.enqueued,
        dropped: q.counts.dropped,
        pulled: q.counts.pulled,
        processed: q.counts.processed,
        failed: q.counts.failed,
        in_per_s: q.in_per_s,
        out_per_s: q.out_per_s,
        processed_mean_ms: q.processed_mean_ms,
        waited_mean_ms: q.waited_mean_ms,
    }
}

/// The value of a goal's metric in `m`.
pub fn goal_value(metric: GoalMetric, m: &Metrics) -> f64 {
    let l = &m.latency_ms;
    match metric {
        GoalMetric::LatencyMeanMs => l.mean,
        GoalMetric::LatencyP50Ms => l.p50,
        GoalMetric::LatencyP95Ms => l.p95,
        GoalMetric::LatencyP99Ms => l.p99,
        GoalMetric::LatencyMaxMs => l.max,
        GoalMetric::FailureShare => {
            let done = m.requests.completed + m.requests.failed;
            if done == 0 {
                0.0
            } else {
                m.requests.failed as f64 / done as f64
            }
        }
        GoalMetric::ThroughputRps => m.throughput_rps,
    }
}

/// Each goal, met or missed.
pub fn goals(goals: &[Goal], m: &Metrics) -> Vec<GoalJson> {
    goals
        .iter()
        .map(|g| {
            let value = goal_value(g.metric, m);
            let met = g.at_most.is_none_or(|x| value <= x) && g.at_least.is_none_or(|x| value >= x);
            GoalJson {
                metric: g.metric.name(),
                at_most: g.at_most,
                at_least: g.at_least,
                value,
                met,
            }
        })
        .collect()
}

/// The report of one finished run.
pub fn run_json(sim: &Sim, warmup_s: f64) -> RunJson {
    let m = sim.metrics();
    let layout = sim.layout();
    RunJson {
        layout: layout.name.clone(),
        seed: m.seed,
        simulated_seconds: m.simulated_s,
        warmup_seconds: warmup_s,
        measured_seconds: m.measured_s,
        requests: RequestsJson {
            arrived: m.requests.arrived,
            completed: m.requests.completed,
            failed: m.requests.failed,
            in_flight: m.requests.in_flight,
        },
        failures: m.failures.iter().map(|(r, n)| (r.name(), *n)).collect(),
        calls: m.calls,
        retries: m.retries,
        amplification: m.amplification,
        session_misses: m.session_misses,
        sessions_lost: m.sessions_lost,
        cache_keys_lost: m.cache_keys_lost,
        load_max_over_mean: m.load_max_over_mean,
        cache_hit_ratio: m.cache_hit_ratio,
        cache_hits: m.cache_hits,
        cache_misses: m.cache_misses,
        local_cache_hits: m.local_cache_hits,
        local_cache_misses: m.local_cache_misses,
        stale_reads: m.stale_reads,
        writes_lost: m.writes_lost,
        promotions: m.promotions,
        cost_usd_per_hour: m.cost_usd_per_hour,
        cost_usd_per_million_requests: m.cost_usd_per_million_requests,
        autoscale: m
            .autoscale
            .iter()
            .map(|a| AutoscaleJson {
                node: a.node.0,
                name: a.name.clone(),
                count: a.count,
                max_count: a.max_count,
                scale_outs: a.scale_outs,
                scale_ins: a.scale_ins,
                flaps: a.flaps,
            })
            .collect(),
        shard_moves: m
            .shard_moves
            .iter()
            .map(|x| ShardMoveJson {
                router: x.router.clone(),
                at_s: x.at_s,
                shards_before: x.shards_before,
                shards_after: x.shards_after,
                keys_moved_share: x.moved_share,
            })
            .collect(),
        shard_loss: shard_loss(sim, &m),
        replicas: m.replicas.iter().map(replica_json).collect(),
        cdn: cdn::cdn_json(sim),
        events: m.events.iter().map(event_json).collect(),
        recent: {
            let r = sim.recent();
            RecentJson {
                seconds: r.seconds(),
                completed: r.completed,
                failed: r.failed,
                rate_limited: r.rate_limited,
                latency_p99_ms: r.latency_p99_ms,
                cache_hit_ratio: r.cache_hit_ratio(),
            }
        },
        throughput_rps: m.throughput_rps,
        latency_ms: LatencyJson {
            mean: m.latency_ms.mean,
            p50: m.latency_ms.p50,
            p95: m.latency_ms.p95,
            p99: m.latency_ms.p99,
            max: m.latency_ms.max,
        },
        nodes: m.nodes.iter().map(node_json).collect(),
        goals: goals(&layout.goals, &m),
        notes: sim.notes().to_vec(),
        stopped: sim.halted().map(|h| h.to_string()),
        queues: sim.queues().iter().map(queue_json).collect(),
    }
}

/// One node's row of the report.
fn node_json(n: &NodeMetrics) -> NodeJson {
    NodeJson {
        id: n.id.to_string(),
        node: n.id.node.0,
        member: n.id.member,
        name: n.name.clone(),
        kind: n.kind.file_name(),
        alive: n.alive,
        marked_down: n.marked_down,
        calls: n.calls,
        served: n.served,
        failed: n.failed,
        cpu_utilization: n.cpu_utilization,
        worker_utilization: n.worker_utilization,
        mean_queue: n.mean_queue,
        max_queue: n.max_queue,
        offered_load: n.offered_load,
        unstable: n.unstable,
        saturated: n.saturated.map(|r| r.name()),
        all_cores_busy: n.all_cores_busy,
        all_workers_held: n.all_workers_held,
        workers: n.workers,
        cores: n.cores,
        usd_per_hour: n.usd_per_hour,
        cache: n.cache.map(|c| CacheJson {
            hits: c.hits,
            misses: c.misses,
            hit_ratio: c.hit_ratio,
            evictions: c.evictions,
            keys: c.keys,
        }),
        limiter: n.limiter.map(|l| LimiterJson {
            admitted: l.admitted,
            rejected: l.rejected,
            rejected_share: if l.admitted + l.rejected > 0 {
                l.rejected as f64 / (l.admitted + l.rejected) as f64
            } else {
                0.0
            },
            buckets: l.buckets,
            empty_buckets: l.empty_buckets,
            lowest_fill: l.lowest_fill,
        }),
    }
}

/// Each shard's share of the keys (the core's placement) and of the calls it took (measured).
fn shard_loss(sim: &Sim, m: &Metrics) -> Vec<ShardLossJson> {
    let shares = sim.shard_shares();
    let layout = sim.layout();
    let calls_of = |node: layout::NodeId| -> u64 {
        m.nodes
            .iter()
            .filter(|n| n.id.node == node)
            .map(|n| n.calls)
            .sum()
    };
    shares
        .iter()
        .map(|s| {
            let total: u64 = shares
                .iter()
                .filter(|o| o.router == s.router)
                .map(|o| calls_of(o.shard))
                .sum();
            ShardLossJson {
                router: layout.name_of(s.router),
                shard: layout.name_of(s.shard),
                keys_share: s.keys_share,
                requests_share: if total == 0 {
                    0.0
                } else {
                    calls_of(s.shard) as f64 / total as f64
                },
            }
        })
        .collect()
}

fn replica_json(r: &ReplicaLag) -> ReplicaJson {
    ReplicaJson {
        primary: r.primary.clone(),
        replica: r.replica.clone(),
        alive: r.alive,
        writes_behind: r.writes_behind,
        lag_ms: r.lag_ms,
    }
}

fn event_json(e: &Event) -> EventJson {
    EventJson {
        at_s: e.at_ns as f64 / 1e9,
        event: e.kind.name(),
        node: e.node.0,
        member: e.member,
        name: e.name.clone(),
        detail: e.detail.clone(),
    }
}

/// Refuse a run longer than the core's tick limit before starting it (`sim::limits`).
pub fn check_run_length(layout: &Layout, config: &RunConfig) -> Result<(), String> {
    let ticks = layout::s_to_ns(config.warmup_s + config.seconds).div_ceil(layout.tick_ns());
    let max = crate::sim::limits::RUN_TICKS_MAX;
    if ticks > max {
        return Err(format!(
            "a run of {} s with tick_ms = {} is {ticks} ticks; a run is at most {max} ticks \
             (raise tick_ms or run shorter)",
            config.warmup_s + config.seconds,
            layout.tick_ms
        ));
    }
    Ok(())
}

/// A figure over replications: mean and 95 % confidence interval (Student t).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Interval {
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub half_width: f64,
}

/// Mean and 95 % confidence interval of `xs`.
pub fn interval(xs: &[f64]) -> Interval {
    let n = xs.len();
    let mean = if n == 0 {
        0.0
    } else {
        xs.iter().sum::<f64>() / n as f64
    };
    let half_width = if n < 2 {
        0.0
    } else {
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        t95(n - 1) * (var / n as f64).sqrt()
    };
    Interval {
        mean,
        ci95_low: mean - half_width,
        ci95_high: mean + half_width,
        half_width,
    }
}

/// Two-sided 95 % quantile of Student's t with `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// The JSON of `tierlab run --replications R`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReplicationsJson {
    pub layout: String,
    pub replications: usize,
    pub seeds: Vec<u64>,
    pub throughput_rps: Interval,
    pub failure_share: Interval,
    pub latency_ms: BTreeMap<&'static str, Interval>,
    pub runs: Vec<RunJson>,
}

/// The seeds of `r` replications starting from `base`: base, base+1, ...
pub fn replication_seeds(base: u64, r: usize) -> Vec<u64> {
    (0..r as u64).map(|i| base.wrapping_add(i)).collect()
}

/// Run `seeds` in parallel (rayon) and summarise each headline figure with a 95 % interval.
pub fn replications(
    layout: &Layout,
    config: &RunConfig,
    seeds: &[u64],
) -> Result<ReplicationsJson, Vec<Problem>> {
    let runs: Result<Vec<RunJson>, Vec<Problem>> = seeds
        .par_iter()
        .map(|&seed| {
            let c = RunConfig {
                seed: Some(seed),
                ..config.clone()
            };
            run(layout, &c).map(|sim| run_json(&sim, config.warmup_s))
        })
        .collect();
    let runs = runs?;
    let pick = |f: &dyn Fn(&RunJson) -> f64| interval(&runs.iter().map(f).collect::<Vec<_>>());
    let mut latency = BTreeMap::new();
    latency.insert("mean", pick(&|r| r.latency_ms.mean));
    latency.insert("p50", pick(&|r| r.latency_ms.p50));
    latency.insert("p95", pick(&|r| r.latency_ms.p95));
    latency.insert("p99", pick(&|r| r.latency_ms.p99));
    Ok(ReplicationsJson {
        layout: layout.name.clone(),
        replications: runs.len(),
        seeds: seeds.to_vec(),
        throughput_rps: pick(&|r| r.throughput_rps),
        failure_share: pick(&|r| {
            let done = r.requests.completed + r.requests.failed;
            if done == 0 {
                0.0
            } else {
                r.requests.failed as f64 / done as f64
            }
        }),
        latency_ms: latency,
        runs,
    })
}

/// The readable summary of one run.
pub fn summary_text(r: &RunJson) -> String {
    let mut s = String::new();
    let title = if r.layout.is_empty() {
        "layout".to_string()
    } else {
        r.layout.clone()
    };
    s.push_str(&format!(
        "{title}: {:.1} s simulated ({:.1} s measured after {:.1} s warm-up), seed {}\n\n",
        r.simulated_seconds, r.measured_seconds, r.warmup_seconds, r.seed
    ));
    totals_text(&mut s, r);
    nodes_text(&mut s, r);
    goals_text(&mut s, r);
    events_text(&mut s, r);
    for n in &r.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}

/// The run's totals, one line per concern, only the concerns the run has.
fn totals_text(s: &mut String, r: &RunJson) {
    let q = &r.requests;
    s.push_str(&format!(
        "requests   {} arrived, {} completed, {} failed, {} in flight\n",
        q.arrived, q.completed, q.failed, q.in_flight
    ));
    if !r.failures.is_empty() {
        let f: Vec<String> = r.failures.iter().map(|(k, v)| format!("{k} {v}")).collect();
        s.push_str(&format!("failures   {}\n", f.join(", ")));
    }
    s.push_str(&format!("throughput {:.1} requests/s\n", r.throughput_rps));
    for n in &r.nodes {
        if let Some(l) = &n.limiter {
            s.push_str(&format!(
                "limiter    {}: {} admitted, {} rate limited ({:.1} %), {} of {} buckets empty at the end\n",
                n.name,
                l.admitted,
                l.rejected,
                100.0 * l.rejected_share,
                l.empty_buckets,
                l.buckets
            ));
        }
    }
    if r.retries > 0 {
        s.push_str(&format!(
            "retries    {} (amplification {:.2} calls per call)\n",
            r.retries, r.amplification
        ));
    }
    if r.session_misses > 0 || r.sessions_lost > 0 {
        s.push_str(&format!(
            "sessions   {} misses (users logged out), {} lost with their server\n",
            r.session_misses, r.sessions_lost
        ));
    }
    if r.cache_hits + r.cache_misses > 0 {
        s.push_str(&format!(
            "cache      hit ratio {:.3} ({} hits, {} misses)\n",
            r.cache_hit_ratio, r.cache_hits, r.cache_misses
        ));
    }
    cdn::cdn_text(s, &r.cdn);
    if r.cache_keys_lost > 0 {
        s.push_str(&format!(
            "cache      {} keys lost with their cache (or app server)\n",
            r.cache_keys_lost
        ));
    }
    if r.stale_reads > 0 || r.writes_lost > 0 || r.promotions > 0 {
        s.push_str(&format!(
            "replicas   {} stale reads, {} promotions, {} acknowledged writes lost\n",
            r.stale_reads, r.promotions, r.writes_lost
        ));
    }
    if r.cost_usd_per_hour > 0.0 {
        s.push_str(&format!(
            "cost       ${:.4} per hour, ${:.4} per million requests\n",
            r.cost_usd_per_hour, r.cost_usd_per_million_requests
        ));
    }
    for a in &r.autoscale {
        s.push_str(&format!(
            "autoscale  {}: {} now (max {}), {} out, {} in, {} flaps\n",
            a.name, a.count, a.max_count, a.scale_outs, a.scale_ins, a.flaps
        ));
    }
    for m in &r.shard_moves {
        s.push_str(&format!(
            "shards     {} at {:.1} s: {} -> {} shards moved {:.1} % of keys\n",
            m.router,
            m.at_s,
            m.shards_before,
            m.shards_after,
            100.0 * m.keys_moved_share
        ));
    }
    for l in &r.shard_loss {
        s.push_str(&format!(
            "shard loss {} down: {:.1} % of keys, {:.1} % of requests unavailable\n",
            l.shard,
            100.0 * l.keys_share,
            100.0 * l.requests_share
        ));
    }
    if r.load_max_over_mean > 0.0 {
        s.push_str(&format!(
            "spread     busiest app server at {:.2} x the mean\n",
            r.load_max_over_mean
        ));
    }
    let l = &r.latency_ms;
    s.push_str(&format!(
        "latency    mean {:.3} ms, p50 {:.3}, p95 {:.3}, p99 {:.3}, max {:.3}\n\n",
        l.mean, l.p50, l.p95, l.p99, l.max
    ));
}

/// One row per node: what it served and how loaded it was.
fn nodes_text(s: &mut String, r: &RunJson) {
    let w = r
        .nodes
        .iter()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    s.push_str(&format!(
        "{:<w$}  {:<13}  {:>10}  {:>10}  {:>8}  {:>5}  {:>5}  {:>9}  {:>9}\n",
        "node", "kind", "served", "failed", "load", "cpu", "held", "mean q", "max q"
    ));
    for n in &r.nodes {
        s.push_str(&format!(
            "{:<w$}  {:<13}  {:>10}  {:>10}  {:>8}  {:>4.0}%  {:>4.0}%  {:>9.2}  {:>9}{}{}\n",
            n.name,
            n.kind,
            n.served,
            n.failed,
            if n.kind == "client" || n.kind == "load_balancer" || n.kind == "rate_limiter" {
                "-".to_string()
            } else {
                format!("{:.2}", n.offered_load)
            },
            n.cpu_utilization * 100.0,
            n.worker_utilization * 100.0,
            n.mean_queue,
            n.max_queue,
            match (n.alive, n.marked_down) {
                (true, false) => "",
                (true, true) => "  (up, marked down by health checks)",
                (false, false) => "  (down)",
                (false, true) => "  (down, marked down by health checks)",
            },
            match (n.saturated, n.unstable) {
                (Some(r), true) => format!("  UNSTABLE, saturated: {r}"),
                (Some(r), false) => format!("  saturated: {r}"),
                (None, true) => "  UNSTABLE".to_string(),
                (None, false) => String::new(),
            },
        ));
    }
}

fn goals_text(s: &mut String, r: &RunJson) {
    if !r.goals.is_empty() {
        s.push('\n');
        for g in &r.goals {
            let (op, x) = match (g.at_most, g.at_least) {
                (Some(x), _) => ("<=", x),
                (_, Some(x)) => (">=", x),
                _ => ("?", f64::NAN),
            };
            s.push_str(&format!(
                "goal {} {op} {x}: {} ({:.4})\n",
                g.metric,
                if g.met { "met" } else { "MISSED" },
                g.value
            ));
        }
    }
}

/// The first events of the run; the rest are in --json.
fn events_text(s: &mut String, r: &RunJson) {
    if !r.events.is_empty() {
        s.push('\n');
        for e in r.events.iter().take(20) {
            let detail = e
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            s.push_str(&format!(
                "{:>8.3} s  {} {}{detail}\n",
                e.at_s, e.name, e.event
            ));
        }
        if r.events.len() > 20 {
            s.push_str(&format!(
                "          … {} more events in --json\n",
                r.events.len() - 20
            ));
        }
    }
}

/// The readable summary of replications.
pub fn replications_text(r: &ReplicationsJson) -> String {
    let mut s = format!(
        "{}: {} replications, seeds {:?}\n\n",
        r.layout, r.replications, r.seeds
    );
    let row = |name: &str, i: &Interval| {
        format!(
            "{name:<16} {:>12.4}  ± {:<10.4} (95 % CI {:.4} to {:.4})\n",
            i.mean, i.half_width, i.ci95_low, i.ci95_high
        )
    };
    s.push_str(&row("throughput_rps", &r.throughput_rps));
    s.push_str(&row("failure_share", &r.failure_share));
    for (k, v) in &r.latency_ms {
        s.push_str(&row(&format!("latency_{k}_ms"), v));
    }
    s
}

/// For `skip_serializing_if`: a counter that only a layout with the feature moves.
fn is_zero(n: &u64) -> bool {
    *n == 0
}
