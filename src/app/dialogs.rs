//! The dialogs: confirm discarding changes, the load error, and the in-window file browser.

use std::path::PathBuf;

use eframe::egui::{self, Ui, ViewportCommand};

use super::files::with_ron_extension;
use super::{TierlabApp, theme};

/// Something that would discard unsaved changes, waiting for the user's yes.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    New,
    Open,
    OpenPath(PathBuf),
    OpenShipped(&'static str),
    Quit,
}

/// The dialog on top of the window, if any.
pub enum Dialog {
    Browser(Browser),
    Confirm(Pending),
    LoadError(String),
    /// A recovery file from a session that did not close cleanly: Restore or Discard.
    Recover(Box<super::recovery::Recovered>),
    /// Save would write over this file, which changed on disk since it was read or written.
    ChangedOnDisk(PathBuf),
}

/// The answer to "Discard unsaved changes?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    SaveFirst,
    Discard,
    Cancel,
}

impl TierlabApp {
    /// Do `p` now, or first ask when it would discard unsaved changes.
    pub(super) fn request(&mut self, p: Pending) {
        if self.doc.is_dirty() {
            self.dialog = Some(Dialog::Confirm(p));
        } else {
            self.perform(p);
        }
    }

    fn perform(&mut self, p: Pending) {
        match p {
            Pending::New => self.new_document(),
            Pending::Open => self.pick_layout(BrowseFor::Open),
            Pending::OpenPath(path) => {
                self.open_path(&path);
            }
            Pending::OpenShipped(name) => self.open_shipped(name),
            Pending::Quit => {
                self.allow_close = true;
                self.clean_exit();
            }
        }
    }

    /// The window's close button: ask first when there are unsaved changes.
    pub(super) fn close_request(&mut self, ctx: &egui::Context) {
        if !ctx.input(|i| i.viewport().close_requested()) {
            return;
        }
        if !self.allow_close && self.doc.is_dirty() {
            ctx.send_viewport_cmd(ViewportCommand::CancelClose);
            self.dialog = Some(Dialog::Confirm(Pending::Quit));
        } else {
            self.clean_exit();
        }
    }

    /// Draw the open dialog and act on its answer; it stays open until answered.
    pub(super) fn dialog_ui(&mut self, ctx: &egui::Context) {
        let Some(dialog) = self.dialog.take() else {
            return;
        };
        match dialog {
            Dialog::Browser(mut b) => match b.ui(ctx) {
                None => self.dialog = Some(Dialog::Browser(b)),
                Some(Choice::Cancel) => {}
                Some(Choice::Shipped(name)) if b.purpose == BrowseFor::CompareB => {
                    self.compare_b_shipped(name)
                }
                Some(Choice::Shipped(name)) => self.open_shipped(name),
                Some(Choice::Path(p)) => self.chosen_path(b.purpose, &p),
            },
            Dialog::Confirm(p) => match confirm_discard_ui(ctx, &self.doc.name()) {
                Some(Answer::SaveFirst) => {
                    self.save();
                    if !self.doc.is_dirty() {
                        self.perform(p);
                    }
                }
                Some(Answer::Discard) => self.perform(p),
                Some(Answer::Cancel) => {}
                None => self.dialog = Some(Dialog::Confirm(p)),
            },
            Dialog::LoadError(message) => {
                if !load_error_ui(ctx, &message) {
                    self.dialog = Some(Dialog::LoadError(message));
                }
            }
            Dialog::Recover(r) => match recover_ui(ctx, &r) {
                Some(true) => self.restore_recovered(*r),
                Some(false) => self.discard_recovered(*r),
                None => self.dialog = Some(Dialog::Recover(r)),
            },
            Dialog::ChangedOnDisk(path) => match changed_on_disk_ui(ctx, &path) {
                Some(OnDisk::Overwrite) => self.write_to(&path),
                Some(OnDisk::SaveAs) => self.save_as(),
                Some(OnDisk::Cancel) => {
                    self.status = Some(super::status::Status::info("Not saved"));
                }
                None => self.dialog = Some(Dialog::ChangedOnDisk(path)),
            },
        }
    }
}

