//! What a layout may cost, worked out from the file alone: calls per request and peak memory.
//!
//! `check` refuses a layout whose worst request could cause more than
//! [`CALLS_PER_REQUEST_MAX`] calls (naming the path), and one whose estimated peak memory is
//! above [`MEMORY_BUDGET_BYTES`] (a warning from half of it). The core enforces the same call
//! limit on every request as it runs (`sim::limits`), so a live edit cannot get round it: edits
//! go through `check` too.
//!
//! Rust cannot turn a failed allocation into an error, so this estimate is the guard against a
//! file that would exhaust memory. It is deliberately an upper estimate built from the sizes the
//! core's structures take per item (the `*_BYTES` constants below), never a measurement.

use std::collections::BTreeMap;

use super::node::{KindTag, LoopMode, NodeKind, Placement, Sessions};
use super::{Layout, Node, NodeId};

/// Most calls one request may cause, counting every retry: `check` refuses a layout whose
/// worst path may exceed it, and the core fails the calls beyond it with `call_limit`.
pub const CALLS_PER_REQUEST_MAX: u32 = 10_000;
/// Most memory a layout's run may be estimated to need: 2 GB. From half of it, a warning.
pub const MEMORY_BUDGET_BYTES: u64 = 2_000_000_000;

/// One point of a consistent-hash ring (hash and member).
pub const RING_POINT_BYTES: u64 = 16;
/// One cache entry: the slab entry with its list links and expiry, plus its index slot.
pub const CACHE_ENTRY_BYTES: u64 = 64;
/// One remembered user: a session in a server's memory, a balancer's connection or sticky
/// entry (an ordered-map node).
pub const USER_ENTRY_BYTES: u64 = 48;
/// One call in flight: its slot, its queue place and its pending event (a test in `sim`
/// checks this against the core's real sizes). 104 since a call keeps when it joined its
/// queue (the measured wait beside theory).
pub const CALL_BYTES: u64 = 104;
/// One key's latest write in a replication group, per replica.
pub const REPLICA_KEY_BYTES: u64 = 48;
/// One message waiting in a queue (`sim/mq.rs`'s `Message`, with room to spare).
pub const MESSAGE_BYTES: u64 = 48;
/// A Maglev table per balancer group.
pub const MAGLEV_TABLE_BYTES: u64 = 65_537 * 4;

/// The worst request of a layout: how many calls it may cause, and along which path.
#[derive(Clone, Debug, PartialEq)]
pub struct WorstCalls {
    pub calls: f64,
    /// Node names from the client down the heaviest branch.
    pub path: Vec<String>,
}

/// The worst case calls per request over every client: at each balancer, entry or router the
/// heaviest backend, at an app server the sum of its calls (it makes all of them), each times
/// (retries + 1) of its wire. `None` when there is no client or the wires loop (`check`
/// reports the loop).
pub fn worst_calls(layout: &Layout) -> Option<WorstCalls> {
    let mut memo: BTreeMap<NodeId, (f64, Vec<NodeId>)> = BTreeMap::new();
    let mut best: Option<(f64, Vec<NodeId>)> = None;
    for n in &layout.nodes {
        if n.kind.tag() != KindTag::Client {
            continue;
        }
        let (below, path) = downstream(layout, n.id, &mut memo, 0)?;
        if best.as_ref().is_none_or(|b| below > b.0) {
            let mut p = vec![n.id];
            p.extend(path);
            best = Some((below, p));
        }
    }
    best.map(|(calls, path)| WorstCalls {
        calls,
        path: path.into_iter().map(|id| layout.name_of(id)).collect(),
    })
}

/// Calls caused below `node` by one call into it (not counting that call), and the path of
/// the heaviest branch. Depth-limited so that a loop (an error of its own) ends.
fn downstream(
    layout: &Layout,
    node: NodeId,
    memo: &mut BTreeMap<NodeId, (f64, Vec<NodeId>)>,
    depth: usize,
) -> Option<(f64, Vec<NodeId>)> {
    if let Some(v) = memo.get(&node) {
        return Some(v.clone());
    }
    if depth > layout.nodes.len() {
        return None;
    }
    let sums = layout
        .node(node)
        .is_some_and(|n| n.kind.tag() == KindTag::AppServer);
    // A queue acknowledges a write at once: what its consumers call belongs to the message,
    // which the core limits as a request of its own.
    if layout
        .node(node)
        .is_some_and(|n| n.kind.tag() == KindTag::Queue)
    {
        return Some((0.0, Vec::new()));
    }
    let mut total = 0.0;
    let mut heaviest: Option<(f64, Vec<NodeId>)> = None;
    for w in layout.wires_from(node) {
        let (below, path) = downstream(layout, w.to, memo, depth + 1)?;
        let branch = (f64::from(w.retries) + 1.0) * (1.0 + below);
        if sums {
            total += branch;
        } else {
            total = f64::max(total, branch);
        }
        if heaviest.as_ref().is_none_or(|h| branch > h.0) {
            let mut p = vec![w.to];
            p.extend(path);
            heaviest = Some((branch, p));
        }
    }
    let v = (total, heaviest.map(|h| h.1).unwrap_or_default());
    memo.insert(node, v.clone());
    Some(v)
}

/// One line of the memory estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryItem {
    /// The node (or `layout`) the bytes belong to.
    pub place: String,
    pub node: Option<NodeId>,
    pub what: &'static str,
    pub bytes: u64,
}

