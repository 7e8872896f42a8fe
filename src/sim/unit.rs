//! A simulated instance ("unit"): one client, balancer, database, or one member of an app pool.
//! Each keeps its own queue, workers, random stream and statistics.

use super::ix::{CallIx, PolicyIx, ReqIx, UnitIx};
use std::collections::{BTreeSet, VecDeque};

use rand::RngExt as _;

use crate::layout::{
    Arrivals, ClientParams, Eviction, KeyDist, KindTag, LoopMode, NodeId, NodeKind, Placement,
    RouterParams, ServiceDist, Sessions, s_to_ns,
};

use super::cache::{Cache, Policy};
use super::dist::{self, LogNormal, Zipf};
use super::entry::EntryState;
use super::lb::LbState;
use super::ring::HashRing;
use super::rng::{SimRng, Stream, stream};
use super::sizing::core_slowdown;

/// A non-negative duration in ns, rounded to the nearest nanosecond. (`f64::round` is a libm
/// call; adding one half and truncating is the same for non-negative values and much faster.)
#[inline]
pub fn ns(x: f64) -> u64 {
    (x + 0.5) as u64
}

/// How long a server works on a call.
#[derive(Clone, Debug)]
pub struct ServiceModel {
    pub dist: ServiceDist,
    pub read_mean_ns: f64,
    pub write_mean_ns: f64,
    /// Log-normal shapes for reads and writes (same cv, different means).
    lognormal: Option<(LogNormal, LogNormal)>,
}

impl ServiceModel {
    /// A model with these means (ms, on one core with no other core busy) and shape.
    pub fn new(dist: ServiceDist, read_ms: f64, write_ms: f64, cv: f64) -> Self {
        let read_mean_ns = read_ms * 1e6;
        let write_mean_ns = write_ms * 1e6;
        let lognormal = if dist == ServiceDist::LogNormal && cv > 0.0 {
            Some((
                LogNormal::from_mean_cv(read_mean_ns.max(1.0), cv),
                LogNormal::from_mean_cv(write_mean_ns.max(1.0), cv),
            ))
        } else {
            None
        };
        ServiceModel {
            dist,
            read_mean_ns,
            write_mean_ns,
            lognormal,
        }
    }

    /// The mean service time of a read or write, in ns.
    pub fn mean_ns(&self, read: bool) -> f64 {
        if read {
            self.read_mean_ns
        } else {
            self.write_mean_ns
        }
    }

    /// Draw one service time, in ns.
    ///
    /// Always inlined: once a call, and its one caller already holds what it needs.
    #[inline(always)]
    pub fn sample_ns(&self, read: bool, rng: &mut SimRng) -> u64 {
        let mean = self.mean_ns(read);
        let x = match self.dist {
            ServiceDist::Constant => mean,
            ServiceDist::Exponential => {
                let e = dist::exp1(rng);
                e * mean
            }
            ServiceDist::LogNormal => match &self.lognormal {
                Some((r, w)) => {
                    if read {
                        r.sample(rng)
                    } else {
                        w.sample(rng)
                    }
                }
                None => mean,
            },
        };
        ns(x)
    }
}

/// A shard router's settings and its ring over the shards.
#[derive(Clone, Debug)]
pub struct RouterState {
    pub params: RouterParams,
    pub latency_ns: u64,
    /// The shards (database nodes) in wire order, and a ring over them.
    pub shards: Vec<NodeId>,
    pub ring: HashRing,
}

impl RouterState {
    /// A router over `shards`.
    pub fn new(params: &RouterParams, shards: Vec<NodeId>) -> Self {
        let keys: Vec<u64> = shards.iter().map(|s| u64::from(s.0)).collect();
        RouterState {
            params: params.clone(),
            latency_ns: crate::layout::ms_to_ns(params.latency_ms),
            ring: HashRing::new(&keys, params.virtual_nodes.max(1), 0x5eed_5a2d),
            shards,
        }
    }

    /// The shard index owning `key` out of `keys` keys.
    pub fn shard_of(&self, key: u32, keys: u32) -> Option<usize> {
        let n = self.shards.len();
        if n == 0 {
            return None;
        }
        let h = super::hash::mix(&[u64::from(key)]);
        match self.params.partitioning {
            crate::layout::Partitioning::Hash => self.ring.owner(h),
            crate::layout::Partitioning::HashModulo => super::ring::modulo_owner(h, n),
            crate::layout::Partitioning::Range => {
                let keys = u64::from(keys.max(1));
                let k = u64::from(key.max(1) - 1).min(keys - 1);
                Some((k * n as u64 / keys) as usize)
            }
        }
    }
}

/// How a caller places keys on the members behind a wire (a cache cluster).
#[derive(Clone, Debug)]
pub enum KeyPlacement {
    Ring(HashRing),
    Modulo,
}

impl KeyPlacement {
    /// The member index for `key` among `n` members.
    pub fn member(&self, key: u32, n: usize) -> Option<usize> {
        let h = super::hash::mix(&[u64::from(key)]);
        match self {
            KeyPlacement::Ring(r) => r.owner(h),
            KeyPlacement::Modulo => super::ring::modulo_owner(h, n),
        }
    }

    /// Bytes the placement holds (its ring's points).
    pub fn bytes_reserved(&self) -> u64 {
        match self {
            KeyPlacement::Ring(r) => r.bytes_reserved(),
            KeyPlacement::Modulo => 0,
        }
    }

