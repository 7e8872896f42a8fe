//! Lookups by id in time independent of the layout's size, for the passes that look up every
//! node and wire (`check`, the limits, `Sim::new`).
//!
//! [`Layout::node`] and [`Layout::wires_from`] scan the lists, which is right for a layout
//! being edited (the lists change under them) and quadratic for a pass over a large one: a
//! 100,000-node star took 49 s to check. [`Layout::indexed`] builds sorted indexes once and
//! returns a guard; while the guard lives, those methods on that layout, on this thread,
//! answer from the indexes. The guard borrows the layout, so the layout cannot change while
//! the indexes are in use, and they are dropped with the guard. The indexes live in a
//! thread-local stack keyed by the layout's address rather than in `Layout` itself, which stays
//! a plain serde type; another thread sees no index and scans, with the same answers.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;

use super::{Command, Layout, NodeId};

/// The sorted indexes of one layout.
struct Index {
    /// (id, position in `nodes`), sorted by id; the first node of a duplicated id.
    node_at: Vec<(NodeId, usize)>,
    /// Positions in `wires`, sorted by (`from`, position): a node's wires in file order.
    wires_by_from: Vec<(NodeId, usize)>,
    /// Ids of nodes the script adds, sorted.
    script_adds: Vec<NodeId>,
}

impl Index {
    fn new(layout: &Layout) -> Index {
        let mut node_at: Vec<(NodeId, usize)> = layout
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id, i))
            .collect();
        // Stable, so the first of a duplicated id stays first, as a scan would find it.
        node_at.sort_by_key(|&(id, _)| id);
        node_at.dedup_by_key(|&mut (id, _)| id);
        let mut wires_by_from: Vec<(NodeId, usize)> = layout
            .wires
            .iter()
            .enumerate()
            .map(|(i, w)| (w.from, i))
            .collect();
        wires_by_from.sort_unstable();
        let mut script_adds: Vec<NodeId> = layout
            .script
            .iter()
            .filter_map(|s| match &s.command {
                Command::AddNode(n) => Some(n.id),
                _ => None,
            })
            .collect();
        script_adds.sort_unstable();
        Index {
            node_at,
            wires_by_from,
            script_adds,
        }
    }
}

thread_local! {
    /// The live indexes of this thread, innermost last: (layout address, index).
    static LIVE: RefCell<Vec<(usize, Rc<Index>)>> = const { RefCell::new(Vec::new()) };
}

fn address(layout: &Layout) -> usize {
    std::ptr::from_ref(layout) as usize
}

/// The live index of `layout` on this thread, if a guard holds one.
fn live(layout: &Layout) -> Option<Rc<Index>> {
    let at = address(layout);
    LIVE.with(|live| {
        let live = live.borrow();
        live.iter()
            .rev()
            .find(|(a, _)| *a == at)
            .map(|(_, ix)| Rc::clone(ix))
    })
}

/// While this lives, lookups by id on the layout it borrows use sorted indexes.
pub struct Indexed<'a> {
    at: usize,
    _layout: PhantomData<&'a Layout>,
}

impl Drop for Indexed<'_> {
    fn drop(&mut self) {
        LIVE.with(|live| {
            let mut live = live.borrow_mut();
            if let Some(i) = live.iter().rposition(|(a, _)| *a == self.at) {
                live.remove(i);
            }
        });
    }
}

impl Layout {
    /// Index this layout's nodes and wires by id for as long as the guard lives (see
    /// `index.rs`): [`Layout::node`], [`Layout::wires_from`] and
    /// [`Layout::added_by_script`] then take logarithmic time instead of linear.
    pub fn indexed(&self) -> Indexed<'_> {
        let at = address(self);
        let index = Rc::new(Index::new(self));
        LIVE.with(|live| live.borrow_mut().push((at, index)));
        Indexed {
            at,
            _layout: PhantomData,
        }
    }

    /// The node with this id, if any.
    pub fn node(&self, id: NodeId) -> Option<&super::Node> {
        match live(self) {
            Some(ix) => ix
                .node_at
                .binary_search_by_key(&id, |&(id, _)| id)
                .ok()
                .and_then(|k| self.nodes.get(ix.node_at[k].1)),
            None => self.nodes.iter().find(|n| n.id == id),
        }
    }

    /// The wires leaving `id`, in file order.
    pub fn wires_from(&self, id: NodeId) -> impl Iterator<Item = &super::Wire> {
        let listed: Option<Vec<usize>> = live(self).map(|ix| {
            let start = ix.wires_by_from.partition_point(|&(from, _)| from < id);
            ix.wires_by_from[start..]
                .iter()
                .take_while(|&&(from, _)| from == id)
                .map(|&(_, i)| i)
                .collect()
        });
        let scan = listed
            .is_none()
            .then(|| self.wires.iter().filter(move |w| w.from == id));
        scan.into_iter().flatten().chain(
            listed
                .into_iter()
                .flatten()
                .filter_map(|i| self.wires.get(i)),
        )
    }

    /// Whether a scripted `add_node` adds a node with this id.
    pub fn added_by_script(&self, id: NodeId) -> bool {
        match live(self) {
            Some(ix) => ix.script_adds.binary_search(&id).is_ok(),
            None => self
                .script
                .iter()
                .any(|s| matches!(&s.command, Command::AddNode(n) if n.id == id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::layout::{Layout, Node, NodeId, NodeKind, Wire};

    fn layout() -> Layout {
        let node = |id: u32, name: &str| Node {
            id: NodeId(id),
            name: name.into(),
            pos: Default::default(),
            kind: NodeKind::Database(Default::default()),
        };
        Layout {
            // Out of id order, with a duplicated id: the index must answer as a scan does.
            nodes: vec![node(5, "e"), node(2, "b"), node(9, "i"), node(2, "b2")],
            wires: vec![
                Wire::new(NodeId(9), NodeId(2), 1.0),
                Wire::new(NodeId(2), NodeId(5), 2.0),
                Wire::new(NodeId(9), NodeId(5), 3.0),
            ],
            ..Layout::default()
        }
    }

    fn answers(l: &Layout) -> Vec<String> {
        (0..11)
            .map(|id| {
                let id = NodeId(id);
                let wires: Vec<f64> = l.wires_from(id).map(|w| w.latency_ms).collect();
                format!("{:?} {wires:?}", l.node(id).map(|n| &n.name))
            })
            .collect()
    }

    #[test]
    fn indexed_lookups_answer_as_scans_do() {
        let l = layout();
        let scanned = answers(&l);
        assert_eq!(scanned[2], "Some(\"b\") [2.0]");
        assert_eq!(scanned[9], "Some(\"i\") [1.0, 3.0]");
        let guard = l.indexed();
        assert_eq!(answers(&l), scanned);
        // Another layout, even an equal one, is not indexed by this guard.
        let other = l.clone();
        assert_eq!(answers(&other), scanned);
        drop(guard);
        assert_eq!(answers(&l), scanned);
    }
}
