//! The request waterfall window: a clicked dot's request (or the run's slowest requests, or
//! one plot sample's slowest) as rows of bars on a time axis (`study::waterfall`), with the
//! decisions in words below (`narrate`, the one narrator). The slowest requests are found by
//! replaying the run with their ids traced, on a thread of its own (`job`).

use eframe::egui::{self, Color32, RichText, Sense, Stroke, Ui, vec2};

use super::job::{Job, JobState};
use super::narrate::{self, Story};
use super::run::RunState;
use crate::layout::Layout;
use crate::sim::{Sim, Trace};
use crate::study::waterfall::{self, BarKind, Waterfall};

/// One request the window can show.
pub struct Shown {
    pub request_id: u64,
    /// Its place among the run's slowest (1: the slowest), if it is one.
    pub rank: Option<usize>,
    pub fall: Waterfall,
    pub story: Story,
}

impl Shown {
    fn new(trace: &Trace, sim: &Sim, layout: &Layout, rank: Option<usize>) -> Shown {
        Shown {
            request_id: trace.request_id,
            rank,
            fall: waterfall::waterfall(trace, sim),
            story: narrate::tell(trace, sim, layout),
        }
    }
}

/// The window's state: what it shows, and the replay finding the slowest requests.
#[derive(Default)]
pub struct WaterfallView {
    pub open: bool,
    pub shown: Vec<Shown>,
    pub current: usize,
    job: Option<Job<Result<Vec<Shown>, String>>>,
    pub error: Option<String>,
}

/// Simulated seconds the replay counts as one step of its progress.
const REPLAY_STEP_NS: u64 = 1_000_000_000;

impl WaterfallView {
    /// Show the traced request `id` of the running core, if it still holds its trace.
    pub fn show_request(&mut self, sim: &Sim, id: u64) {
        let traces = sim.traces();
        let open = traces.open.iter().flatten();
        let found = (traces.done.iter().rev())
            .chain(open)
            .find(|t| t.request_id == id);
        self.open = true;
        self.error = None;
        match found {
            Some(t) => {
                self.shown = vec![Shown::new(t, sim, sim.layout(), None)];
                self.current = 0;
            }
            None => self.error = Some(format!("request {id} is no longer held")),
        }
    }

    /// Replay the run to now with `ids` (slowest first when `ranked`) traced, and show them.
    pub fn replay(&mut self, run: &RunState, ids: Vec<u64>, ranked: bool) {
        self.open = true;
        self.error = None;
        let (Some(sim), Some((layout, config))) = (&run.sim, &run.start) else {
            self.error = Some("start the run first".into());
            return;
        };
        if ids.is_empty() {
            self.error = Some("no request has been answered yet".into());
            return;
        }
        let (layout, config) = (layout.clone(), config.clone());
        let log = sim.command_log().to_vec();
        let until_ns = sim.now_ns();
        let steps = until_ns.div_ceil(REPLAY_STEP_NS).max(1);
        self.job = Some(Job::spawn("Replaying the run", steps, move |p| {
            let replay = waterfall::replay_traced(&layout, config, &log, until_ns, &ids, p)?;
            Ok(replay.map(|sim| {
                let picked = &sim.traces().picked;
                (ids.iter().enumerate())
                    .filter_map(|(i, id)| {
                        let t = picked.iter().find(|t| t.request_id == *id)?;
                        Some(Shown::new(t, &sim, &layout, ranked.then_some(i + 1)))
                    })
                    .collect()
            }))
        }));
    }

    /// Take the replay's result when it has ended.
    fn poll(&mut self) {
        let Some(job) = &mut self.job else {
            return;
        };
        match job.poll() {
            JobState::Running => return,
            JobState::Finished(Ok(shown)) if shown.is_empty() => {
                self.error = Some("the replay traced none of them".into())
            }
            JobState::Finished(Ok(shown)) => {
                self.shown = shown;
                self.current = 0;
            }
            JobState::Finished(Err(why)) | JobState::Failed(why) => self.error = Some(why),
            JobState::Cancelled => self.error = Some("cancelled".into()),
        }
        self.job = None;
    }

