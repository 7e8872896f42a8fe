//! The request stepper: send one chosen request (`send_request`, always traced) and walk its
//! trace one step at a time, with the active node and wire highlighted on the canvas, a
//! counter, Previous and Next (buttons, Left and Right), one sentence per step and the facts
//! beside it. Paused, sending runs the core just until that request has its answer; playing,
//! the walk appears when the answer arrives.

use eframe::egui::{self, Ui};

use super::TierlabApp;
use super::narrate::{self, Story};
use super::status::Status;
use crate::layout::{Command, KindTag, Layout, NodeId, NodeKind};
use crate::sim::Sim;

/// Walks kept (the oldest are dropped).
const WALKS_MAX: usize = 8;
/// Paused, a sent request runs the core at most this long for its answer (simulated ns).
const CATCH_UP_NS_MAX: u64 = 120_000_000_000;
/// Ticks run between looks at the request while catching up.
const CATCH_UP_CHUNK: u64 = 5;

/// One sent request and where its walk is.
#[derive(Clone, Debug)]
pub struct Walk {
    pub request_id: u64,
    /// `GET /u/7`.
    pub label: String,
    pub story: Option<Story>,
    /// The step shown (0-based).
    pub at: usize,
}

/// The stepper's state: the request to send next and the walks so far.
#[derive(Clone, Debug)]
pub struct Stepper {
    pub open: bool,
    pub client: Option<NodeId>,
    pub read: bool,
    pub key: u32,
    pub user: u32,
    pub walks: Vec<Walk>,
    /// The walk shown (an index into `walks`).
    pub current: usize,
    /// Requests of this run already walked or sent from here (a scripted or lesson
    /// `send_request` not among them becomes a walk of its own).
    seen: std::collections::BTreeSet<u64>,
}

impl Default for Stepper {
    fn default() -> Self {
        Stepper {
            open: false,
            client: None,
            read: true,
            key: 7,
            user: 0,
            walks: Vec::new(),
            current: 0,
            seen: std::collections::BTreeSet::new(),
        }
    }
}

/// What the canvas highlights for the step shown.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Highlight {
    pub node: Option<NodeId>,
    pub wire: Option<(NodeId, NodeId)>,
}

impl Stepper {
    /// The walk shown, if any.
    pub fn walk(&self) -> Option<&Walk> {
        self.walks.get(self.current)
    }

    /// The walk shown has steps to move through.
    pub fn can_step(&self) -> bool {
        self.open
            && self
                .walk()
                .and_then(|w| w.story.as_ref())
                .is_some_and(|s| !s.steps.is_empty())
    }

    /// Move the walk shown by `by` steps, within its ends.
    pub fn step_by(&mut self, by: isize) {
        if let Some(w) = self.walks.get_mut(self.current)
            && let Some(s) = &w.story
        {
            let last = s.steps.len().saturating_sub(1);
            w.at = w.at.saturating_add_signed(by).min(last);
        }
    }

    /// What the canvas highlights now.
    pub fn highlight(&self) -> Option<Highlight> {
        if !self.open {
            return None;
        }
        let w = self.walk()?;
        let step = w.story.as_ref()?.steps.get(w.at)?;
        Some(Highlight {
            node: step.node,
            wire: step.wire,
        })
    }

    /// A new run (Reset, another layout): walks still waiting for their answer will never
    /// get one; finished walks keep their story.
    pub fn forget_pending(&mut self) {
        self.seen.clear();
        self.walks.retain(|w| w.story.is_some());
        self.current = self.current.min(self.walks.len().saturating_sub(1));
    }

    /// A new walk of request `id`, shown at once (the oldest goes past [`WALKS_MAX`]).
    fn add_walk(&mut self, id: u64, read: bool, key: u32) {
        self.seen.insert(id);
        if self.walks.len() >= WALKS_MAX {
            self.walks.remove(0);
        }
        self.walks.push(Walk {
            request_id: id,
            label: narrate::request_label(read, key),
            story: None,
            at: 0,
        });
        self.current = self.walks.len() - 1;
    }

    /// The command that sends the request chosen in the panel from `client`.
    pub fn command(&self, client: NodeId) -> Command {
        Command::SendRequest {
            client,
            read: self.read,
            key: self.key,
            user: self.user,
            path: None,
        }
    }
}

