//! A bigger box has more cores, not faster ones: the size ladder against the Universal
//! Scalability Law computed here from its two constants, and single-request latency that does
//! not shrink with size.

use rayon::prelude::*;
use tierlab::layout::{Command, NodeId, Size};
use tierlab::sim::sizing::{USL_COHERENCY, USL_CONTENTION};
use tierlab::sim::{Metrics, Sim, SimConfig, TraceConfig};

use crate::check::{self, Row, SEEDS};

/// One app server of size SIZE with enough workers to keep its 192 cores busy, exponential
/// service of mean 2 ms on one core, open-loop Poisson arrivals at QPS.
const ONE_BOX: &str = r#"(
    name: "one box",
    nodes: [
        (id: 0, name: "client", kind: client(qps: QPS)),
        (id: 1, name: "app", kind: app_server(workers: 256, service_ms: 2.0, queue_capacity: 100, size: SIZE)),
    ],
    wires: [(from: 0, to: 1)],
)"#;

const SERVICE_S: f64 = 0.002;

/// USL throughput of `n` cores relative to one, written out here (not the core's function):
/// X(n) = n / (1 + sigma (n - 1) + kappa n (n - 1)).
fn usl(n: f64) -> f64 {
    n / (1.0 + USL_CONTENTION * (n - 1.0) + USL_COHERENCY * n * (n - 1.0))
}

fn one_box(size: Size, qps: f64) -> tierlab::layout::Layout {
    check::parse(
        &ONE_BOX
            .replace("QPS", &format!("{qps:.0}"))
            .replace("SIZE", size.file_name()),
    )
}

#[test]
fn the_size_ladder_s_throughput_ceiling_follows_usl_and_costs_more_per_request() {
    const MEASURED_S: f64 = 3.0;
    let ceiling = |size: Size| usl(f64::from(size.vcpus())) / SERVICE_S;
    let runs: Vec<(u64, Size, Metrics)> = SEEDS
        .par_iter()
        .flat_map(|&seed| {
            Size::ALL.into_par_iter().map(move |size| {
                // Offered twice the ceiling: every core is busy all the time.
                let m = check::run(&one_box(size, 2.0 * ceiling(size)), seed, 1.0, MEASURED_S);
                (seed, size, m)
            })
        })
        .collect();
    let mut rows = Vec::new();
    println!("one app server at each size, offered twice its USL ceiling:");
    for &seed in &SEEDS {
        let mut last: Option<(f64, f64)> = None;
        for size in Size::ALL {
            let m = &runs
                .iter()
                .find(|r| r.0 == seed && r.1 == size)
                .unwrap_or_else(|| panic!("no run {size:?}"))
                .2;
            // What the box served over the measured time (the requests counted end to end
            // exclude the backlog that arrived before the warm-up ended).
            let app = m
                .nodes
                .iter()
                .find(|n| n.name == "app")
                .unwrap_or_else(|| panic!("app"));
            let x = app.served as f64 / m.measured_s;
            let per_dollar = x / m.cost_usd_per_hour;
            let expected = ceiling(size);
            // With every core busy, each of the N cores completes exponential services at the
            // same rate, so completions are a Poisson process: the count over the measured
            // time has standard deviation sqrt(count). Four of them, relative to the count.
            let tolerance = 4.0 / (expected * MEASURED_S).sqrt();
            println!(
                "  seed {seed:>3}  {:<13} {:>3} vCPU  {:>8.0} req/s (USL {:>8.0})  ${:>7.4}/h  \
                 {:>9.0} req/s per $/h",
                size.name(),
                size.vcpus(),
                x,
                expected,
                m.cost_usd_per_hour,
                per_dollar,
            );
            rows.push(Row {
                case: size.name().into(),
                seed,
                figure: "ceiling",
                measured: x,
                expected,
                tolerance,
            });
            assert_eq!(app.cores, size.vcpus(), "a size's cores are its vCPUs");
            assert_eq!(
                app.saturated.map(|r| r.name()),
                Some("cpu"),
                "{}: an overloaded box runs out of CPU",
                size.name()
            );
            assert!(
                check::rel_err(m.cost_usd_per_hour, size.usd_per_hour()).abs() < 1e-9,
                "{}: the run costs the box's price",
                size.name()
            );
            if let Some((lx, lp)) = last {
                assert!(x > lx, "{}: a bigger box serves more", size.name());
                assert!(per_dollar < lp, "{}: but less per dollar", size.name());
            }
            last = Some((x, per_dollar));
        }
    }
    check::assert_rows(
        "throughput ceiling at each size vs USL X(vCPUs) / service time",
        &rows,
    );
}

