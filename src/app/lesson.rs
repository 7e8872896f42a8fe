//! Lessons in the window: the scenario gallery (a card per shipped lesson with a miniature of
//! its layout), and the lesson that runs with the layout: its caption, its pause points and
//! its predict-then-reveal checkpoints. Timed commands are in the layout's script, so the core
//! applies them; this module only stops the run at the lesson's stop times (through the run's
//! `stop_at_s`) and says what to say there.

use eframe::egui::{self, Color32, Pos2, Rect, RichText, Sense, Stroke, Ui, vec2};

use super::TierlabApp;
use super::dialogs::Dialog;
use super::document::Source;
use super::status::Status;
use super::theme;
use crate::layout::{self, Layout, NodeId};
use crate::lesson::{self, Answer, Lesson, Measure, Step};
use crate::shipped;

/// One card of the gallery.
pub struct GalleryEntry {
    pub file: &'static str,
    pub lesson: Lesson,
    pub layout: Layout,
}

/// The shipped lessons that load and pass `check` (a test makes sure all of them do).
pub fn gallery_entries() -> Vec<GalleryEntry> {
    shipped::LESSONS
        .iter()
        .filter_map(|(file, text)| {
            let (lesson, layout) = lesson::load(text).ok()?;
            Some(GalleryEntry {
                file,
                lesson,
                layout,
            })
        })
        .collect()
}

/// A checkpoint in progress.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The step's index in the lesson.
    pub step: usize,
    /// What the learner typed (numbers) or picked (a node).
    pub typed: String,
    pub picked: Option<NodeId>,
    /// The committed prediction, as shown.
    pub committed: Option<Prediction>,
    /// What the run showed, once revealed.
    pub revealed: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    Number(f64),
    Node(NodeId),
}

/// The lesson open in the window and where its run is.
pub struct LessonRun {
    pub lesson: Lesson,
    /// Stop times (pause points, checkpoints, reveals), ascending, and how many have passed.
    stops: Vec<f64>,
    passed: usize,
    /// The pause point the run is stopped at, if any.
    pub paused_at: Option<usize>,
    /// The current or last checkpoint.
    pub checkpoint: Option<Checkpoint>,
}

impl LessonRun {
    pub fn new(lesson: Lesson) -> LessonRun {
        let stops = lesson.stop_times();
        LessonRun {
            lesson,
            stops,
            passed: 0,
            paused_at: None,
            checkpoint: None,
        }
    }

    /// Start over (the run was reset).
    fn restart(&mut self) {
        self.passed = 0;
        self.paused_at = None;
        self.checkpoint = None;
    }

    /// Whether the learner has yet to commit a prediction (the run may not go on).
    pub fn awaiting_prediction(&self) -> bool {
        self.checkpoint
            .as_ref()
            .is_some_and(|c| c.committed.is_none())
    }

    fn next_stop_s(&self) -> Option<f64> {
        self.stops.get(self.passed).copied()
    }
}

impl TierlabApp {
    /// Before the run advances: it stops at the lesson's next stop time, and not at all while
    /// a prediction is awaited.
    pub(super) fn lesson_before_advance(&mut self) {
        let Some(lr) = self.lesson.as_mut() else {
            return;
        };
        // A new run (Reset, a refused edit's rebuild) starts the lesson over.
        let now_ns = self.run.sim.as_ref().map(|s| s.now_ns());
        let last_passed = lr
            .passed
            .checked_sub(1)
            .and_then(|i| lr.stops.get(i))
            .map(|&t| layout::s_to_ns(t));
        if now_ns.is_none() || last_passed.is_some_and(|t| now_ns.unwrap_or(0) < t) {
            lr.restart();
        }
        if lr.awaiting_prediction() {
            self.run.playing = false;
        }
        self.run.stop_at_s = lr.next_stop_s().unwrap_or(0.0);
        if self.run.playing {
            lr.paused_at = None;
        }
    }

