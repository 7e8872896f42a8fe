//! The window: a menu bar, the palette, the canvas, the inspector and a status line, around
//! one `Layout`. State is data and the UI is a method on it: `TierlabApp::ui` draws everything
//! from `&mut Ui`, so tests drive the very same code through egui_kittest without a display.
//!
//! Edits flow one way: the canvas, inspector, palette and menus return `Edit`s, and
//! `apply_edit` changes the layout and records undo. Nothing outside this module imports it.

mod canvas;
mod edit;
mod files;
mod geometry;
mod history;
mod inspector;
mod live;
mod paint;
mod plots;
mod run;
mod theme;

pub mod bench;

pub use live::{DotClass, DotCounts, classify_hops};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers, Sense, Ui, ViewportCommand, vec2};
use serde::{Deserialize, Serialize};

use self::canvas::{CanvasOptions, CanvasState, Selection};
use self::edit::Edit;
use self::files::{BrowseFor, Browser, Choice};
use self::history::History;
use self::inspector::InspectorState;
use self::plots::{PlotState, RunAction};
use self::run::RunState;
use crate::layout::{self, Command, KindTag, Layout, Problem, Severity};
use crate::shipped;
use crate::sim::Sim;

/// The layout opened on first launch.
pub const STARTER_LAYOUT: &str = "request-flow.ron";
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
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            native_dialogs: false,
            save_dir: files::default_save_dir(),
            fixed_ticks_per_frame: None,
        }
    }
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
        }
    }
}

/// Where the open layout came from.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    Untitled,
    Shipped(&'static str),
    File(PathBuf),
}

