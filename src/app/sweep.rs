//! The capacity sweep window: an axis (`NODE.PARAM=FROM..TO:STEP`, the command line's
//! `--set`) and a run length, the sweep run off the UI thread (`Job`, progress and Cancel),
//! then p99 and cost plotted against the swept value with each curve's knee marked
//! (`study::sweep`, where the knee is defined).

use eframe::egui::{self, Ui};
use egui_plot::{Legend, Line, MarkerShape, Plot, Points, VLine};

use super::job::{Job, JobState};
use super::theme;
use crate::layout::params::fmt_num;
use crate::layout::{Layout, LoopMode, NodeKind};
use crate::study::sweep::{self, AxisSpec, Sweep, SweepConfig};

/// Longest run per point the dialog offers, simulated seconds.
const SECONDS_MAX: f64 = 600.0;

/// The sweep window's state, kept between frames.
pub struct SweepWindow {
    pub open: bool,
    /// The axis as typed, `NODE.PARAM=FROM..TO:STEP`.
    pub axis: String,
    pub seconds: f64,
    job: Option<Job<Result<Sweep, String>>>,
    result: Option<Sweep>,
    error: Option<String>,
}

impl Default for SweepWindow {
    fn default() -> Self {
        SweepWindow {
            open: false,
            axis: String::new(),
            seconds: 10.0,
            job: None,
            result: None,
            error: None,
        }
    }
}

impl SweepWindow {
    /// Open the window; an empty axis gets a first suggestion from `layout`.
    pub fn show(&mut self, layout: &Layout) {
        self.open = true;
        if self.axis.trim().is_empty() {
            self.axis = suggested_axis(layout);
        }
    }

    /// The last finished sweep.
    pub fn result(&self) -> Option<&Sweep> {
        self.result.as_ref()
    }

