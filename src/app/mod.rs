//! The window: `TierlabApp`, its state, the frame that lays out the panels, and `run_window`.

mod actions;
mod animate;
mod apply;
mod breaks;
mod canvas;
pub mod compare;
mod config;
mod dialogs;
mod document;
pub mod drill;
mod edge;
mod edit;
mod files;
#[cfg(test)]
mod frame_tests;
mod geometry;
mod history;
mod hooks;
mod inspector;
pub mod job;
mod lesson;
mod limiter;
mod live;
mod mq;
mod narrate;
mod node_mesh;
mod paint;
mod palette;
mod plan;
mod plot_axis;
mod plots;
mod recovery;
mod rewind;
mod run;
mod run_panel;
mod status;
mod stepper;
mod sweep;
mod theme;
mod theory;
mod waterfall;
mod wire_mesh;

pub mod bench;

pub use animate::{Animate, AnimationSpec};
pub use config::Config;
pub use live::{DotClass, DotCounts, classify_hops};
pub use palette::palette_label;
pub use sweep::SweepWindow;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui::{self, Ui};
use serde::{Deserialize, Serialize};

use self::canvas::{CanvasOptions, CanvasState, Selection};
use self::dialogs::Dialog;
use self::document::{Document, Source};
use self::hooks::Hooks;
use self::inspector::InspectorState;
use self::plots::{PlotState, RunAction};
use self::run::RunState;
use self::status::Status;
use crate::layout::{self, Layout, Problem};
use crate::shipped;
use crate::sim::Sim;

/// The layout opened on first launch.
pub const STARTER_LAYOUT: &str = "request-flow.ron";
/// The UI zoom's range (egui's zoom factor).
const UI_ZOOM_MIN: f32 = 0.5;
const UI_ZOOM_MAX: f32 = 3.0;
/// The run panel's default share of the window's height, the same before and during a run: two
/// rows of plots stay readable and the canvas keeps the larger share.
const RUN_PANEL_SHARE: f32 = 0.35;
/// Presentation mode's UI zoom (at least): 1280x720 pixels are 853x480 points, readable from
/// the back of a room.
const PRESENT_ZOOM: f32 = 1.5;
/// How many recent files the File menu keeps.
const RECENT_MAX: usize = 8;

/// How the app is set up: what tests and `run_window` choose differently.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Try the desktop's native file dialog before the in-window browser.
    pub native_dialogs: bool,
    /// Where Save as and Open start, and where exports go.
    pub save_dir: PathBuf,
    /// Tests and benchmarks: each playing frame runs exactly this many ticks, whatever the
    /// wall clock says, so a run is reproducible frame by frame.
    pub fixed_ticks_per_frame: Option<u64>,
    /// Where the done design drills are kept between launches: in memory unless set (tests,
    /// scripted runs); the real window sets the file beside its settings.
    pub drill_store: Arc<dyn drill::DrillStore>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            native_dialogs: false,
            save_dir: files::default_save_dir(),
            fixed_ticks_per_frame: None,
            // Never the user's own file by default: a test must neither read nor mark it.
            drill_store: Arc::new(drill::MemoryStore::default()),
        }
    }
}

/// `TIERLAB_LAYOUT` naming the benchmark's generated layout of 200 nodes.
pub const BENCH_200_NODES: &str = "bench-200-nodes";

/// Wall-clock time of the last frame's parts that come before drawing: the core's ticks and
/// reading the live view (node load and dots) out of the core.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameSplit {
    /// `RunState::advance`: the frame's ticks.
    pub core: std::time::Duration,
    /// `RunState::refresh_view`: `live::build`.
    pub live: std::time::Duration,
}