    /// A placement over members with these stable keys.
    /// Err: the bytes a ring needed and could not reserve.
    pub fn new(placement: Placement, member_keys: &[u64], vnodes: u32) -> Result<Self, u64> {
        Ok(match placement {
            Placement::ConsistentHash => {
                KeyPlacement::Ring(HashRing::try_new(member_keys, vnodes.max(1), 0xcac4e)?)
            }
            Placement::Modulo => KeyPlacement::Modulo,
        })
    }
}

/// A linear change of a client's open-loop rate over time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ramp {
    pub start_ns: u64,
    pub start_qps: f64,
    pub end_ns: u64,
    pub end_qps: f64,
}

impl Ramp {
    /// The rate at `now_ns`, between the start and the end.
    pub fn qps_at(&self, now_ns: u64) -> f64 {
        let f = (now_ns - self.start_ns) as f64 / (self.end_ns - self.start_ns) as f64;
        self.start_qps + (self.end_qps - self.start_qps) * f
    }
}

/// A client's traffic state.
#[derive(Clone, Debug)]
pub struct ClientState {
    pub params: ClientParams,
    /// Current open-loop rate (follows set_qps and ramps).
    pub qps: f64,
    /// Bumped to cancel a pending arrival after a rate change.
    pub arrival_epoch: u32,
    pub arrival_pending: bool,
    /// An active ramp of the open-loop rate.
    pub ramp: Option<Ramp>,
    pub ramp_epoch: u32,
    /// Round-robin cursor over destinations (plain DNS spreading).
    pub next_dest: usize,
    pub content_rng: SimRng,
    /// Closed loop: which users are thinking or waiting for a reply. A user the client drops
    /// (it was down, or there were fewer users) is restarted once, never twice.
    pub user_active: Vec<bool>,
    key_zipf: Option<Zipf>,
    user_zipf: Option<Zipf>,
    /// Cumulative path shares, normalised to 1.
    path_cdf: Vec<f64>,
    /// One bit per user: has logged in before (allocated on first use).
    logged_in: Vec<u64>,
    /// `hash::mix(&[node])`, the first half of every `user_key` of this client, hashed once.
    user_key_base: u64,
}

impl ClientState {
    /// Bytes of its per-user state and draws (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        use super::footprint::vec;
        std::mem::size_of::<ClientState>() as u64
            + vec(&self.user_active, self.user_active.capacity())
            + vec(&self.path_cdf, self.path_cdf.capacity())
            + vec(&self.logged_in, self.logged_in.capacity())
            + self.key_zipf.as_ref().map_or(0, Zipf::heap_bytes)
            + self.user_zipf.as_ref().map_or(0, Zipf::heap_bytes)
    }

    /// Traffic state for `params` of client node `node`, drawing content from `content_rng`.
    pub fn new(params: &ClientParams, node: NodeId, content_rng: SimRng) -> Self {
        let mut c = ClientState {
            params: params.clone(),
            qps: params.qps,
            arrival_epoch: 0,
            arrival_pending: false,
            ramp: None,
            ramp_epoch: 0,
            next_dest: 0,
            content_rng,
            user_active: Vec::new(),
            key_zipf: None,
            user_zipf: None,
            path_cdf: Vec::new(),
            logged_in: Vec::new(),
            user_key_base: super::hash::mix(&[u64::from(node.0)]),
        };
        c.set_params(params);
        c
    }

    /// Adopt changed parameters, keeping the generator and cursor.
    pub fn set_params(&mut self, params: &ClientParams) {
        self.params = params.clone();
        // A law is rebuilt only when its shape changes (an alias table takes a moment).
        let keep = |old: &mut Option<Zipf>, shape: Option<(f64, f64)>| {
            if old.as_ref().map(Zipf::shape) != shape {
                *old = shape.and_then(|(n, s)| Zipf::new(n, s));
            }
        };
        keep(
            &mut self.key_zipf,
            match params.key_dist {
                KeyDist::Zipf if params.key_zipf_alpha > 0.0 => {
                    Some((f64::from(params.keys.max(1)), params.key_zipf_alpha))
                }
                _ => None,
            },
        );
        keep(
            &mut self.user_zipf,
            (params.user_zipf_alpha > 0.0 && params.mode == LoopMode::Open)
                .then(|| (f64::from(params.users.max(1)), params.user_zipf_alpha)),
        );
        let total: f64 = params.paths.iter().map(|p| p.share.max(0.0)).sum();
        self.path_cdf = if total > 0.0 {
            let mut acc = 0.0;
            params
                .paths
                .iter()
                .map(|p| {
                    acc += p.share.max(0.0) / total;
                    acc
                })
                .collect()
        } else {
            Vec::new()
        };
    }

    /// Draw a request's path (an index into `params.paths`), or `None` when it has none.
    pub fn draw_path(&mut self) -> Option<u16> {
        if self.path_cdf.is_empty() {
            return None;
        }
        let x: f64 = self.content_rng.random();
        let i = self
            .path_cdf
            .iter()
            .position(|&c| x < c)
            .unwrap_or(self.path_cdf.len() - 1);
        Some(i as u16)
    }

    /// The path string of a drawn path index.
    pub fn path(&self, index: u16) -> Option<&str> {
        self.params
            .paths
            .get(index as usize)
            .map(|p| p.path.as_str())
    }

    /// Record that `user` logged in; returns whether they had logged in before.
    pub fn log_in(&mut self, user: u32) -> bool {
        let words = (self.params.users as usize).div_ceil(64).max(1);
        if self.logged_in.len() < words {
            self.logged_in.resize(words, 0);
        }
        let (w, b) = ((user / 64) as usize, user % 64);
        let Some(word) = self.logged_in.get_mut(w) else {
            return false;
        };
        let before = *word & (1 << b) != 0;
        *word |= 1 << b;
        before
    }

    /// The gap to the next open-loop arrival at the current rate, or `None` at rate 0.
    ///
    /// Always inlined: once a request, into `schedule_arrival`.
    #[inline(always)]
    pub fn gap_ns(&self, rng: &mut SimRng) -> Option<u64> {
        if self.qps.is_nan() || self.qps <= 0.0 || self.params.mode != LoopMode::Open {
            return None;
        }
        let mean_ns = 1e9 / self.qps;
        let gap = match self.params.arrivals {
            Arrivals::Poisson => {
                let e = dist::exp1(rng);
                e * mean_ns
            }
            Arrivals::Constant => mean_ns,
        };
        Some(ns(gap).max(1))
    }

    /// Mark a closed-loop user as thinking or waiting; false when it already was.
    pub fn activate(&mut self, user: u32) -> bool {
        let i = user as usize;
        if self.user_active.len() <= i {
            self.user_active.resize(i + 1, false);
        }
        !std::mem::replace(&mut self.user_active[i], true)
    }

    /// A closed-loop user stops (its client is down, or it is beyond `users`).
    pub fn deactivate(&mut self, user: u32) {
        if let Some(a) = self.user_active.get_mut(user as usize) {
            *a = false;
        }
    }

    /// A think time for a closed-loop user.
    pub fn think_ns(&self, rng: &mut SimRng) -> u64 {
        let e = dist::exp1(rng);
        ns(e * self.params.think_ms * 1e6)
    }

    /// Draw (key, read) for a request.
    pub fn draw_content(&mut self) -> (u32, bool) {
        let keys = self.params.keys.max(1);
        let key = match &self.key_zipf {
            Some(z) => (z.sample(&mut self.content_rng) as u32).clamp(1, keys),
            None => self.content_rng.random_range(1..=keys),
        };
        let read = self.content_rng.random::<f64>() < self.params.read_share;
        (key, read)
    }

    /// The key that sessions, sticky balancing and per-user limits know `user` by:
    /// `hash::mix(&[node, user])`, chained on from the node's half hashed once.
    #[inline]
    pub fn user_key(&self, user: u32) -> u64 {
        super::hash::splitmix64(self.user_key_base ^ u64::from(user))
    }

    /// Draw the user of an open-loop request.
    pub fn draw_user(&mut self) -> u32 {
        let users = self.params.users.max(1);
        match &self.user_zipf {
            Some(z) => (z.sample(&mut self.content_rng) as u32).clamp(1, users) - 1,
            None => self.content_rng.random_range(0..users),
        }
    }
}

