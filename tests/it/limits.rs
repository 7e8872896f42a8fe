//! A run always advances and stays bounded (issue 9): one test per way a small, legal file used
//! to hang, explode or exhaust a run, each on the smallest layout that showed it, plus the
//! stop itself: a run that crosses a limit halts with a message naming the node and the cause.
//!
//! Every assertion is on deterministic work counts (`Sim::work`), simulated time and the
//! documented limits, never on wall-clock time.

use std::process::Command as Process;

use tierlab::layout::{self, Severity, limits as file_limits};
use tierlab::sim::limits::{MIN_TURNAROUND_NS, TRACE_DECISIONS_MAX, TRACE_HOPS_MAX};
use tierlab::sim::{FailReason, HaltCause, Limits, Sim, SimConfig, TraceConfig};

use crate::check::parse;

fn sim(text: &str) -> Sim {
    Sim::new(&parse(text), SimConfig::default()).unwrap_or_else(|p| panic!("cannot run: {p:?}"))
}

fn sim_limited(text: &str, limits: Limits) -> Sim {
    Sim::new_limited(&parse(text), SimConfig::default(), limits)
        .unwrap_or_else(|p| panic!("cannot run: {p:?}"))
}

/// Run to `seconds` and insist the run did not stop.
fn run_to(s: &mut Sim, seconds: f64) {
    s.run_until_s(seconds);
    if let Some(h) = s.halted() {
        panic!("the run stopped: {h}");
    }
    assert_eq!(s.now_ns(), layout::s_to_ns(seconds));
}

fn errors(text: &str) -> Vec<String> {
    layout::check(&parse(text))
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect()
}

fn warnings(text: &str) -> Vec<String> {
    layout::check(&parse(text))
        .into_iter()
        .filter(|p| p.severity == Severity::Warning)
        .map(|p| p.to_string())
        .collect()
}

// ----- Time that stops -----

/// The four ways a request used to end in zero time, each behind a closed-loop user with zero
/// think time: no backend, a full zero-length queue, a dead node, zero service over zero
/// latency. Each used to hang `tick()` forever at t = 0.
const ZERO_TIME_LOOPS: [(&str, &str); 4] = [
    (
        "no backend",
        r#"(nodes: [(id: 0, name: "users", kind: client(mode: closed, users: 1, think_ms: 0))])"#,
    ),
    (
        "full zero-length queue",
        r#"(nodes: [
            (id: 0, name: "users", kind: client(mode: closed, users: 2, think_ms: 0)),
            (id: 1, name: "app", kind: app_server(workers: 1, queue_capacity: 0, service_ms: 100000, service: constant)),
        ], wires: [(from: 0, to: 1)])"#,
    ),
    (
        "dead node",
        r#"(nodes: [
            (id: 0, name: "users", kind: client(mode: closed, users: 1, think_ms: 0)),
            (id: 1, name: "app", kind: app_server()),
        ], wires: [(from: 0, to: 1)], script: [(at_s: 0, command: kill(node: 1))])"#,
    ),
    (
        "zero service, zero latency",
        r#"(nodes: [
            (id: 0, name: "users", kind: client(mode: closed, users: 1, think_ms: 0)),
            (id: 1, name: "app", kind: app_server(service_ms: 0)),
        ], wires: [(from: 0, to: 1)])"#,
    ),
];

#[test]
fn a_loop_that_takes_no_time_still_moves_time_on() {
    for (what, text) in ZERO_TIME_LOOPS {
        let mut s = sim(text);
        run_to(&mut s, 0.01);
        // Each user's requests leave at least the documented minimum turnaround apart, so in
        // 10 ms a user sends at most 10 ms / 1 µs = 10,000 requests, and here, where every
        // answer takes zero time, exactly that many.
        let users = if what == "full zero-length queue" {
            2
        } else {
            1
        };
        let c = s.counts();
        let per_user = 10_000_000 / MIN_TURNAROUND_NS;
        assert_eq!(MIN_TURNAROUND_NS, 1_000, "the README documents 1 µs");
        if what == "full zero-length queue" {
            // One user holds the only worker for the whole run; the other is refused at once.
            assert_eq!(c.arrived, 1 + per_user, "{what}");
        } else {
            assert_eq!(c.arrived, users * per_user, "{what}");
        }
        assert!(
            s.work().max_events_per_tick <= 10 * 1_000,
            "{what}: {:?}",
            s.work()
        );
    }
}