/// What is remembered between launches (eframe `persistence`). Window size and panel widths
/// are remembered by eframe and egui themselves.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
struct Settings {
    recent: Vec<PathBuf>,
    last_file: Option<PathBuf>,
    snap: bool,
    grid: bool,
    show_palette: bool,
    show_inspector: bool,
    /// Standard or projector theme.
    look: theme::Look,
    /// When the window last closed cleanly (ms since 1970): a recovery file written later
    /// is from a session that did not.
    clean_exit_unix_ms: Option<u64>,
    /// The UI zoom (egui's zoom factor): Ctrl + and Ctrl - in the View menu.
    ui_zoom: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recent: Vec::new(),
            last_file: None,
            snap: true,
            grid: true,
            show_palette: true,
            show_inspector: true,
            look: theme::Look::Standard,
            ui_zoom: 1.0,
            clean_exit_unix_ms: None,
        }
    }
}

/// The editor window's state.
pub struct TierlabApp {
    doc: Document,
    selection: Selection,
    canvas: CanvasState,
    inspector: InspectorState,
    settings: Settings,
    config: AppConfig,
    dialog: Option<Dialog>,
    status: Option<Status>,
    problems: Vec<Problem>,
    /// The layout `problems` were found in.
    problems_of: Option<Layout>,
    hooks: Hooks,
    frames: u64,
    /// Where the last frame's time went before drawing (the frame-cost benchmark's split).
    split: FrameSplit,
    title_sent: String,
    allow_close: bool,
    run: RunState,
    plots: PlotState,
    show_run_panel: bool,
    /// A PNG export waiting for the next frame's screenshot, and the message it left.
    export_png: Option<PathBuf>,
    export_result: Arc<std::sync::Mutex<Option<Status>>>,
    /// The look and UI zoom egui was last given, so they are set only when they change.
    look_applied: Option<theme::Look>,
    zoom_applied: f32,
    /// The recovery file (`recovery.rs`).
    autosave: recovery::Autosave,
    /// The lesson open with the layout, if any (`lesson.rs`).
    lesson: Option<lesson::LessonRun>,
    /// The gallery window is shown, and its cards (parsed when first shown).
    show_gallery: bool,
    gallery: Vec<lesson::GalleryEntry>,
    /// Presentation mode: larger UI, only the canvas, the headline numbers, one plot and the
    /// lesson's caption.
    presenting: bool,
    /// The request stepper (`stepper.rs`).
    stepper: stepper::Stepper,
    /// The A/B split view, while Compare… has it open (`compare.rs`).
    compare: Option<compare::CompareView>,
    /// The capacity sweep window.
    sweep: sweep::SweepWindow,
    /// The capacity planner window.
    planner: plan::PlanWindow,
    /// The stress and single-point-of-failure searches and their findings (`breaks.rs`).
    breaks: breaks::Breaks,
    /// The design drill open in its panel, the drills done and where they are kept
    /// (`drill.rs`).
    drill: Option<drill::DrillView>,
    drills_done: std::collections::BTreeSet<String>,
    drill_store: Arc<dyn drill::DrillStore>,
    /// The request waterfall window (`waterfall.rs`).
    waterfall: waterfall::WaterfallView,
    /// Export animation…: its dialog and the export under way (`animate.rs`).
    animate: animate::Animate,
}

impl Default for TierlabApp {
    fn default() -> Self {
        TierlabApp::new(AppConfig::default())
    }
}

impl TierlabApp {
    /// A window showing the shipped starter layout.
    pub fn new(config: AppConfig) -> TierlabApp {
        let drill_store = config.drill_store.clone();
        let mut app = TierlabApp {
            doc: Document::default(),
            selection: Selection::default(),
            canvas: CanvasState::default(),
            inspector: InspectorState::default(),
            settings: Settings::default(),
            config,
            dialog: None,
            status: None,
            problems: Vec::new(),
            hooks: Hooks::default(),
            frames: 0,
            split: FrameSplit::default(),
            problems_of: None,
            title_sent: String::new(),
            allow_close: false,
            run: RunState::new(0),
            plots: PlotState::default(),
            show_run_panel: true,
            export_png: None,
            export_result: Arc::default(),
            look_applied: None,
            zoom_applied: 1.0,
            autosave: recovery::Autosave::default(),
            lesson: None,
            show_gallery: false,
            gallery: Vec::new(),
            presenting: false,
            stepper: stepper::Stepper::default(),
            compare: None,
            sweep: sweep::SweepWindow::default(),
            planner: plan::PlanWindow::default(),
            breaks: breaks::Breaks::default(),
            drill: None,
            drills_done: drill_store.load(),
            drill_store,
            waterfall: waterfall::WaterfallView::default(),
            animate: animate::Animate::default(),
        };
        app.run.fixed_ticks_per_frame = app.config.fixed_ticks_per_frame;
        app.open_shipped(STARTER_LAYOUT);
        app
    }

