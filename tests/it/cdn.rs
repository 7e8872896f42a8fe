//! The CDN edge cache against theory: its hit ratio against Che's approximation for an LRU
//! cache of its capacity under the client's Zipf keys (and a TTL-only edge against the
//! renewal formula of a TTL cache), the origin's load reduced by that hit ratio, the shipped
//! layout's header figures, and the window showing the edge's hit ratio. Every expectation is
//! computed here, never read from the core.

use rayon::prelude::*;
use tierlab::layout::Layout;
use tierlab::sim::{CdnMetrics, Metrics};

use crate::check::{self, SEEDS};
use crate::theory::{che_hit_ratio as che, zipf};

/// Client -> CDN edge -> app server. The app server is large enough that nothing queues.
fn edge_layout(
    qps: f64,
    read_share: f64,
    cacheable: f64,
    keys: u32,
    alpha: f64,
    capacity: u32,
    ttl_s: f64,
) -> Layout {
    check::parse(&format!(
        "(version: 1, name: \"edge\", seed: 1, tick_ms: 1.0,
          nodes: [
            (id: 0, name: \"client\", kind: client(qps: {qps}, read_share: {read_share},
                cacheable_share: {cacheable}, keys: {keys}, key_dist: zipf,
                key_zipf_alpha: {alpha})),
            (id: 1, name: \"edge\", kind: cdn(capacity: {capacity}, ttl_s: {ttl_s},
                latency_ms: 0.5)),
            (id: 2, name: \"origin\", kind: app_server(workers: 512, service_ms: 0.05)),
          ],
          wires: [(from: 0, to: 1, latency_ms: 1.0), (from: 1, to: 2, latency_ms: 0.5)])"
    ))
}

/// Run `layout` on `seed` (warm-up uncounted) and read the metrics and the one edge.
fn run_edge(layout: &Layout, seed: u64, warmup_s: f64, seconds: f64) -> (Metrics, CdnMetrics) {
    let sim = check::run_sim(layout, seed, warmup_s, seconds);
    let edges = sim.cdn_metrics();
    assert_eq!(edges.len(), 1, "one edge");
    (sim.metrics(), edges[0].clone())
}

/// A measured hit ratio against its expectation, as an absolute error.
struct HitRow {
    case: String,
    seed: u64,
    measured: f64,
    expected: f64,
    limit: f64,
}

fn assert_hit_rows(title: &str, rows: &[HitRow]) {
    println!("{title}");
    let mut missed = Vec::new();
    for r in rows {
        let err = r.measured - r.expected;
        let line = format!(
            "  {:<30} seed {:>3}  hit ratio measured {:.4}  theory {:.4}  error {:+.4} (limit {:.3})",
            r.case, r.seed, r.measured, r.expected, err, r.limit
        );
        println!("{line}");
        // A NaN figure is a miss too.
        if err.is_nan() || err.abs() > r.limit {
            missed.push(line);
        }
    }
    assert!(missed.is_empty(), "{title}:\n{}", missed.join("\n"));
}

#[test]
fn the_edge_hit_ratio_follows_che_for_its_capacity_and_the_zipf_keys() {
    const QPS: f64 = 4000.0;
    const WARMUP_S: f64 = 20.0;
    const SECONDS: f64 = 60.0;
    // (keys, Zipf exponent, capacity); TTL 0: objects never expire, so only LRU evicts.
    let configs = [
        (10_000u32, 0.8, 1000u32),
        (10_000, 1.1, 200),
        (2000, 0.6, 500),
    ];
    let cases: Vec<_> = configs
        .iter()
        .flat_map(|&c| SEEDS.map(|s| (c, s)))
        .collect();
    let rows: Vec<HitRow> = cases
        .par_iter()
        .map(|&((keys, alpha, capacity), seed)| {
            // Some reads are writes and some uncacheable: Che depends only on the popularity
            // of the cacheable stream, which a per-request draw leaves Zipf.
            let layout = edge_layout(QPS, 0.9, 0.7, keys, alpha, capacity, 0.0);
            let (_, edge) = run_edge(&layout, seed, WARMUP_S, SECONDS);
            HitRow {
                case: format!("K {keys} a {alpha} C {capacity}"),
                seed,
                measured: edge.hit_ratio,
                expected: che(&zipf(keys, alpha), f64::from(capacity)),
                limit: 0.01,
            }
        })
        .collect();
    assert_hit_rows("CDN edge hit ratio vs Che's approximation (LRU)", &rows);
}

