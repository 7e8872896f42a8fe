//! Nothing lost: the open layout is autosaved to a recovery file beside the window's settings
//! and offered back at the next launch when the window did not close cleanly; and Save never
//! writes over a file that changed on disk since it was opened or last saved without asking.

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::TierlabApp;
use super::dialogs::Dialog;
use super::document::Source;
use super::files;
use super::status::Status;
use crate::layout::{self, Layout};
use crate::shipped;

/// How often at most the window autosaves the open layout, in wall-clock seconds.
pub const AUTOSAVE_EVERY_S: f64 = 3.0;

/// The first line of a recovery file names where the layout came from; the rest is the layout
/// as a layout file (the line is a RON comment, so the file also opens as a layout).
const HEADER: &str = "// Tierlab recovery of: ";

/// The autosave: where to, how often, and what the file holds now.
#[derive(Debug)]
pub struct Autosave {
    /// The recovery file; `None`: no autosave (tests and scripted launches).
    pub file: Option<PathBuf>,
    pub every_s: f64,
    /// Wall-clock seconds since the last write (infinite before the first).
    since_s: f64,
    /// The layout this window last wrote to the recovery file, while the file is there.
    written: Option<Layout>,
}

impl Default for Autosave {
    fn default() -> Self {
        Autosave {
            file: None,
            every_s: AUTOSAVE_EVERY_S,
            since_s: f64::INFINITY,
            written: None,
        }
    }
}

/// A recovery file found at launch, waiting for Restore or Discard.
#[derive(Debug)]
pub struct Recovered {
    pub layout: Layout,
    pub source: Source,
    pub file: PathBuf,
}

/// What a file on disk looked like when the window last read or wrote it: a later Save
/// compares, and asks before writing over a change made by someone else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskStamp {
    modified: Option<SystemTime>,
    len: u64,
    hash: u64,
}

impl DiskStamp {
    /// The file as it is now; `None` when it cannot be read (then there is nothing to lose).
    pub fn of(path: &Path) -> Option<DiskStamp> {
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        if meta.len() > crate::read::FILE_BYTES_MAX {
            return None;
        }
        let bytes = std::fs::read(path).ok()?;
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        Some(DiskStamp {
            modified: meta.modified().ok(),
            len: bytes.len() as u64,
            hash: h.finish(),
        })
    }
}

/// Milliseconds since 1970 of `t` (0 before it).
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The header line for `source`.
fn source_line(source: &Source) -> String {
    match source {
        Source::File(p) => {
            let shown = p.display().to_string();
            if shown.contains('\n') {
                "untitled".to_string()
            } else {
                format!("file {shown}")
            }
        }
        Source::Shipped(name) => format!("shipped {name}"),
        Source::Untitled => "untitled".to_string(),
    }
}

/// The source a header line names.
fn parse_source(line: &str) -> Source {
    let rest = line.strip_prefix(HEADER).unwrap_or("");
    if let Some(p) = rest.strip_prefix("file ") {
        return Source::File(PathBuf::from(p));
    }
    if let Some(name) = rest.strip_prefix("shipped ")
        && let Some(n) = shipped::names().find(|n| *n == name)
    {
        return Source::Shipped(n);
    }
    Source::Untitled
}

impl TierlabApp {
    /// Autosave the open layout to `file` at most every `every_s` wall-clock seconds while it
    /// has unsaved changes (`None`: no autosave). `run_window` passes the file beside the
    /// window's settings; tests pass a file of their own.
    pub fn set_recovery_file(&mut self, file: Option<PathBuf>, every_s: f64) {
        self.autosave = Autosave {
            file,
            every_s,
            ..Autosave::default()
        };
    }

    /// At launch: when a recovery file is there and newer than the last clean exit, offer to
    /// restore it (Restore / Discard). Returns whether it was offered.
    pub fn offer_recovery(&mut self) -> bool {
        let Some(file) = self.autosave.file.clone() else {
            return false;
        };
        let Some(written_ms) = std::fs::metadata(&file)
            .ok()
            .and_then(|m| m.modified().ok())
            .map(unix_ms)
        else {
            return false;
        };
        if written_ms <= self.settings.clean_exit_unix_ms.unwrap_or(0) {
            return false;
        }
        let text = match crate::read::read_text(&file) {
            Ok(t) => t,
            Err(e) => {
                self.status = Some(Status::error(e));
                return false;
            }
        };
        let source = parse_source(text.lines().next().unwrap_or(""));
        match layout::from_ron(&text) {
            Ok(layout) => {
                self.dialog = Some(Dialog::Recover(Box::new(Recovered {
                    layout,
                    source,
                    file,
                })));
                true
            }
            Err(e) => {
                self.status = Some(Status::error(format!(
                    "the recovery file {} cannot be read: {e}",
                    file.display()
                )));
                false
            }
        }
    }

    /// Restore: the layout comes back with its unsaved changes, over the file or shipped
    /// layout it came from (so Save writes to that file, and the changes show as unsaved).
    pub(super) fn restore_recovered(&mut self, r: Recovered) {
        let original = match &r.source {
            Source::File(p) => files::load(p).ok(),
            Source::Shipped(name) => shipped::find(name).and_then(|t| layout::from_ron(t).ok()),
            Source::Untitled => None,
        };
        match original {
            Some(o) => self.set_document(o, r.source),
            None => self.set_document(Layout::default(), Source::Untitled),
        }
        self.doc.layout = r.layout;
        self.run.seed = self.doc.layout.seed;
        self.status = Some(Status::info(
            "Restored the unsaved changes of the last session",
        ));
    }

