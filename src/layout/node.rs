//! Node kinds and their parameters. Units live in the field names; defaults come from `Default`
//! and agree with the metadata table in `params.rs` (a unit test checks that).

use serde::{Deserialize, Serialize};

use super::limiter::LimiterParams;
use super::size::Size;

/// What a node is, with its parameters. In RON: `client(qps: 3600)`, `app_server(count: 3)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Client(ClientParams),
    /// A floating IP or a DNS name in front of several balancers: the entry tier.
    Entry(EntryParams),
    LoadBalancer(BalancerParams),
    AppServer(AppParams),
    /// A shared session store (Redis-like) that app servers keep sessions in.
    SessionStore(StoreParams),
    /// A cache (Redis/memcached-like), or a cluster of `count` caches placed by key.
    Cache(CacheParams),
    /// Splits keys over the databases it is wired to (the shards).
    ShardRouter(RouterParams),
    Database(DbParams),
    /// A CDN edge cache in front of the entry tier: answers cacheable reads it holds.
    Cdn(CdnParams),
    /// A message queue: writers get an acknowledgement at once; the app servers it is wired
    /// to pull its messages as consumers.
    Queue(QueueParams),
    /// A token-bucket rate limiter in front of what it forwards to.
    RateLimiter(LimiterParams),
}

/// The kind of a node without its parameters: for tables, palettes and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindTag {
    Client,
    Entry,
    LoadBalancer,
    AppServer,
    SessionStore,
    Cache,
    ShardRouter,
    Database,
    Cdn,
    Queue,
    RateLimiter,
}

impl KindTag {
    /// Every kind, in palette order.
    pub const ALL: [KindTag; 11] = [
        KindTag::Client,
        KindTag::Entry,
        KindTag::LoadBalancer,
        KindTag::AppServer,
        KindTag::SessionStore,
        KindTag::Cache,
        KindTag::ShardRouter,
        KindTag::Database,
        KindTag::Cdn,
        KindTag::Queue,
        KindTag::RateLimiter,
    ];

    /// The name as written in files (`load_balancer`).
    pub fn file_name(self) -> &'static str {
        match self {
            KindTag::Client => "client",
            KindTag::Entry => "entry",
            KindTag::LoadBalancer => "load_balancer",
            KindTag::AppServer => "app_server",
            KindTag::SessionStore => "session_store",
            KindTag::Cache => "cache",
            KindTag::ShardRouter => "shard_router",
            KindTag::Database => "database",
            KindTag::Cdn => "cdn",
            KindTag::Queue => "queue",
            KindTag::RateLimiter => "rate_limiter",
        }
    }

    /// The name for people ("load balancer").
    pub fn label(self) -> &'static str {
        match self {
            KindTag::Client => "client",
            KindTag::Entry => "entry point",
            KindTag::LoadBalancer => "load balancer",
            KindTag::AppServer => "app server",
            KindTag::SessionStore => "session store",
            KindTag::Cache => "cache",
            KindTag::ShardRouter => "shard router",
            KindTag::Database => "database",
            KindTag::Cdn => "CDN edge",
            KindTag::Queue => "message queue",
            KindTag::RateLimiter => "rate limiter",
        }
    }

    /// A node of this kind with default parameters.
    pub fn default_kind(self) -> NodeKind {
        match self {
            KindTag::Client => NodeKind::Client(ClientParams::default()),
            KindTag::Entry => NodeKind::Entry(EntryParams::default()),
            KindTag::LoadBalancer => NodeKind::LoadBalancer(BalancerParams::default()),
            KindTag::AppServer => NodeKind::AppServer(AppParams::default()),
            KindTag::SessionStore => NodeKind::SessionStore(StoreParams::default()),
            KindTag::Cache => NodeKind::Cache(CacheParams::default()),
            KindTag::ShardRouter => NodeKind::ShardRouter(RouterParams::default()),
            KindTag::Database => NodeKind::Database(DbParams::default()),
            KindTag::Cdn => NodeKind::Cdn(CdnParams::default()),
            KindTag::Queue => NodeKind::Queue(QueueParams::default()),
            KindTag::RateLimiter => NodeKind::RateLimiter(LimiterParams::default()),
        }
    }
}

