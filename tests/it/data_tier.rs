//! The data tier through the engine (issue 4, "Must show"): the read ladder (cache, read
//! replicas), shards and hot keys, stale reads, a growing cache cluster, failover and lost
//! writes, the size ladder and its price, autoscaling, and the thundering herd after a flush.
//! Every case is a layout run by `tierlab::sim::Sim`.
//!
//! Statistical cases run on the three fixed seeds of `check::SEEDS` in parallel and print their
//! figures (`cargo test --test it data_tier -- --nocapture`); each seed must pass.

use rayon::prelude::*;
use tierlab::layout::{Command, KindTag, NodeId, Size, Target};
use tierlab::report;
use tierlab::sim::{FailReason, Metrics, NodeMetrics, Sim, SimConfig, TraceConfig, UnitId};

use crate::check::{self, Row, SEEDS, row};

/// A simulation of `text` on `seed`, traces off.
fn sim(text: &str, seed: u64, warmup_s: f64) -> Sim {
    let layout = check::parse(text);
    Sim::new(
        &layout,
        SimConfig {
            seed: Some(seed),
            warmup_s,
            trace: TraceConfig {
                every: 0,
                capacity: 0,
                keep_ns: 0,
            },
        },
    )
    .unwrap_or_else(|p| panic!("the layout cannot run: {p:?}"))
}

/// Run `text` on `seed`: `warmup_s` uncounted, then `seconds` measured.
fn run(text: &str, seed: u64, warmup_s: f64, seconds: f64) -> Metrics {
    check::run(&check::parse(text), seed, warmup_s, seconds)
}

/// The instance called `name`.
fn node<'a>(m: &'a Metrics, name: &str) -> &'a NodeMetrics {
    m.nodes
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no instance called {name}"))
}

/// The instances of kind `kind`.
fn of_kind(m: &Metrics, kind: KindTag) -> Vec<&NodeMetrics> {
    m.nodes.iter().filter(|n| n.kind == kind).collect()
}

/// Series samples `(end time s, value)` of one run-wide series.
fn samples(sim: &Sim, pick: impl Fn(&tierlab::sim::Series) -> Vec<f32>) -> Vec<(f64, f64)> {
    let s = sim.series();
    s.time_s
        .iter()
        .zip(pick(s))
        .map(|(t, v)| (f64::from(t), f64::from(v)))
        .collect()
}

/// Mean of the samples whose end time is in `(from, to]`.
fn mean_in(xs: &[(f64, f64)], from: f64, to: f64) -> f64 {
    let v: Vec<f64> = xs
        .iter()
        .filter(|(t, _)| *t > from + 1e-6 && *t <= to + 1e-6)
        .map(|(_, x)| *x)
        .collect();
    assert!(!v.is_empty(), "no samples in ({from}, {to}]");
    v.iter().sum::<f64>() / v.len() as f64
}

// ----- The read ladder -----

/// Reads only, Zipf keys: one app pool, a one-worker database at 80 % (3,200 reads/s of 0.25
/// ms), and whatever rung `EXTRA` adds (a cache, read replicas).
const LADDER: &str = r#"(
    name: "read ladder",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 3200, read_share: 1.0, keys: 10000, key_dist: zipf, key_zipf_alpha: 0.8)),
        (id: 1, name: "app", kind: app_server(workers: 256, service_ms: 0.2)),
        (id: 2, name: "db", kind: database(workers: 1, read_ms: 0.25, reads: READS)),
        EXTRA
    ],
    wires: [(from: 0, to: 1), CACHE_WIRE (from: 1, to: 2, latency_ms: 0.1)],
    REPLICATION
)"#;

const CACHE_NODE: &str =
    r#"(id: 4, name: "cache", kind: cache(capacity_entries: 1000, hit_ms: 0.1, workers: 64)),"#;
const REPLICA_NODES: &str = r#"(id: 5, name: "r1", kind: database(workers: 1, read_ms: 0.25)),
        (id: 6, name: "r2", kind: database(workers: 1, read_ms: 0.25)),"#;

fn ladder(cache: bool, replicas: Option<&str>) -> String {
    let mut extra = String::new();
    if cache {
        extra.push_str(CACHE_NODE);
    }
    if replicas.is_some() {
        extra.push_str(REPLICA_NODES);
    }
    LADDER
        .replace("READS", replicas.unwrap_or("primary"))
        .replace("EXTRA", &extra)
        .replace(
            "CACHE_WIRE",
            if cache {
                "(from: 1, to: 4, latency_ms: 0.1),"
            } else {
                ""
            },
        )
        .replace(
            "REPLICATION",
            if replicas.is_some() {
                "replication: [(primary: 2, replica: 5), (primary: 2, replica: 6)],"
            } else {
                ""
            },
        )
}

