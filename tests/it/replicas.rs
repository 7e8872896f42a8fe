//! Replicas do work: applying a replicated write costs a replica its write service time and a
//! worker; a killed replica stops applying and catches up when revived. Cache fills and
//! invalidations cost the cache its lookup time and a worker.

use rayon::prelude::*;
use tierlab::sim::{Metrics, NodeMetrics, Sim};

use crate::check::{self, Row, SEEDS};

/// 2,000 requests/s, 80 % reads; every read goes to the replica (`reads: replicas`), every
/// write to the primary, which replicates it after 10 ms.
const REPLICA: &str = r#"(
    name: "replica work",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 2000, read_share: 0.8, keys: 10000)),
        (id: 1, name: "app", kind: app_server(workers: 256, service_ms: 0.1)),
        (id: 2, name: "primary", kind: database(workers: 4, read_ms: 0.5, write_ms: 1.0, reads: READS)),
        (id: 3, name: "replica", kind: database(workers: 4, read_ms: 0.5, write_ms: 1.0)),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2, latency_ms: 0.1)],
    replication: [(primary: 2, replica: 3, mode: async, lag_ms: 10, lag: constant)],
    SCRIPT
)"#;

fn sim(text: &str, seed: u64) -> Sim {
    check::quiet_sim(text, seed)
}

fn node<'a>(m: &'a Metrics, name: &str) -> &'a NodeMetrics {
    check::node_named(m, name)
}

#[test]
fn a_replica_is_busy_with_its_reads_and_every_write() {
    const SECONDS: f64 = 20.0;
    let text = REPLICA.replace("READS", "replicas").replace("SCRIPT", "");
    let (qps, read_share, read_s, write_s, workers) = (2000.0, 0.8, 0.5e-3, 1.0e-3, 4.0);
    let (reads, writes) = (qps * read_share, qps * (1.0 - read_share));
    let runs: Vec<(u64, Metrics)> = SEEDS
        .par_iter()
        .map(|&seed| {
            let mut s = sim(&text, seed);
            s.run_until_s(1.0 + SECONDS);
            (seed, s.metrics())
        })
        .collect();
    // Utilization = (read rate x read time + write rate x write time) / workers. Noise: the
    // work arriving in T is a compound Poisson sum with variance T sum(rate x E[S^2]), and an
    // exponential S has E[S^2] = 2 s^2; four standard deviations, relative to the mean work.
    let rel_sd = |parts: &[(f64, f64)]| {
        let mean: f64 = parts.iter().map(|(r, s)| r * s).sum::<f64>() * SECONDS;
        let var: f64 = parts.iter().map(|(r, s)| r * 2.0 * s * s).sum::<f64>() * SECONDS;
        var.sqrt() / mean
    };
    let mut rows = Vec::new();
    for (seed, m) in &runs {
        rows.push(Row {
            case: "replica".into(),
            seed: *seed,
            figure: "utilization",
            measured: node(m, "replica").cpu_utilization,
            expected: (reads * read_s + writes * write_s) / workers,
            tolerance: 4.0 * rel_sd(&[(reads, read_s), (writes, write_s)]),
        });
        rows.push(Row {
            case: "primary".into(),
            seed: *seed,
            figure: "utilization",
            measured: node(m, "primary").cpu_utilization,
            expected: writes * write_s / workers,
            tolerance: 4.0 * rel_sd(&[(writes, write_s)]),
        });
    }
    check::assert_rows(
        "replica and primary utilization vs reads and writes x service times",
        &rows,
    );
}

