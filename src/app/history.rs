//! Undo and redo: each step is an edit with its inverse (`edit::apply` returns it), bounded.
//! Undo applies the inverse through the same path as any edit, so it reaches the running core
//! too; applying it yields the inverse's own inverse, which is the redo.

use super::edit::Edit;

/// At most this many undo steps are kept.
pub const HISTORY_MAX: usize = 200;

/// One undoable step: the edit as made, and the edit that takes it back.
#[derive(Clone, Debug, PartialEq)]
struct Step {
    edit: Edit,
    inverse: Edit,
}

#[derive(Default)]
pub struct History {
    undo: Vec<Step>,
    redo: Vec<Step>,
    /// The merge key of the last recorded edit (see `Edit::merge_key`).
    last_key: Option<String>,
}

impl History {
    /// Remember `edit` and its `inverse`. An edit that continues the last one (same merge key)
    /// joins its step: the step keeps the first inverse, so one undo takes the whole drag back.
    pub fn record(&mut self, edit: Edit, inverse: Edit) {
        self.redo.clear();
        let key = edit.merge_key();
        if key.is_some()
            && key == self.last_key
            && let Some(last) = self.undo.last_mut()
        {
            last.edit = edit;
            return;
        }
        self.last_key = key;
        self.undo.push(Step { edit, inverse });
        if self.undo.len() > HISTORY_MAX {
            self.undo.remove(0);
        }
    }

    /// Ends merging, so the next edit is a step of its own.
    pub fn seal(&mut self) {
        self.last_key = None;
    }

    /// Undo the last step with `apply` (which applies an edit and returns its inverse). `None`
    /// when there is nothing to undo; an error when the inverse no longer applies (the step is
    /// dropped).
    pub fn undo(
        &mut self,
        apply: impl FnOnce(&Edit) -> Result<Edit, String>,
    ) -> Option<Result<(), String>> {
        self.last_key = None;
        let step = self.undo.pop()?;
        Some(apply(&step.inverse).map(|redo| {
            self.redo.push(Step {
                edit: step.inverse,
                inverse: redo,
            })
        }))
    }

    /// Redo the last undone step, like `undo`.
    pub fn redo(
        &mut self,
        apply: impl FnOnce(&Edit) -> Result<Edit, String>,
    ) -> Option<Result<(), String>> {
        self.last_key = None;
        let step = self.redo.pop()?;
        Some(apply(&step.inverse).map(|undo| {
            self.undo.push(Step {
                edit: step.inverse,
                inverse: undo,
            })
        }))
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn clear(&mut self) {
        *self = History::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::edit;
    use crate::layout::{KindTag, Layout, Node, NodeId, Pos};

    fn one_node() -> Layout {
        let mut l = Layout::default();
        let id = l.allocate_id();
        l.nodes.push(Node {
            id,
            name: "a".into(),
            pos: Pos::default(),
            kind: KindTag::AppServer.default_kind(),
        });
        l
    }

    fn rename(name: &str) -> Edit {
        Edit::Rename {
            node: NodeId(0),
            name: name.into(),
        }
    }

    fn record(h: &mut History, l: &mut Layout, e: Edit) {
        let inverse = edit::apply(l, &e).unwrap_or_else(|why| panic!("{why}"));
        h.record(e, inverse);
    }

    fn step(h: &mut History, cur: &mut Layout, undo: bool) -> bool {
        let apply = |e: &Edit| edit::apply(cur, e);
        let done = if undo { h.undo(apply) } else { h.redo(apply) };
        done.is_some_and(|r| r.is_ok())
    }

    #[test]
    fn undo_then_redo_returns_to_each_state() {
        let mut h = History::default();
        let mut cur = one_node();
        record(&mut h, &mut cur, rename("b"));
        h.seal();
        record(&mut h, &mut cur, rename("c"));
        assert!(step(&mut h, &mut cur, true));
        assert!(step(&mut h, &mut cur, true));
        assert!(!step(&mut h, &mut cur, true));
        assert_eq!(cur.name_of(NodeId(0)), "a");
        assert!(step(&mut h, &mut cur, false));
        assert!(step(&mut h, &mut cur, false));
        assert_eq!(cur.name_of(NodeId(0)), "c");
        assert!(!h.can_redo());
    }

    #[test]
    fn edits_with_the_same_key_merge_and_history_is_bounded() {
        let mut h = History::default();
        let mut cur = one_node();
        for i in 1..5 {
            record(&mut h, &mut cur, rename(&format!("n{i}")));
        }
        assert_eq!(h.undo.len(), 1);
        assert!(
            h.undo(|e| edit::apply(&mut cur, e))
                .is_some_and(|r| r.is_ok())
        );
        assert_eq!(cur.name_of(NodeId(0)), "a");
        assert!(!h.can_undo());
        for i in 0..HISTORY_MAX + 10 {
            h.seal();
            record(&mut h, &mut cur, rename(&format!("m{i}")));
        }
        assert_eq!(h.undo.len(), HISTORY_MAX);
    }
}
