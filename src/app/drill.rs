//! Design drills in the window: the drills' row in the gallery with "n/4 done", and the open
//! drill's panel: the prompt, the whiteboard timer (pausable), Reveal (the checklist), Try it
//! (opens the starting layout), Check (the grader on a thread of its own, with its progress
//! bar and Cancel) and the grade. Which drills are done is kept between launches behind
//! [`DrillStore`]: a file beside the window's settings, or memory in tests.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eframe::egui::{self, RichText, Ui};
use serde::{Deserialize, Serialize};

use super::TierlabApp;
use super::document::Source;
use super::files;
use super::job::{Job, JobState};
use super::status::Status;
use super::theme;
use crate::drill::{self, Grade};
use crate::lesson::Lesson;

/// Where the done drills are kept between launches.
pub trait DrillStore: Send + Sync + std::fmt::Debug {
    /// The drills marked done (their file names); empty when nothing is stored.
    fn load(&self) -> BTreeSet<String>;
    /// Keep `done`, replacing what was kept.
    fn save(&self, done: &BTreeSet<String>) -> Result<(), String>;
}

/// The done drills in memory: what tests inject. Clones share the same set, so a test can
/// build a second app from what the first one stored.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore(Arc<Mutex<BTreeSet<String>>>);

impl DrillStore for MemoryStore {
    fn load(&self) -> BTreeSet<String> {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn save(&self, done: &BTreeSet<String>) -> Result<(), String> {
        let mut s = self
            .0
            .lock()
            .map_err(|_| "the drill store is poisoned".to_string())?;
        *s = done.clone();
        Ok(())
    }
}

/// The done drills in a RON file (`drills.ron` beside the window's settings).
#[derive(Clone, Debug)]
pub struct FileStore {
    pub path: Option<PathBuf>,
}

impl Default for FileStore {
    fn default() -> Self {
        FileStore {
            path: eframe::storage_dir("Tierlab").map(|d| d.join("drills.ron")),
        }
    }
}

/// The file's content.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct DoneFile {
    version: u32,
    done: Vec<String>,
}

impl DrillStore for FileStore {
    fn load(&self) -> BTreeSet<String> {
        let Some(path) = &self.path else {
            return BTreeSet::new();
        };
        // A missing or unreadable file is nothing done yet, never an error at launch.
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| ron::from_str::<DoneFile>(&t).ok())
            .map(|f| f.done.into_iter().collect())
            .unwrap_or_default()
    }

    fn save(&self, done: &BTreeSet<String>) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Err("no folder to keep drill progress in".into());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let file = DoneFile {
            version: 1,
            done: done.iter().cloned().collect(),
        };
        let text = ron::ser::to_string_pretty(&file, ron::ser::PrettyConfig::default())
            .map_err(|e| e.to_string())?;
        files::write_atomic(path, text.as_bytes())
    }
}

/// The drill open in the window.
pub struct DrillView {
    pub file: &'static str,
    pub lesson: Lesson,
    /// Whiteboard seconds left, and whether the timer runs.
    pub timer_left_s: f64,
    pub timer_running: bool,
    pub revealed: bool,
    job: Option<Job<Grade>>,
    pub grade: Option<Grade>,
    /// Why the last Check gave no grade (cancelled, or an internal error).
    pub message: Option<String>,
}

impl DrillView {
    fn new(file: &'static str, lesson: Lesson) -> DrillView {
        let minutes = lesson.drill.as_ref().map_or(5.0, |d| d.timer_minutes);
        DrillView {
            file,
            lesson,
            timer_left_s: minutes * 60.0,
            timer_running: false,
            revealed: false,
            job: None,
            grade: None,
            message: None,
        }
    }

    /// Whether a Check is running.
    pub fn checking(&self) -> bool {
        self.job.is_some()
    }
}

/// `m:ss`.
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).ceil() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

