//! The one table of everything a user can set: every number (node parameters, autoscale
//! policies, wire settings, replication links, command arguments, the tick length) with its unit,
//! default, valid range and help, and every option (enum fields) with its labels and help.
//!
//! `check` and command validation take their ranges from here, `tierlab params` prints it (the
//! README's tables are that output), and the window's inspector builds its widgets from it, so
//! none of them can disagree. Ranges are written here and nowhere else; a test walks the tables
//! and fails when a field has no widget, no check or no README row.

use super::command::{Command, Scripted};
use super::limiter::LimitPer;
use super::node::{
    Arrivals, Autoscale, EntryMode, Eviction, KeyDist, KindTag, Layer, LbAlgorithm, LoopMode,
    NodeKind, OnWrite, Partitioning, Placement, Probe, ReadFrom, ScaleMetric, ServiceDist,
    Sessions,
};
use super::size::Size;
use super::{LagDist, Layout, NodeId, Replication, ReplicationMode, Wire};

/// What a field belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A parameter of one node kind.
    Kind(KindTag),
    /// A wire's setting.
    Wire,
    /// A replication link's setting.
    Replication,
    /// The `target` of a fault command (`kill`, `revive`, `flush`, `slow`).
    Target,
    /// An argument of the command with this file name.
    Command(&'static str),
    /// A layout-wide setting.
    Layout,
    /// A scripted command's time.
    Script,
}

impl Owner {
    /// The name in the tables and in messages: `app_server`, `wire`, `slow`.
    pub fn file_name(self) -> &'static str {
        match self {
            Owner::Kind(k) => k.file_name(),
            Owner::Wire => "wire",
            Owner::Replication => "replication",
            Owner::Target => "target",
            Owner::Command(c) => c,
            Owner::Layout => "layout",
            Owner::Script => "script",
        }
    }
}

/// Metadata of one numeric field of a `T` (a node kind, a wire, a link, a command…).
#[derive(Clone, Copy, Debug)]
pub struct Field<T: 'static> {
    pub owner: Owner,
    /// The field name in the file, e.g. `service_ms`; `autoscale.target` for a nested one.
    pub name: &'static str,
    /// Unit for display, e.g. "ms", "1/s", "" for a plain count.
    pub unit: &'static str,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    /// Whole numbers only.
    pub integer: bool,
    pub help: &'static str,
    get: fn(&T) -> Option<f64>,
    set: fn(&mut T, f64),
}

/// A node parameter's metadata.
pub type ParamMeta = Field<NodeKind>;

impl<T> Field<T> {
    /// The field's value on `of`, or `None` when `of` does not have it (another node kind, a
    /// pool without autoscaling, a command without this argument).
    pub fn get(&self, of: &T) -> Option<f64> {
        (self.get)(of)
    }

    /// Set the field on `of` if `value` is valid and `of` has the field; otherwise say why,
    /// naming the range.
    pub fn set(&self, of: &mut T, value: f64) -> Result<(), String> {
        self.validate(value)?;
        if self.get(of).is_none() {
            return Err(format!(
                "`{}` is not a setting of this {} now",
                self.name,
                self.owner.file_name()
            ));
        }
        (self.set)(of, value);
        Ok(())
    }

    /// `Ok` when `value` is inside the range (and whole, for whole-number fields).
    pub fn validate(&self, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err(format!("{} must be a number, not {value}", self.name));
        }
        if value < self.min || value > self.max {
            return Err(format!(
                "{} = {} is out of range: it must be from {} to {}{}",
                self.name,
                fmt_num(value),
                fmt_num(self.min),
                fmt_num(self.max),
                if self.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", self.unit)
                }
            ));
        }
        if self.integer && value.fract() != 0.0 {
            return Err(format!("{} must be a whole number, not {value}", self.name));
        }
        Ok(())
    }

    /// Every field of `of` that is out of range, as messages.
    pub fn problems(fields: &[Field<T>], of: &T) -> Vec<String> {
        fields
            .iter()
            .filter_map(|f| f.get(of).and_then(|v| f.validate(v).err()))
            .collect()
    }
}

impl Field<NodeKind> {
    /// The node kind a parameter belongs to.
    pub fn kind(&self) -> Option<KindTag> {
        match self.owner {
            Owner::Kind(k) => Some(k),
            _ => None,
        }
    }
}

/// One option of an enum field: its name in the file and for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opt {
    pub file_name: &'static str,
    pub label: &'static str,
}

/// Metadata of one enum field (a choice between named options) of a `T`.
#[derive(Clone, Copy, Debug)]
pub struct Choice<T: 'static> {
    pub owner: Owner,
    pub name: &'static str,
    pub help: &'static str,
    options: fn() -> Vec<Opt>,
    get: fn(&T) -> Option<usize>,
    set: fn(&mut T, usize) -> bool,
}

impl<T> Choice<T> {
    /// The options, in the order the inspector offers them.
    pub fn options(&self) -> Vec<Opt> {
        (self.options)()
    }

    /// The index of the option `of` holds, or `None` when `of` does not have the field.
    pub fn get(&self, of: &T) -> Option<usize> {
        (self.get)(of)
    }

    /// Choose option `index`; false when `of` does not have the field or there is no such
    /// option.
    pub fn set(&self, of: &mut T, index: usize) -> bool {
        self.get(of).is_some() && (self.set)(of, index)
    }
}

/// A number without a trailing `.0`.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The one message for an id that names no node.
pub fn no_node(id: NodeId) -> String {
    format!("there is no node with id {id}")
}

/// Requests per second a client may send at most (its `qps`, and `set_qps`/`ramp_qps`).
const QPS_MAX: f64 = 10_000_000.0;
/// Members a pool may have at most (its `count`, a target's `member`, autoscale bounds).
const POOL_MAX: f64 = 256.0;
/// Users a closed-loop client may have at most (each is simulated on its own).
pub const CLOSED_USERS_MAX: u32 = 100_000;

macro_rules! param {
    ($kind:ident, $variant:ident, $field:ident, $ty:ty, $unit:expr, $default:expr, $min:expr, $max:expr, $int:expr, $help:expr) => {
        ParamMeta {
            owner: Owner::Kind(KindTag::$kind),
            name: stringify!($field),
            unit: $unit,
            default: $default,
            min: $min,
            max: $max,
            integer: $int,
            help: $help,
            get: |k| match k {
                NodeKind::$variant(p) => Some(p.$field as f64),
                _ => None,
            },
            set: |k, v| {
                if let NodeKind::$variant(p) = k {
                    p.$field = v as $ty;
                }
            },
        }
    };
}

