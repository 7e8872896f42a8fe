//! The one table of app actions (label, keys, how each runs) that menus and shortcuts read.

use eframe::egui::{self, Key, KeyboardShortcut, ModifierNames, Modifiers, Ui};

use super::TierlabApp;
use super::dialogs::Pending;
use super::plots::RunAction;
use super::theme::Look;
use crate::shipped;

/// Something the user can do from a menu or the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    New,
    Open,
    Save,
    SaveAs,
    Quit,
    Undo,
    Redo,
    Delete,
    SelectAll,
    ZoomToFit,
    PlayPause,
    UiZoomIn,
    UiZoomOut,
    UiZoomReset,
    /// The scenario gallery window.
    Gallery,
    /// Presentation mode on or off (F), and off (Escape).
    Present,
    LeavePresentation,
    /// Open the gallery's scenario 1 to 8 (keys 1 to 8, in presentation mode).
    Scenario(u8),
    WalkRequest,
    WalkPrevious,
    WalkNext,
    /// A/B twin runs: the split view of this layout and a second one.
    Compare,
    /// The capacity sweep window.
    Sweep,
    /// The capacity planner window.
    Plan,
    /// The single-point-of-failure search, and the stress search (`breaks.rs`).
    FindSpof,
    Stress,
    /// Export the run as an animated GIF (`animate.rs`), and stop an export under way.
    ExportAnimation,
    CancelAnimation,
}

/// One row of the table.
pub struct ActionSpec {
    pub action: Action,
    /// The menu entry's text.
    pub label: &'static str,
    /// The keys that run it; the menu shows the first.
    pub keys: &'static [KeyboardShortcut],
    /// Whether the keys work while a text field has the keyboard (file actions do; editing
    /// keys such as Delete and Ctrl+Z belong to the field then).
    pub while_typing: bool,
    /// Whether it can run now (the menu entry is greyed out otherwise).
    pub enabled: fn(&TierlabApp) -> bool,
    /// How it runs.
    pub run: fn(&mut TierlabApp),
}

const CTRL: Modifiers = Modifiers::COMMAND;
/// How much one Ctrl + or Ctrl - changes the UI zoom.
const UI_ZOOM_STEP: f32 = 0.1;
const CTRL_SHIFT: Modifiers = Modifiers::COMMAND.plus(Modifiers::SHIFT);

const fn key(modifiers: Modifiers, k: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(modifiers, k)
}

fn always(_: &TierlabApp) -> bool {
    true
}