#[test]
fn a_tick_with_too_much_work_stops_the_run_naming_the_node_and_the_cause() {
    // 1,000 users starting at one instant, with a limit of 100 events per tick: the first tick
    // crosses it at t = 0 with time standing still.
    let text = r#"(nodes: [(id: 0, name: "users", kind: client(mode: closed, users: 1000, think_ms: 0))])"#;
    let limits = Limits {
        events_per_tick: 100,
        ..Limits::default()
    };
    let mut s = sim_limited(text, limits);
    s.run_until_s(1.0);
    let Some(halt) = s.halted().cloned() else {
        panic!("the run did not stop");
    };
    assert_eq!(halt.cause, HaltCause::TimeStopped { events: 100 });
    assert_eq!(halt.node.as_deref(), Some("users"));
    let msg = halt.to_string();
    assert!(
        msg.contains("\"users\"") && msg.contains("cannot advance"),
        "{msg}"
    );
    // A stopped run stays stopped: tick() does nothing further, and nothing is lost.
    let (now, counts, events) = (s.now_ns(), s.counts(), s.work().events);
    s.run_ticks(1000);
    s.tick();
    assert_eq!(
        (s.now_ns(), s.counts(), s.work().events),
        (now, counts, events)
    );
    assert_eq!(
        counts.arrived,
        counts.completed + counts.failed + counts.in_flight
    );

    // Open-loop load too heavy for a long tick: time advances, the tick is simply too busy.
    let busy = r#"(tick_ms: 100, nodes: [
        (id: 0, name: "users", kind: client(qps: 100000)),
        (id: 1, name: "app", kind: app_server(service_ms: 0)),
    ], wires: [(from: 0, to: 1)])"#;
    let mut s = sim_limited(
        busy,
        Limits {
            events_per_tick: 1000,
            ..Limits::default()
        },
    );
    s.run_until_s(1.0);
    let halt = s.halted().cloned();
    assert!(
        matches!(
            halt.as_ref().map(|h| h.cause),
            Some(HaltCause::TickTooBusy {
                events: 1000,
                tick_ns: 100_000_000
            })
        ),
        "{halt:?}"
    );
    assert_eq!(halt.and_then(|h| h.node).as_deref(), Some("users"));
}

#[test]
fn a_scripted_set_param_that_would_make_a_zero_time_loop_runs_on() {
    let text = r#"(nodes: [
        (id: 0, name: "users", kind: client(mode: closed, users: 1, think_ms: 5)),
        (id: 1, name: "app", kind: app_server(service_ms: 0)),
    ], wires: [(from: 0, to: 1)],
    script: [(at_s: 0.5, command: set_param(node: 0, param: "think_ms", value: 0))])"#;
    let mut s = sim(text);
    run_to(&mut s, 0.56);
    // 0.5 s at about one request per 5 ms; after the edit, once the think in progress ends
    // (an exponential of mean 5 ms: still going after 50 ms with probability e^-10), at most
    // one request per µs for what is left of the 60 ms.
    let c = s.counts();
    assert!(
        (1_000..=200 + 60_000).contains(&c.arrived),
        "{c:?} (about 100, then up to 60,000)"
    );
}

// ----- Work that explodes -----