/// A field of an app-server pool's autoscale policy: absent while autoscaling is off.
macro_rules! autoscale {
    ($field:ident, $ty:ty, $unit:expr, $min:expr, $max:expr, $int:expr, $help:expr) => {
        ParamMeta {
            owner: Owner::Kind(KindTag::AppServer),
            name: concat!("autoscale.", stringify!($field)),
            unit: $unit,
            default: AUTOSCALE_DEFAULT.$field as f64,
            min: $min,
            max: $max,
            integer: $int,
            help: $help,
            get: |k| match k {
                NodeKind::AppServer(p) => p.autoscale.as_ref().map(|a| a.$field as f64),
                _ => None,
            },
            set: |k, v| {
                if let NodeKind::AppServer(p) = k
                    && let Some(a) = &mut p.autoscale
                {
                    a.$field = v as $ty;
                }
            },
        }
    };
}

/// The policy a pool gets when autoscaling is switched on.
pub const AUTOSCALE_DEFAULT: Autoscale = Autoscale::DEFAULT;

/// Every numeric parameter of every kind, in inspector order.
#[rustfmt::skip]
pub static PARAMS: &[ParamMeta] = &[
    param!(Client, Client, qps, f64, "1/s", 100.0, 0.0, QPS_MAX, false,
        "Open loop: requests per second arriving from this client"),
    param!(Client, Client, users, u32, "", 1000.0, 1.0, 10_000_000.0, true,
        "Closed loop: concurrent users. Open loop: the population requests are drawn from"),
    param!(Client, Client, think_ms, f64, "ms", 1000.0, 0.0, 3_600_000.0, false,
        "Closed loop: mean think time between a reply and the next request"),
    param!(Client, Client, read_share, f64, "", 0.9, 0.0, 1.0, false,
        "Share of requests that are reads; the rest are writes"),
    param!(Client, Client, keys, u32, "", 10_000.0, 1.0, 100_000_000.0, true,
        "Number of distinct keys requests are spread over"),
    param!(Client, Client, key_zipf_alpha, f64, "", 1.0, 0.0, 5.0, false,
        "Zipf exponent of key popularity (used when key_dist is zipf)"),
    param!(Client, Client, user_zipf_alpha, f64, "", 0.0, 0.0, 5.0, false,
        "Zipf exponent of user activity: 0 makes every user equally busy"),
    param!(Client, Client, cacheable_share, f64, "", 0.0, 0.0, 1.0, false,
        "Share of reads a CDN edge may cache; the rest and every write pass through to the origin"),
    param!(Entry, Entry, heartbeat_ms, f64, "ms", 1000.0, 10.0, 600_000.0, false,
        "Floating IP: heartbeat interval between the pair"),
    param!(Entry, Entry, missed_beats, u32, "", 3.0, 1.0, 100.0, true,
        "Floating IP: missed heartbeats before the standby takes over"),
    param!(Entry, Entry, dns_ttl_s, f64, "s", 60.0, 0.0, 86_400.0, false,
        "DNS: how long clients cache an answer"),
    param!(Entry, Entry, check_interval_ms, f64, "ms", 10_000.0, 10.0, 600_000.0, false,
        "Health-checked DNS: time between checks of each balancer"),
    param!(Entry, Entry, check_threshold, u32, "", 3.0, 1.0, 100.0, true,
        "Health-checked DNS: failed checks before a balancer is dropped"),
    param!(LoadBalancer, LoadBalancer, latency_ms, f64, "ms", 0.1, 0.0, 10_000.0, false,
        "Time the balancer adds to each request"),
    param!(LoadBalancer, LoadBalancer, l7_latency_ms, f64, "ms", 0.0, 0.0, 10_000.0, false,
        "L7 only: extra time per request for TLS termination and parsing"),
    param!(LoadBalancer, LoadBalancer, virtual_nodes, u32, "", 100.0, 1.0, 10_000.0, true,
        "Points per backend on the consistent-hash ring"),
    param!(LoadBalancer, LoadBalancer, health_interval_ms, f64, "ms", 1000.0, 10.0, 600_000.0, false,
        "Time between two health probes of each backend"),
    param!(LoadBalancer, LoadBalancer, health_timeout_ms, f64, "ms", 500.0, 0.0, 600_000.0, false,
        "A probe without an answer fails after this long"),
    param!(LoadBalancer, LoadBalancer, unhealthy_threshold, u32, "", 3.0, 1.0, 100.0, true,
        "Failed probes in a row before a backend is marked down"),
    param!(LoadBalancer, LoadBalancer, healthy_threshold, u32, "", 2.0, 1.0, 100.0, true,
        "Passed probes in a row before a marked-down backend is used again"),
    param!(LoadBalancer, LoadBalancer, connection_requests, u32, "", 0.0, 0.0, 1_000_000.0, true,
        "L4: requests per keep-alive connection before the client reconnects (0: no limit)"),
    param!(LoadBalancer, LoadBalancer, connection_lifetime_ms, f64, "ms", 0.0, 0.0, 86_400_000.0, false,
        "L4: lifetime of a keep-alive connection (0: no limit)"),
    param!(AppServer, AppServer, count, u32, "", 1.0, 1.0, POOL_MAX, true,
        "Servers in the pool; the balancer spreads over them"),
    param!(AppServer, AppServer, workers, u32, "", 8.0, 1.0, 10_000.0, true,
        "Requests each server works on at once; a worker is held while waiting on calls"),
    param!(AppServer, AppServer, queue_capacity, u32, "", 1000.0, 0.0, 10_000_000.0, true,
        "Requests that may wait for a worker; more fail with queue_full"),
    param!(AppServer, AppServer, service_ms, f64, "ms", 5.0, 0.0, 3_600_000.0, false,
        "Mean CPU time per request"),
    param!(AppServer, AppServer, service_cv, f64, "", 1.0, 0.0, 100.0, false,
        "Coefficient of variation of log-normal service times"),
    param!(AppServer, AppServer, local_cache_entries, u32, "", 0.0, 0.0, 10_000_000.0, true,
        "Reads each server caches in its own memory (LRU; 0: none); a new server starts cold"),
    autoscale!(target, f64, "", 0.001, 1_000_000.0, false,
        "Autoscaling: the value to hold the metric at, e.g. 0.6 utilization"),
    autoscale!(min, u32, "", 1.0, POOL_MAX, true,
        "Autoscaling: fewest servers (at most max)"),
    autoscale!(max, u32, "", 1.0, POOL_MAX, true,
        "Autoscaling: most servers (at least min)"),
    autoscale!(interval_s, f64, "s", 0.1, 3600.0, false,
        "Autoscaling: how often the autoscaler looks"),
    autoscale!(cooldown_s, f64, "s", 0.0, 86_400.0, false,
        "Autoscaling: after a change, no scale-in for this long (scale-out is never held back)"),
    autoscale!(boot_s, f64, "s", 0.0, 3600.0, false,
        "Autoscaling: a new server boots for this long before it serves"),
    param!(SessionStore, SessionStore, workers, u32, "", 8.0, 1.0, 10_000.0, true,
        "Lookups served at once"),
    param!(SessionStore, SessionStore, queue_capacity, u32, "", 10_000.0, 0.0, 10_000_000.0, true,
        "Lookups that may wait; more fail with queue_full"),
    param!(SessionStore, SessionStore, service_ms, f64, "ms", 0.2, 0.0, 3_600_000.0, false,
        "Mean time of one session lookup"),
    param!(SessionStore, SessionStore, capacity_sessions, u32, "", 1_000_000.0, 1.0, 100_000_000.0, true,
        "Sessions held before the least recently used is evicted"),
    param!(Cache, Cache, count, u32, "", 1.0, 1.0, 64.0, true,
        "Members of the cache cluster; keys are placed on them by the placement"),
    param!(Cache, Cache, capacity_entries, u32, "", 10_000.0, 1.0, 100_000_000.0, true,
        "Entries each member holds before evicting"),
    param!(Cache, Cache, ttl_s, f64, "s", 0.0, 0.0, 86_400.0, false,
        "Entries expire this long after they are written (0: never)"),
    param!(Cache, Cache, hit_ms, f64, "ms", 0.2, 0.0, 10_000.0, false,
        "Mean time of one lookup, hit or miss"),
    param!(Cache, Cache, workers, u32, "", 16.0, 1.0, 10_000.0, true,
        "Lookups served at once per member"),
    param!(Cache, Cache, queue_capacity, u32, "", 10_000.0, 0.0, 10_000_000.0, true,
        "Lookups that may wait; more fail with queue_full"),
    param!(Cache, Cache, virtual_nodes, u32, "", 100.0, 1.0, 10_000.0, true,
        "Ring points per member for consistent-hash placement"),
    param!(ShardRouter, ShardRouter, latency_ms, f64, "ms", 0.05, 0.0, 10_000.0, false,
        "Time the router adds to each request"),
    param!(ShardRouter, ShardRouter, virtual_nodes, u32, "", 100.0, 1.0, 10_000.0, true,
        "Ring points per shard for hash partitioning"),
    param!(Database, Database, workers, u32, "", 16.0, 1.0, 10_000.0, true,
        "Queries served at once"),
    param!(Database, Database, queue_capacity, u32, "", 1000.0, 0.0, 10_000_000.0, true,
        "Queries that may wait for a worker; more fail with queue_full"),
    param!(Database, Database, read_ms, f64, "ms", 2.0, 0.0, 3_600_000.0, false,
        "Mean time to serve a read"),
    param!(Database, Database, write_ms, f64, "ms", 5.0, 0.0, 3_600_000.0, false,
        "Mean time to serve a write"),
    param!(Database, Database, service_cv, f64, "", 1.0, 0.0, 100.0, false,
        "Coefficient of variation of log-normal service times"),
    param!(Database, Database, promotion_delay_ms, f64, "ms", 30_000.0, 0.0, 3_600_000.0, false,
        "After the primary dies, how long until a replica is promoted in its place"),
    param!(Cdn, Cdn, capacity, u32, "", 10_000.0, 1.0, 100_000_000.0, true,
        "Objects the edge holds before evicting"),
    param!(Cdn, Cdn, ttl_s, f64, "s", 300.0, 0.0, 86_400.0, false,
        "Objects expire this long after they are filled (0: never)"),
    param!(Cdn, Cdn, latency_ms, f64, "ms", 1.0, 0.0, 10_000.0, false,
        "Time the edge takes to answer a hit or pass a request on"),
    param!(Queue, Queue, capacity, u32, "", 10_000.0, 1.0, QUEUE_CAPACITY_MAX, true,
        "Messages the queue holds; a write to a full queue fails with message_queue_full"),
    param!(Queue, Queue, ack_ms, f64, "ms", 0.1, 0.0, 10_000.0, false,
        "Time to append a message and acknowledge the write (the writer waits only this)"),
    param!(Queue, Queue, delivery_latency_ms, f64, "ms", 1.0, 0.0, 600_000.0, false,
        "Time from a consumer's free worker pulling a message to the message reaching it"),
    param!(RateLimiter, RateLimiter, rate_per_s, f64, "1/s", 10.0, 0.001, 1_000_000.0, false,
        "Tokens each bucket gains per second: the long-run rate a bucket lets through"),
    param!(RateLimiter, RateLimiter, burst, u32, "", 20.0, 1.0, 1_000_000.0, true,
        "Tokens a bucket holds at most: how many requests may pass at once after a quiet spell"),
    param!(RateLimiter, RateLimiter, latency_ms, f64, "ms", 0.05, 0.0, 10_000.0, false,
        "Time the limiter adds to each request it lets through"),
];

