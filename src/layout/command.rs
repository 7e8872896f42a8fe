//! Commands: every runtime change to a simulation, one type.
//!
//! The window sends them to the running core, the layout's `script` schedules them at simulated
//! times, and the core's command log records them with their tick, so that a run is
//! layout + seed + command log and replays exactly.

use serde::{Deserialize, Serialize};

use super::node::LbAlgorithm;
use super::params::{self, Field, no_node};
use super::{Layout, Node, NodeId, NodeKind, Replication, Wire};

/// A node, or one member of an app-server pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub node: NodeId,
    /// The pool member (0-based); `None` means every member.
    #[serde(default)]
    pub member: Option<u32>,
}

impl Target {
    /// The whole node (every member of a pool).
    pub fn node(node: NodeId) -> Target {
        Target { node, member: None }
    }

    /// One member of a pool.
    pub fn member(node: NodeId, member: u32) -> Target {
        Target {
            node,
            member: Some(member),
        }
    }
}

/// One runtime change. In RON: `kill(node: 3, member: 1)`, `set_qps(node: 1, qps: 5000)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Crash a node: its queued and running requests fail with `node_down`, new ones too.
    Kill(Target),
    /// Bring a killed node back, empty.
    Revive(Target),
    /// Empty a cache (or one member of a cluster): the next reads all miss.
    Flush(Target),
    /// Multiply a node's service times by `factor` (1 restores normal speed).
    Slow { target: Target, factor: f64 },
    /// Set a client's open-loop rate at once (a step; two steps make a spike).
    SetQps { node: NodeId, qps: f64 },
    /// Move a client's rate linearly to `qps` over `over_s` seconds.
    RampQps { node: NodeId, qps: f64, over_s: f64 },
    /// Set any numeric parameter from the metadata table, e.g. `workers`, `count`, `read_share`.
    SetParam {
        node: NodeId,
        param: String,
        value: f64,
    },
    /// Replace a node's parameters with `kind` (same kind of node): any setting at once,
    /// including the non-numeric ones (a balancer's layer, a cache's eviction, a box's size).
    SetKind { node: NodeId, kind: super::NodeKind },
    /// Change a balancer's algorithm.
    SetAlgorithm {
        node: NodeId,
        algorithm: LbAlgorithm,
    },
    /// Add a node (its id must be new).
    AddNode(Node),
    /// Remove a node and its wires; requests inside it fail with `node_removed`.
    RemoveNode(NodeId),
    /// Add a wire.
    AddWire(Wire),
    /// Remove the wire from `from` to `to`; calls waiting on it fail with `wire_removed`.
    RemoveWire { from: NodeId, to: NodeId },
    /// Replace the settings of the wire from `wire.from` to `wire.to` (latency, weight,
    /// timeout, retries, backoff, retry budget); the next call on it uses them.
    SetWire(Wire),
    /// Replace the settings (mode, lag) of the replication link from `primary` to `replica`.
    SetReplication(Replication),
    /// Bring back a removed node under its original id, with its wires, each in its old place
    /// in the lists (the undo of a removal, so the saved file and the call order come back
    /// exactly). Only an id that was handed out before and is free now can be restored, so no
    /// other node ever gets it.
    RestoreNode {
        node: Node,
        /// The node's index in the node list (absent: the end).
        #[serde(default)]
        at: Option<usize>,
        /// The node's wires, each with its index in the wire list, in ascending order.
        #[serde(default)]
        wires: Vec<(usize, Wire)>,
    },
    /// Send one chosen request from a client now, traced whatever the sampling: the request
    /// stepper's "Send request", and a lesson's "send a request and walk it". In RON:
    /// `send_request(client: 0, read: true, key: 7)`.
    SendRequest {
        client: NodeId,
        /// A read (`GET`); false is a write.
        #[serde(default = "yes")]
        read: bool,
        /// The content key (`/u/7` is key 7), from 1 to the client's `keys`.
        key: u32,
        /// The user (session) sending it, below the client's `users`.
        #[serde(default)]
        user: u32,
        /// The request's path, for an L7 balancer's path rules (absent: none).
        #[serde(default)]
        path: Option<String>,
    },
}

fn yes() -> bool {
    true
}