#[test]
fn the_read_ladder_cuts_database_reads_as_theory_says() {
    struct Rung {
        seed: u64,
        name: &'static str,
        m: Metrics,
    }
    let cases: Vec<(&'static str, String)> = vec![
        ("one database", ladder(false, None)),
        ("+ cache", ladder(true, None)),
        (
            "+ 2 replicas (p+r)",
            ladder(false, Some("primary_and_replicas")),
        ),
        ("+ 2 replicas (r only)", ladder(false, Some("replicas"))),
        (
            "+ cache + 2 replicas",
            ladder(true, Some("primary_and_replicas")),
        ),
    ];
    let rungs: Vec<Rung> = SEEDS
        .par_iter()
        .flat_map(|&seed| {
            cases.par_iter().map(move |(name, text)| Rung {
                seed,
                name,
                m: run(text, seed, 2.0, 10.0),
            })
        })
        .collect();
    let get = |seed: u64, name: &str| {
        &row(&rungs, format!("no rung {name}"), |r| {
            r.seed == seed && r.name == name
        })
        .m
    };
    let mut rows = Vec::new();
    println!("read ladder, 3,200 reads/s, 10 s measured:");
    for &seed in &SEEDS {
        let base = get(seed, "one database");
        let reads_alone = node(base, "db").served as f64;
        // A cache with hit ratio h leaves (1 - h) of the reads to the database.
        let c = get(seed, "+ cache");
        let h = c.cache_hit_ratio;
        let lookups = (c.cache_hits + c.cache_misses) as f64;
        rows.push(Row {
            case: format!("cache, h = {h:.3}"),
            seed,
            figure: "db reads",
            measured: node(c, "db").served as f64,
            expected: lookups * (1.0 - h),
            tolerance: 0.03,
        });
        // R = 2 replicas: the reads the primary carried alone, over R + 1 or R databases.
        for (name, dbs, spread) in [
            ("+ 2 replicas (p+r)", vec!["db", "r1", "r2"], 3.0),
            ("+ 2 replicas (r only)", vec!["r1", "r2"], 2.0),
        ] {
            let m = get(seed, name);
            for db in dbs {
                rows.push(Row {
                    case: format!("{name} {db}"),
                    seed,
                    figure: "db reads",
                    measured: node(m, db).served as f64,
                    expected: reads_alone / spread,
                    tolerance: 0.05,
                });
            }
            if spread == 2.0 {
                assert_eq!(
                    node(m, "db").served,
                    0,
                    "reads: replicas spares the primary"
                );
            }
        }
        // Each rung: the same read rate, lower database utilization and p99.
        let mut last: Option<(f64, f64)> = None;
        for name in ["one database", "+ cache", "+ cache + 2 replicas"] {
            let m = get(seed, name);
            let busiest = of_kind(m, KindTag::Database)
                .iter()
                .map(|n| n.cpu_utilization)
                .fold(0.0, f64::max);
            let p99 = m.latency_ms.p99;
            println!(
                "  seed {seed:>3}  {name:<22} {:>7.0} req/s  busiest db {:>5.1} %  p99 {:>6.2} ms  \
                 hit ratio {:.3}",
                m.throughput_rps,
                busiest * 100.0,
                p99,
                m.cache_hit_ratio
            );
            assert!(
                check::rel_err(m.throughput_rps, 3200.0).abs() < 0.03,
                "{name}: same read rate"
            );
            assert_eq!(m.requests.failed, 0, "{name}");
            if let Some((u, p)) = last {
                assert!(busiest < u, "seed {seed} {name}: db utilization falls");
                assert!(p99 < p, "seed {seed} {name}: p99 falls");
            }
            last = Some((busiest, p99));
        }
    }
    check::assert_rows("read ladder: database reads", &rows);
}

// ----- Shards -----

/// Writes only, through a shard router over `SHARDS`.
const SHARDED: &str = r#"(
    name: "shards",
    nodes: [
        (id: 0, name: "client", kind: client(qps: QPS, read_share: 0.0, keys: 100000, key_dist: DIST, key_zipf_alpha: 1.5)),
        (id: 1, name: "app", kind: app_server(workers: 512, service_ms: 0.1)),
        (id: 2, name: "router", kind: shard_router(partitioning: hash, latency_ms: 0)),
        SHARDS
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2), WIRES],
)"#;

/// One primary without a router: the 1x baseline.
const ONE_PRIMARY: &str = r#"(
    name: "one primary",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 1200, read_share: 0.0, keys: 100000)),
        (id: 1, name: "app", kind: app_server(workers: 512, service_ms: 0.1)),
        (id: 3, name: "shard1", kind: database(workers: 2, write_ms: 1.0)),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 3, latency_ms: 0.1)],
)"#;

fn sharded(n: u32, qps: f64, dist: &str) -> String {
    let shards: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                "(id: {}, name: \"shard{i}\", kind: database(workers: 2, write_ms: 1.0)),",
                2 + i
            )
        })
        .collect();
    let wires: Vec<String> = (1..=n)
        .map(|i| format!("(from: 2, to: {}, latency_ms: 0.1)", 2 + i))
        .collect();
    SHARDED
        .replace("QPS", &qps.to_string())
        .replace("DIST", dist)
        .replace("SHARDS", &shards.join("\n"))
        .replace("WIRES", &wires.join(", "))
}

#[test]
fn hash_shards_lift_the_write_ceiling_and_a_hot_key_makes_a_hot_shard() {
    const N: u32 = 4;
    let cases: Vec<(&'static str, String)> = vec![
        ("1 primary, 1x", ONE_PRIMARY.to_string()),
        ("4 shards, 4x", sharded(N, 4800.0, "uniform")),
        ("4 shards, hot key", sharded(N, 1200.0, "zipf")),
    ];
    let runs: Vec<(u64, &str, Metrics)> = SEEDS
        .par_iter()
        .flat_map(|&seed| {
            cases
                .par_iter()
                // 30 s: over 10 s a p99 of some 12,000 writes a shard moved by up to 18 %
                // between seeds, more than the 10 % the comparison allows.
                .map(move |(name, text)| (seed, *name, run(text, seed, 1.0, 30.0)))
        })
        .collect();
    let get = |seed: u64, name: &str| {
        &row(&runs, format!("no run {name}"), |r| {
            r.0 == seed && r.1 == name
        })
        .2
    };
    let mut rows = Vec::new();
    println!("shards: writes at 1,200/s on one primary, 4,800/s on 4 hash shards:");
    for &seed in &SEEDS {
        let one = get(seed, "1 primary, 1x");
        let four = get(seed, "4 shards, 4x");
        let base_util = node(one, "shard1").cpu_utilization;
        for s in of_kind(four, KindTag::Database) {
            rows.push(Row {
                case: format!("4 shards 4x {}", s.name),
                seed,
                figure: "utilization",
                measured: s.cpu_utilization,
                expected: base_util,
                tolerance: 0.10,
            });
        }
        rows.push(Row {
            case: "4 shards 4x".into(),
            seed,
            figure: "write p99 ms",
            measured: four.latency_ms.p99,
            expected: one.latency_ms.p99,
            tolerance: 0.10,
        });
        assert!(
            check::rel_err(four.throughput_rps, 4800.0).abs() < 0.03,
            "{:?}",
            four.requests
        );
        // A hot key (Zipf 1.5: key 1 alone is over a third of the writes) makes a hot shard.
        let hot = get(seed, "4 shards, hot key");
        let served: Vec<(String, u64)> = of_kind(hot, KindTag::Database)
            .iter()
            .map(|n| (n.name.clone(), n.served))
            .collect();
        let total: u64 = served.iter().map(|s| s.1).sum();
        let hottest = served.iter().map(|s| s.1).max().unwrap_or(0);
        let share = hottest as f64 / total as f64;
        println!("  seed {seed:>3}  hot key: writes per shard {served:?}, hottest {share:.3}");
        assert!(
            share > 0.45,
            "seed {seed}: the hot key's shard takes far more than 1/{N}: {share:.3}"
        );
    }
    check::assert_rows("4 hash shards at 4x vs one primary at 1x", &rows);
}

