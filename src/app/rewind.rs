//! Rewind and branch in the window: the timeline under the plots (a slider over the run's
//! simulated time), what a drag back does to the run, the branch an edit makes from a rewound
//! moment, and the original-versus-branch comparison (the original's throughput and p99 dashed on
//! the plots, and the headline figures of both). The snapshots and the replay are the library's
//! (`study::rewind`); this file decides when to take, seek and branch.
//!
//! A rewound run keeps the furthest state of its history (the head). Playing on from a rewound
//! moment replays the original, the user's later commands included, until it reaches the
//! head. Any edit or fault while rewound branches: the run is rebuilt at that moment without
//! the original's later commands, the head becomes the original, and the original runs on
//! beside the branch so the two can be compared at the same time.

use eframe::egui::{self, Ui};

use super::run::{RunState, fmt_count};
use super::theme;
use crate::sim::Sim;
use crate::study::rewind::{Timeline, log_before};

/// The slider moves in steps of one series sample.
const STEP_S: f64 = 0.1;

/// The original run a branch left, to compare against.
pub struct Original {
    pub sim: Sim,
    /// Simulated time the branch started at, ns.
    pub branched_at_ns: u64,
}

/// The run's snapshots, and where the view is in its history.
pub struct Rewind {
    pub timeline: Timeline,
    /// While rewound: the furthest state of the history (where the run was before the drag).
    head: Option<Sim>,
    pub original: Option<Original>,
    /// Why the last seek could not go where it was asked.
    pub note: Option<String>,
}

impl Default for Rewind {
    fn default() -> Self {
        Rewind {
            timeline: Timeline::for_window(),
            head: None,
            original: None,
            note: None,
        }
    }
}

impl Rewind {
    /// After the run moved on: take a snapshot if one is due, let go of the head once the
    /// replay has caught up with it (it is the same state), and keep the original beside a
    /// branch.
    pub fn after_advance(&mut self, sim: &Sim) {
        self.timeline.record(sim);
        if self
            .head
            .as_ref()
            .is_some_and(|h| sim.now_ns() >= h.now_ns())
        {
            self.head = None;
        }
        if let Some(o) = self.original.as_mut()
            && sim.now_ns() > o.sim.now_ns()
        {
            let ticks = (sim.now_ns() - o.sim.now_ns()) / o.sim.tick_ns().max(1);
            o.sim.run_ticks(ticks);
        }
    }

    /// Whether the view is behind the furthest point of its history.
    pub fn rewound(&self) -> bool {
        self.head.is_some()
    }

    /// The end of the history, ns: the head while rewound, else the run itself.
    pub fn end_ns(&self, sim: &Sim) -> u64 {
        self.head
            .as_ref()
            .map_or(sim.now_ns(), |h| h.now_ns().max(sim.now_ns()))
    }

    /// Replace `sim` by the run as it was at `at_ns` of this history (or at its end, if
    /// `at_ns` is past it).
    pub fn seek(&mut self, sim: &mut Sim, at_ns: u64) {
        self.note = None;
        if self.head.is_none() {
            if at_ns >= sim.now_ns() {
                return;
            }
            self.head = Some(sim.clone());
        }
        let Some(head) = self.head.as_ref() else {
            return;
        };
        if at_ns >= head.now_ns() {
            if let Some(head) = self.head.take() {
                *sim = head;
            }
            return;
        }
        match self.timeline.seek(at_ns, head.command_log()) {
            Some(earlier) => *sim = earlier,
            None => {
                self.note = Some(format!(
                    "No snapshot that early (the first is at {:.1} s)",
                    self.timeline.earliest_ns().unwrap_or(0) as f64 / 1e9
                ))
            }
        }
    }

    /// An edit is about to reach a rewound run: branch here. The run is rebuilt at its
    /// moment without the original's later commands, the head is kept as the original, and
    /// the snapshots after this moment (the original's) are dropped.
    pub fn branch(&mut self, sim: &mut Sim) {
        let Some(head) = self.head.take() else {
            return;
        };
        let at_ns = sim.now_ns();
        let kept = log_before(head.command_log(), at_ns);
        if let Some(branch) = self.timeline.seek(at_ns, &kept) {
            *sim = branch;
        }
        self.timeline.truncate_after(at_ns);
        self.original = Some(Original {
            sim: head,
            branched_at_ns: at_ns,
        });
    }

