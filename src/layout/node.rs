//! Node kinds and their parameters. Units live in the field names; defaults come from `Default`
//! and agree with the metadata table in `params.rs` (a unit test checks that).

use serde::{Deserialize, Serialize};

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
    Database(DbParams),
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
    Database,
}

impl KindTag {
    /// Every kind, in palette order.
    pub const ALL: [KindTag; 6] = [
        KindTag::Client,
        KindTag::Entry,
        KindTag::LoadBalancer,
        KindTag::AppServer,
        KindTag::SessionStore,
        KindTag::Database,
    ];

    /// The name as written in files (`load_balancer`).
    pub fn file_name(self) -> &'static str {
        match self {
            KindTag::Client => "client",
            KindTag::Entry => "entry",
            KindTag::LoadBalancer => "load_balancer",
            KindTag::AppServer => "app_server",
            KindTag::SessionStore => "session_store",
            KindTag::Database => "database",
        }
    }

    /// The name for people ("load balancer").
    pub fn label(self) -> &'static str {
        match self {
            KindTag::Client => "client",
            KindTag::Entry => "entry (floating IP or DNS)",
            KindTag::LoadBalancer => "load balancer",
            KindTag::AppServer => "app server",
            KindTag::SessionStore => "session store",
            KindTag::Database => "database",
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
            KindTag::Database => NodeKind::Database(DbParams::default()),
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
            NodeKind::Database(_) => KindTag::Database,
        }
    }

    /// How many simulated instances the node stands for (a pool's `count`, else 1).
    pub fn count(&self) -> u32 {
        match self {
            NodeKind::AppServer(p) => p.count,
            _ => 1,
        }
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
    /// Maglev hashing on the request key (a lookup table, Google's Maglev).
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
    /// see keys or cookies.
    pub fn allowed_at_l4(self) -> bool {
        !matches!(
            self,
            LbAlgorithm::ConsistentHash
                | LbAlgorithm::Rendezvous
                | LbAlgorithm::Maglev
                | LbAlgorithm::StickyCookie
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
}

impl Default for StoreParams {
    fn default() -> Self {
        StoreParams {
            workers: 8,
            queue_capacity: 10_000,
            service_ms: 0.2,
            capacity_sessions: 1_000_000,
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
        }
    }
}