/// One downstream step of a caller: the instances behind one wire.
#[derive(Clone, Debug)]
pub struct Route {
    pub to_node: NodeId,
    pub units: Vec<UnitIx>,
    pub latency_ns: u64,
    /// The wire's weight (for weighted balancing).
    pub weight: u32,
    /// Index of the wire's timeout and retry policy in the core's table.
    pub policy: PolicyIx,
    /// The kind of node called.
    pub to_kind: KindTag,
    /// For a cache cluster: how keys are placed on its members.
    /// A cache cluster's key placement: one per cluster, shared by every caller and pool
    /// member (a ring of members × virtual nodes points is too big to copy per caller).
    pub placement: Option<std::sync::Arc<KeyPlacement>>,
    /// Round-robin cursor over `units` when the caller is not a balancer.
    pub next: usize,
    /// The called node's first instance (member 0), up or not: where a call to a database
    /// goes when it has no replication group (`data.rs`'s `resolve_db`), kept here so that
    /// is not looked up per call.
    pub first: Option<UnitIx>,
    /// A cache that updates its copy of a key on a write (`on_write: update`) rather than
    /// dropping it; read off the layout when routes are built (again after every edit).
    pub cache_updates: bool,
}

/// What a server keeps in memory between calls: users' sessions, or a data cache's keys.
#[derive(Clone, Debug)]
pub enum Kept {
    /// Nothing (stateless, or its sessions are in a store it calls).
    Nothing,
    /// Sessions in its own memory: the users whose sessions it holds.
    LocalSessions(BTreeSet<u64>),
    /// A session store: the sessions it holds, least recently used evicted first.
    SessionStore(Box<Cache>),
    /// A data cache: the keys it holds.
    DataCache(Box<Cache>),
}