#[test]
fn adding_a_shard_reports_the_keys_that_move() {
    // Hash (a ring) moves about 1/5 of the keys going from 4 to 5 shards; hash modulo most.
    let mut moved = Vec::new();
    for partitioning in ["hash", "hash_modulo"] {
        let text = sharded(4, 1000.0, "uniform").replace(
            "partitioning: hash",
            &format!("partitioning: {partitioning}"),
        );
        let mut s = sim(&text, SEEDS[0], 0.0);
        s.run_until_s(1.0);
        s.apply(Command::AddNode(
            check::parse(
                r#"(nodes: [(id: 7, name: "shard5", kind: database(workers: 2, write_ms: 1.0))])"#,
            )
            .nodes[0]
                .clone(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        s.apply(Command::AddWire(tierlab::layout::Wire::new(
            NodeId(2),
            NodeId(7),
            0.1,
        )))
        .unwrap_or_else(|e| panic!("{e}"));
        s.run_until_s(2.0);
        let m = s.metrics();
        assert_eq!(
            m.shard_moves.len(),
            1,
            "{partitioning}: {:?}",
            m.shard_moves
        );
        let mv = &m.shard_moves[0];
        assert_eq!((mv.shards_before, mv.shards_after), (4, 5));
        assert!(
            node(&m, "shard5").served > 0,
            "{partitioning}: the new shard takes keys"
        );
        println!(
            "  {partitioning:<12} 4 -> 5 shards: {:.3} of keys moved",
            mv.moved_share
        );
        moved.push(mv.moved_share);
    }
    assert!(
        (moved[0] - 0.2).abs() < 0.05,
        "hash moves about 1/5: {}",
        moved[0]
    );
    assert!(
        (moved[1] - 0.8).abs() < 0.05,
        "modulo moves about 4/5: {}",
        moved[1]
    );
}

// ----- Stale reads -----

/// Half reads (served by the replica), half writes, 1,000 keys: each key is written once a
/// second on average.
const REPLICATED: &str = r#"(
    name: "replica lag",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 2000, read_share: 0.5, keys: 1000)),
        (id: 1, name: "app", kind: app_server(workers: 256, service_ms: 0.1)),
        (id: 2, name: "primary", kind: database(workers: 64, read_ms: 0.5, write_ms: 0.5, reads: replicas)),
        (id: 3, name: "replica", kind: database(workers: 64, read_ms: 0.5, write_ms: 0.5)),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2, latency_ms: 0.1)],
    REPLICATION
)"#;

fn replicated(mode: &str, lag_ms: f64, lag: &str) -> String {
    REPLICATED.replace(
        "REPLICATION",
        &format!(
            "replication: [(primary: 2, replica: 3, mode: {mode}, lag_ms: {lag_ms}, lag: {lag})],"
        ),
    )
}

#[test]
fn stale_reads_are_zero_without_lag_and_grow_with_it() {
    let lags = [0.0, 10.0, 100.0, 1000.0];
    let runs: Vec<(u64, Option<f64>, Metrics)> = SEEDS
        .par_iter()
        .flat_map(|&seed| {
            let mut cases: Vec<Option<f64>> = vec![None];
            cases.extend(lags.iter().map(|&l| Some(l)));
            cases.into_par_iter().map(move |lag| {
                let text = match lag {
                    None => REPLICATED.replace("REPLICATION", ""),
                    Some(l) => replicated("async", l, "constant"),
                };
                (seed, lag, run(&text, seed, 1.0, 10.0))
            })
        })
        .collect();
    let mut rows = Vec::new();
    println!("stale reads, 1,000 reads/s at the replica, each key written 1/s:");
    for &seed in &SEEDS {
        let get = |lag: Option<f64>| {
            &row(&runs, format!("no run {lag:?}"), |r| {
                r.0 == seed && r.1 == lag
            })
            .2
        };
        assert_eq!(get(None).stale_reads, 0, "no replica, no stale read");
        // The replica's one applier applies the writes in order after the lag: an M/M/1 queue
        // (1,000 writes/s arriving, Poisson; 0.5 ms each, exponential), whose time in the
        // system is A ~ Exp(mean a = 1 / (2,000/s - 1,000/s) = 1 ms). So even with no lag a
        // read finds a key written in the last apply time: with r = 1 write per key per s,
        // P(stale) = 1 - exp(-r L) E[exp(-r A)] = 1 - exp(-r L) / (1 + r a).
        let apply_s = 1.0 / (2000.0 - 1000.0);
        let p_stale = |lag_ms: f64| 1.0 - (-lag_ms / 1000.0f64).exp() / (1.0 + apply_s);
        let zero = get(Some(0.0));
        let expected = p_stale(0.0) * node(zero, "replica").served as f64;
        println!(
            "  seed {seed:>3}  lag      0 ms  stale reads {:>6} (theory {expected:.1})",
            zero.stale_reads
        );
        // A count of rare events is about Poisson: within 4 standard deviations.
        assert!(
            (zero.stale_reads as f64 - expected).abs() < 4.0 * expected.sqrt() + 1.0,
            "seed {seed}: zero lag, stale reads only within the apply time"
        );
        let mut last = zero.stale_reads;
        for &lag in &lags[1..] {
            let m = get(Some(lag));
            let reads = node(m, "replica").served as f64;
            // A read is stale when its key was written within the lag and the apply time.
            let p = p_stale(lag);
            println!(
                "  seed {seed:>3}  lag {lag:>6} ms  stale reads {:>6} of {reads:.0}",
                m.stale_reads
            );
            assert!(
                m.stale_reads > last,
                "seed {seed}: more lag, more stale reads"
            );
            last = m.stale_reads;
            // Each read is stale with probability p, nearly independently (reads of one key
            // share its write times only within one lag), so the count is close to binomial:
            // standard error sqrt(p (1 - p) / reads) on the share. Allowed: 5 standard errors,
            // as a share of p.
            let se = (p * (1.0 - p) / reads).sqrt();
            rows.push(Row {
                case: format!("lag {lag} ms"),
                seed,
                figure: "stale share",
                measured: m.stale_reads as f64 / reads,
                expected: p,
                tolerance: 5.0 * se / p,
            });
        }
    }
    check::assert_rows(
        "stale reads vs 1 - exp(-write rate per key * lag) / (1 + rate * apply time)",
        &rows,
    );
}

