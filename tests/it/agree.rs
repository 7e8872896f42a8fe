//! `check` and the run agree: whatever `check` accepts runs without refusals, and README's
//! command examples parse. Each case is the smallest file that showed a disagreement.

use tierlab::layout;
use tierlab::report::{self, RunConfig};

use crate::check;

/// Four nodes: a client, a pool of two app servers, two databases.
fn file(rest: &str) -> String {
    format!(
        r#"(nodes: [
            (id: 0, name: "users", kind: client(qps: 10)),
            (id: 1, name: "app", kind: app_server(count: 2)),
            (id: 2, name: "db", kind: database()),
            (id: 3, name: "db2", kind: database()),
        ], wires: [(from: 0, to: 1), (from: 1, to: 2)], {rest})"#
    )
}

fn errors(text: &str) -> Vec<String> {
    layout::check(&check::parse(text))
        .iter()
        .filter(|p| p.severity == layout::Severity::Error)
        .map(|p| p.to_string())
        .collect()
}

/// The notes of a 3-second run: what the running system refused.
fn run_notes(text: &str) -> Vec<String> {
    let sim = report::run(
        &check::parse(text),
        &RunConfig {
            seconds: 3.0,
            ..Default::default()
        },
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    sim.notes().to_vec()
}

#[test]
fn what_the_run_would_refuse_check_refuses_first() {
    // Before, `check` accepted every one of these and the run refused the command with a
    // note (seen with the old binary), in Rust debug form: "tick 2000: Kill(Target { … })".
    let cases = [
        (
            r#"next_id: 20, script: [(at_s: 1, command: add_node(id: 9, name: "new", kind: app_server()))]"#,
            "add_node: id 9 is already used or was used before",
        ),
        (
            r#"script: [(at_s: 1, command: add_node(id: 9, name: "a", kind: app_server())), (at_s: 2, command: add_node(id: 9, name: "b", kind: app_server()))]"#,
            "script at 2 s: add_node: id 9",
        ),
        (
            r#"script: [(at_s: 2, command: kill(node: 2)), (at_s: 1, command: remove_node(2))]"#,
            "script at 2 s: kill: db is removed by an earlier command",
        ),
        (
            r#"script: [(at_s: 1, command: kill(node: 1, member: 5))]"#,
            "kill: app has no member 5 (it has 2, numbered from 0)",
        ),
        (
            r#"script: [(at_s: 1, command: flush(node: 1))]"#,
            "flush: app (app server) holds nothing to flush",
        ),
        (
            r#"replication: [(primary: 2, replica: 3), (primary: 2, replica: 3)]"#,
            "replication db -> db2: this link is listed twice",
        ),
    ];
    for (rest, expected) in cases {
        let e = errors(&file(rest));
        assert_eq!(e.len(), 1, "{rest}: {e:?}");
        assert!(e[0].contains(expected), "{rest}: {e:?}");
    }
}

#[test]
fn what_check_accepts_runs_without_refusals() {
    // The same commands, made valid: a member that exists, a cache flushed, a node removed
    // after it is killed, a fresh id; and every shipped layout with a script.
    let cases = [
        r#"script: [(at_s: 1, command: kill(node: 1, member: 1)), (at_s: 1.5, command: revive(node: 1, member: 1))]"#,
        r#"script: [(at_s: 1, command: kill(node: 2)), (at_s: 2, command: remove_node(2))]"#,
        r#"script: [(at_s: 1, command: add_node(id: 9, name: "new", kind: app_server())), (at_s: 2, command: add_wire(from: 1, to: 3))]"#,
        r#"script: [(at_s: 1, command: set_param(node: 1, param: "count", value: 4)), (at_s: 2, command: kill(node: 1, member: 3))]"#,
    ];
    for rest in cases {
        let text = file(rest);
        assert_eq!(errors(&text), Vec::<String>::new(), "{rest}");
        assert_eq!(run_notes(&text), Vec::<String>::new(), "{rest}");
    }
    let flush = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 10)),
        (id: 1, name: "app", kind: app_server()),
        (id: 2, name: "cache", kind: cache()),
        (id: 3, name: "db", kind: database()),
    ], wires: [(from: 0, to: 1), (from: 1, to: 2), (from: 1, to: 3)],
    script: [(at_s: 1, command: flush(node: 2))])"#;
    assert_eq!(errors(flush), Vec::<String>::new());
    assert_eq!(run_notes(flush), Vec::<String>::new());
}

