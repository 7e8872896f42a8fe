//! The editor window, driven like a user would: pointer and key events only, widgets found by
//! their accessible labels (egui_kittest, headless: no display, no GPU). No test calls an
//! editing function; they only read the app's state to check the outcome.

use std::path::PathBuf;

use eframe::egui::{Event, Key, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tierlab::app::{AppConfig, TierlabApp};
use tierlab::layout::{self, NodeId};

/// A fresh empty directory for one test.
fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tierlab-ui-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::create_dir_all(&d);
    d
}

fn window(save_dir: PathBuf) -> Harness<'static, TierlabApp> {
    let app = TierlabApp::new(AppConfig {
        native_dialogs: false,
        save_dir,
        ..AppConfig::default()
    });
    let mut h = Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    h
}

fn centre(h: &Harness<'_, TierlabApp>, label: &str) -> Pos2 {
    h.get_by_label(label).rect().center()
}

/// Press at `from`, move in steps, release at `to`, as a mouse would.
fn drag(h: &mut Harness<'_, TierlabApp>, from: Pos2, to: Pos2) {
    h.hover_at(from);
    h.run();
    h.drag_at(from);
    h.run();
    for i in 1..=8 {
        h.hover_at(from + (to - from) * (i as f32 / 8.0));
        h.run();
    }
    h.event(Event::PointerButton {
        pos: to,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.run();
    h.remove_cursor();
    h.run();
}

fn id_of(h: &Harness<'_, TierlabApp>, name: &str) -> NodeId {
    match h.state().layout().node_named(name) {
        Some(n) => n.id,
        None => panic!("no node called {name}"),
    }
}

fn count_of(h: &Harness<'_, TierlabApp>, name: &str) -> u32 {
    match h.state().layout().node_named(name) {
        Some(n) => n.kind.count(),
        None => panic!("no node called {name}"),
    }
}

fn key(h: &mut Harness<'_, TierlabApp>, modifiers: Modifiers, k: Key) {
    h.key_press_modifiers(modifiers, k);
    h.run();
}

/// Replace the text of the in-window file browser's path field.
fn type_path(h: &mut Harness<'_, TierlabApp>, path: &std::path::Path) {
    h.get_by_label("File path").click();
    h.run();
    key(h, Modifiers::COMMAND, Key::A);
    h.get_by_label("File path")
        .type_text(&path.display().to_string());
    h.run();
}

#[test]
fn the_starter_layout_is_shown_with_accessible_nodes() {
    let h = window(temp_dir("starter"));
    for name in ["client", "lb", "app", "db"] {
        let r = h.get_by_label(name).rect();
        assert!(r.width() > 40.0, "{name} is drawn: {r:?}");
    }
    assert!(h.state().title().contains("request-flow.ron"));
    assert!(!h.state().is_dirty());
}

#[test]
fn dragging_a_kind_from_the_palette_creates_a_node_where_it_is_dropped() {
    let mut h = window(temp_dir("palette"));
    let before = h.state().layout().nodes.len();
    let from = centre(&h, "Database");
    let to = centre(&h, "app") + vec2(0.0, 220.0);
    drag(&mut h, from, to);
    assert_eq!(h.state().layout().nodes.len(), before + 1);
    let new = h.get_by_label("database").rect();
    assert!(
        new.contains(to),
        "the node {new:?} lies under the drop point {to:?}"
    );
    assert!(h.state().is_dirty());
    assert!(h.state().title().starts_with('*'));
}

#[test]
fn wiring_by_dragging_from_a_port_and_refused_wires_say_why() {
    let mut h = window(temp_dir("wire"));
    // A second balancer, then lb -> it (a balancer may call a balancer).
    let from = centre(&h, "Load balancer");
    let to = centre(&h, "app") + vec2(0.0, 220.0);
    drag(&mut h, from, to);
    // The new balancer is selected; the inspector shows the core's warning about it.
    assert!(
        h.query_by_label_contains("the balancer has no backends")
            .is_some()
    );
    assert!(h.query_by_label_contains("1 warning").is_some());
    let wires = h.state().layout().wires.len();
    let port = centre(&h, "output of lb");
    let target = centre(&h, "load-balancer");
    drag(&mut h, port, target);
    let (lb, lb2) = (id_of(&h, "lb"), id_of(&h, "load-balancer"));
    assert_eq!(h.state().layout().wires.len(), wires + 1);
    assert!(
        h.state()
            .layout()
            .wires
            .iter()
            .any(|w| w.from == lb && w.to == lb2)
    );

    // An app server may not call a client: nothing is added and the reason is shown.
    let port = centre(&h, "output of app");
    let target = centre(&h, "client");
    drag(&mut h, port, target);
    assert_eq!(h.state().layout().wires.len(), wires + 1);
    let shown = h.get_by_label_contains(
        "Wire refused: an app server cannot call a client; it may call: load balancer, session store, cache, shard router, database",
    );
    assert!(shown.rect().width() > 0.0);
    // A database calls nothing, so it has no output port to drag from.
    assert!(h.query_by_label("output of db").is_none());
}

#[test]
fn a_pools_server_count_changes_with_plus_and_minus_and_undo_redo_with_keys() {
    let mut h = window(temp_dir("pool"));
    h.get_by_label("app").click();
    h.run();
    assert_eq!(count_of(&h, "app"), 3);
    h.get_by_label("+").click();
    h.run();
    assert_eq!(count_of(&h, "app"), 4);
    h.get_by_label("-").click();
    h.run();
    h.get_by_label("-").click();
    h.run();
    assert_eq!(count_of(&h, "app"), 2);
    // The canvas shows the pool as "app ×2" with numbered members; its label stays its name.
    assert!(h.query_by_label("app").is_some());

    key(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(count_of(&h, "app"), 3);
    key(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(count_of(&h, "app"), 4);
    key(&mut h, Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    assert_eq!(count_of(&h, "app"), 3);
    key(&mut h, Modifiers::COMMAND, Key::Y);
    assert_eq!(count_of(&h, "app"), 2);
    // Undo all the way back to the file as loaded: no unsaved mark.
    for _ in 0..3 {
        key(&mut h, Modifiers::COMMAND, Key::Z);
    }
    assert_eq!(count_of(&h, "app"), 3);
    assert!(!h.state().is_dirty());

    // The pool refuses to go below one server, with a hint.
    h.get_by_label("app").click();
    h.run();
    for _ in 0..3 {
        h.get_by_label("-").click();
        h.run();
    }
    assert_eq!(count_of(&h, "app"), 1);
    assert!(h.query_by_label_contains("out of range").is_some());
}

#[test]
fn delete_removes_the_selected_node_and_its_wires_and_undo_brings_them_back() {
    let mut h = window(temp_dir("delete"));
    let before = h.state().layout().clone();
    h.get_by_label("lb").click();
    h.run();
    key(&mut h, Modifiers::NONE, Key::Delete);
    assert!(h.state().layout().node_named("lb").is_none());
    assert_eq!(h.state().layout().wires.len(), before.wires.len() - 2);
    key(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(h.state().layout(), &before);
}

#[test]
fn save_and_open_through_the_in_window_browser_give_the_same_layout_back() {
    let dir = temp_dir("save");
    let path = dir.join("mine.ron");
    let mut h = window(dir.clone());
    // An edit, then Save as.
    h.get_by_label("app").click();
    h.run();
    h.get_by_label("+").click();
    h.run();
    key(&mut h, Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
    type_path(&mut h, &path);
    h.get_by_label("Save").click();
    h.run();
    let saved = h.state().layout().clone();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(layout::from_ron(&text), Ok(saved.clone()));
    assert!(!h.state().is_dirty());
    assert!(h.state().title().contains("mine.ron"));

    // Change it, then open the saved file: asked first, then the saved layout is back.
    h.get_by_label("+").click();
    h.run();
    assert!(h.state().is_dirty());
    key(&mut h, Modifiers::COMMAND, Key::O);
    h.get_by_label("Discard changes").click();
    h.run();
    type_path(&mut h, &path);
    h.get_by_label("Open").click();
    h.run();
    assert_eq!(h.state().layout(), &saved);
    assert!(!h.state().is_dirty());
    assert_eq!(h.state().file(), Some(path.as_path()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broken_file_shows_where_it_is_wrong_and_keeps_the_current_layout() {
    let dir = temp_dir("broken");
    let path = dir.join("broken.ron");
    let text = "(\n    nodes: [\n        (id: 1, name: \"db\", kind: databse()),\n    ],\n)\n";
    let _ = std::fs::write(&path, text);
    let mut h = window(dir.clone());
    let before = h.state().layout().clone();
    key(&mut h, Modifiers::COMMAND, Key::O);
    type_path(&mut h, &path);
    h.get_by_label("Open").click();
    h.run();
    let error = h.get_by_label_contains("broken.ron:3:");
    assert!(error.rect().width() > 0.0);
    assert_eq!(h.state().layout(), &before);
    h.get_by_label("OK").click();
    h.run();
    assert!(h.query_by_label_contains("broken.ron:3:").is_none());
    assert_eq!(h.state().layout(), &before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dragging_a_node_moves_it_on_the_grid_and_undo_puts_it_back() {
    let mut h = window(temp_dir("move"));
    let before = match h.state().layout().node_named("db") {
        Some(n) => n.pos,
        None => panic!("db"),
    };
    let from = centre(&h, "db");
    drag(&mut h, from, from + vec2(90.0, 130.0));
    let after = match h.state().layout().node_named("db") {
        Some(n) => n.pos,
        None => panic!("db"),
    };
    assert!(after.y > before.y + 60.0, "{before:?} -> {after:?}");
    assert_eq!(after.x % 20.0, 0.0, "snapped to the grid: {after:?}");
    assert_eq!(after.y % 20.0, 0.0, "snapped to the grid: {after:?}");
    key(&mut h, Modifiers::COMMAND, Key::Z);
    assert!(!h.state().is_dirty());
}

#[test]
fn shift_drag_selects_a_box_of_nodes_and_delete_removes_them_all() {
    let mut h = window(temp_dir("box"));
    let lb = h.get_by_label("lb").rect();
    let app = h.get_by_label("app").rect();
    let from = lb.left_top() - vec2(20.0, 40.0);
    let to = app.right_bottom() + vec2(10.0, 30.0);
    h.event(Event::ModifiersChanged(Modifiers::SHIFT));
    drag(&mut h, from, to);
    h.event(Event::ModifiersChanged(Modifiers::NONE));
    h.run();
    key(&mut h, Modifiers::NONE, Key::Delete);
    let names: Vec<&str> = h
        .state()
        .layout()
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    // The box covered the balancer and the pool; the cache and database sit outside it.
    assert_eq!(names, ["client", "cache", "db"]);
    assert!(h.state().layout().wires.is_empty());
}

#[test]
fn nothing_in_the_library_imports_the_window() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src.clone()];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("cannot read {}", dir.display());
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                if p != src.join("app") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") && p != src.join("main.rs") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for (i, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    if code.contains("app::") || code.contains("egui") || code.contains("eframe") {
                        found.push(format!("{}:{}", p.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "only main.rs may open the window: {found:?}"
    );
}

#[test]
fn new_and_quit_ask_before_discarding_changes() {
    let mut h = window(temp_dir("quit"));
    h.get_by_label("app").click();
    h.run();
    h.get_by_label("+").click();
    h.run();
    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Quit").click();
    h.run();
    assert!(h.query_by_label("Discard unsaved changes?").is_some());
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.query_by_label("Discard unsaved changes?").is_none());
    assert_eq!(count_of(&h, "app"), 4);

    key(&mut h, Modifiers::COMMAND, Key::N);
    assert_eq!(
        count_of(&h, "app"),
        4,
        "nothing is discarded before the answer"
    );
    h.get_by_label("Discard changes").click();
    h.run();
    assert!(h.state().layout().nodes.is_empty());
    assert!(h.state().title().starts_with("Untitled"));
}

#[test]
fn the_size_ladder_and_cache_policy_are_picked_from_combo_boxes() {
    let mut h = window(temp_dir("combo"));
    h.get_by_label("app").click();
    h.run();
    // The size combo lists the ladder by instance name; picking one changes the layout.
    h.get_by_label("Instance size").click();
    h.run();
    h.get_by_label("m7i.4xlarge").click();
    h.run();
    let size = |h: &Harness<'_, TierlabApp>, name: &str| {
        h.state()
            .layout()
            .node_named(name)
            .and_then(|n| n.kind.size())
    };
    assert_eq!(size(&h, "app"), Some(tierlab::layout::Size::X4Large));
    assert!(h.state().is_dirty());
    key(&mut h, Modifiers::COMMAND, Key::Z);
    // Undo gives back what the file had: no size (workers are the cores).
    assert_eq!(size(&h, "app"), None);

    // A cache's eviction policy is a combo box too.
    h.get_by_label("cache").click();
    h.run();
    h.get_by_label("Eviction").click();
    h.run();
    h.get_by_label("LFU").click();
    h.run();
    let eviction = match h.state().layout().node_named("cache").map(|n| &n.kind) {
        Some(tierlab::layout::NodeKind::Cache(c)) => Some(c.eviction),
        _ => None,
    };
    assert_eq!(eviction, Some(tierlab::layout::Eviction::Lfu));
}

/// Open `menu` in the menu bar and click `entry`, with the pointer.
fn menu(h: &mut Harness<'_, TierlabApp>, menu: &str, entry: &str) {
    h.get_by_label(menu).click();
    h.run();
    h.get_by_label(entry).click();
    h.run();
}

#[test]
fn menu_entries_and_their_shortcuts_do_the_same_thing() {
    // The same steps in two windows: by keys in one, by menu clicks in the other. A menu
    // entry's accessible label ends with the shortcut it shows, the one pressed here.
    let mut keys = window(temp_dir("keys"));
    let mut clicks = window(temp_dir("clicks"));
    for h in [&mut keys, &mut clicks] {
        h.get_by_label("app").click();
        h.run();
        for _ in 0..2 {
            h.get_by_label("+").click();
            h.run();
        }
        assert_eq!(count_of(h, "app"), 5);
    }
    let same = |keys: &Harness<'_, TierlabApp>, clicks: &Harness<'_, TierlabApp>| {
        assert_eq!(keys.state().layout(), clicks.state().layout());
    };

    key(&mut keys, Modifiers::COMMAND, Key::Z);
    menu(&mut clicks, "Edit", "Undo Ctrl+Z");
    assert_eq!(count_of(&keys, "app"), 4);
    same(&keys, &clicks);

    key(&mut keys, Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    menu(&mut clicks, "Edit", "Redo Ctrl+Shift+Z");
    assert_eq!(count_of(&keys, "app"), 5);
    same(&keys, &clicks);

    key(&mut keys, Modifiers::COMMAND, Key::A);
    key(&mut keys, Modifiers::NONE, Key::Delete);
    menu(&mut clicks, "Edit", "Select all Ctrl+A");
    menu(&mut clicks, "Edit", "Delete Del");
    assert!(keys.state().layout().nodes.is_empty());
    assert!(keys.state().layout().wires.is_empty());
    same(&keys, &clicks);

    // Save as opens the same in-window browser either way.
    key(&mut keys, Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
    menu(&mut clicks, "File", "Save as… Ctrl+Shift+S");
    for h in [&keys, &clicks] {
        assert!(h.query_by_label("Save layout as").is_some());
    }
}

#[test]
fn undo_is_greyed_out_in_the_menu_and_does_nothing_by_key_before_any_edit() {
    let mut h = window(temp_dir("no-undo"));
    let before = h.state().layout().clone();
    key(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(h.state().layout(), &before);
    h.get_by_label("Edit").click();
    h.run();
    assert!(h.get_by_label("Undo Ctrl+Z").accesskit_node().is_disabled());
    h.get_by_label("Undo Ctrl+Z").click();
    h.run();
    assert_eq!(h.state().layout(), &before);
    assert!(!h.state().is_dirty());
}