// ----- A growing cache cluster -----

/// Reads only, 2,000 uniform keys, a cluster of four caches that together hold every key.
const CLUSTER: &str = r#"(
    name: "cache cluster",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 5000, read_share: 1.0, keys: 2000)),
        (id: 1, name: "app", kind: app_server(workers: 256, service_ms: 0.1)),
        (id: 2, name: "cache", kind: cache(count: 4, capacity_entries: 10000, hit_ms: 0.1, placement: PLACEMENT)),
        (id: 3, name: "db", kind: database(workers: 64, read_ms: 1.0)),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2, latency_ms: 0.1), (from: 1, to: 3, latency_ms: 0.1)],
)"#;

#[test]
fn a_fifth_cache_node_keeps_consistent_hashing_warm_and_flushes_modulo() {
    let runs: Vec<(u64, &str, f64, f64)> = SEEDS
        .par_iter()
        .flat_map(|&seed| {
            ["consistent_hash", "modulo"]
                .into_par_iter()
                .map(move |placement| {
                    let mut s = sim(&CLUSTER.replace("PLACEMENT", placement), seed, 0.0);
                    s.run_until_s(3.0);
                    s.apply(Command::SetParam {
                        node: NodeId(2),
                        param: "count".into(),
                        value: 5.0,
                    })
                    .unwrap_or_else(|e| panic!("{e}"));
                    s.run_until_s(4.0);
                    let hits = samples(&s, |x| x.cache_hit_ratio.iter().collect());
                    let m = s.metrics();
                    assert_eq!(of_kind(&m, KindTag::Cache).len(), 5, "{placement}");
                    (
                        seed,
                        placement,
                        mean_in(&hits, 2.5, 3.0),
                        mean_in(&hits, 3.0, 3.5),
                    )
                })
        })
        .collect();
    println!("cache cluster 4 -> 5 at 3.0 s, hit ratio over the 0.5 s before and after:");
    for r in &runs {
        println!(
            "  seed {:>3}  {:<16} before {:.3}  after {:.3}",
            r.0, r.1, r.2, r.3
        );
    }
    for &seed in &SEEDS {
        let get = |p: &str| row(&runs, format!("no run {p}"), |r| r.0 == seed && r.1 == p);
        let (ring, modulo) = (get("consistent_hash"), get("modulo"));
        assert!(ring.2 > 0.98 && modulo.2 > 0.98, "seed {seed}: warm before");
        // A ring moves about 1/5 of the keys, modulo about 4/5.
        assert!(
            ring.3 > 0.8,
            "seed {seed}: the ring stays warm: {:.3}",
            ring.3
        );
        assert!(
            modulo.3 < 0.6,
            "seed {seed}: modulo goes cold: {:.3}",
            modulo.3
        );
        assert!(ring.3 - modulo.3 > 0.3, "seed {seed}: far higher");
    }
}

// ----- Failover and lost writes -----

/// Half reads at the replica, half writes (500/s) at the primary; the primary dies at 3 s
/// and the replica is promoted 2 s later.
const FAILOVER: &str = r#"(
    name: "failover",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 1000, read_share: 0.5, keys: 1000)),
        (id: 1, name: "app", kind: app_server(workers: 256, service_ms: 0.5)),
        (id: 2, name: "primary", kind: database(workers: 256, read_ms: 1.0, write_ms: 2.0, reads: replicas, promotion_delay_ms: 2000)),
        (id: 3, name: "replica", kind: database(workers: 256, read_ms: 1.0, write_ms: 2.0)),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2, latency_ms: 0.2)],
    replication: [(primary: 2, replica: 3, mode: MODE, lag_ms: LAG)],
    script: [(at_s: 3.0, command: kill(node: 2))],
)"#;

fn failover(mode: &str, lag_ms: f64) -> String {
    FAILOVER
        .replace("MODE", mode)
        .replace("LAG", &lag_ms.to_string())
}

#[test]
fn a_primary_kill_fails_writes_only_until_promotion() {
    SEEDS.par_iter().for_each(|&seed| {
        let mut s = sim(&failover("async", 100.0), seed, 1.0);
        s.run_until_s(8.0);
        let m = s.metrics();
        let fails = samples(&s, |x| x.failures_per_s.iter().collect());
        let ok = samples(&s, |x| x.throughput_rps.iter().collect());
        let down = failed_by(&m, FailReason::NodeDown);
        println!(
            "  seed {seed:>3}  failover: {} promotions, {down} writes failed (theory ~{:.0}), \
             failures/s before {:.0}, while down {:.0}, after promotion {:.0}; served/s after {:.0}",
            m.promotions,
            500.0 * 2.0,
            mean_in(&fails, 1.0, 3.0),
            mean_in(&fails, 3.0, 5.0),
            mean_in(&fails, 5.1, 8.0),
            mean_in(&ok, 5.1, 8.0),
        );
        assert_eq!(m.promotions, 1);
        assert_eq!(mean_in(&fails, 1.0, 3.0), 0.0, "seed {seed}: no failure before");
        for (t, f) in fails.iter().filter(|(t, _)| *t > 3.05 && *t <= 5.0) {
            assert!(*f > 0.0, "seed {seed}: writes fail while down ({t} s)");
        }
        assert_eq!(mean_in(&fails, 5.1, 8.0), 0.0, "seed {seed}: writes succeed again");
        assert!(
            check::rel_err(mean_in(&ok, 5.1, 8.0), 1000.0).abs() < 0.1,
            "seed {seed}: every request is served after the promotion"
        );
        // Only writes failed: about 500/s for the 2 s of the promotion delay.
        assert!(check::rel_err(down as f64, 1000.0).abs() < 0.15, "{down}");
        assert_eq!(m.requests.failed, down);
    });
}

