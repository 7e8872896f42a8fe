//! The data tier in the core: cache-aside reads and writes, read replicas with lag, stale reads
//! and failover, shard routing, and pool autoscaling.

use std::collections::{BTreeMap, VecDeque};

use rand_distr::{Distribution as _, Exp1};

use crate::layout::{
    KindTag, LagDist, NodeId, NodeKind, OnWrite, ReadFrom, ReplicationMode, ScaleMetric, ms_to_ns,
    s_to_ns,
};

use super::queue::Ev;
use super::request::FailReason;
use super::rng::{SimRng, Stream, stream};
use super::unit::{self, Role, SessionKeeping};
use super::{CallState, Sim};

/// One replica of a replication group.
#[derive(Clone, Debug)]
pub(super) struct ReplicaLink {
    pub node: NodeId,
    pub mode: ReplicationMode,
    pub lag_ns: f64,
    pub lag: LagDist,
    /// When this replica will have applied everything written so far (applies are in order).
    pub applied_through_ns: u64,
}

/// A replication group's per-key map is first pruned at this size.
const LATEST_PRUNE_MIN: usize = 4096;

/// A write the replicas may not all have yet.
#[derive(Clone, Debug)]
struct WriteRec {
    commit_ns: u64,
    /// When each replica applies it, in `replicas` order.
    apply_ns: Vec<u64>,
}

/// A primary and its read replicas.
#[derive(Clone, Debug)]
pub(super) struct ReplGroup {
    /// The database the layout names as primary: callers stay wired to it, and after a
    /// promotion their calls go to the group's current primary.
    pub origin: NodeId,
    /// The database holding the primary role now (a replica after a promotion).
    pub primary: NodeId,
    pub replicas: Vec<ReplicaLink>,
    /// When the primary died, if it is down and no replica is promoted yet.
    pub down_since: Option<u64>,
    pub promote_epoch: u32,
    /// Per key: when each replica applies its latest write. Keys every replica has applied
    /// are pruned (they can no longer give a stale read) whenever the map has doubled.
    latest: BTreeMap<u32, Vec<u64>>,
    /// Size of `latest` at which it is next pruned.
    prune_at: usize,
    /// Writes not yet applied everywhere, oldest first.
    log: VecDeque<WriteRec>,
    read_next: usize,
    rng: SimRng,
}

impl ReplGroup {
    /// Keys whose latest write the group remembers.
    pub(super) fn keys_held(&self) -> usize {
        self.latest.len()
    }
}

/// A pool's autoscaler.
#[derive(Clone, Debug)]
pub(super) struct Autoscaler {
    pub node: NodeId,
    pub last_change_ns: Option<u64>,
    /// +1 after a scale-out, -1 after a scale-in.
    pub last_direction: i8,
    pub scale_outs: u64,
    pub scale_ins: u64,
    /// Changes of direction within one cool-down of the previous change.
    pub flaps: u64,
    pub max_count: u32,
    /// Areas at the previous look, per member unit: (cpu, capacity).
    sampled: BTreeMap<u32, (u128, u128)>,
    /// Autoscaling was switched off at a look, so no look is scheduled; switching it on again
    /// schedules the next one.
    stopped: bool,
}

/// What the report shows of an autoscaler.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleReport {
    pub node: NodeId,
    pub name: String,
    pub count: u32,
    pub max_count: u32,
    pub scale_outs: u64,
    pub scale_ins: u64,
    pub flaps: u64,
}

/// A change of shard count and how many keys it moved.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardMove {
    pub router: String,
    pub at_s: f64,
    pub shards_before: usize,
    pub shards_after: usize,
    /// Share of keys now owned by another shard, over the client's key space.
    pub moved_share: f64,
}

impl Sim {
    // ----- Replication -----

