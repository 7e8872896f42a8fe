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
                // The file's text reaches a terminal here: names and messages are shown with
                // control characters and bidirectional overrides escaped, and cut short.
                write!(f, "{line}:{column}: ")?;
                if let Some(node) = node {
                    write!(f, "in node {}: ", super::input::shown(node))?;
                }
                write!(f, "{}", super::input::escaped(message, 400))
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
            node: enclosing_node_name(text, line, column),
            message: e.code.to_string(),
        }
    })?;
    upgrade(&mut layout);
    Ok(layout)
}

/// Parse another file type (a lesson) with the same RON options and the same positioned
/// syntax errors as a layout.
pub fn parse_ron<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    options().from_str(text).map_err(|e| {
        let line = e.span.start.line;
        let column = e.span.start.col;
        LoadError::Syntax {
            line,
            column,
            node: None,
            message: e.code.to_string(),
        }
    })
}

/// Bring a layout read inside another file (a lesson's inline layout) up to the current
/// format version, as `from_ron` does.
pub fn upgrade_layout(layout: &mut Layout) {
    upgrade(layout);
}

/// Bring an older layout up to [`FORMAT_VERSION`]. Versions 2 and 3 only added command variants,
/// so an older layout needs no conversion; each later version adds its step here.
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

/// The name of the node in the top-level `nodes` list whose text contains the position
/// (`line` and `column` 1-based, as RON reports them), or `None` when the position is in no
/// node: before the list, in another section, between nodes. Read from the structure (brackets,
/// strings and comments skipped), so neither the layout's own `name` nor a string holding
/// `name: "…"` is taken for a node's.
fn enclosing_node_name(text: &str, line: usize, column: usize) -> Option<String> {
    let offset = offset_of(text, line, column);
    #[derive(Clone, Copy, PartialEq)]
    enum Frame {
        Top,
        Nodes,
        /// A node of the list, from this token on.
        Node(usize),
        Other,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut key: Option<&str> = None;
    let tokens: Vec<(usize, Token)> = tokens(text).collect();
    for (i, &(at, token)) in tokens.iter().enumerate() {
        if at >= offset {
            break;
        }
        match token {
            Token::Open(c) => {
                let frame = match (stack.last(), c) {
                    (None, '(') => Frame::Top,
                    (Some(Frame::Top), '[') if key == Some("nodes") => Frame::Nodes,
                    (Some(Frame::Nodes), '(') => Frame::Node(i),
                    _ => Frame::Other,
                };
                stack.push(frame);
                key = None;
            }
            Token::Close => {
                stack.pop();
            }
            Token::Ident(word) => key = Some(word),
            Token::Colon => {}
            _ => key = None,
        }
    }
    let start = stack.iter().find_map(|f| match f {
        Frame::Node(start) => Some(*start),
        _ => None,
    })?;
    // The node's own `name: "…"`, at its first level, before or after the position.
    let mut depth = 0usize;
    let mut key: Option<&str> = None;
    for &(_, token) in &tokens[start..] {
        match token {
            Token::Open(_) => depth += 1,
            Token::Close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Ident(word) => key = Some(word),
            Token::Colon => {}
            Token::Str(quoted) if depth == 1 && key == Some("name") => {
                return ron::from_str::<String>(quoted).ok();
            }
            _ => key = None,
        }
    }
    None
}

/// The byte offset of a 1-based line and column (in characters).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut at = 0;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            return at
                + l.char_indices()
                    .nth(column.saturating_sub(1))
                    .map_or(l.len(), |(i, _)| i);
        }
        at += l.len();
    }
    text.len()
}

/// Whether a raw string (`r"…"`, `r#"…"#`) starts at `i`, not a raw identifier (`r#name`).
fn raw_string_at(bytes: &[u8], i: usize) -> bool {
    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
    bytes.get(i + 1 + hashes) == Some(&b'"')
}