fn failed_by(m: &Metrics, reason: FailReason) -> u64 {
    check::failed_by(m, reason)
}

#[test]
fn sync_replication_loses_nothing_and_async_loses_more_with_more_lag() {
    let cases: Vec<(&str, f64)> = vec![
        ("sync", 100.0),
        ("async", 10.0),
        ("async", 100.0),
        ("async", 1000.0),
    ];
    let runs: Vec<(u64, &str, f64, Metrics)> = SEEDS
        .par_iter()
        .flat_map(|&seed| {
            cases.par_iter().map(move |&(mode, lag)| {
                (seed, mode, lag, run(&failover(mode, lag), seed, 1.0, 7.0))
            })
        })
        .collect();
    println!("writes lost at failover (500 writes/s, primary killed at 3 s):");
    for &seed in &SEEDS {
        let get = |mode: &str, lag: f64| {
            &row(&runs, format!("no run {mode} {lag}"), |r| {
                r.0 == seed && r.1 == mode && r.2 == lag
            })
            .3
        };
        let sync = get("sync", 100.0);
        println!(
            "  seed {seed:>3}  sync  lag  100 ms: {} lost, mean latency {:.2} ms",
            sync.writes_lost, sync.latency_ms.mean
        );
        assert_eq!(sync.promotions, 1);
        assert_eq!(
            sync.writes_lost, 0,
            "seed {seed}: sync loses no acknowledged write"
        );
        let mut last = 0;
        for lag in [10.0, 100.0, 1000.0] {
            let m = get("async", lag);
            println!(
                "  seed {seed:>3}  async lag {lag:>4} ms: {} lost (about writes/s x lag = {:.0}), \
                 mean latency {:.2} ms",
                m.writes_lost,
                500.0 * lag / 1000.0,
                m.latency_ms.mean
            );
            assert_eq!(m.promotions, 1);
            assert!(m.writes_lost > last, "seed {seed}: more lag, more lost");
            last = m.writes_lost;
        }
        // Before the kill, synchronous writes wait for the replica's 100 ms: half the requests
        // are writes, so the mean latency rises by about 50 ms.
        let before = |mode: &str| run(&failover(mode, 100.0), seed, 1.0, 1.5).latency_ms.mean;
        let (s, a) = (before("sync"), before("async"));
        println!("  seed {seed:>3}  mean latency before the kill: sync {s:.2} ms, async {a:.2} ms");
        assert!(s > a + 40.0, "seed {seed}: sync writes are slower");
    }
}

// ----- Scaling up, and what it costs -----

/// One app server of a given size.
const ONE_BOX: &str = r#"(
    name: "one box",
    nodes: [
        (id: 0, name: "client", kind: client(qps: QPS)),
        (id: 1, name: "app", kind: app_server(workers: 8, service: constant, service_ms: 5.0, queue_capacity: 50, size: SIZE)),
    ],
    wires: [(from: 0, to: 1)],
)"#;

// The throughput ceiling of each size against USL, and its price: tests/it/sizing.rs.

#[test]
fn there_is_no_size_above_the_largest() {
    assert_eq!(Size::LARGEST, Size::X48Large);
    assert_eq!(Size::LARGEST.next_up(), None);
    assert_eq!(Size::ALL.last(), Some(&Size::LARGEST));
    let text = ONE_BOX.replace("QPS", "100");
    assert!(check::parse(&text.replace("SIZE", "xlarge_48")).nodes.len() == 2);
    let why = check::load_error(&text.replace("SIZE", "xlarge_96"));
    println!("xlarge_96: {why}");
    assert!(why.contains("xlarge_96"), "{why}");
    assert!(why.contains("app"), "says which node: {why}");
}

// ----- Autoscaling -----

/// The shipped layout `name`.
fn shipped(name: &str) -> String {
    tierlab::shipped::find(name)
        .unwrap_or_else(|| panic!("{name} is shipped"))
        .to_string()
}

/// (count, max count, scale-outs, scale-ins, flaps) of the run's one autoscaler.
fn autoscale(m: &Metrics) -> (u32, u32, u64, u64, u64) {
    assert_eq!(m.autoscale.len(), 1);
    let a = &m.autoscale[0];
    (a.count, a.max_count, a.scale_outs, a.scale_ins, a.flaps)
}