    /// Build the replication groups from the layout's links.
    pub(super) fn build_replication(&mut self) {
        let mut groups: Vec<ReplGroup> = Vec::new();
        for r in &self.layout.replication {
            let gi = match groups.iter().position(|g| g.primary == r.primary) {
                Some(i) => i,
                None => {
                    groups.push(ReplGroup {
                        origin: r.primary,
                        primary: r.primary,
                        replicas: Vec::new(),
                        down_since: None,
                        promote_epoch: 0,
                        latest: BTreeMap::new(),
                        prune_at: LATEST_PRUNE_MIN,
                        log: VecDeque::new(),
                        read_next: 0,
                        rng: stream(self.seed, r.primary.0, 0xffff, Stream::Service),
                    });
                    groups.len() - 1
                }
            };
            groups[gi].replicas.push(ReplicaLink {
                node: r.replica,
                mode: r.mode,
                lag_ns: r.lag_ms * 1e6,
                lag: r.lag,
                applied_through_ns: 0,
            });
        }
        self.repl = groups;
    }

    /// The replication group `node` belongs to, and its replica index (`None`: the primary,
    /// or the original primary that callers are wired to).
    fn repl_role(&self, node: NodeId) -> Option<(usize, Option<usize>)> {
        for (gi, g) in self.repl.iter().enumerate() {
            if g.primary == node || g.origin == node {
                return Some((gi, None));
            }
            if let Some(ri) = g.replicas.iter().position(|r| r.node == node) {
                return Some((gi, Some(ri)));
            }
        }
        None
    }

    fn first_unit(&self, node: NodeId) -> Option<u32> {
        self.unit_index.get(&(node, 0)).copied()
    }

    fn is_up(&self, unit: u32) -> bool {
        let u = &self.units[unit as usize];
        u.alive && !u.removed
    }

    /// The database instance a call for `node` goes to: writes to the group's primary (even a
    /// dead one: writes fail until a replica is promoted), reads as the primary's `reads`
    /// setting says, skipping replicas that are down.
    pub(super) fn resolve_db(&mut self, node: NodeId, read: bool) -> Option<u32> {
        let Some((gi, replica)) = self.repl_role(node) else {
            return self.first_unit(node);
        };
        if replica.is_some() {
            // Wired straight to a replica: it serves what it is sent.
            return self.first_unit(node);
        }
        let (primary, origin) = (self.repl[gi].primary, self.repl[gi].origin);
        if !read {
            return self.first_unit(primary);
        }
        // The read setting of the primary the layout wires to, before and after a promotion.
        let reads = match self.layout.node(origin).map(|n| &n.kind) {
            Some(NodeKind::Database(p)) => p.reads,
            _ => ReadFrom::Primary,
        };
        let mut candidates: Vec<u32> = Vec::new();
        if reads != ReadFrom::Replicas {
            candidates.extend(self.first_unit(primary));
        }
        if reads != ReadFrom::Primary {
            for r in &self.repl[gi].replicas {
                if let Some(u) = self.first_unit(r.node)
                    && self.is_up(u)
                {
                    candidates.push(u);
                }
            }
        }
        if candidates.is_empty() {
            return self.first_unit(primary);
        }
        let g = &mut self.repl[gi];
        let i = g.read_next % candidates.len();
        g.read_next = g.read_next.wrapping_add(1);
        Some(candidates[i])
    }