impl Command {
    /// The node the command is about, if it is about one.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Command::Kill(t)
            | Command::Revive(t)
            | Command::Flush(t)
            | Command::Slow { target: t, .. } => Some(t.node),
            Command::SetQps { node, .. }
            | Command::RampQps { node, .. }
            | Command::SetParam { node, .. }
            | Command::SetKind { node, .. }
            | Command::SetAlgorithm { node, .. }
            | Command::RemoveNode(node)
            | Command::SendRequest { client: node, .. } => Some(*node),
            Command::AddNode(n) | Command::RestoreNode { node: n, .. } => Some(n.id),
            Command::AddWire(w) | Command::SetWire(w) => Some(w.from),
            Command::RemoveWire { from, .. } => Some(*from),
            Command::SetReplication(r) => Some(r.replica),
        }
    }

    /// The command's name as written in files, for messages.
    pub fn file_name(&self) -> &'static str {
        match self {
            Command::Kill(_) => "kill",
            Command::Revive(_) => "revive",
            Command::Flush(_) => "flush",
            Command::Slow { .. } => "slow",
            Command::SetQps { .. } => "set_qps",
            Command::RampQps { .. } => "ramp_qps",
            Command::SetParam { .. } => "set_param",
            Command::SetKind { .. } => "set_kind",
            Command::SetAlgorithm { .. } => "set_algorithm",
            Command::AddNode(_) => "add_node",
            Command::RemoveNode(_) => "remove_node",
            Command::AddWire(_) => "add_wire",
            Command::RemoveWire { .. } => "remove_wire",
            Command::SetWire(_) => "set_wire",
            Command::SetReplication(_) => "set_replication",
            Command::RestoreNode { .. } => "restore_node",
            Command::SendRequest { .. } => "send_request",
        }
    }

    /// The target of a fault command.
    pub fn target(&self) -> Option<Target> {
        match self {
            Command::Kill(t) | Command::Revive(t) | Command::Flush(t) => Some(*t),
            Command::Slow { target, .. } => Some(*target),
            _ => None,
        }
    }

    /// The target of a fault command, mutably.
    pub fn target_mut(&mut self) -> Option<&mut Target> {
        match self {
            Command::Kill(t) | Command::Revive(t) | Command::Flush(t) => Some(t),
            Command::Slow { target, .. } => Some(target),
            _ => None,
        }
    }

    /// The command's own numbers checked against the parameter table, whatever layout it meets:
    /// its arguments, a wire's or link's settings, the parameters of a `set_kind` or `add_node`.
    /// (`set_param` is checked by [`Command::apply_to`], which knows the node's kind.)
    pub fn range_problems(&self) -> Vec<String> {
        let mut out = Field::problems(params::ARGS, self);
        match self {
            Command::SetWire(w) | Command::AddWire(w) => {
                out.extend(Field::problems(params::WIRE, w))
            }
            Command::SetReplication(r) => out.extend(Field::problems(params::LINK, r)),
            Command::SetKind { kind, .. } => out.extend(Field::problems(params::PARAMS, kind)),
            Command::AddNode(n) => out.extend(Field::problems(params::PARAMS, &n.kind)),
            Command::RestoreNode { node, wires, .. } => {
                out.extend(Field::problems(params::PARAMS, &node.kind));
                for (_, w) in wires {
                    out.extend(Field::problems(params::WIRE, w));
                }
            }
            _ => {}
        }
        out
    }
}

/// A command scheduled in the layout at a simulated time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scripted {
    /// Simulated seconds from the start; applied at exactly that time, inside its tick.
    pub at_s: f64,
    pub command: Command,
}

impl Command {
    /// True for commands that change the layout (and so what is saved); the others (faults,
    /// traffic steps and ramps) are events of a run.
    pub fn edits_layout(&self) -> bool {
        matches!(
            self,
            Command::SetParam { .. }
                | Command::SetKind { .. }
                | Command::SetAlgorithm { .. }
                | Command::AddNode(_)
                | Command::RemoveNode(_)
                | Command::AddWire(_)
                | Command::RemoveWire { .. }
                | Command::SetWire(_)
                | Command::SetReplication(_)
                | Command::RestoreNode { .. }
        )
    }

    /// Apply a layout-editing command to `layout`. Runtime-only commands leave it unchanged.
    /// On error, `layout` is unchanged and the message says why.
    pub fn apply_to(&self, layout: &mut Layout) -> Result<(), String> {
        if let Some(why) = self.range_problems().into_iter().next() {
            return Err(why);
        }
        match self {
            Command::SetParam { node, param, value } => set_param(layout, *node, param, *value),
            Command::SetKind { node, kind } => set_kind(layout, *node, kind),
            Command::SetAlgorithm { node, algorithm } => set_algorithm(layout, *node, *algorithm),
            Command::AddNode(n) => add_node(layout, n),
            Command::RemoveNode(id) => remove_node(layout, *id),
            Command::AddWire(w) => add_wire(layout, w),
            Command::RemoveWire { from, to } => remove_wire(layout, *from, *to),
            Command::SetWire(w) => set_wire(layout, w),
            Command::SetReplication(r) => set_replication(layout, r),
            Command::RestoreNode { node, at, wires } => restore_node(layout, node, *at, wires),
            Command::Kill(_)
            | Command::Revive(_)
            | Command::Flush(_)
            | Command::Slow { .. }
            | Command::SetQps { .. }
            | Command::RampQps { .. }
            | Command::SendRequest { .. } => Ok(()),
        }
    }
}

// One function per layout edit, each leaving `layout` unchanged when it refuses.