#[test]
fn a_killed_replica_falls_behind_with_its_downtime_and_catches_up_when_revived() {
    // Reads spread over both, so the revived replica serves reads while it catches up.
    let text = REPLICA.replace("READS", "primary_and_replicas").replace(
        "SCRIPT",
        "script: [(at_s: 5, command: kill(node: 3)), (at_s: 10, command: revive(node: 3))],",
    );
    let write_rate = 2000.0 * 0.2;
    SEEDS.par_iter().for_each(|&seed| {
        let mut s = sim(&text, seed);
        let lag = |s: &Sim| s.metrics().replicas[0].clone();
        s.run_until_s(4.0);
        let steady = lag(&s);
        let stale_0 = s.metrics().stale_reads;
        s.run_until_s(5.0);
        let stale_before = s.metrics().stale_reads - stale_0;
        s.run_until_s(7.5);
        let mid = lag(&s);
        s.run_until_s(9.99);
        let late = lag(&s);
        s.run_until_s(10.0);
        let stale_at_revival = s.metrics().stale_reads;
        s.run_until_s(11.0);
        let stale_after = s.metrics().stale_reads - stale_at_revival;
        // One applier catches up at (1 / write time - write rate) writes/s; twice that long
        // after the revival it has long caught up.
        let catch_up_s = late.writes_behind as f64 / (1.0 / 1.0e-3 - write_rate);
        s.run_until_s(10.0 + 2.0 * catch_up_s);
        let caught_up = lag(&s);
        println!(
            "  seed {seed}: lag steady {:.1} ms ({} behind), 2.5 s down {:.0} ms ({} behind), \
             5 s down {:.0} ms ({} behind), caught up {:.1} ms ({} behind); stale reads \
             in the second before the kill {stale_before}, in the second after revival \
             {stale_after}",
            steady.lag_ms,
            steady.writes_behind,
            mid.lag_ms,
            mid.writes_behind,
            late.lag_ms,
            late.writes_behind,
            caught_up.lag_ms,
            caught_up.writes_behind
        );
        // Down since 5 s: the oldest write it lacks is one written just after the kill, so
        // its age is the downtime (less the wait for the first write, 1 / write rate on
        // average: 4 of them is a bound that fails once in e^4).
        let slack_ms = 4.0 * 1000.0 / write_rate + 10.0;
        assert!(!mid.alive && !late.alive, "seed {seed}");
        assert!(
            (mid.lag_ms - 2500.0).abs() < slack_ms,
            "seed {seed}: {}",
            mid.lag_ms
        );
        assert!(
            (late.lag_ms - 4990.0).abs() < slack_ms,
            "seed {seed}: {}",
            late.lag_ms
        );
        // Writes behind: a Poisson count of the writes over the downtime, four sd.
        for (behind, down_s) in [(mid.writes_behind, 2.5), (late.writes_behind, 4.99)] {
            let want = write_rate * down_s;
            assert!(
                (behind as f64 - want).abs() < 4.0 * want.sqrt() + 5.0,
                "seed {seed}: {behind} behind after {down_s} s, about {want}"
            );
        }
        // Caught up: only writes on their way (10 ms) or being applied (1 ms each) are
        // missing, as before the kill: the oldest is well under ten times that old.
        assert!(caught_up.alive, "seed {seed}");
        assert!(
            caught_up.lag_ms < 10.0 * 11.0,
            "seed {seed}: {}",
            caught_up.lag_ms
        );
        assert!(
            steady.lag_ms < 10.0 * 11.0,
            "seed {seed}: {}",
            steady.lag_ms
        );
        // While it catches up, reads of keys written during its downtime are stale.
        assert!(
            stale_after > 10 * stale_before.max(1),
            "seed {seed}: stale reads show the catch-up ({stale_after} vs {stale_before})"
        );
    });
}

/// Reads and writes behind a cache that holds every key: each read looks it up (0.5 ms), a
/// miss reads the database and fills the cache, each write invalidates its key.
const CACHED: &str = r#"(
    name: "cache work",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 2000, read_share: 0.9, keys: 5000)),
        (id: 1, name: "app", kind: app_server(workers: 256, service_ms: 0.1)),
        (id: 2, name: "cache", kind: cache(workers: 4, capacity_entries: 100000, hit_ms: 0.5, on_write: invalidate)),
        (id: 3, name: "db", kind: database(workers: 64, read_ms: 1.0, write_ms: 1.0)),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2, latency_ms: 0.1), (from: 1, to: 3, latency_ms: 0.1)],
)"#;

#[test]
fn cache_fills_and_invalidations_take_the_cache_s_time() {
    const SECONDS: f64 = 20.0;
    let (hit_s, workers, writes) = (0.5e-3, 4.0, 2000.0 * 0.1);
    let mut rows = Vec::new();
    let runs: Vec<(u64, Metrics)> = SEEDS
        .par_iter()
        .map(|&seed| {
            let mut s = sim(CACHED, seed);
            s.run_until_s(1.0 + SECONDS);
            (seed, s.metrics())
        })
        .collect();
    for (seed, m) in &runs {
        // The cache does a lookup per read, a fill per miss and an invalidation per write,
        // each its lookup time: utilization = (lookups + misses + writes) x hit time / workers.
        let lookups = (m.cache_hits + m.cache_misses) as f64 / SECONDS;
        let fills = m.cache_misses as f64 / SECONDS;
        let work = lookups + fills + writes;
        println!(
            "  seed {seed}: {lookups:.0} lookups/s, {fills:.0} fills/s, {writes} invalidations/s"
        );
        rows.push(Row {
            case: "cache".into(),
            seed: *seed,
            figure: "utilization",
            measured: node(m, "cache").cpu_utilization,
            expected: work * hit_s / workers,
            // Compound Poisson work, exponential times: as for the replica above.
            tolerance: 4.0 * (2.0 * work * hit_s * hit_s * SECONDS).sqrt()
                / (work * hit_s * SECONDS),
        });
    }
    check::assert_rows(
        "cache utilization vs (lookups + fills + invalidations) x hit time",
        &rows,
    );
}