impl NodeKind {
    /// This kind without its parameters.
    pub fn tag(&self) -> KindTag {
        match self {
            NodeKind::Client(_) => KindTag::Client,
            NodeKind::Entry(_) => KindTag::Entry,
            NodeKind::LoadBalancer(_) => KindTag::LoadBalancer,
            NodeKind::AppServer(_) => KindTag::AppServer,
            NodeKind::SessionStore(_) => KindTag::SessionStore,
            NodeKind::Cache(_) => KindTag::Cache,
            NodeKind::ShardRouter(_) => KindTag::ShardRouter,
            NodeKind::Database(_) => KindTag::Database,
            NodeKind::Cdn(_) => KindTag::Cdn,
            NodeKind::Queue(_) => KindTag::Queue,
            NodeKind::RateLimiter(_) => KindTag::RateLimiter,
        }
    }

    /// How many simulated instances the node stands for (a pool's or cluster's `count`, else
    /// 1).
    pub fn count(&self) -> u32 {
        match self {
            NodeKind::AppServer(p) => p.count,
            NodeKind::Cache(p) => p.count,
            _ => 1,
        }
    }

    /// The instance size a server-like node names (`None` for an unsized server, and for
    /// clients, entries, balancers and routers).
    pub fn size(&self) -> Option<Size> {
        match self {
            NodeKind::AppServer(p) => p.size,
            NodeKind::SessionStore(p) => p.size,
            NodeKind::Cache(p) => p.size,
            NodeKind::Database(p) => p.size,
            _ => None,
        }
    }

    /// The size a node is billed as: its own, or the smallest for an unsized server (`None`
    /// for clients, entries, balancers and routers, which are not priced).
    pub fn billed_size(&self) -> Option<Size> {
        match self {
            NodeKind::AppServer(_)
            | NodeKind::SessionStore(_)
            | NodeKind::Cache(_)
            | NodeKind::Database(_) => Some(self.size().unwrap_or(Size::SMALLEST)),
            _ => None,
        }
    }

    /// Set the size of a server-like node; false for kinds without one.
    pub fn set_size(&mut self, size: Size) -> bool {
        match self {
            NodeKind::AppServer(p) => p.size = Some(size),
            NodeKind::SessionStore(p) => p.size = Some(size),
            NodeKind::Cache(p) => p.size = Some(size),
            NodeKind::Database(p) => p.size = Some(size),
            _ => return false,
        }
        true
    }
}

/// Open loop: requests arrive at a rate whatever happens to earlier ones.
/// Closed loop: a fixed number of users, each waiting for its reply and then thinking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopMode {
    #[default]
    Open,
    Closed,
}

/// How open-loop arrivals are spaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Exponential gaps: a Poisson process.
    #[default]
    Poisson,
    /// Equal gaps of 1/qps.
    Constant,
}

/// How request keys are drawn from `1..=keys`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyDist {
    #[default]
    Uniform,
    /// Zipf with exponent `key_zipf_alpha`: key 1 is the hottest.
    Zipf,
}

/// A client: where traffic comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientParams {
    pub mode: LoopMode,
    pub arrivals: Arrivals,
    /// Open loop: requests per second.
    pub qps: f64,
    /// Closed loop: concurrent users. Open loop: the user population requests are drawn from.
    pub users: u32,
    /// Closed loop: mean think time between a reply and the user's next request (exponential).
    pub think_ms: f64,
    /// Share of requests that are reads (the rest are writes), 0 to 1.
    pub read_share: f64,
    /// Number of distinct keys.
    pub keys: u32,
    pub key_dist: KeyDist,
    pub key_zipf_alpha: f64,
    /// Zipf exponent of user activity in open loop (0: every user equally busy).
    pub user_zipf_alpha: f64,
    /// Request paths and their shares (empty: every request is `/`). L7 balancers route on them.
    pub paths: Vec<PathShare>,
    /// Share of reads a CDN edge may cache (static assets, public pages), 0 to 1; the rest and
    /// every write pass through it to the origin.
    pub cacheable_share: f64,
}

/// A request path and the share of requests that use it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathShare {
    pub path: String,
    pub share: f64,
}

impl Default for ClientParams {
    fn default() -> Self {
        ClientParams {
            mode: LoopMode::Open,
            arrivals: Arrivals::Poisson,
            qps: 100.0,
            users: 1000,
            think_ms: 1000.0,
            read_share: 0.9,
            keys: 10_000,
            key_dist: KeyDist::Uniform,
            key_zipf_alpha: 1.0,
            user_zipf_alpha: 0.0,
            paths: Vec::new(),
            cacheable_share: 0.0,
        }
    }
}