/// A chain client -> (balancer -> app server) × `depth`, `retries` on every wire.
fn chain(depth: u32, retries: u32) -> String {
    let mut nodes = vec![r#"(id: 0, name: "users", kind: client(qps: 10))"#.to_string()];
    let mut wires = Vec::new();
    let mut prev = 0;
    for d in 0..depth {
        let (lb, app) = (1 + 2 * d, 2 + 2 * d);
        nodes.push(format!(
            r#"(id: {lb}, name: "lb{d}", kind: load_balancer(health_checks: false))"#
        ));
        nodes.push(format!(
            r#"(id: {app}, name: "app{d}", kind: app_server())"#
        ));
        wires.push(format!("(from: {prev}, to: {lb}, retries: {retries})"));
        wires.push(format!("(from: {lb}, to: {app}, retries: {retries})"));
        prev = app;
    }
    format!(
        "(nodes: [{}], wires: [{}])",
        nodes.join(",\n"),
        wires.join(",\n")
    )
}

#[test]
fn check_refuses_retries_that_multiply_past_the_limit_and_names_the_path() {
    // Two hops of 11 attempts per layer: 121^2 = 14,641 calls per layer pair beat the limit of
    // 10,000; one layer (121 × 2 + 11 ...) does not.
    let deep = errors(&chain(2, 10));
    assert_eq!(deep.len(), 1, "{deep:?}");
    assert!(
        deep[0].contains("users -> lb0 -> app0 -> lb1 -> app1"),
        "{deep:?}"
    );
    assert!(deep[0].contains("at most 10000"), "{deep:?}");
    // The worst case by hand: each layer is 11 attempts at the balancer, each 1 + 11 × (1 +
    // what lies below the app server).
    let below_app1 = 0.0;
    let below_lb1 = 11.0 * (1.0 + below_app1);
    let below_app0 = 11.0 * (1.0 + below_lb1);
    let below_lb0 = 11.0 * (1.0 + below_app0);
    let worst = 11.0 * (1.0 + below_lb0);
    let w = file_limits::worst_calls(&parse(&chain(2, 10)));
    assert_eq!(w.map(|w| w.calls), Some(worst));
    assert!(errors(&chain(1, 10)).is_empty());
    assert!(
        errors(&chain(12, 0)).is_empty(),
        "no retries: 2 calls a layer"
    );
}

#[test]
fn check_refuses_fan_out_through_layers_of_balancers() {
    // Each app server calls two balancers, each in front of the next layer: 2^depth.
    let layer = |depth: u32| {
        let mut nodes = vec![r#"(id: 0, name: "users", kind: client(qps: 10))"#.to_string()];
        let mut wires = vec!["(from: 0, to: 1)".to_string()];
        nodes.push(r#"(id: 1, name: "app0", kind: app_server())"#.into());
        for d in 1..=depth {
            let (a, b, app) = (3 * d - 1, 3 * d, 3 * d + 1);
            let above = if d == 1 { 1 } else { 3 * (d - 1) + 1 };
            nodes.push(format!(
                r#"(id: {a}, name: "lb{d}a", kind: load_balancer(health_checks: false))"#
            ));
            nodes.push(format!(
                r#"(id: {b}, name: "lb{d}b", kind: load_balancer(health_checks: false))"#
            ));
            nodes.push(format!(
                r#"(id: {app}, name: "app{d}", kind: app_server())"#
            ));
            wires.extend([
                format!("(from: {above}, to: {a})"),
                format!("(from: {above}, to: {b})"),
                format!("(from: {a}, to: {app})"),
                format!("(from: {b}, to: {app})"),
            ]);
        }
        format!(
            "(nodes: [{}], wires: [{}])",
            nodes.join(",\n"),
            wires.join(",\n")
        )
    };
    // Calls: 1 into app0, then per layer 2 × (balancer + app server + what is below).
    let worst = |depth: i32| (1..=depth).fold(0.0, |below, _| 2.0 * (2.0 + below)) + 1.0;
    assert!(worst(11) < 10_000.0 && worst(12) > 10_000.0);
    assert!(errors(&layer(11)).is_empty());
    let e = errors(&layer(12));
    assert!(
        e.iter().any(|m| m.contains("calls along this path")),
        "{e:?}"
    );
}

#[test]
fn the_core_fails_calls_past_the_request_limit_with_their_own_reason() {
    // An app server calling four databases: five calls a request. With a limit of three, the
    // third database call fails with call_limit and is not retried.
    let text = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 100)),
        (id: 1, name: "app", kind: app_server(service_ms: 1)),
        (id: 2, name: "db1", kind: database()), (id: 3, name: "db2", kind: database()),
        (id: 4, name: "db3", kind: database()), (id: 5, name: "db4", kind: database()),
    ], wires: [(from: 0, to: 1), (from: 1, to: 2), (from: 1, to: 3, retries: 3),
               (from: 1, to: 4, retries: 3), (from: 1, to: 5)])"#;
    let limits = Limits {
        calls_per_request: 3,
        ..Limits::default()
    };
    let mut s = sim_limited(text, limits);
    run_to(&mut s, 2.0);
    let m = s.metrics();
    assert_eq!(s.work().max_calls_per_request, 3);
    assert!(
        m.requests.failed > 0 && m.requests.completed == 0,
        "{:?}",
        m.requests
    );
    assert_eq!(m.failures, vec![(FailReason::CallLimit, m.requests.failed)]);
    assert_eq!(m.retries, 0, "a call past the limit is not retried");
    assert_eq!(FailReason::CallLimit.name(), "call_limit");
}

