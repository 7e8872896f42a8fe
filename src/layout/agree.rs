//! What `check` must refuse so that a run refuses nothing: the script played forward in the
//! order the run applies it (time, then file order), against a model of the nodes that
//! exist at each point (kind, pool size), and replication links listed twice.
//!
//! `check_command` in `check.rs` judges each scripted command against the layout as it
//! starts; this pass catches what only the order shows: a node named after a scripted
//! `remove_node`, an `add_node` reusing an id, a member past the pool's size, a `flush` on a
//! node with nothing to flush, a wire added twice or of a kind that may not call the other,
//! a wire removed or set that is not there, a node restored that is there, a replicated
//! database removed (the run keeps replication links only between databases that exist).

use std::collections::{BTreeMap, BTreeSet};

use super::check::{Problem, Severity};
use super::node::{KindTag, NodeKind};
use super::{Command, Layout, Node, NodeId, Wire};

/// What the model keeps of a node: its kind and the most members it can have.
#[derive(Clone, Copy)]
struct Model {
    tag: KindTag,
    members: u32,
}

fn model(kind: &NodeKind) -> Model {
    // An autoscaled pool can grow to its maximum: a member up to it may exist at run time.
    let members = match kind {
        NodeKind::AppServer(a) => a.autoscale.as_ref().map_or(a.count, |s| s.max.max(a.count)),
        _ => kind.count(),
    };
    Model {
        tag: kind.tag(),
        members,
    }
}

/// The problems of the script's order and of duplicated replication links.
pub fn problems(layout: &Layout) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut err = |place: String, message: String| {
        out.push(Problem {
            severity: Severity::Error,
            node: None,
            place,
            message,
        })
    };
    let mut links = BTreeSet::new();
    for r in &layout.replication {
        if !links.insert((r.primary, r.replica)) {
            err(
                format!(
                    "replication {} -> {}",
                    layout.name_of(r.primary),
                    layout.name_of(r.replica)
                ),
                "this link is listed twice".into(),
            );
        }
    }
    // The run applies scripted commands at their exact times, in file order within one instant.
    let mut order: Vec<(u64, usize)> = (layout.script.iter().enumerate())
        .map(|(i, s)| (super::s_to_ns(s.at_s), i))
        .collect();
    order.sort_unstable();
    let mut replay = Replay::new(layout);
    for (_, i) in order {
        let s = &layout.script[i];
        for message in replay.apply(&s.command) {
            err(format!("script at {} s", s.at_s), message);
        }
    }
    out
}

/// The layout as the script leaves it so far: the nodes that exist (kind, members) and the
/// wires, both ways round so a node's are found by range.
struct Replay<'a> {
    layout: &'a Layout,
    nodes: BTreeMap<NodeId, Model>,
    wires: BTreeSet<(NodeId, NodeId)>,
    wires_to: BTreeSet<(NodeId, NodeId)>,
    next_id: u32,
}

impl<'a> Replay<'a> {
    fn new(layout: &'a Layout) -> Self {
        let wires: BTreeSet<(NodeId, NodeId)> =
            layout.wires.iter().map(|w| (w.from, w.to)).collect();
        Replay {
            layout,
            nodes: (layout.nodes.iter())
                .map(|n| (n.id, model(&n.kind)))
                .collect(),
            wires_to: wires.iter().map(|&(f, t)| (t, f)).collect(),
            wires,
            next_id: layout.next_id,
        }
    }

    /// A command naming `id` when the script removed it earlier. Only ids the layout or the
    /// script names at all: the others `check_command` reports.
    fn gone(&self, id: NodeId, what: &str) -> Vec<String> {
        let known = self.layout.node(id).is_some() || self.layout.added_by_script(id);
        if known {
            vec![gone(self.layout, id, what)]
        } else {
            Vec::new()
        }
    }

    /// Play one command forward: what the run would refuse, in words (nothing: it applies).
    fn apply(&mut self, command: &Command) -> Vec<String> {
        let what = command.file_name();
        match command {
            Command::AddNode(n) => self.add_node(n),
            Command::RemoveNode(id) => self.remove_node(*id),
            Command::RestoreNode { node, wires, .. } => self.restore_node(node, wires),
            Command::AddWire(w) | Command::SetWire(w) => self.wire(command, w.from, w.to),
            Command::RemoveWire { from, to } => self.wire(command, *from, *to),
            Command::SetParam { node, param, value } if param == "count" => {
                let Some(m) = self.nodes.get_mut(node) else {
                    return self.gone(*node, what);
                };
                // Counts are whole; the table checks the range.
                m.members = m.members.max(*value as u32);
                Vec::new()
            }
            Command::SetKind { node, kind } => match self.nodes.get_mut(node) {
                Some(m) if m.tag == kind.tag() => {
                    *m = model(kind);
                    Vec::new()
                }
                Some(_) => Vec::new(),
                None => self.gone(*node, what),
            },
            Command::Kill(t)
            | Command::Revive(t)
            | Command::Flush(t)
            | Command::Slow { target: t, .. } => self.fault(command, t.node, t.member),
            other => match other.node() {
                Some(id) if !self.nodes.contains_key(&id) => self.gone(id, what),
                _ => Vec::new(),
            },
        }
    }