#[test]
fn an_autoscaled_pool_grows_after_its_boot_and_shrinks_back_without_flapping() {
    // saves/autoscale.ron: 200 requests/s, a step to 1,500/s at 10 s and back at 40 s; 10 ms
    // per request on 4 workers a server: 1,500/s needs ceil(1500 * 0.010 / 4 / 0.6) = 7 servers
    // at the 0.6 target. Boot 5 s, look every 2 s, cool-down 15 s.
    let text = shipped("autoscale.ron");
    let layout = check::parse(&text);
    let Some(tierlab::layout::NodeKind::AppServer(app)) =
        layout.node_named("app").map(|n| n.kind.clone())
    else {
        panic!("autoscale.ron has a pool called app");
    };
    let Some(cfg) = app.autoscale else {
        panic!("the pool is autoscaled");
    };
    let pool = layout.node_named("app").map(|n| n.id).unwrap_or(NodeId(0));
    SEEDS.par_iter().for_each(|&seed| {
        let mut s = sim(&text, seed, 0.0);
        let mut counts = Vec::new();
        for t in 1..=80 {
            s.run_until_s(f64::from(t));
            counts.push(s.layout().node(pool).map_or(0, |n| n.kind.count()));
        }
        let m = s.metrics();
        let (count, max_count, outs, ins, flaps) = autoscale(&m);
        let ok = samples(&s, |x| x.throughput_rps.iter().collect());
        let fails = samples(&s, |x| x.failures_per_s.iter().collect());
        println!(
            "  seed {seed:>3}  count per second {counts:?}\n            max {max_count}, {outs} \
             scale-outs, {ins} scale-ins, {flaps} flaps; served/s over 30-40 s {:.0}",
            mean_in(&ok, 30.0, 40.0)
        );
        // Before the step: the minimum.
        assert_eq!(counts[8], cfg.min, "seed {seed}");
        // The first new server serves nothing until its boot is over.
        let first = s
            .unit_index(UnitId {
                node: pool,
                member: cfg.min,
            })
            .unwrap_or_else(|| panic!("seed {seed}: the pool grew"));
        let served: Vec<(f64, f64)> = s
            .series()
            .time_s
            .iter()
            .zip(s.series().units[first.index()].served_per_s.iter())
            .map(|(t, v)| (f64::from(t), f64::from(v)))
            .collect();
        let started = served
            .iter()
            .find(|(_, v)| *v > 0.0)
            .map_or(f64::INFINITY, |(t, _)| *t);
        assert!(
            started > 10.0 + cfg.boot_s && started < 10.0 + cfg.boot_s + cfg.interval_s + 0.5,
            "seed {seed}: the first new server starts serving after its boot: {started} s"
        );
        // It grows to meet the step and holds it.
        assert!(max_count >= 7, "seed {seed}: {max_count}");
        assert!(
            check::rel_err(mean_in(&ok, 30.0, 40.0), 1500.0).abs() < 0.05,
            "seed {seed}: the step is met"
        );
        assert_eq!(mean_in(&fails, 30.0, 40.0), 0.0, "seed {seed}");
        // And shrinks back after the cool-down, without flapping.
        assert!(
            counts[40 + cfg.cooldown_s as usize - 5] > cfg.min,
            "seed {seed}: no scale-in right after the drop"
        );
        assert_eq!(count, cfg.min, "seed {seed}: back to the minimum");
        assert!(ins >= 1, "seed {seed}");
        assert_eq!(flaps, 0, "seed {seed}: no flapping");
    });
}

#[test]
fn the_shipped_flapping_layout_flaps() {
    let text = shipped("autoscale-flapping.ron");
    SEEDS.par_iter().for_each(|&seed| {
        let m = run(&text, seed, 0.0, 60.0);
        let (count, max_count, outs, ins, flaps) = autoscale(&m);
        println!(
            "  seed {seed:>3}  flapping layout: count {count}, max {max_count}, {outs} \
             scale-outs, {ins} scale-ins, {flaps} flaps"
        );
        assert!(flaps > 0, "seed {seed}: flaps are counted");
    });
}

/// A pool of four that its autoscaler shrinks at its first look while the members taken out
/// still hold calls (a second per call, eight workers each, about two calls each at 8
/// requests/s).
const DRAINING: &str = r#"(
    name: "draining",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 8)),
        (id: 1, name: "lb", kind: load_balancer(algorithm: round_robin, health_checks: false)),
        (id: 2, name: "app", kind: app_server(count: 4, workers: 8, service_ms: 1000.0,
            queue_capacity: 100,
            autoscale: (metric: cpu_utilization, target: 0.6, min: 1, max: 8,
                interval_s: 3, cooldown_s: 0, boot_s: 0))),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2, latency_ms: 0.2)],
)"#;

/// Scaling a pool out while some members still drain takes those members back as they are
/// (their calls kept), instead of replacing them with fresh servers. The `count` command (the
/// inspector's count, or a script) is the way a user scales out. Before the fix, the draining
/// member was replaced: its calls stayed in flight forever and freeing their workers underflowed
/// `held` ("a worker freed that was not held").
#[test]
fn scaling_out_while_members_drain_keeps_their_calls() {
    SEEDS.par_iter().for_each(|&seed| {
        let mut s = sim(DRAINING, seed, 0.0);
        let pool = NodeId(2);
        let count = |s: &Sim| s.layout().node(pool).map_or(0, |n| n.kind.count());
        // Run until the autoscaler takes members out while one of them still holds calls.
        let mut busy_drained = None;
        while s.now_ns() < 60_000_000_000 && busy_drained.is_none() {
            let before = count(&s);
            s.tick();
            let after = count(&s);
            if after < before {
                let held: u32 = (after..before)
                    .filter_map(|member| s.unit_index(UnitId { node: pool, member }))
                    .filter_map(|i| s.unit_info(i))
                    .map(|u| u.busy_workers + u.queue_len)
                    .sum();
                if held > 0 {
                    busy_drained = Some((before, after, held));
                }
            }
        }
        let Some((before, after, held)) = busy_drained else {
            panic!("seed {seed}: the pool never shrank while a member held calls");
        };
        // Scale back out at once, as a user would.
        let cmd = Command::SetParam {
            node: pool,
            param: "count".into(),
            value: f64::from(before),
        };
        s.apply(cmd)
            .unwrap_or_else(|why| panic!("seed {seed}: {why}"));
        // Stop the traffic and let every call finish: nothing may stay in flight.
        s.apply(Command::SetQps {
            node: NodeId(0),
            qps: 0.0,
        })
        .unwrap_or_else(|why| panic!("seed {seed}: {why}"));
        let stop = s.now_ns() + 30_000_000_000;
        while s.now_ns() < stop {
            s.tick();
        }
        let c = s.counts();
        println!(
            "  seed {seed:>3}  shrank {before} -> {after} with {held} calls held by the drained; \
             after scaling out and 30 s without traffic: {c:?}"
        );
        assert_eq!(
            c.in_flight, 0,
            "seed {seed}: calls lost in a replaced member"
        );
        assert_eq!(c.arrived, c.completed + c.failed, "seed {seed}");
        assert_eq!(c.failed, 0, "seed {seed}: nothing had to fail");
    });
}

