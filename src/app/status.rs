//! The status line: the check's problem count and the last message, as a `Status` value.

use eframe::egui::Ui;

use super::theme;
use crate::layout::{Problem, Severity};

/// How a status message is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// What just happened ("Saved …", "Undone"): plain text.
    Info,
    /// What was refused or failed: in the error colour.
    Error,
}

/// When a status message stops applying and the line falls back to the layout's problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// The next accepted edit: the message was about the layout before it. A new message
    /// replaces it sooner; opening another layout does not (the message still says what the
    /// user did last).
    NextEdit,
}

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

    /// Whether the message still applies after an accepted edit.
    pub fn outlives_edit(&self) -> bool {
        match self.until {
            Until::NextEdit => false,
        }
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
