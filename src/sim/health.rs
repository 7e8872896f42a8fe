//! Health: balancers' probes of their backends, entries' heartbeats and DNS checks, and the
//! per-instance count of balancers that have marked it down.

use super::Sim;
use super::hash::mix;
use super::queue::Ev;
use super::unit::Role;

impl Sim {
    /// A balancer probes each backend: an instance that is up answers at once; a dead one
    /// fails after the probe timeout.
    pub(super) fn on_probe(&mut self, lb_unit: u32) {
        let now = self.now_ns;
        let Role::Balancer(lb) = &self.units[lb_unit as usize].role else {
            return;
        };
        if !lb.params.health_checks {
            return;
        }
        let interval = crate::layout::ms_to_ns(lb.params.health_interval_ms).max(1);
        let timeout = crate::layout::ms_to_ns(lb.params.health_timeout_ms);
        let backends = lb.backend_units();
        if self.units[lb_unit as usize].alive {
            for b in backends {
                let up = self.units[b as usize].alive && !self.units[b as usize].removed;
                if up {
                    if let Role::Balancer(lb) = &mut self.units[lb_unit as usize].role
                        && lb.probe_result(b, true)
                    {
                        self.count_mark(b, false);
                        self.log_state(b, super::metrics::StateChange::MarkedUp, Some(lb_unit));
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

    pub(super) fn on_probe_fail(&mut self, lb_unit: u32, backend: u32) {
        if let Role::Balancer(lb) = &mut self.units[lb_unit as usize].role
            && lb.probe_result(backend, false)
        {
            self.count_mark(backend, true);
            self.log_state(
                backend,
                super::metrics::StateChange::MarkedDown,
                Some(lb_unit),
            );
        }
    }

    /// Schedule the first health probe of a balancer, at a phase of its own so balancers do not
    /// probe in lockstep.
    pub(super) fn start_probes(&mut self, lb_unit: u32) {
        let u = &self.units[lb_unit as usize];
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
    pub(super) fn on_entry_check(&mut self, entry: u32) {
        let now = self.now_ns;
        let u = &self.units[entry as usize];
        let up: Vec<bool> = u
            .routes
            .iter()
            .flat_map(|r| r.units.iter())
            .map(|&x| self.units[x as usize].alive && !self.units[x as usize].removed)
            .collect();
        let Role::Entry(e) = &mut self.units[entry as usize].role else {
            return;
        };
        e.set_targets(up.len());
        e.check(&up);
        let interval = e.check_interval_ns();
        if interval > 0 {
            self.events
                .push(now + interval, Ev::EntryCheck { unit: entry });
        }
    }

    /// Schedule an entry's first check.
    pub(super) fn start_entry_checks(&mut self, entry: u32) {
        let Role::Entry(e) = &self.units[entry as usize].role else {
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
    pub(super) fn marked_down(&self, unit: u32) -> bool {
        self.marked_by.get(unit as usize).is_some_and(|&n| n > 0)
    }

    /// A balancer's verdict on `unit` flipped to `down` (true) or back up.
    pub(super) fn count_mark(&mut self, unit: u32, down: bool) {
        let i = unit as usize;
        if self.marked_by.len() <= i {
            self.marked_by.resize(i + 1, 0);
        }
        let n = &mut self.marked_by[i];
        *n = if down { *n + 1 } else { n.saturating_sub(1) };
    }
}