/// Messages a queue may hold at most (its `capacity`); `check` prices them in memory.
const QUEUE_CAPACITY_MAX: f64 = 10_000_000.0;

/// The parameters of one kind, in inspector order.
pub fn params_of(kind: KindTag) -> impl Iterator<Item = &'static ParamMeta> {
    PARAMS.iter().filter(move |p| p.kind() == Some(kind))
}

/// The parameter `name` of `kind`, if it exists.
pub fn find(kind: KindTag, name: &str) -> Option<&'static ParamMeta> {
    params_of(kind).find(|p| p.name == name)
}

macro_rules! field {
    ($owner:expr, $ty:ty, $name:literal, $unit:expr, $default:expr, $min:expr, $max:expr, $int:expr, $help:expr,
     get: $get:expr, set: $set:expr) => {
        Field::<$ty> {
            owner: $owner,
            name: $name,
            unit: $unit,
            default: $default,
            min: $min,
            max: $max,
            integer: $int,
            help: $help,
            get: $get,
            set: $set,
        }
    };
}

/// A wire's settings, in inspector order.
#[rustfmt::skip]
pub static WIRE: &[Field<Wire>] = &[
    field!(Owner::Wire, Wire, "latency_ms", "ms", 0.0, 0.0, 60_000.0, false,
        "One-way latency, added to the request and to the reply",
        get: |w| Some(w.latency_ms), set: |w, v| w.latency_ms = v),
    field!(Owner::Wire, Wire, "weight", "", 1.0, 1.0, 1000.0, true,
        "The backend's weight for weighted balancing (wires from a balancer)",
        get: |w| Some(f64::from(w.weight)), set: |w, v| w.weight = v as u32),
    field!(Owner::Wire, Wire, "timeout_ms", "ms", 0.0, 0.0, 600_000.0, false,
        "The caller gives up on a call after this long (0: waits forever)",
        get: |w| Some(w.timeout_ms), set: |w, v| w.timeout_ms = v),
    field!(Owner::Wire, Wire, "retries", "", 0.0, 0.0, 10.0, true,
        "How often the caller retries a failed or timed-out call",
        get: |w| Some(f64::from(w.retries)), set: |w, v| w.retries = v as u32),
    field!(Owner::Wire, Wire, "backoff_ms", "ms", 10.0, 0.0, 600_000.0, false,
        "Wait before the first retry; doubles each retry, with full jitter",
        get: |w| Some(w.backoff_ms), set: |w, v| w.backoff_ms = v),
    field!(Owner::Wire, Wire, "retry_budget", "", 0.0, 0.0, 1.0, false,
        "Retries allowed as a share of calls (0.1: one retry per ten calls; 0: no budget)",
        get: |w| Some(w.retry_budget), set: |w, v| w.retry_budget = v),
];