#[test]
fn a_trace_holds_a_bounded_number_of_hops_and_decisions() {
    // An app server calling 300 balancers, each in front of one more app server: 601 calls and
    // 300 balancer decisions per request, every request traced.
    let mut nodes = vec![
        r#"(id: 0, name: "users", kind: client(qps: 100))"#.to_string(),
        r#"(id: 1, name: "front", kind: app_server(service_ms: 0, workers: 100))"#.to_string(),
        r#"(id: 2, name: "back", kind: app_server(service_ms: 0, workers: 100))"#.to_string(),
    ];
    let mut wires = vec!["(from: 0, to: 1)".to_string()];
    for i in 0..300 {
        let id = 3 + i;
        nodes.push(format!(
            r#"(id: {id}, name: "lb{i}", kind: load_balancer(health_checks: false, latency_ms: 0))"#
        ));
        wires.push(format!("(from: 1, to: {id})"));
        wires.push(format!("(from: {id}, to: 2)"));
    }
    let text = format!(
        "(nodes: [{}], wires: [{}])",
        nodes.join(",\n"),
        wires.join(",\n")
    );
    let mut s = Sim::new(
        &parse(&text),
        SimConfig {
            trace: TraceConfig {
                every: 1,
                capacity: 50,
                keep_ns: 0,
            },
            ..SimConfig::default()
        },
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    run_to(&mut s, 0.2);
    let done = &s.traces().done;
    assert!(!done.is_empty());
    for t in done {
        assert!(t.decisions.len() <= TRACE_DECISIONS_MAX);
        assert!(t.hops.len() <= TRACE_HOPS_MAX);
        // 300 balancer picks, 301 arrivals at a server (front once, back 300 times), as many
        // starts of service, and 2 × 601 hops were made; what did not fit is counted.
        let made = 300 + 2 * 301 + 2 * 601;
        assert_eq!(t.decisions.len() + t.hops.len() + t.dropped as usize, made);
    }
}

// ----- Memory from legal parameters -----

/// Two pools of `members` app servers calling one cache cluster of `cache` members with
/// `vnodes` virtual nodes each.
fn pools_and_ring(members: u32, cache: u32, vnodes: u32) -> String {
    format!(
        r#"(nodes: [
            (id: 0, name: "users", kind: client(qps: 100)),
            (id: 1, name: "lb", kind: load_balancer(health_checks: false)),
            (id: 2, name: "a", kind: app_server(count: {members})),
            (id: 3, name: "b", kind: app_server(count: {members})),
            (id: 4, name: "cache", kind: cache(count: {cache}, virtual_nodes: {vnodes})),
            (id: 5, name: "db", kind: database()),
        ], wires: [(from: 0, to: 1), (from: 1, to: 2), (from: 1, to: 3), (from: 2, to: 4),
                   (from: 3, to: 4), (from: 2, to: 5), (from: 3, to: 5)])"#
    )
}