    /// A window showing `layout` (benchmarks, tests).
    pub fn with_layout(config: AppConfig, layout: Layout) -> TierlabApp {
        let mut app = TierlabApp::new(config);
        app.set_document(layout, Source::Untitled);
        app
    }

    /// The layout being edited.
    pub fn layout(&self) -> &Layout {
        &self.doc.layout
    }

    /// The running core, once Play or Step has built it.
    pub fn sim(&self) -> Option<&Sim> {
        self.run.sim.as_ref()
    }

    /// The capacity sweep window (tests drive and read it).
    pub fn sweep_window(&mut self) -> &mut sweep::SweepWindow {
        &mut self.sweep
    }

    /// The nodes the stress and single-point-of-failure searches marked on the canvas, with
    /// their badges.
    pub fn marked_nodes(&self) -> Vec<(layout::NodeId, String)> {
        self.breaks
            .marks()
            .into_iter()
            .map(|m| (m.node, m.badge))
            .collect()
    }

    /// The Export animation dialog's fields (tests fill them in as a user would type).
    pub fn animation_dialog(&mut self) -> &mut Animate {
        &mut self.animate
    }

    /// Whether the run is playing.
    pub fn is_playing(&self) -> bool {
        self.run.playing
    }

    /// Dots the canvas has drawn over this run, by wire (caller, callee) and class: each
    /// sampled hop counted once, in the frame it left.
    pub fn dot_counts(&self) -> &DotCounts {
        &self.run.dot_counts
    }

    /// Where the last frame's time went before drawing.
    pub fn frame_split(&self) -> FrameSplit {
        self.split
    }

    /// Dots drawn in the last frame.
    pub fn dots_drawn(&self) -> usize {
        self.run.view.dots.len()
    }

    /// Where each dot was drawn in the last frame, on screen, and the request it stands for.
    pub fn dots_on_screen(&self) -> &[(egui::Pos2, u64)] {
        &self.canvas.dots_screen
    }

    /// Play at once (scripted screenshots and benchmarks).
    pub fn play(&mut self) {
        self.run_action(RunAction::Play);
    }

    /// The run's speed: simulated seconds per wall-clock second (`None`: as fast as possible).
    pub fn set_speed(&mut self, speed: Option<f64>) {
        match speed {
            Some(s) => {
                self.run.speed = s.clamp(run::SPEED_MIN, run::SPEED_MAX);
                self.run.max_speed = false;
            }
            None => self.run.max_speed = true,
        }
    }

    /// Where the canvas was drawn in the last frame, in points.
    pub fn canvas_rect(&self) -> egui::Rect {
        self.canvas.rect_screen
    }

    /// Whether the projector theme is chosen.
    pub fn is_projector_theme(&self) -> bool {
        self.settings.look == theme::Look::Projector
    }

    /// The UI zoom chosen (Ctrl + / Ctrl -), 1 for actual size.
    pub fn ui_zoom(&self) -> f32 {
        self.settings.ui_zoom
    }

    /// Presentation mode on or off; the canvas fits the layout to its new size.
    pub(super) fn set_presenting(&mut self, on: bool) {
        if self.presenting != on {
            self.presenting = on;
            self.canvas.fit_requested = true;
        }
    }

