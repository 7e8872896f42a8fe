//! A call to a balancer crosses its wire and then waits out the balancer's latency before it
//! is routed. What a balancer does at the arrival (it counts the call and checks it is up; it
//! records no trace decision) changes nothing the call's path depends on before the end of that
//! latency, so the two are one event: the call is `Relay` on its way, and one `Deliver` at
//! arrival + latency counts it and routes it. Two things differ from two events: the
//! balancer's `calls` figure counts a call one latency later (a call inside at the end of a run
//! is not counted yet), and the merged event is queued when the call leaves, so among events
//! of the same nanosecond it is ordered by that time rather than by its arrival. What could
//! happen in between is a kill, a removal (which kills first) or new parameters of the
//! balancer; each first turns its merged calls back into the two steps (`unmerge_relays`): a
//! call already inside is counted at its arrival and ends its latency as before, a call still
//! on the wire is delivered at its arrival.

use super::ix::{CallIx, UnitIx};
use super::queue::Ev;
use super::unit::Role;
use super::{CallState, Sim};
use crate::layout::KindTag;

impl Sim {
    /// The latency of the balancer `call` goes to, when its arrival and relay can be one event:
    /// a balancer up now with a latency (none: an arrival at once routes at once anyway), and
    /// a call that is neither a health probe nor a queue's message (whose arrival a queue
    /// counts when it happens).
    #[inline]
    pub(super) fn merged_relay_ns(&self, call: CallIx) -> Option<u64> {
        let c = &self.calls[call];
        let u = &self.units[c.callee];
        match &u.role {
            Role::Balancer(lb)
                if lb.latency_ns > 0
                    && u.alive
                    && !u.removed
                    && !c.probe
                    && (!self.had_queue() || self.units[c.caller].kind != KindTag::Queue) =>
            {
                Some(lb.latency_ns)
            }
            _ => None,
        }
    }

    /// Put `call` on its wire to a balancer as one event at its arrival plus the balancer's
    /// `relay_ns` (its arrival time kept for `unmerge_relays`).
    pub(super) fn send_relayed(&mut self, call: CallIx, relay_ns: u64) {
        let c = &mut self.calls[call];
        let arrive_ns = self.now_ns + c.latency_ns;
        c.state = CallState::Relay;
        c.queued_ns = arrive_ns;
        let ev = Ev::Deliver {
            call,
            epoch: c.epoch,
        };
        self.events.push(arrive_ns + relay_ns, ev);
    }

    /// The merged event: the call reached its balancer a latency ago and is routed now.
    pub(super) fn relay(&mut self, call: CallIx) {
        let unit = self.calls[call].callee;
        let u = &self.units[unit];
        let unchanged = u.alive && !u.removed && matches!(u.role, Role::Balancer(_));
        debug_assert!(unchanged, "a merged relay to an instance that changed");
        if !unchanged {
            // Unreachable (a kill, removal or change unmerges first); a plain delivery now.
            self.calls[call].state = CallState::Transit;
            return self.deliver(call);
        }
        self.units[unit].stats.calls += 1;
        self.calls[call].state = CallState::Service;
        self.lb_forward(call);
    }

    /// Turn the merged calls to `unit` back into an arrival and a relay of their own, before
    /// the balancer is killed, removed or changed: one already inside is counted at its arrival
    /// and relayed at the end of the latency it arrived with; one still on the wire is delivered
    /// at its arrival, to whatever the balancer is by then. The merged event, still queued,
    /// finds the call no longer `Relay` and does nothing.
    pub(super) fn unmerge_relays(&mut self, unit: UnitIx) {
        let Role::Balancer(lb) = &self.units[unit].role else {
            return;
        };
        let relay_ns = lb.latency_ns;
        let now = self.now_ns;
        for i in 0..self.calls.len() {
            let call = CallIx::at(i);
            let c = &mut self.calls[call];
            if c.state != CallState::Relay || c.callee != unit {
                continue;
            }
            let (arrive_ns, epoch) = (c.queued_ns, c.epoch);
            if arrive_ns < now {
                c.state = CallState::Service;
                self.units[unit].stats.calls += 1;
                self.events
                    .push(arrive_ns + relay_ns, Ev::Done { call, epoch });
            } else {
                c.state = CallState::Transit;
                self.events.push(arrive_ns, Ev::Deliver { call, epoch });
            }
        }
    }
}
