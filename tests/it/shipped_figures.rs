//! Numbers in shipped files are true: every figure a shipped layout's comment header states is
//! computed here from the layout (or from the theory the comment cites) and must appear in the
//! comment as written, and the run must agree with it within its noise.
//!
//! Files whose header states no figure to check, or only the settings in the file, are listed
//! in `NOT_FIGURES` with the reason, so a new shipped file with numbers in its header fails
//! `every_shipped_header_with_a_number_is_checked` until it is added here.

use rayon::prelude::*;
use tierlab::layout::{self, Layout, NodeKind};
use tierlab::sim::sizing::{USL_COHERENCY, USL_CONTENTION};
use tierlab::sim::{FailReason, Metrics, Sim, SimConfig, TraceConfig};

use crate::check::{self, Row, SEEDS};

/// The comment header of a shipped layout: its leading `//` lines, joined with spaces.
fn header(name: &str) -> String {
    let text = tierlab::shipped::find(&format!("{name}.ron"))
        .unwrap_or_else(|| panic!("{name} is shipped"));
    text.lines()
        .take_while(|l| l.trim_start().starts_with("//"))
        .map(|l| l.trim_start().trim_start_matches('/').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The shipped layout, parsed, with `from` replaced by `to` in its text first (empty: as is).
fn shipped_with(name: &str, from: &str, to: &str) -> Layout {
    let text = tierlab::shipped::find(&format!("{name}.ron"))
        .unwrap_or_else(|| panic!("{name} is shipped"));
    if !from.is_empty() {
        assert!(text.contains(from), "{name} has `{from}`");
    }
    check::parse(&text.replace(from, to))
}

/// The comment must say `figure` (as the test computed and formatted it).
fn assert_says(name: &str, figure: &str) {
    let h = header(name);
    assert!(
        h.contains(figure),
        "{name}: the comment should say `{figure}` (computed from the layout), but reads:\n{h}"
    );
}

/// An integer with thousands separators, as the comments write them: 8175 -> "8,175".
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn node<'a>(m: &'a Metrics, name: &str) -> &'a tierlab::sim::NodeMetrics {
    m.nodes
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

fn app_params<'a>(l: &'a Layout, name: &str) -> &'a layout::AppParams {
    match l.nodes.iter().find(|n| n.name == name).map(|n| &n.kind) {
        Some(NodeKind::AppServer(p)) => p,
        _ => panic!("{name} is an app server"),
    }
}

fn client_qps(l: &Layout) -> f64 {
    l.nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::Client(c) => Some(c.qps),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a client"))
}

/// Within `k` standard deviations of a Poisson count with mean `expected`.
fn poisson_row(case: &str, seed: u64, figure: &'static str, measured: f64, expected: f64) -> Row {
    Row {
        case: case.into(),
        seed,
        figure,
        measured,
        expected,
        tolerance: 4.0 / expected.sqrt(),
    }
}

// ----- mm4: Erlang C -----

/// Mean response time of an M/M/c queue (Erlang C), in units of the mean service time.
fn erlang_c_response(c: u32, offered: f64) -> f64 {
    let rho = offered / f64::from(c);
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= offered / f64::from(k);
        }
        sum += term;
    }
    let top = term * offered / f64::from(c) / (1.0 - rho);
    let p_wait = top / (sum + top);
    p_wait / (f64::from(c) - offered) + 1.0
}

