//! Edits: every change the editor makes to a layout, as data. The canvas and the inspector
//! return `Edit`s; `apply` is the one place they change the `Layout`, and undo snapshots
//! around it.

use crate::layout::check::wire_refusal;
use crate::layout::{Command, Layout, NodeId, NodeKind, Pos, Scripted};

/// One user intent.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// A layout command: add or remove a node or wire, set a parameter or an algorithm.
    Command(Command),
    /// Move nodes to new positions (one undo step for the whole drag).
    Move(Vec<(NodeId, Pos)>),
    Rename {
        node: NodeId,
        name: String,
    },
    /// Replace a node's parameters, for the enum fields that have no command of their own.
    SetKind {
        node: NodeId,
        kind: NodeKind,
    },
    /// Set a wire's one-way latency and its weight for weighted balancing.
    SetWire {
        from: NodeId,
        to: NodeId,
        latency_ms: f64,
        weight: u32,
    },
    /// Several edits as one undo step; all of them apply or none does.
    Batch(Vec<Edit>),
    /// Append commands to the layout's script ("Save run as script": replay a demo).
    AppendScript(Vec<Scripted>),
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
            Edit::SetWire { from, to, .. } => Some(format!("wire {from} {to}")),
            _ => None,
        }
    }
}

/// Apply `edit` to `layout`. On error the layout is unchanged and the message says why.
pub fn apply(layout: &mut Layout, edit: &Edit) -> Result<(), String> {
    let mut next = layout.clone();
    apply_in_place(&mut next, edit)?;
    *layout = next;
    Ok(())
}

fn apply_in_place(layout: &mut Layout, edit: &Edit) -> Result<(), String> {
    match edit {
        Edit::Command(cmd) => {
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
            if !cmd.edits_layout() {
                return Err("that command changes a run, not the layout".into());
            }
            cmd.apply_to(layout)
        }
        Edit::Move(moves) => {
            for (id, pos) in moves {
                let Some(n) = layout.node_mut(*id) else {
                    return Err(format!("there is no node with id {id}"));
                };
                n.pos = *pos;
            }
            Ok(())
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
                return Err(format!("there is no node with id {node}"));
            };
            n.name = name.to_string();
            Ok(())
        }
        Edit::SetKind { node, kind } => {
            let Some(n) = layout.node_mut(*node) else {
                return Err(format!("there is no node with id {node}"));
            };
            if n.kind.tag() != kind.tag() {
                return Err(format!("{} cannot change its kind", n.name));
            }
            n.kind = kind.clone();
            Ok(())
        }
        Edit::SetWire {
            from,
            to,
            latency_ms,
            weight,
        } => {
            let max = crate::layout::params::layout::WIRE_LATENCY_MS_MAX;
            if !(latency_ms.is_finite() && (0.0..=max).contains(latency_ms)) {
                return Err(format!(
                    "latency_ms = {latency_ms} is out of range: it must be from 0 to {max} ms"
                ));
            }
            if *weight == 0 {
                return Err("weight must be at least 1".into());
            }
            let Some(w) = layout
                .wires
                .iter_mut()
                .find(|w| w.from == *from && w.to == *to)
            else {
                return Err("there is no such wire".into());
            };
            w.latency_ms = *latency_ms;
            w.weight = *weight;
            Ok(())
        }
        Edit::Batch(edits) => edits.iter().try_for_each(|e| apply_in_place(layout, e)),
        Edit::AppendScript(entries) => {
            layout.script.extend(entries.iter().cloned());
            Ok(())
        }
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
        let set = |latency_ms: f64, weight: u32| Edit::SetWire {
            from: NodeId(1),
            to: NodeId(0),
            latency_ms,
            weight,
        };
        assert!(apply(&mut l, &set(-1.0, 1)).is_err());
        assert!(apply(&mut l, &set(1.0, 0)).is_err());
        assert!(apply(&mut l, &set(2.5, 3)).is_ok());
        assert_eq!((l.wires[0].latency_ms, l.wires[0].weight), (2.5, 3));
    }

    #[test]
    fn fresh_names_count_up() {
        let mut l = two_nodes();
        assert_eq!(fresh_name(&l, "app server"), "app-server");
        l.nodes[0].name = "app-server".into();
        assert_eq!(fresh_name(&l, "app server"), "app-server-2");
    }
}
