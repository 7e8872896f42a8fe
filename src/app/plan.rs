//! The capacity planner window: an app-server pool, a p99 target and a rate; the theory's
//! number of servers and the run that confirms it (`study::plan`), run off the UI thread.

use eframe::egui::{self, Ui};

use super::job::{Job, JobState};
use super::theme;
use crate::layout::{Layout, NodeKind};
use crate::study::plan::{self, Answer, Ask};

/// The planner window's state, kept between frames.
pub struct PlanWindow {
    pub open: bool,
    pub node: String,
    pub p99_ms: f64,
    pub qps: f64,
    pub seconds: f64,
    job: Option<Job<Result<Answer, String>>>,
    answer: Option<Answer>,
    error: Option<String>,
}

impl Default for PlanWindow {
    fn default() -> Self {
        PlanWindow {
            open: false,
            node: String::new(),
            p99_ms: 50.0,
            qps: 1000.0,
            seconds: 30.0,
            job: None,
            answer: None,
            error: None,
        }
    }
}

impl PlanWindow {
    /// Open the window; an empty pool name gets the layout's first app server.
    pub fn show(&mut self, layout: &Layout) {
        self.open = true;
        if self.node.is_empty()
            && let Some(n) = layout
                .nodes
                .iter()
                .find(|n| matches!(n.kind, NodeKind::AppServer(_)))
        {
            self.node = n.name.clone();
        }
    }

    pub fn ui(&mut self, ctx: &egui::Context, layout: &Layout) {
        if !self.open {
            return;
        }
        let mut open = self.open;
        egui::Window::new("Capacity planner")
            .open(&mut open)
            .default_size([420.0, 260.0])
            .show(ctx, |ui| self.contents_ui(ui, layout));
        self.open = open;
        if !self.open {
            self.job = None;
        }
    }

    fn contents_ui(&mut self, ui: &mut Ui, layout: &Layout) {
        ui.label(
            "How many servers keep p99 under a target at a rate? Theory answers, a run confirms.",
        );
        egui::Grid::new("plan grid").num_columns(2).show(ui, |ui| {
            let l = ui.label("App-server pool");
            ui.text_edit_singleline(&mut self.node).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("p99 under (ms)");
            ui.add(egui::DragValue::new(&mut self.p99_ms).range(0.001..=1e6))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Requests per second");
            ui.add(egui::DragValue::new(&mut self.qps).range(1.0..=1e7))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Confirming run (s)");
            ui.add(egui::DragValue::new(&mut self.seconds).range(1.0..=600.0))
                .labelled_by(l.id);
            ui.end_row();
        });
        self.poll();
        match &self.job {
            Some(job) => job.ui(ui),
            None => {
                if ui.button("Plan").clicked() {
                    self.start(layout);
                }
            }
        }
        if let Some(e) = &self.error {
            ui.colored_label(theme::ERROR, e);
        }
        if let Some(a) = &self.answer {
            ui.separator();
            for line in plan::text(a).lines() {
                ui.label(line);
            }
        }
    }

    fn start(&mut self, layout: &Layout) {
        self.error = None;
        let ask = Ask {
            node: self.node.trim().to_string(),
            p99_ms: self.p99_ms,
            qps: self.qps,
            seconds: self.seconds,
            warmup_s: 0.0,
            seed: None,
        };
        if let Err(e) = plan::check(layout, &ask) {
            self.error = Some(e);
            return;
        }
        let layout = layout.clone();
        self.job = Some(Job::spawn("Planning", 1, move |p| {
            plan::plan(&layout, &ask, p)
        }));
    }

    fn poll(&mut self) {
        let Some(job) = &mut self.job else {
            return;
        };
        match job.poll() {
            JobState::Running => return,
            JobState::Finished(Ok(a)) => self.answer = Some(a),
            JobState::Finished(Err(e)) | JobState::Failed(e) => self.error = Some(e),
            JobState::Cancelled => self.error = Some("The plan was cancelled.".into()),
        }
        self.job = None;
    }
}