/// Every action. Menus place them (`menu_item`); the keyboard tries them in this order, the
/// shortcuts with Shift first, since Ctrl+S also matches Ctrl+Shift+S.
#[rustfmt::skip]
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec { action: Action::New, label: "New", keys: &[key(CTRL, Key::N)], while_typing: true,
        enabled: always, run: |app| app.request(Pending::New) },
    ActionSpec { action: Action::Open, label: "Open…", keys: &[key(CTRL, Key::O)], while_typing: true,
        enabled: always, run: |app| app.request(Pending::Open) },
    ActionSpec { action: Action::Save, label: "Save", keys: &[key(CTRL, Key::S)], while_typing: true,
        enabled: always, run: TierlabApp::save },
    ActionSpec { action: Action::SaveAs, label: "Save as…", keys: &[key(CTRL_SHIFT, Key::S)], while_typing: true,
        enabled: always, run: TierlabApp::save_as },
    ActionSpec { action: Action::Quit, label: "Quit", keys: &[], while_typing: true,
        enabled: always, run: |app| app.request(Pending::Quit) },
    ActionSpec { action: Action::Undo, label: "Undo", keys: &[key(CTRL, Key::Z)], while_typing: false,
        enabled: |app| app.doc.history.can_undo(), run: TierlabApp::undo },
    ActionSpec { action: Action::Redo, label: "Redo", keys: &[key(CTRL_SHIFT, Key::Z), key(CTRL, Key::Y)], while_typing: false,
        enabled: |app| app.doc.history.can_redo(), run: TierlabApp::redo },
    ActionSpec { action: Action::Delete, label: "Delete", keys: &[key(Modifiers::NONE, Key::Delete), key(Modifiers::NONE, Key::Backspace)], while_typing: false,
        enabled: always, run: TierlabApp::delete_selection },
    ActionSpec { action: Action::SelectAll, label: "Select all", keys: &[key(CTRL, Key::A)], while_typing: false,
        enabled: always, run: TierlabApp::select_all },
    ActionSpec { action: Action::ZoomToFit, label: "Zoom to fit", keys: &[], while_typing: false,
        enabled: always, run: |app| app.canvas.fit_requested = true },
    ActionSpec { action: Action::UiZoomIn, label: "Zoom in (larger text)", keys: &[key(CTRL, Key::Plus), key(CTRL, Key::Equals)], while_typing: true,
        enabled: |app| app.settings.ui_zoom < super::UI_ZOOM_MAX, run: |app| app.zoom_ui_by(UI_ZOOM_STEP) },
    ActionSpec { action: Action::UiZoomOut, label: "Zoom out (smaller text)", keys: &[key(CTRL, Key::Minus)], while_typing: true,
        enabled: |app| app.settings.ui_zoom > super::UI_ZOOM_MIN, run: |app| app.zoom_ui_by(-UI_ZOOM_STEP) },
    ActionSpec { action: Action::UiZoomReset, label: "Actual size", keys: &[key(CTRL, Key::Num0)], while_typing: true,
        enabled: |app| app.settings.ui_zoom != 1.0, run: |app| app.settings.ui_zoom = 1.0 },
    ActionSpec { action: Action::PlayPause, label: "Play or pause", keys: &[key(Modifiers::NONE, Key::Space)], while_typing: false,
        enabled: always, run: TierlabApp::play_pause },
    ActionSpec { action: Action::Gallery, label: "Scenario gallery…", keys: &[], while_typing: false,
        enabled: always, run: |app| app.show_gallery = true },
    ActionSpec { action: Action::Present, label: "Presentation mode", keys: &[key(Modifiers::NONE, Key::F)], while_typing: false,
        enabled: always, run: |app| app.set_presenting(!app.presenting) },
    ActionSpec { action: Action::LeavePresentation, label: "Leave presentation mode", keys: &[key(Modifiers::NONE, Key::Escape)], while_typing: false,
        enabled: |app| app.presenting, run: |app| app.set_presenting(false) },
    scenario!(0, "Scenario 1", Key::Num1),
    scenario!(1, "Scenario 2", Key::Num2),
    scenario!(2, "Scenario 3", Key::Num3),
    scenario!(3, "Scenario 4", Key::Num4),
    scenario!(4, "Scenario 5", Key::Num5),
    scenario!(5, "Scenario 6", Key::Num6),
    scenario!(6, "Scenario 7", Key::Num7),
    scenario!(7, "Scenario 8", Key::Num8),
    ActionSpec { action: Action::Compare, label: "Compare…", keys: &[], while_typing: true,
        enabled: |app| app.compare.is_none(), run: TierlabApp::open_compare },
    ActionSpec { action: Action::WalkRequest, label: "Walk a request…", keys: &[], while_typing: true,
        enabled: always, run: |app| app.stepper.open = !app.stepper.open },
    ActionSpec { action: Action::WalkPrevious, label: "Previous step", keys: &[key(Modifiers::NONE, Key::ArrowLeft)], while_typing: false,
        enabled: |app| app.stepper.can_step(), run: |app| app.stepper.step_by(-1) },
    ActionSpec { action: Action::WalkNext, label: "Next step", keys: &[key(Modifiers::NONE, Key::ArrowRight)], while_typing: false,
        enabled: |app| app.stepper.can_step(), run: |app| app.stepper.step_by(1) },
    ActionSpec { action: Action::Sweep, label: "Capacity sweep…", keys: &[], while_typing: true,
        enabled: always, run: |app| app.sweep.show(&app.doc.layout) },
    ActionSpec { action: Action::Plan, label: "Capacity planner…", keys: &[], while_typing: true,
        enabled: always, run: |app| app.planner.show(&app.doc.layout) },
    ActionSpec { action: Action::FindSpof, label: "Find single points of failure", keys: &[], while_typing: false,
        enabled: can_study, run: |app| app.breaks.start_spof(&app.doc.layout) },
    ActionSpec { action: Action::Stress, label: "Find what breaks first", keys: &[], while_typing: false,
        enabled: can_study, run: |app| app.breaks.start_stress(&app.doc.layout) },
    ActionSpec { action: Action::ExportAnimation, label: "Export animation…", keys: &[], while_typing: true,
        enabled: |app| !app.is_animating(), run: TierlabApp::open_animation_dialog },
    ActionSpec { action: Action::CancelAnimation, label: "Cancel animation export", keys: &[], while_typing: true,
        enabled: TierlabApp::is_animating, run: TierlabApp::cancel_animation },
];