impl Kept {
    /// Sessions (or cached keys) held now.
    pub fn len(&self) -> u64 {
        match self {
            Kept::Nothing => 0,
            Kept::LocalSessions(s) => s.len() as u64,
            Kept::SessionStore(c) | Kept::DataCache(c) => u64::from(c.len()),
        }
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forget everything held (a crash); returns how many sessions (or keys) were lost.
    pub fn clear(&mut self) -> u64 {
        let n = self.len();
        match self {
            Kept::Nothing => {}
            Kept::LocalSessions(s) => s.clear(),
            Kept::SessionStore(c) | Kept::DataCache(c) => c.flush(),
        }
        n
    }
}

/// How many instances a caller's routes lead to, all wires together.
pub fn target_count(routes: &[Route]) -> usize {
    routes.iter().map(|r| r.units.len()).sum()
}

/// The `i`-th instance over all of a caller's routes (wire order, then member order), with its
/// wire's latency and policy. For callers that spread over every target (clients, entries).
pub fn nth_target(routes: &[Route], mut i: usize) -> Option<(UnitIx, u64, PolicyIx)> {
    for r in routes {
        if let Some(&unit) = r.units.get(i) {
            return Some((unit, r.latency_ns, r.policy));
        }
        i -= r.units.len();
    }
    None
}

/// What kind of instance, with its kind-specific state.
#[derive(Clone, Debug)]
pub enum Role {
    Client(Box<ClientState>),
    Entry(Box<EntryState>),
    Balancer(Box<LbState>),
    /// A shard router: picks the shard owning the request's key.
    Router(Box<RouterState>),
    /// A CDN edge: answers cacheable reads it holds, passes the rest to the origin.
    Cdn(Box<super::cdn::CdnState>),
    /// A rate limiter: token buckets in front of the node it forwards to.
    Limiter(Box<super::limiter::LimiterState>),
    /// An app server, session store, cache or database: workers and a queue.
    Server {
        service: ServiceModel,
        /// What it keeps between calls (sessions, or a data cache's keys).
        kept: Kept,
    },
    /// A message queue: its backlog and counters (`mq.rs`).
    Queue(Box<super::mq::QueueState>),
}

/// Counters of one instance since its statistics were last reset. Its time integrals are
/// read at an instant: `Unit::areas_at`.
#[derive(Clone, Debug, Default)]
pub struct UnitStats {
    /// Calls that reached the instance.
    pub calls: u64,
    pub served: u64,
    pub failed: u64,
    /// Jobs served (replicated writes applied, cache fills and invalidations).
    pub jobs: u64,
    /// Calls refused because the queue was full.
    pub queue_full: u64,
    /// Calls given a worker, and the time they had waited in the queue for it (ns).
    pub started: u64,
    pub wait_ns: u128,
    /// Work waiting (for a worker or a core) when counting started.
    pub backlog_start: u32,
    pub max_queue: u32,
    /// Expected service demand of arrived calls, ns, for the offered load.
    pub demand_ns: f64,
    pub since_ns: u64,
}

/// An instance's time integrals since its statistics were last reset, up to an instant
/// (`Unit::areas_at`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// ns x cores busy.
    pub cpu: u128,
    /// ns x workers held.
    pub held: u128,
    /// ns x workers available (0 while down), for worker utilization.
    pub capacity: u128,
    /// ns x cores available (0 while down), for CPU utilization.
    pub cores: u128,
    /// ns x calls waiting for a worker.
    pub queue: u128,
    /// Time up, time with every worker held, time with every core busy (ns).
    pub alive_ns: u128,
    pub all_held_ns: u128,
    pub all_busy_ns: u128,
    /// Time the instance existed (booting, up or down), ns: what it is paid for.
    pub billed_ns: u128,
}

/// What an instance holds right now, whose time integrals `Integrals` keeps: the rates, in
/// the order of `Areas`' fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load([u64; RATES]);

const RATES: usize = 9;
const CPU: usize = 0;
const HELD: usize = 1;
const CAPACITY: usize = 2;
const CORES: usize = 3;
const QUEUE: usize = 4;
const ALIVE: usize = 5;
const ALL_HELD: usize = 6;
const ALL_BUSY: usize = 7;
const BILLED: usize = 8;

/// The time integrals kept as running sums, one per rate of `Load`: the integral of a rate
/// up to `now` is its sum plus its value now times `now`, and a change of the rate by `d` at
/// time `t` takes `d x t` off its sum. A change costs one addition to one sum, where
/// bringing every integral up to date at each new instant cost a multiplication per rate.
/// The integrals are the same integers either way.
#[derive(Clone, Copy, Debug, Default)]
struct Integrals([i128; RATES]);

impl Integrals {
    /// Integrals that read zero at `now_ns` with the load `load` from then on.
    fn starting(load: Load, now_ns: u64) -> Self {
        Integrals::carrying(Areas::default(), load, now_ns)
    }

    /// Integrals that read `areas` at `now_ns` with the load `load` from then on.
    fn carrying(areas: Areas, load: Load, now_ns: u64) -> Self {
        let held = areas.as_array();
        Integrals(std::array::from_fn(|k| {
            held[k] as i128 - i128::from(load.0[k]) * i128::from(now_ns)
        }))
    }

    /// Rate `k` went up by one at `now_ns`.
    #[inline(always)]
    fn rise(&mut self, k: usize, now_ns: u64) {
        self.0[k] -= i128::from(now_ns);
    }

    /// Rate `k` went down by one at `now_ns`.
    #[inline(always)]
    fn fall(&mut self, k: usize, now_ns: u64) {
        self.0[k] += i128::from(now_ns);
    }

    /// The load went from `before` to `after` at `now_ns` (any change).
    fn changed(&mut self, before: Load, after: Load, now_ns: u64) {
        for ((sum, a), b) in self.0.iter_mut().zip(after.0).zip(before.0) {
            *sum -= (i128::from(a) - i128::from(b)) * i128::from(now_ns);
        }
    }

    /// The integrals up to `now_ns`, the load being `load` since the last change.
    fn at(&self, load: Load, now_ns: u64) -> Areas {
        Areas::from_array(std::array::from_fn(|k| {
            let v = self.0[k] + i128::from(load.0[k]) * i128::from(now_ns);
            debug_assert!(v >= 0, "a time integral below zero");
            v.max(0) as u128
        }))
    }
}

impl Areas {
    fn as_array(&self) -> [u128; RATES] {
        [
            self.cpu,
            self.held,
            self.capacity,
            self.cores,
            self.queue,
            self.alive_ns,
            self.all_held_ns,
            self.all_busy_ns,
            self.billed_ns,
        ]
    }

    fn from_array(a: [u128; RATES]) -> Self {
        Areas {
            cpu: a[CPU],
            held: a[HELD],
            capacity: a[CAPACITY],
            cores: a[CORES],
            queue: a[QUEUE],
            alive_ns: a[ALIVE],
            all_held_ns: a[ALL_HELD],
            all_busy_ns: a[ALL_BUSY],
            billed_ns: a[BILLED],
        }
    }
}

