//! What `check` must refuse so that a run refuses nothing: the script played forward in the
//! order the run applies it (time, then file order), against a model of the nodes that
//! exist at each point (kind, pool size), and replication links listed twice.
//!
//! `check_command` in `check.rs` judges each scripted command against the layout as it
//! starts; this pass catches what only the order shows: a node named after a scripted
//! `remove_node`, an `add_node` reusing an id, a member past the pool's size, a `flush` on a
//! node with nothing to flush.

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
                if nodes.remove(id).is_none() && known(*id) {
                    err(place, gone(layout, *id, what));
                }
            }
            Command::RestoreNode { node: n, .. } => {
                nodes.insert(n.id, model(&n.kind));
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

/// The message for a command naming a node that a scripted `remove_node` took out before it.
fn gone(layout: &Layout, id: NodeId, what: &str) -> String {
    format!(
        "{what}: {} is removed by an earlier command of the script by then",
        layout.name_of(id)
    )
}
