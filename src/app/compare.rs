//! A/B twin runs in the window: a split view of two running layouts on the same seed, their
//! canvases side by side, their plots overlaid (A solid, B dashed, same axes), and the diff
//! table of this run and, once asked, of replications over several seeds (`study::compare`,
//! run as a `Job`). The view takes two layouts and owns their runs; it knows nothing of where
//! they came from (a file, a copy with one change, a branch of a run), so other views reuse it.

use eframe::egui::{self, Color32, RichText, Ui};
use egui_plot::{Legend, Line, LineStyle, Plot};

use super::canvas::{self, CanvasOptions, CanvasState, RunOverlay, Selection};
use super::edit::{self, Edit};
use super::inspector::{self, InspectorState};
use super::job::{Job, JobState};
use super::run::RunState;
use super::theme;
use crate::layout::{self, Command, Layout, LbAlgorithm, NodeKind};
use crate::report::{self, RunJson};
use crate::sim::Sim;
use crate::sim::series::Ring;
use crate::study::compare::{self, CompareConfig, CompareError, CompareJson, DiffRow};

/// The twins' colours on the overlaid plots (A's lines solid, B's dashed): blue and orange
/// from the Okabe-Ito palette, told apart by colour-blind eyes too.
const A_COLOUR: Color32 = theme::PLOT_A;
const B_COLOUR: Color32 = Color32::from_rgb(230, 140, 0);
/// Replications and simulated seconds the study offers (and starts with).
const REPLICATIONS: std::ops::RangeInclusive<usize> = 2..=50;
const SECONDS: std::ops::RangeInclusive<f64> = 1.0..=600.0;

/// One twin: its layout, its run and its canvas.
pub struct Twin {
    pub layout: Layout,
    pub run: RunState,
    canvas: CanvasState,
    selection: Selection,
}

impl Twin {
    fn new(layout: Layout, seed: u64) -> Twin {
        Twin {
            layout,
            run: RunState::new(seed),
            canvas: CanvasState::default(),
            selection: Selection::default(),
        }
    }

    /// The report of the run so far, once there is a run.
    fn report(&self) -> Option<RunJson> {
        self.run.sim.as_ref().map(|s| report::run_json(s, 0.0))
    }
}

/// What the user asked the view for that its owner does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareRequest {
    /// Leave the comparison.
    Close,
    /// Choose B from a file.
    OpenB,
}

/// The replications study: its job while it runs, its result after.
type Outcome = Result<CompareJson, CompareError>;

/// The split view's state.
pub struct CompareView {
    pub a: Twin,
    pub b: Twin,
    /// B's inspector (A is the reference and is not edited here).
    inspector: InspectorState,
    /// Replications and measured seconds of the study.
    pub replications: usize,
    pub seconds: f64,
    job: Option<Job<Outcome>>,
    result: Option<Result<CompareJson, String>>,
    /// The last refusal of an edit to B.
    note: Option<String>,
}

impl CompareView {
    /// A comparison of `a` and `b`, both to run on `seed`.
    pub fn new(a: Layout, b: Layout, seed: u64) -> CompareView {
        CompareView {
            a: Twin::new(a, seed),
            b: Twin::new(b, seed),
            inspector: InspectorState::default(),
            replications: 5,
            seconds: 30.0,
            job: None,
            result: None,
            note: None,
        }
    }

    /// B as a copy of `a` named "… (B)": the user then makes one change to it.
    pub fn copy_of(a: Layout, seed: u64) -> CompareView {
        let mut b = a.clone();
        b.name = format!("{} (B)", a.name);
        CompareView::new(a, b, seed)
    }

    /// The seed both twins run on.
    pub fn seed(&self) -> u64 {
        self.a.run.seed
    }

    /// Replace B (a file chosen for it); both twins start again.
    pub fn set_b(&mut self, b: Layout) {
        self.b = Twin::new(b, self.seed());
        self.restart();
    }

    /// Both twins back to time 0 with no run, and any study result dropped: a result is only
    /// shown for the twins on screen.
    pub fn restart(&mut self) {
        self.a.run.reset();
        self.b.run.reset();
        self.job = None;
        self.result = None;
    }

    /// The finished study's result, if any.
    pub fn result(&self) -> Option<&Result<CompareJson, String>> {
        self.result.as_ref()
    }

    /// Whether the study is running.
    pub fn is_studying(&self) -> bool {
        self.job.is_some()
    }

    pub fn is_playing(&self) -> bool {
        self.a.run.playing
    }

