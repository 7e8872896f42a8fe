//! Where edits land: the one place the layout changes, with undo, redo and the run in step.
//! Each edit is forwarded to the running core as it is made and recorded with its inverse;
//! undo and redo apply and forward the stored edit the same way. Faults go to the run only.

use super::TierlabApp;
use super::edit::{self, Edit};
use super::status::{self, Status};
use crate::layout::Command;
use crate::sim::Sim;

impl TierlabApp {
    pub(super) fn apply_edits(&mut self, edits: Vec<Edit>) {
        for e in edits {
            self.apply_edit(e);
        }
    }

    /// The one place the layout changes (apart from loading): apply, forward to the running
    /// core, record the inverse for undo, report. Run-only commands (faults) go to the run.
    pub(super) fn apply_edit(&mut self, e: Edit) {
        if let Edit::Command(c @ Command::SendRequest { .. }) = e {
            return self.send_request(c);
        }
        if let Some(c) = e.run_only() {
            let what = status::describe(&self.doc.layout, c);
            self.status = Some(match self.run.command(&self.doc.layout, c.clone()) {
                Ok(()) => Status::run_info(what, self.run.sim.as_ref().map_or(0, Sim::now_ns)),
                Err(why) => Status::error(format!("Refused: {why}")),
            });
            return;
        }
        match edit::apply(&mut self.doc.layout, &e) {
            Ok(inverse) => {
                let refusals = self.run.forward(&e);
                if let Edit::Command(Command::AddNode(n)) = &e {
                    self.selection.only(n.id);
                }
                if inverse != e {
                    self.doc.history.record(e, inverse);
                }
                self.selection.retain_existing(&self.doc.layout);
                self.status = match refusals.first() {
                    Some(why) => Some(Status::error(format!("The run refused it: {why}"))),
                    None => self.status.take().filter(Status::outlives_edit),
                };
            }
            Err(why) => {
                let message = match &e {
                    Edit::Command(Command::AddWire(_)) => format!("Wire refused: {why}"),
                    _ => format!("Refused: {why}"),
                };
                if let Some(node) = e.node() {
                    self.inspector.refusal = Some((node, why));
                }
                self.status = Some(Status::error(message));
            }
        }
    }

    pub(super) fn undo(&mut self) {
        self.step_history(true);
    }

    pub(super) fn redo(&mut self) {
        self.step_history(false);
    }

    /// Undo or redo one step: its inverse is applied and forwarded like any edit.
    fn step_history(&mut self, undo: bool) {
        let (layout, run) = (&mut self.doc.layout, &mut self.run);
        let mut refusals = Vec::new();
        let apply = |e: &Edit| {
            let inverse = edit::apply(layout, e)?;
            refusals = run.forward(e);
            Ok(inverse)
        };
        let done = if undo {
            self.doc.history.undo(apply)
        } else {
            self.doc.history.redo(apply)
        };
        let Some(done) = done else {
            return;
        };
        self.selection.retain_existing(&self.doc.layout);
        self.status = Some(match (done, refusals.into_iter().next()) {
            (Err(why), _) | (Ok(()), Some(why)) => Status::error(format!("Refused: {why}")),
            (Ok(()), None) if undo => Status::info("Undone"),
            (Ok(()), None) => Status::info("Redone"),
        });
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