    /// After the run advanced: handle the stop times it reached.
    pub(super) fn lesson_after_advance(&mut self) {
        let Some(lr) = self.lesson.as_mut() else {
            return;
        };
        let Some(sim) = self.run.sim.as_ref() else {
            return;
        };
        let now_ns = sim.now_ns();
        while let Some(t) = lr.next_stop_s()
            && now_ns >= layout::s_to_ns(t)
        {
            lr.passed += 1;
            for (i, step) in lr.lesson.steps.iter().enumerate() {
                match step {
                    Step::Pause { at_s, .. } if *at_s == t => lr.paused_at = Some(i),
                    Step::Predict { at_s, .. } if *at_s == t => {
                        lr.checkpoint = Some(Checkpoint {
                            step: i,
                            typed: String::new(),
                            picked: None,
                            committed: None,
                            revealed: None,
                        })
                    }
                    Step::Predict {
                        reveal_at_s,
                        measure,
                        choices,
                        ..
                    } if *reveal_at_s == t => {
                        let answer = lesson::measure(sim, *measure, choices);
                        if let Some(c) = lr.checkpoint.as_mut().filter(|c| c.step == i) {
                            c.revealed = Some(reveal_text(
                                &self.doc.layout,
                                *measure,
                                c.committed.as_ref(),
                                &answer,
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Open a lesson: its layout (with its steps in the script) becomes the document.
    pub(super) fn open_lesson(&mut self, lesson: Lesson, layout: Layout) {
        self.set_document(layout, Source::Untitled);
        self.status = Some(Status::info(format!(
            "Lesson: {} (Space plays)",
            layout::input::escaped(&lesson.title, 80)
        )));
        self.lesson = Some(LessonRun::new(lesson));
        self.show_gallery = false;
    }

    /// Open the `index`th lesson of the gallery (keys 1 to 8 in presentation mode).
    pub(super) fn open_gallery_lesson(&mut self, index: usize) {
        let Some((file, text)) = shipped::LESSONS.get(index) else {
            return;
        };
        match lesson::load(text) {
            Ok((l, layout)) => self.open_lesson(l, layout),
            Err(e) => self.dialog = Some(Dialog::LoadError(format!("{file}: {e}"))),
        }
    }

    /// The lesson bar above the canvas: the caption, a pause point's caption, a checkpoint.
    pub(super) fn lesson_bar_ui(&mut self, ui: &mut Ui) {
        let big = if self.presenting { 1.6 } else { 1.15 };
        let now_s = self.run.now_s();
        let Some(lr) = self.lesson.as_mut() else {
            return;
        };
        let body = ui.text_style_height(&egui::TextStyle::Body);
        ui.horizontal(|ui| {
            ui.label(RichText::new(&lr.lesson.title).strong().size(body * big));
            if let Some(i) = lr.paused_at {
                ui.label(
                    RichText::new(format!(
                        "Paused at {:.1} s: Space to go on",
                        lr.lesson.steps[i].at_s()
                    ))
                    .color(theme::WARNING),
                );
            }
        });
        let caption = lr.lesson.caption_at(now_s).to_string();
        ui.add(egui::Label::new(RichText::new(caption).size(body * big)).wrap());
        let layout = &self.doc.layout;
        if let Some(c) = lr.checkpoint.as_mut() {
            checkpoint_ui(ui, &lr.lesson, c, layout, big);
        }
        if lr.awaiting_prediction() {
            self.run.playing = false;
        }
    }

    /// The gallery window: a card per shipped lesson.
    pub(super) fn gallery_ui(&mut self, ctx: &egui::Context) {
        if !self.show_gallery {
            return;
        }
        if self.gallery.is_empty() {
            self.gallery = gallery_entries();
        }
        let mut open = true;
        let mut chosen = None;
        let mut chosen_drill = None;
        let screen = ctx.content_rect();
        egui::Window::new("Scenario gallery")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width((screen.width() - 40.0).min(1100.0))
            .anchor(egui::Align2::CENTER_CENTER, vec2(0.0, 0.0))
            .show(ctx, |ui| {
                ui.label("Each scenario is a lesson: a layout, a caption, timed steps, pauses and questions. Open one, then press Space.");
                ui.add_space(4.0);
                // The drills above the cards, so their row and "n/4 done" are always in view.
                chosen_drill = self.gallery_drills_ui(ui);
                ui.separator();
                egui::ScrollArea::vertical()
                    .max_height(screen.height() - 140.0)
                    .show(ui, |ui| {
                        let columns = 4;
                        let card_w =
                            (ui.available_width() - 12.0 * (columns as f32 - 1.0)) / columns as f32;
                        egui::Grid::new("gallery grid")
                            .spacing(vec2(12.0, 12.0))
                            .show(ui, |ui| {
                                for (i, e) in self.gallery.iter().enumerate() {
                                    if card_ui(ui, i, e, card_w) {
                                        chosen = Some(i);
                                    }
                                    if i % columns == columns - 1 {
                                        ui.end_row();
                                    }
                                }
                            });
                    });
            });
        if !open {
            self.show_gallery = false;
        }
        if let Some(i) = chosen_drill {
            self.open_drill(i);
        }
        if let Some(i) = chosen
            && let Some(e) = self.gallery.get(i)
        {
            let (l, layout) = (e.lesson.clone(), e.layout.clone());
            self.open_lesson(l, layout);
        }
    }
}

/// One card: number and title (a button), the miniature, the one line. True when clicked.
fn card_ui(ui: &mut Ui, index: usize, e: &GalleryEntry, width: f32) -> bool {
    let mut clicked = false;
    ui.vertical(|ui| {
        ui.set_width(width);
        let title = format!("{}. {}", index + 1, e.lesson.title);
        clicked |= ui
            .add(egui::Button::new(RichText::new(title).strong()).wrap())
            .on_hover_text(e.file)
            .clicked();
        let (rect, resp) =
            ui.allocate_exact_size(vec2(width, (width * 0.3).max(60.0)), Sense::click());
        miniature(ui, rect, &e.layout);
        clicked |= resp.clicked();
        ui.add(egui::Label::new(&e.lesson.summary).wrap());
    });
    clicked
}

/// The layout drawn small: wires as lines, nodes as boxes in their kind's colour.
pub fn miniature(ui: &Ui, rect: Rect, layout: &Layout) {
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, theme::CANVAS_BG);
    let Some(first) = layout.nodes.first() else {
        return;
    };
    let (mut min, mut max) = (first.pos, first.pos);
    for n in &layout.nodes {
        min.x = min.x.min(n.pos.x);
        min.y = min.y.min(n.pos.y);
        max.x = max.x.max(n.pos.x);
        max.y = max.y.max(n.pos.y);
    }
    let inner = rect.shrink2(vec2(16.0, 10.0));
    let span = vec2((max.x - min.x).max(1.0), (max.y - min.y).max(1.0));
    let scale = (inner.width() / span.x).min(inner.height() / span.y);
    let offset = inner.center() - vec2(span.x, span.y) * scale / 2.0;
    let at = |id: NodeId| -> Option<Pos2> {
        layout
            .node(id)
            .map(|n| offset + vec2(n.pos.x - min.x, n.pos.y - min.y) * scale)
    };
    for w in &layout.wires {
        if let (Some(a), Some(b)) = (at(w.from), at(w.to)) {
            painter.line_segment([a, b], Stroke::new(1.5, theme::WIRE));
        }
    }
    for r in &layout.replication {
        if let (Some(a), Some(b)) = (at(r.primary), at(r.replica)) {
            let dashes = egui::Shape::dashed_line(&[a, b], Stroke::new(1.0, theme::WIRE), 4.0, 3.0);
            painter.extend(dashes);
        }
    }
    let size = vec2(18.0, 12.0);
    for n in &layout.nodes {
        if let Some(p) = at(n.id) {
            let tag = n.kind.tag();
            let r = Rect::from_center_size(p, size);
            painter.rect_filled(r, 3.0, theme::fill(tag));
            painter.rect_stroke(
                r,
                3.0,
                Stroke::new(1.0, theme::outline(tag)),
                egui::StrokeKind::Inside,
            );
        }
    }
}

/// A checkpoint: the question, the learner's input and Commit, then the reveal.
fn checkpoint_ui(ui: &mut Ui, lesson: &Lesson, c: &mut Checkpoint, layout: &Layout, big: f32) {
    let Some(Step::Predict {
        question,
        measure,
        choices,
        ..
    }) = lesson.steps.get(c.step)
    else {
        return;
    };
    let body = ui.text_style_height(&egui::TextStyle::Body);
    ui.label(
        RichText::new(format!("Predict: {question}"))
            .size(body * big)
            .color(Color32::from_rgb(30, 90, 180)),
    );
    ui.horizontal_wrapped(|ui| match (&c.committed, measure) {
        (None, Measure::BusiestNode) => {
            for &id in choices {
                ui.radio_value(&mut c.picked, Some(id), layout.name_of(id));
            }
            if ui
                .add_enabled(c.picked.is_some(), egui::Button::new("Commit prediction"))
                .clicked()
                && let Some(id) = c.picked
            {
                c.committed = Some(Prediction::Node(id));
            }
        }
        (None, _) => {
            let label = ui.label(format!("Your prediction, {}:", measure.label()));
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut c.typed)
                        .desired_width(90.0)
                        .hint_text("your guess"),
                )
                .labelled_by(label.id);
            let value = c.typed.trim().parse::<f64>().ok().filter(|v| v.is_finite());
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui
                .add_enabled(value.is_some(), egui::Button::new("Commit prediction"))
                .clicked()
                || enter)
                && let Some(v) = value
            {
                c.committed = Some(Prediction::Number(v));
            }
            if value.is_none() && !c.typed.trim().is_empty() {
                ui.colored_label(theme::ERROR, "type a number");
            }
        }
        (Some(p), _) => {
            let shown = match p {
                Prediction::Number(v) => format!("{v}"),
                Prediction::Node(id) => layout.name_of(*id),
            };
            ui.label(format!("You predicted {shown}."));
            match &c.revealed {
                Some(r) => {
                    ui.label(RichText::new(r).strong().size(body * big));
                }
                None => {
                    ui.weak("Press Space: the run shows the answer.");
                }
            }
        }
    });
}

/// What a reveal says: the measured answer and how far off the prediction was.
fn reveal_text(
    layout: &Layout,
    measure: Measure,
    predicted: Option<&Prediction>,
    answer: &Answer,
) -> String {
    match (answer, predicted) {
        (Answer::None, _) => format!("The run has no {} to show yet.", measure.label()),
        (Answer::Node(id), Some(Prediction::Node(p))) => {
            let verdict = if p == id { "Right." } else { "Not this time." };
            format!("Answer: {} is the busiest. {verdict}", layout.name_of(*id))
        }
        (Answer::Node(id), _) => format!("Answer: {} is the busiest.", layout.name_of(*id)),
        (Answer::Number(v), Some(Prediction::Number(p))) => format!(
            "Answer: {} = {}; you were {}.",
            measure.label(),
            fmt_number(*v),
            lesson::how_far_off(*p, *v)
        ),
        (Answer::Number(v), _) => format!("Answer: {} = {}.", measure.label(), fmt_number(*v)),
    }
}

fn fmt_number(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}
