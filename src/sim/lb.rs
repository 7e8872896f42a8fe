//! A balancer instance in the running core: its backends in groups (one per L7 path rule, plus
//! the default group), requests in flight per backend, health-check state, and, at L4, the
//! clients' keep-alive connections.
//!
//! The algorithms themselves live in `balance/`; this file decides what they see. An L7
//! balancer places each request and counts requests in flight; an L4 balancer places
//! connections: a client's requests ride its connection to the same backend until the
//! connection is recycled, and L4 least-connections counts open connections.

use super::ix::{PolicyIx, UnitIx};
use std::collections::BTreeMap;

use crate::layout::{BalancerParams, Layer, ms_to_ns};

use super::balance::{Backend, Balancer, Pick, RequestView, Why};
use super::rng::SimRng;
use super::unit;

/// The backends behind one routing choice.
#[derive(Clone, Debug)]
pub struct Group {
    /// `None`: the default group (wires not named by a path rule).
    pub prefix: Option<String>,
    pub backends: Vec<Backend>,
    /// One-way latency of each backend's wire.
    pub latency_ns: Vec<u64>,
    /// Index of each backend's wire policy in the core's table.
    pub policy: Vec<PolicyIx>,
    pub balancer: Balancer,
}

/// A balancer's backend groups from its routes: the default group first (wires no path rule
/// names), then one per rule; `keys[unit]` is each instance's stable hash key.
pub(super) fn build_groups(
    params: &BalancerParams,
    routes: &[unit::Route],
    keys: &[u64],
) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of = |prefix: Option<&str>| -> usize {
        if let Some(i) = groups.iter().position(|g| g.prefix.as_deref() == prefix) {
            return i;
        }
        groups.push(Group {
            prefix: prefix.map(str::to_string),
            backends: Vec::new(),
            latency_ns: Vec::new(),
            policy: Vec::new(),
            balancer: Balancer::new(params.algorithm, params.virtual_nodes),
        });
        groups.len() - 1
    };
    let _ = group_of(None);
    let mut placed: Vec<(usize, &unit::Route)> = Vec::new();
    for r in routes {
        let rules: Vec<&str> = params
            .path_rules
            .iter()
            .filter(|rule| rule.to == r.to_node)
            .map(|rule| rule.prefix.as_str())
            .collect();
        if rules.is_empty() {
            placed.push((0, r));
        }
        for p in rules {
            placed.push((group_of(Some(p)), r));
        }
    }
    for (gi, r) in placed {
        let g = &mut groups[gi];
        for &unit in &r.units {
            g.backends.push(Backend {
                unit,
                key: keys[unit.index()],
                weight: r.weight.max(1),
                in_flight: 0,
                healthy: true,
            });
            g.latency_ns.push(r.latency_ns);
            g.policy.push(r.policy);
        }
    }
    groups
}

/// Per-call routing facts a balancer needs back when the call ends.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LbSlot {
    pub group: u16,
    pub index: u16,
    pub generation: u32,
}

/// Health-check bookkeeping of one backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Health {
    pub healthy: bool,
    pub fails: u32,
    pub passes: u32,
}

/// A client's keep-alive connection through an L4 balancer.
#[derive(Clone, Copy, Debug)]
struct Conn {
    backend: UnitIx,
    requests_left: u32,
    expires_ns: u64,
}

/// Where a request goes: group, backend index in the group, and why.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub group: u16,
    pub index: u16,
    pub unit: UnitIx,
    pub why: Why,
    /// L4: the request rode an existing connection (no algorithm ran).
    pub reused_connection: bool,
}

/// A balancer's state in the core.
#[derive(Clone, Debug)]
pub struct LbState {
    pub params: BalancerParams,
    pub latency_ns: u64,
    pub groups: Vec<Group>,
    /// Health by backend instance.
    pub health: BTreeMap<UnitIx, Health>,
    /// L4 connections by client address hash.
    conns: BTreeMap<u64, Conn>,
    /// L4: open connections per backend instance.
    open: BTreeMap<UnitIx, u32>,
    /// The instance picked last, for the window.
    pub last_pick: Option<UnitIx>,
    /// Bumped when the backend set changes, so stale bookkeeping is recognised.
    pub generation: u32,
}

