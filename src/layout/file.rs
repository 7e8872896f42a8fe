//! RON text to [`Layout`] and back. No file system here: `cli` and `app` read and write files.
//!
//! Files are parsed with two RON extensions on by default, so hand-written files stay short:
//! `unwrap_variant_newtypes` (write `client(qps: 100)`, not `client((qps: 100))`) and
//! `implicit_some` (write `member: 2`, not `member: Some(2)`).

use ron::extensions::Extensions;
use serde::Deserialize;

use super::{FORMAT_VERSION, Layout};

/// Why a layout could not be loaded.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadError {
    /// The text is not a valid layout: where and what.
    Syntax {
        line: usize,
        column: usize,
        /// The node the position falls inside, when there is one.
        node: Option<String>,
        message: String,
    },
    /// The file was written by a newer Tierlab.
    TooNew { found: u32, supported: u32 },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Syntax {
                line,
                column,
                node,
                message,
            } => {
                write!(f, "{line}:{column}: ")?;
                if let Some(node) = node {
                    write!(f, "in node \"{node}\": ")?;
                }
                write!(f, "{message}")
            }
            LoadError::TooNew { found, supported } => write!(
                f,
                "the file has format version {found}, but this Tierlab reads versions up to \
                 {supported}: update Tierlab to open it"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

fn options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES)
        .with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Only the version, read first so a newer file gets a clear message instead of a field error.
#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default = "one")]
    version: u32,
}

fn one() -> u32 {
    1
}

/// Parse a layout from RON text, upgrading older format versions.
pub fn from_ron(text: &str) -> Result<Layout, LoadError> {
    // Some editors on Windows start UTF-8 files with a byte order mark; it is not text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Tolerant first pass: ignore everything but `version`. If even this fails, the full parse
    // below reports the precise syntax error.
    if let Ok(v) = ron::Options::default()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES)
        .with_default_extension(Extensions::IMPLICIT_SOME)
        .from_str::<IgnoreRest>(text)
        && v.0.version > FORMAT_VERSION
    {
        return Err(LoadError::TooNew {
            found: v.0.version,
            supported: FORMAT_VERSION,
        });
    }
    let mut layout: Layout = options().from_str(text).map_err(|e| {
        let line = e.span.start.line;
        let column = e.span.start.col;
        LoadError::Syntax {
            line,
            column,
            node: enclosing_node_name(text, line),
            message: e.code.to_string(),
        }
    })?;
    upgrade(&mut layout);
    Ok(layout)
}

/// Bring an older layout up to [`FORMAT_VERSION`]. Version 2 only added command variants, so
/// a version-1 layout needs no conversion; each later version adds its step here.
fn upgrade(layout: &mut Layout) {
    layout.version = FORMAT_VERSION;
    let max_used = layout.nodes.iter().map(|n| n.id.0 + 1).max().unwrap_or(0);
    layout.next_id = layout.next_id.max(max_used);
}

/// Write a layout as pretty RON text that `from_ron` reads back to an equal layout.
pub fn to_ron(layout: &Layout) -> String {
    let config = ron::ser::PrettyConfig::new()
        .struct_names(false)
        .indentor("    ")
        .separate_tuple_members(false)
        .enumerate_arrays(false);
    match options().to_string_pretty(layout, config) {
        Ok(text) => text + "\n",
        // Serialising plain data to a String cannot fail; keep the data anyway.
        Err(e) => format!("// could not write layout: {e}\n"),
    }
}

/// The name of the node whose text contains `line` (1-based): the nearest `name: "..."` at or
/// above it, stopping at the start of a node (`(id:`) so a neighbour's name is not blamed.
fn enclosing_node_name(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let last = line.min(lines.len());
    // Look at the line itself first, then upwards until the node's opening.
    for l in lines[..last].iter().rev() {
        if let Some(name) = quoted_after(l, "name:") {
            return Some(name);
        }
        if l.contains("(id:") || l.trim_start().starts_with("nodes:") {
            break;
        }
        // Past the end of the node list: the error is in another section, not in a node.
        if SECTIONS.iter().any(|s| l.trim_start().starts_with(s)) {
            return None;
        }
    }
    // The name may also follow the error on the node's own lines.
    for l in lines.iter().skip(last).take(8) {
        if l.contains("(id:") {
            break;
        }
        if let Some(name) = quoted_after(l, "name:") {
            return Some(name);
        }
    }
    None
}

/// The top-level sections after `nodes`: an error inside one of them is in no node.
const SECTIONS: [&str; 4] = ["wires:", "goals:", "script:", "replication:"];

fn quoted_after(line: &str, key: &str) -> Option<String> {
    let rest = &line[line.find(key)? + key.len()..];
    let start = rest.find('"')? + 1;
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_string())
}

/// Deserialises a layout's version and ignores every other field.
struct IgnoreRest(VersionOnly);

impl<'de> Deserialize<'de> for IgnoreRest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        VersionOnly::deserialize(d).map(IgnoreRest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_hand_written_file_takes_defaults() {
        let text = r#"(
            nodes: [
                (id: 1, name: "users", kind: client(qps: 50)),
                (id: 2, name: "app", kind: app_server(count: 3)),
            ],
            wires: [(from: 1, to: 2)],
        )"#;
        let layout = from_ron(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(layout.nodes.len(), 2);
        assert_eq!(layout.tick_ms, 1.0);
        assert_eq!(layout.nodes[1].kind.count(), 3);
        assert_eq!(layout.next_id, 3);
    }

    #[test]
    fn round_trip_is_equal() {
        let text = r#"(name: "x", seed: 9, nodes: [(id: 4, name: "db", pos: (x: 1, y: 2), kind: database(workers: 2))],
            script: [(at_s: 1.5, command: kill(node: 4, member: 0))])"#;
        let a = from_ron(text).unwrap_or_else(|e| panic!("{e}"));
        let b = from_ron(&to_ron(&a)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, b);
    }

    #[test]
    fn errors_name_line_column_and_node() {
        let text = "(\n nodes: [\n  (id: 1, name: \"db\",\n   kind: database(workerz: 2)),\n ],\n)";
        let err = from_ron(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("4:"), "{err}");
        assert!(err.contains("\"db\""), "{err}");
        assert!(err.contains("workerz"), "{err}");
    }

    #[test]
    fn an_error_in_the_script_blames_no_node() {
        let text = "(\n nodes: [\n  (id: 1, name: \"db\", kind: database()),\n ],\n script: [\n  (at_s: 1, command: explode(node: 1)),\n ],\n)";
        let err = from_ron(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("6:"), "{err}");
        assert!(!err.contains("in node"), "{err}");
    }

    #[test]
    fn newer_version_is_refused_clearly() {
        let err = from_ron("(version: 99, nodes: [(id: 1, name: \"a\", kind: warp_drive)])")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("version 99"), "{err}");
    }
}