    /// A database instance finished serving a call: record writes for the replicas, catch
    /// stale reads, and hold a synchronous write until its replicas have it. Returns true when
    /// the call is held (the caller must not finish it yet).
    pub(super) fn on_db_served(&mut self, call: u32) -> bool {
        let now = self.now_ns;
        let c = &self.calls[call as usize];
        let (unit, req) = (c.callee, c.req);
        let r = &self.reqs[req as usize];
        let (read, key, counted) = (r.read, r.key, r.counted);
        let node = self.units[unit as usize].node;
        let Some((gi, replica)) = self.repl_role(node) else {
            return false;
        };
        let g = &mut self.repl[gi];
        if read {
            if let Some(ri) = replica
                && g.latest
                    .get(&key)
                    .is_some_and(|a| a.get(ri).is_some_and(|&t| t > now))
                && counted
            {
                self.totals.stale_reads += 1;
            }
            return false;
        }
        if replica.is_some() || g.primary != node {
            return false;
        }
        // A write at the primary: each replica applies it after its lag, in order.
        let mut apply_ns = Vec::with_capacity(g.replicas.len());
        let mut sync_until = now;
        for link in &mut g.replicas {
            let lag = match link.lag {
                LagDist::Constant => link.lag_ns,
                LagDist::Exponential => {
                    let e: f64 = Exp1.sample(&mut g.rng);
                    e * link.lag_ns
                }
            };
            let at = (now + unit::ns(lag)).max(link.applied_through_ns);
            link.applied_through_ns = at;
            apply_ns.push(at);
            if link.mode == ReplicationMode::Sync {
                sync_until = sync_until.max(at);
            }
        }
        if g.replicas.is_empty() {
            return false;
        }
        g.latest.insert(key, apply_ns.clone());
        if g.latest.len() >= g.prune_at {
            g.latest.retain(|_, a| a.iter().any(|&t| t > now));
            g.prune_at = (g.latest.len() * 2).max(LATEST_PRUNE_MIN);
        }
        g.log.push_back(WriteRec {
            commit_ns: sync_until,
            apply_ns,
        });
        while g
            .log
            .front()
            .is_some_and(|w| w.apply_ns.iter().all(|&a| a <= now))
        {
            g.log.pop_front();
        }
        if sync_until > now {
            let epoch = self.calls[call as usize].epoch;
            self.events.push(sync_until, Ev::Replicated { call, epoch });
            return true;
        }
        false
    }

    /// A synchronous write's replicas have it: the primary acknowledges.
    pub(super) fn on_replicated(&mut self, call: u32, epoch: u32) {
        if self.call_is(call, epoch, CallState::Service) {
            self.proceed(call);
        }
    }

    /// The instance `unit` died: if it is a group's primary, a promotion is scheduled.
    pub(super) fn on_db_killed(&mut self, unit: u32) {
        let now = self.now_ns;
        let node = self.units[unit as usize].node;
        let Some((gi, None)) = self.repl_role(node) else {
            return;
        };
        // A deposed primary dying again changes nothing: only the current primary's death
        // calls for a promotion.
        if self.repl[gi].primary != node {
            return;
        }
        let delay = match self.layout.node(node).map(|n| &n.kind) {
            Some(NodeKind::Database(p)) => ms_to_ns(p.promotion_delay_ms),
            _ => 0,
        };
        let g = &mut self.repl[gi];
        g.down_since = Some(now);
        g.promote_epoch = g.promote_epoch.wrapping_add(1);
        let epoch = g.promote_epoch;
        self.events.push(
            now + delay,
            Ev::Promote {
                group: gi as u32,
                epoch,
            },
        );
    }

    /// The primary came back before its replacement was promoted: nothing changes.
    pub(super) fn on_db_revived(&mut self, unit: u32) {
        let node = self.units[unit as usize].node;
        if let Some((gi, None)) = self.repl_role(node)
            && self.repl[gi].primary == node
        {
            let g = &mut self.repl[gi];
            g.down_since = None;
            g.promote_epoch = g.promote_epoch.wrapping_add(1);
        }
    }

    /// Promote the first live replica of a group whose primary is still down. With
    /// asynchronous replication, the acknowledged writes it never received are lost.
    pub(super) fn on_promote(&mut self, group: u32, epoch: u32) {
        let gi = group as usize;
        let Some(g) = self.repl.get(gi) else {
            return;
        };
        if g.promote_epoch != epoch {
            return;
        }
        let Some(died) = g.down_since else {
            return;
        };
        let pick = g.replicas.iter().position(|r| {
            self.first_unit(r.node).is_some_and(|u| {
                let u = &self.units[u as usize];
                u.alive && !u.removed
            })
        });
        let Some(ri) = pick else {
            return;
        };
        let counted = self.now_ns >= self.warmup_ns;
        let g = &mut self.repl[gi];
        let lost = g
            .log
            .iter()
            .filter(|w| w.commit_ns <= died && w.apply_ns.get(ri).is_some_and(|&a| a > died))
            .count() as u64;
        let link = g.replicas.remove(ri);
        g.primary = link.node;
        g.down_since = None;
        g.log.clear();
        g.latest.clear();
        for l in &mut g.replicas {
            l.applied_through_ns = l.applied_through_ns.max(self.now_ns);
        }
        if counted {
            self.totals.writes_lost += lost;
        }
        self.totals.promotions += 1;
        self.record_node_event(super::events::EventKind::Promotion, link.node, None);
        self.notes.push(format!(
            "{:.3} s: {} promoted to primary; {lost} acknowledged writes lost",
            self.now_ns as f64 / 1e9,
            self.layout.name_of(link.node)
        ));
    }

