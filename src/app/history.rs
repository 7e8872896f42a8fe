//! Undo and redo: snapshots of the whole layout, bounded. Layouts are small (a few kB), so a
//! clone per edit is simpler and safer than inverse commands.

use crate::layout::Layout;

/// At most this many undo steps are kept.
pub const HISTORY_MAX: usize = 200;

#[derive(Default)]
pub struct History {
    undo: Vec<Layout>,
    redo: Vec<Layout>,
    /// The merge key of the last recorded edit (see `Edit::merge_key`).
    last_key: Option<String>,
}

impl History {
    /// Remember `before` as the state to go back to, unless this edit continues the last one.
    pub fn record(&mut self, before: Layout, key: Option<String>) {
        self.redo.clear();
        if key.is_some() && key == self.last_key {
            return;
        }
        self.last_key = key;
        self.undo.push(before);
        if self.undo.len() > HISTORY_MAX {
            self.undo.remove(0);
        }
    }

    /// Ends merging, so the next edit is a step of its own.
    pub fn seal(&mut self) {
        self.last_key = None;
    }

    pub fn undo(&mut self, current: &mut Layout) -> bool {
        self.last_key = None;
        let Some(prev) = self.undo.pop() else {
            return false;
        };
        self.redo.push(std::mem::replace(current, prev));
        true
    }

    pub fn redo(&mut self, current: &mut Layout) -> bool {
        self.last_key = None;
        let Some(next) = self.redo.pop() else {
            return false;
        };
        self.undo.push(std::mem::replace(current, next));
        true
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

    fn named(name: &str) -> Layout {
        Layout {
            name: name.into(),
            ..Layout::default()
        }
    }

    #[test]
    fn undo_then_redo_returns_to_each_state() {
        let mut h = History::default();
        let mut cur = named("a");
        h.record(cur.clone(), None);
        cur = named("b");
        h.record(cur.clone(), None);
        cur = named("c");
        assert!(h.undo(&mut cur));
        assert_eq!(cur.name, "b");
        assert!(h.undo(&mut cur));
        assert_eq!(cur.name, "a");
        assert!(!h.undo(&mut cur));
        assert!(h.redo(&mut cur));
        assert!(h.redo(&mut cur));
        assert_eq!(cur.name, "c");
        assert!(!h.can_redo());
    }

    #[test]
    fn edits_with_the_same_key_merge_and_history_is_bounded() {
        let mut h = History::default();
        let mut cur = named("0");
        for i in 1..5 {
            h.record(cur.clone(), Some("k".into()));
            cur = named(&i.to_string());
        }
        assert!(h.undo(&mut cur));
        assert_eq!(cur.name, "0");
        assert!(!h.can_undo());
        for _ in 0..HISTORY_MAX + 10 {
            h.record(cur.clone(), None);
        }
        assert_eq!(h.undo.len(), HISTORY_MAX);
    }
}
