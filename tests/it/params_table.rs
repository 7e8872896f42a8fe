//! The table test, parts two and three: every field of the parameter table has a widget in the
//! inspector and a row in README (part one, "every field has a check", is the unit test
//! `layout::params::tests::every_field_has_a_check`, which needs the table's raw setters).
//! Command arguments, the tick length and a script's times are set in the file, not in the
//! inspector, so only README is asked for them.

use eframe::egui::accesskit::Role;
use eframe::egui::{Event, Modifiers, PointerButton, Pos2, pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tierlab::app::{AppConfig, TierlabApp};
use tierlab::layout::params::{self, Owner};
use tierlab::layout::{
    Autoscale, KindTag, LagDist, Layout, Node, NodeId, NodeKind, Pos, Replication, ReplicationMode,
    Wire,
};

/// One node of every kind (a pool with autoscaling on), in a row; a wire from the client to
/// the pool; a database replicating to another.
fn everything() -> Layout {
    let mut l = Layout::default();
    for (i, tag) in KindTag::ALL.iter().enumerate() {
        let id = l.allocate_id();
        let mut kind = tag.default_kind();
        if let NodeKind::AppServer(p) = &mut kind {
            p.autoscale = Some(Autoscale::default());
        }
        l.nodes.push(Node {
            id,
            name: format!("n-{}", tag.file_name()),
            pos: Pos {
                x: 200.0 * (i % 4) as f32,
                y: 220.0 * (i / 4) as f32,
            },
            kind,
        });
    }
    let replica = l.allocate_id();
    l.nodes.push(Node {
        id: replica,
        name: "n-replica".into(),
        pos: Pos { x: 800.0, y: 220.0 },
        kind: KindTag::Database.default_kind(),
    });
    // Client (0) at x 0 and app server (3) at x 600 in the top row: the wire runs below nothing
    // but the entry and balancer it passes; aim at its middle from their rects.
    l.wires.push(Wire::new(NodeId(0), NodeId(3), 0.0));
    l.replication.push(Replication {
        primary: NodeId(7),
        replica,
        mode: ReplicationMode::Async,
        lag_ms: 5.0,
        lag: LagDist::Constant,
    });
    l
}

fn click_at(h: &mut Harness<'_, TierlabApp>, p: Pos2) {
    h.hover_at(p);
    h.run();
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos: p,
            button: PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
        h.run();
    }
}

fn has_widget(h: &Harness<'_, TierlabApp>, role: Role, name: &str) -> bool {
    h.query_by_role_and_label(role, name).is_some()
}

#[test]
fn every_node_wire_and_link_field_has_a_widget_in_the_inspector() {
    let app = TierlabApp::with_layout(
        AppConfig {
            native_dialogs: false,
            ..AppConfig::default()
        },
        everything(),
    );
    let mut h = Harness::builder()
        .with_size(vec2(1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    let mut missing = Vec::new();
    let mut seen = 0;
    for tag in KindTag::ALL {
        let name = format!("n-{}", tag.file_name());
        let at = h.get_by_label(&name).rect().center();
        click_at(&mut h, at);
        for f in params::params_of(tag) {
            seen += 1;
            if !has_widget(&h, Role::SpinButton, params::label(f.name)) {
                missing.push(format!("{}.{}", tag.file_name(), f.name));
            }
        }
        for c in params::choices_of(tag) {
            seen += 1;
            if !has_widget(&h, Role::ComboBox, params::label(c.name)) {
                missing.push(format!("{}.{}", tag.file_name(), c.name));
            }
        }
        if tag == KindTag::Database {
            for f in params::LINK {
                seen += 1;
                if !has_widget(&h, Role::SpinButton, params::label(f.name)) {
                    missing.push(format!("replication.{}", f.name));
                }
            }
            for c in params::LINK_CHOICES {
                seen += 1;
                if !has_widget(&h, Role::ComboBox, params::label(c.name)) {
                    missing.push(format!("replication.{}", c.name));
                }
            }
        }
    }
    // The wire from the client to the pool: click the middle of its curve.
    let (a, b) = (
        h.get_by_label("n-client").rect(),
        h.get_by_label("n-app_server").rect(),
    );
    click_at(
        &mut h,
        pos2(
            (a.right() + b.left()) / 2.0,
            (a.center().y + b.center().y) / 2.0,
        ),
    );
    for f in params::WIRE {
        seen += 1;
        if !has_widget(&h, Role::SpinButton, params::label(f.name)) {
            missing.push(format!("wire.{}", f.name));
        }
    }
    assert_eq!(missing, Vec::<String>::new(), "fields without a widget");
    assert_eq!(
        seen,
        params::PARAMS.len()
            + params::CHOICES.len()
            + params::WIRE.len()
            + params::LINK.len()
            + params::LINK_CHOICES.len(),
        "every inspector field was looked for"
    );
}

#[test]
fn every_field_of_the_table_has_a_row_in_readme() {
    let readme = match std::fs::read_to_string("README.md") {
        Ok(t) => t,
        Err(e) => panic!("README.md: {e}"),
    };
    let mut missing = Vec::new();
    let rows = params::all_numbers()
        .into_iter()
        .map(|r| (r.owner, r.name))
        .chain(params::all_choices().into_iter().map(|r| (r.owner, r.name)));
    for (owner, name) in rows {
        if !readme.contains(&format!("| {} | `{name}` |", owner.file_name())) {
            missing.push(format!("{}.{name}", owner.file_name()));
        }
    }
    assert_eq!(missing, Vec::<String>::new(), "fields without a README row");
    // And the rows say what the table says: README's tables are `tierlab params`.
    assert!(
        readme.contains(&params::markdown_table()),
        "README's parameter tables differ from `tierlab params`: paste its output"
    );
    // Every owner kind of field is there.
    for owner in [
        Owner::Wire,
        Owner::Replication,
        Owner::Target,
        Owner::Layout,
    ] {
        assert!(readme.contains(&format!("| {} |", owner.file_name())));
    }
}

/// Every field and option of the table has a label a learner reads ("Latency" for
/// `latency_ms`), which the inspector shows; the file's name stays in the hover help.
#[test]
fn every_field_and_option_has_a_label_a_learner_reads() {
    let names: Vec<&str> = params::all_numbers()
        .iter()
        .map(|r| r.name)
        .chain(params::all_choices().iter().map(|r| r.name))
        .collect();
    let missing: Vec<&&str> = names
        .iter()
        .filter(|n| params::label_of(n).is_none())
        .collect();
    assert!(missing.is_empty(), "fields without a label: {missing:?}");
    assert_eq!(params::label_of("latency_ms"), Some("Latency"));
    assert_eq!(params::label_of("l7_latency_ms"), Some("L7 extra latency"));
    assert_eq!(params::label_of("health_checks"), Some("Health checks"));
}
