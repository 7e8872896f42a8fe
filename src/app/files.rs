//! Layout files: where user layouts go, atomic saving, and loading with a readable error.

use std::io::Write as _;
use std::path::{Path, PathBuf};

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

/// Read and parse a layout; the error names the file and says where and what is wrong. The
/// command line reads through the same function ([`crate::read::load`]).
pub fn load(path: &Path) -> Result<Layout, String> {
    crate::read::load(path)
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
    fn save_names_get_the_ron_extension() {
        assert_eq!(with_ron_extension("a/b".into()), PathBuf::from("a/b.ron"));
        assert_eq!(
            with_ron_extension("a/b.ron".into()),
            PathBuf::from("a/b.ron")
        );
    }
}
