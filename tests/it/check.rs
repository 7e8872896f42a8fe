//! Shared helpers: layouts built in code, headless runs on fixed seeds, and figure tables.

use std::path::{Path, PathBuf};

use tierlab::layout::{self, AppParams, ClientParams, Layout, Node, NodeId, NodeKind, Pos, Wire};
use tierlab::report::{self, RunConfig};
use tierlab::sim::{FailReason, Metrics, Sim, TraceConfig};

/// The seeds every statistical test runs on, chosen once before any test ran and never tuned.
pub const SEEDS: [u64; 3] = [11, 22, 33];

/// A path inside the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Run `tierlab args...` (the built binary) from the repository root.
pub fn tierlab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tierlab"))
        .args(args)
        .current_dir(repo(""))
        .output()
        .unwrap_or_else(|e| panic!("cannot start tierlab: {e}"))
}

/// Parse RON text, failing the test with the user-facing message when it does not load.
pub fn parse(text: &str) -> Layout {
    layout::from_ron(text).unwrap_or_else(|e| panic!("the layout does not load: {e}"))
}

/// The error message a user sees for `text`, or a panic when it loads.
pub fn load_error(text: &str) -> String {
    match layout::from_ron(text) {
        Ok(_) => panic!("expected a load error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// One client (node 0, "client") wired with latency 0 to one app server (node 1, "app").
pub fn client_to_server(client: ClientParams, server: AppParams) -> Layout {
    Layout {
        name: "client to server".into(),
        next_id: 2,
        nodes: vec![
            Node {
                id: NodeId(0),
                name: "client".into(),
                pos: Pos::default(),
                kind: NodeKind::Client(client),
            },
            Node {
                id: NodeId(1),
                name: "app".into(),
                pos: Pos { x: 300.0, y: 0.0 },
                kind: NodeKind::AppServer(server),
            },
        ],
        wires: vec![Wire::new(NodeId(0), NodeId(1), 0.0)],
        ..Layout::default()
    }
}

/// Run `layout` headless on `seed`: `warmup_s` uncounted, then `seconds` measured; traces off.
pub fn run(layout: &Layout, seed: u64, warmup_s: f64, seconds: f64) -> Metrics {
    run_sim(layout, seed, warmup_s, seconds).metrics()
}

/// `run`, giving the core itself (for what `Metrics` does not hold).
pub fn run_sim(layout: &Layout, seed: u64, warmup_s: f64, seconds: f64) -> Sim {
    let config = RunConfig {
        seconds,
        warmup_s,
        seed: Some(seed),
        trace: TraceConfig {
            every: 0,
            capacity: 0,
            keep_ns: 0,
        },
    };
    match report::run(layout, &config) {
        Ok(sim) => sim,
        Err(problems) => panic!("the layout cannot run: {problems:?}"),
    }
}

/// Requests that failed for `reason`.
pub fn failed_by(m: &Metrics, reason: FailReason) -> u64 {
    m.failures
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or(0, |(_, n)| *n)
}

/// `(measured - expected) / expected`.
pub fn rel_err(measured: f64, expected: f64) -> f64 {
    (measured - expected) / expected
}

/// One compared figure of one run.
#[derive(Clone, Debug)]
pub struct Row {
    pub case: String,
    pub seed: u64,
    pub figure: &'static str,
    pub measured: f64,
    pub expected: f64,
    /// Allowed relative error.
    pub tolerance: f64,
}

impl Row {
    /// The relative error.
    pub fn err(&self) -> f64 {
        rel_err(self.measured, self.expected)
    }

    /// Within tolerance (a NaN figure never is).
    pub fn passes(&self) -> bool {
        self.err().abs() <= self.tolerance
    }

    fn line(&self) -> String {
        let e = self.err();
        format!(
            "{:<28} seed {:>3}  {:<12} measured {:>10.4}  theory {:>10.4}  error {:>+7.2} %  (limit {:.0} %){}",
            self.case,
            self.seed,
            self.figure,
            self.measured,
            self.expected,
            e * 100.0,
            self.tolerance * 100.0,
            if self.passes() { "" } else { "  MISSED" }
        )
    }
}

/// Print every row (visible with `--nocapture`), then fail listing every row out of tolerance.
pub fn assert_rows(title: &str, rows: &[Row]) {
    println!("{title}");
    for r in rows {
        println!("  {}", r.line());
    }
    let missed: Vec<String> = rows.iter().filter(|r| !r.passes()).map(Row::line).collect();
    assert!(
        missed.is_empty(),
        "{title}: {} figure(s) out of tolerance:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

/// The one row of a test's table of runs that `is` picks (the table is complete, so a missing
/// row is a bug in the test: `what` names it).
pub fn row<T>(rows: &[T], what: impl std::fmt::Display, is: impl Fn(&T) -> bool) -> &T {
    rows.iter()
        .find(|r| is(r))
        .unwrap_or_else(|| panic!("{what}"))
}

/// A run of `text` on `seed` with a 1 s warm-up and tracing off.
pub fn quiet_sim(text: &str, seed: u64) -> tierlab::sim::Sim {
    tierlab::sim::Sim::new(
        &parse(text),
        tierlab::sim::SimConfig {
            seed: Some(seed),
            warmup_s: 1.0,
            trace: TraceConfig {
                every: 0,
                capacity: 0,
                keep_ns: 0,
            },
        },
    )
    .unwrap_or_else(|e| panic!("runs: {e:?}"))
}

/// The node (or member) of a report named `name`.
pub fn node_named<'a>(m: &'a Metrics, name: &str) -> &'a tierlab::sim::NodeMetrics {
    m.nodes
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}