#[test]
fn one_hash_ring_per_cache_cluster_whatever_the_callers() {
    // 2 pools × 8 members used to hold 16 copies of the ring; now one, 4 × 1,000 points of 16
    // bytes (the point is a 64-bit hash and a 32-bit member, padded).
    let one_ring = 4 * 1_000 * 16;
    let mut small = sim(&pools_and_ring(8, 4, 1_000));
    run_to(&mut small, 0.1);
    let mut smaller = sim(&pools_and_ring(1, 4, 1_000));
    run_to(&mut smaller, 0.1);
    // What else is reserved (call slots, queues) depends on the traffic's draws, so the
    // smaller layout may even reserve more: then the ring costs nothing extra either.
    let ring_share = small
        .work()
        .bytes_reserved
        .saturating_sub(smaller.work().bytes_reserved);
    assert!(
        ring_share < one_ring as u64,
        "16 callers cost {ring_share} bytes more than 2 (one ring is {one_ring})"
    );
    // The 600-byte file that used to abort at 3.9 GB: 2 × 256 members, a 64-member ring of
    // 10,000 virtual nodes. check passes it, and it runs holding one ring of 10 MB.
    let big = pools_and_ring(256, 64, 10_000);
    assert!(errors(&big).is_empty(), "{:?}", errors(&big));
    let mut s = sim(&big);
    run_to(&mut s, 0.01);
    assert!(
        s.work().bytes_reserved < 3 * 64 * 10_000 * 16,
        "{:?}",
        s.work()
    );
}

#[test]
fn check_refuses_a_layout_whose_memory_estimate_is_over_the_budget() {
    // 64 cache members of 10^8 entries over 10^8 keys: 6.4 × 10^9 entries.
    let huge = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 10000000, keys: 100000000)),
        (id: 1, name: "app", kind: app_server()),
        (id: 2, name: "cache", kind: cache(count: 64, capacity_entries: 100000000)),
    ], wires: [(from: 0, to: 1), (from: 1, to: 2)])"#;
    let e = errors(huge);
    assert!(
        e.iter()
            .any(|m| m.contains("memory") && m.contains("cache entries") && m.contains("2.0 GB")),
        "{e:?}"
    );
    // 2 members of 10^7: 1.28 GB by the documented 64 bytes an entry, between half the
    // budget and the budget: a warning, and it runs.
    let big = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 100, keys: 100000000)),
        (id: 1, name: "app", kind: app_server()),
        (id: 2, name: "cache", kind: cache(count: 2, capacity_entries: 10000000)),
    ], wires: [(from: 0, to: 1), (from: 1, to: 2)])"#;
    assert!(errors(big).is_empty(), "{:?}", errors(big));
    let w = warnings(big);
    assert!(w.iter().any(|m| m.contains("over half")), "{w:?}");
    assert_eq!(file_limits::MEMORY_BUDGET_BYTES, 2_000_000_000);
}

#[test]
fn timeouts_of_finished_calls_do_not_pile_up_in_the_event_heap() {
    // 10,000 calls a second answered in 1 ms, each with a 10-minute timeout: in 20 s, 200,000
    // timeout events would wait in the heap, all of them for calls long finished.
    let text = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 10000)),
        (id: 1, name: "app", kind: app_server(service_ms: 1, workers: 100)),
    ], wires: [(from: 0, to: 1, timeout_ms: 600000)])"#;
    let mut s = sim(text);
    run_to(&mut s, 20.0);
    let w = s.work();
    assert!(w.max_events_pending < 100_000, "{w:?}");
    assert!(s.counts().completed > 190_000);
}

