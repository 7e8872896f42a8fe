//! Edits reach a running core as they are made, and undo takes them back there too: a wire's
//! timeout and retries set in the inspector while the layout runs, and a node deleted while
//! running and brought back by undo under its own id. Driven by pointer and key events
//! (egui_kittest, headless); each playing frame runs a fixed number of ticks.

use eframe::egui::accesskit::Role;
use eframe::egui::{Event, Key, Modifiers, pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tierlab::app::TierlabApp;
use tierlab::layout::{Node, NodeId, Replication, Wire};
use tierlab::sim::{FailReason, Sim};

use crate::window::{click_at, frames, sim};

fn window(ticks: u64) -> Harness<'static, TierlabApp> {
    crate::window::open("edit-live", None, ticks)
}

fn key(h: &mut Harness<'_, TierlabApp>, modifiers: Modifiers, k: Key) {
    h.key_press_modifiers(modifiers, k);
    h.step();
    h.step();
}

/// Type `value` into the inspector's number called `name`: click it (which selects its text),
/// type, press Enter.
fn type_number(h: &mut Harness<'_, TierlabApp>, name: &str, value: &str) {
    let at = h
        .get_by_role_and_label(Role::SpinButton, name)
        .rect()
        .center();
    click_at(h, at);
    h.event(Event::Text(value.into()));
    h.step();
    key(h, Modifiers::NONE, Key::Enter);
}

fn wire(layout: &tierlab::layout::Layout, from: NodeId, to: NodeId) -> Wire {
    match layout.wires.iter().find(|w| w.from == from && w.to == to) {
        Some(w) => w.clone(),
        None => panic!("no wire {from} -> {to}"),
    }
}