/// Something that would discard unsaved changes, waiting for the user's yes.
#[derive(Clone, Debug, PartialEq)]
enum Pending {
    New,
    Open,
    OpenPath(PathBuf),
    OpenShipped(&'static str),
    Quit,
}

enum Dialog {
    Browser(Browser),
    Confirm(Pending),
    LoadError(String),
}

/// Scripted runs: save a screenshot and close, or close after a number of frames.
#[derive(Default)]
struct Hooks {
    screenshot_to: Option<PathBuf>,
    exit_after_frames: Option<u64>,
    screenshot_requested: bool,
    screenshot_done: Arc<AtomicBool>,
    /// Take the screenshot only once the run has reached this simulated time.
    screenshot_after_s: f64,
}

/// The editor window's state.
pub struct TierlabApp {
    layout: Layout,
    /// The layout as last loaded or saved: the unsaved mark is `layout != saved`.
    saved: Layout,
    source: Source,
    history: History,
    selection: Selection,
    canvas: CanvasState,
    inspector: InspectorState,
    settings: Settings,
    config: AppConfig,
    dialog: Option<Dialog>,
    /// The last message for the status line, and whether it is an error.
    status: Option<(String, bool)>,
    problems: Vec<Problem>,
    hooks: Hooks,
    frames: u64,
    title_sent: String,
    allow_close: bool,
    run: RunState,
    plots: PlotState,
    show_run_panel: bool,
    /// A PNG export waiting for the next frame's screenshot, and the message it left.
    export_png: Option<PathBuf>,
    export_result: Arc<std::sync::Mutex<Option<(String, bool)>>>,
}

impl Default for TierlabApp {
    fn default() -> Self {
        TierlabApp::new(AppConfig::default())
    }
}

impl TierlabApp {
    /// A window showing the shipped starter layout.
    pub fn new(config: AppConfig) -> TierlabApp {
        let mut app = TierlabApp {
            layout: Layout::default(),
            saved: Layout::default(),
            source: Source::Untitled,
            history: History::default(),
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
            title_sent: String::new(),
            allow_close: false,
            run: RunState::new(0),
            plots: PlotState::default(),
            show_run_panel: true,
            export_png: None,
            export_result: Arc::default(),
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
        &self.layout
    }

    /// The running core, once Play or Step has built it.
    pub fn sim(&self) -> Option<&Sim> {
        self.run.sim.as_ref()
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

    /// Dots drawn in the last frame.
    pub fn dots_drawn(&self) -> usize {
        self.run.view.dots.len()
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

    /// Whether there are unsaved changes.
    pub fn is_dirty(&self) -> bool {
        self.layout != self.saved
    }

    /// The file the layout was loaded from or saved to, if any.
    pub fn file(&self) -> Option<&Path> {
        match &self.source {
            Source::File(p) => Some(p),
            _ => None,
        }
    }

    /// The name shown in the title: the file name, or what the layout is.
    pub fn document_name(&self) -> String {
        match &self.source {
            Source::Untitled => "Untitled".to_string(),
            Source::Shipped(name) => format!("{name} (shipped)"),
            Source::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| p.display().to_string()),
        }
    }

    /// The window title: file name, an unsaved mark, and the app's name.
    pub fn title(&self) -> String {
        let mark = if self.is_dirty() { "*" } else { "" };
        format!("{mark}{} - Tierlab", self.document_name())
    }

    /// Draw the whole window. eframe calls it once per frame; tests call it through kittest.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.frames += 1;
        let ctx = ui.ctx().clone();
        self.problems = layout::check(&self.layout);
        self.shortcuts(&ctx);
        self.close_request(&ctx);
        let wall_dt_s = f64::from(ctx.input(|i| i.unstable_dt));
        self.run.advance(wall_dt_s);
        self.run.refresh_view(&self.layout);
        if self.run.playing {
            ctx.request_repaint();
        }

        egui::Panel::top("menu bar").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status line").show(ui, |ui| self.status_ui(ui));
        if self.show_run_panel {
            egui::Panel::bottom("run panel")
                .resizable(true)
                .default_size(400.0)
                .size_range(90.0..=640.0)
                .show(ui, |ui| self.run_panel_ui(ui));
        }
        if self.settings.show_palette {
            egui::Panel::left("palette")
                .resizable(true)
                .default_size(150.0)
                .size_range(120.0..=260.0)
                .show(ui, |ui| self.palette_ui(ui));
        }
        if self.settings.show_inspector {
            egui::Panel::right("inspector")
                .resizable(true)
                .default_size(320.0)
                .size_range(240.0..=520.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        let edits = inspector::inspector_ui(
                            ui,
                            &mut self.inspector,
                            &self.layout,
                            self.selection.single(),
                            self.selection.wire,
                            &self.problems,
                        );
                        self.apply_edits(edits);
                    });
                });
        }
        egui::CentralPanel::no_frame().show(ui, |ui| {
            let options = CanvasOptions {
                snap: self.settings.snap,
                grid: self.settings.grid,
            };
            let mut commands = Vec::new();
            let overlay = canvas::RunOverlay {
                view: self.run.sim.is_some().then_some(&self.run.view),
                commands: &mut commands,
            };
            let edits = canvas::canvas_ui(
                ui,
                &mut self.canvas,
                &mut self.selection,
                &self.layout,
                &self.problems,
                options,
                overlay,
            );
            self.apply_edits(edits);
            for c in commands {
                let what = format!("{c:?}");
                match self.run.command(&self.layout, c) {
                    Ok(()) => self.status = Some((format!("Run: {what}"), false)),
                    Err(why) => self.status = Some((format!("Refused: {why}"), true)),
                }
            }
        });
        self.dialog_ui(&ctx);
        if ctx.input(|i| i.pointer.any_released()) {
            // A drag or click on a number ends here: the next change is a new undo step.
            self.history.seal();
        }
        self.title_and_hooks(&ctx);
    }

    // ---- edits -------------------------------------------------------------------------

    fn apply_edits(&mut self, edits: Vec<Edit>) {
        for e in edits {
            self.apply_edit(e);
        }
    }

    /// The one place the layout changes (apart from loading): apply, record undo, report.
    fn apply_edit(&mut self, e: Edit) {
        let before = self.layout.clone();
        match edit::apply(&mut self.layout, &e) {
            Ok(()) => {
                if self.layout != before {
                    let refusals = self.run.sync(&before, &self.layout);
                    self.history.record(before, e.merge_key());
                    if let Some(why) = refusals.first() {
                        self.status = Some((format!("The run refused it: {why}"), true));
                        self.selection.retain_existing(&self.layout);
                        return;
                    }
                }
                if let Edit::Command(Command::AddNode(n)) = &e {
                    self.selection.only(n.id);
                }
                self.selection.retain_existing(&self.layout);
                self.status = None;
            }
            Err(why) => {
                let message = match &e {
                    Edit::Command(Command::AddWire(_)) => format!("Wire refused: {why}"),
                    _ => format!("Refused: {why}"),
                };
                if let Some(node) = e_node(&e) {
                    self.inspector.refusal = Some((node, why));
                }
                self.status = Some((message, true));
            }
        }
    }

    fn undo(&mut self) {
        let before = self.layout.clone();
        if self.history.undo(&mut self.layout) {
            self.run.sync(&before, &self.layout);
            self.selection.retain_existing(&self.layout);
            self.status = Some(("Undone".into(), false));
        }
    }

    fn redo(&mut self) {
        let before = self.layout.clone();
        if self.history.redo(&mut self.layout) {
            self.run.sync(&before, &self.layout);
            self.selection.retain_existing(&self.layout);
            self.status = Some(("Redone".into(), false));
        }
    }

    fn delete_selection(&mut self) {
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

    fn select_all(&mut self) {
        self.selection.clear();
        self.selection
            .nodes
            .extend(self.layout.nodes.iter().map(|n| n.id));
    }

    // ---- files -------------------------------------------------------------------------

    /// Replace the document (after any confirmation).
    fn set_document(&mut self, layout: Layout, source: Source) {
        self.layout = layout.clone();
        self.saved = layout;
        self.source = source;
        self.history.clear();
        self.selection.clear();
        self.inspector = InspectorState::default();
        self.canvas.fit_requested = true;
        self.run.reset();
        self.run.seed = self.layout.seed;
    }

    fn open_shipped(&mut self, name: &'static str) {
        let Some(text) = shipped::find(name) else {
            return;
        };
        match layout::from_ron(text) {
            Ok(l) => {
                let name = shipped::names()
                    .find(|n| *n == name)
                    .unwrap_or(STARTER_LAYOUT);
                self.set_document(l, Source::Shipped(name));
            }
            Err(e) => self.dialog = Some(Dialog::LoadError(format!("{name}:{e}"))),
        }
    }

    /// Load `path`; on failure show why and keep the current layout.
    fn open_path(&mut self, path: &Path) -> bool {
        match files::load(path) {
            Ok(l) => {
                self.set_document(l, Source::File(path.to_path_buf()));
                self.remember(path);
                self.status = Some((format!("Opened {}", path.display()), false));
                true
            }
            Err(e) => {
                self.dialog = Some(Dialog::LoadError(e));
                false
            }
        }
    }

    fn save_to(&mut self, path: &Path) {
        match files::save(path, &self.layout) {
            Ok(()) => {
                self.saved = self.layout.clone();
                self.source = Source::File(path.to_path_buf());
                self.remember(path);
                self.status = Some((format!("Saved {}", path.display()), false));
            }
            Err(e) => self.status = Some((e, true)),
        }
    }

    fn remember(&mut self, path: &Path) {
        let p = path.to_path_buf();
        self.settings.recent.retain(|r| *r != p);
        self.settings.recent.insert(0, p.clone());
        self.settings.recent.truncate(RECENT_MAX);
        self.settings.last_file = Some(p);
    }

    fn save(&mut self) {
        match self.source.clone() {
            Source::File(p) => self.save_to(&p),
            _ => self.save_as(),
        }
    }

    fn suggested_file_name(&self) -> String {
        match &self.source {
            Source::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            // Never suggest overwriting the shipped file itself (saves/ in a checkout).
            Source::Shipped(n) => format!("my-{n}"),
            Source::Untitled => "untitled.ron".to_string(),
        }
    }

    fn start_dir(&self) -> PathBuf {
        match &self.source {
            Source::File(p) => p
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| self.config.save_dir.clone()),
            _ => self.config.save_dir.clone(),
        }
    }

    fn save_as(&mut self) {
        let dir = self.start_dir();
        let name = self.suggested_file_name();
        if self.config.native_dialogs {
            let _ = std::fs::create_dir_all(&dir);
            if let Some(p) = rfd::FileDialog::new()
                .add_filter("Tierlab layout", &["ron"])
                .set_directory(&dir)
                .set_file_name(&name)
                .save_file()
            {
                self.save_to(&files::with_ron_extension(p));
            }
            return;
        }
        self.dialog = Some(Dialog::Browser(Browser::new(BrowseFor::Save, dir, &name)));
    }

    fn show_open(&mut self) {
        let dir = self.start_dir();
        if self.config.native_dialogs {
            if let Some(p) = rfd::FileDialog::new()
                .add_filter("Tierlab layout", &["ron"])
                .set_directory(&dir)
                .pick_file()
            {
                self.open_path(&p);
            }
            return;
        }
        self.dialog = Some(Dialog::Browser(Browser::new(BrowseFor::Open, dir, "")));
    }

    /// Do `p` now, or first ask when it would discard unsaved changes.
    fn request(&mut self, p: Pending) {
        if self.is_dirty() {
            self.dialog = Some(Dialog::Confirm(p));
        } else {
            self.perform(p);
        }
    }

    fn perform(&mut self, p: Pending) {
        match p {
            Pending::New => {
                let l = Layout {
                    name: "Untitled".into(),
                    ..Layout::default()
                };
                self.set_document(l, Source::Untitled);
            }
            Pending::Open => self.show_open(),
            Pending::OpenPath(path) => {
                self.open_path(&path);
            }
            Pending::OpenShipped(name) => self.open_shipped(name),
            Pending::Quit => self.allow_close = true,
        }
    }

    // ---- input -------------------------------------------------------------------------

    fn shortcuts(&mut self, ctx: &egui::Context) {
        if self.dialog.is_some() {
            return;
        }
        let shift_cmd = Modifiers::COMMAND | Modifiers::SHIFT;
        let take = |m: Modifiers, k: Key| {
            ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(m, k)))
        };
        // Shifted shortcuts first: Ctrl+S also matches Ctrl+Shift+S.
        if take(shift_cmd, Key::S) {
            self.save_as();
        } else if take(Modifiers::COMMAND, Key::S) {
            self.save();
        } else if take(Modifiers::COMMAND, Key::O) {
            self.request(Pending::Open);
        } else if take(Modifiers::COMMAND, Key::N) {
            self.request(Pending::New);
        }
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let take = |m: Modifiers, k: Key| {
            ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(m, k)))
        };
        if take(shift_cmd, Key::Z) || take(Modifiers::COMMAND, Key::Y) {
            self.redo();
        } else if take(Modifiers::COMMAND, Key::Z) {
            self.undo();
        } else if take(Modifiers::COMMAND, Key::A) {
            self.select_all();
        } else if take(Modifiers::NONE, Key::Delete) || take(Modifiers::NONE, Key::Backspace) {
            self.delete_selection();
        } else if take(Modifiers::NONE, Key::Space) {
            let action = if self.run.playing {
                RunAction::Pause
            } else {
                RunAction::Play
            };
            self.run_action(action);
        }
    }

    /// The window's close button: ask first when there are unsaved changes.
    fn close_request(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && !self.allow_close && self.is_dirty() {
            ctx.send_viewport_cmd(ViewportCommand::CancelClose);
            self.dialog = Some(Dialog::Confirm(Pending::Quit));
        }
    }

    // ---- panels ------------------------------------------------------------------------

    fn menu_ui(&mut self, ui: &mut Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui
                    .add(egui::Button::new("New").shortcut_text("Ctrl+N"))
                    .clicked()
                {
                    self.request(Pending::New);
                }
                if ui
                    .add(egui::Button::new("Open…").shortcut_text("Ctrl+O"))
                    .clicked()
                {
                    self.request(Pending::Open);
                }
                ui.menu_button("Open recent", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.weak("No recent files");
                    }
                    for p in self.settings.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            self.request(Pending::OpenPath(p));
                        }
                    }
                });
                ui.menu_button("Open shipped layout", |ui| {
                    for name in shipped::names() {
                        if ui.button(name).clicked() {
                            self.request(Pending::OpenShipped(name));
                        }
                    }
                });
                ui.separator();
                if ui
                    .add(egui::Button::new("Save").shortcut_text("Ctrl+S"))
                    .clicked()
                {
                    self.save();
                }
                if ui
                    .add(egui::Button::new("Save as…").shortcut_text("Ctrl+Shift+S"))
                    .clicked()
                {
                    self.save_as();
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    self.request(Pending::Quit);
                }
            });
            ui.menu_button("Edit", |ui| {
                let undo = egui::Button::new("Undo").shortcut_text("Ctrl+Z");
                if ui.add_enabled(self.history.can_undo(), undo).clicked() {
                    self.undo();
                }
                let redo = egui::Button::new("Redo").shortcut_text("Ctrl+Shift+Z");
                if ui.add_enabled(self.history.can_redo(), redo).clicked() {
                    self.redo();
                }
                ui.separator();
                if ui
                    .add(egui::Button::new("Delete").shortcut_text("Del"))
                    .clicked()
                {
                    self.delete_selection();
                }
                if ui
                    .add(egui::Button::new("Select all").shortcut_text("Ctrl+A"))
                    .clicked()
                {
                    self.select_all();
                }
            });
            ui.menu_button("View", |ui| {
                if ui.button("Zoom to fit").clicked() {
                    self.canvas.fit_requested = true;
                }
                ui.checkbox(&mut self.settings.snap, "Snap to grid");
                ui.checkbox(&mut self.settings.grid, "Show grid");
                ui.checkbox(&mut self.settings.show_palette, "Palette");
                ui.checkbox(&mut self.settings.show_inspector, "Inspector");
                ui.checkbox(&mut self.show_run_panel, "Run panel");
            });
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(self.title());
            });
        });
    }

    fn palette_ui(&mut self, ui: &mut Ui) {
        ui.add_space(6.0);
        ui.heading("Add node");
        ui.weak("Drag onto the canvas");
        ui.add_space(6.0);
        for tag in KindTag::ALL {
            let (rect, resp) =
                ui.allocate_exact_size(vec2(ui.available_width(), 38.0), Sense::click_and_drag());
            let label = palette_label(tag);
            resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            let painter = ui.painter();
            let fill = if resp.hovered() || resp.dragged() {
                theme::fill(tag).gamma_multiply(0.8)
            } else {
                theme::fill(tag)
            };
            painter.rect(
                rect,
                theme::rounding(tag, 0.5),
                fill,
                egui::Stroke::new(1.0, theme::outline(tag)),
                egui::StrokeKind::Inside,
            );
            theme::icon(
                painter,
                tag,
                egui::Rect::from_center_size(
                    rect.left_center() + vec2(18.0, 0.0),
                    vec2(16.0, 16.0),
                ),
            );
            painter.text(
                rect.left_center() + vec2(34.0, 0.0),
                egui::Align2::LEFT_CENTER,
                &label,
                egui::FontId::proportional(14.0),
                theme::TEXT,
            );
            if resp.drag_started() {
                self.canvas.palette_drag = Some(tag);
            }
            if resp.clicked() {
                // A click adds the node in the middle of the view.
                let view = self.canvas.rect_screen;
                let centre = self
                    .canvas
                    .transform
                    .canvas_from_screen(view.min, view.center())
                    - geometry::NODE_SIZE_CANVAS / 2.0;
                let at = geometry::snap(centre, geometry::GRID_CANVAS);
                let e = canvas::new_node_edit(&self.layout, tag, geometry::to_pos(at));
                self.apply_edit(e);
            }
            resp.on_hover_text("Drag onto the canvas, or click to add one in the middle");
            ui.add_space(4.0);
        }
    }

    fn run_panel_ui(&mut self, ui: &mut Ui) {
        ui.add_space(4.0);
        let actions = plots::controls_ui(ui, &mut self.run);
        plots::summary_ui(ui, self.run.sim.as_ref(), &self.run.view);
        ui.separator();
        plots::plots_ui(
            ui,
            &mut self.plots,
            self.run.sim.as_ref(),
            self.run.window_s,
            &self.selection.nodes,
        );
        for a in actions {
            self.run_action(a);
        }
    }

    fn run_action(&mut self, action: RunAction) {
        match action {
            RunAction::Play => {
                if self.run.ensure(&self.layout) {
                    self.run.playing = true;
                }
            }
            RunAction::Pause => self.run.playing = false,
            RunAction::Step => self.run.step(&self.layout),
            RunAction::Reset => {
                self.run.reset();
                self.run.ensure(&self.layout);
            }
            RunAction::SaveScript => {
                let entries = self.run.take_unsaved_log();
                if entries.is_empty() {
                    self.status = Some(("The run has no new commands to save".into(), false));
                } else {
                    let n = entries.len();
                    self.apply_edit(Edit::AppendScript(entries));
                    self.status = Some((
                        format!("Appended {} to the layout's script", plural(n, "command")),
                        false,
                    ));
                }
            }
            RunAction::ExportCsv => {
                let Some(sim) = self.run.sim.as_ref() else {
                    self.status = Some(("Nothing to export: the layout has not run".into(), true));
                    return;
                };
                let path = self.export_path(sim, "csv");
                let text = plots::csv(sim, self.run.window_s);
                self.status = Some(match files::write_atomic(&path, text.as_bytes()) {
                    Ok(()) => (format!("Exported {}", path.display()), false),
                    Err(e) => (e, true),
                });
            }
            RunAction::ExportPng => {
                let path = match self.run.sim.as_ref() {
                    Some(sim) => self.export_path(sim, "png"),
                    None => self.config.save_dir.join("tierlab.png"),
                };
                self.export_png = Some(path);
            }
        }
    }

    /// `<save dir>/<layout>-<simulated seconds>s.<ext>`.
    fn export_path(&self, sim: &Sim, ext: &str) -> PathBuf {
        let stem: String = self
            .layout
            .name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let stem = if stem.is_empty() { "run".into() } else { stem };
        self.config
            .save_dir
            .join(format!("{stem}-{:.0}s.{ext}", sim.now_ns() as f64 / 1e9))
    }

    fn status_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let errors = self
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            let warnings = self.problems.len() - errors;
            let summary = match (errors, warnings) {
                (0, 0) => "No problems".to_string(),
                (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
            };
            let colour = if errors > 0 {
                theme::ERROR
            } else if warnings > 0 {
                theme::WARNING
            } else {
                ui.visuals().weak_text_color()
            };
            let resp = ui.colored_label(colour, summary);
            if !self.problems.is_empty() {
                resp.on_hover_ui(|ui| {
                    for p in &self.problems {
                        ui.label(p.to_string());
                    }
                });
            }
            ui.separator();
            if let Some((message, is_error)) = &self.status {
                if *is_error {
                    ui.colored_label(theme::ERROR, message);
                } else {
                    ui.label(message);
                }
            } else if let Some(p) = self.problems.iter().find(|p| p.node.is_none()) {
                ui.weak(p.to_string());
            }
        });
    }

    fn dialog_ui(&mut self, ctx: &egui::Context) {
        let Some(dialog) = self.dialog.take() else {
            return;
        };
        match dialog {
            Dialog::Browser(mut b) => match b.ui(ctx) {
                None => self.dialog = Some(Dialog::Browser(b)),
                Some(Choice::Cancel) => {}
                Some(Choice::Shipped(name)) => self.open_shipped(name),
                Some(Choice::Path(p)) => match b.purpose {
                    BrowseFor::Save => self.save_to(&p),
                    BrowseFor::Open => {
                        self.open_path(&p);
                    }
                },
            },
            Dialog::Confirm(p) => {
                let mut answer = None;
                egui::Modal::new(egui::Id::unique("confirm discard")).show(ctx, |ui| {
                    ui.set_width(380.0);
                    ui.heading("Discard unsaved changes?");
                    ui.label(format!(
                        "{} has changes that are not saved.",
                        self.document_name()
                    ));
                    ui.horizontal(|ui| {
                        if ui.button("Save first").clicked() {
                            answer = Some(0);
                        }
                        if ui.button("Discard changes").clicked() {
                            answer = Some(1);
                        }
                        if ui.button("Cancel").clicked() {
                            answer = Some(2);
                        }
                    });
                });
                match answer {
                    Some(0) => {
                        self.save();
                        if !self.is_dirty() {
                            self.perform(p);
                        }
                    }
                    Some(1) => self.perform(p),
                    Some(_) => {}
                    None => self.dialog = Some(Dialog::Confirm(p)),
                }
            }
            Dialog::LoadError(message) => {
                let mut close = false;
                egui::Modal::new(egui::Id::unique("load error")).show(ctx, |ui| {
                    ui.set_max_width(560.0);
                    ui.heading("Could not open the layout");
                    ui.colored_label(theme::ERROR, format!("Error: {message}"));
                    ui.label("The current layout was kept.");
                    if ui.button("OK").clicked() {
                        close = true;
                    }
                });
                if !close {
                    self.dialog = Some(Dialog::LoadError(message));
                }
            }
        }
    }

    fn title_and_hooks(&mut self, ctx: &egui::Context) {
        let title = self.title();
        if title != self.title_sent {
            ctx.send_viewport_cmd(ViewportCommand::Title(title.clone()));
            self.title_sent = title;
        }
        if self.allow_close {
            ctx.send_viewport_cmd(ViewportCommand::Close);
        }
        if let Some(path) = self.export_png.take() {
            let result = self.export_result.clone();
            ctx.request_screenshot(move |img| {
                let message = match save_png(&path, &img) {
                    Ok(()) => (format!("Exported {}", path.display()), false),
                    Err(e) => (e, true),
                };
                if let Ok(mut r) = result.lock() {
                    *r = Some(message);
                }
            });
            ctx.request_repaint();
        }
        if let Ok(mut r) = self.export_result.try_lock()
            && let Some(m) = r.take()
        {
            self.status = Some(m);
        }
        if let Some(path) = self.hooks.screenshot_to.clone() {
            ctx.request_repaint();
            let ran_enough = self.run.now_s() >= self.hooks.screenshot_after_s;
            if self.frames >= 5 && ran_enough && !self.hooks.screenshot_requested {
                self.hooks.screenshot_requested = true;
                let done = self.hooks.screenshot_done.clone();
                ctx.request_screenshot(move |img| {
                    let [w, h] = img.size;
                    let rgba: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
                    match image::save_buffer(
                        &path,
                        &rgba,
                        w as u32,
                        h as u32,
                        image::ColorType::Rgba8,
                    ) {
                        Ok(()) => eprintln!("screenshot saved to {}", path.display()),
                        Err(e) => eprintln!("cannot save screenshot {}: {e}", path.display()),
                    }
                    done.store(true, Ordering::SeqCst);
                });
            }
            if self.hooks.screenshot_done.load(Ordering::SeqCst) {
                self.allow_close = true;
                ctx.send_viewport_cmd(ViewportCommand::Close);
            }
        }
        if let Some(n) = self.hooks.exit_after_frames {
            ctx.request_repaint();
            if self.frames >= n {
                self.allow_close = true;
                ctx.send_viewport_cmd(ViewportCommand::Close);
            }
        }
    }
}