/// A study needs a layout that runs.
fn can_study(app: &TierlabApp) -> bool {
    !app.doc.layout.nodes.is_empty()
        && !app
            .problems
            .iter()
            .any(|p| p.severity == crate::layout::Severity::Error)
}

/// The row of a gallery scenario's key: it works in presentation mode only, so digits stay
/// free otherwise.
macro_rules! scenario {
    ($n:literal, $label:literal, $key:expr) => {
        ActionSpec {
            action: Action::Scenario($n),
            label: $label,
            keys: &[key(Modifiers::NONE, $key)],
            while_typing: false,
            enabled: |app| app.presenting,
            run: |app| app.open_gallery_lesson($n),
        }
    };
}
use scenario;

/// The table's row for `action` (every action has one: a unit test checks).
pub fn spec(action: Action) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|s| s.action == action)
}

/// How a shortcut reads in a menu: "Ctrl+Shift+Z", "Del".
pub fn shortcut_text(k: &KeyboardShortcut) -> String {
    let key = match k.logical_key {
        Key::Delete => "Del",
        other => other.symbol_or_name(),
    };
    let modifiers = ModifierNames::NAMES.format(&k.modifiers, false);
    if modifiers.is_empty() {
        key.to_string()
    } else {
        format!("{modifiers}+{key}")
    }
}

impl TierlabApp {
    /// Run the action whose keys were pressed this frame: at most one of those that work
    /// while typing, then (unless a text field has the keyboard) at most one of the others.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        if self.dialog.is_some() {
            return;
        }
        for while_typing in [true, false] {
            if !while_typing && ctx.egui_wants_keyboard_input() {
                return;
            }
            if let Some(s) = pressed(self, ctx, while_typing) {
                (s.run)(self);
            }
        }
    }

    /// A menu entry for `action`: its label, its first shortcut, enabled as the table says.
    pub(super) fn menu_item(&mut self, ui: &mut Ui, action: Action) {
        let Some(s) = spec(action) else {
            return;
        };
        let mut button = egui::Button::new(s.label);
        if let Some(k) = s.keys.first() {
            button = button.shortcut_text(shortcut_text(k));
        }
        if ui.add_enabled((s.enabled)(self), button).clicked() {
            (s.run)(self);
        }
    }

    /// The menu bar: File, Lessons, Edit, Study and View.
    pub(super) fn menu_ui(&mut self, ui: &mut Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu_ui(ui));
            ui.menu_button("Lessons", |ui| {
                self.menu_item(ui, Action::Gallery);
                self.menu_item(ui, Action::Present);
            });
            ui.menu_button("Edit", |ui| {
                self.menu_item(ui, Action::Undo);
                self.menu_item(ui, Action::Redo);
                ui.separator();
                self.menu_item(ui, Action::Delete);
                self.menu_item(ui, Action::SelectAll);
            });
            ui.menu_button("Study", |ui| {
                self.menu_item(ui, Action::Compare);
                self.menu_item(ui, Action::Sweep);
                self.menu_item(ui, Action::Plan);
                self.menu_item(ui, Action::FindSpof);
                self.menu_item(ui, Action::Stress);
            });
            ui.menu_button("View", |ui| {
                self.menu_item(ui, Action::UiZoomIn);
                self.menu_item(ui, Action::UiZoomOut);
                self.menu_item(ui, Action::UiZoomReset);
                ui.separator();
                for look in [Look::Standard, Look::Projector] {
                    ui.radio_value(&mut self.settings.look, look, look.label());
                }
                ui.separator();
                self.menu_item(ui, Action::ZoomToFit);
                self.menu_item(ui, Action::WalkRequest);
                ui.checkbox(&mut self.settings.snap, "Snap to grid");
                ui.checkbox(&mut self.settings.grid, "Show grid");
                ui.checkbox(&mut self.settings.show_palette, "Palette");
                ui.checkbox(&mut self.settings.show_inspector, "Inspector");
                ui.checkbox(&mut self.show_run_panel, "Run panel");
            });
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(self.doc.title());
            });
        });
    }

    fn file_menu_ui(&mut self, ui: &mut Ui) {
        self.menu_item(ui, Action::New);
        self.menu_item(ui, Action::Open);
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
        self.menu_item(ui, Action::Save);
        self.menu_item(ui, Action::SaveAs);
        ui.separator();
        self.menu_item(ui, Action::ExportAnimation);
        if self.is_animating() {
            self.menu_item(ui, Action::CancelAnimation);
        }
        ui.separator();
        self.menu_item(ui, Action::Quit);
    }

    /// Change the UI zoom by `step` (rounded to a tenth, within its range).
    fn zoom_ui_by(&mut self, step: f32) {
        let z = ((self.settings.ui_zoom + step) * 10.0).round() / 10.0;
        self.settings.ui_zoom = z.clamp(super::UI_ZOOM_MIN, super::UI_ZOOM_MAX);
    }

    /// Space: pause a playing run, else play.
    fn play_pause(&mut self) {
        let action = if self.run.playing {
            RunAction::Pause
        } else {
            RunAction::Play
        };
        self.run_action(action);
    }
}