    /// Play or pause both twins (building their runs on the first Play).
    pub fn set_playing(&mut self, on: bool) {
        if on && !(self.a.run.ensure(&self.a.layout) && self.b.run.ensure(&self.b.layout)) {
            return;
        }
        self.a.run.playing = on;
        self.b.run.playing = false;
    }

    /// Advance both twins for one frame: A by the clock as the main run is, then B to exactly
    /// A's simulated time, so both are always at the same moment of the same arrivals.
    pub fn advance(&mut self, wall_dt_s: f64) {
        self.a.run.advance(wall_dt_s);
        self.catch_up_b();
        self.a.run.refresh_view(&self.a.layout);
        self.b.run.refresh_view(&self.b.layout);
        self.poll_job();
    }

    fn catch_up_b(&mut self) {
        let (Some(a), Some(b)) = (self.a.run.sim.as_ref(), self.b.run.sim.as_mut()) else {
            return;
        };
        let at_s = a.now_ns() as f64 / 1e9;
        if b.now_ns() < a.now_ns() {
            b.run_until_s(at_s);
        }
    }

    /// Step both twins by A's step.
    fn step(&mut self) {
        self.a.run.step(&self.a.layout);
        if self.b.run.ensure(&self.b.layout) {
            self.catch_up_b();
        }
    }

    fn poll_job(&mut self) {
        let Some(job) = &mut self.job else {
            return;
        };
        let done = match job.poll() {
            JobState::Running => return,
            JobState::Finished(Ok(c)) => Some(Ok(c)),
            JobState::Finished(Err(CompareError::Cancelled)) | JobState::Cancelled => None,
            JobState::Finished(Err(e)) => Some(Err(e.to_string())),
            JobState::Failed(why) => Some(Err(why)),
        };
        self.result = done;
        self.job = None;
    }

    /// Start the replications study on a thread of its own.
    pub fn start_study(&mut self) {
        let config = CompareConfig {
            seconds: self.seconds,
            warmup_s: 0.0,
            seed: Some(self.seed()),
            replications: self.replications,
        };
        let (a, b) = (self.a.layout.clone(), self.b.layout.clone());
        let total = compare::runs(&config);
        self.result = None;
        self.job = Some(Job::spawn(
            format!("{} seeds × 2 twins", config.replications),
            total,
            move |p| Ok(compare::compare(&a, &b, &config, p)),
        ));
    }

    /// Apply an edit to B: B's layout changes and both twins start again from 0, so they keep
    /// receiving the same arrivals.
    fn edit_b(&mut self, e: &Edit) {
        if e.run_only().is_some() {
            // A fault in one twin only would end the twins' shared arrivals: say so.
            self.note = Some(
                "Faults are not compared here: put them in B's script, or change B's layout".into(),
            );
            return;
        }
        if let Edit::Move(_) = e {
            // A drag changes the drawing only: the runs go on.
            let _ = edit::apply(&mut self.b.layout, e);
            return;
        }
        match edit::apply(&mut self.b.layout, e) {
            Ok(_) => {
                self.note = None;
                self.b.selection.retain_existing(&self.b.layout);
                self.restart();
            }
            Err(why) => self.note = Some(format!("B refused: {why}")),
        }
    }