    fn add_node(&mut self, n: &Node) -> Vec<String> {
        if self.nodes.contains_key(&n.id) || n.id.0 < self.next_id {
            let free = (self.next_id).max(self.nodes.keys().last().map_or(0, |k| k.0 + 1));
            return vec![format!(
                "add_node: id {} is already used or was used before (ids are never \
                 reused; the next free one is {free})",
                n.id
            )];
        }
        self.nodes.insert(n.id, model(&n.kind));
        self.next_id = self.next_id.max(n.id.0 + 1);
        Vec::new()
    }

    fn remove_node(&mut self, id: NodeId) -> Vec<String> {
        let layout = self.layout;
        if let Some(r) = (layout.replication.iter()).find(|r| r.primary == id || r.replica == id) {
            return vec![format!(
                "remove_node: {} is in the replication link {} -> {}, which the run \
                 cannot keep without it (remove the link from the file, or keep the \
                 node and kill it)",
                layout.name_of(id),
                layout.name_of(r.primary),
                layout.name_of(r.replica)
            )];
        }
        if self.nodes.remove(&id).is_none() {
            return self.gone(id, "remove_node");
        }
        let out: Vec<NodeId> = wires_from(&self.wires, id).collect();
        let into: Vec<NodeId> = wires_from(&self.wires_to, id).collect();
        for to in out {
            self.unwire(id, to);
        }
        for from in into {
            self.unwire(from, id);
        }
        Vec::new()
    }

    fn restore_node(&mut self, n: &Node, own: &[(usize, Wire)]) -> Vec<String> {
        if self.nodes.contains_key(&n.id) {
            return vec![format!(
                "restore_node: {} is there at that time; only a node the script \
                 removed before can come back",
                self.layout.name_of(n.id)
            )];
        }
        self.nodes.insert(n.id, model(&n.kind));
        let mut missing = None;
        for (_, w) in own {
            if let Some(&other) = [w.from, w.to]
                .iter()
                .find(|&id| !self.nodes.contains_key(id))
            {
                missing = Some(other);
                continue;
            }
            self.wire_up(w.from, w.to);
        }
        missing.map_or_else(Vec::new, |other| self.gone(other, "restore_node"))
    }

    /// `add_wire`, `set_wire` or `remove_wire` between `from` and `to`.
    fn wire(&mut self, command: &Command, from: NodeId, to: NodeId) -> Vec<String> {
        let what = command.file_name();
        let (Some(a), Some(b)) = (self.nodes.get(&from), self.nodes.get(&to)) else {
            let missing = [from, to]
                .into_iter()
                .find(|id| !self.nodes.contains_key(id));
            return missing.map_or_else(Vec::new, |id| self.gone(id, what));
        };
        let name = |id| self.layout.name_of(id);
        let there = self.wires.contains(&(from, to));
        let refusal = match command {
            Command::AddWire(_) if there => Some(format!(
                "add_wire: {} is already wired to {}",
                name(from),
                name(to)
            )),
            Command::AddWire(_) if from == to => {
                Some("add_wire: a node cannot call itself".to_string())
            }
            Command::AddWire(_) => {
                super::check::wire_refusal(a.tag, b.tag).map(|why| format!("add_wire: {why}"))
            }
            _ if !there => Some(format!(
                "{what}: there is no wire from {} to {} at that time",
                name(from),
                name(to)
            )),
            _ => None,
        };
        if let Some(why) = refusal {
            return vec![why];
        }
        match command {
            Command::AddWire(_) => self.wire_up(from, to),
            Command::RemoveWire { .. } => self.unwire(from, to),
            _ => {}
        }
        Vec::new()
    }

    fn wire_up(&mut self, from: NodeId, to: NodeId) {
        self.wires.insert((from, to));
        self.wires_to.insert((to, from));
    }

    fn unwire(&mut self, from: NodeId, to: NodeId) {
        self.wires.remove(&(from, to));
        self.wires_to.remove(&(to, from));
    }

    /// A fault aimed at a member the node has, and a flush at a node that holds something.
    fn fault(&self, command: &Command, node: NodeId, member: Option<u32>) -> Vec<String> {
        let what = command.file_name();
        let Some(m) = self.nodes.get(&node) else {
            return self.gone(node, what);
        };
        let name = self.layout.name_of(node);
        let mut out = Vec::new();
        if let Some(member) = member
            && member >= m.members
        {
            out.push(format!(
                "{what}: {name} has no member {member} (it has {}, numbered from 0)",
                m.members
            ));
        }
        if matches!(command, Command::Flush(_)) && m.tag != KindTag::Cache {
            out.push(format!(
                "flush: {name} ({}) holds nothing to flush; only a cache does",
                m.tag.label()
            ));
        }
        out
    }
}

/// The other ends of the wires leaving `id` in a set of (from, to) pairs.
fn wires_from(wires: &BTreeSet<(NodeId, NodeId)>, id: NodeId) -> impl Iterator<Item = NodeId> {
    wires
        .range((id, NodeId(0))..=(id, NodeId(u32::MAX)))
        .map(|&(_, to)| to)
}

/// The message for a command naming a node that a scripted `remove_node` took out before it.
fn gone(layout: &Layout, id: NodeId, what: &str) -> String {
    format!(
        "{what}: {} is removed by an earlier command of the script by then",
        layout.name_of(id)
    )
}
