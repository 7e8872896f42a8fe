//! The request stepper's core: `send_request` sends one chosen request, always traced, and
//! its trace holds a typed record at every place the core decided (no window involved).

use tierlab::layout::{self, Command, Layout, NodeId, Target};
use tierlab::sim::{FailReason, Outcome, Sim, SimConfig, Trace, TraceConfig, What};

fn layout(name: &str) -> Layout {
    let Some(text) = tierlab::shipped::find(name) else {
        panic!("no shipped layout {name}");
    };
    match layout::from_ron(text) {
        Ok(l) => l,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// A core with sampling off: only asked-for requests are traced.
pub(crate) fn core(l: &Layout) -> Sim {
    let config = SimConfig {
        seed: None,
        warmup_s: 0.0,
        trace: TraceConfig {
            every: 0,
            capacity: 0,
            keep_ns: 0,
        },
    };
    match Sim::new(l, config) {
        Ok(s) => s,
        Err(p) => panic!("{p:?}"),
    }
}

fn id(l: &Layout, name: &str) -> NodeId {
    match l.node_named(name) {
        Some(n) => n.id,
        None => panic!("no node {name}"),
    }
}

/// Send GET or PUT /u/`key` from `client` and run until it has its answer; its trace.
pub(crate) fn send(sim: &mut Sim, client: NodeId, read: bool, key: u32) -> Trace {
    let command = Command::SendRequest {
        client,
        read,
        key,
        user: 0,
        path: None,
    };
    if let Err(why) = sim.apply(command) {
        panic!("refused: {why}");
    }
    let newest = sim
        .traces()
        .open
        .iter()
        .flatten()
        .filter(|t| t.asked)
        .map(|t| t.request_id)
        .max();
    let Some(id) = newest else {
        panic!("the sent request is not traced while in flight");
    };
    for _ in 0..100_000 {
        if let Some(t) = sim.traces().asked_for(id)
            && t.end_ns.is_some()
        {
            return t.clone();
        }
        sim.run_ticks(1);
    }
    panic!("request {id} never finished");
}

/// The kinds of decision in a trace, by the name of the instance that made it.
fn decided(sim: &Sim, t: &Trace) -> Vec<(String, &'static str)> {
    t.decisions
        .iter()
        .map(|d| {
            let who = sim
                .unit_info(d.unit)
                .map(|u| u.name.to_string())
                .unwrap_or_default();
            let kind = match d.what {
                What::Balanced { .. } => "balanced",
                What::Entered { .. } => "entered",
                What::Arrived { .. } => "arrived",
                What::Started => "started",
                What::CacheLookup { hit: true, .. } => "cache hit",
                What::CacheLookup { hit: false, .. } => "cache miss",
                What::LocalCacheLookup { .. } => "local cache",
                What::CacheFill { .. } => "cache fill",
                What::CacheWrite { .. } => "cache write",
                What::DatabaseChosen { .. } => "database chosen",
                What::Database { read: true, .. } => "database read",
                What::Database { read: false, .. } => "database write",
                What::Sharded { .. } => "sharded",
                What::Session { .. } => "session",
                What::TimedOut { .. } => "timed out",
                What::Retry { .. } => "retry",
                What::Failed { .. } => "failed",
                What::EdgeHit { .. } => "edge hit",
                What::EdgeMiss { .. } => "edge miss",
                What::EdgeForwarded { .. } => "edge forwarded",
                What::Enqueued { .. } => "enqueued",
                What::QueueDropped { .. } => "queue dropped",
                What::Pulled { .. } => "pulled",
                What::RateLimit { admitted: true, .. } => "admitted",
                What::RateLimit {
                    admitted: false, ..
                } => "rate limited",
            };
            (who, kind)
        })
        .collect()
}

fn kinds(d: &[(String, &'static str)]) -> Vec<&'static str> {
    d.iter()
        .map(|(_, k)| *k)
        .filter(|k| *k != "arrived" && *k != "started")
        .collect()
}

#[test]
fn a_cold_read_misses_reads_the_database_and_fills_the_cache_and_the_second_is_a_hit() {
    // Closed to other traffic, so the cache holds only what these requests put there.
    let mut l = layout("request-flow.ron");
    let client = id(&l, "client");
    if let Some(layout::NodeKind::Client(c)) = l.node_mut(client).map(|n| &mut n.kind) {
        c.qps = 0.0;
    }
    let mut sim = core(&l);
    let cold = send(&mut sim, client, true, 7);
    let d = decided(&sim, &cold);
    assert_eq!(
        kinds(&d),
        [
            "balanced",
            "cache miss",
            "database chosen",
            "database read",
            "cache fill"
        ],
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|(who, k)| who == "cache" && *k == "cache miss")
    );
    assert!(
        d.iter()
            .any(|(who, k)| who == "db" && *k == "database read")
    );
    // The balancer's pick names an app server, and round-robin says why.
    assert!(cold.decisions.iter().any(|x| matches!(
        x.what,
        What::Balanced {
            why: tierlab::sim::Why::RoundRobin { .. },
            ..
        }
    )));
    // Cold: the cache held nothing before, one key after the fill.
    let held: Vec<u32> = cold
        .decisions
        .iter()
        .filter_map(|x| match x.what {
            What::CacheLookup { keys_held, .. } | What::CacheFill { keys_held, .. } => {
                Some(keys_held)
            }
            _ => None,
        })
        .collect();
    assert_eq!(held, [0, 1]);
    assert_eq!(cold.outcome, Some(Outcome::Read));

    let warm = send(&mut sim, client, true, 7);
    let d = decided(&sim, &warm);
    assert_eq!(kinds(&d), ["balanced", "cache hit"], "{d:?}");
    // Hops: client, lb, app, cache and back (6), against the cold walk's detour to the
    // database and back (8).
    assert_eq!((cold.hops.len(), warm.hops.len()), (8, 6));
    // The warm walk saves at least the database wire both ways (0.5 ms each in the layout)
    // and the database's own read.
    let took = |t: &Trace| t.end_ns.unwrap_or(0) - t.born_ns;
    assert!(
        took(&cold) >= took(&warm) + 1_000_000,
        "cold {} ns, warm {} ns",
        took(&cold),
        took(&warm)
    );
    // Sampling was off: nothing but the asked-for requests was traced.
    assert!(sim.traces().done.is_empty());
}

#[test]
fn a_write_goes_to_the_database_and_drops_the_cached_key() {
    let l = layout("request-flow.ron");
    let mut sim = core(&l);
    let t = send(&mut sim, id(&l, "client"), false, 7);
    let d = decided(&sim, &t);
    assert_eq!(
        kinds(&d),
        [
            "balanced",
            "database chosen",
            "database write",
            "cache write"
        ],
        "{d:?}"
    );
    assert_eq!(t.outcome, Some(Outcome::Write));
}

#[test]
fn a_request_to_a_killed_server_fails_there_and_says_why() {
    let l = layout("request-flow.ron");
    let mut sim = core(&l);
    let app = id(&l, "app");
    // Every app server is down: whichever the balancer picks refuses the call.
    if let Err(why) = sim.apply(Command::Kill(Target::node(app))) {
        panic!("{why}");
    }
    let t = send(&mut sim, id(&l, "client"), true, 7);
    let failed: Vec<_> = t
        .decisions
        .iter()
        .filter_map(|x| match x.what {
            What::Failed { reason } => Some((sim.unit_info(x.unit).map(|u| u.id.node), reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        failed.first(),
        Some(&(Some(app), FailReason::NodeDown)),
        "{failed:?}"
    );
    assert_eq!(t.outcome, Some(Outcome::Failed(FailReason::NodeDown)));
}

#[test]
fn a_timeout_then_a_retry_and_a_session_lookup_are_recorded_where_they_happen() {
    // One client, a wire with a 5 ms timeout and one retry, to an app server that takes 50 ms
    // and keeps sessions in memory.
    let text = r#"(
        version: 3, name: "t", seed: 1, tick_ms: 1.0,
        nodes: [
            (id: 0, name: "client", pos: (x: 0, y: 0), kind: client(qps: 0, keys: 10)),
            (id: 1, name: "app", pos: (x: 200, y: 0),
                kind: app_server(count: 1, workers: 4, service: constant, service_ms: 50.0, sessions: local)),
        ],
        wires: [ (from: 0, to: 1, latency_ms: 1.0, timeout_ms: 5.0, retries: 1, backoff_ms: 1.0) ],
    )"#;
    let l = match layout::from_ron(text) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let mut sim = core(&l);
    let t = send(&mut sim, NodeId(0), true, 3);
    let d = decided(&sim, &t);
    let k = kinds(&d);
    assert!(k.contains(&"session"), "{d:?}");
    let timeout = k.iter().position(|x| *x == "timed out");
    let retry = k.iter().position(|x| *x == "retry");
    assert!(
        timeout.is_some() && retry.is_some() && timeout < retry,
        "{d:?}"
    );
    assert!(d.iter().any(|(who, k)| who == "client" && *k == "retry"));
    assert_eq!(t.outcome, Some(Outcome::Failed(FailReason::Timeout)));
}

#[test]
fn sending_is_checked_against_the_client() {
    let l = layout("request-flow.ron");
    let mut sim = core(&l);
    let client = id(&l, "client");
    // Keys run from 1 to the client's 1000.
    for key in [0, 1001] {
        let c = Command::SendRequest {
            client,
            read: true,
            key,
            user: 0,
            path: None,
        };
        assert!(sim.apply(c).is_err(), "key {key} accepted");
    }
    let lb = Command::SendRequest {
        client: id(&l, "lb"),
        read: true,
        key: 7,
        user: 0,
        path: None,
    };
    assert!(sim.apply(lb).is_err());
    // In a script, `check` says so by name.
    let mut scripted = l.clone();
    scripted.script.push(layout::Scripted {
        at_s: 1.0,
        command: Command::SendRequest {
            client,
            read: true,
            key: 5000,
            user: 0,
            path: None,
        },
    });
    let problems = layout::check(&scripted);
    assert!(
        problems.iter().any(|p| p.to_string().contains("key 5000")),
        "{problems:?}"
    );
}

#[test]
fn a_request_sent_in_every_shipped_layout_reaches_an_end_with_its_decisions_recorded() {
    let mut walked = 0;
    for name in tierlab::shipped::names() {
        let l = layout(name);
        let Some(client) = l
            .nodes
            .iter()
            .find(|n| matches!(n.kind, layout::NodeKind::Client(_)))
            .map(|n| n.id)
        else {
            continue;
        };
        let mut sim = core(&l);
        // Sent into a run that is already under way.
        sim.run_ticks(layout::s_to_ns(0.5) / sim.tick_ns().max(1));
        let t = send(&mut sim, client, true, 1);
        assert!(t.outcome.is_some(), "{name}: no ending");
        // At least the way out and the way back (or a failure at the first hop).
        assert!(t.hops.len() >= 2, "{name}: {} hops", t.hops.len());
        let back_at_client = t.hops.last().is_some_and(|h| h.reply && h.to == t.client);
        assert!(
            back_at_client,
            "{name}: the last hop is the answer to the client"
        );
        if t.outcome != Some(Outcome::Read) {
            assert!(
                t.decisions
                    .iter()
                    .any(|d| matches!(d.what, What::Failed { .. } | What::TimedOut { .. })),
                "{name}: a failed request records where it failed"
            );
        }
        walked += 1;
    }
    assert!(walked >= 10, "only {walked} shipped layouts have a client");
}

/// The rate limiter in the stepper: a request that finds a token goes on through the
/// balancer; with the bucket (one token, refilled once in 1000 s) drained, the next one of the
/// same user is refused at the limiter at once, and nothing behind it is asked.
#[test]
fn a_stepped_request_takes_a_token_and_the_next_finds_the_bucket_empty() {
    let mut l = layout("rate-limit.ron");
    let client = id(&l, "users");
    let limiter = id(&l, "limiter");
    if let Some(layout::NodeKind::Client(c)) = l.node_mut(client).map(|n| &mut n.kind) {
        c.qps = 0.0;
    }
    if let Some(layout::NodeKind::RateLimiter(p)) = l.node_mut(limiter).map(|n| &mut n.kind) {
        p.rate_per_s = 0.001;
        p.burst = 1;
    }
    let mut sim = core(&l);
    let first = send(&mut sim, client, true, 7);
    let d = decided(&sim, &first);
    assert_eq!(kinds(&d), ["admitted", "balanced"]);
    assert!(matches!(first.outcome, Some(Outcome::Read)));
    let second = send(&mut sim, client, true, 7);
    let d = decided(&sim, &second);
    assert_eq!(kinds(&d), ["rate limited", "failed"]);
    assert_eq!(d[0].0, "limiter");
    assert_eq!(
        second.outcome,
        Some(Outcome::Failed(FailReason::RateLimited))
    );
    let refused = second.decisions.iter().find_map(|d| match d.what {
        What::RateLimit {
            tokens_left,
            next_token_ns,
            ..
        } => Some((tokens_left, next_token_ns)),
        _ => None,
    });
    // 1 token per 1000 s, and the first request took it a few milliseconds ago.
    let Some((0, next_ns)) = refused else {
        panic!("the refusal says no token is left: {refused:?}");
    };
    assert!(
        next_ns > 999_000_000_000 && next_ns <= 1_000_000_000_000,
        "{next_ns}"
    );
}
