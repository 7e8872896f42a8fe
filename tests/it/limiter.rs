//! The rate limiter against theory: Poisson arrivals at lambda into a token bucket of rate r
//! and burst b let min(lambda, r) through over a long run; the rejected share agrees with a
//! token bucket simulated here, on the test's own random draws (not the core's code); per
//! user with Zipf users, the heaviest user is refused first; and the window shows the
//! refusals apart.

use eframe::egui::{Key, Modifiers, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use rand::RngExt as _;
use rand::SeedableRng as _;
use rand_pcg::Pcg64Mcg;
use tierlab::app::{AppConfig, TierlabApp};
use tierlab::layout::{self, Layout};
use tierlab::sim::{FailReason, Outcome, Sim, SimConfig, TraceConfig};

use crate::check::{self, SEEDS};
use crate::window::sim;

/// One open-loop Poisson client at `qps` -> a global limiter (no latency) -> a server fast and
/// wide enough never to refuse: every failure is the limiter's.
fn bucket_layout(qps: f64, rate: f64, burst: u32) -> Layout {
    check::parse(&format!(
        r#"(
    version: 1,
    name: "bucket",
    description: "",
    seed: 1,
    tick_ms: 1.0,
    nodes: [
        (id: 0, name: "client", pos: (x: 0, y: 0), kind: client(qps: {qps})),
        (id: 1, name: "limiter", pos: (x: 200, y: 0),
            kind: rate_limiter(rate_per_s: {rate}, burst: {burst}, per: global, latency_ms: 0.0)),
        (id: 2, name: "app", pos: (x: 400, y: 0),
            kind: app_server(workers: 64, service_ms: 0.1)),
    ],
    wires: [
        (from: 0, to: 1, latency_ms: 0.0),
        (from: 1, to: 2, latency_ms: 0.0),
    ],
)"#
    ))
}

/// The limiter's (admitted, rejected) calls over the run.
fn decisions(m: &tierlab::sim::Metrics) -> (u64, u64) {
    let l = check::node_named(m, "limiter")
        .limiter
        .unwrap_or_else(|| panic!("the limiter reports its counters"));
    (l.admitted, l.rejected)
}

/// Long run: the admitted rate is min(lambda, r). Below r the noise is the Poisson count's
/// (sd sqrt(lambda T)); above r the admitted count is r T + b less the tokens left, whatever
/// the arrivals. Near r the bucket's level wanders like a random walk with variance lambda per
/// second held between 0 and b: it loses about lambda / (2 b) per second at its ends (the
/// diffusion approximation of a doubly reflected walk), what a burst of b cannot absorb of the
/// arrivals' noise. Tolerance: 4 sd of a Poisson count at min(lambda, r) and the starting
/// burst (b + 1 tokens), over T, plus that loss rate.
#[test]
fn poisson_arrivals_are_admitted_at_the_smaller_of_their_rate_and_the_buckets() {
    let (rate, burst, seconds) = (200.0, 100, 200.0);
    for lambda in [100.0, 200.0, 400.0] {
        let layout = bucket_layout(lambda, rate, burst);
        for &seed in &SEEDS {
            let m = check::run(&layout, seed, 0.0, seconds);
            let (admitted, rejected) = decisions(&m);
            let expected = f64::min(lambda, rate);
            let measured = admitted as f64 / m.measured_s;
            let tolerance = (4.0 * (expected * seconds).sqrt() + f64::from(burst) + 1.0) / seconds
                + expected / (2.0 * f64::from(burst));
            println!(
                "  lambda {lambda} r {rate} seed {seed}: admitted {measured:.2}/s, theory {expected}/s, error {:+.2} % (tolerance {:.2} %), {rejected} rejected",
                100.0 * check::rel_err(measured, expected),
                100.0 * tolerance / expected
            );
            assert!(
                (measured - expected).abs() <= tolerance,
                "lambda {lambda}, seed {seed}: admitted {measured:.2}/s, expected {expected} +- {tolerance:.2}"
            );
            assert_eq!(
                check::failed_by(&m, FailReason::RateLimited),
                rejected,
                "every refusal fails its request with rate_limited"
            );
            assert_eq!(m.requests.failed, rejected, "and nothing else fails");
        }
    }
}

