//! Where edits land: the one place the layout changes, with undo, redo and the run in step.

use super::TierlabApp;
use super::edit::{self, Edit};
use super::status::Status;
use crate::layout::{self, Command};

impl TierlabApp {
    pub(super) fn apply_edits(&mut self, edits: Vec<Edit>) {
        for e in edits {
            self.apply_edit(e);
        }
    }

    /// The one place the layout changes (apart from loading): apply, record undo, report.
    pub(super) fn apply_edit(&mut self, e: Edit) {
        let before = self.doc.layout.clone();
        match edit::apply(&mut self.doc.layout, &e) {
            Ok(()) => {
                if self.doc.layout != before {
                    let refusals = self.run.sync(&before, &self.doc.layout);
                    self.doc.history.record(before, e.merge_key());
                    if let Some(why) = refusals.first() {
                        self.status = Some(Status::error(format!("The run refused it: {why}")));
                        self.selection.retain_existing(&self.doc.layout);
                        return;
                    }
                }
                if let Edit::Command(Command::AddNode(n)) = &e {
                    self.selection.only(n.id);
                }
                self.selection.retain_existing(&self.doc.layout);
                self.status = self.status.take().filter(Status::outlives_edit);
            }
            Err(why) => {
                let message = match &e {
                    Edit::Command(Command::AddWire(_)) => format!("Wire refused: {why}"),
                    _ => format!("Refused: {why}"),
                };
                if let Some(node) = e_node(&e) {
                    self.inspector.refusal = Some((node, why));
                }
                self.status = Some(Status::error(message));
            }
        }
    }

    pub(super) fn undo(&mut self) {
        let before = self.doc.layout.clone();
        if self.doc.history.undo(&mut self.doc.layout) {
            self.run.sync(&before, &self.doc.layout);
            self.selection.retain_existing(&self.doc.layout);
            self.status = Some(Status::info("Undone"));
        }
    }

    pub(super) fn redo(&mut self) {
        let before = self.doc.layout.clone();
        if self.doc.history.redo(&mut self.doc.layout) {
            self.run.sync(&before, &self.doc.layout);
            self.selection.retain_existing(&self.doc.layout);
            self.status = Some(Status::info("Redone"));
        }
    }

    pub(super) fn delete_selection(&mut self) {
        let mut edits: Vec<Edit> = self
            .selection
            .nodes
            .iter()
            .map(|id| Edit::Command(Command::RemoveNode(*id)))
            .collect();
        if let Some((from, to)) = self.selection.wire
            && !self.selection.nodes.contains(&from)
            && !self.selection.nodes.contains(&to)
        {
            edits.push(Edit::Command(Command::RemoveWire { from, to }));
        }
        if !edits.is_empty() {
            self.apply_edit(Edit::Batch(edits));
            self.selection.clear();
        }
    }

    pub(super) fn select_all(&mut self) {
        self.selection.clear();
        self.selection
            .nodes
            .extend(self.doc.layout.nodes.iter().map(|n| n.id));
    }
}

/// The node an edit's refusal is about, for the inspector to show it there.
fn e_node(e: &Edit) -> Option<layout::NodeId> {
    match e {
        Edit::Command(Command::SetParam { node, .. }) | Edit::Rename { node, .. } => Some(*node),
        _ => None,
    }
}
