//! Lessons: a layout (inline, or the name of a shipped layout) plus what a teacher wants the
//! class to see, as a file (`*.lesson.ron`). The lessons of `assets/` ship in the binary.
//!
//! A lesson's timed `apply` steps are ordinary [`Command`]s: they join the layout's script, so
//! the core applies them at their times, `check` validates them like any scripted command and
//! `tierlab run` runs them. Pause points and predict-then-reveal checkpoints belong to the
//! window: it stops the run at their times (`pause_times`), and [`measure`] reads the answer
//! from the running core when a checkpoint is revealed.
//!
//! Parsing goes through `layout::file::parse_ron` (same RON options, same positioned syntax
//! errors as a layout) and texts through the same input limits (`layout::input`).

use serde::{Deserialize, Serialize};

use crate::layout::check::{Problem, Severity};
use crate::layout::{self, Command, Layout, LoadError, NodeId, Scripted, input};
use crate::shipped;
use crate::sim::Sim;

/// The lesson format version this build reads and writes.
pub const LESSON_VERSION: u32 = 1;
/// The longest run a lesson may script: steps at most this many simulated seconds in.
pub const LESSON_S_MAX: f64 = 3_600.0;
/// A file is read as a lesson when its name ends so.
pub const LESSON_SUFFIX: &str = ".lesson.ron";

/// A lesson file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    #[serde(default = "one")]
    pub version: u32,
    /// The gallery's title.
    pub title: String,
    /// One line under the title in the gallery.
    #[serde(default)]
    pub summary: String,
    /// What the class reads when the lesson opens (until a step gives a new caption).
    #[serde(default)]
    pub caption: String,
    /// The layout it runs.
    pub layout: LessonLayout,
    /// What happens, in time order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// A design drill: the layout above is the starting point "Try it" opens, and this part
    /// holds the prompt, the timer, the checklist and the targets Check grades against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<crate::drill::Drill>,
}

fn one() -> u32 {
    1
}

/// A lesson's layout: a shipped one by name (so the two cannot drift apart), or its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LessonLayout {
    /// `shipped("request-flow.ron")`
    Shipped(String),
    /// `inline(name: "…", nodes: [...], wires: [...])`
    Inline(Layout),
}

/// One step of a lesson.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Apply a command at `at_s` (change traffic, kill a node, add a replica, …); the
    /// caption, if any, replaces the one on screen.
    Apply {
        at_s: f64,
        command: Command,
        #[serde(default)]
        caption: String,
    },
    /// Pause the run at `at_s` and show the caption to the class.
    Pause { at_s: f64, caption: String },
    /// Pause at `at_s` and ask `question`; once the learner has committed a prediction, run
    /// on to `reveal_at_s` and show what the run measured and how far off the prediction was.
    Predict {
        at_s: f64,
        question: String,
        measure: Measure,
        reveal_at_s: f64,
        /// For `busiest_node`: the nodes to choose from.
        #[serde(default)]
        choices: Vec<NodeId>,
    },
}

impl Step {
    /// When the step happens, in simulated seconds.
    pub fn at_s(&self) -> f64 {
        match self {
            Step::Apply { at_s, .. } | Step::Pause { at_s, .. } | Step::Predict { at_s, .. } => {
                *at_s
            }
        }
    }

    /// The caption the step puts on screen (empty: none; a checkpoint's question is shown
    /// with its answer field instead).
    pub fn caption(&self) -> &str {
        match self {
            Step::Apply { caption, .. } | Step::Pause { caption, .. } => caption,
            Step::Predict { .. } => "",
        }
    }
}

/// What a checkpoint asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Which of the choices is the busiest (highest CPU utilisation over the last second).
    BusiestNode,
    /// The p99 latency over the last 5 s, ms.
    LatencyP99Ms,
    /// Cache hits over lookups in the last 5 s, 0 to 1.
    CacheHitRatio,
}