/// A balancing algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LbAlgorithm {
    /// Each backend in turn.
    #[default]
    RoundRobin,
    /// Smooth weighted round-robin, as nginx does it (weights on the wires).
    WeightedRoundRobin,
    /// Uniformly at random.
    Random,
    /// The backend with the fewest requests in flight (L4: open connections).
    LeastConnections,
    /// The fewest in flight per unit of weight.
    WeightedLeastConnections,
    /// Two backends at random, the less loaded of the two.
    PowerOfTwo,
    /// A hash ring over the request key with `virtual_nodes` points per backend.
    ConsistentHash,
    /// Rendezvous (highest random weight) hashing on the request key.
    Rendezvous,
    /// Maglev hashing (a lookup table, Google's Maglev) on the request key at L7, on the
    /// connection (the client's address) at L4, where Maglev was built to run.
    Maglev,
    /// Sticky by the user's session cookie: a user stays on the server first chosen for them.
    StickyCookie,
    /// Sticky by a hash of the client's address (what an L4 balancer can do).
    StickyIp,
}

impl LbAlgorithm {
    /// Every algorithm, in menu order.
    pub const ALL: [LbAlgorithm; 11] = [
        LbAlgorithm::RoundRobin,
        LbAlgorithm::WeightedRoundRobin,
        LbAlgorithm::Random,
        LbAlgorithm::LeastConnections,
        LbAlgorithm::WeightedLeastConnections,
        LbAlgorithm::PowerOfTwo,
        LbAlgorithm::ConsistentHash,
        LbAlgorithm::Rendezvous,
        LbAlgorithm::Maglev,
        LbAlgorithm::StickyCookie,
        LbAlgorithm::StickyIp,
    ];

    /// The name as written in files.
    pub fn file_name(self) -> &'static str {
        match self {
            LbAlgorithm::RoundRobin => "round_robin",
            LbAlgorithm::WeightedRoundRobin => "weighted_round_robin",
            LbAlgorithm::Random => "random",
            LbAlgorithm::LeastConnections => "least_connections",
            LbAlgorithm::WeightedLeastConnections => "weighted_least_connections",
            LbAlgorithm::PowerOfTwo => "power_of_two",
            LbAlgorithm::ConsistentHash => "consistent_hash",
            LbAlgorithm::Rendezvous => "rendezvous",
            LbAlgorithm::Maglev => "maglev",
            LbAlgorithm::StickyCookie => "sticky_cookie",
            LbAlgorithm::StickyIp => "sticky_ip",
        }
    }

    /// The name for people.
    pub fn label(self) -> &'static str {
        match self {
            LbAlgorithm::RoundRobin => "round-robin",
            LbAlgorithm::WeightedRoundRobin => "weighted round-robin",
            LbAlgorithm::Random => "random",
            LbAlgorithm::LeastConnections => "least-connections",
            LbAlgorithm::WeightedLeastConnections => "weighted least-connections",
            LbAlgorithm::PowerOfTwo => "power of two choices",
            LbAlgorithm::ConsistentHash => "consistent hashing",
            LbAlgorithm::Rendezvous => "rendezvous hashing",
            LbAlgorithm::Maglev => "Maglev hashing",
            LbAlgorithm::StickyCookie => "sticky (cookie)",
            LbAlgorithm::StickyIp => "sticky (client address)",
        }
    }

    /// Whether an L4 balancer, which sees connections but not requests, can run it: it cannot
    /// see keys or cookies. Maglev can: at L4 it hashes the connection.
    pub fn allowed_at_l4(self) -> bool {
        !matches!(
            self,
            LbAlgorithm::ConsistentHash | LbAlgorithm::Rendezvous | LbAlgorithm::StickyCookie
        )
    }
}

/// What a balancer can see: L4 routes connections by address and port; L7 sees each request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    L4,
    #[default]
    L7,
}

/// What a balancer's health probe checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// Is the instance up? Answered at once by any live instance, however loaded.
    #[default]
    Shallow,
    /// A request to a health endpoint: it crosses the wire and waits in the server's queue
    /// for a worker like a request, so a saturated server answers late and fails it.
    Deep,
}

/// An L7 routing rule: requests whose path starts with `prefix` go to the backends behind the
/// wire to node `to` (for example `/static` to a static pool).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    pub prefix: String,
    pub to: crate::layout::NodeId,
}

