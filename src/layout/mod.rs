//! The saved file: what a user owns. Serde types only; no simulation, no GUI, no file system.
//!
//! A [`Layout`] is nodes, the wires between them, the seed, the tick length, goals and scripted
//! commands. `file.rs` turns RON text into a `Layout` and back, `check.rs` lists every problem at
//! once (`input.rs` first: sizes, names, numbers; `index.rs` makes its lookups by id
//! logarithmic), and `params.rs` holds the one table of parameter metadata (units, defaults, ranges, help)
//! that drives `check`, the docs and the window's inspector.

pub mod agree;
mod cdn;
pub mod check;
pub mod command;
pub mod file;
pub mod index;
pub mod input;
pub mod limiter;
pub mod limits;
pub mod mq;
pub mod node;
pub mod params;
pub mod size;

use serde::{Deserialize, Serialize};

pub use check::{Problem, Severity, check};
pub use command::{Command, Scripted, Target};
pub use file::{LoadError, from_ron, to_ron};
pub use limiter::{LimitPer, LimiterParams};
pub use node::CdnParams;
pub use node::{
    AppParams, Arrivals, Autoscale, BalancerParams, CacheParams, ClientParams, DbParams, EntryMode,
    EntryParams, Eviction, KeyDist, KindTag, Layer, LbAlgorithm, LoopMode, NodeKind, OnWrite,
    Partitioning, PathRule, PathShare, Placement, Probe, QueueParams, ReadFrom, RouterParams,
    ScaleMetric, ServiceDist, Sessions, StoreParams,
};
pub use size::Size;

/// The layout format version this build writes. Every format change bumps it, and
/// `file::from_ron` keeps loading every earlier version. Version 2 adds the commands
/// `set_wire`, `set_replication` and `restore_node` (a version-1 file is a version-2 file as it
/// is). Version 3 adds `send_request` (a version-2 file is a version-3 file as it is).
pub const FORMAT_VERSION: u32 = 3;

/// A node's stable id. Allocated from [`Layout::next_id`], never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A position on the canvas, in canvas units (not screen pixels).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pos {
    pub x: f32,
    pub y: f32,
}

/// One node of the layout: a client, a balancer, an app server (or pool), a database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: NodeId,
    pub name: String,
    #[serde(default)]
    pub pos: Pos,
    pub kind: NodeKind,
}

/// A call wire: `from` sends requests to `to` and waits for the reply.
/// The latency is one way and applies to the request and to the reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wire {
    pub from: NodeId,
    pub to: NodeId,
    #[serde(default)]
    pub latency_ms: f64,
    /// A backend's weight for weighted balancing (wires from a balancer only).
    #[serde(default = "one")]
    pub weight: u32,
    /// The caller gives up on a call after this long (0: waits forever).
    #[serde(default)]
    pub timeout_ms: f64,
    /// How often the caller retries a failed or timed-out call on this wire.
    #[serde(default)]
    pub retries: u32,
    /// Wait before the first retry; doubles each retry, with full jitter.
    #[serde(default = "default_backoff")]
    pub backoff_ms: f64,
    /// Retries allowed as a share of calls on this wire (0.1: at most one retry per ten
    /// calls; 0: no budget, every retry allowed).
    #[serde(default)]
    pub retry_budget: f64,
}

fn default_backoff() -> f64 {
    10.0
}

impl Wire {
    /// A plain wire with this latency and no timeout or retries.
    pub fn new(from: NodeId, to: NodeId, latency_ms: f64) -> Wire {
        Wire {
            from,
            to,
            latency_ms,
            weight: 1,
            timeout_ms: 0.0,
            retries: 0,
            backoff_ms: default_backoff(),
            retry_budget: 0.0,
        }
    }
}

fn one() -> u32 {
    1
}

/// A goal the run is judged against, for example "p99 under 50 ms".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub metric: GoalMetric,
    /// The goal is met when the metric is at most this.
    #[serde(default)]
    pub at_most: Option<f64>,
    /// The goal is met when the metric is at least this.
    #[serde(default)]
    pub at_least: Option<f64>,
}