    /// Whether presentation mode is on.
    pub fn is_presenting(&self) -> bool {
        self.presenting
    }

    /// Whether the scenario gallery is shown.
    pub fn is_gallery_shown(&self) -> bool {
        self.show_gallery
    }

    /// Show the scenario gallery (the first launch does).
    pub fn show_gallery(&mut self) {
        self.show_gallery = true;
    }

    /// The title of the lesson open with the layout, if any.
    pub fn lesson_title(&self) -> Option<&str> {
        self.lesson.as_ref().map(|l| l.lesson.title.as_str())
    }

    /// Open a layout or lesson file as File > Open does; on failure the load-error dialog
    /// says why (and false is returned).
    pub fn open_file(&mut self, path: &Path) -> bool {
        self.open_path(path)
    }

    /// The message of the dialog on screen, if it is a load error.
    pub fn load_error(&self) -> Option<&str> {
        match &self.dialog {
            Some(Dialog::LoadError(e)) => Some(e),
            _ => None,
        }
    }

    /// Take the settings remembered by the last session from eframe's storage, as a launch
    /// does (theme, zoom, panels, recent files, the last file).
    pub fn restore_from(&mut self, storage: &dyn eframe::Storage) {
        if let Some(settings) = eframe::get_value::<Settings>(storage, eframe::APP_KEY) {
            self.restore(settings);
        }
    }

    /// Whether there are unsaved changes.
    pub fn is_dirty(&self) -> bool {
        self.doc.is_dirty()
    }

    /// The file the layout was loaded from or saved to, if any.
    pub fn file(&self) -> Option<&Path> {
        self.doc.file()
    }

    /// The name shown in the title: the file name, or what the layout is.
    pub fn document_name(&self) -> String {
        self.doc.name()
    }

    /// The window title: file name, an unsaved mark, and the app's name.
    pub fn title(&self) -> String {
        self.doc.title()
    }