impl Measure {
    /// How the answer is named on screen.
    pub fn label(self) -> &'static str {
        match self {
            Measure::BusiestNode => "busiest node",
            Measure::LatencyP99Ms => "p99 latency (ms)",
            Measure::CacheHitRatio => "cache hit ratio (0 to 1)",
        }
    }
}

/// What a checkpoint measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Node(NodeId),
    Number(f64),
    /// Nothing to measure yet (no completed request, no cache lookup).
    None,
}

/// Why a lesson could not be loaded.
#[derive(Clone, Debug, PartialEq)]
pub enum LessonError {
    Load(LoadError),
    /// The file is well-formed but names no shipped layout, or is from a newer Tierlab.
    Invalid(String),
}

impl std::fmt::Display for LessonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LessonError::Load(e) => write!(f, "{e}"),
            LessonError::Invalid(m) => write!(f, "{m}"),
        }
    }
}

/// Whether a file name is a lesson's.
pub fn is_lesson_name(name: &str) -> bool {
    name.ends_with(LESSON_SUFFIX)
}

/// Parse a lesson from RON text; an inline layout is upgraded like a layout file.
pub fn from_ron(text: &str) -> Result<Lesson, LessonError> {
    let mut lesson: Lesson = layout::file::parse_ron(text).map_err(LessonError::Load)?;
    if lesson.version > LESSON_VERSION {
        return Err(LessonError::Invalid(format!(
            "the lesson has format version {}, but this Tierlab reads versions up to \
             {LESSON_VERSION}: update Tierlab to open it",
            lesson.version
        )));
    }
    if let LessonLayout::Inline(l) = &mut lesson.layout {
        if l.version > layout::FORMAT_VERSION {
            return Err(LessonError::Load(LoadError::TooNew {
                found: l.version,
                supported: layout::FORMAT_VERSION,
            }));
        }
        layout::file::upgrade_layout(l);
    }
    Ok(lesson)
}

impl Lesson {
    /// The layout the lesson runs: its own or the shipped one it names, with its `apply` steps
    /// appended to the script (the core applies them at their times).
    pub fn layout(&self) -> Result<Layout, String> {
        let mut l = match &self.layout {
            LessonLayout::Inline(l) => l.clone(),
            LessonLayout::Shipped(name) => {
                let Some(text) = shipped::find(name) else {
                    return Err(format!(
                        "the lesson names the shipped layout {}, which does not exist \
                         (shipped layouts: {})",
                        input::shown(name),
                        shipped::names().collect::<Vec<_>>().join(", ")
                    ));
                };
                layout::from_ron(text).map_err(|e| format!("{name}:{e}"))?
            }
        };
        for s in &self.steps {
            if let Step::Apply { at_s, command, .. } = s {
                l.script.push(Scripted {
                    at_s: *at_s,
                    command: command.clone(),
                });
            }
        }
        Ok(l)
    }