impl TierlabApp {
    /// How many shipped drills are done, of how many.
    pub fn drills_done(&self) -> (usize, usize) {
        let all = crate::shipped::DRILLS;
        let done = all
            .iter()
            .filter(|(f, _)| self.drills_done.contains(*f))
            .count();
        (done, all.len())
    }

    /// The drill open in the window, if any.
    pub fn drill(&self) -> Option<&DrillView> {
        self.drill.as_ref()
    }

    /// Open the `index`th shipped drill (its panel; the layout stays until Try it).
    pub(super) fn open_drill(&mut self, index: usize) {
        let Some(d) = drill::shipped().into_iter().nth(index) else {
            return;
        };
        self.drill = Some(DrillView::new(d.file, d.lesson));
        self.show_gallery = false;
    }

    /// Try it: the drill's starting layout becomes the document.
    fn try_drill(&mut self) {
        let Some(v) = &self.drill else { return };
        match v.lesson.layout() {
            Ok(layout) => {
                self.lesson = None;
                self.set_document(layout, Source::Untitled);
                self.status = Some(Status::info(
                    "The drill's starting layout: change it, then Check",
                ));
            }
            Err(e) => self.status = Some(Status::error(e)),
        }
    }

    /// Check: grade the layout in the window on a thread of its own.
    pub(super) fn check_drill(&mut self) {
        let layout = self.doc.layout.clone();
        let Some(v) = self.drill.as_mut() else { return };
        let lesson = v.lesson.clone();
        let total = drill::runs(&lesson, &layout);
        v.grade = None;
        v.message = None;
        v.job = Some(Job::spawn("Checking", total, move |p| {
            drill::grade(&lesson, &layout, p)
        }));
    }

    /// Once a frame: the timer counts down, a finished Check gives its grade, and a pass is
    /// kept as done.
    pub(super) fn drill_tick(&mut self, wall_dt_s: f64) {
        let Some(v) = self.drill.as_mut() else { return };
        if v.timer_running {
            v.timer_left_s = (v.timer_left_s - wall_dt_s).max(0.0);
            if v.timer_left_s == 0.0 {
                v.timer_running = false;
            }
        }
        let Some(job) = v.job.as_mut() else { return };
        let passed_file = match job.poll() {
            JobState::Running => return,
            JobState::Finished(g) => {
                let passed = g.passed.then_some(v.file);
                v.grade = Some(g);
                passed
            }
            JobState::Cancelled => {
                v.message = Some("Check cancelled".into());
                None
            }
            JobState::Failed(why) => {
                v.message = Some(format!("Check failed: {why}"));
                None
            }
        };
        v.job = None;
        if let Some(file) = passed_file
            && self.drills_done.insert(file.to_string())
            && let Err(e) = self.drill_store.save(&self.drills_done)
        {
            self.status = Some(Status::error(format!(
                "Drill progress could not be kept: {e}"
            )));
        }
    }