/// A replication link's numbers.
#[rustfmt::skip]
pub static LINK: &[Field<Replication>] = &[
    field!(Owner::Replication, Replication, "lag_ms", "ms", 0.0, 0.0, 600_000.0, false,
        "Mean time from a write at the primary to the replica applying it",
        get: |r| Some(r.lag_ms), set: |r, v| r.lag_ms = v),
];

/// Layout-wide numbers.
#[rustfmt::skip]
pub static LAYOUT: &[Field<Layout>] = &[
    field!(Owner::Layout, Layout, "tick_ms", "ms", 1.0, 0.001, 1000.0, false,
        "Length of one tick of simulated time; events inside a tick keep their exact times",
        get: |l| Some(l.tick_ms), set: |l, v| l.tick_ms = v),
];

/// A scripted command's time.
#[rustfmt::skip]
pub static SCRIPT: &[Field<Scripted>] = &[
    field!(Owner::Script, Scripted, "at_s", "s", 0.0, 0.0, 31_536_000.0, false,
        "Simulated seconds from the start; applied at exactly that time, inside its tick",
        get: |s| Some(s.at_s), set: |s, v| s.at_s = v),
];

/// The numeric arguments of commands (a `set_param`'s value is checked by its parameter).
#[rustfmt::skip]
pub static ARGS: &[Field<Command>] = &[
    field!(Owner::Target, Command, "member", "", 0.0, 0.0, POOL_MAX - 1.0, true,
        "The pool or cluster member a fault is aimed at (0-based; absent: every member)",
        get: |c| c.target().and_then(|t| t.member).map(f64::from),
        set: |c, v| if let Some(t) = c.target_mut() { t.member = Some(v as u32) }),
    field!(Owner::Command("slow"), Command, "factor", "", 5.0, 0.01, 1000.0, false,
        "Multiplies the node's service times (1 restores normal speed)",
        get: |c| match c { Command::Slow { factor, .. } => Some(*factor), _ => None },
        set: |c, v| if let Command::Slow { factor, .. } = c { *factor = v }),
    field!(Owner::Command("set_qps"), Command, "qps", "1/s", 100.0, 0.0, QPS_MAX, false,
        "The client's new open-loop rate, at once",
        get: |c| match c { Command::SetQps { qps, .. } => Some(*qps), _ => None },
        set: |c, v| if let Command::SetQps { qps, .. } = c { *qps = v }),
    field!(Owner::Command("ramp_qps"), Command, "qps", "1/s", 100.0, 0.0, QPS_MAX, false,
        "The rate the ramp ends at",
        get: |c| match c { Command::RampQps { qps, .. } => Some(*qps), _ => None },
        set: |c, v| if let Command::RampQps { qps, .. } = c { *qps = v }),
    field!(Owner::Command("ramp_qps"), Command, "over_s", "s", 60.0, 0.0, 604_800.0, false,
        "How long the ramp takes, linearly",
        get: |c| match c { Command::RampQps { over_s, .. } => Some(*over_s), _ => None },
        set: |c, v| if let Command::RampQps { over_s, .. } = c { *over_s = v }),
    field!(Owner::Command("send_request"), Command, "key", "", 7.0, 1.0, 100_000_000.0, true,
        "The content key the request asks for (1 to the client's keys)",
        get: |c| match c { Command::SendRequest { key, .. } => Some(f64::from(*key)), _ => None },
        set: |c, v| if let Command::SendRequest { key, .. } = c { *key = v as u32 }),
    field!(Owner::Command("send_request"), Command, "user", "", 0.0, 0.0, 9_999_999.0, true,
        "The user sending it (below the client's users)",
        get: |c| match c { Command::SendRequest { user, .. } => Some(f64::from(*user)), _ => None },
        set: |c, v| if let Command::SendRequest { user, .. } = c { *user = v as u32 }),
];