/// One simulated instance.
#[derive(Clone, Debug)]
pub struct Unit {
    pub node: NodeId,
    pub member: u32,
    pub kind: KindTag,
    /// `name` for a single node, `name[i]` for a pool member.
    pub name: String,
    pub alive: bool,
    /// Removed from the layout (kept so indexes stay stable).
    pub removed: bool,
    /// Service time multiplier (slow-down fault).
    pub slow: f64,
    pub role: Role,
    /// A new server boots until then and takes no traffic before.
    pub ready_ns: u64,
    /// Taken out of rotation; removed once its last call is done.
    pub draining: bool,
    /// On-demand price while it exists (0 for unpriced kinds).
    pub usd_per_hour: f64,
    /// An app server's own in-memory cache of reads (cold when the server starts).
    pub local_cache: Option<Box<Cache>>,
    pub workers: u32,
    pub queue_capacity: u32,
    /// Cores the service phase queues for: a sized box's vCPUs, else one per worker.
    pub cores: u32,
    /// The cores slow each other down by USL (a sized box); false: each runs at full speed.
    pub usl: bool,
    /// Work waiting for a worker.
    pub queue: VecDeque<Task>,
    /// Work holding a worker and waiting for a core.
    pub cpu_queue: VecDeque<Task>,
    /// Bumped when the instance dies, so work it had started is recognised as lost.
    pub life: u32,
    /// A replica's replicated writes waiting for its one applier, oldest first, and whether
    /// the applier is at work (queued for a worker, or applying).
    pub apply_backlog: VecDeque<u32>,
    pub applier_busy: bool,
    /// Cores busy (work being served).
    pub serving: u32,
    /// Workers held (serving or waiting on downstream calls).
    pub held: u32,
    /// Downstream steps, in wire order (clients spread over them; app servers call each in turn).
    pub routes: Vec<Route>,
    pub rng: SimRng,
    pub stats: UnitStats,
    /// The time integrals of its load (`areas_at`).
    sums: Integrals,
    /// Counters at the previous series sample.
    pub sampled_served: u64,
    pub sampled_calls_failed: (u64, u64),
    pub sampled_cpu_area: u128,
    pub sampled_cores_area: u128,
    /// Saturation counters at the last `RECENT_SAMPLES` samples, oldest first.
    pub recent_sat: VecDeque<SatSample>,
}

/// Samples (of 100 ms) the window's saturation flag looks back over: one second.
pub const RECENT_SAMPLES: usize = 10;

/// A server's saturation counters at one series sample, for the window's recent flag.
#[derive(Clone, Copy, Debug, Default)]
pub struct SatSample {
    pub alive_ns: u128,
    pub all_busy_ns: u128,
    pub all_held_ns: u128,
    pub calls: u64,
    pub refused: u64,
    pub backlog: u32,
}

impl SatSample {
    /// The counters of `u` now, with its integrals `areas` read now.
    pub fn of(u: &Unit, areas: &Areas) -> Self {
        SatSample {
            alive_ns: areas.alive_ns,
            all_busy_ns: areas.all_busy_ns,
            all_held_ns: areas.all_held_ns,
            calls: u.stats.calls,
            refused: u.stats.queue_full,
            backlog: (u.queue.len() + u.cpu_queue.len()) as u32,
        }
    }
}

/// What waits in a server's queues: a call of a request, or a job of the server's own (a
/// replicated write to apply, a cache fill or invalidation), by its slot in the core's table.
///
/// A call carries its request's slot too (still 8 bytes). In an overloaded layout (a 200-node
/// layout at 100,000 requests a second holds about 200,000 requests in queues) a queued call's
/// record and its request's have left the processor's caches by the time a worker takes it:
/// with the request's slot at hand, the two loads are made at once instead of one after the
/// other. About a tenth less time per request there (docs/performance-log.md, the round
/// 16bc071 → ed9cb4f).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    Call(CallIx, ReqIx),
    Job(u32),
}

// The job's number shares the request's bytes; the call's index (never zero) tells them apart.
const _: () = assert!(std::mem::size_of::<Task>() == 8);

impl Unit {
    /// The slowdown of a service starting now with `busy` cores busy (itself included).
    #[inline]
    pub fn slowdown(&self, busy: u32) -> f64 {
        let usl = if self.usl { core_slowdown(busy) } else { 1.0 };
        usl * self.slow
    }
}

