//! What a file may hold at all, checked before anything else: how many nodes, wires and
//! scripted commands; names of bounded length that are safe to print; finite, bounded numbers
//! where the parameter table does not already say so (positions, goals).
//!
//! A layout that breaks one of these rules gets only these problems from `check`, at once: the
//! other checks would cost time in proportion to an oversized file, or print a name that can
//! move a terminal's cursor. The limits are documented in README ("Input limits").

use super::check::{Problem, Severity};
use super::node::NodeKind;
use super::{Command, Layout, Node, NodeId, Pos};

/// The most nodes a layout may have (the largest shipped layout has 12).
pub const NODES_MAX: usize = 10_000;
/// The most wires a layout may have.
pub const WIRES_MAX: usize = 100_000;
/// The most scripted commands a layout may have.
pub const SCRIPT_MAX: usize = 100_000;
/// The most entries of every other list: replication links, goals, a client's paths, a
/// balancer's path rules.
pub const LIST_MAX: usize = 10_000;
/// The longest name, in characters: a node's name, the layout's name, a path, a prefix, a
/// parameter name in `set_param`.
pub const NAME_CHARS_MAX: usize = 200;
/// The longest description, in characters (it may hold line breaks).
pub const DESCRIPTION_CHARS_MAX: usize = 4_000;
/// The largest canvas coordinate, either sign: far beyond any screen, small enough that the
/// canvas's arithmetic in `f32` stays exact to a pixel.
pub const POS_MAX: f32 = 1_000_000.0;
/// The largest goal value, either sign.
pub const GOAL_MAX: f64 = 1e12;

/// Every breach of an input rule. `Err`: the layout is refused at once with these problems
/// alone (a count over its limit, which comes first and alone; a name too long or unsafe to
/// print, which other messages would echo). `Ok`: problems to list first, with the others
/// (numbers out of bounds).
pub fn problems(layout: &Layout) -> Result<Vec<Problem>, Vec<Problem>> {
    let over = list_problems(layout);
    if !over.is_empty() {
        return Err(over);
    }
    let unsafe_text = text_problems_all(layout);
    if !unsafe_text.is_empty() {
        return Err(unsafe_text);
    }
    Ok(number_problems(layout))
}

/// Every text the file holds: names, paths, prefixes, parameter names.
fn text_problems_all(layout: &Layout) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut refuse = |node: Option<NodeId>, place: String, message: String| {
        out.push(Problem {
            severity: Severity::Error,
            node,
            place,
            message,
        })
    };
    text_problems(
        "layout name",
        &layout.name,
        NAME_CHARS_MAX,
        false,
        &mut refuse,
    );
    text_problems(
        "layout description",
        &layout.description,
        DESCRIPTION_CHARS_MAX,
        true,
        &mut refuse,
    );
    for n in &layout.nodes {
        node_problems(n, &format!("node #{}", n.id), &mut refuse);
    }
    for (i, s) in layout.script.iter().enumerate() {
        let place = format!("script entry {i}");
        match &s.command {
            Command::AddNode(n) | Command::RestoreNode { node: n, .. } => {
                node_problems(n, &place, &mut refuse)
            }
            Command::SetKind { kind, .. } => kind_problems(kind, &place, &mut refuse),
            Command::SetParam { param, .. } => {
                text_problems(&place, param, NAME_CHARS_MAX, false, &mut refuse)
            }
            _ => {}
        }
    }
    out
}

/// Numbers the parameter table does not cover: canvas positions and goal values.
fn number_problems(layout: &Layout) -> Vec<Problem> {
    let mut out = Vec::new();
    let scripted = layout.script.iter().filter_map(|s| match &s.command {
        Command::AddNode(n) | Command::RestoreNode { node: n, .. } => Some(n),
        _ => None,
    });
    for n in layout.nodes.iter().chain(scripted) {
        let Pos { x, y } = n.pos;
        if !(x.is_finite() && y.is_finite() && x.abs() <= POS_MAX && y.abs() <= POS_MAX) {
            out.push(Problem {
                severity: Severity::Error,
                node: Some(n.id),
                // The names passed `text_problems_all`, so they are safe to print.
                place: if n.name.is_empty() {
                    format!("node #{}", n.id)
                } else {
                    n.name.clone()
                },
                message: format!(
                    "pos = ({x}, {y}): each coordinate must be a number from -{POS_MAX} to \
                     {POS_MAX}"
                ),
            });
        }
    }
    for (i, g) in layout.goals.iter().enumerate() {
        for v in [g.at_most, g.at_least].into_iter().flatten() {
            if !(v.is_finite() && v.abs() <= GOAL_MAX) {
                out.push(Problem {
                    severity: Severity::Error,
                    node: None,
                    place: format!("goal {i} ({})", g.metric.name()),
                    message: format!(
                        "the goal's value must be a number from -{GOAL_MAX:e} to {GOAL_MAX:e}, \
                         not {v}"
                    ),
                });
            }
        }
    }
    out
}

/// The counts, at most one problem per list.
fn list_problems(layout: &Layout) -> Vec<Problem> {
    let lists = [
        ("nodes", layout.nodes.len(), NODES_MAX),
        ("wires", layout.wires.len(), WIRES_MAX),
        ("script", layout.script.len(), SCRIPT_MAX),
        ("replication", layout.replication.len(), LIST_MAX),
        ("goals", layout.goals.len(), LIST_MAX),
    ];
    lists
        .into_iter()
        .filter(|&(_, len, max)| len > max)
        .map(|(what, len, max)| Problem {
            severity: Severity::Error,
            node: None,
            place: what.into(),
            message: format!("the layout has {len} {what} entries; at most {max} are allowed"),
        })
        .collect()
}