    /// The whole view: the bar, B's quick changes and inspector, the results below and the
    /// two canvases side by side.
    pub fn ui(&mut self, ui: &mut Ui, options: CanvasOptions) -> Option<CompareRequest> {
        let screen = ui.max_rect().size();
        let mut request = None;
        egui::Panel::top("compare bar").show(ui, |ui| request = self.bar_ui(ui));
        egui::Panel::right("compare inspector")
            .resizable(true)
            .default_size(260.0)
            .size_range(200.0..=(screen.x * 0.3).max(220.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("compare inspector scroll")
                    .show(ui, |ui| self.change_ui(ui));
            });
        egui::Panel::bottom("compare results")
            .resizable(true)
            .default_size((screen.y * 0.42).clamp(160.0, 420.0))
            .size_range(120.0..=(screen.y * 0.6).max(140.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("compare results scroll")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.results_ui(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| self.canvases_ui(ui, options));
        if self.is_playing() || self.job.is_some() {
            ui.ctx().request_repaint();
        }
        request
    }

    fn bar_ui(&mut self, ui: &mut Ui) -> Option<CompareRequest> {
        let mut request = None;
        ui.horizontal_wrapped(|ui| {
            ui.strong("A/B twins");
            ui.label(format!("seed {}", self.seed()));
            ui.separator();
            let playing = self.is_playing();
            if ui
                .button(if playing { "Pause both" } else { "Play both" })
                .clicked()
            {
                self.set_playing(!playing);
            }
            if ui.button("Step both").clicked() {
                self.step();
            }
            if ui.button("Restart both").clicked() {
                self.restart();
            }
            ui.add(
                egui::Slider::new(
                    &mut self.a.run.speed,
                    super::run::SPEED_MIN..=super::run::SPEED_MAX,
                )
                .logarithmic(true)
                .text("× speed"),
            );
            ui.label(format!("t = {:.1} s", self.a.run.now_s()));
            ui.separator();
            if ui.button("B from a file…").clicked() {
                request = Some(CompareRequest::OpenB);
            }
            if ui.button("Close comparison").clicked() {
                request = Some(CompareRequest::Close);
            }
        });
        for e in [&self.a.run.error, &self.b.run.error].into_iter().flatten() {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        request
    }

    /// The change B makes: quick choices (a balancer's algorithm, a pool's members), then the
    /// inspector of the node selected on B's canvas.
    fn change_ui(&mut self, ui: &mut Ui) {
        ui.heading("Change B");
        ui.label("Pick a change here, or select a node on B's canvas and edit it below.");
        let mut edits = Vec::new();
        egui::Grid::new("compare quick changes")
            .num_columns(2)
            .show(ui, |ui| {
                for n in &self.b.layout.nodes {
                    match &n.kind {
                        NodeKind::LoadBalancer(p) => {
                            ui.label(&n.name);
                            let mut algorithm = p.algorithm;
                            egui::ComboBox::new(("compare algorithm", n.id), "algorithm")
                                .selected_text(algorithm.file_name())
                                .show_ui(ui, |ui| {
                                    for a in LbAlgorithm::ALL {
                                        ui.selectable_value(&mut algorithm, a, a.file_name());
                                    }
                                });
                            if algorithm != p.algorithm {
                                edits.push(Edit::Command(Command::SetAlgorithm {
                                    node: n.id,
                                    algorithm,
                                }));
                            }
                            ui.end_row();
                        }
                        NodeKind::AppServer(p) => {
                            ui.label(&n.name);
                            ui.horizontal(|ui| {
                                ui.label(format!("{} members", p.count));
                                if ui
                                    .add_enabled(p.count > 1, egui::Button::new("−1"))
                                    .on_hover_text("One member fewer in B")
                                    .clicked()
                                {
                                    edits.push(set_count(n.id, p.count - 1));
                                }
                                if ui
                                    .button("+1")
                                    .on_hover_text("One more member in B")
                                    .clicked()
                                {
                                    edits.push(set_count(n.id, p.count + 1));
                                }
                            });
                            ui.end_row();
                        }
                        _ => {}
                    }
                }
            });
        if let Some(note) = &self.note {
            ui.colored_label(ui.visuals().error_fg_color, note);
        }
        ui.separator();
        let problems = layout::check(&self.b.layout);
        edits.extend(inspector::inspector_ui(
            ui,
            &mut self.inspector,
            &self.b.layout,
            self.b.selection.single(),
            self.b.selection.wire,
            &problems,
        ));
        for e in edits {
            self.edit_b(&e);
        }
    }

    /// A and B side by side, each with its name on top.
    fn canvases_ui(&mut self, ui: &mut Ui, options: CanvasOptions) {
        let mut b_edits = Vec::new();
        ui.columns(2, |cols| {
            for (k, (twin, tag)) in [(&mut self.a, "A"), (&mut self.b, "B")]
                .into_iter()
                .enumerate()
            {
                let ui = &mut cols[k];
                ui.label(RichText::new(format!("{tag} · {}", twin.layout.name)).strong());
                let problems = layout::check(&twin.layout);
                let overlay = RunOverlay {
                    view: twin.run.sim.is_some().then_some(&twin.run.view),
                    walk: None,
                    marks: &[],
                };
                let edits = ui
                    .push_id(("compare canvas", tag), |ui| {
                        canvas::canvas_ui(
                            ui,
                            &mut twin.canvas,
                            &mut twin.selection,
                            &twin.layout,
                            &problems,
                            options,
                            overlay,
                        )
                    })
                    .inner;
                // A is the reference: its canvas only selects, pans and zooms.
                if tag == "B" {
                    b_edits = edits;
                }
            }
        });
        for e in b_edits {
            self.edit_b(&e);
        }
    }

    /// Plots overlaid on the left, the diff table on the right.
    fn results_ui(&mut self, ui: &mut Ui) {
        ui.columns(2, |cols| {
            plots_ui(
                &mut cols[0],
                self.a.run.sim.as_ref(),
                self.b.run.sim.as_ref(),
                self.a.run.window_s,
            );
            self.table_ui(&mut cols[1]);
        });
    }

    fn table_ui(&mut self, ui: &mut Ui) {
        ui.strong("This run (one seed)");
        match (self.a.report(), self.b.report()) {
            (Some(a), Some(b)) => {
                rows_ui(ui, "compare this run", &compare::rows(&[a], &[b]), false)
            }
            _ => {
                ui.weak("Play or Step to run both twins.");
            }
        }
        ui.separator();
        ui.horizontal_wrapped(|ui| {
            ui.strong("Over several seeds");
            ui.add(egui::DragValue::new(&mut self.replications).range(REPLICATIONS))
                .on_hover_text("Seeds run: each runs both A and B");
            ui.label("seeds of");
            ui.add(
                egui::DragValue::new(&mut self.seconds)
                    .range(SECONDS)
                    .suffix(" s"),
            );
            if ui
                .add_enabled(self.job.is_none(), egui::Button::new("Run replications"))
                .clicked()
            {
                self.start_study();
            }
        });
        if let Some(job) = &self.job {
            job.ui(ui);
        }
        match &self.result {
            Some(Ok(c)) => {
                ui.label(format!(
                    "Seeds {:?}; change = B − A, 95 % interval of the per-seed differences",
                    c.seeds
                ));
                rows_ui(ui, "compare study", &c.rows, true);
            }
            Some(Err(why)) => {
                ui.colored_label(ui.visuals().error_fg_color, why);
            }
            None if self.job.is_none() => {
                ui.weak("Run replications to judge each change against the noise between seeds.");
            }
            None => {}
        }
    }
}

fn set_count(node: layout::NodeId, count: u32) -> Edit {
    Edit::Command(Command::SetParam {
        node,
        param: "count".into(),
        value: f64::from(count),
    })
}

/// How a figure of the diff table is named on screen.
fn label(metric: &str) -> &str {
    match metric {
        "throughput_rps" => "Throughput (req/s)",
        "latency_p50_ms" => "p50 latency (ms)",
        "latency_p99_ms" => "p99 latency (ms)",
        "failure_share" => "Failed share",
        "cache_hit_ratio" => "Cache hit ratio",
        "sessions_lost" => "Sessions lost",
        "cost_usd_per_hour" => "Cost (USD/hour)",
        other => other,
    }
}

/// A number in the table: enough digits for a share, fewer for milliseconds and rates.
fn num(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x.abs() < 10.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.1}")
    }
}

/// The diff table: figure, A, B, change (and share), and with replications the interval and
/// the verdict.
fn rows_ui(ui: &mut Ui, id: &str, rows: &[DiffRow], judged: bool) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            for h in ["Figure", "A", "B", "Change"] {
                ui.strong(h);
            }
            if judged {
                ui.strong("95 % interval");
                ui.strong("Verdict");
            }
            ui.end_row();
            for r in rows {
                ui.label(label(r.metric));
                ui.label(num(r.a));
                ui.label(num(r.b));
                let share = r
                    .change_share
                    .map_or(String::new(), |s| format!(" ({:+.1} %)", 100.0 * s));
                ui.label(format!("{}{share}", signed(r.change.mean)));
                if judged {
                    ui.label(format!(
                        "{} to {}",
                        signed(r.change.ci95_low),
                        signed(r.change.ci95_high)
                    ));
                    let colour = match r.verdict {
                        compare::Verdict::BBetter => Color32::from_rgb(0, 140, 70),
                        compare::Verdict::BWorse => ui.visuals().error_fg_color,
                        _ => ui.visuals().weak_text_color(),
                    };
                    ui.colored_label(colour, r.verdict.text());
                }
                ui.end_row();
            }
        });
}

