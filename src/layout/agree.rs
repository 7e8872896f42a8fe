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
use super::{Command, Layout, NodeId};

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

    let mut nodes: BTreeMap<NodeId, Model> = layout
        .nodes
        .iter()
        .map(|n| (n.id, model(&n.kind)))
        .collect();
    // The wires as the script leaves them, both ways round, so a node's are found by range.
    let mut wires: BTreeSet<(NodeId, NodeId)> =
        layout.wires.iter().map(|w| (w.from, w.to)).collect();
    let mut wires_to: BTreeSet<(NodeId, NodeId)> = wires.iter().map(|&(f, t)| (t, f)).collect();
    let mut next_id = layout.next_id;
    // The run applies scripted commands at the first tick boundary at or after their time, in
    // file order within a tick.
    let tick_ns = layout.tick_ns();
    let mut order: Vec<(u64, usize)> = (layout.script.iter().enumerate())
        .map(|(i, s)| (super::s_to_ns(s.at_s).div_ceil(tick_ns), i))
        .collect();
    order.sort_unstable();
    // Only ids the layout or the script names at all: the others `check_command` reports.
    let known = |id: NodeId| layout.node(id).is_some() || layout.added_by_script(id);
    for (_, i) in order {
        let s = &layout.script[i];
        let place = format!("script at {} s", s.at_s);
        let what = s.command.file_name();
        match &s.command {
            Command::AddNode(n) => {
                if nodes.contains_key(&n.id) || n.id.0 < next_id {
                    err(
                        place,
                        format!(
                            "add_node: id {} is already used or was used before (ids are never \
                             reused; the next free one is {})",
                            n.id,
                            next_id.max(nodes.keys().last().map_or(0, |k| k.0 + 1))
                        ),
                    );
                    continue;
                }
                nodes.insert(n.id, model(&n.kind));
                next_id = next_id.max(n.id.0 + 1);
            }
            Command::RemoveNode(id) => {
                if let Some(r) =
                    (layout.replication.iter()).find(|r| r.primary == *id || r.replica == *id)
                {
                    err(
                        place,
                        format!(
                            "remove_node: {} is in the replication link {} -> {}, which the run \
                             cannot keep without it (remove the link from the file, or keep the \
                             node and kill it)",
                            layout.name_of(*id),
                            layout.name_of(r.primary),
                            layout.name_of(r.replica)
                        ),
                    );
                    continue;
                }
                if nodes.remove(id).is_none() {
                    if known(*id) {
                        err(place, gone(layout, *id, what));
                    }
                    continue;
                }
                let out: Vec<NodeId> = wires_from(&wires, *id).collect();
                let into: Vec<NodeId> = wires_from(&wires_to, *id).collect();
                for to in out {
                    wires.remove(&(*id, to));
                    wires_to.remove(&(to, *id));
                }
                for from in into {
                    wires.remove(&(from, *id));
                    wires_to.remove(&(*id, from));
                }
            }
            Command::RestoreNode {
                node: n,
                wires: own,
                ..
            } => {
                if nodes.contains_key(&n.id) {
                    err(
                        place,
                        format!(
                            "restore_node: {} is there at that time; only a node the script \
                             removed before can come back",
                            layout.name_of(n.id)
                        ),
                    );
                    continue;
                }
                nodes.insert(n.id, model(&n.kind));
                let mut missing = None;
                for (_, w) in own {
                    if let Some(&other) = [w.from, w.to].iter().find(|&id| !nodes.contains_key(id))
                    {
                        missing = Some(other);
                        continue;
                    }
                    wires.insert((w.from, w.to));
                    wires_to.insert((w.to, w.from));
                }
                if let Some(other) = missing
                    && known(other)
                {
                    err(place, gone(layout, other, what));
                }
            }
            Command::AddWire(_) | Command::SetWire(_) | Command::RemoveWire { .. } => {
                let (from, to) = match &s.command {
                    Command::RemoveWire { from, to } => (*from, *to),
                    Command::AddWire(w) | Command::SetWire(w) => (w.from, w.to),
                    _ => continue,
                };
                let (Some(a), Some(b)) = (nodes.get(&from), nodes.get(&to)) else {
                    if let Some(&id) = [from, to].iter().find(|&id| !nodes.contains_key(id))
                        && known(id)
                    {
                        err(place, gone(layout, id, what));
                    }
                    continue;
                };
                let there = wires.contains(&(from, to));
                let refusal = if matches!(s.command, Command::AddWire(_)) {
                    if there {
                        Some(format!(
                            "add_wire: {} is already wired to {}",
                            layout.name_of(from),
                            layout.name_of(to)
                        ))
                    } else if from == to {
                        Some("add_wire: a node cannot call itself".to_string())
                    } else {
                        super::check::wire_refusal(a.tag, b.tag)
                            .map(|why| format!("add_wire: {why}"))
                    }
                } else if !there {
                    Some(format!(
                        "{what}: there is no wire from {} to {} at that time",
                        layout.name_of(from),
                        layout.name_of(to)
                    ))
                } else {
                    None
                };
                if let Some(why) = refusal {
                    err(place, why);
                    continue;
                }
                match &s.command {
                    Command::AddWire(_) => {
                        wires.insert((from, to));
                        wires_to.insert((to, from));
                    }
                    Command::RemoveWire { .. } => {
                        wires.remove(&(from, to));
                        wires_to.remove(&(to, from));
                    }
                    _ => {}
                }
            }
            Command::SetParam { node, param, value } if param == "count" => {
                if let Some(m) = nodes.get_mut(node) {
                    // Counts are whole; the table checks the range.
                    m.members = m.members.max(*value as u32);
                } else if known(*node) {
                    err(place, gone(layout, *node, what));
                }
            }
            Command::SetKind { node, kind } => match nodes.get_mut(node) {
                Some(m) if m.tag == kind.tag() => *m = model(kind),
                Some(_) => {}
                None if known(*node) => err(place, gone(layout, *node, what)),
                None => {}
            },
            Command::Kill(t)
            | Command::Revive(t)
            | Command::Flush(t)
            | Command::Slow { target: t, .. } => {
                let Some(m) = nodes.get(&t.node) else {
                    if known(t.node) {
                        err(place, gone(layout, t.node, what));
                    }
                    continue;
                };
                if let Some(member) = t.member
                    && member >= m.members
                {
                    err(
                        place.clone(),
                        format!(
                            "{what}: {} has no member {member} (it has {}, numbered from 0)",
                            layout.name_of(t.node),
                            m.members
                        ),
                    );
                }
                if matches!(s.command, Command::Flush(_)) && m.tag != KindTag::Cache {
                    err(
                        place,
                        format!(
                            "flush: {} ({}) holds nothing to flush; only a cache does",
                            layout.name_of(t.node),
                            m.tag.label()
                        ),
                    );
                }
            }
            other => {
                if let Some(id) = other.node()
                    && !nodes.contains_key(&id)
                    && known(id)
                {
                    err(place, gone(layout, id, what));
                }
            }
        }
    }
    out
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