    // ----- Cache-aside -----

    /// After the database answered an app server: fill the cache on a read miss; invalidate or
    /// update it on a write.
    pub(super) fn touch_cache_after_db(&mut self, app_call: u32) {
        let now = self.now_ns;
        let c = &self.calls[app_call as usize];
        let (unit, req) = (c.callee, c.req);
        let r = &self.reqs[req as usize];
        let (read, key) = (r.read, r.key);
        // The app server's own cache: fill it on a read, drop its copy on a write (other
        // servers' copies go stale until they are evicted: the cost of local caches).
        if let Some(local) = &mut self.units[unit as usize].local_cache {
            if read {
                local.put(u64::from(key), now);
            } else {
                local.invalidate(u64::from(key));
            }
        }
        let Some(route) = self.units[unit as usize]
            .routes
            .iter()
            .find(|r| r.to_kind == KindTag::Cache)
        else {
            return;
        };
        let Some(placement) = &route.placement else {
            return;
        };
        let Some(i) = placement.member(key, route.units.len()) else {
            return;
        };
        let member = route.units[i];
        let on_write = match self.layout.node(route.to_node).map(|n| &n.kind) {
            Some(NodeKind::Cache(p)) => p.on_write,
            _ => OnWrite::Invalidate,
        };
        let m = &mut self.units[member as usize];
        if !m.alive || m.removed {
            return;
        }
        if let Role::Server {
            sessions: SessionKeeping::Data(cache),
            ..
        } = &mut m.role
        {
            if read {
                cache.put(u64::from(key), now);
            } else {
                match on_write {
                    OnWrite::Invalidate => {
                        cache.invalidate(u64::from(key));
                    }
                    OnWrite::Update => cache.put(u64::from(key), now),
                }
            }
        }
    }

    // ----- Shards -----

    /// A shard router sends the call to the shard owning its key.
    pub(super) fn router_forward(&mut self, call: u32) {
        let (unit, req) = {
            let c = &self.calls[call as usize];
            (c.callee, c.req)
        };
        if self.at_call_limit(req) {
            return self.finish(call, Some(FailReason::CallLimit));
        }
        let r = &self.reqs[req as usize];
        let (key, read, client) = (r.key, r.read, r.client);
        let keys = match &self.units[client as usize].role {
            Role::Client(c) => c.params.keys,
            _ => 1,
        };
        let Role::Router(router) = &self.units[unit as usize].role else {
            return;
        };
        let Some(shard) = router.shard_of(key, keys) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        let shard_node = router.shards[shard];
        let Some(route) = self.units[unit as usize]
            .routes
            .iter()
            .find(|r| r.to_node == shard_node)
        else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        let (lat, policy) = (route.latency_ns, route.policy);
        let Some(to) = self.resolve_db(shard_node, read) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        self.calls[call as usize].state = CallState::Waiting;
        let child = self.alloc_call(req, call, unit, to, lat, policy);
        self.send(child);
    }

