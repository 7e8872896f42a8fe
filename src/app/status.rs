//! The status line: the check's problem count and the last message, as a `Status` value.

use eframe::egui::Ui;

use super::theme;
use crate::layout::{Command, Layout, Problem, Severity, Target};

/// How a status message is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// What just happened ("Saved …", "Undone"): plain text.
    Info,
    /// What was refused or failed: in the error colour.
    Error,
}

/// When a status message stops applying and the line falls back to the layout's problems.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Until {
    /// The next accepted edit: the message was about the layout before it. A new message
    /// replaces it sooner; opening another layout does not (the message still says what the
    /// user did last).
    NextEdit,
    /// The run it speaks of ends: the next accepted edit, a Reset (simulated time goes back
    /// below `since_ns`) or the run's removal, or `ttl_s` seconds of wall-clock time, whichever
    /// comes first. "Killed app member 2" is not true of the next run.
    ThisRun { since_ns: u64, ttl_s: f64 },
}

/// How long a message about a run stays up, in wall-clock seconds.
pub const RUN_MESSAGE_S: f64 = 20.0;

/// The status line's message.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub message: String,
    pub level: Level,
    pub until: Until,
}

impl Status {
    /// A message about what just happened, shown until the next edit.
    pub fn info(message: impl Into<String>) -> Status {
        Status {
            message: message.into(),
            level: Level::Info,
            until: Until::NextEdit,
        }
    }

    /// A refusal or failure, shown until the next edit.
    pub fn error(message: impl Into<String>) -> Status {
        Status {
            message: message.into(),
            level: Level::Error,
            until: Until::NextEdit,
        }
    }

    /// A message about the run at simulated time `now_ns`: it goes when the run ends.
    pub fn run_info(message: impl Into<String>, now_ns: u64) -> Status {
        Status {
            message: message.into(),
            level: Level::Info,
            until: Until::ThisRun {
                since_ns: now_ns,
                ttl_s: RUN_MESSAGE_S,
            },
        }
    }

    /// Whether the message still applies after an accepted edit.
    pub fn outlives_edit(&self) -> bool {
        match self.until {
            Until::NextEdit | Until::ThisRun { .. } => false,
        }
    }

    /// Whether the message still applies, once `wall_dt_s` seconds have passed since the last
    /// frame and the run is at `run_now_ns` (`None`: no run). Counts the time down.
    pub fn still_applies(&mut self, wall_dt_s: f64, run_now_ns: Option<u64>) -> bool {
        match &mut self.until {
            Until::NextEdit => true,
            Until::ThisRun { since_ns, ttl_s } => {
                *ttl_s -= wall_dt_s.max(0.0);
                *ttl_s > 0.0 && run_now_ns.is_some_and(|now| now >= *since_ns)
            }
        }
    }
}

/// A run command from the canvas in plain words: "Killed app member 2", "Revived lb".
pub fn describe(layout: &Layout, command: &Command) -> String {
    let who = |t: &Target| {
        let name = layout
            .node(t.node)
            .map_or_else(|| "a removed node".to_string(), |n| n.name.clone());
        match t.member {
            Some(m) => format!("{name} member {m}"),
            None => name,
        }
    };
    match command {
        Command::Kill(t) => format!("Killed {}", who(t)),
        Command::Revive(t) => format!("Revived {}", who(t)),
        Command::Flush(t) => format!("Flushed {}", who(t)),
        Command::Slow { target, factor } if *factor == 1.0 => {
            format!("{} back to normal speed", who(target))
        }
        Command::Slow { target, factor } => format!(
            "Slowed {} down ×{}",
            who(target),
            crate::layout::params::fmt_num(*factor)
        ),
        other => match other.node().and_then(|id| layout.node(id)) {
            Some(n) => format!("Changed {}", n.name),
            None => "Changed the run".to_string(),
        },
    }
}

/// The line: how many errors and warnings the check finds (the list on hover), then the
/// message, or else the first problem that concerns no one node.
pub fn status_ui(ui: &mut Ui, problems: &[Problem], status: Option<&Status>) {
    ui.horizontal(|ui| {
        let errors = problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        let warnings = problems.len() - errors;
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
        if !problems.is_empty() {
            resp.on_hover_ui(|ui| {
                for p in problems {
                    ui.label(p.to_string());
                }
            });
        }
        ui.separator();
        if let Some(s) = status {
            match s.level {
                Level::Error => ui.colored_label(theme::ERROR, &s.message),
                Level::Info => ui.label(&s.message),
            };
        } else if let Some(p) = problems.iter().find(|p| p.node.is_none()) {
            ui.weak(p.to_string());
        }
    });
}

/// "1 error", "2 errors".
pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::NodeId;

    #[test]
    fn run_messages_speak_plain_words_numbered_like_the_file() {
        let text = crate::shipped::find("request-flow.ron").unwrap_or_default();
        let Ok(l) = crate::layout::from_ron(text) else {
            panic!("the starter layout parses");
        };
        let Some(app) = l.node_named("app").map(|n| n.id) else {
            panic!("the starter layout has an app");
        };
        assert_eq!(
            describe(&l, &Command::Kill(Target::member(app, 2))),
            "Killed app member 2"
        );
        assert_eq!(
            describe(&l, &Command::Revive(Target::node(app))),
            "Revived app"
        );
        assert_eq!(
            describe(
                &l,
                &Command::Slow {
                    target: Target::node(app),
                    factor: 5.0
                }
            ),
            "Slowed app down ×5"
        );
        let gone = Command::Kill(Target::node(NodeId(999)));
        assert!(!describe(&l, &gone).contains("NodeId"));
    }

    #[test]
    fn a_run_message_goes_with_its_run_or_its_time() {
        let mut s = Status::run_info("Killed app member 2", 5_000);
        assert!(s.still_applies(0.016, Some(6_000)));
        // A Reset: the run's clock went back.
        assert!(!s.clone().still_applies(0.016, Some(0)));
        // The run is gone.
        assert!(!s.clone().still_applies(0.016, None));
        // Time is up.
        assert!(!s.still_applies(RUN_MESSAGE_S, Some(9_000)));
        assert!(!Status::run_info("x", 0).outlives_edit());
        let mut edit = Status::info("Saved");
        assert!(edit.still_applies(1e6, None));
    }
}