macro_rules! choice {
    ($kind:ident, $field:ident, $ty:ident, $help:expr, [$($v:ident = $file:literal : $label:literal),+ $(,)?]) => {
        Choice::<NodeKind> {
            owner: Owner::Kind(KindTag::$kind),
            name: stringify!($field),
            help: $help,
            options: || vec![$(Opt { file_name: $file, label: $label }),+],
            get: |k| match k {
                NodeKind::$kind(p) => [$($ty::$v),+].iter().position(|v| *v == p.$field),
                _ => None,
            },
            set: |k, i| match (k, [$($ty::$v),+].get(i)) {
                (NodeKind::$kind(p), Some(v)) => {
                    p.$field = *v;
                    true
                }
                _ => false,
            },
        }
    };
}

macro_rules! size_choice {
    ($kind:ident) => {
        Choice::<NodeKind> {
            owner: Owner::Kind(KindTag::$kind),
            name: "size",
            help: "The instance type: its vCPUs are cores that requests queue for (see the ladder); none: the workers are the cores, at full speed",
            options: || {
                std::iter::once(Opt {
                    file_name: "None",
                    label: "none (workers are cores)",
                })
                .chain(Size::ALL.iter().map(|s| Opt {
                    file_name: s.file_name(),
                    label: s.name(),
                }))
                .collect()
            },
            get: |k| match k {
                NodeKind::$kind(p) => match p.size {
                    None => Some(0),
                    Some(size) => Size::ALL.iter().position(|s| *s == size).map(|i| i + 1),
                },
                _ => None,
            },
            set: |k, i| match k {
                NodeKind::$kind(p) if i == 0 => {
                    p.size = None;
                    true
                }
                NodeKind::$kind(p) => match Size::ALL.get(i - 1) {
                    Some(s) => {
                        p.size = Some(*s);
                        true
                    }
                    None => false,
                },
                _ => false,
            },
        }
    };
}

/// Every enum field of every node kind, with its options, in inspector order.
#[rustfmt::skip]
pub static CHOICES: &[Choice<NodeKind>] = &[
    choice!(Client, mode, LoopMode, "Open loop sends at a rate whatever happens; closed loop has users who wait for replies",
        [Open = "open": "open loop (a rate)", Closed = "closed": "closed loop (users)"]),
    choice!(Client, arrivals, Arrivals, "How open-loop arrivals are spaced",
        [Poisson = "poisson": "Poisson", Constant = "constant": "constant gaps"]),
    choice!(Client, key_dist, KeyDist, "How request keys are drawn",
        [Uniform = "uniform": "uniform", Zipf = "zipf": "Zipf (hot keys)"]),
    choice!(Entry, mode, EntryMode, "How clients find a balancer",
        [FloatingIp = "floating_ip": "floating IP (active-passive)",
         DnsRoundRobin = "dns_round_robin": "round-robin DNS",
         DnsHealthChecked = "dns_health_checked": "health-checked DNS"]),
    Choice::<NodeKind> {
        owner: Owner::Kind(KindTag::LoadBalancer),
        name: "algorithm",
        help: "How the balancer picks a backend",
        options: || LbAlgorithm::ALL.iter().map(|a| Opt { file_name: a.file_name(), label: a.label() }).collect(),
        get: |k| match k {
            NodeKind::LoadBalancer(p) => LbAlgorithm::ALL.iter().position(|a| *a == p.algorithm),
            _ => None,
        },
        set: |k, i| match (k, LbAlgorithm::ALL.get(i)) {
            (NodeKind::LoadBalancer(p), Some(a)) => { p.algorithm = *a; true }
            _ => false,
        },
    },
    choice!(LoadBalancer, layer, Layer, "L4 balances connections; L7 sees each request (paths, cookies, keys)",
        [L4 = "l4": "L4 (connections)", L7 = "l7": "L7 (requests)"]),
    Choice::<NodeKind> {
        owner: Owner::Kind(KindTag::LoadBalancer),
        name: "health_checks",
        help: "Probe each backend and stop sending to one that fails",
        options: || vec![Opt { file_name: "false", label: "off" }, Opt { file_name: "true", label: "on" }],
        get: |k| match k { NodeKind::LoadBalancer(p) => Some(usize::from(p.health_checks)), _ => None },
        set: |k, i| match k {
            NodeKind::LoadBalancer(p) if i < 2 => { p.health_checks = i == 1; true }
            _ => false,
        },
    },
    choice!(LoadBalancer, probe, Probe, "Shallow: is the backend up; deep: a request that waits in its queue, so a saturated backend fails it",
        [Shallow = "shallow": "shallow (up or down)", Deep = "deep": "deep (through the queue)"]),
    choice!(AppServer, service, ServiceDist, "How service times are drawn around service_ms",
        [Constant = "constant": "constant", Exponential = "exponential": "exponential", LogNormal = "log_normal": "log-normal"]),
    choice!(AppServer, sessions, Sessions, "Where a user's session lives",
        [None = "none": "none (stateless)", Local = "local": "in server memory", Store = "store": "in the session store"]),
    size_choice!(AppServer),
    Choice::<NodeKind> {
        owner: Owner::Kind(KindTag::AppServer),
        name: "autoscale",
        help: "Target tracking: add or remove servers to hold a metric at a target",
        options: || vec![Opt { file_name: "none", label: "off" }, Opt { file_name: "(…)", label: "on" }],
        get: |k| match k { NodeKind::AppServer(p) => Some(usize::from(p.autoscale.is_some())), _ => None },
        set: |k, i| match k {
            NodeKind::AppServer(p) if i < 2 => {
                if i == 0 {
                    p.autoscale = None;
                } else if p.autoscale.is_none() {
                    p.autoscale = Some(AUTOSCALE_DEFAULT);
                }
                true
            }
            _ => false,
        },
    },
    Choice::<NodeKind> {
        owner: Owner::Kind(KindTag::AppServer),
        name: "autoscale.metric",
        help: "Autoscaling: the metric held at the target",
        options: || vec![
            Opt { file_name: "cpu_utilization", label: "CPU utilization" },
            Opt { file_name: "queue_length", label: "queue length per member" },
        ],
        get: |k| match k {
            NodeKind::AppServer(p) => p.autoscale.as_ref().map(|a| match a.metric {
                ScaleMetric::CpuUtilization => 0,
                ScaleMetric::QueueLength => 1,
            }),
            _ => None,
        },
        set: |k, i| match (k, [ScaleMetric::CpuUtilization, ScaleMetric::QueueLength].get(i)) {
            (NodeKind::AppServer(p), Some(m)) => match &mut p.autoscale {
                Some(a) => { a.metric = *m; true }
                None => false,
            },
            _ => false,
        },
    },
    size_choice!(SessionStore),
    choice!(Cache, eviction, Eviction, "Which entry a full cache drops",
        [Lru = "lru": "LRU", Lfu = "lfu": "LFU"]),
    choice!(Cache, placement, Placement, "How keys are placed on the members",
        [ConsistentHash = "consistent_hash": "consistent hashing", Modulo = "modulo": "modulo"]),
    choice!(Cache, on_write, OnWrite, "What a write does to the cached entry",
        [Invalidate = "invalidate": "invalidate", Update = "update": "update"]),
    size_choice!(Cache),
    choice!(ShardRouter, partitioning, Partitioning, "How keys are split over the shards",
        [Hash = "hash": "hash (ring)", HashModulo = "hash_modulo": "hash modulo", Range = "range": "key range"]),
    choice!(Database, service, ServiceDist, "How service times are drawn around read_ms and write_ms",
        [Constant = "constant": "constant", Exponential = "exponential": "exponential", LogNormal = "log_normal": "log-normal"]),
    choice!(Database, reads, ReadFrom, "Where reads go when the database has replicas",
        [Primary = "primary": "primary only", Replicas = "replicas": "replicas", PrimaryAndReplicas = "primary_and_replicas": "primary and replicas"]),
    size_choice!(Database),
    choice!(Cdn, eviction, Eviction, "Which object a full edge drops",
        [Lru = "lru": "LRU", Lfu = "lfu": "LFU"]),
    choice!(RateLimiter, per, LimitPer, "Whose requests share a bucket: each client's, each user's, or everyone's",
        [Client = "client": "per client", User = "user": "per user", Global = "global": "one for all"]),
];