/// A node's name and the strings its parameters hold. `place` never holds the
/// name, which may be what is wrong.
fn node_problems(n: &Node, place: &str, refuse: &mut impl FnMut(Option<NodeId>, String, String)) {
    let mut named = |p: String, m: String| refuse(Some(n.id), p, m);
    text_problems(place, &n.name, NAME_CHARS_MAX, false, &mut |_, p, m| {
        named(p, m)
    });
    kind_problems(&n.kind, place, &mut |_, p, m| named(p, m));
}

fn kind_problems(
    kind: &NodeKind,
    place: &str,
    refuse: &mut impl FnMut(Option<NodeId>, String, String),
) {
    let lists: Vec<(&str, Vec<&str>)> = match kind {
        NodeKind::Client(c) => vec![("paths", c.paths.iter().map(|p| p.path.as_str()).collect())],
        NodeKind::LoadBalancer(b) => vec![(
            "path_rules",
            b.path_rules.iter().map(|r| r.prefix.as_str()).collect(),
        )],
        _ => Vec::new(),
    };
    for (what, texts) in lists {
        if texts.len() > LIST_MAX {
            refuse(
                None,
                place.to_string(),
                format!(
                    "{what} has {} entries; at most {LIST_MAX} are allowed",
                    texts.len()
                ),
            );
            continue;
        }
        for t in texts {
            text_problems(
                &format!("{place}, {what}"),
                t,
                NAME_CHARS_MAX,
                false,
                refuse,
            );
        }
    }
}

/// A text a file holds: at most `max_chars` characters, none that acts on a terminal or
/// reorders what is shown (control characters, escape sequences, bidirectional overrides).
pub fn text_problems(
    place: &str,
    text: &str,
    max_chars: usize,
    line_breaks: bool,
    refuse: &mut impl FnMut(Option<NodeId>, String, String),
) {
    // Count no further than needed: a 10 MB name costs no more than a 201-character one.
    let chars = text.chars().take(max_chars + 1).count();
    if chars > max_chars {
        refuse(
            None,
            place.to_string(),
            format!(
                "the text starting {} is longer than {max_chars} characters",
                shown(text)
            ),
        );
        return;
    }
    if let Some(c) = text
        .chars()
        .find(|&c| unsafe_char(c) && !(line_breaks && (c == '\n' || c == '\t')))
    {
        refuse(
            None,
            place.to_string(),
            format!(
                "the text {} holds the character {}, which may not be in a name \
                 (control characters, escape sequences and bidirectional overrides are refused)",
                shown(text),
                c.escape_unicode()
            ),
        );
    }
}

/// Characters that act on a terminal or reorder text: C0 and C1 controls (ESC among them),
/// DEL, and the bidirectional marks, embeddings, overrides and isolates.
pub fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` safe to print: at most 40 characters, quoted, with every unsafe character, quote
/// and backslash escaped.
pub fn shown(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars().take(40) {
        if unsafe_char(c) || c == '"' || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    if text.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

/// `text` safe to print, unquoted: unsafe characters escaped, at most `max_chars` characters.
pub fn escaped(text: &str, max_chars: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max_chars)
        .flat_map(|c| {
            let escape = unsafe_char(c);
            c.escape_default()
                .filter(move |_| escape)
                .chain(Some(c).filter(|_| !escape))
        })
        .collect();
    if text.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// A layout at the node limit with nearly as many wires as allowed, every node reachable: a
/// client, a front balancer spreading over nine balancers, each of which spreads over the same
/// 9,988 app servers, which all call one database. README's input-limit figures and the test
/// that such a layout is accepted use it.
pub fn at_the_limits() -> Layout {
    use super::{KindTag, Wire};
    let mut l = Layout {
        name: "at the input limits".into(),
        ..Layout::default()
    };
    let add = |l: &mut Layout, name: String, tag: KindTag| {
        let id = l.allocate_id();
        let i = l.nodes.len();
        l.nodes.push(Node {
            id,
            name,
            pos: Pos {
                x: (i % 100) as f32 * 160.0,
                y: (i / 100) as f32 * 80.0,
            },
            kind: tag.default_kind(),
        });
        id
    };
    let client = add(&mut l, "users".into(), KindTag::Client);
    let front = add(&mut l, "front".into(), KindTag::LoadBalancer);
    let lbs: Vec<NodeId> = (1..10)
        .map(|i| add(&mut l, format!("lb-{i}"), KindTag::LoadBalancer))
        .collect();
    let apps: Vec<NodeId> = (0..NODES_MAX - 12)
        .map(|i| add(&mut l, format!("app-{i}"), KindTag::AppServer))
        .collect();
    let db = add(&mut l, "db".into(), KindTag::Database);
    l.wires.push(Wire::new(client, front, 1.0));
    for &lb in &lbs {
        l.wires.push(Wire::new(front, lb, 0.1));
        l.wires.extend(apps.iter().map(|&a| Wire::new(lb, a, 0.1)));
    }
    l.wires.extend(apps.iter().map(|&a| Wire::new(a, db, 0.2)));
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_text_escapes_what_acts_on_a_terminal() {
        assert_eq!(shown("a\u{1b}[2Jb"), "\"a\\u{1b}[2Jb\"");
        assert_eq!(shown("x\u{202E}y"), "\"x\\u{202e}y\"");
        assert_eq!(shown("plain"), "\"plain\"");
        assert_eq!(shown(&"z".repeat(50)), format!("\"{}\"…", "z".repeat(40)));
    }
}
