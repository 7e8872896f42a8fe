//! Edits: every change the editor makes, as data. The canvas and the inspector return `Edit`s;
//! `apply` is the one place they change the `Layout`, and it returns each edit's inverse, which
//! is what undo stores (no snapshots, no diffing). Whatever changes the simulated system is the
//! core's own `Command`, so the same value reaches the layout, the history and the running core;
//! only moves and renames are edits of the drawing alone. Faults and other run-only commands
//! travel in the same type and go to the run, not the layout.

use crate::layout::check::wire_refusal;
use crate::layout::params::{self, no_node};
use crate::layout::{Command, Layout, NodeId, Pos, Scripted};

/// One user intent.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// A command of the core: a layout change (add or remove a node or wire, set a parameter,
    /// a wire's or a link's settings, restore a node) or a run-only one (a fault, a rate step).
    Command(Command),
    /// Move nodes to new positions (one undo step for the whole drag).
    Move(Vec<(NodeId, Pos)>),
    Rename {
        node: NodeId,
        name: String,
    },
    /// The layout's own name and description (the drawing's, not the system's).
    Describe {
        name: String,
        description: String,
    },
    /// Several edits as one undo step; all of them apply or none does.
    Batch(Vec<Edit>),
    /// Append commands to the layout's script ("Save run as script": replay a demo).
    AppendScript(Vec<Scripted>),
    /// Keep the first `len` entries of the script (the inverse of `AppendScript`).
    TruncateScript(usize),
}

impl Edit {
    /// A key shared by edits that should merge into one undo step when they follow each other,
    /// such as the frames of one drag on a number.
    pub fn merge_key(&self) -> Option<String> {
        match self {
            Edit::Command(Command::SetParam { node, param, .. }) => {
                Some(format!("param {node} {param}"))
            }
            Edit::Rename { node, .. } => Some(format!("rename {node}")),
            Edit::Describe { .. } => Some("describe".into()),
            Edit::Command(Command::SetWire(w)) => Some(format!("wire {} {}", w.from, w.to)),
            Edit::Command(Command::SetReplication(r)) => {
                Some(format!("link {} {}", r.primary, r.replica))
            }
            _ => None,
        }
    }

    /// The run-only command this edit is (a fault, a rate step), if it is one: it goes to the
    /// run, not to the layout or the history.
    pub fn run_only(&self) -> Option<&Command> {
        match self {
            Edit::Command(c) if !c.edits_layout() => Some(c),
            _ => None,
        }
    }

    /// The core commands in this edit, in order: what is forwarded to a running core.
    pub fn commands(&self) -> Vec<Command> {
        match self {
            Edit::Command(c) => vec![c.clone()],
            Edit::Batch(edits) => edits.iter().flat_map(Edit::commands).collect(),
            Edit::Move(_)
            | Edit::Rename { .. }
            | Edit::Describe { .. }
            | Edit::AppendScript(_)
            | Edit::TruncateScript(_) => Vec::new(),
        }
    }

    /// The node the edit is about, for the inspector's refusal line.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Edit::Command(c) => c.node(),
            Edit::Rename { node, .. } => Some(*node),
            _ => None,
        }
    }
}

/// Apply `edit` to `layout` and return its inverse (the edit that takes it back). On error the
/// layout is unchanged and the message says why.
pub fn apply(layout: &mut Layout, edit: &Edit) -> Result<Edit, String> {
    let mut next = layout.clone();
    let inverse = apply_in_place(&mut next, edit)?;
    *layout = next;
    Ok(inverse)
}

fn apply_in_place(layout: &mut Layout, edit: &Edit) -> Result<Edit, String> {
    match edit {
        Edit::Command(cmd) => {
            if !cmd.edits_layout() {
                return Err("that command changes a run, not the layout".into());
            }
            if let Command::AddWire(w) = cmd {
                if w.from == w.to {
                    return Err("a node cannot call itself".into());
                }
                let (Some(a), Some(b)) = (layout.node(w.from), layout.node(w.to)) else {
                    return Err("both ends of a wire must be nodes".into());
                };
                if let Some(why) = wire_refusal(a.kind.tag(), b.kind.tag()) {
                    return Err(why);
                }
            }
            let inverse = inverse_of(layout, cmd)?;
            cmd.apply_to(layout)?;
            Ok(inverse)
        }
        Edit::Move(moves) => {
            let mut back = Vec::new();
            for (id, pos) in moves {
                let Some(n) = layout.node_mut(*id) else {
                    return Err(no_node(*id));
                };
                back.push((*id, n.pos));
                n.pos = *pos;
            }
            Ok(Edit::Move(back))
        }
        Edit::Rename { node, name } => {
            let name = name.trim();
            if name.is_empty() {
                return Err("a node needs a name".into());
            }
            if layout.nodes.iter().any(|n| n.name == name && n.id != *node) {
                return Err(format!("another node is already called \"{name}\""));
            }
            let Some(n) = layout.node_mut(*node) else {
                return Err(no_node(*node));
            };
            let old = std::mem::replace(&mut n.name, name.to_string());
            Ok(Edit::Rename {
                node: *node,
                name: old,
            })
        }
        Edit::Describe { name, description } => {
            let old_name = std::mem::replace(&mut layout.name, name.trim().to_string());
            let old_description =
                std::mem::replace(&mut layout.description, description.trim().to_string());
            Ok(Edit::Describe {
                name: old_name,
                description: old_description,
            })
        }
        Edit::Batch(edits) => {
            let mut inverses = Vec::new();
            for e in edits {
                inverses.push(apply_in_place(layout, e)?);
            }
            inverses.reverse();
            Ok(Edit::Batch(inverses))
        }
        Edit::AppendScript(entries) => {
            let len = layout.script.len();
            layout.script.extend(entries.iter().cloned());
            Ok(Edit::TruncateScript(len))
        }
        Edit::TruncateScript(len) => {
            let removed = layout.script.split_off((*len).min(layout.script.len()));
            Ok(Edit::AppendScript(removed))
        }
    }
}