// ----- The thundering herd -----

/// Reads only, 2,000 uniform keys, one cache that holds them all.
const HERD: &str = r#"(
    name: "thundering herd",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 5000, read_share: 1.0, keys: 2000)),
        (id: 1, name: "app", kind: app_server(workers: 512, service_ms: 0.1)),
        (id: 2, name: "cache", kind: cache(capacity_entries: 10000, hit_ms: 0.1)),
        (id: 3, name: "db", kind: database(workers: 64, read_ms: 1.0)),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2, latency_ms: 0.1), (from: 1, to: 3, latency_ms: 0.1)],
)"#;

#[test]
fn flushing_a_cache_sends_a_surge_of_misses_to_the_database() {
    SEEDS.par_iter().for_each(|&seed| {
        let mut s = sim(HERD, seed, 0.0);
        s.run_until_s(3.0);
        s.apply(Command::Flush(Target::node(NodeId(2))))
            .unwrap_or_else(|e| panic!("{e}"));
        s.run_until_s(5.0);
        let reads = samples(&s, |x| x.db_reads_per_s.iter().collect());
        let hits = samples(&s, |x| x.cache_hit_ratio.iter().collect());
        let before = mean_in(&reads, 2.0, 3.0);
        let surge = mean_in(&reads, 3.0, 3.1);
        let later = mean_in(&reads, 4.0, 5.0);
        println!(
            "  seed {seed:>3}  db reads/s: before the flush {before:.0}, first 100 ms after {surge:.0}, \
             a second later {later:.0}; hit ratio {:.3} -> {:.3}",
            mean_in(&hits, 2.0, 3.0),
            mean_in(&hits, 3.0, 3.1)
        );
        assert!(before < 100.0, "seed {seed}: warm, the database sees few reads");
        assert!(surge > 3000.0, "seed {seed}: the herd");
        assert!(surge > 20.0 * before.max(1.0), "seed {seed}");
        assert!(later < surge / 5.0, "seed {seed}: the cache refills");
        // The flushed cache's counters restart.
        let m = s.metrics();
        let c = node(&m, "cache").cache.unwrap_or_else(|| panic!("a cache"));
        assert!(c.keys <= 2000 && c.keys > 1500, "{c:?}");
    });
}

// ----- The report -----