/// Encode a screenshot as PNG and write it atomically.
fn save_png(path: &Path, img: &egui::ColorImage) -> Result<(), String> {
    use image::ImageEncoder as _;
    let [w, h] = img.size;
    let rgba: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&rgba, w as u32, h as u32, image::ExtendedColorType::Rgba8)
        .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
    files::write_atomic(path, &bytes)
}

fn e_node(e: &Edit) -> Option<layout::NodeId> {
    match e {
        Edit::Command(Command::SetParam { node, .. }) | Edit::Rename { node, .. } => Some(*node),
        _ => None,
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn palette_label(tag: KindTag) -> String {
    let l = tag.label();
    let mut c = l.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
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

/// Open the window and run until it is closed. `TIERLAB_SCREENSHOT=path.png` saves a
/// screenshot and closes; `TIERLAB_EXIT_AFTER_FRAMES=N` closes after N frames;
/// `TIERLAB_SELECT=name` selects that node at start (to show the inspector in screenshots).
/// `TIERLAB_LAYOUT=name.ron` opens a shipped layout; `TIERLAB_PLAY=1` starts the run at once,
/// `TIERLAB_SPEED=x` sets its speed, and `TIERLAB_SCREENSHOT_AFTER_S=s` waits for that much
/// simulated time before the screenshot.
pub fn run_window() -> Result<(), String> {
    let hooks = Hooks {
        screenshot_to: std::env::var_os("TIERLAB_SCREENSHOT").map(PathBuf::from),
        exit_after_frames: std::env::var("TIERLAB_EXIT_AFTER_FRAMES")
            .ok()
            .and_then(|s| s.parse().ok()),
        screenshot_after_s: env_f64("TIERLAB_SCREENSHOT_AFTER_S").unwrap_or(0.0),
        ..Hooks::default()
    };
    let scripted = hooks.screenshot_to.is_some() || hooks.exit_after_frames.is_some();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Tierlab")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 500.0]),
        // A scripted run starts from the defaults, so screenshots are reproducible.
        persist_window: !scripted,
        ..Default::default()
    };
    eframe::run_native(
        "Tierlab",
        options,
        Box::new(move |cc| {
            let config = AppConfig {
                native_dialogs: files::native_dialog_available(),
                ..AppConfig::default()
            };
            let mut app = TierlabApp::new(config);
            if !scripted
                && let Some(storage) = cc.storage
                && let Some(settings) = eframe::get_value::<Settings>(storage, eframe::APP_KEY)
            {
                let last = settings.last_file.clone();
                app.settings = settings;
                if let Some(p) = last
                    && p.is_file()
                    && let Ok(l) = files::load(&p)
                {
                    app.set_document(l, Source::File(p));
                }
            }
            app.hooks = hooks;
            if let Ok(name) = std::env::var("TIERLAB_LAYOUT")
                && let Some(shipped_name) = shipped::names().find(|n| *n == name)
            {
                app.open_shipped(shipped_name);
            }
            if let Some(speed) = env_f64("TIERLAB_SPEED") {
                app.set_speed(Some(speed));
            }
            if std::env::var("TIERLAB_PLAY").is_ok_and(|v| v == "1") {
                app.play();
            }
            if let Ok(name) = std::env::var("TIERLAB_SELECT")
                && let Some(n) = app.layout.node_named(&name)
            {
                app.selection.only(n.id);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| e.to_string())
}

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|x| x.is_finite())
}