/// The estimated peak memory of a run of `layout`, largest first.
pub fn memory_estimate(layout: &Layout) -> Vec<MemoryItem> {
    let mut items = Vec::new();
    let mut add = |node: Option<NodeId>, what: &'static str, bytes: f64| {
        if bytes >= 1.0 {
            items.push(MemoryItem {
                place: node.map_or("layout".into(), |id| layout.name_of(id)),
                node,
                what,
                bytes: bytes.min(u64::MAX as f64) as u64,
            });
        }
    };
    let clients = || {
        layout.nodes.iter().filter_map(|n| match &n.kind {
            NodeKind::Client(c) => Some(c),
            _ => None,
        })
    };
    let users: f64 = clients().map(|c| f64::from(c.users)).sum();
    let keys: f64 = clients().map(|c| f64::from(c.keys)).fold(0.0, f64::max);
    let open_qps: f64 = clients()
        .filter(|c| c.mode == LoopMode::Open)
        .map(|c| c.qps)
        .sum();
    let closed_users: f64 = clients()
        .filter(|c| c.mode == LoopMode::Closed)
        .map(|c| f64::from(c.users))
        .sum();
    let calls = worst_calls(layout).map_or(1.0, |w| w.calls.max(1.0));
    let max_latency_s = layout
        .wires
        .iter()
        .map(|w| w.latency_ms / 1e3)
        .fold(0.0, f64::max);
    for n in &layout.nodes {
        node_memory(layout, n, users, keys, &mut add);
    }
    // Calls in flight: what crosses the wires (open-loop arrivals over the longest wire, both
    // ways) and every closed-loop user's request. Full queues are not priced here: a queue
    // fills only under overload, over time, so the core bounds it as it runs instead
    // (`sim::limits::CALLS_IN_FLIGHT_MAX`).
    let on_wires = open_qps * calls * 2.0 * max_latency_s + closed_users * calls;
    add(None, "calls in flight", on_wires * CALL_BYTES as f64);
    items.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.place.cmp(&b.place)));
    items
}

/// The memory one node's structures may take (`users`: every client's users; `keys`: the
/// largest key space), passed to `add` as (node, what, bytes).
fn node_memory(
    layout: &Layout,
    n: &Node,
    users: f64,
    keys: f64,
    add: &mut impl FnMut(Option<NodeId>, &'static str, f64),
) {
    let id = Some(n.id);
    let count = |c: u32, auto: Option<u32>| f64::from(c.max(auto.unwrap_or(0)));
    match &n.kind {
        NodeKind::Client(c) => add(id, "users", f64::from(c.users) * 2.0),
        NodeKind::LoadBalancer(b) => {
            let backends = backend_instances(layout, n.id);
            let groups = 1.0 + b.path_rules.len() as f64;
            let ring = backends * f64::from(b.virtual_nodes) * RING_POINT_BYTES as f64;
            let table = groups * (ring + MAGLEV_TABLE_BYTES as f64);
            add(id, "balancing ring or table", table);
            let sticky = users * USER_ENTRY_BYTES as f64;
            add(id, "connections and sticky entries", sticky);
        }
        NodeKind::AppServer(a) => {
            let c = count(a.count, a.autoscale.as_ref().map(|x| x.max));
            if a.sessions == Sessions::Local {
                add(
                    id,
                    "sessions in memory",
                    c * users * USER_ENTRY_BYTES as f64,
                );
            }
            let entries = f64::from(a.local_cache_entries).min(keys);
            add(id, "local caches", c * entries * CACHE_ENTRY_BYTES as f64);
        }
        NodeKind::Cache(p) => {
            let c = f64::from(p.count);
            add(
                id,
                "cache entries",
                c * f64::from(p.capacity_entries).min(keys) * CACHE_ENTRY_BYTES as f64,
            );
            if p.placement == Placement::ConsistentHash {
                add(
                    id,
                    "placement ring",
                    c * f64::from(p.virtual_nodes) * RING_POINT_BYTES as f64,
                );
            }
        }
        NodeKind::SessionStore(s) => {
            add(
                id,
                "sessions",
                f64::from(s.capacity_sessions).min(users) * CACHE_ENTRY_BYTES as f64,
            );
        }
        NodeKind::Database(_) => {
            let replicas = layout
                .replication
                .iter()
                .filter(|r| r.primary == n.id)
                .count() as f64;
            add(
                id,
                "replication log",
                replicas * keys * REPLICA_KEY_BYTES as f64,
            );
        }
        NodeKind::ShardRouter(r) => {
            let shards = layout.wires_from(n.id).count() as f64;
            add(
                id,
                "shard ring",
                shards * f64::from(r.virtual_nodes) * RING_POINT_BYTES as f64,
            );
        }
        NodeKind::Entry(_) => {}
        NodeKind::Cdn(p) => add(
            id,
            "edge objects",
            f64::from(p.capacity).min(keys) * CACHE_ENTRY_BYTES as f64,
        ),
        NodeKind::Queue(q) => add(
            id,
            "messages in the queue",
            f64::from(q.capacity) * MESSAGE_BYTES as f64,
        ),
        NodeKind::RateLimiter(l) => {
            // One bucket per user or client at most (a user's bucket is forgotten once full).
            let buckets = match l.per {
                crate::layout::LimitPer::User => users,
                _ => 1.0 + layout.nodes.len() as f64,
            };
            add(id, "token buckets", buckets * USER_ENTRY_BYTES as f64);
        }
    }
}

/// The instances behind a balancer's wires, pools counted at their largest autoscaled size.
fn backend_instances(layout: &Layout, id: NodeId) -> f64 {
    layout
        .wires_from(id)
        .filter_map(|w| layout.node(w.to))
        .map(|t| match &t.kind {
            NodeKind::AppServer(a) => {
                f64::from(a.count.max(a.autoscale.as_ref().map_or(0, |x| x.max)))
            }
            k => f64::from(k.count()),
        })
        .sum()
}

/// A byte count for messages: "3.9 GB".
pub fn fmt_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} kB", b / 1e3)
    }
}