/// A token bucket written here, independent of the core: exact event times from the test's
/// own Poisson draws, the level in f64 tokens. Returns (arrivals, rejected).
fn bucket_by_hand(
    rng: &mut Pcg64Mcg,
    lambda: f64,
    rate: f64,
    burst: f64,
    seconds: f64,
) -> (u64, u64) {
    let (mut t, mut level, mut last) = (0.0f64, burst, 0.0f64);
    let (mut arrivals, mut rejected) = (0u64, 0u64);
    loop {
        // Exponential gap by inversion: 1 - u is in (0, 1].
        let u: f64 = rng.random();
        t += -(1.0 - u).ln() / lambda;
        if t >= seconds {
            return (arrivals, rejected);
        }
        arrivals += 1;
        level = f64::min(burst, level + (t - last) * rate);
        last = t;
        if level >= 1.0 {
            level -= 1.0;
        } else {
            rejected += 1;
        }
    }
}

/// The rejected share the core measures against the test's own bucket: its mean over many
/// replications of the same length is the expectation, their spread the noise of one run
/// (refusals come in clusters, so the binomial formula would understate it). Tolerance: 4 sd
/// of one run plus the sd of the mean.
#[test]
fn the_rejected_share_matches_a_token_bucket_simulated_in_the_test() {
    let (rate, burst, seconds) = (50.0, 5u32, 400.0);
    let mut rng = Pcg64Mcg::seed_from_u64(0x5eed_b0c4e7);
    for lambda in [40.0, 50.0, 60.0] {
        let reps = 40;
        let shares: Vec<f64> = (0..reps)
            .map(|_| {
                let (a, r) = bucket_by_hand(&mut rng, lambda, rate, f64::from(burst), seconds);
                r as f64 / a as f64
            })
            .collect();
        let mean = shares.iter().sum::<f64>() / reps as f64;
        let var = shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (reps - 1) as f64;
        let sd = var.sqrt();
        let tolerance = 4.0 * sd + sd / (reps as f64).sqrt();
        let layout = bucket_layout(lambda, rate, burst);
        for &seed in &SEEDS {
            let m = check::run(&layout, seed, 0.0, seconds);
            let (admitted, rejected) = decisions(&m);
            let share = rejected as f64 / (admitted + rejected) as f64;
            println!(
                "  lambda {lambda} r {rate} b {burst} seed {seed}: rejected share {share:.4}, by hand {mean:.4} (sd {sd:.4}), error {:+.4} (tolerance {tolerance:.4})",
                share - mean
            );
            assert!(
                (share - mean).abs() <= tolerance,
                "lambda {lambda}, seed {seed}: rejected share {share:.4}, the test's bucket says {mean:.4} +- {tolerance:.4}"
            );
        }
    }
}