    /// A router's shards changed: install them and report how many keys moved.
    pub(super) fn set_router_shards(&mut self, unit: u32, shards: Vec<NodeId>) {
        let now = self.now_ns;
        let keys = self
            .units
            .iter()
            .filter_map(|u| match &u.role {
                Role::Client(c) => Some(c.params.keys),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        let name = self.units[unit as usize].name.clone();
        let Role::Router(router) = &mut self.units[unit as usize].role else {
            return;
        };
        if router.shards == shards {
            return;
        }
        let before = (**router).clone();
        **router = unit::RouterState::new(&before.params, shards);
        if before.shards.is_empty() {
            return;
        }
        // Sample the key space (every key up to 100,000; evenly spread beyond).
        let samples = keys.min(100_000);
        let step = (keys / samples).max(1);
        let mut moved = 0u64;
        for i in 0..samples {
            let key = 1 + i * step;
            let a = before.shard_of(key, keys).map(|s| before.shards[s]);
            let b = router.shard_of(key, keys).map(|s| router.shards[s]);
            if a != b {
                moved += 1;
            }
        }
        self.shard_moves.push(ShardMove {
            router: name,
            at_s: now as f64 / 1e9,
            shards_before: before.shards.len(),
            shards_after: router.shards.len(),
            moved_share: moved as f64 / f64::from(samples),
        });
    }

    // ----- Autoscaling -----

    /// Create the autoscalers of the layout's pools and schedule their first look.
    pub(super) fn build_autoscalers(&mut self) {
        let pools: Vec<(NodeId, f64)> = self
            .layout
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::AppServer(p) => p.autoscale.as_ref().map(|a| (n.id, a.interval_s)),
                _ => None,
            })
            .collect();
        for (node, interval_s) in pools {
            if let Some(index) = self.autoscalers.iter().position(|a| a.node == node) {
                if self.autoscalers[index].stopped {
                    self.autoscalers[index].stopped = false;
                    self.events.push(
                        self.now_ns + s_to_ns(interval_s).max(1),
                        Ev::Autoscale {
                            index: index as u32,
                        },
                    );
                }
                continue;
            }
            let count = self.layout.node(node).map_or(1, |n| n.kind.count());
            self.autoscalers.push(Autoscaler {
                node,
                last_change_ns: None,
                last_direction: 0,
                scale_outs: 0,
                scale_ins: 0,
                flaps: 0,
                max_count: count,
                sampled: BTreeMap::new(),
                stopped: false,
            });
            let index = (self.autoscalers.len() - 1) as u32;
            self.events.push(
                self.now_ns + s_to_ns(interval_s).max(1),
                Ev::Autoscale { index },
            );
        }
    }

    /// An autoscaler looks at its pool and changes its size if the metric is off target.
    pub(super) fn on_autoscale(&mut self, index: u32) {
        let now = self.now_ns;
        let Some(a) = self.autoscalers.get(index as usize) else {
            return;
        };
        let node = a.node;
        let Some(NodeKind::AppServer(p)) = self.layout.node(node).map(|n| n.kind.clone()) else {
            return;
        };
        let Some(cfg) = p.autoscale.clone() else {
            self.autoscalers[index as usize].stopped = true;
            return;
        };
        let count = p.count;
        let ready: Vec<u32> = self
            .members(node)
            .into_iter()
            .filter(|&u| self.units[u as usize].alive)
            .collect();
        // The metric over the interval since the last look.
        let mut cpu = 0u128;
        let mut cap = 0u128;
        let mut queue = 0usize;
        for &u in &ready {
            let unit = &mut self.units[u as usize];
            unit.integrate(now);
            let prev = self.autoscalers[index as usize]
                .sampled
                .get(&u)
                .copied()
                .unwrap_or((unit.stats.cpu_area, unit.stats.capacity_area));
            cpu += unit.stats.cpu_area.saturating_sub(prev.0);
            cap += unit.stats.capacity_area.saturating_sub(prev.1);
            queue += unit.queue.len();
        }
        let mut sampled = BTreeMap::new();
        for &u in &ready {
            let s = &self.units[u as usize].stats;
            sampled.insert(u, (s.cpu_area, s.capacity_area));
        }
        self.autoscalers[index as usize].sampled = sampled;
        let value = match cfg.metric {
            ScaleMetric::CpuUtilization => {
                if cap > 0 {
                    cpu as f64 / cap as f64
                } else {
                    0.0
                }
            }
            ScaleMetric::QueueLength => queue as f64 / ready.len().max(1) as f64,
        };
        // Target tracking: size the pool so the metric would sit at the target.
        let serving = ready.len().max(1) as f64;
        let wanted = (serving * value / cfg.target).ceil() as u32;
        let desired = wanted.clamp(cfg.min.max(1), cfg.max.max(1));
        let a = &self.autoscalers[index as usize];
        let since = a.last_change_ns.map(|t| now.saturating_sub(t));
        let cooldown = s_to_ns(cfg.cooldown_s);
        let direction: i8 = match desired.cmp(&count) {
            std::cmp::Ordering::Greater => 1,
            std::cmp::Ordering::Less if since.is_none_or(|s| s >= cooldown) => -1,
            _ => 0,
        };
        if direction != 0 {
            let a = &mut self.autoscalers[index as usize];
            if a.last_direction != 0
                && a.last_direction != direction
                && since.is_some_and(|s| s < cooldown)
            {
                a.flaps += 1;
            }
            a.last_direction = direction;
            a.last_change_ns = Some(now);
            if direction > 0 {
                a.scale_outs += 1;
            } else {
                a.scale_ins += 1;
            }
            a.max_count = a.max_count.max(desired);
            self.resize_pool(node, desired, s_to_ns(cfg.boot_s));
            let kind = if direction > 0 {
                super::events::EventKind::ScaleOut
            } else {
                super::events::EventKind::ScaleIn
            };
            self.record_node_event(kind, node, Some(format!("{count} -> {desired}")));
        }
        self.events.push(
            now + s_to_ns(cfg.interval_s).max(1),
            Ev::Autoscale { index },
        );
    }