/// A load balancer: spreads requests over the app servers it is wired to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BalancerParams {
    pub algorithm: LbAlgorithm,
    pub layer: Layer,
    /// Time the balancer adds to each request on its way in.
    pub latency_ms: f64,
    /// L7 only: extra time per request for TLS termination and parsing the request.
    pub l7_latency_ms: f64,
    /// Points per backend on a consistent-hash ring.
    pub virtual_nodes: u32,
    /// L7 only: route by path prefix; requests matching no rule go to the unnamed wires.
    pub path_rules: Vec<PathRule>,
    /// Health checks on or off. Off: a dead backend keeps getting traffic.
    pub health_checks: bool,
    /// Shallow (up or down) or deep (a request through the server's queue) probes.
    pub probe: Probe,
    /// Time between two probes of each backend.
    pub health_interval_ms: f64,
    /// A probe that gets no answer within this fails.
    pub health_timeout_ms: f64,
    /// Consecutive failed probes before a backend is marked down.
    pub unhealthy_threshold: u32,
    /// Consecutive passed probes before a backend marked down is used again.
    pub healthy_threshold: u32,
    /// L4 only: requests a client sends over one keep-alive connection before reconnecting
    /// (0: no limit).
    pub connection_requests: u32,
    /// L4 only: how long a keep-alive connection lives before the client reconnects (0: no
    /// limit).
    pub connection_lifetime_ms: f64,
}

impl Default for BalancerParams {
    fn default() -> Self {
        BalancerParams {
            algorithm: LbAlgorithm::RoundRobin,
            layer: Layer::L7,
            latency_ms: 0.1,
            l7_latency_ms: 0.0,
            virtual_nodes: 100,
            path_rules: Vec::new(),
            health_checks: true,
            probe: Probe::Shallow,
            health_interval_ms: 1000.0,
            health_timeout_ms: 500.0,
            unhealthy_threshold: 3,
            healthy_threshold: 2,
            connection_requests: 0,
            connection_lifetime_ms: 0.0,
        }
    }
}

/// How an entry spreads clients over the balancers it is wired to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryMode {
    /// Active-passive: a floating IP on the first wired balancer; after `missed_beats`
    /// heartbeats are missed the standby (the next wire) takes the IP over.
    #[default]
    FloatingIp,
    /// Active-active by plain round-robin DNS: every balancer keeps its share, dead or not.
    DnsRoundRobin,
    /// Active-active by health-checked DNS: a dead balancer is dropped from the answers after
    /// the checks; clients follow once their cached answer's TTL runs out.
    DnsHealthChecked,
}

/// The entry tier: a floating IP or a DNS name in front of balancers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntryParams {
    pub mode: EntryMode,
    /// Floating IP: heartbeat interval between the pair.
    pub heartbeat_ms: f64,
    /// Floating IP: heartbeats missed before the standby takes over.
    pub missed_beats: u32,
    /// DNS: how long clients cache an answer.
    pub dns_ttl_s: f64,
    /// Health-checked DNS: time between checks of each balancer.
    pub check_interval_ms: f64,
    /// Health-checked DNS: failed checks before a balancer is dropped.
    pub check_threshold: u32,
}

impl Default for EntryParams {
    fn default() -> Self {
        EntryParams {
            mode: EntryMode::FloatingIp,
            heartbeat_ms: 1000.0,
            missed_beats: 3,
            dns_ttl_s: 60.0,
            check_interval_ms: 10_000.0,
            check_threshold: 3,
        }
    }
}

/// Where an app server keeps user sessions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sessions {
    /// Stateless: no sessions at all.
    #[default]
    None,
    /// In the server's own memory: a user landing on another server is logged out, and a
    /// crash loses every session on the box.
    Local,
    /// In the session store the server is wired to: any server can serve any user.
    Store,
}

/// A shared session store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreParams {
    pub workers: u32,
    pub queue_capacity: u32,
    /// Mean time of one session lookup.
    pub service_ms: f64,
    /// Sessions it holds before evicting the least recently used.
    pub capacity_sessions: u32,
    /// Instance size: its vCPUs are cores that requests queue for, each slowed by contention
    /// and coherency (USL). `None`: an abstract server whose workers are its cores, at full
    /// speed (an exact M/M/c), billed as the smallest size.
    pub size: Option<Size>,
}

impl Default for StoreParams {
    fn default() -> Self {
        StoreParams {
            workers: 8,
            queue_capacity: 10_000,
            service_ms: 0.2,
            capacity_sessions: 1_000_000,
            size: None,
        }
    }
}