    /// Discard: the recovery file goes.
    pub(super) fn discard_recovered(&mut self, r: Recovered) {
        let _ = std::fs::remove_file(&r.file);
    }

    /// Once a frame: write the recovery file when the layout has unsaved changes that the file
    /// does not hold yet and the last write is `every_s` old; remove it once nothing is unsaved.
    pub(super) fn autosave(&mut self, wall_dt_s: f64) {
        let Some(file) = self.autosave.file.clone() else {
            return;
        };
        // A recovery file from the last session is left alone until it is answered.
        if matches!(self.dialog, Some(Dialog::Recover(_))) {
            return;
        }
        self.autosave.since_s += wall_dt_s.max(0.0);
        if !self.doc.is_dirty() {
            if self.autosave.written.take().is_some() {
                let _ = std::fs::remove_file(&file);
            }
            return;
        }
        if self.autosave.written.as_ref() == Some(&self.doc.layout)
            || self.autosave.since_s < self.autosave.every_s
        {
            return;
        }
        self.autosave.since_s = 0.0;
        let text = format!(
            "{HEADER}{}\n{}",
            source_line(self.doc.source()),
            layout::to_ron(&self.doc.layout)
        );
        match files::write_atomic(&file, text.as_bytes()) {
            Ok(()) => self.autosave.written = Some(self.doc.layout.clone()),
            Err(e) => self.status = Some(Status::error(format!("autosave failed: {e}"))),
        }
    }

    /// The window closes cleanly: the recovery file goes, and the time is remembered, so the
    /// next launch offers only a recovery file written after it.
    pub(super) fn clean_exit(&mut self) {
        if let Some(file) = &self.autosave.file {
            if self.autosave.written.take().is_some() {
                let _ = std::fs::remove_file(file);
            }
            self.settings.clean_exit_unix_ms = Some(unix_ms(SystemTime::now()));
        }
    }

    /// Whether the document's file changed on disk since the window read or wrote it.
    pub(super) fn changed_on_disk(&self, path: &Path) -> bool {
        let Some(known) = self.doc.disk() else {
            return false;
        };
        let same = self.doc.file().is_some_and(|f| files::same_file(f, path));
        same && DiskStamp::of(path).is_some_and(|now| now != *known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::AppConfig;

    fn app(file: &Path) -> TierlabApp {
        let mut app = TierlabApp::new(AppConfig::default());
        app.set_recovery_file(Some(file.to_path_buf()), AUTOSAVE_EVERY_S);
        app
    }

    fn temp_file(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tierlab-recovery-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.join("recovery.ron")
    }

    fn held(file: &Path) -> Option<String> {
        layout::from_ron(&std::fs::read_to_string(file).ok()?)
            .ok()
            .map(|l| l.name)
    }

    #[test]
    fn autosave_writes_a_change_at_most_every_few_seconds_and_only_when_it_changed() {
        let file = temp_file("every");
        let mut app = app(&file);
        app.autosave(10.0);
        assert_eq!(held(&file), None, "nothing unsaved");
        app.doc.layout.name = "first".into();
        app.autosave(0.1);
        assert_eq!(
            held(&file).as_deref(),
            Some("first"),
            "the first change at once"
        );
        app.doc.layout.name = "second".into();
        app.autosave(1.0);
        app.autosave(1.0);
        assert_eq!(held(&file).as_deref(), Some("first"), "2 s later: not yet");
        app.autosave(1.0);
        assert_eq!(held(&file).as_deref(), Some("second"), "3 s later");
        // Unchanged since: the file is not written again (an outside edit survives).
        let _ = std::fs::write(&file, "(name: \"outside\")");
        app.autosave(5.0);
        assert_eq!(held(&file).as_deref(), Some("outside"));
        let _ = std::fs::remove_dir_all(file.parent().unwrap_or(Path::new("/nonexistent")));
    }

    #[test]
    fn only_a_recovery_file_newer_than_the_last_clean_exit_is_offered() {
        let file = temp_file("newer");
        let mut first = app(&file);
        first.doc.layout.name = "unsaved".into();
        first.autosave(0.0);
        assert!(file.exists());
        // A clean exit recorded after the file was written (another window, say): not offered.
        let mut later = app(&file);
        later.settings.clean_exit_unix_ms = Some(unix_ms(SystemTime::now()) + 1_000);
        assert!(!later.offer_recovery());
        // The last clean exit before it: offered, naming where it came from.
        let mut next = app(&file);
        next.settings.clean_exit_unix_ms = Some(0);
        assert!(next.offer_recovery());
        let Some(Dialog::Recover(r)) = &next.dialog else {
            panic!("the restore dialog");
        };
        assert_eq!(r.layout.name, "unsaved");
        assert_eq!(r.source, Source::Shipped(crate::app::STARTER_LAYOUT));
        let _ = std::fs::remove_dir_all(file.parent().unwrap_or(Path::new("/nonexistent")));
    }
}