#[test]
fn the_json_report_carries_the_data_tier() {
    let layout = check::parse(&ladder(true, Some("primary_and_replicas")));
    let config = report::RunConfig {
        seconds: 2.0,
        warmup_s: 1.0,
        seed: Some(SEEDS[0]),
        trace: TraceConfig {
            every: 0,
            capacity: 0,
            keep_ns: 0,
        },
    };
    let sim = report::run(&layout, &config).unwrap_or_else(|p| panic!("{p:?}"));
    let j = report::run_json(&sim, 1.0);
    let v = serde_json::to_value(&j).unwrap_or_else(|e| panic!("{e}"));
    for key in [
        "cache_hit_ratio",
        "cache_hits",
        "cache_misses",
        "stale_reads",
        "writes_lost",
        "promotions",
        "cost_usd_per_hour",
        "cost_usd_per_million_requests",
        "autoscale",
        "shard_moves",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert!(j.cache_hit_ratio > 0.3 && j.cache_hit_ratio < 0.6);
    let cache = j
        .nodes
        .iter()
        .find(|n| n.kind == "cache")
        .and_then(|n| n.cache.clone())
        .unwrap_or_else(|| panic!("the cache has counters"));
    assert_eq!(cache.keys, 1000, "full");
    assert!(cache.evictions > 0);
    // Priced: the app, the cache and three databases, all m7i.large.
    assert!(check::rel_err(j.cost_usd_per_hour, 5.0 * Size::Large.usd_per_hour()).abs() < 1e-9);
    assert!(
        j.nodes
            .iter()
            .all(|n| (n.kind == "client") == (n.usd_per_hour == 0.0))
    );
}

/// A new server starts with a cold local cache: right after a scale-out, its own hit ratio is
/// far below the warm servers', and the database sees the misses; it warms up as it serves.
#[test]
fn a_new_server_starts_with_a_cold_local_cache() {
    use tierlab::layout::{Command, NodeId};
    let text = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 3000, read_share: 1.0, keys: 2000,
            key_dist: zipf, key_zipf_alpha: 0.9)),
        (id: 1, name: "lb", kind: load_balancer()),
        (id: 2, name: "app", kind: app_server(count: 2, workers: 16, service_ms: 0.5,
            local_cache_entries: 500)),
        (id: 3, name: "db", kind: database(workers: 32, read_ms: 1.0)),
    ], wires: [(from: 0, to: 1), (from: 1, to: 2), (from: 2, to: 3)])"#;
    let layout = tierlab::layout::from_ron(text).unwrap_or_else(|e| panic!("{e}"));
    let ratio = |m: &tierlab::sim::Metrics, member: u32| {
        m.nodes
            .iter()
            .find(|n| n.id.node == NodeId(2) && n.id.member == member)
            .and_then(|n| n.cache)
            .map(|c| (c.hits, c.misses))
            .unwrap_or((0, 0))
    };
    let mut rows = Vec::new();
    for seed in [11u64, 22, 33] {
        let config = tierlab::sim::SimConfig {
            seed: Some(seed),
            ..Default::default()
        };
        let mut sim = tierlab::sim::Sim::new(&layout, config).unwrap_or_else(|p| panic!("{p:?}"));
        sim.run_until_s(10.0);
        let before = sim.metrics();
        sim.apply(Command::SetParam {
            node: NodeId(2),
            param: "count".into(),
            value: 3.0,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        sim.run_until_s(10.5);
        let after = sim.metrics();
        let share = |(h, m): (u64, u64)| h as f64 / (h + m).max(1) as f64;
        let (h0a, m0a) = ratio(&before, 0);
        let (h0b, m0b) = ratio(&after, 0);
        let warm = share((h0b - h0a, m0b - m0a));
        let cold = share(ratio(&after, 2));
        sim.run_until_s(30.0);
        let later = share(ratio(&sim.metrics(), 2));
        rows.push((seed, warm, cold, later));
    }
    for (seed, warm, cold, later) in &rows {
        println!(
            "seed {seed}: local hit ratio over the 0.5 s after scale-out: warm server {warm:.3}, \
             new server {cold:.3}; new server after 20 s {later:.3}"
        );
        assert!(
            *cold < warm - 0.15,
            "seed {seed}: new {cold} vs warm {warm}"
        );
        assert!(
            *later > *cold + 0.1,
            "seed {seed}: it warms up: {later} vs {cold}"
        );
    }
}

/// A crash loses what the box held in memory, and each loss is counted as what it is: a data
/// cache's keys and an app server's local cache in `cache_keys_lost`, never in
/// `sessions_lost`. The keys lost are the keys the instance showed just before (its `keys`),
/// and a revived app server starts with an empty local cache.
#[test]
fn a_crash_loses_cached_keys_counted_apart_from_sessions() {
    let text = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 2000, read_share: 1.0, keys: 5000,
            key_dist: zipf, key_zipf_alpha: 0.9)),
        (id: 1, name: "lb", kind: load_balancer()),
        (id: 2, name: "app", kind: app_server(count: 2, workers: 16, service_ms: 0.5,
            local_cache_entries: 300)),
        (id: 3, name: "cache", kind: cache(capacity_entries: 1000, hit_ms: 0.1)),
        (id: 4, name: "db", kind: database(workers: 32, read_ms: 1.0)),
    ], wires: [(from: 0, to: 1), (from: 1, to: 2), (from: 2, to: 3), (from: 2, to: 4)])"#;
    let keys = |s: &Sim, node: u32, member: u32| {
        s.metrics()
            .nodes
            .iter()
            .find(|n| {
                n.id == UnitId {
                    node: NodeId(node),
                    member,
                }
            })
            .and_then(|n| n.cache)
            .map_or(0, |c| c.keys)
    };
    SEEDS.par_iter().for_each(|&seed| {
        let mut s = sim(text, seed, 1.0);
        s.run_until_s(10.0);
        let in_cache = keys(&s, 3, 0);
        let in_local = keys(&s, 2, 0);
        assert!(in_cache > 500 && in_local > 100, "seed {seed}: warm caches");
        s.apply(Command::Kill(Target::node(NodeId(3))))
            .unwrap_or_else(|e| panic!("{e}"));
        let after_cache = s.metrics();
        s.apply(Command::Kill(Target {
            node: NodeId(2),
            member: Some(0),
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let after_app = s.metrics();
        s.apply(Command::Revive(Target {
            node: NodeId(2),
            member: Some(0),
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let revived = keys(&s, 2, 0);
        println!(
            "  seed {seed:>3}  cache held {in_cache} keys, app[0]'s local cache {in_local}; \
             cache_keys_lost after killing the cache {}, after killing app[0] {}; \
             sessions_lost {}; app[0]'s keys after revival {revived}",
            after_cache.cache_keys_lost, after_app.cache_keys_lost, after_app.sessions_lost
        );
        assert_eq!(after_cache.cache_keys_lost, in_cache, "seed {seed}");
        assert_eq!(
            after_app.cache_keys_lost,
            in_cache + in_local,
            "seed {seed}"
        );
        assert_eq!(
            after_app.sessions_lost, 0,
            "seed {seed}: no session was held"
        );
        assert_eq!(
            revived, 0,
            "seed {seed}: the local cache died with the server"
        );
    });
}

/// Editing a running cache's time to live (the inspector, or a `set_param` in the script) does
/// what the same TTL written in the file does. The edit used to be ignored: the cache kept its
/// old TTL until it was resized, so shortening it showed no effect at all.
#[test]
fn a_ttl_edit_while_running_matches_the_ttl_written_in_the_file() {
    let text = tierlab::shipped::find("cache-aside.ron").unwrap_or_else(|| panic!("shipped"));
    let with_ttl = text.replace(
        "on_write: invalidate)",
        "on_write: invalidate, ttl_s: 0.05)",
    );
    assert_ne!(with_ttl, text, "the cache's TTL was written into the file");
    let hit_ratio = |s: &Sim| {
        mean_in(
            &samples(s, |x| x.cache_hit_ratio.iter().collect()),
            10.0,
            15.0,
        )
    };
    let rows: Vec<(u64, f64, f64, f64)> = SEEDS
        .par_iter()
        .map(|&seed| {
            let mut live = sim(text, seed, 0.0);
            live.run_until_s(5.0);
            live.apply(Command::SetParam {
                node: NodeId(2),
                param: "ttl_s".into(),
                value: 0.05,
            })
            .unwrap_or_else(|e| panic!("{e}"));
            live.run_until_s(15.0);
            let mut file = sim(&with_ttl, seed, 0.0);
            file.run_until_s(15.0);
            let mut none = sim(text, seed, 0.0);
            none.run_until_s(15.0);
            (seed, hit_ratio(&live), hit_ratio(&file), hit_ratio(&none))
        })
        .collect();
    println!("cache hit ratio over 10-15 s: TTL 50 ms set at 5 s / in the file / no TTL");
    for &(seed, live, file, none) in &rows {
        println!(
            "  seed {seed:>3}  {live:.4} / {file:.4} / {none:.4}  (live - file {:+.4})",
            live - file
        );
        // 15,000 reads in the window: a hit ratio's standard error is about 0.004.
        assert!(
            (live - file).abs() < 0.02,
            "seed {seed}: {live} live against {file}"
        );
        assert!(
            none - file > 0.1,
            "seed {seed}: the TTL matters ({none} without it)"
        );
    }
}