fn set_param(layout: &mut Layout, node: NodeId, param: &str, value: f64) -> Result<(), String> {
    let Some(n) = layout.node_mut(node) else {
        return Err(no_node(node));
    };
    let tag = n.kind.tag();
    let Some(meta) = params::find(tag, param) else {
        return Err(format!("a {} has no parameter `{param}`", tag.label()));
    };
    meta.set(&mut n.kind, value)
        .map_err(|e| format!("{}: {e}", n.name))
}

fn set_kind(layout: &mut Layout, node: NodeId, kind: &NodeKind) -> Result<(), String> {
    let Some(n) = layout.node_mut(node) else {
        return Err(no_node(node));
    };
    if n.kind.tag() != kind.tag() {
        return Err(format!(
            "{} is a {}; its settings cannot become a {}'s",
            n.name,
            n.kind.tag().label(),
            kind.tag().label()
        ));
    }
    n.kind = kind.clone();
    Ok(())
}

fn set_algorithm(layout: &mut Layout, node: NodeId, algorithm: LbAlgorithm) -> Result<(), String> {
    match layout.node_mut(node) {
        Some(Node {
            kind: NodeKind::LoadBalancer(p),
            ..
        }) => {
            p.algorithm = algorithm;
            Ok(())
        }
        Some(n) => Err(format!("{} is not a load balancer", n.name)),
        None => Err(no_node(node)),
    }
}

fn add_node(layout: &mut Layout, n: &Node) -> Result<(), String> {
    if layout.node(n.id).is_some() || n.id.0 < layout.next_id {
        return Err(format!("node id {} is already used", n.id));
    }
    layout.nodes.push(n.clone());
    layout.next_id = layout.next_id.max(n.id.0 + 1);
    Ok(())
}

fn remove_node(layout: &mut Layout, id: NodeId) -> Result<(), String> {
    if layout.node(id).is_none() {
        return Err(no_node(id));
    }
    layout.nodes.retain(|n| n.id != id);
    layout.wires.retain(|w| w.from != id && w.to != id);
    Ok(())
}

fn add_wire(layout: &mut Layout, w: &Wire) -> Result<(), String> {
    if layout
        .wires
        .iter()
        .any(|x| x.from == w.from && x.to == w.to)
    {
        return Err(format!(
            "{} is already wired to {}",
            layout.name_of(w.from),
            layout.name_of(w.to)
        ));
    }
    layout.wires.push(w.clone());
    Ok(())
}

fn remove_wire(layout: &mut Layout, from: NodeId, to: NodeId) -> Result<(), String> {
    let before = layout.wires.len();
    layout.wires.retain(|w| !(w.from == from && w.to == to));
    if layout.wires.len() == before {
        return Err(no_wire(layout, from, to));
    }
    Ok(())
}

fn set_wire(layout: &mut Layout, w: &Wire) -> Result<(), String> {
    let Some(i) = layout
        .wires
        .iter()
        .position(|x| x.from == w.from && x.to == w.to)
    else {
        return Err(no_wire(layout, w.from, w.to));
    };
    layout.wires[i] = w.clone();
    Ok(())
}

fn no_wire(layout: &Layout, from: NodeId, to: NodeId) -> String {
    format!(
        "there is no wire from {} to {}",
        layout.name_of(from),
        layout.name_of(to)
    )
}

fn set_replication(layout: &mut Layout, r: &Replication) -> Result<(), String> {
    let Some(i) = layout
        .replication
        .iter()
        .position(|x| x.primary == r.primary && x.replica == r.replica)
    else {
        return Err(format!(
            "{} does not replicate from {}",
            layout.name_of(r.replica),
            layout.name_of(r.primary)
        ));
    };
    layout.replication[i] = r.clone();
    Ok(())
}

/// Bring a deleted node back under its own id, with its wires at their old places.
fn restore_node(
    layout: &mut Layout,
    n: &Node,
    at: Option<usize>,
    wires: &[(usize, Wire)],
) -> Result<(), String> {
    if layout.node(n.id).is_some() {
        return Err(format!("node id {} is in use", n.id));
    }
    if n.id.0 >= layout.next_id {
        return Err(format!(
            "node id {} was never handed out, so there is nothing to restore (use add_node)",
            n.id
        ));
    }
    for (_, w) in wires {
        if w.from != n.id && w.to != n.id {
            return Err(format!(
                "restore_node: the wire {} -> {} is not {}'s",
                layout.name_of(w.from),
                layout.name_of(w.to),
                n.name
            ));
        }
        let other = if w.from == n.id { w.to } else { w.from };
        if other != n.id && layout.node(other).is_none() {
            return Err(format!("restore_node: {}", no_node(other)));
        }
    }
    let at = at.unwrap_or(layout.nodes.len()).min(layout.nodes.len());
    layout.nodes.insert(at, n.clone());
    for (i, w) in wires {
        let i = (*i).min(layout.wires.len());
        layout.wires.insert(i, w.clone());
    }
    Ok(())
}
