//! Layout files: every shipped and earlier-format file loads, checks clean, runs and round-trips;
//! bad files get messages that say where (line:column) and which node.

use tierlab::layout::{self, Layout, Severity};
use tierlab::shipped::SHIPPED;

use crate::check;

/// The `.ron` files of a repository folder, sorted, with their text.
fn ron_files(dir: &str) -> Vec<(String, String)> {
    let path = check::repo(dir);
    let entries =
        std::fs::read_dir(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut files: Vec<(String, String)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), text)
        })
        .collect();
    files.sort();
    files
}

/// Loads, has no errors, and runs three simulated seconds with requests completing.
fn assert_usable(name: &str, text: &str) -> Layout {
    let layout = layout::from_ron(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let errors: Vec<String> = layout::check(&layout)
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}");
    let m = check::run(&layout, layout.seed, 0.0, 3.0);
    assert!(m.requests.completed > 100, "{name}: {:?}", m.requests);
    let c = m.requests;
    assert_eq!(c.arrived, c.completed + c.failed + c.in_flight, "{name}");
    layout
}

#[test]
fn every_shipped_layout_loads_checks_and_runs() {
    let on_disk = ron_files("saves");
    // The binary embeds exactly the files of saves/, with the same text.
    let embedded: Vec<(String, String)> = SHIPPED
        .iter()
        .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
        .collect();
    let mut embedded_sorted = embedded.clone();
    embedded_sorted.sort();
    assert_eq!(
        on_disk.iter().map(|f| &f.0).collect::<Vec<_>>(),
        embedded_sorted.iter().map(|f| &f.0).collect::<Vec<_>>(),
        "saves/ and tierlab::shipped::SHIPPED list the same files"
    );
    assert_eq!(on_disk, embedded_sorted);
    for (name, text) in &embedded {
        let layout = assert_usable(name, text);
        assert!(!layout.name.is_empty(), "{name} has a title");
        assert!(!layout.description.is_empty(), "{name} has a description");
        assert_eq!(layout.version, layout::FORMAT_VERSION, "{name}");
    }
}

#[test]
fn every_shipped_layout_round_trips_through_ron() {
    for (name, text) in SHIPPED {
        let layout = check::parse(text);
        let written = layout::to_ron(&layout);
        let again = layout::from_ron(&written).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again, layout, "{name}");
        // Writing is stable: the second write is the first.
        assert_eq!(layout::to_ron(&again), written, "{name}");
    }
}

#[test]
fn every_version_1_file_still_loads() {
    let files = ron_files("tests/fixtures/v1");
    assert!(files.len() >= 2, "the version-1 fixtures are there");
    for (name, text) in &files {
        let layout = assert_usable(name, text);
        assert_eq!(layout.version, layout::FORMAT_VERSION, "{name} is upgraded");
        let max_id = layout.nodes.iter().map(|n| n.id.0).max().unwrap_or(0);
        assert!(layout.next_id > max_id, "{name}: ids are never reused");
    }
    // The short file takes every default.
    let Some((_, minimal)) = files.iter().find(|(n, _)| n == "minimal.ron") else {
        panic!("minimal.ron is a fixture");
    };
    let layout = check::parse(minimal);
    assert_eq!(layout.tick_ms, Layout::default().tick_ms);
    assert_eq!(layout.seed, Layout::default().seed);
    assert_eq!(
        layout.nodes[0].kind,
        layout::KindTag::Client.default_kind(),
        "client() means default parameters"
    );
}

/// The ```ron blocks of README.md.
fn readme_layouts() -> Vec<String> {
    readme_ron_blocks()
        .into_iter()
        .filter(|b| !is_lesson(b))
        .collect()
}

/// A README block is a lesson when its first line names a `.lesson.ron` file.
fn is_lesson(block: &str) -> bool {
    block
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("//") && l.contains(".lesson.ron"))
}