/// "Discard unsaved changes?" about the document called `name`; `Some` once answered.
fn confirm_discard_ui(ctx: &egui::Context, name: &str) -> Option<Answer> {
    let mut answer = None;
    egui::Modal::new(egui::Id::unique("confirm discard")).show(ctx, |ui| {
        ui.set_width(380.0);
        ui.heading("Discard unsaved changes?");
        ui.label(format!("{name} has changes that are not saved."));
        ui.horizontal(|ui| {
            if ui.button("Save first").clicked() {
                answer = Some(Answer::SaveFirst);
            }
            if ui.button("Discard changes").clicked() {
                answer = Some(Answer::Discard);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(Answer::Cancel);
            }
        });
    });
    answer
}

/// "Restore unsaved work?": `Some(true)` for Restore, `Some(false)` for Discard.
fn recover_ui(ctx: &egui::Context, r: &super::recovery::Recovered) -> Option<bool> {
    let mut answer = None;
    egui::Modal::new(egui::Id::unique("recover")).show(ctx, |ui| {
        ui.set_width(420.0);
        ui.heading("Restore unsaved work?");
        let name = match &r.source {
            super::document::Source::File(p) => p.display().to_string(),
            super::document::Source::Shipped(n) => format!("{n} (shipped)"),
            super::document::Source::Untitled => "An untitled layout".to_string(),
        };
        ui.label(format!(
            "Tierlab did not close cleanly last time. {} had changes that were not saved;              they were kept in a recovery file.",
            crate::layout::input::escaped(&name, 200)
        ));
        ui.horizontal(|ui| {
            if ui.button("Restore").clicked() {
                answer = Some(true);
            }
            if ui.button("Discard").clicked() {
                answer = Some(false);
            }
        });
    });
    answer
}

/// The answer to "The file changed on disk".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnDisk {
    Overwrite,
    SaveAs,
    Cancel,
}

/// "The file changed on disk": write over it, save elsewhere, or not save.
fn changed_on_disk_ui(ctx: &egui::Context, path: &std::path::Path) -> Option<OnDisk> {
    let mut answer = None;
    egui::Modal::new(egui::Id::unique("changed on disk")).show(ctx, |ui| {
        ui.set_width(420.0);
        ui.heading("The file changed on disk");
        ui.label(format!(
            "{} was changed by something else since Tierlab opened or saved it. Saving now \
             would replace that change.",
            path.display()
        ));
        ui.horizontal(|ui| {
            if ui.button("Overwrite").clicked() {
                answer = Some(OnDisk::Overwrite);
            }
            if ui.button("Save as…").clicked() {
                answer = Some(OnDisk::SaveAs);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(OnDisk::Cancel);
            }
        });
    });
    answer
}

/// Why a layout could not be opened; `true` once the user closed it.
fn load_error_ui(ctx: &egui::Context, message: &str) -> bool {
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
    close
}

/// What the browser is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowseFor {
    Open,
    Save,
    /// Layout B of the A/B comparison.
    CompareB,
}

/// What the user chose in the browser.
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    Path(PathBuf),
    Shipped(&'static str),
    Cancel,
}

/// The in-window file browser: a path field, the directory's layouts, and (for Open) the
/// shipped layouts.
pub struct Browser {
    pub purpose: BrowseFor,
    pub dir: PathBuf,
    pub path_text: String,
    entries: Vec<(String, bool)>,
}

impl Browser {
    pub fn new(purpose: BrowseFor, dir: PathBuf, file_name: &str) -> Browser {
        let path_text = dir.join(file_name).display().to_string();
        let mut b = Browser {
            purpose,
            dir,
            path_text,
            entries: Vec::new(),
        };
        b.refresh();
        b
    }