/// With room for every key, only the TTL evicts. An object is filled at a miss and expires
/// `ttl` later whatever its hits (a hit does not renew it), so each key cycles: one miss,
/// then every request within the TTL hits; a key requested at rate l gets l T hits per miss,
/// h = l T / (1 + l T) (the renewal argument; the fill lands after the origin's round trip
/// of 1 ms, short beside the gaps of any key but the hottest).
#[test]
fn a_ttl_only_edge_follows_the_renewal_formula_of_a_ttl_cache() {
    const QPS: f64 = 2000.0;
    const TTL_S: f64 = 1.0;
    let (keys, alpha) = (5000u32, 0.9);
    let rows: Vec<HitRow> = SEEDS
        .par_iter()
        .map(|&seed| {
            let layout = edge_layout(QPS, 1.0, 1.0, keys, alpha, keys, TTL_S);
            let (_, edge) = run_edge(&layout, seed, 10.0, 60.0);
            let p = zipf(keys, alpha);
            let expected: f64 = p
                .iter()
                .map(|q| {
                    let lt = q * QPS * TTL_S;
                    q * lt / (1.0 + lt)
                })
                .sum();
            HitRow {
                case: format!("K {keys} a {alpha} TTL {TTL_S} s"),
                seed,
                measured: edge.hit_ratio,
                expected,
                limit: 0.01,
            }
        })
        .collect();
    assert_hit_rows("TTL-only CDN edge vs l T / (1 + l T)", &rows);
}

/// The origin (an app server behind the edge) serves what the edge passes on:
/// (1 - h) of the cacheable reads, every uncacheable read and every write, h from Che.
#[test]
fn the_origin_load_is_reduced_by_the_edge_hit_ratio() {
    const QPS: f64 = 4000.0;
    const SECONDS: f64 = 60.0;
    let (read_share, cacheable) = (0.9, 0.6);
    let (keys, alpha, capacity) = (10_000u32, 0.9, 500u32);
    let h = che(&zipf(keys, alpha), f64::from(capacity));
    let per_s = QPS * (read_share * cacheable * (1.0 - h) + read_share * (1.0 - cacheable))
        + QPS * (1.0 - read_share);
    let rows: Vec<check::Row> = SEEDS
        .par_iter()
        .map(|&seed| {
            let layout = edge_layout(QPS, read_share, cacheable, keys, alpha, capacity, 0.0);
            let (m, _) = run_edge(&layout, seed, 20.0, SECONDS);
            let origin = check::node_named(&m, "origin");
            // Noise: a Poisson count of n = per_s x SECONDS has a relative standard error of
            // 1/sqrt(n); Che's bias of at most 0.01 in h moves the rate by QPS x 0.54 x 0.01.
            let n = per_s * SECONDS;
            let bias = QPS * read_share * cacheable * 0.01 / per_s;
            check::Row {
                case: format!("h {h:.3} (Che)"),
                seed,
                figure: "origin rps",
                measured: origin.served as f64 / SECONDS,
                expected: per_s,
                tolerance: bias + 4.0 / n.sqrt(),
            }
        })
        .collect();
    check::assert_rows(
        "origin requests/s behind a CDN edge vs (1 - h) cacheable + the rest",
        &rows,
    );
}