fn readme_ron_blocks() -> Vec<String> {
    let text = std::fs::read_to_string(check::repo("README.md")).unwrap_or_default();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```ron") => current = Some(String::new()),
            Some(block) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn the_readme_example_layouts_load_and_run() {
    // The README has no layout example yet; every one added later is checked here.
    for (i, text) in readme_layouts().iter().enumerate() {
        assert_usable(&format!("README.md ron block {}", i + 1), text);
    }
}

#[test]
fn the_readme_example_lesson_loads_and_passes_check() {
    let lessons: Vec<String> = readme_ron_blocks()
        .into_iter()
        .filter(|b| is_lesson(b))
        .collect();
    assert!(
        !lessons.is_empty(),
        "README shows a complete lesson example"
    );
    for text in lessons {
        let (lesson, layout) = tierlab::lesson::load(&text).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            lesson.steps.len() >= 3,
            "a step, a pause point and a checkpoint"
        );
        assert_usable("README.md lesson", &tierlab::layout::to_ron(&layout));
    }
}

// ----- What a user sees for bad files. -----

#[test]
fn malformed_ron_says_line_and_column() {
    // The comma after the "app" node is missing.
    let text = "(\n    nodes: [\n        (id: 1, name: \"users\", kind: client(qps: 100)),\n        \
                (id: 2, name: \"app\", kind: app_server(workers: 4))\n        \
                (id: 3, name: \"db\", kind: database()),\n    ],\n)\n";
    let msg = check::load_error(text);
    assert!(msg.starts_with("5:9: "), "{msg}");
    assert!(msg.contains("Expected comma"), "{msg}");

    let unclosed = "(\n    name: \"demo,\n    nodes: [],\n)\n";
    let msg = check::load_error(unclosed);
    assert!(msg.starts_with("2:"), "{msg}");
}

#[test]
fn an_unknown_field_is_named_with_its_node_and_the_fields_allowed() {
    let text = "(\n    nodes: [\n        (id: 1, name: \"users\", kind: client(qps: 100)),\n        \
                (id: 2, name: \"app\", kind: app_server(workers: 4, colour: \"red\")),\n    ],\n)\n";
    let msg = check::load_error(text);
    assert!(msg.starts_with("4:"), "{msg}");
    assert!(msg.contains("in node \"app\""), "{msg}");
    assert!(msg.contains("`colour`"), "{msg}");
    assert!(
        msg.contains("`service_ms`"),
        "lists the fields allowed: {msg}"
    );
}

#[test]
fn an_unknown_kind_lists_the_kinds() {
    let text = "(\n    nodes: [\n        (id: 1, name: \"users\", kind: client(qps: 100)),\n        \
                (id: 2, name: \"cache\", kind: redis(size: 4)),\n    ],\n)\n";
    let msg = check::load_error(text);
    assert!(msg.starts_with("4:"), "{msg}");
    assert!(msg.contains("in node \"cache\""), "{msg}");
    assert!(msg.contains("`redis`"), "{msg}");
    for kind in ["client", "load_balancer", "app_server", "database"] {
        assert!(msg.contains(&format!("`{kind}`")), "{msg}");
    }
}

#[test]
fn a_newer_version_asks_for_a_newer_tierlab() {
    // A newer file may hold kinds this build does not know: the version is what to report.
    let newer = layout::FORMAT_VERSION + 1;
    let msg = check::load_error(&format!(
        "(version: {newer}, nodes: [(id: 1, name: \"q\", kind: quantum())])"
    ));
    assert_eq!(
        msg,
        format!(
            "the file has format version {newer}, but this Tierlab reads versions up to {}: \
             update Tierlab to open it",
            layout::FORMAT_VERSION
        )
    );
}

/// `check`'s problems as the user reads them.
fn problems(text: &str) -> Vec<String> {
    layout::check(&check::parse(text))
        .iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn check_names_the_node_of_every_problem() {
    let p = problems(
        r#"(
            nodes: [
                (id: 1, name: "users", kind: client(qps: 1e9)),
                (id: 2, name: "db", kind: database(workers: 0)),
                (id: 3, name: "lb", kind: load_balancer()),
                (id: 4, name: "app", kind: app_server(service_ms: 2.5)),
            ],
            wires: [(from: 1, to: 3), (from: 2, to: 3), (from: 3, to: 4), (from: 4, to: 9)],
        )"#,
    );
    let expect = [
        // Out of range, with the range and its unit.
        "error: users: qps = 1000000000 is out of range: it must be from 0 to 10000000 1/s",
        "error: db: workers = 0 is out of range: it must be from 1 to 10000",
        // A forbidden wire: a database only answers calls.
        "error: wire db -> lb: a database cannot call anything (it only answers calls)",
        // A wire to a node that does not exist.
        "error: wire app -> #9: there is no node with id 9",
    ];
    for e in expect {
        assert!(p.iter().any(|x| x == e), "missing {e:?} in {p:#?}");
    }
    assert_eq!(p.len(), expect.len(), "{p:#?}");
}

#[test]
fn a_forbidden_wire_says_what_may_be_called() {
    let p = problems(
        r#"(nodes: [(id: 1, name: "app", kind: app_server()), (id: 2, name: "users", kind: client())],
            wires: [(from: 2, to: 1), (from: 1, to: 2)])"#,
    );
    assert!(
        p.contains(
            &"error: wire app -> users: an app server cannot call a client; it may call: \
              load balancer, session store, cache, shard router, database, message queue"
                .to_string()
        ),
        "{p:#?}"
    );
}

#[test]
fn a_layout_with_errors_does_not_start() {
    let layout = check::parse(
        r#"(nodes: [(id: 1, name: "users", kind: client(read_share: 1.5))], wires: [])"#,
    );
    let Err(problems) = tierlab::sim::Sim::new(&layout, Default::default()) else {
        panic!("a layout with errors must not run");
    };
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        ["error: users: read_share = 1.5 is out of range: it must be from 0 to 1"]
    );
}