    /// Draw the whole window. eframe calls it once per frame; tests call it through kittest.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.frames += 1;
        let ctx = ui.ctx().clone();
        // Checked again only when the layout changed: on hundreds of nodes and wires a check
        // is a large part of a frame, and a running layout seldom changes.
        if self.problems_of.as_ref() != Some(&self.doc.layout) {
            self.problems = layout::check(&self.doc.layout);
            self.problems_of = Some(self.doc.layout.clone());
        }
        self.shortcuts(&ctx);
        self.close_request(&ctx);
        self.look_and_zoom(&ctx);
        let wall_dt_s = f64::from(ctx.input(|i| i.unstable_dt));
        self.lesson_before_advance();
        let core_start = std::time::Instant::now();
        self.run.advance(wall_dt_s);
        self.animate_before_draw();
        self.split.core = core_start.elapsed();
        self.lesson_after_advance();
        self.drill_tick(wall_dt_s);
        let live_start = std::time::Instant::now();
        self.run.refresh_view(&self.doc.layout);
        self.split.live = live_start.elapsed();
        self.breaks.poll(&self.doc.layout);
        let run_now = self.run.sim.as_ref().map(Sim::now_ns);
        if let Some(s) = &mut self.status
            && !s.still_applies(wall_dt_s, run_now)
        {
            self.status = None;
        }
        if self.run.playing {
            ctx.request_repaint();
        }
        if let Some(view) = &mut self.compare {
            view.advance(wall_dt_s);
        }
        if self.compare.is_some() && !self.presenting {
            self.compare_ui(ui);
        } else if self.presenting {
            self.presentation_ui(ui);
        } else {
            self.panels_ui(ui);
        }
        self.gallery_ui(&ctx);
        self.dialog_ui(&ctx);
        self.sweep.ui(&ctx, &self.doc.layout);
        self.planner.ui(&ctx, &self.doc.layout);
        self.animate_ui(&ctx);
        self.autosave(wall_dt_s);
        if ctx.input(|i| i.pointer.any_released()) {
            // A drag or click on a number ends here: the next change is a new undo step.
            self.doc.history.seal();
        }
        self.title_and_hooks(&ctx);
    }

    /// Give egui the chosen theme and UI zoom when they change; after a zoom, the canvas has
    /// a new size in points, so it fits the layout again (nothing cut off at zoom 1.5).
    fn look_and_zoom(&mut self, ctx: &egui::Context) {
        if self.look_applied != Some(self.settings.look) {
            theme::apply(ctx, self.settings.look);
            self.look_applied = Some(self.settings.look);
        }
        // Ctrl + / Ctrl - / Ctrl 0 go through the action table, not egui's own handler.
        ctx.options_mut(|o| o.zoom_with_keyboard = false);
        self.settings.ui_zoom = self.settings.ui_zoom.clamp(UI_ZOOM_MIN, UI_ZOOM_MAX);
        let zoom = if self.presenting {
            self.settings.ui_zoom.max(PRESENT_ZOOM)
        } else {
            self.settings.ui_zoom
        };
        if (ctx.zoom_factor() - zoom).abs() > 1e-3 {
            ctx.set_zoom_factor(zoom);
        }
        let now = ctx.zoom_factor();
        if (now - self.zoom_applied).abs() > 1e-3 {
            self.zoom_applied = now;
            self.canvas.fit_requested = true;
        }
    }

    /// The menu bar, status line, run panel, palette and inspector around the canvas. The
    /// canvas keeps the larger share: the run panel takes at most half the height and the
    /// side panels a fraction of the width; each panel scrolls what does not fit.
    fn panels_ui(&mut self, ui: &mut Ui) {
        let screen = ui.max_rect().size();
        egui::Panel::top("menu bar").show(ui, |ui| self.menu_ui(ui));
        if self.lesson.is_some() {
            egui::Panel::top("lesson bar").show(ui, |ui| self.lesson_bar_ui(ui));
        }
        if self.breaks.is_shown() {
            egui::Panel::top("breaks bar").show(ui, |ui| self.breaks.ui(ui));
        }
        egui::Panel::bottom("status line").show(ui, |ui| {
            status::status_ui(ui, &self.problems, self.status.as_ref())
        });
        // The open drill takes the full height at the right, beside the run panel.
        if self.drill.is_some() {
            egui::Panel::right("drill panel")
                .resizable(true)
                .default_size((screen.x * 0.28).clamp(260.0, 420.0))
                .size_range(220.0..=(screen.x * 0.45).max(240.0))
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("drill scroll")
                        .show(ui, |ui| self.drill_panel_ui(ui));
                });
        }
        if self.show_run_panel {
            let high = (screen.y * 0.45).max(120.0);
            egui::Panel::bottom("run panel")
                .resizable(true)
                .default_size((screen.y * RUN_PANEL_SHARE).clamp(90.0, 400.0))
                .size_range(90.0..=high)
                .show(ui, |ui| {
                    // The scroll area fills the panel, before a run as during it: the panel
                    // keeps its height when the plots appear, so Play/Pause stays put.
                    egui::ScrollArea::vertical()
                        .id_salt("run panel scroll")
                        .auto_shrink([false, false])
                        .show(ui, |ui| self.run_panel_ui(ui));
                });
        }
        self.stepper_ui(ui);
        self.waterfall_ui(ui);
        if self.settings.show_palette {
            egui::Panel::left("palette")
                .resizable(true)
                .default_size(150.0)
                .size_range(110.0..=(screen.x * 0.2).max(130.0))
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("palette scroll")
                        .show(ui, |ui| self.palette_ui(ui));
                });
        }
        if self.settings.show_inspector {
            // Nothing selected: a narrow panel with the layout's description, not a third of
            // the window. Each has its own remembered width.
            let empty = self.selection.nodes.is_empty() && self.selection.wire.is_none();
            let (id, default, min) = if empty {
                ("inspector (nothing selected)", 190.0, 140.0)
            } else {
                ("inspector", (screen.x * 0.25).clamp(240.0, 320.0), 220.0)
            };
            egui::Panel::right(id)
                .resizable(true)
                .default_size(default)
                .size_range(min..=(screen.x * 0.3).max(min + 20.0))
                .show(ui, |ui| {
                    // Both ways: at a large UI zoom its rows are wider than the panel.
                    egui::ScrollArea::both().show(ui, |ui| self.inspector_panel_ui(ui));
                });
        }
        egui::CentralPanel::no_frame().show(ui, |ui| self.canvas_panel_ui(ui));
    }

    /// Presentation mode: the lesson's caption (or the layout's name and description) large
    /// on top, the headline numbers and the latency plot below, the canvas in between; no menu,
    /// palette, inspector or status line. F or Escape leaves.
    fn presentation_ui(&mut self, ui: &mut Ui) {
        let screen = ui.max_rect().size();
        egui::Panel::top("presentation caption").show(ui, |ui| {
            if self.lesson.is_some() {
                self.lesson_bar_ui(ui);
            } else {
                let body = ui.text_style_height(&egui::TextStyle::Body);
                ui.label(
                    egui::RichText::new(&self.doc.layout.name)
                        .strong()
                        .size(body * 1.6),
                );
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(&self.doc.layout.description).size(body * 1.3),
                    )
                    .wrap(),
                );
            }
        });
        // The numbers and the plot at the side: layouts are wider than tall, so the canvas
        // keeps more of its zoom with the full height than with the full width.
        egui::Panel::right("presentation numbers")
            .exact_size((screen.x * 0.3).max(220.0))
            .show(ui, |ui| {
                plots::summary_ui(ui, self.run.sim.as_ref(), &self.run.view);
                ui.separator();
                plots::latency_plot_ui(
                    ui,
                    &mut self.plots,
                    self.run.sim.as_ref(),
                    self.run.window_s,
                );
            });
        egui::CentralPanel::no_frame().show(ui, |ui| self.canvas_panel_ui(ui));
    }

    /// The A/B split view under the menu bar, in place of the editor's panels.
    fn compare_ui(&mut self, ui: &mut Ui) {
        egui::Panel::top("menu bar").show(ui, |ui| self.menu_ui(ui));
        let options = self.canvas_options();
        let request = self.compare.as_mut().and_then(|v| v.ui(ui, options));
        if let Some(r) = request {
            self.compare_request(r);
        }
    }

    fn canvas_options(&self) -> CanvasOptions {
        CanvasOptions {
            snap: self.settings.snap,
            grid: self.settings.grid,
            projector: self.settings.look == theme::Look::Projector,
        }
    }

    fn inspector_panel_ui(&mut self, ui: &mut Ui) {
        let edits = inspector::inspector_ui(
            ui,
            &mut self.inspector,
            &self.doc.layout,
            self.selection.single(),
            self.selection.wire,
            &self.problems,
        );
        if let (Some(sim), Some(id)) = (self.run.sim.as_ref(), self.selection.single()) {
            theory::theory_ui(ui, sim.layout(), sim, id);
        }
        self.apply_edits(edits);
    }

    fn canvas_panel_ui(&mut self, ui: &mut Ui) {
        let options = self.canvas_options();
        let marks = self.breaks.marks();
        let overlay = canvas::RunOverlay {
            view: self.run.sim.is_some().then_some(&self.run.view),
            walk: self.stepper.highlight(),
            marks: &marks,
        };
        let edits = canvas::canvas_ui(
            ui,
            &mut self.canvas,
            &mut self.selection,
            &self.doc.layout,
            &self.problems,
            options,
            overlay,
        );
        self.apply_edits(edits);
    }

    /// Apply what the environment asked for at launch: a shipped layout, speed, play, selection.
    fn start_as(&mut self, env: &Config) {
        self.hooks = Hooks::new(env);
        if let Some(name) = &env.layout
            && let Some(shipped_name) = shipped::names().find(|n| *n == name.as_str())
        {
            self.open_shipped(shipped_name);
        }
        // The layout `tierlab bench-frame --two-hundred-nodes` draws, for a screenshot of it.
        if env.layout.as_deref() == Some(BENCH_200_NODES) {
            self.set_document(bench::two_hundred_nodes(20_000.0), Source::Untitled);
        }
        if let Some(n) = env.lesson {
            self.open_gallery_lesson(n - 1);
        }
        if env.gallery {
            self.show_gallery = true;
        }
        if env.present {
            self.set_presenting(true);
        }
        if let Some(zoom) = env.zoom {
            self.settings.ui_zoom = zoom;
        }
        if env.projector {
            self.settings.look = theme::Look::Projector;
        }
        if let Some(speed) = env.speed {
            self.set_speed(Some(speed));
        }
        if env.play {
            self.play();
        }
        if let Some(name) = &env.select
            && let Some(n) = self.doc.layout.node_named(name)
        {
            self.selection.only(n.id);
        }
        self.send_at_start(env.send, env.walk_step);
        if let Some(b) = &env.compare_b {
            self.compare_at_start(b, env.play, env.speed);
        }
        if let Some(axis) = &env.sweep {
            self.sweep.show(&self.doc.layout);
            self.sweep.axis = axis.clone();
            self.sweep.start(&self.doc.layout);
        }
        match env.study.as_deref() {
            Some("spof") => self.breaks.start_spof(&self.doc.layout),
            Some("stress") => self.breaks.start_stress(&self.doc.layout),
            _ => {}
        }
        if let Some(path) = &env.animate_to {
            self.script_animation(path.clone(), env.animate, env.screenshot_after_s);
        }
        if let Some(n) = env.drill
            && let Some(i) = crate::shipped::DRILLS
                .iter()
                .position(|(f, _)| crate::drill::number(f) == Some(n))
        {
            self.open_drill(i);
            if let Some(path) = &env.drill_answer
                && self.open_path(path)
            {
                self.check_drill();
            }
        }
    }

    /// Take the settings remembered from the last session, and reopen its file.
    fn restore(&mut self, settings: Settings) {
        let last = settings.last_file.clone();
        self.settings = settings;
        if let Some(p) = last
            && p.is_file()
            && let Ok(l) = files::load(&p)
        {
            self.set_document(l, Source::File(p));
        }
    }
}