#[test]
fn one_request_alone_takes_as_long_on_every_size() {
    // 100 requests/s of 2 ms: at most 10 % of one core, so a request nearly always finds a
    // core free and no other core busy: its latency is its own service time, Exp(2 ms), on
    // every size: mean 2 ms, p99 = 2 ms x ln(100).
    const QPS: f64 = 100.0;
    const MEASURED_S: f64 = 50.0;
    let n = QPS * MEASURED_S;
    let runs: Vec<(u64, Size, Metrics)> = SEEDS
        .par_iter()
        .flat_map(|&seed| {
            Size::ALL.into_par_iter().map(move |size| {
                (
                    seed,
                    size,
                    check::run(&one_box(size, QPS), seed, 1.0, MEASURED_S),
                )
            })
        })
        .collect();
    let mean_ms = SERVICE_S * 1e3;
    let p99_ms = SERVICE_S * 1e3 * 100f64.ln();
    // Noise over n samples of an exponential: the mean's relative standard error is
    // 1/sqrt(n); the p99's is sqrt(0.99 x 0.01 / n) / (0.01 x ln 100) (the quantile's
    // standard error over the density there). Four standard errors, plus 2 % for the
    // little queueing and core sharing that 10 % load on two cores still causes.
    let mean_tol = 4.0 / n.sqrt() + 0.02;
    let p99_tol = 4.0 * (0.99 * 0.01 / n).sqrt() / (0.01 * 100f64.ln()) + 0.02;
    let mut rows = Vec::new();
    for &seed in &SEEDS {
        for size in Size::ALL {
            let m = &runs
                .iter()
                .find(|r| r.0 == seed && r.1 == size)
                .unwrap_or_else(|| panic!("no run {size:?}"))
                .2;
            rows.push(Row {
                case: size.name().into(),
                seed,
                figure: "mean ms",
                measured: m.latency_ms.mean,
                expected: mean_ms,
                tolerance: mean_tol,
            });
            rows.push(Row {
                case: size.name().into(),
                seed,
                figure: "p99 ms",
                measured: m.latency_ms.p99,
                expected: p99_ms,
                tolerance: p99_tol,
            });
        }
    }
    check::assert_rows(
        "low-load latency at each size vs one core's service time (mean 2 ms, p99 2 ms x ln 100)",
        &rows,
    );
}

#[test]
fn resizing_a_running_box_serves_the_new_size_s_ceiling() {
    // An overloaded large box (every core busy, requests waiting for one while holding a
    // worker) is resized to an xlarge_4 at 3 s: from then on it serves the bigger ceiling.
    let large = usl(f64::from(Size::Large.vcpus())) / SERVICE_S;
    let big = usl(f64::from(Size::X4Large.vcpus())) / SERVICE_S;
    let layout = one_box(Size::Large, 2.0 * big);
    SEEDS.par_iter().for_each(|&seed| {
        let mut sim = Sim::new(
            &layout,
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
        .unwrap_or_else(|e| panic!("runs: {e:?}"));
        let served = |s: &Sim| {
            s.metrics()
                .nodes
                .iter()
                .find(|n| n.name == "app")
                .map_or(0, |n| n.served)
        };
        sim.run_until_s(3.0);
        let at_3 = served(&sim);
        let mut kind = layout.nodes[1].kind.clone();
        assert!(kind.set_size(Size::X4Large));
        sim.apply(Command::SetKind {
            node: NodeId(1),
            kind,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        sim.run_until_s(5.0);
        let after = (served(&sim) - at_3) as f64 / 2.0;
        let before = at_3 as f64 / 2.0;
        println!(
            "  seed {seed}: served {before:.0}/s on a large (USL {large:.0}), {after:.0}/s after \
             the resize (USL {big:.0})"
        );
        // Poisson counts of completions over 2 s: four standard deviations.
        let tolerance = |rate: f64| 4.0 * (rate * 2.0).sqrt() / 2.0;
        assert!(
            (before - large).abs() < tolerance(large),
            "seed {seed}: {before}"
        );
        assert!((after - big).abs() < tolerance(big), "seed {seed}: {after}");
    });
}