/// The shape of a service-time distribution; its mean is set separately.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceDist {
    Constant,
    #[default]
    Exponential,
    /// Log-normal with coefficient of variation `service_cv`.
    LogNormal,
}

/// An app server, or a pool of `count` identical ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppParams {
    /// Members of the pool (1: a single server).
    pub count: u32,
    /// Requests served at once per member. A worker stays held while it waits on downstream calls.
    pub workers: u32,
    /// Requests that may wait for a worker; one more fails with `queue_full`.
    pub queue_capacity: u32,
    pub service: ServiceDist,
    /// Mean CPU time per request.
    pub service_ms: f64,
    /// Coefficient of variation of a log-normal service time.
    pub service_cv: f64,
    /// Where user sessions live.
    pub sessions: Sessions,
    /// Instance size: its vCPUs are cores that requests queue for, each slowed by contention
    /// and coherency (USL). `None`: an abstract server whose workers are its cores, at full
    /// speed (an exact M/M/c), billed as the smallest size.
    pub size: Option<Size>,
    /// Entries each server keeps in its own in-memory cache of reads, checked before the shared
    /// cache and the database (0: none). A new server starts with it cold.
    pub local_cache_entries: u32,
    /// Let the pool change its own `count` to hold a target.
    pub autoscale: Option<Autoscale>,
}

/// What an autoscaler watches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleMetric {
    /// Mean CPU utilization of the pool's ready members, 0 to 1.
    #[default]
    CpuUtilization,
    /// Mean queue length per ready member.
    QueueLength,
}

/// An autoscaling policy for a pool (target tracking).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Autoscale {
    pub metric: ScaleMetric,
    /// The value to hold the metric at, e.g. 0.6 utilization.
    pub target: f64,
    pub min: u32,
    pub max: u32,
    /// How often the autoscaler looks, seconds.
    pub interval_s: f64,
    /// After a change, no scale-in for this long (scale-out is never held back).
    pub cooldown_s: f64,
    /// A new server boots for this long before it serves.
    pub boot_s: f64,
}

impl Autoscale {
    /// The policy a pool gets when autoscaling is switched on.
    pub const DEFAULT: Autoscale = Autoscale {
        metric: ScaleMetric::CpuUtilization,
        target: 0.6,
        min: 1,
        max: 10,
        interval_s: 5.0,
        cooldown_s: 60.0,
        boot_s: 30.0,
    };
}

impl Default for Autoscale {
    fn default() -> Self {
        Autoscale::DEFAULT
    }
}

impl Default for AppParams {
    fn default() -> Self {
        AppParams {
            count: 1,
            workers: 8,
            queue_capacity: 1000,
            service: ServiceDist::Exponential,
            service_ms: 5.0,
            service_cv: 1.0,
            sessions: Sessions::None,
            size: None,
            local_cache_entries: 0,
            autoscale: None,
        }
    }
}

/// A database: serves reads and writes with its own workers and queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbParams {
    pub workers: u32,
    pub queue_capacity: u32,
    pub service: ServiceDist,
    /// Mean time to serve a read.
    pub read_ms: f64,
    /// Mean time to serve a write.
    pub write_ms: f64,
    /// Coefficient of variation of a log-normal service time.
    pub service_cv: f64,
    /// Instance size: its vCPUs are cores that requests queue for, each slowed by contention
    /// and coherency (USL). `None`: an abstract server whose workers are its cores, at full
    /// speed (an exact M/M/c), billed as the smallest size.
    pub size: Option<Size>,
    /// Where a primary's reads go when it has read replicas.
    pub reads: ReadFrom,
    /// How long after a primary dies a replica is promoted in its place.
    pub promotion_delay_ms: f64,
}

/// Where reads go in a replicated database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// The primary only (replicas are standbys).
    Primary,
    /// The replicas only.
    #[default]
    Replicas,
    /// The primary and the replicas, in turn.
    PrimaryAndReplicas,
}

impl Default for DbParams {
    fn default() -> Self {
        DbParams {
            workers: 16,
            queue_capacity: 1000,
            service: ServiceDist::Exponential,
            read_ms: 2.0,
            write_ms: 5.0,
            service_cv: 1.0,
            size: None,
            reads: ReadFrom::Replicas,
            promotion_delay_ms: 30_000.0,
        }
    }
}