#[test]
fn a_refusal_at_run_time_is_in_plain_words() {
    // A refusal `check` cannot foresee (the run's own state): a user command at run time.
    let text = file("");
    let mut sim = report::run(
        &check::parse(&text),
        &RunConfig {
            seconds: 1.0,
            ..Default::default()
        },
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    sim.schedule(
        sim.ticks(),
        layout::Command::Kill(layout::Target::member(layout::NodeId(1), 7)),
        tierlab::sim::CommandSource::Script,
    );
    sim.run_ticks(2);
    let notes = sim.notes().join("\n");
    assert!(
        notes.contains("kill on app was refused: app has no member 7"),
        "{notes}"
    );
    assert!(!notes.contains("Target {"), "{notes}");
}

/// The backticked examples of README's "Commands" section, placeholders filled in.
fn readme_command_examples() -> Vec<String> {
    let readme = std::fs::read_to_string(check::repo("README.md")).unwrap_or_default();
    let start = readme.find("### Commands").unwrap_or(0);
    let end = readme[start..]
        .find("### Parameters")
        .map_or(readme.len(), |n| start + n);
    let section = readme[start..end].replace('\n', " ");
    let fills = [
        ("revive(…)", "revive(node: 1)"),
        ("id: …", "id: 9"),
        ("name: …", "name: \"x\""),
        ("kind: …", "kind: database()"),
        ("node: N", "node: 1"),
        ("member: M", "member: 0"),
        ("qps: Q", "qps: 100"),
        ("over_s: S", "over_s: 10"),
        ("from: A", "from: 1"),
        ("to: B", "to: 2"),
        ("to: N", "to: 9"),
        ("primary: P", "primary: 2"),
        ("replica: R", "replica: 3"),
        ("remove_node(N)", "remove_node(2)"),
        ("id: N", "id: 9"),
        ("factor:  5", "factor: 5"),
    ];
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            let name: String = s
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            !name.is_empty() && s[name.len()..].starts_with('(') && s.ends_with(')')
        })
        .map(|s| {
            fills
                .iter()
                .fold(s.to_string(), |s, (a, b)| s.replace(a, b))
        })
        .collect()
}