/// Zipf users behind a per-user bucket: user 0 (the busiest, about 193/s of the 1000/s over
/// 100 users at alpha 1) is refused far more often than the light half of the users (under
/// 4/s each against a limit of 5/s). Measured from every request's trace.
#[test]
fn per_user_the_heaviest_user_is_limited_first() {
    let text = r#"(
    version: 1,
    name: "zipf users",
    description: "",
    seed: 1,
    tick_ms: 1.0,
    nodes: [
        (id: 0, name: "client", pos: (x: 0, y: 0),
            kind: client(qps: 1000, users: 100, user_zipf_alpha: 1.0)),
        (id: 1, name: "limiter", pos: (x: 200, y: 0),
            kind: rate_limiter(rate_per_s: 5, burst: 5, per: user, latency_ms: 0.0)),
        (id: 2, name: "app", pos: (x: 400, y: 0),
            kind: app_server(workers: 64, service_ms: 0.1)),
    ],
    wires: [
        (from: 0, to: 1, latency_ms: 0.0),
        (from: 1, to: 2, latency_ms: 0.0),
    ],
)"#;
    let layout = check::parse(text);
    // Zipf(100, 1): user k (from 0) has share 1 / ((k + 1) H(100)).
    let h100: f64 = (1..=100).map(|k| 1.0 / f64::from(k)).sum();
    let rate_of = |user: u32| 1000.0 / (f64::from(user + 1) * h100);
    let heavy_theory = 1.0 - 5.0 / rate_of(0);
    for &seed in &SEEDS {
        let mut sim = Sim::new(
            &layout,
            SimConfig {
                seed: Some(seed),
                warmup_s: 0.0,
                trace: TraceConfig {
                    every: 1,
                    capacity: 40_000,
                    keep_ns: 0,
                },
            },
        )
        .unwrap_or_else(|e| panic!("runs: {e:?}"));
        while sim.now_ns() < layout::s_to_ns(20.0) {
            sim.tick();
        }
        // (requests, rate limited) for user 0, and for the light half (users 50..100).
        let (mut heavy, mut light) = ((0u64, 0u64), (0u64, 0u64));
        for t in &sim.traces().done {
            let limited = t.outcome == Some(Outcome::Failed(FailReason::RateLimited));
            let slot = match t.user {
                0 => &mut heavy,
                50.. => &mut light,
                _ => continue,
            };
            slot.0 += 1;
            slot.1 += u64::from(limited);
        }
        let share = |(n, r): (u64, u64)| r as f64 / n.max(1) as f64;
        println!(
            "  seed {seed}: user 0 sent {} and lost {:.3} (theory 1 - 5/{:.0} = {heavy_theory:.3}, error {:+.3}); users 50..99 sent {} and lost {:.4}",
            heavy.0,
            share(heavy),
            rate_of(0),
            share(heavy) - heavy_theory,
            light.0,
            share(light)
        );
        assert!(heavy.0 > 1000 && light.0 > 1000, "both groups sent enough");
        // Over 20 s user 0 gets at most 5/s x 20 s + the burst of 5 through.
        assert!(
            heavy.0 - heavy.1 <= 105,
            "seed {seed}: user 0 got {} through, more than its bucket allows",
            heavy.0 - heavy.1
        );
        assert!(
            share(heavy) > 0.9 && share(light) < 0.1,
            "seed {seed}: the heavy user is refused ({:.3}), the light users hardly ({:.4})",
            share(heavy),
            share(light)
        );
    }
}