/// cdn.ron: its header's edge hit ratio is Che's for its capacity and keys, the origin's
/// share follows from it, and the run agrees with both.
#[test]
fn the_shipped_cdn_layout_says_its_figures() {
    let text = tierlab::shipped::find("cdn.ron").unwrap_or_else(|| panic!("cdn is shipped"));
    let header: String = text
        .lines()
        .take_while(|l| l.trim_start().starts_with("//"))
        .map(|l| l.trim_start().trim_start_matches('/').trim())
        .collect::<Vec<_>>()
        .join(" ");
    let layout = check::parse(text);
    let client = layout
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            tierlab::layout::NodeKind::Client(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a client"));
    let edge = layout
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            tierlab::layout::NodeKind::Cdn(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("an edge"));
    let app = layout
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            tierlab::layout::NodeKind::AppServer(a) => Some(a.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("an app pool"));
    let h = che(
        &zipf(client.keys, client.key_zipf_alpha),
        f64::from(edge.capacity),
    );
    let cacheable = client.read_share * client.cacheable_share;
    let origin_share = 1.0 - cacheable * h;
    let held = f64::from(edge.capacity) / f64::from(client.keys);
    let load_without = client.qps * app.service_ms / 1e3 / f64::from(app.count * app.workers);
    for figure in [
        format!("holding {:.0} % of the objects", 100.0 * held),
        format!("about {:.0} % of the cacheable reads", 100.0 * h),
        format!("serves {:.0} % of the requests", 100.0 * origin_share),
        format!("load {load_without:.2}"),
    ] {
        assert!(
            header.contains(&figure),
            "cdn.ron should say `{figure}`, but reads:\n{header}"
        );
    }
    let rows: Vec<HitRow> = SEEDS
        .par_iter()
        .map(|&seed| {
            let (m, e) = run_edge(&layout, seed, 20.0, 40.0);
            let origin_calls = e.origin_calls() as f64;
            let at_edge = (e.counts.hits + e.counts.misses + e.counts.forwarded) as f64;
            println!(
                "  seed {seed}: origin share measured {:.4}, theory {origin_share:.4}; \
                 p50 {:.1} ms",
                origin_calls / at_edge,
                m.latency_ms.p50
            );
            assert!(
                (origin_calls / at_edge - origin_share).abs() <= 0.01,
                "seed {seed}: the origin's share"
            );
            HitRow {
                case: "cdn.ron".into(),
                seed,
                measured: e.hit_ratio,
                expected: h,
                limit: 0.01,
            }
        })
        .collect();
    assert_hit_rows("cdn.ron's edge vs Che", &rows);
}

/// The window: open the shipped layout, play, and the summary strip shows the edge's hit
/// ratio (what the core counted, as a percentage) and the origin's load.
#[test]
fn the_window_shows_the_edge_hit_ratio_of_the_shipped_layout() {
    use egui_kittest::kittest::Queryable as _;
    let layout =
        check::parse(tierlab::shipped::find("cdn.ron").unwrap_or_else(|| panic!("cdn is shipped")));
    let mut h = crate::window::open("cdn", Some(layout), 100);
    h.get_by_label("Play").click();
    crate::window::frames(&mut h, 40);
    h.get_by_label("Pause").click();
    crate::window::frames(&mut h, 3);
    let s = crate::window::sim(&h);
    assert!(s.now_ns() >= 2_000_000_000, "two simulated seconds");
    let edges = s.cdn_metrics();
    let e = &edges[0];
    assert!(e.hit_ratio > 0.3, "the edge answers reads: {}", e.hit_ratio);
    // The same figures computed here from the core's counts, as the strip writes them.
    let ratio = e.counts.hits as f64 / (e.counts.hits + e.counts.misses) as f64;
    let shown = format!("edge hit ratio {:.0} %", 100.0 * ratio);
    println!("the window shows: {shown}");
    h.get_by_label(&shown);
    h.get_by_label_contains("origin ");
}

/// The stepper's core on cdn.ron with the client's own traffic off: a first read of a key
/// misses at the edge and reaches the origin, the same read again is an edge hit that never
/// leaves the edge, and a write passes through; each step is a typed record in the trace.
#[test]
fn a_sent_read_misses_then_hits_at_the_edge_and_a_write_passes_through() {
    use tierlab::layout::NodeKind;
    use tierlab::sim::{Outcome, Trace, What};
    let mut l = check::parse(tierlab::shipped::find("cdn.ron").unwrap_or_else(|| panic!("cdn")));
    let client = l
        .node_named("users")
        .map(|n| n.id)
        .unwrap_or_else(|| panic!("users"));
    if let Some(NodeKind::Client(c)) = l.node_mut(client).map(|n| &mut n.kind) {
        c.qps = 0.0;
    }
    let mut sim = crate::stepper::core(&l);
    let mut send = |read: bool| crate::stepper::send(&mut sim, client, read, 42);
    let edge_records = |t: &Trace| -> Vec<&'static str> {
        t.decisions
            .iter()
            .filter_map(|d| match d.what {
                What::EdgeHit { .. } => Some("edge hit"),
                What::EdgeMiss { .. } => Some("edge miss"),
                What::EdgeForwarded { .. } => Some("edge forwarded"),
                What::Balanced { .. } => Some("balanced"),
                _ => None,
            })
            .collect()
    };
    let cold = send(true);
    let warm = send(true);
    let write = send(false);
    for (t, want) in [
        (&cold, vec!["edge miss", "balanced"]),
        (&warm, vec!["edge hit"]),
        (&write, vec!["edge forwarded", "balanced"]),
    ] {
        println!("  {:?}: {:?}", t.outcome, edge_records(t));
        assert_eq!(edge_records(t), want);
    }
    assert_eq!(cold.outcome, Some(Outcome::Read));
    assert_eq!(warm.outcome, Some(Outcome::Read));
    assert_eq!(write.outcome, Some(Outcome::Write));
    // The hit never crossed the long wire to the origin: users -> edge and back, two hops.
    assert_eq!(warm.hops.len(), 2, "{:?}", warm.hops);
    let took = |t: &Trace| t.end_ns.unwrap_or(0) - t.born_ns;
    assert!(
        took(&warm) * 5 < took(&cold),
        "a hit is much faster than a miss"
    );
}