/// The clients of `layout`, in file order.
fn clients(layout: &Layout) -> impl Iterator<Item = (NodeId, &str)> {
    layout
        .nodes
        .iter()
        .filter(|n| n.kind.tag() == KindTag::Client)
        .map(|n| (n.id, n.name.as_str()))
}

impl TierlabApp {
    /// The stepper's state (tests).
    pub fn stepper(&self) -> &Stepper {
        &self.stepper
    }

    /// Send the request a `send_request` command names and start its walk: paused, the core
    /// runs just until the request has its answer.
    pub(super) fn send_request(&mut self, command: Command) {
        let Command::SendRequest {
            client, read, key, ..
        } = &command
        else {
            return;
        };
        let (client, read, key) = (*client, *read, *key);
        self.stepper.open = true;
        self.stepper.client = Some(client);
        if let Err(why) = self.run.command(&self.doc.layout, command) {
            self.status = Some(Status::error(format!("Refused: {why}")));
            return;
        }
        let Some(sim) = self.run.sim.as_mut() else {
            return;
        };
        let Some(id) = newest_asked(sim) else {
            return;
        };
        if !self.run.playing {
            catch_up(sim, id);
        }
        self.stepper.add_walk(id, read, key);
        self.refresh_walks();
    }

    /// Requests a script or a lesson sent (a `send_request` step): each becomes a walk, and
    /// the stepper opens on it, as for a request sent from the panel.
    pub(super) fn adopt_sent_requests(&mut self) {
        let Some(sim) = self.run.sim.as_ref() else {
            return;
        };
        let traces = sim.traces();
        let open = traces.open.iter().flatten().filter(|t| t.asked);
        let mut new: Vec<(u64, bool, u32)> = (traces.asked.iter().chain(open))
            .filter(|t| !self.stepper.seen.contains(&t.request_id))
            .map(|t| (t.request_id, t.read, t.key))
            .collect();
        new.sort_unstable();
        for (id, read, key) in new {
            self.stepper.add_walk(id, read, key);
            self.stepper.open = true;
        }
    }

    /// `TIERLAB_SEND` and `TIERLAB_WALK_STEP`: send GET /u/7 from the first client `times`
    /// times, then show step `step` (1-based) of the last walk.
    pub(super) fn send_at_start(&mut self, times: u32, step: Option<usize>) {
        let Some((client, _)) = clients(&self.doc.layout).next() else {
            return;
        };
        for _ in 0..times {
            self.send_request(self.stepper.command(client));
        }
        if let Some(k) = step {
            self.stepper.step_by(k as isize - 1);
        }
    }

    /// Tell the story of each walk whose request has its answer now.
    pub(super) fn refresh_walks(&mut self) {
        let Some(sim) = self.run.sim.as_ref() else {
            return;
        };
        for w in &mut self.stepper.walks {
            if w.story.is_some() {
                continue;
            }
            if let Some(t) = sim.traces().asked_for(w.request_id)
                && t.end_ns.is_some()
            {
                w.story = Some(narrate::tell(t, sim, &self.doc.layout));
            }
        }
    }

    /// The stepper's panel under the canvas (it covers no node): what to send, the walks,
    /// and the step shown.
    pub(super) fn stepper_ui(&mut self, ui: &mut Ui) {
        self.adopt_sent_requests();
        if !self.stepper.open {
            return;
        }
        self.refresh_walks();
        let mut send = None;
        egui::Panel::bottom("stepper")
            .resizable(true)
            .default_size(170.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("stepper scroll")
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        send = stepper_panel_ui(ui, &mut self.stepper, &self.doc.layout)
                    });
            });
        if let Some(command) = send {
            self.send_request(command);
        }
    }
}

/// The newest asked-for request of the run (the one just sent).
fn newest_asked(sim: &Sim) -> Option<u64> {
    let traces = sim.traces();
    let open = traces.open.iter().flatten().filter(|t| t.asked);
    (traces.asked.iter().chain(open))
        .map(|t| t.request_id)
        .max()
}

/// Run the core until request `id` has its answer (bounded), as a paused run does for a
/// request sent from the stepper.
fn catch_up(sim: &mut Sim, id: u64) {
    let until = sim.now_ns().saturating_add(CATCH_UP_NS_MAX);
    while sim
        .traces()
        .asked_for(id)
        .is_some_and(|t| t.end_ns.is_none())
        && sim.now_ns() < until
        && sim.halted().is_none()
    {
        sim.run_ticks(CATCH_UP_CHUNK);
    }
}