/// The enum fields of one kind, in inspector order.
pub fn choices_of(kind: KindTag) -> impl Iterator<Item = &'static Choice<NodeKind>> {
    CHOICES.iter().filter(move |c| c.owner == Owner::Kind(kind))
}

/// A replication link's enum fields.
#[rustfmt::skip]
pub static LINK_CHOICES: &[Choice<Replication>] = &[
    Choice::<Replication> {
        owner: Owner::Replication,
        name: "mode",
        help: "Async: the primary acknowledges at once. Sync: only once the replica has the write",
        options: || vec![
            Opt { file_name: "async", label: "asynchronous" },
            Opt { file_name: "sync", label: "synchronous" },
        ],
        get: |r| Some(match r.mode { ReplicationMode::Async => 0, ReplicationMode::Sync => 1 }),
        set: |r, i| match [ReplicationMode::Async, ReplicationMode::Sync].get(i) {
            Some(m) => { r.mode = *m; true }
            None => false,
        },
    },
    Choice::<Replication> {
        owner: Owner::Replication,
        name: "lag",
        help: "How the replication lag is drawn around lag_ms",
        options: || vec![
            Opt { file_name: "constant", label: "constant" },
            Opt { file_name: "exponential", label: "exponential" },
        ],
        get: |r| Some(match r.lag { LagDist::Constant => 0, LagDist::Exponential => 1 }),
        set: |r, i| match [LagDist::Constant, LagDist::Exponential].get(i) {
            Some(l) => { r.lag = *l; true }
            None => false,
        },
    },
];

/// One numeric field of any table, without its accessors: what the README's table lists.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NumberRow {
    pub owner: Owner,
    pub name: &'static str,
    pub unit: &'static str,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    pub help: &'static str,
}

/// One enum field of any table, with its options.
#[derive(Clone, Debug, PartialEq)]
pub struct ChoiceRow {
    pub owner: Owner,
    pub name: &'static str,
    pub options: Vec<Opt>,
    pub help: &'static str,
}

/// Every numeric field of every table.
pub fn all_numbers() -> Vec<NumberRow> {
    fn rows<T>(fields: &[Field<T>]) -> impl Iterator<Item = NumberRow> + '_ {
        fields.iter().map(|f| NumberRow {
            owner: f.owner,
            name: f.name,
            unit: f.unit,
            default: f.default,
            min: f.min,
            max: f.max,
            help: f.help,
        })
    }
    rows(PARAMS)
        .chain(rows(WIRE))
        .chain(rows(LINK))
        .chain(rows(LAYOUT))
        .chain(rows(SCRIPT))
        .chain(rows(ARGS))
        .collect()
}

/// Every enum field of every table.
pub fn all_choices() -> Vec<ChoiceRow> {
    fn rows<T>(choices: &[Choice<T>]) -> impl Iterator<Item = ChoiceRow> + '_ {
        choices.iter().map(|c| ChoiceRow {
            owner: c.owner,
            name: c.name,
            options: c.options(),
            help: c.help,
        })
    }
    rows(CHOICES).chain(rows(LINK_CHOICES)).collect()
}

/// The tables as Markdown, for README.md (`tierlab params`).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| of | field | unit | default | range | meaning |\n|---|---|---|---|---|---|\n",
    );
    for r in all_numbers() {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} to {} | {} |\n",
            r.owner.file_name(),
            r.name,
            r.unit,
            fmt_num(r.default),
            fmt_num(r.min),
            fmt_num(r.max),
            r.help
        ));
    }
    out.push_str("\n| of | option | values | meaning |\n|---|---|---|---|\n");
    for r in all_choices() {
        let values: Vec<String> = r
            .options
            .iter()
            .map(|o| format!("`{}` ({})", o.file_name, o.label))
            .collect();
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            r.owner.file_name(),
            r.name,
            values.join(", "),
            r.help
        ));
    }
    out
}

