//! The core against queueing theory: M/M/c (Erlang C) means and 99th percentiles, M/D/1
//! (Pollaczek–Khinchine), M/M/c/K losses, and the interactive response time law of a closed loop.
//!
//! Every case runs on the three fixed seeds of `check::SEEDS`, in parallel, prints its error per
//! seed (`cargo test --test it queueing -- --nocapture`) and asserts on each seed.
//!
//! How many requests: for M/M/1 the asymptotic variance of the time-average number in system
//! over T service times is 2ρ(1+ρ)/((1-ρ)^4 T) (Whitt), so the relative standard error of the
//! mean response time over n requests is about sqrt(2(1+ρ)/(ρ²(1-ρ)²) · ρ/n):
//! ρ = 0.9 gives 19.5/sqrt(n), that is 2 % at 1 M requests (a 3 % test would fail a correct
//! core now and then) and 0.6 % at 10 M; ρ = 0.8 gives 9.5/sqrt(n), 0.55 % at 3 M; ρ = 0.5
//! gives 3.5/sqrt(n), 0.35 % at 1 M. Each tolerance is thus at least five standard errors.
//! More servers at the same load only shrink the variance.

use rayon::prelude::*;
use tierlab::layout::{AppParams, ClientParams, Command, LoopMode, NodeId, ServiceDist, Target};
use tierlab::sim::{FailReason, Sim, SimConfig};

use crate::check::{self, Row, SEEDS};

/// Simulated seconds run before counting: the slowest case (M/M/1 at 0.9) relaxes in well
/// under a second (1/(μ(1-√ρ)²) ≈ 0.4 s), so ten seconds leave no trace of the empty start.
const WARMUP_S: f64 = 10.0;

// ----- Theory. Times in ms, rates per ms. -----

/// Erlang's C formula: the probability that an arrival to an M/M/c queue with offered load
/// `a` = λ/μ erlangs has to wait. Needs a < c.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    assert!(rho < 1.0, "Erlang C needs a stable queue");
    // Sum of a^k/k! for k < c; `term` ends as a^c/c!.
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let waiting = term / (1.0 - rho);
    waiting / (sum + waiting)
}

/// Mean response time (wait + service) of M/M/c: C/(cμ-λ) + 1/μ.
fn mmc_mean(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda) + 1.0 / mu
}