#[test]
fn mm4_says_what_erlang_c_predicts_and_the_run_agrees() {
    let l = shipped_with("mm4", "", "");
    let p = app_params(&l, "app");
    let lambda_per_ms = client_qps(&l) / 1000.0;
    let w_ms = erlang_c_response(p.workers, lambda_per_ms * p.service_ms) * p.service_ms;
    assert_says("mm4", &format!("about {w_ms:.2} ms"));
    assert_says(
        "mm4",
        &format!(
            "Load = 3600 x 0.001 / 4 = {}",
            lambda_per_ms * p.service_ms / 4.0
        ),
    );
    // The run's mean over 30 batches of 1 s; its standard error from the spread of the batch
    // means (a batch is many relaxation times of this queue long, so they are nearly
    // independent); four standard errors.
    let rows: Vec<Row> = SEEDS
        .par_iter()
        .map(|&seed| {
            let mut sim = Sim::new(
                &l,
                SimConfig {
                    seed: Some(seed),
                    warmup_s: 1.0,
                    trace: TraceConfig {
                        every: 0,
                        capacity: 0,
                        keep_ns: 0,
                    },
                },
            )
            .unwrap_or_else(|e| panic!("mm4 runs: {e:?}"));
            let (mut done, mut sum) = (0u64, 0.0);
            let mut batches = Vec::new();
            for b in 1..=30 {
                sim.run_until_s(1.0 + f64::from(b));
                let m = sim.metrics();
                let total = m.latency_ms.mean * m.requests.completed as f64;
                batches.push((total - sum) / (m.requests.completed - done) as f64);
                (done, sum) = (m.requests.completed, total);
            }
            let n = batches.len() as f64;
            let mean = sum / done as f64;
            let var = batches.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let se = (var / n).sqrt();
            Row {
                case: "mm4 mean response".into(),
                seed,
                figure: "ms",
                measured: mean,
                expected: w_ms,
                tolerance: 4.0 * se / w_ms,
            }
        })
        .collect();
    check::assert_rows("mm4: mean response vs Erlang C", &rows);
}

// ----- scale-up and scale-out: USL -----

fn usl(n: f64) -> f64 {
    n / (1.0 + USL_CONTENTION * (n - 1.0) + USL_COHERENCY * n * (n - 1.0))
}

#[test]
fn scale_up_and_scale_out_say_their_usl_ceilings_and_the_runs_reach_them() {
    let up = shipped_with("scale-up", "", "");
    let out = shipped_with("scale-out", "", "");
    let s_ms = app_params(&up, "app").service_ms;
    assert_eq!(app_params(&out, "app").service_ms, s_ms, "the same work");
    let ceiling = |size: layout::Size| usl(f64::from(size.vcpus())) / (s_ms / 1000.0);
    let (large, big) = (layout::Size::Large, layout::Size::X4Large);
    assert_eq!(app_params(&up, "app").size, Some(big));
    assert_eq!(app_params(&out, "app").size, Some(large));
    let count = app_params(&out, "app").count;
    assert_says("scale-up", &format!("{s_ms} ms of CPU"));
    assert_says("scale-up", &format!("about {s_ms} ms on every size"));
    assert_says(
        "scale-up",
        &format!(
            "({} vCPU) about {}/s",
            large.vcpus(),
            thousands(ceiling(large))
        ),
    );
    assert_says(
        "scale-up",
        &format!("({} vCPU) about {}/s", big.vcpus(), thousands(ceiling(big))),
    );
    assert_says(
        "scale-up",
        &format!("contention {USL_CONTENTION}, coherency {USL_COHERENCY}"),
    );
    assert_says(
        "scale-out",
        &format!("about {}/s each", thousands(ceiling(large))),
    );
    assert_says(
        "scale-out",
        &format!(
            "{}/s together",
            thousands(f64::from(count) * ceiling(large))
        ),
    );
    let price_share = f64::from(count) * large.usd_per_hour() / big.usd_per_hour();
    assert_says(
        "scale-out",
        &format!("cost {:.0} % of the one", 100.0 * price_share),
    );
    let qps = client_qps(&up);
    assert_says("scale-up", &format!("{} requests/s", thousands(qps)));
    // Runs: each file as shipped serves its load; on one large box, or on four larges, the
    // throughput is the USL ceiling. With every core busy, completions are Poisson (see
    // tests/it/sizing.rs): four standard deviations of the count.
    const SECONDS: f64 = 5.0;
    let cases: Vec<(&str, Layout, Option<f64>)> = vec![
        ("scale-up as shipped", up.clone(), None),
        ("scale-out as shipped", out.clone(), None),
        (
            "scale-up on a large",
            shipped_with("scale-up", "size: xlarge_4", "size: large"),
            Some(ceiling(large)),
        ),
        (
            "scale-out with 4",
            shipped_with("scale-out", "count: 6", "count: 4"),
            Some(4.0 * ceiling(large)),
        ),
    ];
    let runs: Vec<(u64, &str, Option<f64>, Metrics)> = SEEDS
        .par_iter()
        .flat_map(|&seed| {
            cases
                .par_iter()
                .map(move |(case, l, want)| (seed, *case, *want, check::run(l, seed, 1.0, SECONDS)))
        })
        .collect();
    let mut rows = Vec::new();
    for (seed, case, want, m) in &runs {
        let expected = want.unwrap_or(qps);
        // What the app servers served over the measured time (an overloaded box's backlog
        // from before the warm-up is not counted end to end).
        let served: u64 = m
            .nodes
            .iter()
            .filter(|n| n.kind == layout::KindTag::AppServer)
            .map(|n| n.served)
            .sum();
        let x = served as f64 / m.measured_s;
        rows.push(Row {
            tolerance: 4.0 / (expected * SECONDS).sqrt(),
            ..poisson_row(case, *seed, "req/s", x, expected)
        });
        if want.is_none() {
            assert_eq!(
                check::failed_by(m, FailReason::QueueFull),
                0,
                "{case}: no drops"
            );
        }
    }
    check::assert_rows(
        "scale-up / scale-out: throughput vs the load or the USL ceiling",
        &rows,
    );
}

