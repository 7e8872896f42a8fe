//! Pool autoscaling: target tracking on CPU or queue length, with cool-down, boot time and
//! connection draining, and what the report shows of it.

use std::collections::BTreeMap;

use crate::layout::{NodeId, NodeKind, ScaleMetric, s_to_ns};

use super::Sim;
use super::ix::UnitIx;
use super::queue::Ev;

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
    /// Areas at the previous look (or at the start, the autoscaler's or the measurement's),
    /// per member unit: (cpu, capacity).
    sampled: BTreeMap<UnitIx, (u128, u128)>,
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

impl Sim {
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
                    self.autoscalers[index].sampled = self.pool_areas(node);
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
                // The first look measures from now: with nothing to measure from, it would
                // read no CPU at all and shrink the pool to its minimum.
                sampled: self.pool_areas(node),
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
        let (value, serving) = self.pool_metric(index, node, cfg.metric);
        // Target tracking: size the pool so the metric would sit at the target.
        let serving = serving.max(1) as f64;
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

    /// The (cpu, capacity) areas of a pool's members that are up, now.
    fn pool_areas(&self, node: NodeId) -> BTreeMap<UnitIx, (u128, u128)> {
        let now = self.now_ns;
        self.members(node)
            .into_iter()
            .filter(|&u| self.units[u].alive)
            .map(|u| {
                let a = self.units[u].areas_at(now);
                (u, (a.cpu, a.cores))
            })
            .collect()
    }

    /// The measurement starts afresh (the end of the warm-up): the members' areas read zero
    /// from now, and so does each autoscaler's previous look.
    pub(super) fn autoscalers_reset(&mut self) {
        for a in &mut self.autoscalers {
            for v in a.sampled.values_mut() {
                *v = (0, 0);
            }
        }
    }

    /// The autoscaler's metric over its pool's ready members since its last look, and how many
    /// members are ready.
    fn pool_metric(&mut self, index: u32, node: NodeId, metric: ScaleMetric) -> (f64, usize) {
        let now_areas = self.pool_areas(node);
        let mut cpu = 0u128;
        let mut cap = 0u128;
        let mut queue = 0usize;
        let sampled = &self.autoscalers[index as usize].sampled;
        for (u, &(c, k)) in &now_areas {
            let prev = sampled.get(u).copied().unwrap_or((c, k));
            cpu += c.saturating_sub(prev.0);
            cap += k.saturating_sub(prev.1);
            queue += self.units[*u].queue.len();
        }
        let ready = now_areas.len();
        self.autoscalers[index as usize].sampled = now_areas;
        let value = match metric {
            ScaleMetric::CpuUtilization => {
                if cap > 0 {
                    cpu as f64 / cap as f64
                } else {
                    0.0
                }
            }
            ScaleMetric::QueueLength => queue as f64 / ready.max(1) as f64,
        };
        (value, ready)
    }

    /// Change a pool's size by itself (not a user's command): new members boot first, members
    /// taken out finish what they hold (connection draining).
    pub(super) fn resize_pool(&mut self, node: NodeId, count: u32, boot_ns: u64) {
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
            // Members still draining are taken back at once (they are booted); only fresh
            // ones boot.
            let fresh: Vec<u32> = (old..count)
                .filter(|&m| {
                    self.unit_index
                        .get(&(node, m))
                        .is_none_or(|&u| !self.units[u].draining || self.units[u].removed)
                })
                .collect();
            self.add_units(node, &kind, &name, old);
            for m in fresh {
                if let Some(&u) = self.unit_index.get(&(node, m)) {
                    let unit = &mut self.units[u];
                    unit.ready_ns = now + boot_ns;
                    if boot_ns > 0 {
                        self.events.push(now + boot_ns, Ev::Ready { unit: u });
                    }
                }
            }
        } else {
            for m in count..old {
                if let Some(&u) = self.unit_index.get(&(node, m)) {
                    self.units[u].draining = true;
                    self.retire_if_idle(u);
                }
            }
        }
        self.rebuild_routes();
    }

    /// A booted server joins the rotation.
    pub(super) fn on_ready(&mut self, _unit: UnitIx) {
        self.rebuild_routes();
    }

    /// A draining server with nothing left to do is removed.
    pub(super) fn retire_if_idle(&mut self, unit: UnitIx) {
        let u = &mut self.units[unit];
        if u.draining && u.held == 0 && u.queue.is_empty() && !u.removed {
            let now = self.now_ns;
            let before = u.load();
            u.removed = true;
            u.alive = false;
            u.draining = false;
            u.account(before, now);
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
}