/// A change with its sign, a true minus sign when negative.
fn signed(x: f64) -> String {
    let sign = if x < 0.0 { "−" } else { "+" };
    format!("{sign}{}", num(x.abs()))
}

/// The twins' p99 latency and throughput over the plot window, A solid and B dashed, on the
/// same axes.
fn plots_ui(ui: &mut Ui, a: Option<&Sim>, b: Option<&Sim>, window_s: f64) {
    let Some(a) = a else {
        ui.weak("The twins' plots appear here when they run.");
        return;
    };
    let now_s = a.now_ns() as f64 / 1e9;
    let from_s = (now_s - window_s).max(0.0);
    let height = ((ui.available_height() - 40.0) / 2.0).max(80.0);
    let twins = [
        ("A", Some(a), LineStyle::Solid, A_COLOUR),
        ("B", b, LineStyle::dashed_loose(), B_COLOUR),
    ];
    type Pick = fn(&Sim) -> &Ring;
    let figures: [(&str, &str, Pick, bool); 2] = [
        (
            "p99 latency (ms)",
            "compare p99",
            |s| &s.series().latency_p99_ms,
            true,
        ),
        (
            "Throughput (req/s)",
            "compare throughput",
            |s| &s.series().throughput_rps,
            false,
        ),
    ];
    for (title, id, pick, gaps) in figures {
        ui.label(title);
        Plot::new(id)
            .height(height)
            .legend(Legend::default().position(egui_plot::Corner::LeftTop))
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .include_x(from_s)
            .include_x(from_s + window_s)
            .include_y(0.0)
            .show(ui, |p| {
                for (tag, sim, style, colour) in twins {
                    let Some(sim) = sim else { continue };
                    let s = sim.series();
                    let pts: Vec<[f64; 2]> = s
                        .time_s
                        .iter()
                        .zip(pick(sim).iter())
                        .zip(s.throughput_rps.iter())
                        // A latency exists only where something completed: a gap, not a 0.
                        .filter(|((t, _), done)| f64::from(*t) >= from_s && (!gaps || *done > 0.0))
                        .map(|((t, v), _)| [f64::from(t), f64::from(v)])
                        .collect();
                    p.line(Line::new(tag, pts).color(colour).style(style).width(2.0));
                }
            });
    }
}