/// Which entry a cache evicts when full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eviction {
    /// Least recently used.
    #[default]
    Lru,
    /// Least frequently used (ties: least recently used).
    Lfu,
}

/// How keys are placed on the members of a cache cluster or on shards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// A hash ring: adding a member moves about 1/n of the keys.
    #[default]
    ConsistentHash,
    /// Hash modulo the member count: adding a member moves most keys.
    Modulo,
}

/// What a write does to the cached copy of its key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnWrite {
    /// Delete it: the next read misses and reloads from the database.
    #[default]
    Invalidate,
    /// Overwrite it with the new value.
    Update,
}

/// A cache, or a cluster of `count` caches. App servers wired to it use cache-aside: read the
/// cache, on a miss read the database and fill the cache.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheParams {
    /// Members of the cluster.
    pub count: u32,
    /// Entries each member holds.
    pub capacity_entries: u32,
    pub eviction: Eviction,
    /// Entries expire this long after they are written (0: never).
    pub ttl_s: f64,
    /// Mean time of one lookup (hit or miss).
    pub hit_ms: f64,
    pub workers: u32,
    pub queue_capacity: u32,
    pub placement: Placement,
    /// Ring points per member for consistent-hash placement.
    pub virtual_nodes: u32,
    pub on_write: OnWrite,
    /// Instance size: its vCPUs are cores that requests queue for, each slowed by contention
    /// and coherency (USL). `None`: an abstract server whose workers are its cores, at full
    /// speed (an exact M/M/c), billed as the smallest size.
    pub size: Option<Size>,
}

impl Default for CacheParams {
    fn default() -> Self {
        CacheParams {
            count: 1,
            capacity_entries: 10_000,
            eviction: Eviction::Lru,
            ttl_s: 0.0,
            hit_ms: 0.2,
            workers: 16,
            queue_capacity: 10_000,
            placement: Placement::ConsistentHash,
            virtual_nodes: 100,
            on_write: OnWrite::Invalidate,
            size: None,
        }
    }
}

/// How a shard router splits keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// By a hash of the key, placed on a ring (few keys move when shards are added).
    #[default]
    Hash,
    /// By a hash of the key modulo the shard count (most keys move).
    HashModulo,
    /// By key range: keys 1..=N split into equal ranges, in wire order (hot ranges stay hot).
    Range,
}

/// A shard router: sends each request to the shard (a database wired to it) owning its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouterParams {
    pub partitioning: Partitioning,
    /// Time the router adds to each request.
    pub latency_ms: f64,
    /// Ring points per shard for `hash` partitioning.
    pub virtual_nodes: u32,
}

impl Default for RouterParams {
    fn default() -> Self {
        RouterParams {
            partitioning: Partitioning::Hash,
            latency_ms: 0.05,
            virtual_nodes: 100,
        }
    }
}

/// A CDN edge cache: sits between clients and the entry tier (an entry, a balancer or an app
/// server). A cacheable read it holds is answered at the edge; a miss goes to the origin and
/// the answer fills the edge; writes and uncacheable reads pass through.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdnParams {
    /// Objects the edge holds before evicting.
    pub capacity: u32,
    /// Objects expire this long after they are filled (0: never).
    pub ttl_s: f64,
    /// Time the edge takes to answer a hit or pass a request on: it is close to the client,
    /// so this is much less than the round trip to the origin.
    pub latency_ms: f64,
    pub eviction: Eviction,
}

impl Default for CdnParams {
    fn default() -> Self {
        CdnParams {
            capacity: 10_000,
            ttl_s: 300.0,
            latency_ms: 1.0,
            eviction: Eviction::Lru,
        }
    }
}

/// A message queue (Kafka/SQS-like, one FIFO). An app server wired to it publishes one message
/// per write and has its acknowledgement after `ack_ms` (it does not wait for processing); the
/// app servers the queue is wired to are its consumers: a free worker pulls the oldest
/// message, which reaches it `delivery_latency_ms` later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueParams {
    /// Messages the queue holds; a write to a full queue fails with `message_queue_full`.
    pub capacity: u32,
    /// Time the queue takes to append a message and acknowledge the write.
    pub ack_ms: f64,
    /// Time from a consumer's worker pulling a message to the message reaching it.
    pub delivery_latency_ms: f64,
}

impl Default for QueueParams {
    fn default() -> Self {
        QueueParams {
            capacity: 10_000,
            ack_ms: 0.1,
            delivery_latency_ms: 1.0,
        }
    }
}
