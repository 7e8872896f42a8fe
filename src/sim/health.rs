//! Health: balancers' probes of their backends, entries' heartbeats and DNS checks, and the
//! per-instance count of balancers that have marked it down.

use crate::layout::Probe;

use super::hash::mix;
use super::ix::UnitIx;
use super::queue::Ev;
use super::unit::Role;
use super::{CallState, Req, Sim};

impl Sim {
    /// A balancer probes each backend. Shallow: an instance that is up answers at once; a dead
    /// one fails after the probe timeout. Deep: the probe is a call that crosses the wire and
    /// waits in the backend's queue (`send_deep_probe`).
    pub(super) fn on_probe(&mut self, lb_unit: UnitIx) {
        let now = self.now_ns;
        let Role::Balancer(lb) = &self.units[lb_unit].role else {
            return;
        };
        if !lb.params.health_checks {
            return;
        }
        let interval = crate::layout::ms_to_ns(lb.params.health_interval_ms).max(1);
        let timeout = crate::layout::ms_to_ns(lb.params.health_timeout_ms);
        let backends = lb.backend_units();
        let deep = lb.params.probe == Probe::Deep;
        if self.units[lb_unit].alive && deep {
            for b in backends {
                self.send_deep_probe(lb_unit, b, timeout);
            }
        } else if self.units[lb_unit].alive {
            for b in backends {
                let up = self.units[b].alive && !self.units[b].removed;
                if up {
                    if let Role::Balancer(lb) = &mut self.units[lb_unit].role
                        && lb.probe_result(b, true)
                    {
                        self.count_mark(b, false);
                        self.record_event(b, super::events::EventKind::MarkedUp, Some(lb_unit));
                    }
                } else {
                    self.events.push(
                        now + timeout,
                        Ev::ProbeFail {
                            unit: lb_unit,
                            backend: b,
                        },
                    );
                }
            }
        }
        self.events
            .push(now + interval, Ev::Probe { unit: lb_unit });
    }

    pub(super) fn on_probe_fail(&mut self, lb_unit: UnitIx, backend: UnitIx) {
        if let Role::Balancer(lb) = &mut self.units[lb_unit].role
            && lb.probe_result(backend, false)
        {
            self.count_mark(backend, true);
            self.record_event(backend, super::events::EventKind::MarkedDown, Some(lb_unit));
        }
    }

    /// Send a deep probe from a balancer to `backend` over their wire: a call of its own (an
    /// uncounted request slot, no client), failed after `timeout_ns` (0: no timeout) if no
    /// answer is back by then.
    fn send_deep_probe(&mut self, lb_unit: UnitIx, backend: UnitIx, timeout_ns: u64) {
        let Role::Balancer(lb) = &self.units[lb_unit].role else {
            return;
        };
        let Some((latency_ns, policy)) = lb.groups.iter().find_map(|g| {
            let i = g.backends.iter().position(|b| b.unit == backend)?;
            Some((g.latency_ns[i], g.policy[i]))
        }) else {
            return;
        };
        let now = self.now_ns;
        let req = self.alloc_req(Req {
            id: 0,
            client: lb_unit,
            user: 0,
            user_key: 0,
            key: 0,
            path: None,
            read: false,
            born_ns: now,
            counted: false,
            live: false,
            refs: 0,
            trace: None,
            attempt: 0,
            calls: 0,
            asked: false,
            cacheable: false,
        });
        let call = self.alloc_call(req, None, lb_unit, backend, latency_ns, policy);
        let c = &mut self.calls[call];
        c.probe = true;
        c.state = CallState::Transit;
        let epoch = c.epoch;
        if timeout_ns > 0 {
            self.events
                .push(now + timeout_ns, Ev::Timeout { call, epoch });
        }
        if latency_ns == 0 {
            self.deliver(call);
        } else {
            self.events
                .push(now + latency_ns, Ev::Deliver { call, epoch });
        }
    }

    /// A deep probe's answer (or its failure or timeout) reaches the balancer that sent it.
    pub(super) fn probe_verdict(&mut self, lb_unit: UnitIx, backend: UnitIx, ok: bool) {
        if !self.units[lb_unit].alive {
            return;
        }
        let Role::Balancer(lb) = &mut self.units[lb_unit].role else {
            return;
        };
        if !lb.params.health_checks || !lb.probe_result(backend, ok) {
            return;
        }
        self.count_mark(backend, !ok);
        let kind = if ok {
            super::events::EventKind::MarkedUp
        } else {
            super::events::EventKind::MarkedDown
        };
        self.record_event(backend, kind, Some(lb_unit));
    }

    /// Schedule the first health probe of a balancer, at a phase of its own so balancers do not
    /// probe in lockstep.
    pub(super) fn start_probes(&mut self, lb_unit: UnitIx) {
        let u = &self.units[lb_unit];
        let Role::Balancer(lb) = &u.role else {
            return;
        };
        if !lb.params.health_checks {
            return;
        }
        let interval = crate::layout::ms_to_ns(lb.params.health_interval_ms).max(1);
        let phase = mix(&[u64::from(u.node.0), u64::from(u.member)]) % interval;
        self.events
            .push(self.now_ns + phase, Ev::Probe { unit: lb_unit });
    }

    /// Heartbeats (floating IP) or DNS health checks of an entry.
    pub(super) fn on_entry_check(&mut self, entry: UnitIx) {
        let now = self.now_ns;
        let u = &self.units[entry];
        let up: Vec<bool> = u
            .routes
            .iter()
            .flat_map(|r| r.units.iter())
            .map(|&x| self.units[x].alive && !self.units[x].removed)
            .collect();
        let Role::Entry(e) = &mut self.units[entry].role else {
            return;
        };
        e.set_targets(up.len());
        let failovers = e.failovers;
        e.check(&up);
        let (interval, failed_over) = (e.check_interval_ns(), e.failovers != failovers);
        if failed_over {
            self.record_failover(entry);
        }
        if interval > 0 {
            self.events
                .push(now + interval, Ev::EntryCheck { unit: entry });
        }
    }

    /// Schedule an entry's first check.
    pub(super) fn start_entry_checks(&mut self, entry: UnitIx) {
        let Role::Entry(e) = &self.units[entry].role else {
            return;
        };
        let interval = e.check_interval_ns();
        if interval > 0 {
            self.events
                .push(self.now_ns + interval, Ev::EntryCheck { unit: entry });
        }
    }

    /// Whether any balancer has marked `unit` down (kept as a count per instance, updated when
    /// a health verdict flips, so the window can ask for every node on every frame).
    pub(super) fn marked_down(&self, unit: UnitIx) -> bool {
        self.marked_by.get(unit.index()).is_some_and(|&n| n > 0)
    }

    /// A balancer's verdict on `unit` flipped to `down` (true) or back up.
    pub(super) fn count_mark(&mut self, unit: UnitIx, down: bool) {
        let i = unit.index();
        if self.marked_by.len() <= i {
            self.marked_by.resize(i + 1, 0);
        }
        let n = &mut self.marked_by[i];
        *n = if down { *n + 1 } else { n.saturating_sub(1) };
    }
}