// ----- Replication -----

#[test]
fn replica_failover_loses_the_writes_of_its_lag_and_fails_writes_until_promotion() {
    let l = shipped_with("replica-failover", "", "");
    let (lag_ms, delay_ms) = (l.replication[0].lag_ms, 5000.0);
    match l
        .nodes
        .iter()
        .find(|n| n.name == "primary")
        .map(|n| &n.kind)
    {
        Some(NodeKind::Database(p)) => assert_eq!(p.promotion_delay_ms, delay_ms),
        _ => panic!("a primary"),
    }
    assert_says(
        "replica-failover",
        &format!("promoted {} s later", delay_ms / 1000.0),
    );
    assert_says("replica-failover", &format!("{lag_ms} ms of lag"));
    assert_says("replica-failover", &format!("in its last {lag_ms} ms"));
    let read_share = l
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::Client(c) => Some(c.read_share),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a client"));
    let writes_per_s = client_qps(&l) * (1.0 - read_share);
    let mut rows = Vec::new();
    for &seed in &SEEDS {
        let m = check::run(&l, seed, 0.0, 30.0);
        // Writes in the last `lag` before the kill never left the primary: a Poisson count.
        rows.push(poisson_row(
            "writes lost",
            seed,
            "writes",
            m.writes_lost as f64,
            writes_per_s * lag_ms / 1000.0,
        ));
        rows.push(poisson_row(
            "writes failed while down",
            seed,
            "writes",
            check::failed_by(&m, FailReason::NodeDown) as f64,
            writes_per_s * delay_ms / 1000.0,
        ));
    }
    check::assert_rows(
        "replica-failover vs write rate x lag and x promotion delay",
        &rows,
    );
}

#[test]
fn read_replicas_share_the_reads_in_thirds() {
    let l = shipped_with("read-replicas", "", "");
    assert_says(
        "read-replicas",
        &format!("after {} ms on average", l.replication[0].lag_ms),
    );
    let mut rows = Vec::new();
    for &seed in &SEEDS {
        let m = check::run(&l, seed, 1.0, 20.0);
        let replica_reads = node(&m, "replica-1").served + node(&m, "replica-2").served;
        let primary = node(&m, "primary").served;
        // Reads go round-robin over the three databases: each replica serves a third.
        let reads = replica_reads as f64 * 1.5;
        for name in ["replica-1", "replica-2"] {
            rows.push(Row {
                case: name.into(),
                seed,
                figure: "read share",
                measured: node(&m, name).served as f64 / reads,
                expected: 1.0 / 3.0,
                tolerance: 0.01,
            });
        }
        // The primary serves its third of the reads and every write.
        let writes = primary as f64 - reads / 3.0;
        rows.push(Row {
            case: "write share".into(),
            seed,
            figure: "of requests",
            measured: writes / (writes + reads),
            expected: 0.1,
            tolerance: 4.0 * (0.1f64 * 0.9 / (writes + reads)).sqrt() / 0.1,
        });
    }
    check::assert_rows("read-replicas: each database's share of the reads", &rows);
}