/// The headline figures a goal can be set on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalMetric {
    LatencyMeanMs,
    LatencyP50Ms,
    LatencyP95Ms,
    LatencyP99Ms,
    LatencyMaxMs,
    /// Failed requests over all requests, 0 to 1.
    FailureShare,
    ThroughputRps,
}

impl GoalMetric {
    /// The metric's name as written in the file and the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            GoalMetric::LatencyMeanMs => "latency_mean_ms",
            GoalMetric::LatencyP50Ms => "latency_p50_ms",
            GoalMetric::LatencyP95Ms => "latency_p95_ms",
            GoalMetric::LatencyP99Ms => "latency_p99_ms",
            GoalMetric::LatencyMaxMs => "latency_max_ms",
            GoalMetric::FailureShare => "failure_share",
            GoalMetric::ThroughputRps => "throughput_rps",
        }
    }
}

/// A whole layout: what `tierlab run` simulates and the window edits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Layout {
    /// The format version the file was written in.
    pub version: u32,
    /// A short title shown in the window and reports.
    pub name: String,
    /// What the layout demonstrates, in a sentence or two.
    pub description: String,
    /// The seed of the simulation's random generator.
    pub seed: u64,
    /// The length of one tick of simulated time. Events inside a tick keep their exact times.
    pub tick_ms: f64,
    /// The next free node id; ids below it are never reused.
    pub next_id: u32,
    pub nodes: Vec<Node>,
    pub wires: Vec<Wire>,
    pub goals: Vec<Goal>,
    /// Commands applied at set simulated times: traffic steps, ramps, spikes, faults.
    pub script: Vec<Scripted>,
    /// Read replicas: which database replicates from which (a relation, not a call).
    pub replication: Vec<Replication>,
}

/// How a replica receives the primary's writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationMode {
    /// The primary acknowledges a write at once; the replica applies it after the lag. Fast,
    /// and a failover loses what had not yet reached the promoted replica.
    #[default]
    Async,
    /// The primary acknowledges a write only once the replica has it: slower writes, nothing
    /// lost in a failover.
    Sync,
}

/// How replication lag is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LagDist {
    #[default]
    Constant,
    Exponential,
}

/// `replica` replicates from `primary`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    pub primary: NodeId,
    pub replica: NodeId,
    #[serde(default)]
    pub mode: ReplicationMode,
    /// Mean time from a write at the primary to the replica applying it.
    #[serde(default)]
    pub lag_ms: f64,
    #[serde(default)]
    pub lag: LagDist,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            version: FORMAT_VERSION,
            name: String::new(),
            description: String::new(),
            seed: 1,
            tick_ms: 1.0,
            next_id: 0,
            nodes: Vec::new(),
            wires: Vec::new(),
            goals: Vec::new(),
            script: Vec::new(),
            replication: Vec::new(),
        }
    }
}

impl Layout {
    /// The node with this id, mutably.
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }

    /// The node called `name`, if any.
    pub fn node_named(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// A node's name for messages: its name, or `#id` when it has none or does not exist.
    pub fn name_of(&self, id: NodeId) -> String {
        match self.node(id) {
            Some(n) if !n.name.is_empty() => n.name.clone(),
            _ => format!("#{id}"),
        }
    }

    /// A fresh id, larger than every id in use and than any id handed out before.
    pub fn allocate_id(&mut self) -> NodeId {
        let max_used = self.nodes.iter().map(|n| n.id.0 + 1).max().unwrap_or(0);
        let id = self.next_id.max(max_used);
        self.next_id = id + 1;
        NodeId(id)
    }

    /// The tick length in nanoseconds (at least one nanosecond).
    pub fn tick_ns(&self) -> u64 {
        ms_to_ns(self.tick_ms).max(1)
    }
}

/// Milliseconds (as written in files) to whole nanoseconds (as the core counts), saturating.
pub fn ms_to_ns(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        (ms * 1e6).round().min(u64::MAX as f64) as u64
    } else {
        0
    }
}

/// Seconds to whole nanoseconds, saturating.
pub fn s_to_ns(s: f64) -> u64 {
    ms_to_ns(s * 1e3)
}
