//! Layout files: where user layouts go, atomic saving, loading with a readable error, and the
//! in-window file browser used where no native dialog is available (as under Xvfb) and in tests.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use eframe::egui;

use crate::layout::{self, Layout};

/// Where user layouts are saved: `./saves` when it exists, else the user's data directory.
pub fn default_save_dir() -> PathBuf {
    let local = PathBuf::from("saves");
    if local.is_dir() {
        return local;
    }
    match dirs::data_dir() {
        Some(d) => d.join("tierlab"),
        None => local,
    }
}

/// Read and parse a layout; the error names the file and says where and what is wrong.
pub fn load(path: &Path) -> Result<Layout, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    layout::from_ron(&text).map_err(|e| format!("{}:{e}", path.display()))
}

/// Save atomically: write a temporary file in the same directory, flush it to disk, then
/// rename it over the target, so a crash or a full disk never leaves a half-written layout.
pub fn save(path: &Path, layout: &Layout) -> Result<(), String> {
    write_atomic(path, layout::to_ron(layout).as_bytes())
}

/// Write `bytes` to `path` atomically (layouts, exported CSV and PNG files): a temporary file
/// in the same directory, flushed, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let Some(file_name) = path.file_name() else {
        return Err(format!("{} is not a file name", path.display()));
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable; not every platform can open a directory.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot save {}: {e}", path.display())
    })
}

/// `path` with a `.ron` extension when it has none.
pub fn with_ron_extension(path: PathBuf) -> PathBuf {
    if path.extension().is_some() {
        path
    } else {
        path.with_extension("ron")
    }
}

/// Whether a native file dialog is worth trying: a desktop session bus is there (the portal
/// backend talks to it) and the user did not turn it off.
pub fn native_dialog_available() -> bool {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        && std::env::var_os("TIERLAB_NO_NATIVE_DIALOG").is_none()
}

/// What the browser is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowseFor {
    Open,
    Save,
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
                        let wanted = is_dir || name.ends_with(".ron");
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
        };
        egui::Modal::new(egui::Id::unique("file browser")).show(ctx, |ui| {
            ui.set_width(520.0);
            ui.heading(title);
            ui.horizontal(|ui| {
                let label = ui.label("File path");
                let field =
                    ui.add(egui::TextEdit::singleline(&mut self.path_text).desired_width(420.0));
                let field = field.labelled_by(label.id);
                if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    choice = self.chosen_path();
                }
            });
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
            if self.purpose == BrowseFor::Open {
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
            ui.horizontal(|ui| {
                let action = match self.purpose {
                    BrowseFor::Open => "Open",
                    BrowseFor::Save => "Save",
                };
                if ui.button(action).clicked() {
                    choice = self.chosen_path();
                }
                if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    choice = Some(Choice::Cancel);
                }
            });
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
            BrowseFor::Open => p,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tierlab-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("x.ron");
        let Some(text) = crate::shipped::find("request-flow.ron") else {
            panic!("shipped layout");
        };
        let l = layout::from_ron(text).unwrap_or_else(|e| panic!("{e}"));
        save(&path, &l).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(load(&path), Ok(l));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn load_errors_name_file_line_and_column() {
        let dir = temp_dir("broken");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("broken.ron");
        let _ = std::fs::write(
            &path,
            "(\n nodes: [\n  (id: 1, name: \"db\", kind: databse()),\n ],\n)",
        );
        let err = load(&path).err().unwrap_or_default();
        assert!(err.contains("broken.ron:3:"), "{err}");
        assert!(load(&dir.join("missing.ron")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn save_names_get_the_ron_extension() {
        assert_eq!(with_ron_extension("a/b".into()), PathBuf::from("a/b.ron"));
        assert_eq!(
            with_ron_extension("a/b.ron".into()),
            PathBuf::from("a/b.ron")
        );
    }
}
