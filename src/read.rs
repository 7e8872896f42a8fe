//! Reading a layout file from disk: the one function the command line and the window share.
//!
//! Files travel between people, so a path may name anything: a FIFO that never ends, a
//! device such as `/dev/zero`, a multi-gigabyte file. Only regular files are read, and only up
//! to [`FILE_BYTES_MAX`]; both are decided from the metadata before a byte is read, and the read
//! itself stops one byte past the limit, so a file that grows while it is read is refused too.

use std::io::Read as _;
use std::path::Path;

use crate::layout::{self, Layout};

/// The largest layout file read: 64 MB. The largest shipped layout is under 10 kB; Tierlab
/// writes a layout at the node and wire limits (`layout::input::at_the_limits`) in 28 MB, as
/// it spells out every parameter.
pub const FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Read `path` as text, refusing anything but a regular UTF-8 file of at most
/// [`FILE_BYTES_MAX`] bytes. The error is a sentence that names the file.
pub fn read_text(path: &Path) -> Result<String, String> {
    read_text_limited(path, FILE_BYTES_MAX)
}

/// [`read_text`] with another size limit (tests use a small one).
pub fn read_text_limited(path: &Path, limit: u64) -> Result<String, String> {
    let shown = path.display();
    // `metadata` follows symbolic links, so a link to a regular file is read and a link to a
    // FIFO or a device is refused like the thing itself.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a pipe, a socket or a device)"
        };
        return Err(format!("cannot read {shown}: it is {what}"));
    }
    if meta.len() > limit {
        return Err(too_big(path, limit));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(path, limit));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read {shown}: it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn too_big(path: &Path, limit: u64) -> String {
    format!(
        "cannot read {}: it is larger than {} MB, the most a layout file may be",
        path.display(),
        limit / (1024 * 1024)
    )
}

/// Read and parse a layout file; the error names the file and, for a syntax error, the
/// `line:column` editors jump to.
pub fn load(path: &Path) -> Result<Layout, String> {
    let text = read_text(path)?;
    layout::from_ron(&text).map_err(|e| match e {
        layout::LoadError::Syntax { .. } => format!("{}:{e}", path.display()),
        _ => format!("{}: {e}", path.display()),
    })
}

/// Read and parse a lesson file (`*.lesson.ron`), with the same limits and the same positioned
/// syntax errors as a layout file.
pub fn load_lesson(path: &Path) -> Result<crate::lesson::Lesson, String> {
    let text = read_text(path)?;
    crate::lesson::from_ron(&text).map_err(|e| match e {
        crate::lesson::LessonError::Load(layout::LoadError::Syntax { .. }) => {
            format!("{}:{e}", path.display())
        }
        _ => format!("{}: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("tierlab-read-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::create_dir_all(&d);
        d
    }

    #[test]
    fn a_file_over_the_limit_is_refused_by_its_size() {
        let dir = temp_dir("big");
        let path = dir.join("big.ron");
        let _ = std::fs::write(&path, "(nodes: [])          ");
        let err = read_text_limited(&path, 10).err().unwrap_or_default();
        assert!(err.contains("larger than"), "{err}");
        assert_eq!(read_text_limited(&path, 100).map(|t| t.len()), Ok(21));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = temp_dir("dir");
        let err = read_text(&dir).err().unwrap_or_default();
        assert!(err.contains("a directory"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