/// What a learner reads for each field and option of the table (the inspector's labels); the
/// field's name in the file goes in the hover help. Sorted by name.
static LABELS: &[(&str, &str)] = &[
    ("ack_ms", "Acknowledgement time"),
    ("algorithm", "Algorithm"),
    ("arrivals", "Arrivals"),
    ("at_s", "At"),
    ("autoscale", "Autoscaling"),
    ("autoscale.boot_s", "Boot time"),
    ("autoscale.cooldown_s", "Cooldown"),
    ("autoscale.interval_s", "Scaling interval"),
    ("autoscale.max", "Most servers"),
    ("autoscale.metric", "Scale on"),
    ("autoscale.min", "Fewest servers"),
    ("autoscale.target", "Target"),
    ("backoff_ms", "Retry backoff"),
    ("burst", "Burst"),
    ("cacheable_share", "Cacheable reads"),
    ("capacity", "Capacity"),
    ("capacity_entries", "Capacity"),
    ("capacity_sessions", "Session capacity"),
    ("check_interval_ms", "Check interval"),
    ("check_threshold", "Failed checks to drop"),
    ("connection_lifetime_ms", "Connection lifetime"),
    ("connection_requests", "Requests per connection"),
    ("count", "Servers"),
    ("delivery_latency_ms", "Delivery latency"),
    ("dns_ttl_s", "DNS TTL"),
    ("eviction", "Eviction"),
    ("factor", "Slow-down factor"),
    ("health_checks", "Health checks"),
    ("health_interval_ms", "Health check interval"),
    ("health_timeout_ms", "Health check timeout"),
    ("healthy_threshold", "Passes to mark up"),
    ("heartbeat_ms", "Heartbeat interval"),
    ("hit_ms", "Hit time"),
    ("key", "Key"),
    ("key_dist", "Key popularity"),
    ("key_zipf_alpha", "Key skew (Zipf)"),
    ("keys", "Keys"),
    ("l7_latency_ms", "L7 extra latency"),
    ("lag", "Lag distribution"),
    ("lag_ms", "Replication lag"),
    ("latency_ms", "Latency"),
    ("layer", "Layer"),
    ("local_cache_entries", "Local cache size"),
    ("member", "Member"),
    ("missed_beats", "Missed beats to fail over"),
    ("mode", "Mode"),
    ("on_write", "On write"),
    ("option", "Option"),
    ("over_s", "Over"),
    ("partitioning", "Partitioning"),
    ("per", "Bucket per"),
    ("placement", "Placement"),
    ("probe", "Health probe"),
    ("promotion_delay_ms", "Promotion delay"),
    ("qps", "Request rate"),
    ("queue_capacity", "Queue capacity"),
    ("rate_per_s", "Rate"),
    ("read_ms", "Read time"),
    ("read_share", "Read share"),
    ("reads", "Reads"),
    ("retries", "Retries"),
    ("retry_budget", "Retry budget"),
    ("service", "Service time shape"),
    ("service_cv", "Service time spread"),
    ("service_ms", "Service time"),
    ("sessions", "Sessions"),
    ("size", "Instance size"),
    ("think_ms", "Think time"),
    ("tick_ms", "Tick length"),
    ("timeout_ms", "Timeout"),
    ("ttl_s", "Time to live"),
    ("unhealthy_threshold", "Failures to mark down"),
    ("user", "User"),
    ("user_zipf_alpha", "User skew (Zipf)"),
    ("users", "Users"),
    ("virtual_nodes", "Virtual nodes"),
    ("weight", "Weight"),
    ("workers", "Workers"),
    ("write_ms", "Write time"),
];

/// The label a learner reads for the field or option named `name` in the file ("Latency" for
/// `latency_ms`); `None` for a name the table does not know.
pub fn label_of(name: &str) -> Option<&'static str> {
    LABELS
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| LABELS[i].1)
}

