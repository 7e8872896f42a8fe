//! Forwarding: a balancer, an entry or an app server picks the next instance to call and
//! makes the downstream call (an app server calls its wires in turn, cache-aside).

use super::balance::RequestView;
use super::hash::mix;
use super::ix::{CallIx, PolicyIx, ReqIx, UnitIx};
use super::lb::LbSlot;
use super::request::FailReason;
use super::trace::What;
use super::unit::{self, Role};
use super::{CallState, Sim};
use crate::layout::{KindTag, Layer};

impl Sim {
    /// The instance forwarding `call` (its callee) and the call's request; `None` when the
    /// request has caused its most calls, and the call has failed with `call_limit` instead.
    pub(super) fn forwarding(&mut self, call: CallIx) -> Option<(UnitIx, ReqIx)> {
        let c = &self.calls[call];
        let (unit, req) = (c.callee, c.req);
        if self.at_call_limit(req) {
            self.finish(call, Some(FailReason::CallLimit));
            return None;
        }
        Some((unit, req))
    }

    /// `call` waits while its callee calls `to` over a wire with this latency and policy (`lb`:
    /// where a balancer placed the new call).
    pub(super) fn call_down(
        &mut self,
        call: CallIx,
        to: UnitIx,
        latency_ns: u64,
        policy: PolicyIx,
        lb: LbSlot,
    ) {
        let c = &mut self.calls[call];
        c.state = CallState::Waiting;
        let (req, unit) = (c.req, c.callee);
        let child = self.alloc_call(req, Some(call), unit, to, latency_ns, policy);
        self.calls[child].lb = lb;
        self.calls[child].lb_counted = true;
        self.send(child);
    }

    /// A balancer routes the call to a backend.
    pub(super) fn lb_forward(&mut self, call: CallIx) {
        let now = self.now_ns;
        let Some((unit, req)) = self.forwarding(call) else {
            return;
        };
        let r = &self.reqs[req];
        let (key, user_key, path_index, client) = (r.key, r.user_key, r.path, r.client);
        let Role::Balancer(lb) = &self.units[unit].role else {
            return;
        };
        let l7 = lb.params.layer == Layer::L7;
        // The group is chosen while the client's path is borrowed, so no path is copied.
        let path = match (&self.units[client].role, path_index) {
            (Role::Client(c), Some(i)) if l7 && !lb.params.path_rules.is_empty() => c.path(i),
            _ => None,
        };
        let Some(gi) = lb.group_for(path) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        let view = RequestView {
            key: if l7 { mix(&[u64::from(key)]) } else { 0 },
            user: if l7 { user_key } else { 0 },
            client: user_key,
        };
        let u = &mut self.units[unit];
        let Role::Balancer(lb) = &mut u.role else {
            return;
        };
        let Some(route) = lb.route_in(gi, &view, now, &mut u.rng) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        let g = &lb.groups[route.group as usize];
        let lat = g.latency_ns[route.index as usize];
        let policy = g.policy[route.index as usize];
        let slot = LbSlot {
            group: route.group,
            index: route.index,
            generation: lb.generation,
        };
        if !route.reused_connection {
            let why = route.why;
            let to = route.unit;
            self.trace_decision(req, unit, |_| What::Balanced { to, why });
        }
        self.call_down(call, route.unit, lat, policy, slot);
    }

    /// An entry (floating IP or DNS) passes the call to one of its balancers.
    pub(super) fn entry_forward(&mut self, call: CallIx) {
        let now = self.now_ns;
        let Some((unit, req)) = self.forwarding(call) else {
            return;
        };
        let client = self.reqs[req].user_key;
        let u = &mut self.units[unit];
        let Role::Entry(e) = &mut u.role else {
            return;
        };
        let n = unit::target_count(&u.routes);
        let Some((to, lat, policy)) = e
            .target(client, n, now)
            .and_then(|i| unit::nth_target(&u.routes, i))
        else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        self.trace_decision(req, unit, |_| What::Entered { to });
        self.call_down(call, to, lat, policy, LbSlot::default());
    }

    /// An app server makes its next downstream call, or answers when it has made them all.
    pub(super) fn proceed(&mut self, call: CallIx) {
        let c = &self.calls[call];
        let (mut stage, unit, skip_db) = (c.stage as usize, c.callee, c.skip_db);
        let read = self.reqs[c.req].read;
        let routes = &self.units[unit].routes;
        // Cache-aside: a write does not read the cache; a cache hit does not read the database.
        while let Some(r) = routes.get(stage) {
            let skip = match r.to_kind {
                KindTag::Cache => !read || skip_db,
                KindTag::Database | KindTag::ShardRouter => skip_db,
                // Only a write publishes a message.
                KindTag::Queue => read,
                _ => false,
            };
            if !skip {
                break;
            }
            stage += 1;
        }
        self.calls[call].stage = stage as u16;
        if stage >= routes.len() {
            return self.finish(call, None);
        }
        let c = &mut self.calls[call];
        c.stage += 1;
        c.attempt = 0;
        self.call_stage(call, stage);
    }

    /// Make the downstream call of route `stage` (a first attempt or a retry).
    pub(super) fn call_stage(&mut self, call: CallIx, stage: usize) {
        let Some((unit, req)) = self.forwarding(call) else {
            return;
        };
        let u = &mut self.units[unit];
        let Some(route) = u.routes.get_mut(stage) else {
            return self.finish(call, None);
        };
        if route.units.is_empty() {
            return self.finish(call, Some(FailReason::NoBackend));
        }
        let (lat, policy, to_kind, to_node, first) = (
            route.latency_ns,
            route.policy,
            route.to_kind,
            route.to_node,
            route.first,
        );
        let r = &self.reqs[req];
        let (key, read) = (r.key, r.read);
        let to = match (to_kind, &route.placement) {
            // A cache cluster: the member owning the key.
            (KindTag::Cache, Some(p)) => p
                .member(key, route.units.len())
                .map(|i| route.units[i])
                .unwrap_or(route.units[0]),
            // A database: writes to the primary, reads as it spreads them.
            (KindTag::Database, _) => match self.resolve_db(to_node, first, read) {
                Some(u) => u,
                None => return self.finish(call, Some(FailReason::NoBackend)),
            },
            _ => {
                let i = route.next % route.units.len();
                route.next = (i + 1) % route.units.len();
                route.units[i]
            }
        };
        if to_kind == KindTag::Database {
            self.trace_decision(req, unit, |sim| What::DatabaseChosen {
                to,
                read,
                replica: sim.units[to].node != to_node,
            });
        }
        self.call_down(call, to, lat, policy, LbSlot::default());
    }
}
