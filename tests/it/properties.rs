//! Property tests on untrusted input (issue 13): random bytes and near-valid layouts (shipped
//! files with random edits) never panic or hang the loader, `check` or a short run, and every
//! rejection is a message safe to print. Bounded to a few seconds; the long search is the
//! cargo-fuzz target in `fuzz/` (README, "Input limits").

use proptest::prelude::*;

use tierlab::layout::{self, input};
use tierlab::lesson;
use tierlab::sim::{Sim, SimConfig};

/// Load, check and, when `check` accepts, build and run 100 ms: what a user's file goes through.
fn goes_through(text: &str) -> Result<(), TestCaseError> {
    let layout = match layout::from_ron(text) {
        Ok(l) => l,
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(!msg.is_empty());
            prop_assert!(!msg.chars().any(input::unsafe_char), "{msg:?}");
            return Ok(());
        }
    };
    let problems = layout::check(&layout);
    for p in &problems {
        let msg = p.to_string();
        prop_assert!(!p.message.is_empty(), "{msg:?}");
        prop_assert!(!msg.chars().any(input::unsafe_char), "{msg:?}");
    }
    if problems
        .iter()
        .all(|p| p.severity != layout::Severity::Error)
    {
        match Sim::new(&layout, SimConfig::default()) {
            Ok(mut sim) => {
                sim.run_until_s(0.1);
                // What check accepted, the run takes: no scripted command is refused.
                prop_assert!(sim.notes().is_empty(), "{:?}", sim.notes());
            }
            Err(p) => prop_assert!(!p.is_empty()),
        }
    }
    Ok(())
}

/// Pieces a careless or hostile edit puts into a file.
const PIECES: &[&str] = &[
    "NaN",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e300",
    "4294967296",
    "18446744073709551616",
    "\"\"",
    "\"\\u{1b}[2J\"",
    "\"\\u{202e}\"",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "name:",
    "id: 0",
    "//",
    "/*",
    "\"",
    "r#\"",
    "kill(node: 0, member: 9)",
    "remove_node(0)",
    "flush(node: 1)",
    "add_node(id: 0, name: \"x\", kind: database())",
    "add_wire(from: 1, to: 0)",
    "remove_wire(from: 0, to: 1)",
    "set_wire(from: 1, to: 2, latency_ms: 3)",
    "set_replication(primary: 2, replica: 3, lag_ms: 9)",
    "restore_node(node: (id: 1, name: \"x\", kind: database()))",
    "pause(at_s: 1, caption: \"x\")",
    "predict(at_s: 1, question: \"q\", measure: busiest_node, choices: [0, 9], reveal_at_s: 2)",
    "apply(at_s: 0, command: kill(node: 0))",
    "shipped(\"nope.ron\")",
    "inline()",
    "reveal_at_s: -5",
    "\u{feff}",
    "\u{1b}",
    "é",
];

/// Load and check a lesson and, when `check` accepts, build its layout (with the steps in the
/// script) and run 100 ms: what a teacher's file goes through.
fn lesson_goes_through(text: &str) -> Result<(), TestCaseError> {
    let l = match lesson::from_ron(text) {
        Ok(l) => l,
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(!msg.is_empty());
            prop_assert!(!msg.chars().any(input::unsafe_char), "{msg:?}");
            return Ok(());
        }
    };
    let problems = lesson::check(&l);
    for p in &problems {
        let msg = p.to_string();
        prop_assert!(!p.message.is_empty(), "{msg:?}");
        prop_assert!(!msg.chars().any(input::unsafe_char), "{msg:?}");
    }
    if problems
        .iter()
        .all(|p| p.severity != layout::Severity::Error)
    {
        let layout = l.layout().map_err(TestCaseError::fail)?;
        match Sim::new(&layout, SimConfig::default()) {
            Ok(mut sim) => {
                sim.run_until_s(0.1);
                prop_assert!(sim.notes().is_empty(), "{:?}", sim.notes());
            }
            Err(p) => prop_assert!(!p.is_empty()),
        }
    }
    Ok(())
}

/// A shipped layout with up to four edits: a cut, a piece inserted, a stretch repeated.
fn near_valid() -> impl Strategy<Value = String> {
    let texts: Vec<&'static str> = tierlab::shipped::SHIPPED.iter().map(|(_, t)| *t).collect();
    edited(texts)
}

/// A shipped lesson with up to four edits, as above.
fn near_valid_lesson() -> impl Strategy<Value = String> {
    let texts: Vec<&'static str> = tierlab::shipped::LESSONS.iter().map(|(_, t)| *t).collect();
    edited(texts)
}

/// One of `texts` with up to four edits: a cut, a piece inserted, a stretch repeated.
fn edited(texts: Vec<&'static str>) -> impl Strategy<Value = String> {
    let edits = prop::collection::vec(
        (
            0..3u8,
            any::<prop::sample::Index>(),
            0..40usize,
            0..PIECES.len(),
        ),
        1..5,
    );
    (prop::sample::select(texts), edits).prop_map(|(original, edits)| {
        let mut text = original.to_string();
        for (kind, at, len, piece) in edits {
            let mut at = at.index(text.len().max(1));
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + len).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            match kind {
                0 => text.replace_range(at..end, ""),
                1 => text.insert_str(at, PIECES[piece]),
                _ => {
                    let stretch = text[at..end].to_string();
                    text.insert_str(at, &stretch);
                }
            }
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused_with_a_message(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        goes_through(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn near_valid_layouts_load_or_are_refused_with_a_message(text in near_valid()) {
        goes_through(&text)?;
    }

    #[test]
    fn random_bytes_are_refused_as_lessons_with_a_message(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        lesson_goes_through(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn near_valid_lessons_load_or_are_refused_with_a_message(text in near_valid_lesson()) {
        lesson_goes_through(&text)?;
    }
}