/// `check` on CDN edges: one wired to no origin is an error naming it, a bad value is an
/// error naming the node and the field, an edge may not call a database, and an edge whose
/// clients send no cacheable reads is a warning.
#[test]
fn check_names_the_edge_and_the_field_of_each_problem() {
    use tierlab::layout::Severity;
    let text = |edge: &str, wires: &str, cacheable: f64| {
        format!(
            "(version: 1, name: \"edge check\", seed: 1, tick_ms: 1.0,
              nodes: [
                (id: 0, name: \"users\", kind: client(cacheable_share: {cacheable})),
                (id: 1, name: \"front\", kind: cdn({edge})),
                (id: 2, name: \"app\", kind: app_server()),
                (id: 3, name: \"db\", kind: database()),
              ],
              wires: [{wires}])"
        )
    };
    let problems = |t: String| -> Vec<(Severity, String)> {
        tierlab::layout::check(&check::parse(&t))
            .into_iter()
            .map(|p| (p.severity, format!("{}: {}", p.place, p.message)))
            .collect()
    };
    let ok = problems(text("", "(from: 0, to: 1), (from: 1, to: 2)", 0.5));
    assert!(ok.is_empty(), "{ok:?}");
    let lonely = problems(text("", "(from: 0, to: 1)", 0.5));
    println!("{lonely:?}");
    assert!(lonely.iter().any(|(s, m)| *s == Severity::Error
        && m.starts_with("front: ")
        && m.contains("must sit in front of an entry, a load balancer or an app server")));
    let bad = problems(text(
        "capacity: 0, ttl_s: -1, latency_ms: 20000",
        "(from: 0, to: 1), (from: 1, to: 2)",
        0.5,
    ));
    println!("{bad:?}");
    for field in ["capacity = 0", "ttl_s = -1", "latency_ms = 20000"] {
        assert!(
            bad.iter().any(|(s, m)| *s == Severity::Error
                && m.starts_with("front: ")
                && m.contains(field)),
            "{field}: {bad:?}"
        );
    }
    let to_db = problems(text(
        "",
        "(from: 0, to: 1), (from: 1, to: 2), (from: 1, to: 3)",
        0.5,
    ));
    assert!(
        to_db
            .iter()
            .any(|(s, m)| *s == Severity::Error && m.contains("a CDN edge cannot call a database")),
        "{to_db:?}"
    );
    let nothing_cacheable = problems(text("", "(from: 0, to: 1), (from: 1, to: 2)", 0.0));
    assert_eq!(nothing_cacheable.len(), 1, "{nothing_cacheable:?}");
    assert_eq!(nothing_cacheable[0].0, Severity::Warning);
    assert!(nothing_cacheable[0].1.contains("cacheable_share is 0"));
}