    /// Whether a sweep is running.
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Check the axis against `layout` and start the sweep on a thread of its own.
    pub fn start(&mut self, layout: &Layout) {
        self.error = None;
        let plan = AxisSpec::parse(&self.axis).and_then(|spec| sweep::plan(layout, &[spec]));
        let plan = match plan {
            Ok(p) => p,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        let config = SweepConfig {
            seconds: self.seconds.clamp(0.1, SECONDS_MAX),
            ..SweepConfig::default()
        };
        let total = plan.variants.len() as u64;
        self.job = Some(Job::spawn("Sweeping", total, move |p| {
            sweep::run(&plan, &config, p)
        }));
    }

    /// The window, if open.
    pub fn ui(&mut self, ctx: &egui::Context, layout: &Layout) {
        if !self.open {
            return;
        }
        let mut open = self.open;
        egui::Window::new("Capacity sweep")
            .open(&mut open)
            .default_size([560.0, 520.0])
            .show(ctx, |ui| self.contents_ui(ui, layout));
        self.open = open;
        if !self.open {
            // Closing the window drops (and so cancels) a running sweep.
            self.job = None;
        }
    }

    fn contents_ui(&mut self, ui: &mut Ui, layout: &Layout) {
        ui.label(
            "Run the layout once per value of one parameter, all on the same seed, in \
             parallel. NODE is a node's name, PARAM a parameter from the inspector.",
        );
        ui.horizontal(|ui| {
            let l = ui.label("Sweep");
            ui.add(
                egui::TextEdit::singleline(&mut self.axis)
                    .hint_text("NODE.PARAM=FROM..TO:STEP")
                    .desired_width(260.0),
            )
            .labelled_by(l.id)
            .on_hover_text("e.g. clients.qps=1000..8000:1000 or app.count=1..8:1");
        });
        ui.horizontal(|ui| {
            let l = ui.label("Simulated seconds per point");
            ui.add(egui::DragValue::new(&mut self.seconds).range(0.1..=SECONDS_MAX))
                .labelled_by(l.id);
        });
        self.poll();
        match &self.job {
            Some(job) => job.ui(ui),
            None => {
                if ui.button("Run sweep").clicked() {
                    self.start(layout);
                }
            }
        }
        if let Some(e) = &self.error {
            ui.colored_label(theme::ERROR, e);
        }
        if let Some(s) = &self.result {
            ui.separator();
            result_ui(ui, s);
        }
    }

    fn poll(&mut self) {
        let Some(job) = &mut self.job else {
            return;
        };
        match job.poll() {
            JobState::Running => return,
            JobState::Finished(Ok(s)) => self.result = Some(s),
            JobState::Finished(Err(e)) | JobState::Failed(e) => self.error = Some(e),
            JobState::Cancelled => self.error = Some("The sweep was cancelled.".into()),
        }
        self.job = None;
    }
}

/// A first axis for `layout`: its first open-loop client's rate from half to three times.
fn suggested_axis(layout: &Layout) -> String {
    let client = layout.nodes.iter().find_map(|n| match &n.kind {
        NodeKind::Client(c) if c.mode == LoopMode::Open && c.qps > 0.0 => Some((n, c.qps)),
        _ => None,
    });
    match client {
        Some((n, qps)) => {
            let step = (qps / 2.0).round().max(1.0);
            format!(
                "{}.qps={}..{}:{}",
                n.name,
                fmt_num(step),
                fmt_num(step * 6.0),
                fmt_num(step)
            )
        }
        None => String::new(),
    }
}

/// The plots of a finished sweep: p99 and cost against the swept value, knees marked.
fn result_ui(ui: &mut Ui, s: &Sweep) {
    let Some(axis) = s.axes.first() else {
        return;
    };
    let x_label = axis.label();
    ui.label(format!(
        "{} points of {} s on seed {}: p99 and cost against {x_label}",
        s.points.len(),
        fmt_num(s.seconds),
        s.seed
    ));
    for c in &s.curves {
        match c.knee.and_then(|k| s.points.get(k)) {
            Some(p) => ui.label(format!(
                "Knee at {x_label} = {}: p99 {:.1} ms",
                fmt_num(p.values[0]),
                p.p99_ms
            )),
            None => ui.label("No knee: the curve is nearly straight"),
        }
        .on_hover_text(
            "The knee is the point farthest from the straight line through the curve's first \
             and last points, both axes scaled to 0..1",
        );
    }
    let knees: Vec<[f64; 2]> = s
        .curves
        .iter()
        .filter_map(|c| c.knee.and_then(|k| s.points.get(k)))
        .map(|p| [p.values[0], p.p99_ms])
        .collect();
    let height = (ui.available_height() * 0.5).clamp(120.0, 240.0);
    Plot::new("sweep p99")
        .height(height)
        .legend(Legend::default())
        .x_axis_label(x_label.clone())
        .y_axis_label("p99 (ms)")
        .show(ui, |plot| {
            for c in &s.curves {
                let xy: Vec<[f64; 2]> = c
                    .points
                    .iter()
                    .filter_map(|&i| s.points.get(i))
                    .map(|p| [p.values[0], p.p99_ms])
                    .collect();
                plot.line(Line::new("p99", xy).color(theme::ERROR));
            }
            for k in &knees {
                plot.vline(VLine::new("knee", k[0]).color(theme::WARNING));
            }
            plot.points(
                Points::new("knee", knees.clone())
                    .shape(MarkerShape::Diamond)
                    .radius(7.0)
                    .color(theme::WARNING),
            );
        });
    Plot::new("sweep cost")
        .height(height * 0.6)
        .x_axis_label(x_label)
        .y_axis_label("cost ($/h)")
        .include_y(0.0)
        .include_y(
            s.points
                .iter()
                .map(|p| p.cost_usd_per_hour * 1.25)
                .fold(0.0, f64::max),
        )
        .show(ui, |plot| {
            let xy: Vec<[f64; 2]> = s
                .points
                .iter()
                .map(|p| [p.values[0], p.cost_usd_per_hour])
                .collect();
            plot.line(Line::new("cost", xy));
            for k in &knees {
                plot.vline(VLine::new("knee", k[0]).color(theme::WARNING));
            }
        });
}