/// The enabled action of this group whose keys were pressed, consuming the key press (a
/// disabled action leaves its key to others: Escape outside presentation mode, digits).
fn pressed(
    app: &TierlabApp,
    ctx: &egui::Context,
    while_typing: bool,
) -> Option<&'static ActionSpec> {
    let group = || {
        ACTIONS
            .iter()
            .filter(move |s| s.while_typing == while_typing && (s.enabled)(app))
    };
    [true, false].into_iter().find_map(|shifted| {
        group().find(|s| {
            s.keys
                .iter()
                .any(|k| k.modifiers.shift == shifted && ctx.input_mut(|i| i.consume_shortcut(k)))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_row_and_no_two_share_a_key() {
        let all = [
            Action::New,
            Action::Open,
            Action::Save,
            Action::SaveAs,
            Action::Quit,
            Action::Undo,
            Action::Redo,
            Action::Delete,
            Action::SelectAll,
            Action::ZoomToFit,
            Action::PlayPause,
            Action::UiZoomIn,
            Action::UiZoomOut,
            Action::UiZoomReset,
            Action::Gallery,
            Action::Present,
            Action::LeavePresentation,
            Action::WalkRequest,
            Action::WalkPrevious,
            Action::WalkNext,
            Action::Compare,
            Action::Sweep,
            Action::Plan,
            Action::FindSpof,
            Action::Stress,
            Action::ExportAnimation,
            Action::CancelAnimation,
        ];
        let all: Vec<Action> = all
            .into_iter()
            .chain((0..8).map(Action::Scenario))
            .collect();
        for &a in &all {
            assert_eq!(ACTIONS.iter().filter(|s| s.action == a).count(), 1, "{a:?}");
        }
        assert_eq!(ACTIONS.len(), all.len());
        let keys: Vec<_> = ACTIONS.iter().flat_map(|s| s.keys.iter()).collect();
        for (i, a) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(a), "{a:?} runs two actions");
        }
    }

    #[test]
    fn menus_show_shortcuts_as_the_user_types_them() {
        assert_eq!(shortcut_text(&key(CTRL_SHIFT, Key::Z)), "Ctrl+Shift+Z");
        assert_eq!(shortcut_text(&key(CTRL, Key::O)), "Ctrl+O");
        assert_eq!(shortcut_text(&key(Modifiers::NONE, Key::Delete)), "Del");
    }
}