    /// The window's contents; returns true when the user asks for the slowest requests.
    fn contents_ui(&mut self, ui: &mut Ui) -> bool {
        let mut slowest = false;
        ui.horizontal(|ui| {
            slowest = ui
                .add_enabled(self.job.is_none(), egui::Button::new("Slowest requests"))
                .on_hover_text(
                    "Replay the run (same layout, seed and commands) with its slowest \
                     requests traced, and show their waterfalls",
                )
                .clicked();
            let n = self.shown.len();
            if n > 1 {
                if ui
                    .button("Previous")
                    .on_hover_text("Previous request")
                    .clicked()
                {
                    self.current = (self.current + n - 1) % n;
                }
                if ui.button("Next").on_hover_text("Next request").clicked() {
                    self.current = (self.current + 1) % n;
                }
            }
        });
        if let Some(job) = &self.job {
            job.ui(ui);
        }
        if let Some(e) = &self.error {
            ui.colored_label(Color32::from_rgb(220, 120, 60), e);
        }
        let n = self.shown.len();
        let Some(s) = self.shown.get(self.current) else {
            ui.label("Click a dot on the canvas, or ask for the slowest requests.");
            return slowest;
        };
        let mut title = format!("Request {}", s.request_id);
        if let Some(r) = s.rank {
            title.push_str(&format!(", the run's {} slowest", ordinal(r)));
        }
        if n > 1 {
            title.push_str(&format!(" ({} of {n})", self.current + 1));
        }
        ui.label(RichText::new(title).strong());
        ui.label(format!(
            "{:.3} ms from leaving the client to the answer: {}",
            s.story.total_ms, s.story.ending
        ));
        chart_ui(ui, &s.fall);
        legend_ui(ui);
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("waterfall story")
            .max_height(180.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for step in &s.story.steps {
                    ui.label(format!(
                        "{:>8.3} ms  {}",
                        step.facts.elapsed_ms, step.sentence
                    ));
                }
            });
        slowest
    }
}

impl super::TierlabApp {
    /// The waterfall window, and the dot click that opens it.
    pub(super) fn waterfall_ui(&mut self, ui: &mut Ui) {
        if let Some(id) = self.canvas.clicked_request.take()
            && let Some(sim) = &self.run.sim
        {
            self.waterfall.show_request(sim, id);
        }
        self.waterfall.poll();
        if !self.waterfall.open {
            return;
        }
        let mut open = true;
        let mut slowest = false;
        egui::Window::new("Request waterfall")
            .open(&mut open)
            .default_size(vec2(620.0, 420.0))
            .resizable(true)
            .show(ui.ctx(), |ui| slowest = self.waterfall.contents_ui(ui));
        self.waterfall.open = open;
        if slowest {
            self.show_slowest();
        }
    }

    /// Replay the run with its slowest requests traced and show them.
    pub(super) fn show_slowest(&mut self) {
        let ids = (self.run.sim.as_ref())
            .map(|s| s.slowest().iter().map(|r| r.request_id).collect())
            .unwrap_or_default();
        self.waterfall.replay(&self.run, ids, true);
    }

    /// Replay the run with one request traced (a plot sample's slowest) and show it.
    pub(super) fn show_replayed(&mut self, id: u64) {
        self.waterfall.replay(&self.run, vec![id], false);
    }
}

/// "1st", "2nd", "3rd", "4th" ...
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A bar's colour.
fn colour(kind: BarKind) -> Color32 {
    match kind {
        BarKind::Wire | BarKind::Reply => Color32::from_rgb(140, 150, 165),
        BarKind::Queue => Color32::from_rgb(230, 160, 60),
        BarKind::Service => Color32::from_rgb(80, 140, 220),
        BarKind::Cache => Color32::from_rgb(90, 190, 120),
        BarKind::Database => Color32::from_rgb(170, 110, 210),
        BarKind::Relay => Color32::from_rgb(100, 190, 200),
        BarKind::Backoff => Color32::from_rgb(220, 90, 90),
    }
}

