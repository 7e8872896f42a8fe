//! The run's event stream: one timeline of everything that changes what a run looks like (a
//! kill, a revival, a health-check verdict, a failover of the floating IP, a promotion, a cache
//! flush, a scale-out or scale-in, a removal), oldest first. The plots mark these as vertical
//! lines and the JSON report lists them. The places where they happen call `record_event` or
//! `record_node_event` with one line each.

use crate::layout::{EntryMode, NodeId};

use super::Sim;
use super::ix::UnitIx;
use super::metrics::UnitId;
use super::unit::Role;

/// Most events kept (a run that flaps a node forever stays bounded).
pub const EVENTS_MAX: usize = 10_000;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Killed (a crash).
    Down,
    /// Revived.
    Up,
    /// A balancer's health checks marked it down (it stops getting traffic from that balancer).
    MarkedDown,
    /// A balancer's health checks took it back.
    MarkedUp,
    /// Removed from the layout (or scaled in and drained).
    Removed,
    /// The floating IP moved to the other balancer.
    Failover,
    /// A replica was promoted to primary.
    Promotion,
    /// A cache was flushed.
    Flush,
    /// An autoscaler grew or shrank a pool.
    ScaleOut,
    ScaleIn,
}

impl EventKind {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Down => "down",
            EventKind::Up => "up",
            EventKind::MarkedDown => "marked_down",
            EventKind::MarkedUp => "marked_up",
            EventKind::Removed => "removed",
            EventKind::Failover => "failover",
            EventKind::Promotion => "promotion",
            EventKind::Flush => "flush",
            EventKind::ScaleOut => "scale_out",
            EventKind::ScaleIn => "scale_in",
        }
    }

    /// A short word for a plot's marker.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Down => "killed",
            EventKind::Up => "revived",
            EventKind::MarkedDown => "marked down",
            EventKind::MarkedUp => "marked up",
            EventKind::Removed => "removed",
            EventKind::Failover => "failover",
            EventKind::Promotion => "promoted",
            EventKind::Flush => "flushed",
            EventKind::ScaleOut => "scale-out",
            EventKind::ScaleIn => "scale-in",
        }
    }
}

/// One entry of the event stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub at_ns: u64,
    pub kind: EventKind,
    pub node: NodeId,
    /// The instance, for an event of one instance (a pool member 0-based); `None` for an event
    /// of the node as a whole (a flush of every member, a scale-out).
    pub member: Option<u32>,
    /// The instance's (or node's) name, e.g. `app[2]`.
    pub name: String,
    /// For marked down/up: the balancer whose checks decided. For a failover: the balancer
    /// that now holds the IP. For a scale-out/in: the new size, e.g. `3 -> 5`.
    pub detail: Option<String>,
}

impl Event {
    /// The instance's id, `node.member`, for an event of one instance.
    pub fn unit(&self) -> Option<UnitId> {
        self.member.map(|member| UnitId {
            node: self.node,
            member,
        })
    }
}

impl Sim {
    /// The event stream so far, oldest first (at most `EVENTS_MAX`).
    pub fn events(&self) -> &[Event] {
        &self.timeline
    }

    /// Record an event of instance `unit` (`by`: the deciding balancer's instance).
    pub(super) fn record_event(&mut self, unit: UnitIx, kind: EventKind, by: Option<UnitIx>) {
        let u = &self.units[unit];
        let event = Event {
            at_ns: self.now_ns,
            kind,
            node: u.node,
            member: Some(u.member),
            name: u.name.clone(),
            detail: by.map(|b| self.units[b].name.clone()),
        };
        self.push_event(event);
    }

    /// Record an event of a whole node (a flush, a promotion, a scale-out).
    pub(super) fn record_node_event(
        &mut self,
        kind: EventKind,
        node: NodeId,
        detail: Option<String>,
    ) {
        let event = Event {
            at_ns: self.now_ns,
            kind,
            node,
            member: None,
            name: self.layout.name_of(node),
            detail,
        };
        self.push_event(event);
    }

    /// Record a failover of entry instance `entry`, naming the balancer that holds the IP now.
    pub(super) fn record_failover(&mut self, entry: UnitIx) {
        let holder = self.floating_ip_holder(entry);
        let u = &self.units[entry];
        let event = Event {
            at_ns: self.now_ns,
            kind: EventKind::Failover,
            node: u.node,
            member: None,
            name: u.name.clone(),
            detail: holder,
        };
        self.push_event(event);
    }

    fn push_event(&mut self, event: Event) {
        if self.timeline.len() < EVENTS_MAX {
            self.timeline.push(event);
        }
    }

    /// The balancer holding a floating IP now: its instance name, for entry instance `entry`
    /// (`None` for a DNS entry, or without balancers).
    fn floating_ip_holder(&self, entry: UnitIx) -> Option<String> {
        let u = self.units.get(entry.index())?;
        let Role::Entry(e) = &u.role else {
            return None;
        };
        if e.params.mode != EntryMode::FloatingIp {
            return None;
        }
        let targets: Vec<UnitIx> = u
            .routes
            .iter()
            .flat_map(|r| r.units.iter())
            .copied()
            .collect();
        let holder = targets.get(e.active.min(targets.len().saturating_sub(1)))?;
        Some(self.units[*holder].name.clone())
    }

    /// Every floating-IP entry and the balancer that holds its IP now, in instance order: what
    /// an active-passive layout is about.
    pub fn floating_ip_holders(&self) -> Vec<(String, String)> {
        self.unit_ixs()
            .filter_map(|i| {
                let holder = self.floating_ip_holder(i)?;
                Some((self.units[i].name.clone(), holder))
            })
            .collect()
    }
}