/// The label for `name`, or the name itself when it has none.
pub fn label(name: &'static str) -> &'static str {
    label_of(name).unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind's defaults with every optional part switched on (a pool's autoscaling).
    fn full_default(tag: KindTag) -> NodeKind {
        let mut kind = tag.default_kind();
        if let NodeKind::AppServer(p) = &mut kind {
            p.autoscale = Some(Autoscale::default());
        }
        kind
    }

    #[test]
    fn table_defaults_match_the_types_defaults() {
        for p in PARAMS {
            let Some(tag) = p.kind() else {
                panic!("{} belongs to a node kind", p.name);
            };
            let Some(v) = p.get(&full_default(tag)) else {
                panic!("{} does not read from a {}", p.name, tag.label());
            };
            assert_eq!(v, p.default, "default of {}.{}", tag.file_name(), p.name);
        }
        let wire = Wire::new(NodeId(0), NodeId(1), 0.0);
        for f in WIRE {
            assert_eq!(f.get(&wire), Some(f.default), "default of wire.{}", f.name);
        }
        for f in LAYOUT {
            assert_eq!(f.get(&Layout::default()), Some(f.default), "{}", f.name);
        }
        for r in all_numbers() {
            assert!(
                r.min <= r.default && r.default <= r.max,
                "{}.{}: the default is in range",
                r.owner.file_name(),
                r.name
            );
        }
    }

    /// Every option's file name is what serde writes, so the table documents the format.
    #[test]
    fn option_names_are_the_file_names() {
        for tag in KindTag::ALL {
            for c in choices_of(tag) {
                for (i, opt) in c.options().iter().enumerate() {
                    let mut kind = full_default(tag);
                    assert!(c.set(&mut kind, i), "{}.{}", tag.file_name(), c.name);
                    assert_eq!(c.get(&kind), Some(i));
                    let text = crate::layout::to_ron(&crate::layout::Layout {
                        nodes: vec![crate::layout::Node {
                            id: NodeId(0),
                            name: "n".into(),
                            pos: Default::default(),
                            kind,
                        }],
                        ..Layout::default()
                    });
                    let field = c.name.rsplit('.').next().unwrap_or(c.name);
                    let written = if c.name == "autoscale" && i == 1 {
                        "autoscale: (".to_string()
                    } else if c.name == "autoscale" {
                        "autoscale: None".to_string()
                    } else {
                        format!("{field}: {}", opt.file_name)
                    };
                    assert!(
                        text.contains(&written),
                        "{}.{} option {i}: `{written}` not in\n{text}",
                        tag.file_name(),
                        c.name
                    );
                }
            }
        }
    }

    /// Every number a node kind has is in the table, so `check` and the inspector know its
    /// range (a field missing here would be unchecked and uneditable).
    #[test]
    fn every_numeric_field_has_metadata() {
        for tag in KindTag::ALL {
            let value = match serde_json::to_value(tag.default_kind()) {
                Ok(v) => v,
                Err(e) => panic!("{e}"),
            };
            let Some(fields) = value
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(|v| v.as_object())
            else {
                panic!("{} serialises as a map of fields", tag.file_name());
            };
            for (name, v) in fields {
                if v.is_number() {
                    assert!(
                        find(tag, name).is_some(),
                        "{}.{name} has no entry in PARAMS",
                        tag.file_name()
                    );
                }
            }
        }
    }

    #[test]
    fn set_refuses_out_of_range_and_keeps_the_value() {
        let mut kind = KindTag::AppServer.default_kind();
        assert!(
            find(KindTag::AppServer, "autoscale.min")
                .is_some_and(|m| m.set(&mut kind, 2.0).is_err()),
            "an autoscale bound is refused while autoscaling is off"
        );
        let Some(count) = find(KindTag::AppServer, "count") else {
            panic!("count is in the table");
        };
        let err = count.set(&mut kind, 300.0).err();
        assert!(err.is_some_and(|e| e.contains("1 to 256")));
        assert_eq!(count.get(&kind), Some(1.0));
        assert!(count.set(&mut kind, 3.0).is_ok());
        assert_eq!(kind.count(), 3);
        assert!(count.set(&mut kind, 2.5).is_err());
    }

    /// A layout that has every field of the tables once: a node of each kind (a pool with
    /// autoscaling), a wire, a replication link and a scripted command of each kind with
    /// arguments.
    fn everything() -> Layout {
        use crate::layout::{Node, Pos, Target};
        let mut l = Layout::default();
        for tag in KindTag::ALL {
            let id = l.allocate_id();
            l.nodes.push(Node {
                id,
                name: tag.file_name().into(),
                pos: Pos::default(),
                kind: full_default(tag),
            });
        }
        let extra = l.allocate_id();
        l.nodes.push(Node {
            id: extra,
            name: "replica".into(),
            pos: Pos::default(),
            kind: full_default(KindTag::Database),
        });
        let id = |t: KindTag| NodeId(KindTag::ALL.iter().position(|x| *x == t).unwrap_or(0) as u32);
        l.wires
            .push(Wire::new(id(KindTag::Client), id(KindTag::AppServer), 0.0));
        // A CDN edge must have an origin to pass misses to.
        l.wires
            .push(Wire::new(id(KindTag::Cdn), id(KindTag::AppServer), 0.0));
        l.replication.push(Replication {
            primary: id(KindTag::Database),
            replica: extra,
            mode: ReplicationMode::Async,
            lag_ms: 0.0,
            lag: LagDist::Constant,
        });
        let app = id(KindTag::AppServer);
        let client = id(KindTag::Client);
        for command in [
            Command::Slow {
                target: Target::member(app, 0),
                factor: 5.0,
            },
            Command::SetQps {
                node: client,
                qps: 10.0,
            },
            Command::RampQps {
                node: client,
                qps: 10.0,
                over_s: 1.0,
            },
            Command::SendRequest {
                client,
                read: true,
                key: 7,
                user: 0,
                path: None,
            },
        ] {
            l.script.push(Scripted { at_s: 1.0, command });
        }
        l
    }

    /// Set `field` of whatever `pick` finds in `layout` to `value`, bypassing the range check.
    fn force<T>(
        layout: &mut Layout,
        field: &Field<T>,
        value: f64,
        pick: impl Fn(&mut Layout) -> Vec<&mut T>,
    ) -> usize {
        let mut n = 0;
        for of in pick(layout) {
            if field.get(of).is_some() {
                (field.set)(of, value);
                n += 1;
            }
        }
        n
    }

    /// Values outside a field's range: under the minimum (when there is room) and over the
    /// maximum.
    fn outside(f: (f64, f64)) -> Vec<f64> {
        let (min, max) = f;
        let mut v = vec![max + 1.0];
        if min >= 1.0 {
            v.push(min - 1.0);
        } else if min > 0.0 {
            v.push(min / 2.0);
        }
        v
    }

    /// The table test, part one: every number of every table is checked by `check` (the
    /// window's inspector and README are checked in tests/it/params_table.rs). A value outside
    /// the range is an error that names the field; the full layout is clean to begin with.
    #[test]
    fn every_field_has_a_check() {
        let clean = everything();
        let errors = |l: &Layout| -> Vec<String> {
            crate::layout::check(l)
                .into_iter()
                .filter(|p| p.severity == crate::layout::Severity::Error)
                .map(|p| p.to_string())
                .collect()
        };
        assert_eq!(errors(&clean), Vec::<String>::new());
        let mut tried = 0;
        let mut expect = |l: &mut Layout, owner: Owner, name: &str, set: usize| {
            assert!(
                set > 0,
                "{}.{name}: the test layout has it",
                owner.file_name()
            );
            let errs = errors(l);
            assert!(
                errs.iter().any(
                    |e| e.contains(&format!("{name} =")) || e.contains(&format!("{name} must"))
                ),
                "{}.{name}: no check error, got {errs:?}",
                owner.file_name()
            );
            tried += 1;
        };
        for f in PARAMS {
            for v in outside((f.min, f.max)) {
                let mut l = clean.clone();
                let set = force(&mut l, f, v, |l| {
                    l.nodes.iter_mut().map(|n| &mut n.kind).collect()
                });
                expect(&mut l, f.owner, f.name, set);
            }
        }
        for f in WIRE {
            for v in outside((f.min, f.max)) {
                let mut l = clean.clone();
                let set = force(&mut l, f, v, |l| l.wires.iter_mut().collect());
                expect(&mut l, f.owner, f.name, set);
            }
        }
        for f in LINK {
            for v in outside((f.min, f.max)) {
                let mut l = clean.clone();
                let set = force(&mut l, f, v, |l| l.replication.iter_mut().collect());
                expect(&mut l, f.owner, f.name, set);
            }
        }
        for f in LAYOUT {
            for v in outside((f.min, f.max)) {
                let mut l = clean.clone();
                let set = force(&mut l, f, v, |l| vec![l]);
                expect(&mut l, f.owner, f.name, set);
            }
        }
        for f in SCRIPT {
            for v in outside((f.min, f.max)) {
                let mut l = clean.clone();
                let set = force(&mut l, f, v, |l| l.script.iter_mut().collect());
                expect(&mut l, f.owner, f.name, set);
            }
        }
        for f in ARGS {
            for v in outside((f.min, f.max)) {
                let mut l = clean.clone();
                let set = force(&mut l, f, v, |l| {
                    l.script.iter_mut().map(|s| &mut s.command).collect()
                });
                expect(&mut l, f.owner, f.name, set);
            }
        }
        assert!(tried >= all_numbers().len());
    }
}