const LABEL_W: f32 = 190.0;
const ROW_H: f32 = 18.0;

/// One row per call: its hop's name on the left (indented by depth), its bars on a shared
/// time axis on the right; a red tick where the caller timed out.
fn chart_ui(ui: &mut Ui, fall: &Waterfall) {
    let span_ns = fall.span_ns().max(1) as f32;
    let bars_w = (ui.available_width() - LABEL_W - 8.0).max(120.0);
    let x_of = |left: f32, ns: u64| left + ns as f32 / span_ns * bars_w;
    ui.horizontal(|ui| {
        ui.add_sized([LABEL_W, ROW_H], egui::Label::new("hop"));
        let (rect, _) = ui.allocate_exact_size(vec2(bars_w, ROW_H), Sense::hover());
        let p = ui.painter_at(rect.expand(4.0));
        for i in 0..=4 {
            let ns = (span_ns * i as f32 / 4.0) as u64;
            let x = x_of(rect.left(), ns);
            let align = match i {
                0 => egui::Align2::LEFT_CENTER,
                4 => egui::Align2::RIGHT_CENTER,
                _ => egui::Align2::CENTER_CENTER,
            };
            p.text(
                egui::pos2(x, rect.center().y),
                align,
                format!("{:.2} ms", ns as f64 / 1e6),
                egui::FontId::proportional(11.0),
                ui.visuals().weak_text_color(),
            );
        }
    });
    for (ri, row) in fall.rows.iter().enumerate() {
        ui.horizontal(|ui| {
            let mut name = format!(
                "{}{} -> {}",
                "  ".repeat(row.depth as usize),
                row.caller,
                row.callee
            );
            if row.attempt > 0 {
                name.push_str(&format!(" (retry {})", row.attempt));
            }
            ui.add_sized([LABEL_W, ROW_H], egui::Label::new(name).truncate());
            let (rect, _) = ui.allocate_exact_size(vec2(bars_w, ROW_H), Sense::hover());
            let painter = ui.painter_at(rect);
            painter.rect_filled(rect, 2.0, ui.visuals().faint_bg_color);
            for (bi, b) in row.bars.iter().enumerate() {
                let r = egui::Rect::from_x_y_ranges(
                    x_of(rect.left(), b.start_ns)
                        ..=x_of(rect.left(), b.end_ns).max(x_of(rect.left(), b.start_ns) + 1.0),
                    rect.top() + 3.0..=rect.bottom() - 3.0,
                );
                painter.rect_filled(r, 1.0, colour(b.kind));
                let id = egui::Id::unique(("waterfall bar", ri, bi));
                let hover = ui.interact(r, id, Sense::hover());
                hover.on_hover_text(format!(
                    "{}: {:.3} ms (from {:.3} to {:.3} ms)",
                    b.kind.label(),
                    b.len_ns() as f64 / 1e6,
                    b.start_ns as f64 / 1e6,
                    b.end_ns as f64 / 1e6
                ));
            }
            if let Some(t) = row.timed_out_ns {
                let x = x_of(rect.left(), t);
                painter.line_segment(
                    [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
                    Stroke::new(2.5, Color32::from_rgb(230, 60, 60)),
                );
                ui.label(RichText::new("timeout").color(Color32::from_rgb(230, 60, 60)));
            } else if row.failed {
                ui.label(RichText::new("failed").color(Color32::from_rgb(230, 60, 60)));
            }
        });
    }
}

/// The bar colours, named.
fn legend_ui(ui: &mut Ui) {
    ui.horizontal_wrapped(|ui| {
        for k in [
            BarKind::Wire,
            BarKind::Queue,
            BarKind::Service,
            BarKind::Cache,
            BarKind::Database,
            BarKind::Relay,
            BarKind::Backoff,
        ] {
            let (r, _) = ui.allocate_exact_size(vec2(12.0, 12.0), Sense::hover());
            ui.painter().rect_filled(r, 2.0, colour(k));
            ui.label(if k == BarKind::Wire {
                "wire (and reply)"
            } else {
                k.label()
            });
        }
    });
}