#[test]
fn a_replication_groups_per_key_log_is_pruned() {
    // Writes to 10^6 keys at 10,000 a second, replicas 1 ms behind: after 10 s about 100,000
    // keys have been written, but only those of the last millisecond can give a stale read.
    let text = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 10000, read_share: 0.5, keys: 1000000)),
        (id: 1, name: "app", kind: app_server(workers: 100, service_ms: 0.1)),
        (id: 2, name: "db", kind: database(workers: 100, read_ms: 0.1, write_ms: 0.1)),
        (id: 3, name: "replica", kind: database(workers: 100, read_ms: 0.1, write_ms: 0.1)),
    ], wires: [(from: 0, to: 1), (from: 1, to: 2)],
    replication: [(primary: 2, replica: 3, mode: async, lag_ms: 1, lag: constant)])"#;
    let mut s = sim(text);
    run_to(&mut s, 10.0);
    let w = s.work();
    assert!(w.replication_keys < 10_000, "{w:?}");
}

// ----- Idle time and run length -----

#[test]
fn ticks_without_events_pass_in_one_step() {
    // A 1 µs tick and nothing happening: 100 s is 10^8 ticks, of which only those holding a
    // series sample (one per 100 ms) are run one by one.
    let text = r#"(tick_ms: 0.001, nodes: [(id: 0, name: "users", kind: client(qps: 0))])"#;
    let mut s = sim(text);
    run_to(&mut s, 100.0);
    let w = s.work();
    assert_eq!(s.ticks(), 100_000_000);
    assert_eq!(w.events, 0);
    assert!(w.ticks_skipped >= 100_000_000 - 1_000, "{w:?}");
    assert_eq!(s.series().time_s.len().min(1), 1, "samples are still taken");
}

#[test]
fn a_run_stops_at_its_most_ticks_and_events() {
    let text = r#"(tick_ms: 1, nodes: [
        (id: 0, name: "users", kind: client(qps: 1000)),
        (id: 1, name: "app", kind: app_server(service_ms: 1)),
    ], wires: [(from: 0, to: 1)])"#;
    let mut s = sim_limited(
        text,
        Limits {
            run_ticks: 500,
            ..Limits::default()
        },
    );
    s.run_until_s(10.0);
    assert_eq!(s.ticks(), 500);
    assert!(matches!(
        s.halted().map(|h| h.cause),
        Some(HaltCause::RunTicks { max: 500 })
    ));
    let mut s = sim_limited(
        text,
        Limits {
            run_events: 10_000,
            ..Limits::default()
        },
    );
    s.run_until_s(10.0);
    assert!(matches!(
        s.halted().map(|h| h.cause),
        Some(HaltCause::RunEvents { max: 10_000 })
    ));
    assert_eq!(
        s.work().events,
        10_001,
        "the event that crossed is put back, not handled"
    );
}

// ----- The command line -----

fn tierlab_run(file_text: &str, args: &[&str]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("tierlab-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("l{}.ron", args.len()));
    std::fs::write(&path, file_text).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Process::new(env!("CARGO_BIN_EXE_tierlab"));
    cmd.arg("run").arg(&path).args(args);
    cmd.output().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn tierlab_run_exits_2_with_the_message_when_a_run_stops_or_would_be_too_long() {
    // Ten million requests a second in one-second ticks: the first tick crosses the
    // events-per-tick limit.
    let busy = r#"(tick_ms: 1000, nodes: [
        (id: 0, name: "users", kind: client(qps: 10000000)),
        (id: 1, name: "app", kind: app_server(service_ms: 0, workers: 10000)),
    ], wires: [(from: 0, to: 1)])"#;
    let o = tierlab_run(busy, &["--seconds", "1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the run stopped") && err.contains("\"users\""),
        "{err}"
    );
    assert!(err.contains("events in one tick"), "{err}");
    // 10^6 s of 1 µs ticks: 10^12 ticks, refused before it starts.
    let idle = r#"(tick_ms: 0.001, nodes: [(id: 0, name: "users", kind: client(qps: 0))])"#;
    let o = tierlab_run(idle, &["--seconds", "1000000", "--json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("at most 10000000000 ticks"), "{err}");
}

#[test]
fn queues_that_grow_under_overload_stop_the_run_at_the_calls_in_flight_limit() {
    // 1,000 requests a second into one worker busy for a second each: the queue grows by
    // about 1,000 a second. check cannot know how long a run will be, so it accepts the huge
    // queue; the core stops the run once more calls are in flight than the limit.
    let text = r#"(nodes: [
        (id: 0, name: "users", kind: client(qps: 1000)),
        (id: 1, name: "app", kind: app_server(workers: 1, service_ms: 1000, service: constant,
            queue_capacity: 10000000)),
    ], wires: [(from: 0, to: 1)])"#;
    assert!(errors(text).is_empty(), "{:?}", errors(text));
    let mut s = sim_limited(
        text,
        Limits {
            calls_in_flight: 500,
            ..Limits::default()
        },
    );
    s.run_until_s(10.0);
    let halt = s.halted().cloned();
    assert!(
        matches!(
            halt.as_ref().map(|h| h.cause),
            Some(HaltCause::CallsInFlight { max: 500 })
        ),
        "{halt:?}"
    );
    // About half a second of arrivals fill 500 slots.
    let t = halt.map_or(0, |h| h.at_ns) as f64 / 1e9;
    assert!((0.4..0.6).contains(&t), "stopped at {t} s");
    let c = s.counts();
    assert_eq!(c.arrived, c.completed + c.failed + c.in_flight);
}

