//! The request stepper in the window, driven by pointer and key events only: send a request
//! from a client's menu or the stepper's panel, and walk it with the arrow keys.

use eframe::egui::{Key, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tierlab::app::TierlabApp;

use crate::window::{click_at, click_with, frames};

/// Where a node is on the canvas (looked up while its name is on screen only once).
fn node_centre(h: &Harness<'_, TierlabApp>, name: &str) -> Pos2 {
    h.get_by_label(name).rect().center()
}

/// The text of the one label starting with `start` (a label and its text run both carry
/// it, so the same text may be found twice).
fn text(h: &Harness<'_, TierlabApp>, start: &str) -> String {
    let mut found: Vec<String> = h
        .query_all_by(|n| {
            let text = n.label().filter(|l| !l.is_empty()).or_else(|| n.value());
            text.is_some_and(|t| t.starts_with(start))
        })
        .filter_map(|n| {
            let n = n.accesskit_node();
            n.label().filter(|l| !l.is_empty()).or_else(|| n.value())
        })
        .collect();
    // A wrapped label's first line is a text run of its own: keep the whole label.
    found.sort_by_key(String::len);
    let Some(whole) = found.pop() else {
        panic!("no label starts with {start:?}");
    };
    assert!(
        found.iter().all(|f| whole.starts_with(f.as_str())),
        "one label starting with {start:?}: {whole:?} and {found:?}"
    );
    whole
}

/// "3/11" as (3, 11).
fn fraction(text: &str) -> Option<(usize, usize)> {
    let (a, b) = text.split_once('/')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The step counter "k/n" of the walk shown.
fn counter(h: &Harness<'_, TierlabApp>) -> (usize, usize) {
    // A label and its text run both carry the text: the same counter twice.
    let mut found: Vec<(usize, usize)> = h
        .query_all_by(|n| {
            let text = n.label().filter(|l| !l.is_empty()).or_else(|| n.value());
            text.is_some_and(|t| fraction(&t).is_some())
        })
        .filter_map(|n| {
            let n = n.accesskit_node();
            fraction(&n.label().filter(|l| !l.is_empty()).or_else(|| n.value())?)
        })
        .collect();
    found.dedup();
    assert_eq!(found.len(), 1, "one step counter on screen: {found:?}");
    found[0]
}

/// Right-click `node` on the canvas and choose `item` from its menu.
fn menu(h: &mut Harness<'_, TierlabApp>, node: Pos2, item: &str) {
    click_with(h, node, PointerButton::Secondary);
    let at = h.get_by_label(item).rect().center();
    click_at(h, at);
}

/// Walk the shown walk to its end with Right, checking each press moves one step and each
/// step has its own sentence; then Left goes back one. Returns the sentences.
fn walk_to_the_end(h: &mut Harness<'_, TierlabApp>, label: &str) -> Vec<String> {
    let (first, n) = counter(h);
    assert_eq!(first, 1, "a new walk starts at its first step");
    let mut sentences = vec![text(h, &format!("{label}: "))];
    for k in 2..=n {
        h.key_press(Key::ArrowRight);
        frames(h, 2);
        assert_eq!(counter(h), (k, n));
        sentences.push(text(h, &format!("{label}: ")));
    }
    // At the end, Right stays; Left goes back one.
    h.key_press(Key::ArrowRight);
    frames(h, 2);
    assert_eq!(counter(h), (n, n));
    h.key_press(Key::ArrowLeft);
    frames(h, 2);
    assert_eq!(counter(h), (n - 1, n));
    sentences
}

/// "Walk 2: GET /u/7: 7 steps, 11.92 ms, served …" -> (7, 11.92, "served …").
fn summary(h: &Harness<'_, TierlabApp>, walk: usize) -> (usize, f64, String) {
    let line = text(h, &format!("Walk {walk}: "));
    let rest = line.splitn(3, ": ").nth(2).unwrap_or_default().to_string();
    let mut parts = rest.splitn(3, ", ");
    let steps = parts
        .next()
        .and_then(|s| s.strip_suffix(" steps"))
        .and_then(|s| s.parse().ok());
    let ms = parts
        .next()
        .and_then(|s| s.strip_suffix(" ms"))
        .and_then(|s| s.parse().ok());
    match (steps, ms) {
        (Some(s), Some(m)) => (s, m, parts.next().unwrap_or_default().to_string()),
        _ => panic!("no walk summary in {line:?}"),
    }
}

#[test]
fn in_request_flow_the_second_get_is_served_from_the_warm_cache_in_fewer_steps_and_less_time() {
    // The lesson opens paused at t = 0, the cache cold.
    let mut h = crate::window::open("stepper", None, 20);
    assert!(h.state().sim().is_none());
    let client = node_centre(&h, "client");
    menu(&mut h, client, "Send request");
    h.run();
    let first = walk_to_the_end(&mut h, "GET /u/7");
    let (steps1, ms1, end1) = summary(&h, 1);
    assert_eq!(steps1, first.len());
    assert!(
        end1.contains("db"),
        "the first read is answered by the database: {end1}"
    );
    assert!(first.iter().any(|s| s.contains("a miss")), "{first:#?}");
    assert!(first.iter().any(|s| s.contains("into cache")), "{first:#?}");
    assert!(
        first[1].contains("round-robin") && first[1].contains("any one of them"),
        "the balancer's pick and why: {:?}",
        first[1]
    );
    // Sent again from the stepper's own button, still paused.
    assert!(!h.state().is_playing());
    let send = h.get_by_label("Send request").rect().center();
    click_at(&mut h, send);
    h.run();
    let second = walk_to_the_end(&mut h, "GET /u/7");
    let (steps2, ms2, end2) = summary(&h, 2);
    assert_eq!(steps2, second.len());
    assert!(
        end2.contains("cache"),
        "the second read is a cache hit: {end2}"
    );
    assert!(second.iter().any(|s| s.contains("a hit")), "{second:#?}");
    assert!(
        !second.iter().any(|s| s.contains("asks the database")),
        "{second:#?}"
    );
    assert!(steps2 < steps1, "warm {steps2} steps, cold {steps1}");
    // The database wire (0.5 ms each way) and its read are saved at least.
    assert!(ms2 + 1.0 <= ms1, "warm {ms2} ms, cold {ms1} ms");
    // The facts beside the step say how many keys the cache holds.
    assert!(h.query_by_label_contains("cached keys = ").is_some());
}

#[test]
fn a_request_sent_while_running_is_walked_when_its_answer_arrives() {
    let mut h = crate::window::open("stepper-live", None, 20);
    let client = node_centre(&h, "client");
    h.key_press(Key::Space);
    frames(&mut h, 10);
    assert!(h.state().is_playing());
    menu(&mut h, client, "Send request");
    frames(&mut h, 5);
    assert!(h.state().is_playing(), "sending does not pause the run");
    let sentences = walk_to_the_end(&mut h, "GET /u/7");
    assert!(sentences.len() >= 7, "{sentences:#?}");
    assert!(sentences[0].starts_with("GET /u/7: client sends GET /u/7 to lb"));
    assert!(
        sentences.last().is_some_and(|s| s.contains("done")) || {
            // Right then Left left us one before the end.
            sentences
                .iter()
                .any(|s| s.contains("returns the answer to client"))
        }
    );
}

#[test]
fn a_request_sent_to_a_killed_server_walks_to_its_failure_and_names_it() {
    let mut h = crate::window::open("stepper-kill", None, 20);
    let (client, app) = (node_centre(&h, "client"), node_centre(&h, "app"));
    menu(&mut h, app, "Kill");
    menu(&mut h, client, "Send request");
    h.run();
    let sentences = walk_to_the_end(&mut h, "GET /u/7");
    let (_, _, ending) = summary(&h, 1);
    assert!(
        ending.contains("failed at app[") && ending.contains("down"),
        "{ending}"
    );
    assert!(
        sentences
            .iter()
            .any(|s| s.contains("app[") && s.contains("the node is down")),
        "{sentences:#?}"
    );
}

/// A lesson's or a script's `send_request` step is walked like a request sent from the panel:
/// the stepper opens on it when it is sent, and its walk tells the same story.
#[test]
fn a_scripted_send_request_is_walked_too() {
    let text = tierlab::shipped::find("request-flow.ron")
        .unwrap_or_else(|| panic!("request-flow.ron is shipped"))
        .replace(
            "    goals: [",
            "    script: [(at_s: 0.5, command: send_request(client: 0, read: false, key: 9))],\n    goals: [",
        );
    let layout = crate::check::parse(&text);
    assert_eq!(layout.script.len(), 1, "the script holds the send");
    let mut h = crate::window::open("stepper-scripted", Some(layout), 20);
    assert!(
        h.query_by_label_contains("PUT /u/9").is_none(),
        "nothing sent yet"
    );
    h.key_press(Key::Space);
    // Play until the run has passed 0.5 s and the request has its answer.
    for _ in 0..200 {
        frames(&mut h, 5);
        if h.state().sim().is_some_and(|s| s.now_ns() > 600_000_000) {
            break;
        }
    }
    h.key_press(Key::Space);
    h.run();
    let sentences = walk_to_the_end(&mut h, "PUT /u/9");
    assert!(
        sentences.iter().any(|s| s.contains("db")),
        "a write reaches the database: {sentences:#?}"
    );
}