impl Unit {
    /// A fresh instance of `kind` for node `node`, member `member`.
    pub fn new(
        seed: u64,
        node: NodeId,
        member: u32,
        name: String,
        kind: &NodeKind,
        now_ns: u64,
    ) -> Self {
        let stream_kind = match kind {
            NodeKind::Client(_) => Stream::Arrivals,
            NodeKind::LoadBalancer(_) => Stream::Balance,
            _ => Stream::Service,
        };
        let rng = stream(seed, node.0, member, stream_kind);
        let role = match kind {
            NodeKind::Client(p) => Role::Client(Box::new(ClientState::new(
                p,
                node,
                stream(seed, node.0, member, Stream::Content),
            ))),
            NodeKind::Entry(p) => Role::Entry(Box::new(EntryState::new(p))),
            NodeKind::LoadBalancer(p) => Role::Balancer(Box::new(LbState::new(p))),
            NodeKind::ShardRouter(p) => Role::Router(Box::new(RouterState::new(p, Vec::new()))),
            NodeKind::Cdn(p) => Role::Cdn(Box::new(super::cdn::CdnState::new(p))),
            NodeKind::Queue(p) => Role::Queue(Box::new(super::mq::QueueState::new(p))),
            NodeKind::RateLimiter(p) => {
                Role::Limiter(Box::new(super::limiter::LimiterState::new(p)))
            }
            _ => match service_model(kind) {
                Some(service) => Role::Server {
                    service,
                    kept: keeping_for(kind),
                },
                // Every other kind serves; keep a harmless default rather than panic.
                None => Role::Server {
                    service: ServiceModel::new(ServiceDist::Constant, 0.0, 0.0, 0.0),
                    kept: Kept::Nothing,
                },
            },
        };
        let (workers, queue_capacity) = workers_and_queue(kind);
        let usd_per_hour = kind.billed_size().map_or(0.0, |s| s.usd_per_hour());
        let local_cache = local_cache_for(kind);
        let (cores, usl) = cores_of(kind);
        let mut u = Unit {
            node,
            member,
            kind: kind.tag(),
            name,
            alive: true,
            removed: false,
            slow: 1.0,
            role,
            ready_ns: 0,
            draining: false,
            usd_per_hour,
            local_cache,
            workers,
            queue_capacity,
            cores,
            usl,
            queue: VecDeque::new(),
            cpu_queue: VecDeque::new(),
            life: 0,
            apply_backlog: VecDeque::new(),
            applier_busy: false,
            serving: 0,
            held: 0,
            routes: Vec::new(),
            rng,
            stats: UnitStats {
                since_ns: now_ns,
                ..Default::default()
            },
            sums: Integrals::default(),
            sampled_served: 0,
            sampled_calls_failed: (0, 0),
            sampled_cpu_area: 0,
            sampled_cores_area: 0,
            recent_sat: VecDeque::new(),
        };
        u.sums = Integrals::starting(u.load(), now_ns);
        u
    }

    /// A fresh instance in place of `old` (a pool member removed before and added again),
    /// keeping its statistics: its integrals go on from what they read at `now_ns`, and its
    /// next series sample counts from the one before (not from the start of the run).
    pub fn replacing(mut self, old: &Unit, now_ns: u64) -> Self {
        self.stats = old.stats.clone();
        self.sums = Integrals::carrying(old.areas_at(now_ns), self.load(), now_ns);
        self.sampled_served = old.sampled_served;
        self.sampled_calls_failed = old.sampled_calls_failed;
        self.sampled_cpu_area = old.sampled_cpu_area;
        self.sampled_cores_area = old.sampled_cores_area;
        self
    }

    /// Take the node's changed parameters, keeping queues, state and statistics.
    pub fn set_params(&mut self, kind: &NodeKind, now_ns: u64) {
        let before = self.load();
        self.set_params_inner(kind, now_ns);
        self.account(before, now_ns);
    }

    fn set_params_inner(&mut self, kind: &NodeKind, now_ns: u64) {
        self.usd_per_hour = kind.billed_size().map_or(0.0, |s| s.usd_per_hour());
        // A resized local cache starts cold; an unchanged one stays warm.
        let want = match kind {
            NodeKind::AppServer(p) => p.local_cache_entries,
            _ => 0,
        };
        if self.local_cache.as_ref().map_or(0, |c| c.capacity()) != want {
            self.local_cache = local_cache_for(kind);
        }
        match (&mut self.role, kind) {
            (Role::Client(c), NodeKind::Client(p)) => {
                let rate_changed = c.params.qps != p.qps;
                c.set_params(p);
                if rate_changed {
                    c.qps = p.qps;
                    c.ramp = None;
                }
            }
            (Role::Entry(e), NodeKind::Entry(p)) => e.set_params(p),
            (Role::Cdn(e), NodeKind::Cdn(p)) => e.set_params(p),
            (Role::Queue(q), NodeKind::Queue(p)) => q.set_params(p),
            (Role::Limiter(l), NodeKind::RateLimiter(p)) => l.set_params(p),
            (Role::Balancer(lb), NodeKind::LoadBalancer(p)) => lb.set_params(p),
            (Role::Router(r), NodeKind::ShardRouter(p)) => {
                let shards = r.shards.clone();
                **r = RouterState::new(p, shards);
            }
            (Role::Server { service, kept }, _) => {
                if let Some(m) = service_model(kind) {
                    *service = m;
                }
                (self.workers, self.queue_capacity) = workers_and_queue(kind);
                (self.cores, self.usl) = cores_of(kind);
                // Kept state stays warm unless its kind of keeping changes, or a data cache is
                // resized or re-policied (it starts cold); a plain latency change keeps it, and
                // a new time to live applies to the entries put from now on.
                let fresh = keeping_for(kind);
                let same = match (&mut *kept, &fresh) {
                    (Kept::Nothing, Kept::Nothing)
                    | (Kept::LocalSessions(_), Kept::LocalSessions(_))
                    | (Kept::SessionStore(_), Kept::SessionStore(_)) => true,
                    (Kept::DataCache(a), Kept::DataCache(b)) => {
                        let same = a.capacity() == b.capacity() && a.policy() == b.policy();
                        if same {
                            a.set_ttl_ns(b.ttl_ns(), now_ns);
                        }
                        same
                    }
                    _ => false,
                };
                if !same {
                    *kept = fresh;
                }
            }
            _ => {}
        }
    }

    /// Put `task` at the back of the worker queue at `now_ns` (the caller checked for room, or
    /// the task may overfill it: a replicated write to apply is never refused).
    #[inline(always)]
    pub fn queue_task(&mut self, task: Task, now_ns: u64) {
        self.queue.push_back(task);
        self.sums.rise(QUEUE, now_ns);
        self.stats.max_queue = self.stats.max_queue.max(self.queue.len() as u32);
    }

