//! Layout files: where user layouts go, atomic saving, and loading with a readable error.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::layout::{self, Layout};

/// Where user layouts are saved: `./saves` when it exists, else `layouts` in the user's data
/// directory. Not that directory itself: eframe keeps the window's settings there (`app.ron`),
/// which must never be listed among layouts or saved over.
pub fn default_save_dir() -> PathBuf {
    let local = PathBuf::from("saves");
    if local.is_dir() {
        return local;
    }
    match dirs::data_dir() {
        Some(d) => d.join("tierlab").join("layouts"),
        None => local,
    }
}

/// The window's own settings file, where eframe keeps it for the app id "Tierlab" (the name
/// `run_window` passes to `run_native`).
pub fn settings_file() -> Option<PathBuf> {
    eframe::storage_dir("Tierlab").map(|d| d.join("app.ron"))
}

/// The recovery file the window autosaves unsaved changes to, beside its settings file.
pub fn recovery_file() -> Option<PathBuf> {
    eframe::storage_dir("Tierlab").map(|d| d.join("recovery.ron"))
}

/// Whether `path` is the window's settings file (see [`settings_file`]).
pub fn is_settings_file(path: &Path) -> bool {
    settings_file().is_some_and(|s| same_file(path, &s))
}

/// Whether two paths name the same file: the same canonical folder and file name, so a
/// relative path, `..` or a link to the folder does not hide it (the file may not exist yet).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = dir.canonicalize().unwrap_or_else(|_| lexical(&dir));
        (dir, p.file_name().map(|n| n.to_owned()))
    };
    canonical(a) == canonical(b)
}

/// `path` with `.` and `..` resolved by name, for a folder that does not exist yet.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Read and parse a layout; the error names the file and says where and what is wrong. The
/// command line reads through the same function ([`crate::read::load`]).
pub fn load(path: &Path) -> Result<Layout, String> {
    crate::read::load(path)
}

/// Save atomically: write a temporary file in the same directory, flush it to disk, then
/// rename it over the target, so a crash or a full disk never leaves a half-written layout.
pub fn save(path: &Path, layout: &Layout) -> Result<(), String> {
    if is_settings_file(path) {
        return Err(format!(
            "{} is Tierlab's own settings file: save the layout under another name",
            path.display()
        ));
    }
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
/// backend talks to it). `TIERLAB_NO_NATIVE_DIALOG` turns it off (`Config`).
pub fn desktop_session() -> bool {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
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
    fn the_settings_file_is_never_saved_over() {
        // Before: the default save folder was eframe's storage folder, app.ron among the
        // layouts, and Save as app.ron replaced the window's settings.
        let Some(settings) = settings_file() else {
            return; // No data directory on this platform: nothing to protect.
        };
        assert!(!same_file(&default_save_dir().join("app.ron"), &settings));
        let dir = settings.parent().map(Path::to_path_buf).unwrap_or_default();
        let sneaky = dir
            .join("..")
            .join(dir.file_name().unwrap_or_default())
            .join("app.ron");
        assert!(is_settings_file(&sneaky));
        let before = std::fs::read(&settings).ok();
        let err = save(&sneaky, &Layout::default()).err().unwrap_or_default();
        assert!(err.contains("settings file"), "{err}");
        assert_eq!(std::fs::read(&settings).ok(), before);
    }

    #[test]
    fn same_file_sees_through_relative_folders() {
        let dir = temp_dir("same");
        let _ = std::fs::create_dir_all(dir.join("sub"));
        assert!(same_file(&dir.join("sub/../a.ron"), &dir.join("a.ron")));
        assert!(!same_file(&dir.join("a.ron"), &dir.join("b.ron")));
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
