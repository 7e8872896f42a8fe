//! The timeline under the plots, driven by pointer events (egui_kittest, headless): dragging it
//! back shows the summary and the canvas's figures as they were shown at that moment of the
//! run; an edit from there branches, and the original is kept beside the branch.

use std::collections::BTreeMap;

use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers, pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tierlab::app::TierlabApp;
use tierlab::layout::{self, Layout};

use crate::window::{frames, open, sim};

fn shipped(file: &str) -> Layout {
    layout::from_ron(tierlab::shipped::find(file).unwrap_or_else(|| panic!("{file} is shipped")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The text of the first label that starts with `name`, e.g. "failures 12 (3 %)".
fn shown(h: &Harness<'_, TierlabApp>, name: &str) -> String {
    h.query_all_by_label_contains(name)
        .filter_map(|node| {
            let a = node.accesskit_node();
            a.value().or_else(|| a.label())
        })
        .find(|text| text.starts_with(name))
        .unwrap_or_else(|| panic!("no label starts with {name:?}"))
}

/// What the summary shows: throughput, p99 and failures over the last seconds.
fn summary(h: &Harness<'_, TierlabApp>) -> String {
    ["rps ", "p99 ", "failures "]
        .map(|name| shown(h, name))
        .join(" | ")
}

/// Play replica-failover (its primary dies at 10 s) to 20 s, noting what the summary shows at
/// every frame, then pause.
fn played(ticks: u64) -> (Harness<'static, TierlabApp>, BTreeMap<u64, String>) {
    let mut h = open("rewind", Some(shipped("replica-failover.ron")), ticks);
    h.key_press_modifiers(Modifiers::NONE, Key::Space);
    let mut seen = BTreeMap::new();
    let mut guard = 0;
    while h.state().sim().is_none_or(|s| s.now_ns() < 20_000_000_000) {
        h.step();
        if let Some(s) = h.state().sim() {
            seen.insert(s.now_ns(), summary(&h));
        }
        guard += 1;
        assert!(guard < 2000, "the run does not advance");
    }
    h.key_press_modifiers(Modifiers::NONE, Key::Space);
    frames(&mut h, 2);
    assert!(!h.state().is_playing());
    (h, seen)
}

/// Drag the timeline's handle from its right end to `fraction` of its width.
fn drag_timeline(h: &mut Harness<'_, TierlabApp>, fraction: f32) {
    let rect = h.get_by_role_and_label(Role::Slider, "Timeline").rect();
    let y = rect.center().y;
    let from = pos2(rect.right() - 4.0, y);
    let to = pos2(rect.left() + fraction * rect.width(), y);
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    for k in 1..=5 {
        let x = from.x + (to.x - from.x) * k as f32 / 5.0;
        h.hover_at(pos2(x, y));
        h.step();
    }
    h.drop_at(to);
    frames(h, 3);
}

#[test]
fn dragging_the_timeline_back_shows_the_figures_of_that_moment() {
    // 0.1 s a frame: every 100 ms of the run was drawn once.
    let (mut h, seen) = played(100);
    let at_end = summary(&h);
    let end_ns = sim(&h).now_ns();

    drag_timeline(&mut h, 0.3);
    let t_ns = sim(&h).now_ns();
    assert!(
        t_ns > 2_000_000_000 && t_ns < 10_000_000_000,
        "dragged to {t_ns} ns"
    );
    assert!(!h.state().is_playing());
    // What the window shows now is what it showed when the run first passed that moment.
    let then = seen
        .get(&t_ns)
        .unwrap_or_else(|| panic!("no frame of the run was at {t_ns} ns"));
    assert_eq!(&summary(&h), then);
    assert_ne!(summary(&h), at_end, "the figures did not go back");
    assert!(
        shown(&h, "failures ").starts_with("failures 0 "),
        "before the primary died nothing failed: {}",
        shown(&h, "failures ")
    );
    h.get_by_label_contains(&format!("rewound from {:.1} s", end_ns as f64 / 1e9));

    // Play replays the original: back at the end, the same figures.
    h.key_press_modifiers(Modifiers::NONE, Key::Space);
    let mut guard = 0;
    while sim(&h).now_ns() < end_ns {
        h.step();
        guard += 1;
        assert!(guard < 2000, "the replay does not advance");
    }
    assert_eq!(sim(&h).now_ns(), end_ns);
    assert_eq!(summary(&h), at_end);
    h.step();
    assert!(h.query_by_label_contains("rewound from").is_none());
}

#[test]
fn an_edit_from_a_rewound_moment_branches_and_keeps_the_original_beside_it() {
    let (mut h, _) = played(100);
    drag_timeline(&mut h, 0.3);
    let t_ns = sim(&h).now_ns();
    // Kill the primary from its menu before the script would: a change from the rewound
    // moment (a fault is an edit to the run like any other).
    let primary = h
        .get_by_role_and_label(Role::Button, "primary")
        .rect()
        .center();
    crate::window::click_with(&mut h, primary, eframe::egui::PointerButton::Secondary);
    h.get_by_label("Kill").click();
    frames(&mut h, 3);
    h.get_by_label_contains(&format!("Branched at {:.1} s", t_ns as f64 / 1e9));
    assert!(h.query_by_label_contains("rewound from").is_none());
    h.get_by_label_contains("original (dashed)");
    assert_eq!(sim(&h).now_ns(), t_ns);
    // The branch's primary is down from t on; the original's is up until 10 s.
    let primary_alive = |m: &tierlab::sim::Metrics| crate::check::node_named(m, "primary").alive;
    assert!(!primary_alive(&sim(&h).metrics()));

    // Played on, the branch fails writes at once, the original only after 10 s.
    h.key_press_modifiers(Modifiers::NONE, Key::Space);
    frames(&mut h, 20);
    h.key_press_modifiers(Modifiers::NONE, Key::Space);
    frames(&mut h, 2);
    let now = sim(&h).now_ns();
    assert!(now < 10_000_000_000, "{now}");
    let failed = sim(&h).counts().failed;
    assert!(failed > 0, "the branch failed nothing");
    // The comparison row: "failures <original> -> <branch>" over the last seconds.
    let compare = h
        .query_all_by_label_contains(" -> ")
        .filter_map(|n| n.accesskit_node().value())
        .find(|text| text.starts_with("failures "))
        .unwrap_or_else(|| panic!("no comparison of failures"));
    let counts: Vec<u64> = compare
        .trim_start_matches("failures ")
        .split(" -> ")
        .map(|n| {
            n.replace(',', "")
                .parse()
                .unwrap_or_else(|e| panic!("{compare}: {e}"))
        })
        .collect();
    assert!(
        counts.len() == 2 && counts[1] > 10 * counts[0].max(1),
        "the branch should fail far more than the original: {compare}"
    );
}