    /// Take the oldest task from the worker queue at `now_ns`.
    #[inline(always)]
    pub fn take_task(&mut self, now_ns: u64) -> Option<Task> {
        let task = self.queue.pop_front();
        if task.is_some() {
            self.sums.fall(QUEUE, now_ns);
        }
        task
    }

    /// The worker queue has room for one more task.
    #[inline(always)]
    pub fn queue_has_room(&self) -> bool {
        (self.queue.len() as u64) < u64::from(self.queue_capacity)
    }

    // Every worker held, and every core busy, are 0-or-1 rates (while up, with workers): a
    // step of one changes them only where it crosses the count of workers or cores.

    /// One more worker held, from `now_ns`.
    #[inline(always)]
    pub fn hold(&mut self, now_ns: u64) {
        self.held += 1;
        self.sums.rise(HELD, now_ns);
        if self.held == self.workers && self.alive {
            self.sums.rise(ALL_HELD, now_ns);
        }
    }

    /// One worker fewer held, from `now_ns`.
    #[inline(always)]
    pub fn unhold(&mut self, now_ns: u64) {
        debug_assert!(self.held > 0, "a worker freed that was not held");
        if self.held == self.workers && self.alive {
            self.sums.fall(ALL_HELD, now_ns);
        }
        self.held -= 1;
        self.sums.fall(HELD, now_ns);
    }

    /// One more core busy, from `now_ns`.
    #[inline(always)]
    pub fn serve(&mut self, now_ns: u64) {
        self.serving += 1;
        self.sums.rise(CPU, now_ns);
        if self.serving == self.cores && self.alive && self.workers > 0 {
            self.sums.rise(ALL_BUSY, now_ns);
        }
    }

    /// One core fewer busy, from `now_ns`.
    #[inline(always)]
    pub fn unserve(&mut self, now_ns: u64) {
        debug_assert!(self.serving > 0, "a core freed that was not busy");
        if self.serving == self.cores && self.alive && self.workers > 0 {
            self.sums.fall(ALL_BUSY, now_ns);
        }
        self.serving -= 1;
        self.sums.fall(CPU, now_ns);
    }

    /// What the instance holds now, for `account` after a change other than the ones above
    /// (a kill, a revival, a removal, a resize): `let before = u.load(); ...;
    /// u.account(before, now)`, every change made at `now`.
    #[inline]
    pub fn load(&self) -> Load {
        let workers = if self.alive { self.workers } else { 0 };
        let cores = if self.alive { self.cores } else { 0 };
        Load([
            u64::from(self.serving),
            u64::from(self.held),
            u64::from(workers),
            u64::from(cores),
            self.queue.len() as u64,
            u64::from(workers > 0),
            u64::from(workers > 0 && self.held >= workers),
            u64::from(workers > 0 && self.serving >= cores),
            u64::from(!self.removed),
        ])
    }

    /// The load went from `before` to what it is now, at `now_ns`.
    pub fn account(&mut self, before: Load, now_ns: u64) {
        let after = self.load();
        self.sums.changed(before, after, now_ns);
    }

    /// The time integrals since the last reset, up to `now_ns` (at or after the last change).
    pub fn areas_at(&self, now_ns: u64) -> Areas {
        self.sums.at(self.load(), now_ns)
    }

    /// Start counting afresh at `now_ns` (end of the warm-up).
    pub fn reset_stats(&mut self, now_ns: u64) {
        self.sums = Integrals::starting(self.load(), now_ns);
        self.stats = UnitStats {
            since_ns: now_ns,
            max_queue: self.queue.len() as u32,
            backlog_start: (self.queue.len() + self.cpu_queue.len()) as u32,
            ..Default::default()
        };
        self.sampled_served = 0;
        self.sampled_calls_failed = (0, 0);
        self.sampled_cpu_area = 0;
        self.sampled_cores_area = 0;
        self.recent_sat.clear();
        if let Role::Limiter(l) = &mut self.role {
            l.reset_counts();
        }
    }
}

fn policy_of(e: Eviction) -> Policy {
    match e {
        Eviction::Lru => Policy::Lru,
        Eviction::Lfu => Policy::Lfu,
    }
}

/// An empty data cache with a cache node's settings.
pub fn data_cache(p: &crate::layout::CacheParams) -> Cache {
    let ttl = s_to_ns(p.ttl_s);
    Cache::new(
        policy_of(p.eviction),
        p.capacity_entries,
        if ttl > 0 { Some(ttl) } else { None },
    )
}

/// An app server's local cache, if its node has one.
fn local_cache_for(kind: &NodeKind) -> Option<Box<Cache>> {
    match kind {
        NodeKind::AppServer(p) if p.local_cache_entries > 0 => Some(Box::new(Cache::new(
            Policy::Lru,
            p.local_cache_entries,
            None,
        ))),
        _ => None,
    }
}

/// A server-like kind's service model on its box size (`None` for kinds that serve nothing).
fn service_model(kind: &NodeKind) -> Option<ServiceModel> {
    let exp = ServiceDist::Exponential;
    let m = match kind {
        NodeKind::AppServer(p) => (p.service, p.service_ms, p.service_ms, p.service_cv, p.size),
        NodeKind::SessionStore(p) => (exp, p.service_ms, p.service_ms, 1.0, p.size),
        NodeKind::Cache(p) => (exp, p.hit_ms, p.hit_ms, 1.0, p.size),
        NodeKind::Database(p) => (p.service, p.read_ms, p.write_ms, p.service_cv, p.size),
        _ => return None,
    };
    Some(ServiceModel::new(m.0, m.1, m.2, m.3))
}

