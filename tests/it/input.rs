//! Untrusted files (issue 13): what is read at all, the input limits, names safe to print,
//! finite numbers. One test per class, each on the smallest file that showed the problem.

use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::mpsc;
use std::time::Duration;

use tierlab::layout::{self, Command, Layout, Scripted, input};
use tierlab::read;
use tierlab::sim::{Sim, SimConfig};

use crate::check;

fn temp_dir(tag: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("input-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::create_dir_all(&d);
    d
}

/// `read::read_text` on another thread, so that a read that blocks or runs away fails the
/// test after a minute instead of hanging the suite.
fn read_or_hang(path: PathBuf) -> Result<String, String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(read::read_text(&path).map(|t| t.len().to_string()));
    });
    receive
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the read did not return: it blocked or ran away"))
}

/// The problems `check` finds, as printed.
fn problems(l: &Layout) -> Vec<String> {
    layout::check(l).iter().map(|p| p.to_string()).collect()
}

#[test]
fn a_fifo_is_refused_before_it_is_opened() {
    // Before: `read_to_string` opened the FIFO and waited for a writer forever.
    let dir = temp_dir("fifo");
    let fifo = dir.join("layout.ron");
    let made = Process::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
    let err = read_or_hang(fifo).err().unwrap_or_default();
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn dev_zero_is_refused_at_once() {
    // Before: /dev/zero was read until memory ran out.
    let err = read_or_hang("/dev/zero".into()).err().unwrap_or_default();
    assert!(err.contains("not a regular file"), "{err}");
    // The command line reads through the same function.
    let o = Process::new(env!("CARGO_BIN_EXE_tierlab"))
        .args(["check", "/dev/zero"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn a_multi_gigabyte_file_is_refused_by_its_size() {
    // Before: a 5 GB file of zero bytes (valid UTF-8) was read whole into memory. A sparse
    // file takes no disk space, and its metadata says how long it is.
    let dir = temp_dir("huge");
    let path = dir.join("huge.ron");
    let f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    f.set_len(5 << 30).unwrap_or_else(|e| panic!("{e}"));
    drop(f);
    let err = read_or_hang(path.clone()).err().unwrap_or_default();
    assert!(err.contains("larger than 64 MB"), "{err}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_file_starting_with_a_byte_order_mark_loads() {
    // Before: "1:1: Unexpected char" at the mark.
    let dir = temp_dir("bom");
    let path = dir.join("bom.ron");
    let text = format!(
        "\u{feff}{}",
        tierlab::shipped::find("mm4.ron").unwrap_or_default()
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let l = read::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.nodes.len(), 2);
}

#[test]
fn a_layout_at_the_node_limit_is_accepted_and_one_more_node_is_refused_alone() {
    let mut l = input::at_the_limits();
    assert_eq!(l.nodes.len(), input::NODES_MAX);
    assert!(l.wires.len() <= input::WIRES_MAX);
    assert_eq!(problems(&l), Vec::<String>::new());
    assert!(Sim::new(&l, SimConfig::default()).is_ok());
    // One node over: that one problem, and no other (nothing else was looked at).
    let extra = layout::Node {
        id: l.allocate_id(),
        ..l.nodes[0].clone()
    };
    l.nodes.push(extra);
    assert_eq!(
        problems(&l),
        ["error: nodes: the layout has 10001 nodes entries; at most 10000 are allowed"]
    );
}

#[test]
fn too_many_wires_or_script_entries_are_refused_alone() {
    let mut l = check::parse(tierlab::shipped::find("mm4.ron").unwrap_or_default());
    let wire = l.wires[0].clone();
    l.wires = vec![wire; input::WIRES_MAX + 1];
    let p = problems(&l);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("100001 wires"), "{p:?}");

    let mut l = check::parse(tierlab::shipped::find("mm4.ron").unwrap_or_default());
    let entry = Scripted {
        at_s: 1.0,
        command: Command::SetQps {
            node: layout::NodeId(0),
            qps: 10.0,
        },
    };
    l.script = vec![entry; input::SCRIPT_MAX + 1];
    let p = problems(&l);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("100001 script"), "{p:?}");
}

#[test]
fn a_script_at_the_limit_in_reverse_order_is_scheduled_and_applied() {
    // Before: each scheduled command was inserted into a sorted Vec and taken off its front,
    // shifting the rest: 100,000 entries in reverse time order took minutes.
    let mut l = check::parse(tierlab::shipped::find("mm4.ron").unwrap_or_default());
    l.script = (0..input::SCRIPT_MAX)
        .rev()
        .map(|i| Scripted {
            at_s: i as f64 * 1e-5,
            command: Command::SetQps {
                node: layout::NodeId(0),
                qps: 100.0 + (i % 7) as f64,
            },
        })
        .collect();
    let mut sim = Sim::new(&l, SimConfig::default()).unwrap_or_else(|p| panic!("{p:?}"));
    sim.run_until_s(1.5);
    assert_eq!(sim.command_log().len(), input::SCRIPT_MAX);
    assert!(sim.notes().is_empty(), "{:?}", sim.notes());
    // Applied in time order: the last one is the entry at the latest time (i = 99,999).
    let last = sim.command_log().last().map(|e| e.command.clone());
    let expected = 100.0 + (99_999 % 7) as f64;
    assert!(
        matches!(last, Some(Command::SetQps { qps, .. }) if qps == expected),
        "{last:?}"
    );
}

#[test]
fn a_ten_megabyte_name_is_refused_without_being_echoed() {
    // Before: the name was accepted, and every message about the node printed all of it.
    let mut l = check::parse(tierlab::shipped::find("mm4.ron").unwrap_or_default());
    l.nodes[1].name = "x".repeat(10 << 20);
    l.nodes[1].kind = layout::NodeKind::AppServer(layout::AppParams {
        workers: 0,
        ..Default::default()
    });
    let p = problems(&l);
    assert_eq!(p.len(), 1, "{}", p.join("\n").len());
    assert!(p[0].len() < 200, "{}", &p[0][..200]);
    assert!(p[0].contains("node #1"), "{}", p[0]);
    assert!(p[0].contains("longer than 200 characters"), "{}", p[0]);
}

#[test]
fn names_that_act_on_a_terminal_are_refused_with_the_character_escaped() {
    // Before: `check` printed the escape sequence, which cleared the terminal.
    for bad in [
        "\u{1b}[2Jdb",
        "db\u{7}",
        "user\u{202E}sresu",
        "a\rb",
        "\u{9b}31m",
    ] {
        let mut l = check::parse(tierlab::shipped::find("mm4.ron").unwrap_or_default());
        l.nodes[1].name = bad.into();
        let p = problems(&l);
        assert_eq!(p.len(), 1, "{bad:?}: {p:?}");
        assert!(p[0].contains("node #1"), "{}", p[0]);
        assert!(p[0].contains("\\u{"), "{}", p[0]);
        assert!(!p[0].chars().any(input::unsafe_char), "{:?}", p[0]);
    }
}

#[test]
fn positions_and_goals_must_be_finite_and_bounded() {
    // Before: NaN and infinite positions and goals were accepted (a NaN goal is never met, a
    // NaN position puts the node nowhere on the canvas).
    let text = r#"(nodes: [
        (id: 0, name: "users", pos: (x: NaN, y: 0), kind: client(qps: 10)),
        (id: 1, name: "app", pos: (x: 0, y: inf), kind: app_server()),
    ], wires: [(from: 0, to: 1)],
    goals: [(metric: latency_p99_ms, at_most: NaN), (metric: throughput_rps, at_least: 1e300)])"#;
    let p = problems(&check::parse(text));
    let all = p.join("\n");
    assert_eq!(p.len(), 4, "{all}");
    assert!(all.contains("users: pos = (NaN, 0)"), "{all}");
    assert!(all.contains("app: pos = (0, inf)"), "{all}");
    assert!(all.contains("goal 0 (latency_p99_ms)"), "{all}");
    assert!(all.contains("goal 1 (throughput_rps)"), "{all}");
}

#[test]
fn a_latency_beyond_the_histograms_range_is_reported_not_clamped() {
    // Before: the histogram clamped every latency to one hour, so max was 3,601,330 ms while
    // the mean (from the exact sum) was 5,399,502 ms: a mean above the max.
    // One request a second into one worker that serves for exactly an hour, over 1 ms wires:
    // the first request takes 1 h + 2 ms; the second, a second later, waits for the first and
    // takes 2 h + 2 ms - 1 s. Nothing else completes within 7,300 s.
    let l = check::parse(
        r#"(nodes: [
            (id: 0, name: "users", kind: client(qps: 1, arrivals: constant)),
            (id: 1, name: "app", kind: app_server(workers: 1, service: constant, service_ms: 3600000)),
        ], wires: [(from: 0, to: 1, latency_ms: 1)])"#,
    );
    let sim = tierlab::report::run(
        &l,
        &tierlab::report::RunConfig {
            seconds: 7300.0,
            ..Default::default()
        },
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let m = sim.metrics();
    assert_eq!(m.requests.completed, 2);
    let (first, second) = (3_600_002.0, 7_199_002.0);
    let lat = m.latency_ms;
    assert!((lat.mean - (first + second) / 2.0).abs() < 1e-6, "{lat:?}");
    // The histogram keeps three significant figures: the max is the second latency's bucket.
    assert!(lat.max >= second && lat.max <= second * 1.001, "{lat:?}");
    assert!(lat.mean <= lat.max, "{lat:?}");
}

#[test]
fn seconds_shorter_than_a_tick_are_refused() {
    // Before: `--seconds 0.0001` ran one 1 ms tick and reported 0.001 simulated seconds.
    let o = Process::new(env!("CARGO_BIN_EXE_tierlab"))
        .args(["run", "mm4.ron", "--seconds", "0.0001"])
        .current_dir(check::repo(""))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("at least one tick (1 ms"), "{stderr}");
}