/// The edit that undoes `cmd` on `layout` as it is before `cmd` applies.
fn inverse_of(layout: &Layout, cmd: &Command) -> Result<Edit, String> {
    let node = |id: NodeId| layout.node(id).ok_or_else(|| no_node(id));
    let back = |c: Command| Ok(Edit::Command(c));
    match cmd {
        Command::SetParam {
            node: id, param, ..
        } => {
            let n = node(*id)?;
            let value = params::find(n.kind.tag(), param)
                .and_then(|m| m.get(&n.kind))
                .ok_or_else(|| format!("{} has no setting `{param}` now", n.name))?;
            back(Command::SetParam {
                node: *id,
                param: param.clone(),
                value,
            })
        }
        Command::SetKind { node: id, .. } | Command::SetAlgorithm { node: id, .. } => {
            back(Command::SetKind {
                node: *id,
                kind: node(*id)?.kind.clone(),
            })
        }
        Command::AddNode(n) | Command::RestoreNode { node: n, .. } => {
            back(Command::RemoveNode(n.id))
        }
        // A removed node comes back under its own id, with its wires in their places.
        Command::RemoveNode(id) => back(Command::RestoreNode {
            node: node(*id)?.clone(),
            at: layout.nodes.iter().position(|n| n.id == *id),
            wires: layout
                .wires
                .iter()
                .enumerate()
                .filter(|(_, w)| w.from == *id || w.to == *id)
                .map(|(i, w)| (i, w.clone()))
                .collect(),
        }),
        Command::AddWire(w) => back(Command::RemoveWire {
            from: w.from,
            to: w.to,
        }),
        Command::RemoveWire { from, to }
        | Command::SetWire(crate::layout::Wire { from, to, .. }) => {
            let Some(old) = layout.wires.iter().find(|w| w.from == *from && w.to == *to) else {
                return Err(format!(
                    "there is no wire from {} to {}",
                    layout.name_of(*from),
                    layout.name_of(*to)
                ));
            };
            back(match cmd {
                Command::SetWire(_) => Command::SetWire(old.clone()),
                _ => Command::AddWire(old.clone()),
            })
        }
        Command::SetReplication(r) => {
            let Some(old) = layout
                .replication
                .iter()
                .find(|x| x.primary == r.primary && x.replica == r.replica)
            else {
                return Err(format!(
                    "{} does not replicate from {}",
                    layout.name_of(r.replica),
                    layout.name_of(r.primary)
                ));
            };
            back(Command::SetReplication(old.clone()))
        }
        Command::Kill(_)
        | Command::Revive(_)
        | Command::Flush(_)
        | Command::Slow { .. }
        | Command::SetQps { .. }
        | Command::RampQps { .. }
        | Command::SendRequest { .. } => Err("that command changes a run, not the layout".into()),
    }
}