    /// Height the timeline (and the comparison, after a branch) takes under the plots.
    pub fn height(&self, ui: &Ui) -> f32 {
        let row = ui.spacing().interact_size.y + ui.spacing().item_spacing.y * 2.0;
        match self.original {
            Some(_) => 2.0 * row,
            None => row,
        }
    }
}

/// The timeline under the plots: drag back to see the run as it was; an edit branches there.
pub fn timeline_ui(ui: &mut Ui, run: &mut RunState) {
    let Some(sim) = run.sim.as_ref() else {
        return;
    };
    let now_s = sim.now_ns() as f64 / 1e9;
    let end_s = run.rewind.end_ns(sim) as f64 / 1e9;
    let first_s = run.rewind.timeline.earliest_ns().unwrap_or(0) as f64 / 1e9;
    let mut wanted = None;
    ui.horizontal(|ui| {
        ui.label("Timeline").on_hover_text(format!(
            "Drag back to see the canvas and the plots as they were; Play replays the original from there, and any edit branches the run at that moment. Snapshots every {:.0} s within {} MiB ({} held, {:.1} MiB)",
            run.rewind.timeline.every_s(),
            run.rewind.timeline.budget_bytes() >> 20,
            run.rewind.timeline.len(),
            run.rewind.timeline.bytes() as f64 / (1 << 20) as f64,
        ));
        let mut t = now_s;
        let right = 260.0;
        ui.spacing_mut().slider_width = (ui.available_width() - right).max(120.0);
        // No `step_by`: a slider snaps its value to the step even untouched, which would seek
        // a run whose time is between steps. A user's move is snapped here instead.
        let slider = egui::Slider::new(&mut t, first_s.min(now_s)..=end_s.max(first_s))
            .suffix(" s")
            .max_decimals(1);
        let response = ui.add(slider);
        response.widget_info(|| egui::WidgetInfo::slider(true, t, "Timeline"));
        if response.changed() {
            let snapped = (t / STEP_S).round() * STEP_S;
            if (snapped - now_s).abs() >= STEP_S / 2.0 {
                wanted = Some(snapped);
            }
        }
        if run.rewind.rewound() {
            ui.weak(format!("rewound from {end_s:.1} s"));
            if ui
                .button("To the end")
                .on_hover_text("Back to where the run was")
                .clicked()
            {
                wanted = Some(end_s);
            }
        } else if let Some(note) = &run.rewind.note {
            ui.colored_label(theme::WARNING, note);
        }
    });
    if let Some(t) = wanted {
        run.seek_to_s(t);
    }
    let Some(sim) = run.sim.as_ref() else {
        return;
    };
    if let Some(original) = run.rewind.original.as_ref() {
        let forget = compare_ui(ui, sim, original);
        if forget {
            run.rewind.original = None;
        }
    }
}

/// The branch beside its original: the headline figures of both over the last seconds (the
/// plots above overlay the original's throughput, failures and p99, dashed). True when asked
/// to forget the original.
fn compare_ui(ui: &mut Ui, branch: &Sim, original: &Original) -> bool {
    let (a, b) = (original.sim.recent(), branch.recent());
    let p99 = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1} ms"));
    let mut forget = false;
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!(
            "Branched at {:.1} s",
            original.branched_at_ns as f64 / 1e9
        ));
        ui.weak("original (dashed) -> branch, last seconds:");
        ui.label(format!(
            "rps {} -> {}",
            fmt_count(a.throughput_rps()),
            fmt_count(b.throughput_rps())
        ));
        ui.label(format!(
            "p99 {} -> {}",
            p99(a.latency_p99_ms),
            p99(b.latency_p99_ms)
        ));
        ui.label(format!(
            "failures {} -> {}",
            fmt_count(a.failed as f64),
            fmt_count(b.failed as f64)
        ));
        if ui
            .button("Forget original")
            .on_hover_text("Stop comparing; the branch goes on as the run")
            .clicked()
        {
            forget = true;
        }
    });
    forget
}