#[test]
fn readmes_command_examples_parse() {
    let examples = readme_command_examples();
    assert!(examples.len() >= 15, "{examples:?}");
    let mut failed = Vec::new();
    for e in &examples {
        let text = format!(
            r#"(nodes: [(id: 1, name: "a", kind: app_server())], script: [(at_s: 1, command: {e})])"#
        );
        if let Err(err) = layout::from_ron(&text) {
            failed.push(format!("{e}: {err}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn readmes_command_line_examples_parse() {
    use clap::Parser as _;
    let readme = std::fs::read_to_string(check::repo("README.md")).unwrap_or_default();
    // Backticked `tierlab …` spans, and the usage lines of "The command line".
    let spans = readme.split('`').skip(1).step_by(2).map(str::to_string);
    let usage = readme
        .lines()
        .filter(|l| l.starts_with("tierlab "))
        .map(|l| l.split("  ").next().unwrap_or(l).to_string());
    let examples: Vec<String> = spans
        .chain(usage)
        .filter(|s| s.starts_with("tierlab ") || s == "tierlab")
        // "`tierlab run`" in prose names the command; it is no invocation.
        .filter(|s| !matches!(s.as_str(), "tierlab run" | "tierlab check"))
        .collect();
    assert!(examples.len() >= 10, "{examples:?}");
    let mut failed = Vec::new();
    for e in &examples {
        let filled = e
            .replace(['[', ']'], "")
            .replace("FILE...", "mm4.ron")
            .replace("FILE", "mm4.ron")
            .replace(" S", " 10")
            .replace(" N", " 1")
            .replace(" R", " 2");
        if let Err(err) = tierlab::cli::Cli::try_parse_from(filled.split_whitespace()) {
            failed.push(format!("{e}: {err}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// The notes of a 3-second run of the layout without its script, the script's commands
/// scheduled directly at their ticks, past `check`: what the running system makes of them.
fn script_notes_unchecked(text: &str) -> Vec<String> {
    let mut layout = check::parse(text);
    let script = std::mem::take(&mut layout.script);
    let mut sim = tierlab::sim::Sim::new(&layout, tierlab::sim::SimConfig::default())
        .unwrap_or_else(|p| panic!("{p:?}"));
    for s in script {
        let tick = (s.at_s * 1000.0 / layout.tick_ms).ceil() as u64;
        sim.schedule(tick, s.command, tierlab::sim::CommandSource::Script);
    }
    sim.run_until_s(3.0);
    sim.notes().to_vec()
}

#[test]
fn wire_link_and_restore_commands_agree_too() {
    // The structural commands (add_wire, remove_wire, set_wire, set_replication,
    // restore_node) against the wires and links as the script leaves them. Before, `check`
    // accepted every one of these and the run refused it with a note.
    let cases = [
        (
            r#"script: [(at_s: 1, command: restore_node(node: (id: 2, name: "db", kind: database())))]"#,
            "restore_node: db is there at that time",
        ),
        (
            r#"script: [(at_s: 1, command: add_wire(from: 1, to: 2))]"#,
            "add_wire: app is already wired to db",
        ),
        (
            r#"script: [(at_s: 1, command: remove_wire(from: 1, to: 3))]"#,
            "remove_wire: there is no wire from app to db2 at that time",
        ),
        (
            r#"script: [(at_s: 1, command: set_wire(from: 1, to: 3))]"#,
            "set_wire: there is no wire from app to db2 at that time",
        ),
        (
            r#"script: [(at_s: 1, command: remove_node(3)), (at_s: 2, command: add_wire(from: 1, to: 3))]"#,
            "script at 2 s: add_wire: db2 is removed by an earlier command",
        ),
        (
            r#"script: [(at_s: 1, command: add_wire(from: 0, to: 2))]"#,
            "add_wire: a client cannot call a database",
        ),
        (
            r#"replication: [(primary: 2, replica: 3)], script: [(at_s: 1, command: remove_node(3))]"#,
            "remove_node: db2 is in the replication link db -> db2",
        ),
    ];
    for (rest, expected) in cases {
        let text = file(rest);
        assert!(
            !script_notes_unchecked(&text).is_empty(),
            "the run refuses {rest}"
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{rest}: {e:?}");
        assert!(e[0].contains(expected), "{rest}: {e:?}");
    }
    // Made valid, they run without a refusal: a node removed and restored with its wire, a
    // wire removed then added back and set, a link set.
    let valid = [
        r#"script: [(at_s: 1, command: remove_node(3)), (at_s: 2, command: restore_node(node: (id: 3, name: "db2", kind: database()), wires: [(2, (from: 1, to: 3))]))]"#,
        r#"script: [(at_s: 1, command: add_wire(from: 1, to: 3)), (at_s: 2, command: set_wire(from: 1, to: 3, latency_ms: 2)), (at_s: 3, command: remove_wire(from: 1, to: 3))]"#,
        r#"replication: [(primary: 2, replica: 3)], script: [(at_s: 1, command: set_replication(primary: 2, replica: 3, lag_ms: 20))]"#,
    ];
    for rest in valid {
        let text = file(rest);
        assert_eq!(errors(&text), Vec::<String>::new(), "{rest}");
        assert_eq!(run_notes(&text), Vec::<String>::new(), "{rest}");
    }
}