/// P(response ≤ t) in M/M/c (FCFS). With probability 1-C the arrival finds a free server and
/// its response is its service time S ~ Exp(μ); with probability C it waits Wq ~ Exp(cμ-λ)
/// first, and Wq + S is hypoexponential (Erlang-2 when cμ-λ = μ).
fn mmc_cdf(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let cw = erlang_c(c, lambda / mu);
    let theta = f64::from(c) * mu - lambda;
    let service = 1.0 - (-mu * t).exp();
    let wait_then_service = if ((theta - mu) / mu).abs() < 1e-9 {
        1.0 - (-mu * t).exp() * (1.0 + mu * t)
    } else {
        1.0 - (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    (1.0 - cw) * service + cw * wait_then_service
}

/// The `q` quantile of M/M/c response time, by bisection on the CDF.
fn mmc_quantile(c: u32, lambda: f64, mu: f64, q: f64) -> f64 {
    let mut hi = 1.0 / mu;
    while mmc_cdf(c, lambda, mu, hi) < q {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mmc_cdf(c, lambda, mu, mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Mean response time of M/D/1 with service time `s` (Pollaczek–Khinchine):
/// s + ρs/(2(1-ρ)), ρ = λs.
fn md1_mean(lambda: f64, s: f64) -> f64 {
    let rho = lambda * s;
    s + rho * s / (2.0 * (1.0 - rho))
}

/// The share of arrivals an M/M/c/K queue turns away: P(K in system), by PASTA.
/// p_n ∝ a^n/n! for n ≤ c and a^c/c! · ρ^(n-c) for c < n ≤ K.
fn mmck_loss(c: u32, k: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let mut p = Vec::with_capacity(k as usize + 1);
    let mut term = 1.0;
    for n in 0..=k {
        p.push(term);
        term *= if n < c { a / f64::from(n + 1) } else { rho };
    }
    p[k as usize] / p.iter().sum::<f64>()
}

#[test]
fn theory_helpers_agree_with_closed_forms() {
    // M/M/1: C = ρ, response ~ Exp(μ-λ), so mean 1/(μ-λ) and p99 ln(100)/(μ-λ).
    let (lambda, mu) = (0.9, 1.0);
    assert!((erlang_c(1, 0.9) - 0.9).abs() < 1e-12);
    assert!((mmc_mean(1, lambda, mu) - 10.0).abs() < 1e-9);
    assert!((mmc_quantile(1, lambda, mu, 0.99) - 100f64.ln() / 0.1).abs() < 1e-9);
    // M/M/2 at λ = 1: cμ-λ = μ, the Erlang-2 branch; it must join the general formula
    // continuously.
    let at = mmc_cdf(2, 1.0, 1.0, 3.0);
    let near = mmc_cdf(2, 1.0 + 1e-6, 1.0, 3.0);
    assert!((at - near).abs() < 1e-5, "{at} vs {near}");
    // Erlang C for c = 2, a = 1: (1/2 · 2) / (1 + 1 + 1) = 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // M/M/1/K: (1-ρ)ρ^K / (1-ρ^(K+1)).
    let (rho, k) = (1.2f64, 5);
    let expected = (1.0 - rho) * rho.powi(k) / (1.0 - rho.powi(k + 1));
    assert!((mmck_loss(1, k as u32, rho) - expected).abs() < 1e-12);
    // M/D/1 waits half as long as M/M/1.
    assert!((md1_mean(0.9, 1.0) - 5.5).abs() < 1e-12);
}

// ----- Simulation. -----

/// An open-loop Poisson client at `qps`, all reads.
fn poisson(qps: f64) -> ClientParams {
    ClientParams {
        qps,
        read_share: 1.0,
        ..ClientParams::default()
    }
}

/// A server with `workers` workers, service of mean 1 ms, and a waiting room of `queue`.
fn server(workers: u32, queue: u32, service: ServiceDist) -> AppParams {
    AppParams {
        workers,
        queue_capacity: queue,
        service,
        service_ms: 1.0,
        ..AppParams::default()
    }
}

/// Practically unbounded: no request of a stable queue is ever turned away.
const HUGE_QUEUE: u32 = 10_000_000;

/// Measured requests per seed at load `rho` (see the module comment).
fn requests_at(rho: f64) -> f64 {
    if rho >= 0.9 {
        10e6
    } else if rho >= 0.8 {
        3e6
    } else {
        1e6
    }
}

#[test]
fn mmc_mean_and_p99_match_erlang_c() {
    let mut cases = Vec::new();
    for c in [1u32, 2, 4, 8] {
        for rho in [0.5, 0.8, 0.9] {
            for seed in SEEDS {
                cases.push((c, rho, seed));
            }
        }
    }
    let rows: Vec<Row> = cases
        .par_iter()
        .flat_map_iter(|&(c, rho, seed)| {
            let mu = 1.0;
            let lambda = rho * f64::from(c) * mu;
            let qps = lambda * 1000.0;
            let layout = check::client_to_server(
                poisson(qps),
                server(c, HUGE_QUEUE, ServiceDist::Exponential),
            );
            let m = check::run(&layout, seed, WARMUP_S, requests_at(rho) / qps);
            assert_eq!(m.requests.failed, 0, "no request fails: {:?}", m.failures);
            let case = format!("M/M/{c} rho {rho}");
            [
                Row {
                    case: case.clone(),
                    seed,
                    figure: "mean ms",
                    measured: m.latency_ms.mean,
                    expected: mmc_mean(c, lambda, mu),
                    tolerance: 0.03,
                },
                Row {
                    case,
                    seed,
                    figure: "p99 ms",
                    measured: m.latency_ms.p99,
                    expected: mmc_quantile(c, lambda, mu, 0.99),
                    tolerance: 0.05,
                },
            ]
        })
        .collect();
    check::assert_rows("M/M/c response time against Erlang C", &rows);
}

#[test]
fn md1_mean_matches_pollaczek_khinchine() {
    let mut cases = Vec::new();
    for rho in [0.5, 0.9] {
        for seed in SEEDS {
            cases.push((rho, seed));
        }
    }
    let rows: Vec<Row> = cases
        .par_iter()
        .map(|&(rho, seed)| {
            let qps = rho * 1000.0;
            let layout =
                check::client_to_server(poisson(qps), server(1, HUGE_QUEUE, ServiceDist::Constant));
            let m = check::run(&layout, seed, WARMUP_S, requests_at(rho) / qps);
            Row {
                case: format!("M/D/1 rho {rho}"),
                seed,
                figure: "mean ms",
                measured: m.latency_ms.mean,
                expected: md1_mean(rho, 1.0),
                tolerance: 0.03,
            }
        })
        .collect();
    check::assert_rows(
        "M/D/1 mean response time against Pollaczek-Khinchine",
        &rows,
    );
}

#[test]
fn mmck_losses_match_the_finite_buffer_formula() {
    // (c, K, ρ): a little loss under the knee, heavy loss when overloaded, and ρ = 1 exactly.
    let configs = [(2u32, 10u32, 0.9), (1, 5, 1.2), (4, 8, 1.0)];
    let mut cases = Vec::new();
    for cfg in configs {
        for seed in SEEDS {
            cases.push((cfg, seed));
        }
    }
    // The queue never holds more than K, so runs decorrelate within a few dozen service times;
    // 2 M arrivals give over 100 000 losses even in the lightest case.
    let arrivals = 2e6;
    let rows: Vec<Row> = cases
        .par_iter()
        .map(|&((c, k, rho), seed)| {
            let a = rho * f64::from(c);
            let qps = a * 1000.0;
            let layout =
                check::client_to_server(poisson(qps), server(c, k - c, ServiceDist::Exponential));
            let m = check::run(&layout, seed, WARMUP_S, arrivals / qps);
            let dropped = check::failed_by(&m, FailReason::QueueFull);
            assert_eq!(
                dropped, m.requests.failed,
                "every failure is a full queue: {:?}",
                m.failures
            );
            Row {
                case: format!("M/M/{c}/{k} rho {rho}"),
                seed,
                figure: "loss share",
                measured: dropped as f64 / m.requests.arrived as f64,
                expected: mmck_loss(c, k, a),
                tolerance: 0.05,
            }
        })
        .collect();
    check::assert_rows("M/M/c/K share of arrivals dropped", &rows);
}

#[test]
fn closed_loop_obeys_the_response_time_law() {
    // (users N, think Z ms, workers c): saturated (N/(Z+1 ms) far above c) and lightly loaded.
    let configs = [(50u32, 10.0, 4u32), (10, 10.0, 4)];
    let mut cases = Vec::new();
    for cfg in configs {
        for seed in SEEDS {
            cases.push((cfg, seed));
        }
    }
    let rows: Vec<Row> = cases
        .par_iter()
        .map(|&((users, think_ms, c), seed)| {
            let client = ClientParams {
                mode: LoopMode::Closed,
                users,
                think_ms,
                read_share: 1.0,
                ..ClientParams::default()
            };
            let layout =
                check::client_to_server(client, server(c, HUGE_QUEUE, ServiceDist::Exponential));
            // About 1 M requests: the heavy case completes close to c per ms (250 s), the
            // light one about N/(Z + 1 ms) per ms (1 100 s).
            let seconds = if users >= 50 { 250.0 } else { 1100.0 };
            let m = check::run(&layout, seed, WARMUP_S, seconds);
            let x_per_ms = m.throughput_rps / 1000.0;
            Row {
                case: format!("closed N {users} Z {think_ms} c {c}"),
                seed,
                figure: "mean R ms",
                measured: m.latency_ms.mean,
                expected: f64::from(users) / x_per_ms - think_ms,
                tolerance: 0.03,
            }
        })
        .collect();
    check::assert_rows("closed loop: R = N/X - Z", &rows);
}

/// The users a closed loop really has over the next `seconds`, by the response time law
/// N = X (R + Z), from the counters before and after.
fn users_seen(sim: &mut Sim, think_ms: f64, seconds: f64) -> f64 {
    let before = sim.metrics();
    sim.run_until_s(sim.now_ns() as f64 / 1e9 + seconds);
    let after = sim.metrics();
    let done = (after.requests.completed - before.requests.completed) as f64;
    let sum_ms = after.latency_ms.mean * after.requests.completed as f64
        - before.latency_ms.mean * before.requests.completed as f64;
    let x_per_ms = done / (seconds * 1000.0);
    x_per_ms * (sum_ms / done + think_ms)
}

#[test]
fn a_closed_loop_keeps_its_users_through_faults_and_edits() {
    const CLIENT: NodeId = NodeId(0);
    let think_ms = 10.0;
    let client = ClientParams {
        mode: LoopMode::Closed,
        users: 20,
        think_ms,
        read_share: 1.0,
        ..ClientParams::default()
    };
    // Plenty of workers, so nothing queues and the users alone set the rate.
    let layout = check::client_to_server(client, server(256, HUGE_QUEUE, ServiceDist::Exponential));
    let set_users = |n: u32| Command::SetParam {
        node: CLIENT,
        param: "users".into(),
        value: f64::from(n),
    };
    let rows: Vec<Row> = SEEDS
        .par_iter()
        .flat_map_iter(|&seed| {
            let config = SimConfig {
                seed: Some(seed),
                ..SimConfig::default()
            };
            let mut sim = Sim::new(&layout, config).unwrap_or_else(|p| panic!("{p:?}"));
            let apply = |sim: &mut Sim, c: Command| {
                let shown = format!("{c:?}");
                if let Err(why) = sim.apply(c) {
                    panic!("{shown}: {why}");
                }
            };
            let mut rows = Vec::new();
            let mut measure = |sim: &mut Sim, case: &str, users: u32| {
                // Let the change settle for a second, then count for 20 s (about 40 000
                // requests at 20 users).
                sim.run_until_s(sim.now_ns() as f64 / 1e9 + 1.0);
                rows.push(Row {
                    case: case.to_string(),
                    seed,
                    figure: "users N",
                    measured: users_seen(sim, think_ms, 20.0),
                    expected: f64::from(users),
                    tolerance: 0.03,
                });
            };
            measure(&mut sim, "closed N 20", 20);
            // A short outage of the client: users thinking or waiting then come back once.
            apply(&mut sim, Command::Kill(Target::node(CLIENT)));
            sim.run_ticks(3);
            apply(&mut sim, Command::Revive(Target::node(CLIENT)));
            measure(&mut sim, "after kill and revive", 20);
            apply(&mut sim, set_users(100));
            measure(&mut sim, "after users = 100", 100);
            apply(&mut sim, set_users(10));
            measure(&mut sim, "after users = 10", 10);
            rows
        })
        .collect();
    check::assert_rows("closed loop: users by N = X (R + Z)", &rows);
}

#[test]
fn latencies_add_up_along_the_path() {
    // Constant arrivals 100 ms apart and constant service: nothing ever queues, so every
    // request takes exactly the sum along its path. Each wire's latency is one way and is paid
    // going and coming back; the balancer adds its own latency once, on the way in.
    let layout = check::parse(
        r#"(
            nodes: [
                (id: 0, name: "client", kind: client(qps: 10, arrivals: constant, read_share: 1.0)),
                (id: 1, name: "lb", kind: load_balancer(latency_ms: 0.1)),
                (id: 2, name: "app", kind: app_server(count: 2, service: constant, service_ms: 4)),
                (id: 3, name: "db", kind: database(service: constant, read_ms: 2, write_ms: 9)),
            ],
            wires: [
                (from: 0, to: 1, latency_ms: 5),
                (from: 1, to: 2, latency_ms: 0.2),
                (from: 2, to: 3, latency_ms: 0.5),
            ],
        )"#,
    );
    let expected_ms = 2.0 * 5.0 + 0.1 + 2.0 * 0.2 + 4.0 + 2.0 * 0.5 + 2.0;
    let m = check::run(&layout, SEEDS[0], 1.0, 10.0);
    assert_eq!(m.requests.completed, 100, "{:?}", m.requests);
    println!(
        "path latency: mean {} ms, expected {expected_ms} ms",
        m.latency_ms.mean
    );
    assert!(
        (m.latency_ms.mean - expected_ms).abs() < 1e-9,
        "{:?}",
        m.latency_ms
    );
    // The histogram keeps three significant figures.
    for q in [m.latency_ms.p50, m.latency_ms.p99, m.latency_ms.max] {
        assert!(
            check::rel_err(q, expected_ms).abs() < 1e-3,
            "{:?}",
            m.latency_ms
        );
    }
}

/// The mean response time of E_k/M/1 (Erlang-k interarrival times of mean 1/λ, exponential
/// service of rate μ): GI/M/1 gives 1/(μ(1-σ)), where σ in (0, 1) solves
/// σ = A*(μ(1-σ)) and A*(s) = (kλ/(kλ+s))^k is the interarrival Laplace transform.
fn ekm1_mean(k: u32, lambda: f64, mu: f64) -> f64 {
    let kl = f64::from(k) * lambda;
    let mut sigma: f64 = 0.5;
    for _ in 0..10_000 {
        sigma = (kl / (kl + mu * (1.0 - sigma))).powi(k as i32);
    }
    1.0 / (mu * (1.0 - sigma))
}

#[test]
fn a_balanced_pool_splits_poisson_traffic_as_theory_says() {
    // A balancer with no latency in front of a pool of four single-worker servers at load 0.8.
    // Random splitting keeps Poisson arrivals, so each member is M/M/1; round-robin sends each
    // member every fourth arrival, so its gaps are Erlang-4 and it is E4/M/1 (less waiting).
    let (members, rho) = (4u32, 0.8);
    let lambda = rho * f64::from(members);
    let mut cases = Vec::new();
    for algorithm in ["random", "round_robin"] {
        for seed in SEEDS {
            cases.push((algorithm, seed));
        }
    }
    let rows: Vec<Row> = cases
        .par_iter()
        .map(|&(algorithm, seed)| {
            let layout = check::parse(&format!(
                r#"(
                    nodes: [
                        (id: 0, name: "client", kind: client(qps: {qps}, read_share: 1.0)),
                        (id: 1, name: "lb", kind: load_balancer(algorithm: {algorithm}, latency_ms: 0)),
                        (id: 2, name: "app", kind: app_server(count: {members}, workers: 1,
                            queue_capacity: {HUGE_QUEUE}, service: exponential, service_ms: 1)),
                    ],
                    wires: [(from: 0, to: 1), (from: 1, to: 2)],
                )"#,
                qps = lambda * 1000.0
            ));
            // 3 M requests: each member sees 750 000 at load 0.8, and the random case is
            // M/M/1 (standard error about 9.5/sqrt(n) = 1.1 %, so the 5 % limit is over four
            // standard errors; round-robin varies less).
            let m = check::run(&layout, seed, WARMUP_S, 3e6 / (lambda * 1000.0));
            let expected = match algorithm {
                "random" => mmc_mean(1, rho, 1.0),
                _ => ekm1_mean(members, rho, 1.0),
            };
            Row {
                case: format!("pool of 4, {algorithm}"),
                seed,
                figure: "mean ms",
                measured: m.latency_ms.mean,
                expected,
                tolerance: 0.05,
            }
        })
        .collect();
    check::assert_rows(
        "a balanced pool: M/M/1 (random) and E4/M/1 (round-robin) members",
        &rows,
    );
}