impl super::TierlabApp {
    /// Compare…: the split view with A the layout being edited and B a copy of it, both on
    /// the run's seed. The main run pauses meanwhile.
    pub(super) fn open_compare(&mut self) {
        self.run.playing = false;
        let mut view = CompareView::copy_of(self.doc.layout.clone(), self.run.seed);
        // Tests and benchmarks: A steps as many ticks a frame as the main run (B follows A).
        view.a.run.fixed_ticks_per_frame = self.run.fixed_ticks_per_frame;
        self.compare = Some(view);
    }

    /// Act on what the split view asked for.
    pub(super) fn compare_request(&mut self, request: CompareRequest) {
        match request {
            CompareRequest::Close => self.compare = None,
            CompareRequest::OpenB => self.pick_layout(super::dialogs::BrowseFor::CompareB),
        }
    }

    /// B from a file; on failure the load-error dialog says why and B stays.
    pub(super) fn compare_b_path(&mut self, path: &std::path::Path) {
        match super::files::load(path) {
            Ok(l) => self.set_compare_b(l),
            Err(e) => self.dialog = Some(super::dialogs::Dialog::LoadError(e)),
        }
    }

    /// B from a shipped layout.
    pub(super) fn compare_b_shipped(&mut self, name: &str) {
        let Some(text) = crate::shipped::find(name) else {
            return;
        };
        match layout::from_ron(text) {
            Ok(l) => self.set_compare_b(l),
            Err(e) => {
                self.dialog = Some(super::dialogs::Dialog::LoadError(format!("{name}:{e}")));
            }
        }
    }

    fn set_compare_b(&mut self, b: Layout) {
        if let Some(view) = &mut self.compare {
            view.set_b(b);
        }
    }

    /// The split view, when Compare… has opened it.
    pub fn compare_view(&self) -> Option<&CompareView> {
        self.compare.as_ref()
    }

    /// The split view, to script it (tests, screenshots).
    pub fn compare_view_mut(&mut self) -> Option<&mut CompareView> {
        self.compare.as_mut()
    }
}

impl super::TierlabApp {
    /// `TIERLAB_COMPARE_B`: Compare… with B from a shipped name or a path, playing at `speed`
    /// when `play`, with the replications started.
    pub(super) fn compare_at_start(&mut self, b: &str, play: bool, speed: Option<f64>) {
        self.open_compare();
        if crate::shipped::find(b).is_some() {
            self.compare_b_shipped(b);
        } else {
            self.compare_b_path(std::path::Path::new(b));
        }
        if let Some(view) = &mut self.compare {
            if let Some(s) = speed {
                view.a.run.speed = s.clamp(super::run::SPEED_MIN, super::run::SPEED_MAX);
            }
            view.start_study();
            view.set_playing(play);
        }
    }
}