    /// Change a pool's size by itself (not a user's command): new members boot first, members
    /// taken out finish what they hold (connection draining).
    fn resize_pool(&mut self, node: NodeId, count: u32, boot_ns: u64) {
        let now = self.now_ns;
        let Some(n) = self.layout.node_mut(node) else {
            return;
        };
        let old = n.kind.count();
        if let NodeKind::AppServer(p) = &mut n.kind {
            p.count = count;
        }
        let (kind, name) = (n.kind.clone(), n.name.clone());
        if count > old {
            self.add_units(node, &kind, &name, old);
            for m in old..count {
                if let Some(&u) = self.unit_index.get(&(node, m)) {
                    let unit = &mut self.units[u as usize];
                    unit.ready_ns = now + boot_ns;
                    if boot_ns > 0 {
                        self.events.push(now + boot_ns, Ev::Ready { unit: u });
                    }
                }
            }
        } else {
            for m in count..old {
                if let Some(&u) = self.unit_index.get(&(node, m)) {
                    self.units[u as usize].draining = true;
                    self.retire_if_idle(u);
                }
            }
        }
        self.rebuild_routes();
    }

    /// A booted server joins the rotation.
    pub(super) fn on_ready(&mut self, _unit: u32) {
        self.rebuild_routes();
    }

    /// A draining server with nothing left to do is removed.
    pub(super) fn retire_if_idle(&mut self, unit: u32) {
        let u = &mut self.units[unit as usize];
        if u.draining && u.held == 0 && u.queue.is_empty() && !u.removed {
            let now = self.now_ns;
            u.integrate(now);
            u.removed = true;
            u.alive = false;
            u.draining = false;
            self.record_event(unit, super::events::EventKind::Removed, None);
        }
    }

    /// The autoscalers' state, for the report.
    pub fn autoscale_report(&self) -> Vec<AutoscaleReport> {
        self.autoscalers
            .iter()
            .map(|a| AutoscaleReport {
                node: a.node,
                name: self.layout.name_of(a.node),
                count: self.layout.node(a.node).map_or(0, |n| n.kind.count()),
                max_count: a.max_count,
                scale_outs: a.scale_outs,
                scale_ins: a.scale_ins,
                flaps: a.flaps,
            })
            .collect()
    }

    /// Changes of shard count so far and the keys they moved.
    pub fn shard_moves(&self) -> &[ShardMove] {
        &self.shard_moves
    }
}