#[test]
fn every_shipped_layout_stays_far_inside_the_limits() {
    // The limits are set so that no lesson comes near them: a hundredth of the events per
    // tick, and well under the calls per request. Prints the figures (--nocapture).
    for (name, text) in tierlab::shipped::SHIPPED {
        let mut s = sim(text);
        run_to(&mut s, 5.0);
        let w = s.work();
        let worst = file_limits::worst_calls(s.layout()).map_or(0.0, |w| w.calls);
        println!(
            "{name}: {} events per tick at most, {} calls per request at most (worst case {worst})",
            w.max_events_per_tick, w.max_calls_per_request
        );
        assert!(
            w.max_events_per_tick < tierlab::sim::limits::EVENTS_PER_TICK_MAX / 100,
            "{name}: {w:?}"
        );
        assert!(
            worst <= f64::from(file_limits::CALLS_PER_REQUEST_MAX) / 10.0,
            "{name}"
        );
    }
}

/// A long run keeps the sampled traces of its last five minutes, as the plots keep their last
/// 300 s, rather than growing for half an hour until the store's count is reached (which made
/// a simulated hour of request-flow.ron use about 30 % more memory than a minute).
#[test]
fn a_long_run_holds_the_traces_of_its_last_five_minutes_not_its_whole_length() {
    let text = tierlab::shipped::find("request-flow.ron")
        .unwrap_or_else(|| panic!("request-flow is shipped"));
    let mut s = sim(text);
    let ends = |s: &Sim| -> Vec<u64> { s.traces().done.iter().filter_map(|t| t.end_ns).collect() };
    // After 100 s nothing is old enough to drop: the first traces, from the first second, are
    // still held.
    run_to(&mut s, 100.0);
    let early = ends(&s);
    assert!(
        early.first().is_some_and(|&e| e < 1_000_000_000),
        "oldest {:?}",
        early.first()
    );
    // After 600 s the store reaches back 300 s, not further (and not much less).
    run_to(&mut s, 600.0);
    let late = ends(&s);
    let (Some(&oldest), Some(&newest)) = (late.first(), late.last()) else {
        panic!("no traces after 600 s");
    };
    let span_s = (newest - oldest) as f64 / 1e9;
    println!(
        "traces held at 100 s: {}; at 600 s: {} spanning {span_s:.2} s",
        early.len(),
        late.len()
    );
    assert!(
        (299.0..=300.0).contains(&span_s),
        "the traces held span {span_s} s"
    );
    // About as many as were held after 100 s, three times over (the rate is steady).
    let ratio = late.len() as f64 / early.len() as f64;
    assert!(
        (2.7..3.3).contains(&ratio),
        "{} traces against {} at 100 s",
        late.len(),
        early.len()
    );
}
