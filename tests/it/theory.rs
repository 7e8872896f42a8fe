//! The engine against theory computed here, independently of the core's code: database reads
//! behind an LRU cache against Che's approximation, a closed loop against exact mean value
//! analysis, and the coverage of `--replications`' 95 % intervals.
//!
//! Each case runs on the three fixed seeds of `check::SEEDS`, prints its error per seed
//! (`cargo test --test it theory -- --nocapture`), and its tolerance comes from the noise of
//! what it measures (said at each test).

use rayon::prelude::*;
use tierlab::layout::{AppParams, ClientParams, LoopMode, ServiceDist};
use tierlab::report::{self, RunConfig};
use tierlab::sim::{Sim, SimConfig, TraceConfig};

use crate::check::{self, Row, SEEDS};

// ----- Che's approximation for LRU under independent Zipf requests. -----

/// Zipf popularities of keys 1..=n with exponent `alpha` (P(k) proportional to k^-alpha),
/// the law `rand_distr::Zipf` and the client's `key_dist: zipf` follow.
pub(crate) fn zipf(n: u32, alpha: f64) -> Vec<f64> {
    let w: Vec<f64> = (1..=n).map(|k| f64::from(k).powf(-alpha)).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|x| x / total).collect()
}

/// Che's approximation of an LRU cache of `capacity` entries: the characteristic time T solves
/// sum_k (1 - exp(-p_k T)) = capacity (bisection), and the hit ratio is
/// sum_k p_k (1 - exp(-p_k T)) (Che, Tung and Wang 2002; Fricker, Robert and Roberts 2012).
pub(crate) fn che_hit_ratio(p: &[f64], capacity: f64) -> f64 {
    let filled = |t: f64| p.iter().map(|&q| 1.0 - (-q * t).exp()).sum::<f64>();
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while filled(hi) < capacity {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if filled(mid) < capacity {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = 0.5 * (lo + hi);
    p.iter().map(|&q| q * (1.0 - (-q * t).exp())).sum()
}

#[test]
fn che_helper_agrees_with_limits() {
    // A cache that holds every key hits always; uniform keys hit capacity/keys.
    let p = zipf(100, 0.9);
    assert!((che_hit_ratio(&p, 99.999) - 1.0).abs() < 1e-3);
    let u = zipf(1000, 0.0);
    assert!((che_hit_ratio(&u, 250.0) - 0.25).abs() < 1e-9);
}

/// Client -> app server -> (cache, database), all reads: cache-aside, so the database serves
/// exactly the misses. Servers are large enough that nothing queues or fails.
fn cache_aside(qps: f64, keys: u32, alpha: f64, capacity: u32) -> String {
    format!(
        "(version: 1, name: \"che\", seed: 1, tick_ms: 1.0,
          nodes: [
            (id: 0, name: \"client\", kind: client(qps: {qps}, read_share: 1.0, keys: {keys},
                key_dist: zipf, key_zipf_alpha: {alpha})),
            (id: 1, name: \"app\", kind: app_server(workers: 512, service_ms: 0.05)),
            (id: 2, name: \"cache\", kind: cache(capacity_entries: {capacity}, eviction: lru,
                hit_ms: 0.05, workers: 256)),
            (id: 3, name: \"db\", kind: database(workers: 512, read_ms: 0.2)),
          ],
          wires: [(from: 0, to: 1), (from: 1, to: 2), (from: 1, to: 3)])"
    )
}

#[test]
fn database_reads_behind_an_lru_cache_follow_che() {
    const QPS: f64 = 4000.0;
    const WARMUP_S: f64 = 20.0;
    const SECONDS: f64 = 60.0;
    // (keys, Zipf exponent, capacity)
    let configs = [
        (10_000u32, 0.8, 1000u32),
        (10_000, 1.1, 200),
        (2000, 0.6, 500),
    ];
    let cases: Vec<_> = configs
        .iter()
        .flat_map(|&c| SEEDS.map(|s| (c, s)))
        .collect();
    let rows: Vec<Row> = cases
        .par_iter()
        .map(|&((keys, alpha, capacity), seed)| {
            let layout = check::parse(&cache_aside(QPS, keys, alpha, capacity));
            let m = check::run(&layout, seed, WARMUP_S, SECONDS);
            let h = che_hit_ratio(&zipf(keys, alpha), f64::from(capacity));
            let db = m
                .nodes
                .iter()
                .find(|n| n.name == "db")
                .unwrap_or_else(|| panic!("no db in the report"));
            let reads_per_s = db.served as f64 / SECONDS;
            // Noise: the lookups in the window number n = QPS x SECONDS; their miss share has a
            // standard error of about sqrt(H(1-H)/n) and the Poisson count itself 1/sqrt(n).
            // Che's approximation is not exact for a finite cache: its error in the hit ratio
            // is below 0.01 for caches of a few hundred entries and more (Fricker et al.), the
            // same bound the CDN test of the building-blocks issue uses. Tolerance: that bias
            // plus four standard errors, relative to the expected miss rate.
            let n = QPS * SECONDS;
            let se_h = (h * (1.0 - h) / n).sqrt();
            let tolerance = (0.01 + 4.0 * se_h) / (1.0 - h) + 4.0 / n.sqrt();
            Row {
                case: format!("K {keys} a {alpha} C {capacity} (H {h:.3})"),
                seed,
                figure: "db reads/s",
                measured: reads_per_s,
                expected: QPS * (1.0 - h),
                tolerance,
            }
        })
        .collect();
    check::assert_rows(
        "database reads behind an LRU cache vs Che's approximation",
        &rows,
    );
}

// ----- Exact mean value analysis of a closed loop. -----

/// Mean response time of N users with mean think time `z_ms` in front of one FCFS server with
/// exponential service of mean `s_ms`, by exact MVA (Reiser and Lavenberg 1980):
/// R(n) = S (1 + Q(n-1)), X(n) = n / (R(n) + Z), Q(n) = X(n) R(n).
fn mva_response_ms(users: u32, z_ms: f64, s_ms: f64) -> f64 {
    let mut q = 0.0;
    let mut r = 0.0;
    for n in 1..=users {
        r = s_ms * (1.0 + q);
        let x = f64::from(n) / (r + z_ms);
        q = x * r;
    }
    r
}

#[test]
fn mva_helper_agrees_with_its_asymptotes() {
    // One user never waits; many users see R = N S - Z.
    assert!((mva_response_ms(1, 10.0, 1.0) - 1.0).abs() < 1e-12);
    assert!((mva_response_ms(200, 10.0, 1.0) - (200.0 - 10.0)).abs() < 1e-6);
}

#[test]
fn a_closed_loop_matches_exact_mean_value_analysis() {
    const S_MS: f64 = 1.0;
    const Z_MS: f64 = 10.0;
    const BATCHES: usize = 20;
    // Light load, the knee N* = (Z + S) / S = 11 where the asymptotes are furthest from the
    // truth, and past it.
    let configs = [4u32, 11, 16];
    let cases: Vec<_> = configs
        .iter()
        .flat_map(|&c| SEEDS.map(|s| (c, s)))
        .collect();
    let rows: Vec<Row> = cases
        .par_iter()
        .map(|&(users, seed)| {
            let client = ClientParams {
                mode: LoopMode::Closed,
                users,
                think_ms: Z_MS,
                read_share: 1.0,
                ..ClientParams::default()
            };
            let server = AppParams {
                workers: 1,
                queue_capacity: 10_000,
                service: ServiceDist::Exponential,
                service_ms: S_MS,
                ..AppParams::default()
            };
            let layout = check::client_to_server(client, server);
            let config = SimConfig {
                seed: Some(seed),
                warmup_s: 5.0,
                trace: TraceConfig {
                    every: 0,
                    capacity: 0,
                    keep_ns: 0,
                },
            };
            let mut sim = Sim::new(&layout, config).unwrap_or_else(|p| panic!("{p:?}"));
            sim.run_until_s(5.0);
            // About 1 M requests in 20 batches of 50 s; the batch means give the standard error.
            let batch_s = 50.0;
            let (mut done, mut sum_ms) = (0.0, 0.0);
            let mut means = Vec::with_capacity(BATCHES);
            for b in 1..=BATCHES {
                sim.run_until_s(5.0 + batch_s * b as f64);
                let m = sim.metrics();
                let now_done = m.requests.completed as f64;
                let now_sum = m.latency_ms.mean * now_done;
                means.push((now_sum - sum_ms) / (now_done - done));
                (done, sum_ms) = (now_done, now_sum);
            }
            let mean = sum_ms / done;
            let var = means.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (BATCHES - 1) as f64;
            let se = (var / BATCHES as f64).sqrt();
            let expected = mva_response_ms(users, Z_MS, S_MS);
            // Five batch-means standard errors, and never under half a percent (the batches
            // of a loaded loop are slightly correlated).
            let tolerance = (5.0 * se / expected).max(0.005);
            Row {
                case: format!("closed N {users} Z {Z_MS} S {S_MS}"),
                seed,
                figure: "mean R ms",
                measured: mean,
                expected,
                tolerance,
            }
        })
        .collect();
    check::assert_rows("closed loop vs exact MVA", &rows);
}

// ----- Coverage of the replication intervals. -----

#[test]
fn replication_intervals_cover_the_true_mean_about_95_percent_of_the_time() {
    // A server with far more workers than requests in flight: nobody waits, so the mean
    // latency is exactly the mean service time, 5 ms (exponential). 200 sets of 5 replications
    // of 10 s at 1,000 requests/s, the seeds of set k being 10,000 + 5k and on, fixed here.
    // Each set's 95 % Student-t interval should cover 5 ms in 95 % of the sets; the count of
    // 200 is binomial with a standard deviation of 3.1, so 90 % to 99 % is about three of them.
    const SETS: u64 = 200;
    const R: usize = 5;
    let client = ClientParams {
        qps: 1000.0,
        read_share: 1.0,
        ..ClientParams::default()
    };
    let server = AppParams {
        workers: 1000,
        service: ServiceDist::Exponential,
        service_ms: 5.0,
        ..AppParams::default()
    };
    let layout = check::client_to_server(client, server);
    let config = RunConfig {
        seconds: 10.0,
        warmup_s: 0.0,
        seed: None,
        trace: TraceConfig {
            every: 0,
            capacity: 0,
            keep_ns: 0,
        },
    };
    let covered = (0..SETS)
        .filter(|k| {
            let seeds = report::replication_seeds(10_000 + k * R as u64, R);
            let r =
                report::replications(&layout, &config, &seeds).unwrap_or_else(|p| panic!("{p:?}"));
            let i = &r.latency_ms["mean"];
            i.ci95_low <= 5.0 && 5.0 <= i.ci95_high
        })
        .count();
    let share = covered as f64 / SETS as f64;
    println!(
        "replications: the 95 % interval of the mean covered the true 5 ms in {covered} of {SETS} sets ({:.1} %)",
        share * 100.0
    );
    assert!(
        (0.90..=0.99).contains(&share),
        "coverage {share:.3} is outside 0.90 to 0.99"
    );
}
