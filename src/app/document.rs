//! The document: the layout, its source, saved state and undo history; opening and saving it.

use std::path::{Path, PathBuf};

use super::dialogs::{BrowseFor, Browser, Dialog};
use super::files;
use super::history::History;
use super::inspector::InspectorState;
use super::recovery::DiskStamp;
use super::status::Status;
use super::{RECENT_MAX, STARTER_LAYOUT, TierlabApp};
use crate::layout::{self, Layout};
use crate::shipped;

/// Where the open layout came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Untitled,
    Shipped(&'static str),
    File(PathBuf),
}

/// One open layout and its history. The unsaved mark is `layout != saved`.
pub struct Document {
    pub layout: Layout,
    /// The layout as last loaded or saved.
    saved: Layout,
    source: Source,
    /// The document's file as the window last read or wrote it (Save compares).
    disk: Option<DiskStamp>,
    pub history: History,
}

impl Default for Document {
    fn default() -> Self {
        Document {
            layout: Layout::default(),
            saved: Layout::default(),
            source: Source::Untitled,
            disk: None,
            history: History::default(),
        }
    }
}

impl Document {
    /// Replace the document with `layout` from `source`: nothing unsaved, no history.
    pub fn replace(&mut self, layout: Layout, source: Source) {
        self.layout = layout.clone();
        self.saved = layout;
        self.disk = match &source {
            Source::File(p) => DiskStamp::of(p),
            _ => None,
        };
        self.source = source;
        self.history.clear();
    }

    /// Where the layout came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The document's file as the window last read or wrote it.
    pub fn disk(&self) -> Option<&DiskStamp> {
        self.disk.as_ref()
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
    pub fn name(&self) -> String {
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
        format!("{mark}{} - Tierlab", self.name())
    }

    /// Write the layout to `path`; from now on it is the document's file, with nothing unsaved.
    pub fn save_to(&mut self, path: &Path) -> Result<(), String> {
        files::save(path, &self.layout)?;
        self.saved = self.layout.clone();
        self.source = Source::File(path.to_path_buf());
        self.disk = DiskStamp::of(path);
        Ok(())
    }

    /// The file name Save as offers.
    pub fn suggested_file_name(&self) -> String {
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

    /// Where Open and Save as start: the file's folder, else `save_dir`.
    pub fn start_dir(&self, save_dir: &Path) -> PathBuf {
        match &self.source {
            Source::File(p) => p
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| save_dir.to_path_buf()),
            _ => save_dir.to_path_buf(),
        }
    }
}

/// Opening and saving from the window: the document, plus what the window shows about it.
impl TierlabApp {
    /// Replace the document (after any confirmation) and start the view and run afresh.
    pub(super) fn set_document(&mut self, layout: Layout, source: Source) {
        self.doc.replace(layout, source);
        self.lesson = None;
        self.selection.clear();
        self.inspector = InspectorState::default();
        self.canvas.fit_requested = true;
        self.run.reset();
        self.stepper.forget_pending();
        self.run.seed = self.doc.layout.seed;
    }

    /// File > New: an empty untitled layout.
    pub(super) fn new_document(&mut self) {
        let l = Layout {
            name: "Untitled".into(),
            ..Layout::default()
        };
        self.set_document(l, Source::Untitled);
    }

    pub(super) fn open_shipped(&mut self, name: &'static str) {
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
    pub(super) fn open_path(&mut self, path: &Path) -> bool {
        if crate::lesson::is_lesson_name(&path.to_string_lossy()) {
            return self.open_lesson_path(path);
        }
        match files::load(path) {
            Ok(l) => {
                self.set_document(l, Source::File(path.to_path_buf()));
                self.remember(path);
                self.status = Some(Status::info(format!("Opened {}", path.display())));
                true
            }
            Err(e) => {
                self.dialog = Some(Dialog::LoadError(e));
                false
            }
        }
    }

    /// Save to `path`, but first ask when it is the document's file and it changed on disk
    /// since the window read or wrote it (Overwrite / Save as… / Cancel).
    /// A lesson file (`*.lesson.ron`): its layout becomes the document, its lesson runs.
    fn open_lesson_path(&mut self, path: &Path) -> bool {
        let loaded = crate::read::load_lesson(path).and_then(|l| {
            let problems = crate::lesson::check(&l);
            match problems
                .iter()
                .find(|p| p.severity == layout::Severity::Error)
            {
                Some(p) => Err(format!("{}: {p}", path.display())),
                None => l.layout().map(|layout| (l, layout)),
            }
        });
        match loaded {
            Ok((l, layout)) => {
                self.open_lesson(l, layout);
                self.remember(path);
                true
            }
            Err(e) => {
                self.dialog = Some(Dialog::LoadError(e));
                false
            }
        }
    }

    pub(super) fn save_to(&mut self, path: &Path) {
        if self.changed_on_disk(path) {
            self.dialog = Some(Dialog::ChangedOnDisk(path.to_path_buf()));
            return;
        }
        self.write_to(path);
    }

    /// Save to `path` without asking.
    pub(super) fn write_to(&mut self, path: &Path) {
        match self.doc.save_to(path) {
            Ok(()) => {
                self.remember(path);
                self.status = Some(Status::info(format!("Saved {}", path.display())));
            }
            Err(e) => self.status = Some(Status::error(e)),
        }
    }

    fn remember(&mut self, path: &Path) {
        let p = path.to_path_buf();
        self.settings.recent.retain(|r| *r != p);
        self.settings.recent.insert(0, p.clone());
        self.settings.recent.truncate(RECENT_MAX);
        self.settings.last_file = Some(p);
    }

    /// Save to the document's file, or ask where when it has none.
    pub(super) fn save(&mut self) {
        match self.doc.file().map(Path::to_path_buf) {
            Some(p) => self.save_to(&p),
            None => self.save_as(),
        }
    }

    pub(super) fn save_as(&mut self) {
        let dir = self.doc.start_dir(&self.config.save_dir);
        let name = self.doc.suggested_file_name();
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

    /// Pick a layout to open, or to compare as B: the native dialog, or the in-window browser.
    pub(super) fn pick_layout(&mut self, purpose: BrowseFor) {
        let dir = self.doc.start_dir(&self.config.save_dir);
        if self.config.native_dialogs {
            if let Some(p) = rfd::FileDialog::new()
                .add_filter("Tierlab layout", &["ron"])
                .set_directory(&dir)
                .pick_file()
            {
                self.chosen_path(purpose, &p);
            }
            return;
        }
        self.dialog = Some(Dialog::Browser(Browser::new(purpose, dir, "")));
    }

    /// Act on a path chosen for `purpose`, from either picker.
    pub(super) fn chosen_path(&mut self, purpose: BrowseFor, path: &std::path::Path) {
        match purpose {
            BrowseFor::Save => self.save_to(path),
            BrowseFor::CompareB => self.compare_b_path(path),
            BrowseFor::Open => {
                self.open_path(path);
            }
        }
    }
}