impl LbState {
    /// Bytes of its groups, health marks and L4 connections (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        use super::footprint::{btree, vec};
        std::mem::size_of::<LbState>() as u64
            + vec(&self.groups, self.groups.capacity())
            + self
                .groups
                .iter()
                .map(|g| {
                    vec(&g.backends, g.backends.capacity())
                        + vec(&g.latency_ns, g.latency_ns.capacity())
                        + vec(&g.policy, g.policy.capacity())
                })
                .sum::<u64>()
            + btree::<UnitIx, Health>(self.health.len())
            + btree::<u64, Conn>(self.conns.len())
            + btree::<UnitIx, u32>(self.open.len())
    }

    /// A balancer with no backends yet.
    pub fn new(params: &BalancerParams) -> Self {
        LbState {
            params: params.clone(),
            latency_ns: Self::latency(params),
            groups: Vec::new(),
            health: BTreeMap::new(),
            conns: BTreeMap::new(),
            open: BTreeMap::new(),
            last_pick: None,
            generation: 0,
        }
    }

    fn latency(p: &BalancerParams) -> u64 {
        ms_to_ns(p.latency_ms)
            + if p.layer == Layer::L7 {
                ms_to_ns(p.l7_latency_ms)
            } else {
                0
            }
    }

    /// Take changed parameters; a new algorithm starts fresh.
    pub fn set_params(&mut self, params: &BalancerParams) {
        let algorithm_changed = params.algorithm != self.params.algorithm
            || params.virtual_nodes != self.params.virtual_nodes;
        let layer_changed = params.layer != self.params.layer;
        self.params = params.clone();
        self.latency_ns = Self::latency(params);
        if algorithm_changed {
            for g in &mut self.groups {
                g.balancer = Balancer::new(params.algorithm, params.virtual_nodes);
                g.balancer.rebuild(&g.backends);
            }
        }
        if layer_changed {
            self.conns.clear();
            self.open.clear();
            self.refresh_counts();
        }
    }

    /// Install new backend groups (after a structural change), keeping health, in-flight counts
    /// and the algorithms' state where the group is the same.
    pub fn set_groups(&mut self, mut groups: Vec<Group>) {
        for g in &mut groups {
            let old = self.groups.iter().position(|o| o.prefix == g.prefix);
            for b in &mut g.backends {
                let h = self.health.entry(b.unit).or_insert(Health {
                    healthy: true,
                    ..Default::default()
                });
                b.healthy = h.healthy;
                if let Some(o) = old
                    && let Some(ob) = self.groups[o].backends.iter().find(|x| x.unit == b.unit)
                {
                    b.in_flight = ob.in_flight;
                }
            }
            if let Some(o) = old {
                g.balancer = self.groups[o].balancer.clone();
            }
            g.balancer.rebuild(&g.backends);
        }
        self.groups = groups;
        self.generation = self.generation.wrapping_add(1);
        self.refresh_counts();
    }

    /// Every backend instance, once, in group order.
    pub fn backend_units(&self) -> Vec<UnitIx> {
        let mut out: Vec<UnitIx> = Vec::new();
        for g in &self.groups {
            for b in &g.backends {
                if !out.contains(&b.unit) {
                    out.push(b.unit);
                }
            }
        }
        out
    }

    /// Choose the group for a request path: the longest matching prefix, else the default.
    pub fn group_for(&self, path: Option<&str>) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        if let Some(path) = path {
            for (i, g) in self.groups.iter().enumerate() {
                if let Some(p) = &g.prefix
                    && path.starts_with(p.as_str())
                    && best.is_none_or(|(_, len)| p.len() > len)
                {
                    best = Some((i, p.len()));
                }
            }
        }
        best.map(|(i, _)| i)
            .or_else(|| self.groups.iter().position(|g| g.prefix.is_none()))
    }

    /// Route one request within group `gi` (from `group_for`). `view` is what the balancer
    /// may see (the caller blanks key and cookie at L4).
    pub fn route_in(
        &mut self,
        gi: usize,
        view: &RequestView,
        now_ns: u64,
        rng: &mut SimRng,
    ) -> Option<Route> {
        if self.params.layer == Layer::L4 {
            return self.route_l4(gi, view, now_ns, rng);
        }
        let g = &mut self.groups[gi];
        let Pick { index, why } = g.balancer.pick(&g.backends, view, rng)?;
        g.backends[index].in_flight += 1;
        let unit = g.backends[index].unit;
        Some(self.routed(gi, index, unit, why, false))
    }

    fn route_l4(
        &mut self,
        gi: usize,
        view: &RequestView,
        now_ns: u64,
        rng: &mut SimRng,
    ) -> Option<Route> {
        let conn_key = view.client;
        if let Some(c) = self.conns.get_mut(&conn_key) {
            let g = &self.groups[gi];
            let alive = c.requests_left > 0 && now_ns < c.expires_ns;
            if alive
                && let Some(index) = g.backends.iter().position(|b| b.unit == c.backend)
                && g.backends[index].healthy
            {
                if c.requests_left != u32::MAX {
                    c.requests_left -= 1;
                }
                let unit = c.backend;
                let why = Why::RoundRobin { previous: None };
                return Some(self.routed(gi, index, unit, why, true));
            }
            // The connection is used up, expired, or its backend is gone: close it.
            let backend = c.backend;
            self.conns.remove(&conn_key);
            self.close(backend);
        }
        // A new connection: a hashing algorithm (Maglev) hashes the connection, which is all
        // an L4 balancer sees of it: the client's address.
        let conn_view = RequestView {
            key: view.client,
            user: 0,
            client: view.client,
        };
        let g = &mut self.groups[gi];
        let Pick { index, why } = g.balancer.pick(&g.backends, &conn_view, rng)?;
        let unit = g.backends[index].unit;
        let requests_left = match self.params.connection_requests {
            0 => u32::MAX,
            n => n - 1,
        };
        let expires_ns = match ms_to_ns(self.params.connection_lifetime_ms) {
            0 => u64::MAX,
            life => now_ns.saturating_add(life),
        };
        self.conns.insert(
            conn_key,
            Conn {
                backend: unit,
                requests_left,
                expires_ns,
            },
        );
        self.count_open(unit, true);
        Some(self.routed(gi, index, unit, why, false))
    }

    /// The route to `unit`, the `index`th backend of group `gi`, remembered as the last pick.
    fn routed(&mut self, gi: usize, index: usize, unit: UnitIx, why: Why, reused: bool) -> Route {
        self.last_pick = Some(unit);
        Route {
            group: gi as u16,
            index: index as u16,
            unit,
            why,
            reused_connection: reused,
        }
    }

    fn close(&mut self, backend: UnitIx) {
        self.count_open(backend, false);
    }

    /// One connection to `backend` more (or fewer), and its count where the algorithms see it:
    /// only that backend's entries change, not every backend's.
    fn count_open(&mut self, backend: UnitIx, opened: bool) {
        let n = self.open.entry(backend).or_default();
        *n = if opened { *n + 1 } else { n.saturating_sub(1) };
        let n = *n;
        for g in &mut self.groups {
            for b in g.backends.iter_mut().filter(|b| b.unit == backend) {
                b.in_flight = n;
            }
        }
    }

    /// At L4, what the algorithms count is open connections.
    fn refresh_counts(&mut self) {
        if self.params.layer != Layer::L4 {
            return;
        }
        for g in &mut self.groups {
            for b in &mut g.backends {
                b.in_flight = self.open.get(&b.unit).copied().unwrap_or(0);
            }
        }
    }

    /// An L7 request routed at (`group`, `index`) finished at the balancer.
    pub fn release(&mut self, group: u16, index: u16, unit: UnitIx, generation: u32) {
        if self.params.layer == Layer::L4 {
            return;
        }
        let slot = if generation == self.generation {
            self.groups
                .get_mut(group as usize)
                .and_then(|g| g.backends.get_mut(index as usize))
                .filter(|b| b.unit == unit)
        } else {
            None
        };
        let b = match slot {
            Some(b) => Some(b),
            None => self
                .groups
                .iter_mut()
                .flat_map(|g| g.backends.iter_mut())
                .find(|b| b.unit == unit),
        };
        if let Some(b) = b {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
    }

    /// A connection's backend failed a request (it is down): the client drops the connection.
    pub fn drop_connection(&mut self, client: u64) {
        if let Some(c) = self.conns.remove(&client) {
            self.close(c.backend);
        }
    }

    /// Record a probe of `unit`; returns true when its health flipped.
    pub fn probe_result(&mut self, unit: UnitIx, ok: bool) -> bool {
        let (up_after, down_after) = (
            self.params.healthy_threshold.max(1),
            self.params.unhealthy_threshold.max(1),
        );
        let h = self.health.entry(unit).or_insert(Health {
            healthy: true,
            ..Default::default()
        });
        let before = h.healthy;
        if ok {
            h.fails = 0;
            h.passes += 1;
            if !h.healthy && h.passes >= up_after {
                h.healthy = true;
            }
        } else {
            h.passes = 0;
            h.fails += 1;
            if h.healthy && h.fails >= down_after {
                h.healthy = false;
            }
        }
        let after = h.healthy;
        if before != after {
            for g in &mut self.groups {
                for b in &mut g.backends {
                    if b.unit == unit {
                        b.healthy = after;
                    }
                }
            }
        }
        before != after
    }
}