    /// The open drill's panel.
    pub(super) fn drill_panel_ui(&mut self, ui: &mut Ui) {
        let (done, all) = self.drills_done();
        let Some(v) = self.drill.as_mut() else { return };
        let Some(d) = v.lesson.drill.clone() else {
            return;
        };
        let mut try_it = false;
        let mut check = false;
        let mut close = false;
        ui.horizontal(|ui| {
            ui.label(RichText::new(&v.lesson.title).strong());
            if ui.small_button("Close").clicked() {
                close = true;
            }
        });
        ui.horizontal(|ui| {
            if !d.level.is_empty() {
                ui.weak(&d.level);
            }
            ui.label(format!("{done}/{all} done"));
            if self.drills_done.contains(v.file) {
                ui.colored_label(theme::OK, "done");
            }
        });
        ui.add(egui::Label::new(RichText::new(&d.prompt).size(15.0)).wrap());
        ui.separator();
        ui.horizontal(|ui| {
            ui.label(RichText::new(clock(v.timer_left_s)).monospace().size(18.0))
                .on_hover_text("Whiteboard the answer out loud before you reveal the checklist");
            let label = match (v.timer_running, v.timer_left_s) {
                (true, _) => "Pause timer",
                (false, t) if t >= d.timer_minutes * 60.0 => "Start timer",
                (false, t) if t <= 0.0 => "Time is up",
                (false, _) => "Resume timer",
            };
            if ui
                .add_enabled(v.timer_left_s > 0.0, egui::Button::new(label))
                .clicked()
            {
                v.timer_running = !v.timer_running;
            }
            if ui.button("Reset timer").clicked() {
                v.timer_left_s = d.timer_minutes * 60.0;
                v.timer_running = false;
            }
        });
        if v.timer_running {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
        }
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!v.revealed, egui::Button::new("Reveal"))
                .on_hover_text("Show what a strong answer covers")
                .clicked()
            {
                v.revealed = true;
                v.timer_running = false;
            }
            if ui
                .button("Try it")
                .on_hover_text("Open the drill's starting layout in the editor")
                .clicked()
            {
                try_it = true;
            }
            if ui
                .add_enabled(v.job.is_none(), egui::Button::new("Check"))
                .on_hover_text("Run the layout in the editor headless and grade it")
                .clicked()
            {
                check = true;
            }
        });
        if let Some(job) = &v.job {
            job.ui(ui);
        }
        if let Some(m) = &v.message {
            ui.colored_label(theme::WARNING, m);
        }
        if let Some(g) = &v.grade {
            grade_ui(ui, g);
        }
        if v.revealed {
            ui.separator();
            ui.label(RichText::new("A strong answer covers").strong());
            for item in &d.checklist {
                ui.add(egui::Label::new(format!("• {item}")).wrap());
            }
        }
        ui.separator();
        ui.label(RichText::new("Check passes when").strong());
        for t in &d.targets {
            ui.add(egui::Label::new(format!("• {}", t.describe())).wrap());
        }
        if try_it {
            self.try_drill();
        }
        if check {
            self.check_drill();
        }
        if close {
            self.drill = None;
        }
    }

    /// The drills' row in the gallery: a button per drill and how many are done. The index of
    /// the one clicked.
    pub(super) fn gallery_drills_ui(&self, ui: &mut Ui) -> Option<usize> {
        let (done, all) = self.drills_done();
        let mut chosen = None;
        ui.horizontal(|ui| {
            ui.heading("Design drills");
            ui.label(format!("{done}/{all} done"));
        });
        ui.label("Whiteboard each one out loud, reveal what a strong answer covers, then build it and Check it on the simulator. Progress is kept on this device.");
        ui.horizontal_wrapped(|ui| {
            for (i, d) in drill::shipped().iter().enumerate() {
                let done = self.drills_done.contains(d.file);
                let text = if done {
                    format!("{} (done)", d.lesson.title)
                } else {
                    d.lesson.title.clone()
                };
                if ui.button(text).on_hover_text(&d.lesson.summary).clicked() {
                    chosen = Some(i);
                }
            }
        });
        chosen
    }
}

/// The grade: the verdict, each target met or missed with what the run showed, the rungs.
fn grade_ui(ui: &mut Ui, g: &Grade) {
    let (text, colour) = if g.passed {
        ("Passed: drill done", theme::OK)
    } else {
        ("Not yet", theme::ERROR)
    };
    ui.label(RichText::new(text).strong().color(colour));
    for p in &g.problems {
        ui.colored_label(theme::ERROR, format!("Cannot run: {p}"));
    }
    for c in &g.checks {
        let mark = if c.met { "met" } else { "missed" };
        let colour = if c.met { theme::OK } else { theme::ERROR };
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(colour, mark);
            ui.add(egui::Label::new(format!("{}: {}", c.target, c.detail)).wrap());
        });
    }
    if let Some(r) = &g.rungs {
        let shown = if r.is_empty() {
            "none".to_string()
        } else {
            r.join(", ")
        };
        ui.label(format!("Ladder rungs used: {shown}"));
    }
}