// ----- Cache -----

/// Che's approximation of an LRU cache's hit ratio: the characteristic time T solves
/// sum_i (1 - exp(-p_i T)) = C, and the hit ratio is sum_i p_i (1 - exp(-p_i T)).
fn che_hit_ratio(keys: u32, alpha: f64, capacity: u32) -> f64 {
    let w: Vec<f64> = (1..=keys).map(|i| f64::from(i).powf(-alpha)).collect();
    let total: f64 = w.iter().sum();
    let p: Vec<f64> = w.iter().map(|x| x / total).collect();
    let filled = |t: f64| p.iter().map(|q| 1.0 - (-q * t).exp()).sum::<f64>();
    let (mut lo, mut hi) = (0.0, 1e12);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if filled(mid) < f64::from(capacity) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    p.iter().map(|q| q * (1.0 - (-q * lo).exp())).sum()
}

#[test]
fn cache_aside_says_che_s_hit_ratio_and_the_run_is_near_it() {
    let l = shipped_with("cache-aside", "", "");
    let (keys, alpha, read_share) = l
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::Client(c) => Some((c.keys, c.key_zipf_alpha, c.read_share)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a client"));
    let capacity = l
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::Cache(c) => Some(c.capacity_entries),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a cache"));
    assert_says(
        "cache-aside",
        &format!(
            "holding {:.0} % of them",
            100.0 * f64::from(capacity) / f64::from(keys)
        ),
    );
    let che = che_hit_ratio(keys, alpha, capacity);
    assert_says("cache-aside", &format!("about {:.0} %", 100.0 * che));
    let mut rows = Vec::new();
    for &seed in &SEEDS {
        let m = check::run(&l, seed, 5.0, 20.0);
        // Che's approximation is for reads alone; each write (1 - read_share of requests)
        // invalidates its key, so a read finds its key dropped at most that much more often:
        // the allowed shortfall is the write share, plus four binomial standard errors.
        let lookups = (m.cache_hits + m.cache_misses) as f64;
        let se = (che * (1.0 - che) / lookups).sqrt();
        rows.push(Row {
            case: "cache-aside hit ratio".into(),
            seed,
            figure: "hits/lookups",
            measured: m.cache_hit_ratio,
            expected: che,
            tolerance: ((1.0 - read_share) + 4.0 * se) / che,
        });
    }
    check::assert_rows("cache-aside: hit ratio vs Che's approximation", &rows);
}

// ----- Retries -----

#[test]
fn retry_storm_and_budget_amplify_as_they_say() {
    let storm = shipped_with("retry-storm", "", "");
    let budget = shipped_with("retry-budget", "", "");
    // Without retries a request makes 2 calls (client -> lb, lb -> pool); during the outage
    // the balancer adds 3 retries: 5 calls. Over 30 s with a 10 s outage: (20 x 2 + 10 x 5)
    // / (30 x 2).
    let outage = 5.0 / 2.0;
    let run30 = (20.0 * 2.0 + 10.0 * 5.0) / (30.0 * 2.0);
    assert_says("retry-storm", &format!("amplification {outage} counting"));
    assert_says("retry-storm", &format!("{run30} over a 30 s run"));
    // With the budget, retries are at most a tenth of the lb -> pool calls (one of the two
    // calls per request), plus the burst of saved-up tokens.
    let budget_share = 0.1;
    let capped = 1.0 + budget_share / 2.0;
    assert_says(
        "retry-budget",
        &format!("about {capped} even during the outage"),
    );
    let mut rows = Vec::new();
    for &seed in &SEEDS {
        let m = check::run(&storm, seed, 0.0, 30.0);
        // Only a client's call that lands in the first backoff after the revival escapes the
        // count: well under 1 %.
        rows.push(Row {
            case: "retry-storm 30 s".into(),
            seed,
            figure: "amplification",
            measured: m.amplification,
            expected: run30,
            tolerance: 0.01,
        });
        let during = check::run(&storm, seed, 10.5, 9.0);
        rows.push(Row {
            case: "retry-storm outage".into(),
            seed,
            figure: "amplification",
            measured: during.amplification,
            expected: outage,
            tolerance: 0.01,
        });
        let b = check::run(&budget, seed, 10.0, 10.0);
        let first_calls = 2.0 * b.requests.arrived as f64;
        let burst = 10.0 / first_calls;
        println!(
            "  seed {seed}: retry-budget amplification during the outage {:.4} (cap {capped} + \
             burst {burst:.4})",
            b.amplification
        );
        assert!(
            b.amplification <= capped + burst + 1e-9 && b.amplification > capped - 0.005,
            "seed {seed}: the budget holds retries to its share"
        );
    }
    check::assert_rows("retry-storm: amplification vs calls per request", &rows);
}

// ----- Failover and health checks -----

#[test]
fn failover_and_health_check_windows_fail_what_they_say() {
    let ap = shipped_with("active-passive", "", "");
    let hc = shipped_with("health-checks", "", "");
    assert_says("active-passive", "500 ms x 3 beats = 1.5 s");
    assert_says("health-checks", "2 x 1000 + 500 ms to 3 x 1000 + 500 ms");
    let (qps_ap, qps_hc) = (client_qps(&ap), client_qps(&hc));
    // active-passive: traffic fails from the crash until the standby takes over, 1.5 s after
    // the last heartbeat: between 1.0 and 1.5 s of the whole traffic.
    let (ap_lo, ap_hi) = (qps_ap * 1.0, qps_ap * 1.5);
    // health-checks: a quarter of the traffic fails until two probes have failed: between
    // 2 x 1000 + 500 and 3 x 1000 + 500 ms after the crash.
    let (hc_lo, hc_hi) = (qps_hc / 4.0 * 2.5, qps_hc / 4.0 * 3.5);
    assert_says(
        "health-checks",
        &format!(
            "some {:.0} to {:.0} requests",
            (hc_lo / 100.0).floor() * 100.0,
            (hc_hi / 100.0).ceil() * 100.0
        ),
    );
    for &seed in &SEEDS {
        let a = check::failed_by(&check::run(&ap, seed, 0.0, 20.0), FailReason::NodeDown) as f64;
        let h = check::failed_by(&check::run(&hc, seed, 0.0, 30.0), FailReason::NodeDown) as f64;
        println!(
            "  seed {seed}: active-passive {a} node_down (window {ap_lo:.0}..{ap_hi:.0}), \
             health-checks {h} (window {hc_lo:.0}..{hc_hi:.0})"
        );
        // Poisson arrivals: four standard deviations beyond either end of the window.
        assert!(
            a >= ap_lo - 4.0 * ap_lo.sqrt() && a <= ap_hi + 4.0 * ap_hi.sqrt(),
            "seed {seed}: {a}"
        );
        assert!(
            h >= hc_lo - 4.0 * hc_lo.sqrt() && h <= hc_hi + 4.0 * hc_hi.sqrt(),
            "seed {seed}: {h}"
        );
    }
}

// ----- Balancing shares -----

#[test]
fn weighted_round_robin_and_path_routing_split_as_they_say() {
    let w = shipped_with("weighted-round-robin", "", "");
    let weights: Vec<u32> = w
        .wires
        .iter()
        .filter(|x| x.from == w.nodes[1].id)
        .map(|x| x.weight)
        .collect();
    assert_says(
        "weighted-round-robin",
        &format!(
            "({})",
            weights
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let total: u32 = weights.iter().sum();
    let shares: Vec<String> = weights
        .iter()
        .map(|x| format!("{:.0} %", 100.0 * f64::from(*x) / f64::from(total)))
        .collect();
    assert_says(
        "weighted-round-robin",
        &format!("{}, {} and {}", shares[0], shares[1], shares[2]),
    );
    let p = shipped_with("path-routing", "", "");
    let static_share: f64 = p
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::Client(c) => Some(
                c.paths
                    .iter()
                    .filter(|x| x.path.starts_with("/static"))
                    .map(|x| x.share)
                    .sum(),
            ),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a client"));
    assert_says("path-routing", &format!("({:.0} %)", 100.0 * static_share));
    let mut rows = Vec::new();
    for &seed in &SEEDS {
        let m = check::run(&w, seed, 1.0, 10.0);
        let served: Vec<f64> = ["big", "medium", "small"]
            .iter()
            .map(|n| node(&m, n).served as f64)
            .collect();
        let sum: f64 = served.iter().sum();
        for (i, name) in ["big", "medium", "small"].iter().enumerate() {
            // Smooth weighted round-robin is exact to within one cycle of the weights.
            rows.push(Row {
                case: format!("wrr {name}"),
                seed,
                figure: "share",
                measured: served[i] / sum,
                expected: f64::from(weights[i]) / f64::from(total),
                tolerance: f64::from(total) / sum * 4.0,
            });
        }
        let m = check::run(&p, seed, 1.0, 10.0);
        let stat: f64 = m
            .nodes
            .iter()
            .filter(|n| n.name.starts_with("static"))
            .map(|n| n.served as f64)
            .sum();
        let all: f64 = m
            .nodes
            .iter()
            .filter(|n| n.kind == layout::KindTag::AppServer)
            .map(|n| n.served as f64)
            .sum();
        rows.push(Row {
            case: "path-routing /static".into(),
            seed,
            figure: "share",
            measured: stat / all,
            expected: static_share,
            // Each request draws its path: binomial, four standard errors.
            tolerance: 4.0 * (static_share * (1.0 - static_share) / all).sqrt() / static_share,
        });
    }
    check::assert_rows("served shares vs weights and path shares", &rows);
}

// ----- A hot key -----

#[test]
fn shards_hot_key_s_key_1_is_over_a_third_and_only_its_shard_saturates() {
    let l = shipped_with("shards-hot-key", "", "");
    let (keys, alpha) = l
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::Client(c) => Some((c.keys, c.key_zipf_alpha)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a client"));
    assert_says("shards-hot-key", &format!("alpha {alpha}"));
    // Zipf: key 1's share is 1 / sum_k k^-alpha.
    let p1 = 1.0 / (1..=keys).map(|k| f64::from(k).powf(-alpha)).sum::<f64>();
    println!("shards-hot-key: key 1 is {:.1} % of the writes", 100.0 * p1);
    assert!(p1 > 1.0 / 3.0, "key 1 alone is over a third: {p1}");
    assert_says("shards-hot-key", "over a third of the writes");
    for &seed in &SEEDS {
        let m = check::run(&l, seed, 1.0, 10.0);
        let saturated: Vec<(&str, Option<&str>)> = m
            .nodes
            .iter()
            .filter(|n| n.name.starts_with("shard-"))
            .map(|n| (n.name.as_str(), n.saturated.map(|r| r.name())))
            .collect();
        println!("  seed {seed}: {saturated:?}");
        assert_eq!(
            saturated.iter().filter(|(_, r)| *r == Some("cpu")).count(),
            1,
            "seed {seed}: one shard runs out of CPU"
        );
        assert_eq!(
            saturated.iter().filter(|(_, r)| r.is_none()).count(),
            3,
            "seed {seed}: the other three do not"
        );
    }
}

// ----- Every header with a number is checked -----

/// Shipped files whose headers hold numbers that are settings of the file itself, or claims
/// this test does not compute, with the reason.
const NOT_FIGURES: &[(&str, &str)] = &[
    (
        "autoscale",
        "the numbers are the file's own settings (target, rates, times)",
    ),
    (
        "autoscale-flapping",
        "the numbers are the file's own settings",
    ),
    ("cache-cluster", "times and a CLI flag only"),
    ("consistent-hash", "the ring's points per server, a setting"),
    (
        "dns-active-active",
        "an upper bound of the failure window (checks + TTL), from its settings",
    ),
    (
        "l4-vs-l7",
        "settings (pool size, connection lifetime) and a qualitative claim",
    ),
    ("lb-spof", "a time and a qualitative claim"),
    (
        "least-connections",
        "a setting (5 times slower) and a qualitative comparison with another algorithm",
    ),
    (
        "power-of-two",
        "settings (100 servers, 90 % load) and a comparison with another algorithm",
    ),
    (
        "session-store",
        "load_max_over_mean 1.00 before the crash: round-robin spreads evenly by construction",
    ),
    ("shards", "no figure"),
    (
        "sticky-sessions",
        "a setting (user_zipf_alpha) and qualitative claims",
    ),
    ("three-tier", "the file's own service times"),
    ("request-flow", "no figure"),
];

// ----- Health probes -----

/// deep-probes: the load, the slowed server's capacity and queue time follow from the layout;
/// with shallow probes the slowed server keeps its third and fails what it cannot serve once
/// its queue is full, (300 - 133.3)/s over the 20 s, less the 200 the queue holds: the
/// header's "some 3,000"; deep probes take it out of rotation, so under a tenth of that fails.
#[test]
fn deep_probes_say_their_loads_and_the_failures_of_each_probe() {
    let deep = shipped_with("deep-probes", "", "");
    let shallow = shipped_with("deep-probes", "probe: deep", "probe: shallow");
    let app = app_params(&deep, "app");
    let per_server = client_qps(&deep) / f64::from(app.count);
    let slow_s = app.service_ms / 1e3 * 10.0;
    let slow_capacity = f64::from(app.workers) / slow_s;
    let queue_s = f64::from(app.queue_capacity) / slow_capacity;
    let load = per_server * app.service_ms / 1e3 / f64::from(app.workers);
    assert_says("deep-probes", &format!("(load {load:.2})"));
    assert_says("deep-probes", &format!("can serve {slow_capacity:.0}/s"));
    assert_says("deep-probes", &format!("({queue_s:.1} s of waiting)"));
    let expected = (per_server - slow_capacity) * 20.0 - f64::from(app.queue_capacity);
    assert_says(
        "deep-probes",
        &format!(
            "some {} queue_full",
            thousands((expected / 1000.0).round() * 1000.0)
        ),
    );
    for &seed in &SEEDS {
        let s = check::failed_by(
            &check::run(&shallow, seed, 0.0, 40.0),
            FailReason::QueueFull,
        );
        let d = check::failed_by(&check::run(&deep, seed, 0.0, 40.0), FailReason::QueueFull);
        println!(
            "  seed {seed}: shallow {s} queue_full (theory {expected:.0}, error {:+.1} %), deep {d}",
            100.0 * (s as f64 / expected - 1.0)
        );
        // About 6,000 arrivals at the slowed server over the 20 s: a Poisson count's standard
        // deviation is 77, and the served side about as much again; 5 of each, 400, is 13 %.
        assert!(
            (s as f64 - expected).abs() < 400.0,
            "seed {seed}: shallow {s} vs {expected:.0}"
        );
        // The header: "under a tenth of the shallow figure".
        assert!(
            (d as f64) < expected / 10.0,
            "seed {seed}: deep probes let {d} fail"
        );
    }
}

/// Files checked above.
const CHECKED: &[&str] = &[
    "mm4",
    // Checked in tests/it/limiter.rs.
    "rate-limit",
    "scale-up",
    "scale-out",
    "replica-failover",
    "read-replicas",
    "cache-aside",
    "retry-storm",
    "retry-budget",
    "active-passive",
    "health-checks",
    "weighted-round-robin",
    "path-routing",
    "shards-hot-key",
    "deep-probes",
    // Checked in tests/it/cdn.rs, with the edge it describes.
    "cdn",
    // Checked in tests/it/mq.rs (`queue_consumers_says_its_rates`).
    "queue-consumers",
];

#[test]
fn every_shipped_header_with_a_number_is_checked() {
    for (file, _) in tierlab::shipped::SHIPPED {
        let name = &file.trim_end_matches(".ron");
        let has_number = header(name).chars().any(|c| c.is_ascii_digit());
        let listed = CHECKED.contains(name) || NOT_FIGURES.iter().any(|(n, _)| n == name);
        assert!(
            !has_number || listed,
            "{name}: its header states numbers; check them in tests/it/shipped_figures.rs \
             (or list it in NOT_FIGURES with the reason)"
        );
    }
}
