//! Nothing lost (issue 13): the window autosaves unsaved changes to a recovery file and a new
//! window offers them back after a crash; Save asks before writing over a file that changed on
//! disk. Driven like a user would, through kittest; a crash is the window dropped without its
//! clean-exit path.

use std::path::{Path, PathBuf};

use eframe::egui::{Key, Modifiers, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tierlab::app::{AppConfig, TierlabApp};
use tierlab::layout::{self, Layout};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tierlab-lost-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::create_dir_all(&d);
    d
}

/// A window autosaving to `recovery` (no wait between writes), offering what it finds there.
fn window(dir: &Path, recovery: &Path) -> Harness<'static, TierlabApp> {
    let mut app = TierlabApp::new(AppConfig {
        native_dialogs: false,
        save_dir: dir.to_path_buf(),
        ..AppConfig::default()
    });
    app.set_recovery_file(Some(recovery.to_path_buf()), 0.0);
    app.offer_recovery();
    let mut h = Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    h
}

fn key(h: &mut Harness<'_, TierlabApp>, modifiers: Modifiers, k: Key) {
    h.key_press_modifiers(modifiers, k);
    h.run();
}

/// One more server in the starter layout's pool, with the pointer.
fn add_a_server(h: &mut Harness<'_, TierlabApp>) {
    h.get_by_label("app").click();
    h.run();
    h.get_by_label("+").click();
    h.run();
}

fn type_path(h: &mut Harness<'_, TierlabApp>, path: &Path) {
    h.get_by_label("File path").click();
    h.run();
    key(h, Modifiers::COMMAND, Key::A);
    h.get_by_label("File path")
        .type_text(&path.display().to_string());
    h.run();
}

/// The layout a file holds, parsed on its own.
fn on_disk(path: &Path) -> Option<Layout> {
    layout::from_ron(&std::fs::read_to_string(path).ok()?).ok()
}

#[test]
fn a_window_dropped_mid_edit_offers_its_changes_to_the_next_launch() {
    let dir = temp_dir("crash");
    let recovery = dir.join("recovery.ron");
    let mut h = window(&dir, &recovery);
    let starter = h.state().layout().clone();
    assert!(!recovery.exists(), "nothing unsaved, nothing autosaved");
    add_a_server(&mut h);
    let edited = h.state().layout().clone();
    assert_ne!(edited, starter);
    assert_eq!(on_disk(&recovery), Some(edited.clone()));
    // The crash: the window goes without its clean-exit path.
    drop(h);

    let mut h = window(&dir, &recovery);
    assert_eq!(
        h.state().layout(),
        &starter,
        "not restored before the answer"
    );
    assert!(h.query_by_label("Restore unsaved work?").is_some());
    h.get_by_label("Restore").click();
    h.run();
    assert_eq!(h.state().layout(), &edited);
    assert!(
        h.state().is_dirty(),
        "the restored changes are still unsaved"
    );
    assert_eq!(h.state().document_name(), "request-flow.ron (shipped)");

    // Saved, nothing is unsaved any more and the recovery file goes.
    let path = dir.join("mine.ron");
    key(&mut h, Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
    type_path(&mut h, &path);
    h.get_by_label("Save").click();
    h.run();
    assert_eq!(on_disk(&path), Some(edited));
    assert!(!recovery.exists());
    drop(h);

    // Nothing to restore now.
    let h = window(&dir, &recovery);
    assert!(h.query_by_label("Restore unsaved work?").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn discard_and_a_clean_quit_leave_no_recovery_file() {
    let dir = temp_dir("clean");
    let recovery = dir.join("recovery.ron");
    let mut h = window(&dir, &recovery);
    let starter = h.state().layout().clone();
    add_a_server(&mut h);
    assert!(recovery.exists());
    drop(h);

    // Discard: the starter layout stays and the file goes.
    let mut h = window(&dir, &recovery);
    h.get_by_label("Discard").click();
    h.run();
    assert_eq!(h.state().layout(), &starter);
    assert!(!recovery.exists());

    // A new edit is autosaved; File > Quit, "Discard changes": a clean exit removes it.
    add_a_server(&mut h);
    assert!(recovery.exists());
    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Quit").click();
    h.run();
    h.get_by_label("Discard changes").click();
    // The window asks to close from now on, so it never settles: one frame.
    h.step();
    assert!(!recovery.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_asks_before_writing_over_a_file_changed_on_disk() {
    let dir = temp_dir("changed");
    let recovery = dir.join("recovery.ron");
    let path = dir.join("mine.ron");
    let mut h = window(&dir, &recovery);
    key(&mut h, Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
    type_path(&mut h, &path);
    h.get_by_label("Save").click();
    h.run();

    // Unchanged on disk: Save writes at once.
    add_a_server(&mut h);
    key(&mut h, Modifiers::COMMAND, Key::S);
    assert!(h.query_by_label("The file changed on disk").is_none());
    assert_eq!(on_disk(&path).as_ref(), Some(h.state().layout()));

    // Someone else changes the file; an edit here, then Save asks.
    let theirs = "(name: \"theirs\")\n";
    std::fs::write(&path, theirs).unwrap_or_else(|e| panic!("{e}"));
    add_a_server(&mut h);
    key(&mut h, Modifiers::COMMAND, Key::S);
    assert!(h.query_by_label("The file changed on disk").is_some());
    assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some(theirs));
    h.get_by_label("Cancel").click();
    h.run();
    assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some(theirs));
    assert!(h.state().is_dirty());

    // Save as… offers another file; Overwrite writes over theirs.
    key(&mut h, Modifiers::COMMAND, Key::S);
    h.get_by_label("Save as…").click();
    h.run();
    assert!(h.query_by_label("Save layout as").is_some());
    h.get_by_label("Cancel").click();
    h.run();
    key(&mut h, Modifiers::COMMAND, Key::S);
    h.get_by_label("Overwrite").click();
    h.run();
    assert_eq!(on_disk(&path).as_ref(), Some(h.state().layout()));
    assert!(!h.state().is_dirty());
    let _ = std::fs::remove_dir_all(&dir);
}