/// A server-like kind's (workers, queue capacity); (0, 0) for the others.
fn workers_and_queue(kind: &NodeKind) -> (u32, u32) {
    match kind {
        NodeKind::AppServer(p) => (p.workers, p.queue_capacity),
        NodeKind::Database(p) => (p.workers, p.queue_capacity),
        NodeKind::SessionStore(p) => (p.workers, p.queue_capacity),
        NodeKind::Cache(p) => (p.workers, p.queue_capacity),
        _ => (0, 0),
    }
}

/// A server-like kind's cores, and whether they slow each other down (USL): a sized box has
/// its vCPUs; an unsized server has one full-speed core per worker, so it is an exact M/M/c.
fn cores_of(kind: &NodeKind) -> (u32, bool) {
    match kind.size() {
        Some(size) => (size.vcpus(), true),
        None => (workers_and_queue(kind).0, false),
    }
}

/// What a server-like kind keeps: sessions in memory, a session store, a data cache, or none.
fn keeping_for(kind: &NodeKind) -> Kept {
    match kind {
        NodeKind::AppServer(p) if p.sessions == Sessions::Local => {
            Kept::LocalSessions(BTreeSet::new())
        }
        NodeKind::SessionStore(p) => {
            Kept::SessionStore(Box::new(Cache::new(Policy::Lru, p.capacity_sessions, None)))
        }
        NodeKind::Cache(p) => Kept::DataCache(Box::new(data_cache(p))),
        _ => Kept::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key a user is known by (sessions, sticky balancing, per-user limits) is the named
    /// hash of (node, user), whatever the half hashed ahead of time.
    #[test]
    fn a_users_key_is_the_hash_of_its_node_and_user() {
        for node in [0u32, 1, 7, 4_000_000] {
            let c = ClientState::new(
                &ClientParams::default(),
                NodeId(node),
                stream(1, node, 0, Stream::Content),
            );
            for user in [0u32, 1, 999, u32::MAX] {
                assert_eq!(
                    c.user_key(user),
                    super::super::hash::mix(&[u64::from(node), u64::from(user)])
                );
            }
        }
    }

    /// The running sums read the same integrals as adding up rate x time between changes,
    /// worked out here from what the instance holds, over random sequences of changes.
    mod integrals {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Hold,
            Unhold,
            Serve,
            Unserve,
            Queue,
            Take,
            Kill,
            Revive,
            Resize(u32, u32),
            Remove,
            Reset,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                6 => Just(Op::Hold),
                6 => Just(Op::Unhold),
                6 => Just(Op::Serve),
                6 => Just(Op::Unserve),
                4 => Just(Op::Queue),
                4 => Just(Op::Take),
                1 => Just(Op::Kill),
                1 => Just(Op::Revive),
                1 => (0u32..5, 0u32..5).prop_map(|(w, c)| Op::Resize(w, c)),
                1 => Just(Op::Remove),
                1 => Just(Op::Reset),
            ]
        }

        /// Each integral's rate, from the instance's fields, in `Areas`' order.
        fn rates(u: &Unit) -> [u128; 9] {
            let up = u.alive && u.workers > 0;
            let (workers, cores) = if u.alive {
                (u.workers, u.cores)
            } else {
                (0, 0)
            };
            [
                u128::from(u.serving),
                u128::from(u.held),
                u128::from(workers),
                u128::from(cores),
                u.queue.len() as u128,
                u128::from(up),
                u128::from(up && u.held >= u.workers),
                u128::from(up && u.serving >= u.cores),
                u128::from(!u.removed),
            ]
        }

        proptest! {
            #[test]
            fn the_running_sums_read_the_integrals_of_the_load(
                steps in proptest::collection::vec((0u64..3_000_000, op()), 1..120)
            ) {
                let kind = NodeKind::AppServer(crate::layout::AppParams {
                    workers: 2,
                    ..Default::default()
                });
                let start = 1_000;
                let mut u = Unit::new(1, NodeId(1), 0, "app".into(), &kind, start);
                let mut want = [0u128; 9];
                let (mut last, mut now) = (start, start);
                for (dt, op) in steps {
                    now += dt;
                    let r = rates(&u);
                    for k in 0..9 {
                        want[k] += r[k] * u128::from(now - last);
                    }
                    last = now;
                    match op {
                        Op::Hold if !u.removed => u.hold(now),
                        Op::Unhold if u.held > 0 => u.unhold(now),
                        Op::Serve if !u.removed => u.serve(now),
                        Op::Unserve if u.serving > 0 => u.unserve(now),
                        Op::Queue if !u.removed => u.queue_task(Task::Job(0), now),
                        Op::Take => {
                            u.take_task(now);
                        }
                        Op::Kill | Op::Remove | Op::Revive | Op::Resize(..) if !u.removed => {
                            let before = u.load();
                            match op {
                                Op::Kill | Op::Remove => {
                                    u.alive = false;
                                    u.queue.clear();
                                    (u.serving, u.held) = (0, 0);
                                    u.removed = matches!(op, Op::Remove);
                                }
                                Op::Revive => u.alive = true,
                                Op::Resize(w, c) => (u.workers, u.cores) = (w, c),
                                _ => {}
                            }
                            u.account(before, now);
                        }
                        Op::Reset => {
                            u.reset_stats(now);
                            want = [0; 9];
                        }
                        _ => {}
                    }
                }
                now += 12_345;
                let r = rates(&u);
                for k in 0..9 {
                    want[k] += r[k] * u128::from(now - last);
                }
                prop_assert_eq!(u.areas_at(now).as_array(), want);
            }
        }
    }
}