    /// The times the window stops at, ascending: pause points, checkpoints and their reveals.
    pub fn stop_times(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self
            .steps
            .iter()
            .flat_map(|s| match s {
                Step::Apply { .. } => vec![],
                Step::Pause { at_s, .. } => vec![*at_s],
                Step::Predict {
                    at_s, reveal_at_s, ..
                } => vec![*at_s, *reveal_at_s],
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t
    }

    /// The caption on screen at `now_s`: that of the last step at or before it that has one,
    /// else the lesson's.
    pub fn caption_at(&self, now_s: f64) -> &str {
        self.steps
            .iter()
            .filter(|s| s.at_s() <= now_s && !s.caption().is_empty())
            .max_by(|a, b| a.at_s().total_cmp(&b.at_s()))
            .map_or(self.caption.as_str(), Step::caption)
    }
}

/// Every problem of a lesson: its own part (texts, times, checkpoints), then, when that part
/// holds no error, `layout::check` of the layout with the steps in its script.
pub fn check(lesson: &Lesson) -> Vec<Problem> {
    let mut out = own_problems(lesson);
    if let Some(d) = &lesson.drill {
        out.extend(crate::drill::problems(d));
    }
    if out.iter().any(|p| p.severity == Severity::Error) {
        return out;
    }
    match lesson.layout() {
        Ok(l) => out.extend(layout::check(&l)),
        Err(message) => out.push(error("lesson layout", message)),
    }
    out
}

fn error(place: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        severity: Severity::Error,
        node: None,
        place: place.into(),
        message: message.into(),
    }
}

fn own_problems(lesson: &Lesson) -> Vec<Problem> {
    let mut out = text_problems(lesson);
    if !out.is_empty() {
        // A name unsafe to print would be echoed by the messages below.
        return out;
    }
    if lesson.title.trim().is_empty() {
        out.push(error("lesson title", "a lesson needs a title"));
    }
    let ids = lesson.layout().ok().map(|l| {
        let mut ids: Vec<NodeId> = l.nodes.iter().map(|n| n.id).collect();
        ids.extend(l.script.iter().filter_map(|s| match &s.command {
            Command::AddNode(n) => Some(n.id),
            _ => None,
        }));
        ids
    });
    for (i, s) in lesson.steps.iter().enumerate() {
        step_problems(&format!("lesson step {i}"), s, ids.as_deref(), &mut out);
    }
    out
}

/// The lesson's texts: how many steps, and each text within the input limits and safe to print.
fn text_problems(lesson: &Lesson) -> Vec<Problem> {
    let mut out = Vec::new();
    if lesson.steps.len() > input::SCRIPT_MAX {
        out.push(error(
            "steps",
            format!(
                "the lesson has {} steps; at most {} are allowed",
                lesson.steps.len(),
                input::SCRIPT_MAX
            ),
        ));
        return out;
    }
    let mut refuse =
        |_: Option<NodeId>, place: String, message: String| out.push(error(place, message));
    let texts = [
        ("lesson title", &lesson.title, input::NAME_CHARS_MAX, false),
        (
            "lesson summary",
            &lesson.summary,
            input::NAME_CHARS_MAX,
            false,
        ),
        (
            "lesson caption",
            &lesson.caption,
            input::DESCRIPTION_CHARS_MAX,
            true,
        ),
    ];
    for (place, text, max, breaks) in texts {
        input::text_problems(place, text, max, breaks, &mut refuse);
    }
    if let LessonLayout::Shipped(name) = &lesson.layout {
        input::text_problems(
            "lesson layout",
            name,
            input::NAME_CHARS_MAX,
            false,
            &mut refuse,
        );
    }
    for (i, s) in lesson.steps.iter().enumerate() {
        let place = format!("lesson step {i}");
        let text = match s {
            Step::Predict { question, .. } => question,
            _ => s.caption(),
        };
        input::text_problems(
            &place,
            text,
            input::DESCRIPTION_CHARS_MAX,
            true,
            &mut refuse,
        );
    }
    out
}

/// One step's time, caption, question, reveal and choices (`ids`: the layout's nodes, when it
/// loads).
fn step_problems(place: &str, s: &Step, ids: Option<&[NodeId]>, out: &mut Vec<Problem>) {
    let time_ok = |t: f64| t.is_finite() && (0.0..=LESSON_S_MAX).contains(&t);
    let at_s = s.at_s();
    if !time_ok(at_s) {
        out.push(error(
            place,
            format!("at_s = {at_s}: a step's time must be from 0 to {LESSON_S_MAX} seconds"),
        ));
    }
    match s {
        Step::Pause { caption, .. } if caption.trim().is_empty() => {
            out.push(error(place, "a pause point needs a caption for the class"))
        }
        Step::Predict {
            at_s,
            question,
            measure,
            reveal_at_s,
            choices,
        } => {
            if question.trim().is_empty() {
                out.push(error(place, "a checkpoint needs a question"));
            }
            if !(time_ok(*reveal_at_s) && reveal_at_s > at_s) {
                out.push(error(
                    place,
                    format!(
                        "reveal_at_s = {reveal_at_s}: the reveal must come after at_s \
                         ({at_s}) and at most {LESSON_S_MAX} seconds in"
                    ),
                ));
            }
            match measure {
                Measure::BusiestNode if choices.len() < 2 => out.push(error(
                    place,
                    "busiest_node needs at least two choices (node ids)",
                )),
                Measure::BusiestNode => {}
                _ if !choices.is_empty() => out.push(error(
                    place,
                    "choices belong to busiest_node only; this checkpoint asks for a number",
                )),
                _ => {}
            }
            if let Some(ids) = ids {
                for c in choices.iter().filter(|c| !ids.contains(c)) {
                    out.push(error(
                        place,
                        format!("choice {c} is no node of the lesson's layout"),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// Load and check in one: the lesson and its runnable layout, or why not (a sentence).
pub fn load(text: &str) -> Result<(Lesson, Layout), String> {
    let lesson = from_ron(text).map_err(|e| e.to_string())?;
    let problems = check(&lesson);
    if let Some(p) = problems.iter().find(|p| p.severity == Severity::Error) {
        return Err(p.to_string());
    }
    let l = lesson.layout()?;
    Ok((lesson, l))
}

/// Samples of 100 ms averaged for a node's utilisation: the last second.
const BUSY_SAMPLES: usize = 10;

/// What the run shows now for `measure`: the busiest of `choices` over the last second, or
/// the p99 or hit ratio of the last 5 s (the window's summary figures).
pub fn measure(sim: &Sim, measure: Measure, choices: &[NodeId]) -> Answer {
    match measure {
        Measure::LatencyP99Ms => sim
            .recent()
            .latency_p99_ms
            .map_or(Answer::None, Answer::Number),
        Measure::CacheHitRatio => sim
            .recent()
            .cache_hit_ratio()
            .map_or(Answer::None, Answer::Number),
        Measure::BusiestNode => {
            let busy = |node: NodeId| -> f64 {
                let series = sim.series();
                let (mut sum, mut n) = (0.0f64, 0usize);
                for i in sim.unit_ixs() {
                    let Some(u) = sim.unit_info(i) else { continue };
                    if u.id.node != node || u.removed || !u.alive {
                        continue;
                    }
                    if let Some(s) = series.units.get(i.index()) {
                        let r = &s.cpu_utilization;
                        let k = r.len().min(BUSY_SAMPLES);
                        sum += r.iter().skip(r.len() - k).map(f64::from).sum::<f64>()
                            / k.max(1) as f64;
                        n += 1;
                    }
                }
                if n == 0 { 0.0 } else { sum / n as f64 }
            };
            choices
                .iter()
                .map(|&c| (c, busy(c)))
                // The first of equals wins, so the answer does not depend on float noise order.
                .fold(None::<(NodeId, f64)>, |best, (c, u)| match best {
                    Some((_, b)) if b >= u => best,
                    _ => Some((c, u)),
                })
                .map_or(Answer::None, |(c, _)| Answer::Node(c))
        }
    }
}

/// How far off a numeric prediction was, as a sentence.
pub fn how_far_off(predicted: f64, actual: f64) -> String {
    let diff = predicted - actual;
    if actual.abs() > 1e-9 {
        format!(
            "off by {:+.3} ({:+.0} %)",
            diff,
            diff / actual.abs() * 100.0
        )
    } else {
        format!("off by {diff:+.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caption_follows_the_last_step_with_one() {
        let text = r#"(title: "t", caption: "start", layout: shipped("mm4.ron"), steps: [
            pause(at_s: 5, caption: "five"),
            apply(at_s: 7, command: set_qps(node: 0, qps: 10)),
            apply(at_s: 9, command: set_qps(node: 0, qps: 20), caption: "nine"),
        ])"#;
        let l = match from_ron(text) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(l.caption_at(0.0), "start");
        assert_eq!(l.caption_at(5.0), "five");
        assert_eq!(l.caption_at(8.0), "five");
        assert_eq!(l.caption_at(9.5), "nine");
        assert_eq!(l.stop_times(), vec![5.0]);
    }
}