fn timeouts(sim: &Sim) -> u64 {
    sim.metrics()
        .failures
        .iter()
        .filter(|(r, _)| *r == FailReason::Timeout)
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn a_wire_timeout_and_retries_set_while_running_apply_at_once_and_undo_takes_them_back() {
    let mut h = window(20);
    let (app, db) = (NodeId(2), NodeId(3));
    // Select the wire app -> db: click the middle of its curve (port to port).
    let (a, d) = (h.get_by_label("app").rect(), h.get_by_label("db").rect());
    let middle = pos2(
        (a.right() + d.left()) / 2.0,
        (a.center().y + d.center().y) / 2.0,
    );
    click_at(&mut h, middle);
    assert!(
        h.query_by_role_and_label(Role::SpinButton, "Timeout")
            .is_some(),
        "the inspector shows the wire's timeout"
    );
    h.get_by_label("Play").click();
    frames(&mut h, 20);
    // The layout has no timeouts and no retries anywhere: none so far.
    assert_eq!((sim(&h).metrics().retries, timeouts(sim(&h))), (0, 0));

    // A database read takes 2 ms on average plus 1 ms on the wire, so a 1 ms timeout cuts
    // most calls short, and each is retried twice.
    type_number(&mut h, "Timeout", "1");
    type_number(&mut h, "Retries", "2");
    let w = wire(h.state().layout(), app, db);
    assert_eq!((w.timeout_ms, w.retries), (1.0, 2));
    assert_eq!(
        wire(sim(&h).layout(), app, db),
        w,
        "the running core has the new settings"
    );
    assert!(h.query_by_label_contains("on Reset").is_none());
    let t0 = sim(&h).now_ns();
    frames(&mut h, 10);
    assert!(sim(&h).now_ns() > t0, "no reset: the run went on");
    let (retries, timed_out) = (sim(&h).metrics().retries, timeouts(sim(&h)));
    assert!(retries > 0, "the next calls were retried: {retries}");
    assert!(timed_out > 0, "and some timed out three times: {timed_out}");

    // Undo both: the running core is back to no timeout and no retries.
    h.remove_cursor();
    key(&mut h, Modifiers::COMMAND, Key::Z);
    key(&mut h, Modifiers::COMMAND, Key::Z);
    let w = wire(h.state().layout(), app, db);
    assert_eq!((w.timeout_ms, w.retries), (0.0, 0));
    assert_eq!(wire(sim(&h).layout(), app, db), w);
    // Retries already scheduled under the old setting finish within a few milliseconds.
    frames(&mut h, 5);
    let (r1, t1) = (sim(&h).metrics().retries, timeouts(sim(&h)));
    frames(&mut h, 20);
    assert_eq!(
        (sim(&h).metrics().retries, timeouts(sim(&h))),
        (r1, t1),
        "no retry and no timeout after the undo"
    );
}

/// Calls served by the instances of `node`.
fn served(sim: &Sim, node: NodeId) -> u64 {
    sim.metrics()
        .nodes
        .iter()
        .filter(|n| n.id.node == node)
        .map(|n| n.served)
        .sum()
}

#[test]
fn a_node_deleted_while_running_comes_back_under_its_id_on_undo_and_serves_again() {
    let mut h = window(20);
    let app = NodeId(2);
    let at = h.get_by_label("app").rect().center();
    h.get_by_label("Play").click();
    frames(&mut h, 20);
    let before = h.state().layout().clone();
    assert!(served(sim(&h), app) > 0);

    // Select the pool and delete it: the run goes on without it.
    click_at(&mut h, at);
    key(&mut h, Modifiers::NONE, Key::Delete);
    assert!(h.state().layout().node(app).is_none());
    assert!(sim(&h).layout().node(app).is_none(), "gone from the core");
    frames(&mut h, 10);
    let gone = served(sim(&h), app);
    frames(&mut h, 10);
    assert_eq!(served(sim(&h), app), gone, "a removed pool serves nothing");
    let t_gone = sim(&h).now_ns();

    // Undo: the pool is back under its own id, wires and all, in the running core.
    h.remove_cursor();
    key(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(h.state().layout(), &before);
    assert_eq!(sim(&h).layout().node(app), before.node(app));
    assert!(sim(&h).now_ns() >= t_gone, "no reset");
    frames(&mut h, 20);
    let again = served(sim(&h), app);
    assert!(
        again > gone,
        "the restored pool serves again: {gone} -> {again}"
    );
    assert!(h.query_by_label_contains("on Reset").is_none());
    // Its id is still its own: a new node gets a fresh one.
    let mut l = h.state().layout().clone();
    assert_eq!(l.allocate_id(), NodeId(5));
}

/// The new commands are part of the file format: a script holds them, `check` accepts them
/// and the core applies them at their times.
#[test]
fn scripts_hold_set_wire_set_replication_and_restore_node() {
    let text = r#"(
        version: 2,
        nodes: [
            (id: 0, name: "client", kind: client(qps: 1000)),
            (id: 1, name: "app", kind: app_server(count: 2)),
            (id: 2, name: "cache", kind: cache()),
            (id: 3, name: "db", kind: database(read_ms: 2.0, reads: replicas)),
            (id: 4, name: "replica", kind: database()),
        ],
        wires: [
            (from: 0, to: 1),
            (from: 1, to: 2, latency_ms: 0.3),
            (from: 1, to: 3, latency_ms: 0.5),
        ],
        replication: [(primary: 3, replica: 4, lag_ms: 1)],
        script: [
            (at_s: 1, command: set_wire(from: 1, to: 3, latency_ms: 0.5, timeout_ms: 1, retries: 2)),
            (at_s: 1, command: set_replication(primary: 3, replica: 4, mode: sync, lag_ms: 50)),
            (at_s: 1, command: remove_node(2)),
            (at_s: 2, command: restore_node(node: (id: 2, name: "cache", kind: cache()),
                at: 2, wires: [(1, (from: 1, to: 2, latency_ms: 0.3))])),
        ],
    )"#;
    let layout = match tierlab::layout::from_ron(text) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let errors: Vec<String> = tierlab::layout::check(&layout)
        .iter()
        .filter(|p| p.severity == tierlab::layout::Severity::Error)
        .map(|p| p.to_string())
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    let mut sim = match Sim::new(&layout, Default::default()) {
        Ok(s) => s,
        Err(p) => panic!("{p:?}"),
    };
    let ticks_per_s = 1_000_000_000 / sim.tick_ns();
    for _ in 0..ticks_per_s * 3 / 2 {
        sim.tick();
    }
    assert_eq!(sim.notes(), &[] as &[String], "nothing refused");
    assert!(sim.metrics().retries > 0, "the wire's new retries are used");
    assert!(sim.layout().node(NodeId(2)).is_none());
    let cache_before = served(&sim, NodeId(2));
    for _ in 0..ticks_per_s * 2 {
        sim.tick();
    }
    assert!(sim.notes().is_empty(), "{:?}", sim.notes());
    assert_eq!(
        sim.layout().nodes,
        layout.nodes,
        "the cache is back in its place"
    );
    assert_eq!(
        sim.layout()
            .wires
            .iter()
            .map(|w| (w.from, w.to))
            .collect::<Vec<_>>(),
        layout
            .wires
            .iter()
            .map(|w| (w.from, w.to))
            .collect::<Vec<_>>(),
        "with its wire in its place"
    );
    assert!(
        served(&sim, NodeId(2)) > cache_before,
        "and it serves again"
    );
    // A restore of an id never handed out, and a link that does not exist, are refused.
    let mut bad = layout.clone();
    bad.script = vec![
        tierlab::layout::Scripted {
            at_s: 0.0,
            command: tierlab::layout::Command::RestoreNode {
                node: layout.nodes[0].clone(),
                at: None,
                wires: Vec::new(),
            },
        },
        tierlab::layout::Scripted {
            at_s: 0.0,
            command: tierlab::layout::Command::SetReplication(Replication {
                primary: NodeId(4),
                replica: NodeId(3),
                mode: Default::default(),
                lag_ms: 0.0,
                lag: Default::default(),
            }),
        },
    ];
    let all: String = tierlab::layout::check(&bad)
        .iter()
        .map(|p| p.to_string() + "\n")
        .collect();
    assert!(all.contains("does not replicate from"), "{all}");
    let mut running = match Sim::new(&layout, Default::default()) {
        Ok(s) => s,
        Err(p) => panic!("{p:?}"),
    };
    let refused = running.apply(tierlab::layout::Command::RestoreNode {
        node: Node {
            id: NodeId(99),
            ..layout.nodes[0].clone()
        },
        at: None,
        wires: Vec::new(),
    });
    assert!(refused.is_err_and(|e| e.contains("never handed out")));
}

fn pool_count(sim: &Sim, node: NodeId) -> u32 {
    sim.layout().node(node).map_or(0, |n| n.kind.count())
}

/// Autoscaling switched off and on again while running (the inspector's `autoscale` option)
/// looks again: an overloaded pool grows once it is back on.
#[test]
fn autoscaling_switched_off_and_on_while_running_resumes() {
    let text = r#"(
        nodes: [
            (id: 0, name: "client", kind: client(qps: 2000)),
            (id: 1, name: "app", kind: app_server(count: 1, workers: 4, service_ms: 10,
                autoscale: (target: 0.5, min: 1, max: 10, interval_s: 1, cooldown_s: 60, boot_s: 0))),
        ],
        wires: [(from: 0, to: 1)],
    )"#;
    let layout = match tierlab::layout::from_ron(text) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let mut sim = match Sim::new(&layout, Default::default()) {
        Ok(s) => s,
        Err(p) => panic!("{p:?}"),
    };
    let app = NodeId(1);
    let with = layout
        .node(app)
        .map(|n| n.kind.clone())
        .unwrap_or_else(|| panic!("app"));
    let mut without = with.clone();
    if let tierlab::layout::NodeKind::AppServer(p) = &mut without {
        p.autoscale = None;
    }
    let set = |kind| tierlab::layout::Command::SetKind { node: app, kind };
    let seconds = |sim: &mut Sim, s: u64| {
        for _ in 0..s * 1_000_000_000 / sim.tick_ns() {
            sim.tick();
        }
    };
    sim.tick();
    assert!(sim.apply(set(without)).is_ok());
    seconds(&mut sim, 5);
    assert_eq!(pool_count(&sim, app), 1, "no autoscaling while it is off");
    assert!(sim.apply(set(with)).is_ok());
    seconds(&mut sim, 5);
    // 2000 requests/s need 2000 × 10 ms / 4 workers = 5 servers at full load.
    assert!(pool_count(&sim, app) > 1, "the pool grows again");
}