/// The panel: the request to send, the walks, and the step shown. Returns a request to send.
fn stepper_panel_ui(ui: &mut Ui, s: &mut Stepper, layout: &Layout) -> Option<Command> {
    let mut send = None;
    let all: Vec<(NodeId, String)> = clients(layout).map(|(i, n)| (i, n.to_string())).collect();
    if s.client.is_none_or(|c| !all.iter().any(|(i, _)| *i == c)) {
        s.client = all.first().map(|(i, _)| *i);
    }
    let keys = s
        .client
        .and_then(|c| layout.node(c))
        .map_or(1, |n| match &n.kind {
            NodeKind::Client(p) => p.keys.max(1),
            _ => 1,
        });
    ui.horizontal_wrapped(|ui| {
        ui.strong("Walk a request");
        let chosen = s
            .client
            .and_then(|c| all.iter().find(|(i, _)| *i == c))
            .map_or("no client", |(_, n)| n.as_str());
        let from = ui.label("From");
        egui::ComboBox::from_id_salt("stepper client")
            .selected_text(chosen.to_string())
            .show_ui(ui, |ui| {
                for (id, name) in &all {
                    ui.selectable_value(&mut s.client, Some(*id), name);
                }
            })
            .response
            .labelled_by(from.id);
        ui.selectable_value(&mut s.read, true, "GET");
        ui.selectable_value(&mut s.read, false, "PUT");
        let path = ui.label("/u/");
        ui.add(egui::DragValue::new(&mut s.key).range(1..=keys))
            .labelled_by(path.id);
        let button = ui.add_enabled(s.client.is_some(), egui::Button::new("Send request"));
        if button.clicked()
            && let Some(c) = s.client
        {
            send = Some(s.command(c));
        }
        if ui.button("Close").clicked() {
            s.open = false;
        }
    });
    if s.walks.is_empty() {
        ui.weak("Send a request to walk it through the system, one step at a time.");
        return send;
    }
    ui.columns(3, |cols| {
        walks_ui(&mut cols[0], s);
        step_ui(&mut cols[1], s);
        facts_ui(&mut cols[2], s);
    });
    send
}

/// Every walk so far, with its length, time and ending: the one shown is selected.
fn walks_ui(ui: &mut Ui, s: &mut Stepper) {
    for (i, w) in s.walks.iter().enumerate() {
        let text = match &w.story {
            Some(st) => format!(
                "Walk {}: {}: {} steps, {:.2} ms, {}",
                i + 1,
                w.label,
                st.steps.len(),
                st.total_ms,
                st.ending
            ),
            None => format!("Walk {}: {}: waiting for the answer", i + 1, w.label),
        };
        if ui.selectable_label(s.current == i, text).clicked() {
            s.current = i;
        }
    }
}

/// The step shown: the counter, Previous and Next, the sentence and the facts.
fn step_ui(ui: &mut Ui, s: &mut Stepper) {
    let Some(w) = s.walks.get(s.current) else {
        return;
    };
    let Some(story) = &w.story else {
        ui.label("The request is on its way; its walk appears when the answer arrives.");
        return;
    };
    let n = story.steps.len();
    let mut by = 0;
    ui.horizontal(|ui| {
        if ui
            .add_enabled(w.at > 0, egui::Button::new("Previous"))
            .clicked()
        {
            by = -1;
        }
        ui.strong(format!("{}/{n}", (w.at + 1).min(n)));
        if ui
            .add_enabled(w.at + 1 < n, egui::Button::new("Next"))
            .clicked()
        {
            by = 1;
        }
        ui.weak("(Left and Right arrow keys)");
    });
    if let Some(step) = story.steps.get(w.at) {
        ui.label(egui::RichText::new(format!("{}: {}", w.label, step.sentence)).size(15.0));
    }
    if by != 0 {
        s.step_by(by);
    }
}

/// Beside the sentence: the facts after the step shown.
fn facts_ui(ui: &mut Ui, s: &Stepper) {
    let step = s
        .walk()
        .and_then(|w| w.story.as_ref().and_then(|st| st.steps.get(w.at)));
    if let Some(step) = step {
        for line in step.facts.lines() {
            ui.monospace(line);
        }
    }
}