/// A token of RON text, as far as the structure goes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Token<'a> {
    Open(char),
    Close,
    Ident(&'a str),
    Colon,
    /// A string literal, quotes included (raw or not).
    Str(&'a str),
    /// Anything else: numbers, commas, characters.
    Other,
}

/// The structural tokens of `text` with their byte offsets; comments and whitespace skipped.
/// Never fails: text that is not RON still yields tokens (the parser reports the error).
fn tokens(text: &str) -> impl Iterator<Item = (usize, Token<'_>)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        loop {
            let c = *bytes.get(i)?;
            let start = i;
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    // Block comments nest in RON.
                    let mut depth = 0usize;
                    while i < bytes.len() {
                        if bytes[i..].starts_with(b"/*") {
                            depth += 1;
                            i += 2;
                        } else if bytes[i..].starts_with(b"*/") {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        } else {
                            i += 1;
                        }
                    }
                }
                b'(' | b'[' | b'{' => {
                    i += 1;
                    return Some((start, Token::Open(c as char)));
                }
                b')' | b']' | b'}' => {
                    i += 1;
                    return Some((start, Token::Close));
                }
                b':' => {
                    i += 1;
                    return Some((start, Token::Colon));
                }
                b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 1).min(bytes.len());
                    return Some((start, Token::Str(&text[start..i])));
                }
                b'r' if raw_string_at(bytes, i) => {
                    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                    let close = format!("\"{}", "#".repeat(hashes));
                    let open = i + 1 + hashes + 1;
                    i = text
                        .get(open..)
                        .and_then(|rest| rest.find(&close))
                        .map_or(bytes.len(), |n| open + n + close.len());
                    return Some((start, Token::Str(&text[start..i])));
                }
                b'\'' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'\'' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 1).min(bytes.len());
                    return Some((start, Token::Other));
                }
                c if c == b'_' || c.is_ascii_alphabetic() => {
                    while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric())
                    {
                        i += 1;
                    }
                    return Some((start, Token::Ident(&text[start..i])));
                }
                _ => {
                    // One character (a multi-byte one whole), so offsets stay on boundaries.
                    i += text[i..].chars().next().map_or(1, char::len_utf8);
                    return Some((start, Token::Other));
                }
            }
        }
    })
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
    fn a_top_level_error_blames_no_node_not_even_the_layouts_name() {
        // Before: "3:8: in node \"My layout\": …", the layout's own name taken for a node's.
        let text = "(\n name: \"My layout\",\n seed: -1,\n nodes: [(id: 1, name: \"db\", kind: database())],\n)";
        let err = from_ron(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("3:"), "{err}");
        assert!(!err.contains("in node"), "{err}");
    }

    #[test]
    fn the_node_is_found_by_structure_not_by_text_that_looks_like_a_name() {
        // The second node's error, on a line of its own, after a string holding `name: "…"`
        // and with a comment in between: blamed on "app", which holds the error.
        let text = "(\n description: \"name: \\\"fake\\\"\",\n nodes: [\n  (id: 1, name: \"db\", kind: database()),\n  (id: 2, /* name: \"no\" */ kind: app_server(\n    workers: \"db\"),\n   name: \"app\"),\n ],\n)";
        let err = from_ron(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("6:"), "{err}");
        assert!(err.contains("in node \"app\""), "{err}");
        // Between nodes, in no node.
        let text = "(nodes: [(id: 1, name: \"db\", kind: database()) (id: 2)])";
        let err = from_ron(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!err.contains("in node"), "{err}");
    }

    #[test]
    fn a_name_in_a_syntax_error_is_escaped() {
        // Before: the escape sequence went to the terminal with the message.
        let text = "(nodes: [(id: 1, name: \"d\u{1b}[2Jb\", kind: database(workerz: 1))])";
        let err = from_ron(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("in node \"d\\u{1b}[2Jb\""), "{err}");
        assert!(!err.contains('\u{1b}'), "{err}");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let layout = from_ron("\u{feff}(nodes: [(id: 1, name: \"db\", kind: database())])");
        assert_eq!(layout.map(|l| l.nodes.len()), Ok(1));
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