/// A name for a new node of kind `label` that no node has yet: `app-server`, `app-server-2`…
pub fn fresh_name(layout: &Layout, label: &str) -> String {
    let base = label.replace(' ', "-");
    if layout.node_named(&base).is_none() {
        return base;
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| layout.node_named(n).is_none())
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{KindTag, Node, Wire};

    fn two_nodes() -> Layout {
        let mut l = Layout::default();
        for (name, tag) in [("db", KindTag::Database), ("lb", KindTag::LoadBalancer)] {
            let id = l.allocate_id();
            l.nodes.push(Node {
                id,
                name: name.into(),
                pos: Pos::default(),
                kind: tag.default_kind(),
            });
        }
        l
    }

    fn wire(from: u32, to: u32) -> Edit {
        Edit::Command(Command::AddWire(Wire::new(NodeId(from), NodeId(to), 0.0)))
    }

    #[test]
    fn refused_wires_say_why_and_change_nothing() {
        let mut l = two_nodes();
        let before = l.clone();
        let err = apply(&mut l, &wire(0, 1)).err().unwrap_or_default();
        assert!(err.contains("a database cannot call"), "{err}");
        assert_eq!(l, before);
        assert!(apply(&mut l, &wire(1, 1)).is_err());
    }

    #[test]
    fn a_failing_batch_changes_nothing() {
        let mut l = two_nodes();
        let before = l.clone();
        let batch = Edit::Batch(vec![
            Edit::Command(Command::RemoveNode(NodeId(0))),
            Edit::Command(Command::RemoveNode(NodeId(9))),
        ]);
        assert!(apply(&mut l, &batch).is_err());
        assert_eq!(l, before);
    }

    #[test]
    fn renames_must_stay_unique_and_non_empty() {
        let mut l = two_nodes();
        let rename = |name: &str| Edit::Rename {
            node: NodeId(0),
            name: name.into(),
        };
        assert!(apply(&mut l, &rename("lb")).is_err());
        assert!(apply(&mut l, &rename("  ")).is_err());
        assert!(apply(&mut l, &rename("primary")).is_ok());
        assert_eq!(l.name_of(NodeId(0)), "primary");
    }

    #[test]
    fn wire_settings_are_checked() {
        let mut l = two_nodes();
        assert!(
            apply(&mut l, &wire(1, 0)).is_err(),
            "a balancer cannot call a database"
        );
        l.nodes[0].kind = KindTag::AppServer.default_kind();
        assert!(apply(&mut l, &wire(1, 0)).is_ok());
        let set = |latency_ms: f64, weight: u32| {
            let mut w = Wire::new(NodeId(1), NodeId(0), latency_ms);
            w.weight = weight;
            Edit::Command(Command::SetWire(w))
        };
        assert!(apply(&mut l, &set(-1.0, 1)).is_err());
        assert!(apply(&mut l, &set(1.0, 0)).is_err());
        assert!(apply(&mut l, &set(2.5, 3)).is_ok());
        assert_eq!((l.wires[0].latency_ms, l.wires[0].weight), (2.5, 3));
    }

    /// Every edit's inverse takes the layout back exactly, and the inverse's inverse redoes it:
    /// a deleted node comes back under its own id with its wires.
    #[test]
    fn inverses_take_edits_back() {
        let mut l = two_nodes();
        l.nodes[0].kind = KindTag::AppServer.default_kind();
        assert!(apply(&mut l, &wire(1, 0)).is_ok());
        let start = l.clone();
        let mut slow_wire = l.wires[0].clone();
        slow_wire.timeout_ms = 50.0;
        slow_wire.retries = 3;
        let edits = [
            Edit::Command(Command::RemoveNode(NodeId(0))),
            Edit::Command(Command::SetWire(slow_wire)),
            Edit::Command(Command::SetParam {
                node: NodeId(0),
                param: "workers".into(),
                value: 3.0,
            }),
            Edit::Rename {
                node: NodeId(1),
                name: "front".into(),
            },
            Edit::Move(vec![(NodeId(1), Pos { x: 5.0, y: 6.0 })]),
            Edit::Batch(vec![
                Edit::Command(Command::RemoveWire {
                    from: NodeId(1),
                    to: NodeId(0),
                }),
                Edit::Command(Command::RemoveNode(NodeId(1))),
            ]),
        ];
        for e in &edits {
            let mut cur = start.clone();
            let inverse = apply(&mut cur, e).unwrap_or_else(|why| panic!("{e:?}: {why}"));
            let after = cur.clone();
            assert_ne!(after, start, "{e:?} changes something");
            let redo = apply(&mut cur, &inverse).unwrap_or_else(|why| panic!("{inverse:?}: {why}"));
            assert_eq!(cur, start, "the inverse of {e:?} takes it back");
            assert!(apply(&mut cur, &redo).is_ok());
            assert_eq!(cur, after, "the inverse of the inverse redoes {e:?}");
        }
        // A restored id is the node's own: a new node still gets a fresh one.
        let mut cur = start.clone();
        let inverse = apply(&mut cur, &edits[0]).unwrap_or_else(|why| panic!("{why}"));
        assert!(apply(&mut cur, &inverse).is_ok());
        assert_eq!(cur.allocate_id(), NodeId(2));
    }

    #[test]
    fn fresh_names_count_up() {
        let mut l = two_nodes();
        assert_eq!(fresh_name(&l, "app server"), "app-server");
        l.nodes[0].name = "app-server".into();
        assert_eq!(fresh_name(&l, "app server"), "app-server-2");
    }
}