impl eframe::App for TierlabApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        TierlabApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

/// Open the window and run until it is closed. The `TIERLAB_*` environment variables
/// (`Config`) script it: a screenshot, a frame limit, a layout, play, speed, a selection.
pub fn run_window() -> Result<(), String> {
    let env = Config::from_env();
    let scripted = env.scripted();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Tierlab")
            .with_inner_size(env.window_size.unwrap_or([1280.0, 800.0]))
            .with_min_inner_size([800.0, 500.0]),
        // A scripted run starts from the defaults, so screenshots are reproducible.
        persist_window: !scripted,
        ..Default::default()
    };
    eframe::run_native(
        "Tierlab",
        options,
        Box::new(move |cc| {
            let mut config = AppConfig {
                native_dialogs: files::desktop_session() && !env.no_native_dialog,
                ..AppConfig::default()
            };
            if !scripted {
                // A screenshot's Check must not mark the user's drills done: only an ordinary
                // launch keeps them in the file.
                config.drill_store = Arc::new(drill::FileStore::default());
            }
            let mut app = TierlabApp::new(config);
            if !scripted && let Some(storage) = cc.storage {
                app.restore_from(storage);
            }
            if !scripted {
                // The first launch (nothing remembered yet) opens the scenario gallery.
                let first_launch = cc
                    .storage
                    .is_none_or(|s| s.get_string(eframe::APP_KEY).is_none());
                if first_launch {
                    app.show_gallery();
                }
                app.set_recovery_file(files::recovery_file(), recovery::AUTOSAVE_EVERY_S);
                app.offer_recovery();
            }
            app.start_as(&env);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| e.to_string())
}