    fn refresh(&mut self) {
        let mut entries: Vec<(String, bool)> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().to_string();
                        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                        // The window's own settings file is no layout.
                        let wanted = is_dir
                            || (name.ends_with(".ron")
                                && !super::files::is_settings_file(&self.dir.join(&name)));
                        (wanted && !name.starts_with('.')).then_some((name, is_dir))
                    })
                    .collect()
            })
            .unwrap_or_default();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        entries.truncate(500);
        self.entries = entries;
    }

    /// Draw the browser window; `Some` once the user has chosen.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Choice> {
        let mut choice = None;
        let title = match self.purpose {
            BrowseFor::Open => "Open layout",
            BrowseFor::Save => "Save layout as",
            BrowseFor::CompareB => "Open layout B",
        };
        egui::Modal::new(egui::Id::unique("file browser")).show(ctx, |ui| {
            ui.set_width(520.0);
            ui.heading(title);
            choice = self.path_ui(ui);
            self.folder_ui(ui);
            choice = self.entries_ui(ui).or(choice.take());
            if self.purpose != BrowseFor::Save {
                ui.separator();
                ui.label("Shipped layouts");
                ui.horizontal_wrapped(|ui| {
                    for name in crate::shipped::names() {
                        if ui.button(name).clicked() {
                            choice = Some(Choice::Shipped(name));
                        }
                    }
                });
            }
            ui.separator();
            choice = self.buttons_ui(ui).or(choice.take());
        });
        choice
    }

    /// The path field; Enter in it chooses.
    fn path_ui(&mut self, ui: &mut Ui) -> Option<Choice> {
        let mut choice = None;
        ui.horizontal(|ui| {
            let label = ui.label("File path");
            let field =
                ui.add(egui::TextEdit::singleline(&mut self.path_text).desired_width(420.0));
            let field = field.labelled_by(label.id);
            if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                choice = self.chosen_path();
            }
        });
        choice
    }

    /// The folder shown, and Up.
    fn folder_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            if ui.button("Up").clicked()
                && let Some(parent) = self.dir.parent()
            {
                self.dir = if parent.as_os_str().is_empty() {
                    PathBuf::from("..")
                } else {
                    parent.to_path_buf()
                };
                self.refresh();
            }
            ui.label(format!("Folder: {}", self.dir.display()));
        });
    }

    /// The folder's layouts and subfolders: a click picks or goes in, a double click chooses.
    fn entries_ui(&mut self, ui: &mut Ui) -> Option<Choice> {
        let mut choice = None;
        egui::ScrollArea::vertical()
            .max_height(220.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                let mut go_into = None;
                for (name, is_dir) in &self.entries {
                    let text = if *is_dir {
                        format!("{name}/")
                    } else {
                        name.clone()
                    };
                    let r = ui.selectable_label(false, text);
                    if r.clicked() {
                        if *is_dir {
                            go_into = Some(self.dir.join(name));
                        } else {
                            self.path_text = self.dir.join(name).display().to_string();
                        }
                    }
                    if r.double_clicked() && !*is_dir {
                        choice = self.chosen_path();
                    }
                }
                if self.entries.is_empty() {
                    ui.weak("No layouts in this folder");
                }
                if let Some(d) = go_into {
                    self.dir = d;
                    self.refresh();
                }
            });
        choice
    }

    /// Open or Save, and Cancel (or Escape).
    fn buttons_ui(&self, ui: &mut Ui) -> Option<Choice> {
        let mut choice = None;
        ui.horizontal(|ui| {
            let action = match self.purpose {
                BrowseFor::Open | BrowseFor::CompareB => "Open",
                BrowseFor::Save => "Save",
            };
            if ui.button(action).clicked() {
                choice = self.chosen_path();
            }
            if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                choice = Some(Choice::Cancel);
            }
        });
        choice
    }

    fn chosen_path(&self) -> Option<Choice> {
        let text = self.path_text.trim();
        if text.is_empty() {
            return None;
        }
        let p = PathBuf::from(text);
        Some(Choice::Path(match self.purpose {
            BrowseFor::Save => with_ron_extension(p),
            BrowseFor::Open | BrowseFor::CompareB => p,
        }))
    }
}