/// The window: open the shipped layout, play, and read the refusals in the summary, apart
/// from the other failures, and under the limiter's box.
#[test]
fn the_window_shows_rate_limited_requests_apart() {
    let layout = layout::from_ron(
        tierlab::shipped::find("rate-limit.ron").unwrap_or_else(|| panic!("shipped")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("tierlab-limiter-{}", std::process::id()));
    let app = TierlabApp::with_layout(
        AppConfig {
            native_dialogs: false,
            save_dir: dir,
            fixed_ticks_per_frame: Some(100),
            ..AppConfig::default()
        },
        layout,
    );
    let mut h = Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    h.remove_cursor();
    h.key_press_modifiers(Modifiers::NONE, Key::Space);
    h.step();
    h.step();
    let mut guard = 0;
    while sim(&h).now_ns() < layout::s_to_ns(3.0) {
        h.step();
        guard += 1;
        assert!(guard < 10_000, "the run does not advance");
    }
    h.key_press_modifiers(Modifiers::NONE, Key::Space);
    h.step();
    h.step();
    let recent = sim(&h).recent();
    println!(
        "  after {:.1} s: {} failed in the window, {} of them rate limited",
        sim(&h).now_ns() as f64 / 1e9,
        recent.failed,
        recent.rate_limited
    );
    assert!(recent.rate_limited > 0, "the heavy users are refused");
    assert_eq!(
        recent.rate_limited, recent.failed,
        "nothing else fails in this layout"
    );
    let node = h.get_by_label_contains("rate limited ");
    let text = node
        .accesskit_node()
        .value()
        .or_else(|| node.accesskit_node().label())
        .unwrap_or_default();
    println!("  the summary reads `{text}`");
    assert!(
        text.starts_with("rate limited ") && !text.starts_with("rate limited 0 "),
        "the summary shows the refusals: `{text}`"
    );
}

/// saves/rate-limit.ron: the figures of its header, computed here from its settings (Zipf
/// users, the per-user limit, the pool), and the run agrees on each seed.
#[test]
fn the_shipped_rate_limit_layout_says_its_figures() {
    let text = tierlab::shipped::find("rate-limit.ron").unwrap_or_else(|| panic!("shipped"));
    let header: String = text
        .lines()
        .take_while(|l| l.starts_with("//"))
        .map(|l| l.trim_start_matches('/').trim())
        .collect::<Vec<_>>()
        .join(" ");
    let says = |figure: &str| {
        assert!(
            header.contains(figure),
            "the header should say `{figure}` (computed from the layout), but reads:\n{header}"
        )
    };
    let (qps, users, limit) = (3000.0, 3000u32, 10.0);
    let layout = check::parse(text);
    assert!(text.contains("qps: 3000, users: 3000, user_zipf_alpha: 1.0"));
    assert!(text.contains("rate_per_s: 10, burst: 20, per: user"));
    assert!(text.contains("app_server(count: 2, workers: 8, service_ms: 5.0)"));
    let h: f64 = (1..=users).map(|k| 1.0 / f64::from(k)).sum();
    let rate_of = |k: u32| qps / (f64::from(k) * h);
    says(&format!(
        "sends about {:.0}/s",
        (rate_of(1) / 50.0).round() * 50.0
    ));
    let over = (1..=users).filter(|&k| rate_of(k) > limit).count();
    says(&format!("{over} users send more than the limit of 10/s"));
    let through: f64 = (1..=users).map(|k| rate_of(k).min(limit)).sum();
    says(&format!(
        "about {},{:03}/s get through",
        (through / 100.0).round() as u32 * 100 / 1000,
        (through / 100.0).round() as u32 * 100 % 1000
    ));
    let capacity = 2.0 * 8.0 / 0.005;
    says(&format!(
        "its {},{:03}/s",
        capacity as u32 / 1000,
        capacity as u32 % 1000
    ));
    says(&format!("runs at {:.0} %", 100.0 * qps / capacity));
    for &seed in &SEEDS {
        let m = check::run(&layout, seed, 0.0, 60.0);
        let admitted = m.throughput_rps;
        println!(
            "  seed {seed}: {admitted:.1}/s through, sum of min(rate, limit) {through:.1}/s, error {:+.2} %",
            100.0 * check::rel_err(admitted, through)
        );
        // The users just under the limit lose a little to their own bursts (a few %).
        assert!(
            admitted <= through * 1.01 && admitted >= through * 0.95,
            "seed {seed}: {admitted:.1}/s through, the header says about {through:.0}/s"
        );
        assert_eq!(check::failed_by(&m, FailReason::QueueFull), 0);
    }
}

/// `check` names a bad rate or burst by node and field, refuses a second wire out and a wire
/// to a kind a limiter cannot call, and warns about a limiter that forwards to nothing.
#[test]
fn check_names_the_limiters_problems() {
    let text = r#"(
    version: 1,
    name: "bad limiters",
    description: "",
    seed: 1,
    tick_ms: 1.0,
    nodes: [
        (id: 0, name: "client", pos: (x: 0, y: 0), kind: client()),
        (id: 1, name: "gate", pos: (x: 200, y: 0),
            kind: rate_limiter(rate_per_s: 0, burst: 0)),
        (id: 2, name: "a", pos: (x: 400, y: 0), kind: app_server()),
        (id: 3, name: "b", pos: (x: 400, y: 200), kind: app_server()),
        (id: 4, name: "idle", pos: (x: 200, y: 200), kind: rate_limiter()),
        (id: 5, name: "db", pos: (x: 600, y: 0), kind: database()),
        (id: 6, name: "gate2", pos: (x: 200, y: 400), kind: rate_limiter()),
    ],
    wires: [
        (from: 0, to: 1, latency_ms: 0.0),
        (from: 1, to: 2, latency_ms: 0.0),
        (from: 1, to: 3, latency_ms: 0.0),
        (from: 0, to: 4, latency_ms: 0.0),
        (from: 0, to: 6, latency_ms: 0.0),
        (from: 6, to: 5, latency_ms: 0.0),
    ],
)"#;
    let problems: Vec<String> = layout::check(&check::parse(text))
        .iter()
        .map(|p| p.to_string())
        .collect();
    println!("{problems:#?}");
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(has("error: gate: rate_per_s = 0 is out of range"));
    assert!(has("error: gate: burst = 0 is out of range"));
    assert!(has(
        "error: gate: a rate limiter forwards to one node, but this one is wired to 2"
    ));
    assert!(has("a rate limiter cannot call a database"));
    assert!(has("warning: idle: the rate limiter forwards to nothing"));
}
