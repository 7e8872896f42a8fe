//! The message queue and its consumers against theory: the consumer pool is an M/M/c queue
//! (Erlang C written here, not `study::theory`'s), an overloaded pool's backlog grows at the
//! difference of rates until the queue is full and then drops at that rate, and the writer's
//! latency holds no processing (asynchronous acknowledgement). Seeds 11, 22, 33.

use tierlab::layout::{
    self, AppParams, ClientParams, Layout, Node, NodeId, NodeKind, Pos, QueueParams, ServiceDist,
    Wire,
};
use tierlab::sim::{FailReason, QueueMetrics, Sim, SimConfig};

use egui_kittest::kittest::{NodeT as _, Queryable as _};

use crate::check::{self, SEEDS};

/// client -> writer app server -> queue -> consumer pool (`count` 1, `workers` c), every wire
/// with `wire_ms` latency; the client sends only writes.
fn pipeline(
    qps: f64,
    writer: AppParams,
    queue: QueueParams,
    consumers: AppParams,
    wire_ms: f64,
) -> Layout {
    let node = |id: u32, name: &str, kind: NodeKind| Node {
        id: NodeId(id),
        name: name.into(),
        pos: Pos {
            x: 200.0 * id as f32,
            y: 0.0,
        },
        kind,
    };
    Layout {
        name: "queue pipeline".into(),
        next_id: 4,
        nodes: vec![
            node(
                0,
                "client",
                NodeKind::Client(ClientParams {
                    qps,
                    read_share: 0.0,
                    ..ClientParams::default()
                }),
            ),
            node(1, "writer", NodeKind::AppServer(writer)),
            node(2, "queue", NodeKind::Queue(queue)),
            node(3, "consumers", NodeKind::AppServer(consumers)),
        ],
        wires: vec![
            Wire::new(NodeId(0), NodeId(1), wire_ms),
            Wire::new(NodeId(1), NodeId(2), wire_ms),
            Wire::new(NodeId(2), NodeId(3), wire_ms),
        ],
        ..Layout::default()
    }
}

/// A writer that only passes writes on: no service time, never a wait for a worker.
fn pass_through() -> AppParams {
    AppParams {
        workers: 10_000,
        service: ServiceDist::Constant,
        service_ms: 0.0,
        ..AppParams::default()
    }
}

fn sim(layout: &Layout, seed: u64, warmup_s: f64) -> Sim {
    let config = SimConfig {
        seed: Some(seed),
        warmup_s,
        ..SimConfig::default()
    };
    Sim::new(layout, config).unwrap_or_else(|p| panic!("the layout cannot run: {p:?}"))
}

fn the_queue(sim: &Sim) -> QueueMetrics {
    sim.queues()
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("a queue"))
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// a = lambda / mu, from the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)).
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho + rho * b)
}

/// Poisson writes into a pool of c exponential workers: the mean time from enqueue to
/// processed is W = C(c, a) / (c mu - lambda) + 1 / mu. Batch means over 20 batches give the
/// standard error, printed beside the error.
#[test]
fn the_consumer_pool_is_an_mmc_queue() {
    let (c, service_ms, qps) = (4u32, 10.0, 320.0);
    let mu = 1e3 / service_ms;
    let a = qps / mu;
    let w_theory_ms = (erlang_c(c, a) / (f64::from(c) * mu - qps) + 1.0 / mu) * 1e3;
    let layout = pipeline(
        qps,
        pass_through(),
        QueueParams {
            capacity: 1_000_000,
            ack_ms: 0.0,
            delivery_latency_ms: 0.0,
        },
        AppParams {
            workers: c,
            service: ServiceDist::Exponential,
            service_ms,
            ..AppParams::default()
        },
        0.0,
    );
    let (batches, batch_s, warmup_s) = (40, 250.0, 10.0);
    for &seed in &SEEDS {
        let mut s = sim(&layout, seed, warmup_s);
        s.run_until_s(warmup_s);
        let (mut n0, mut sum0) = (0u64, 0u128);
        let mut means = Vec::new();
        for b in 1..=batches {
            s.run_until_s(warmup_s + batch_s * f64::from(b));
            let q = the_queue(&s);
            let (n, sum) = (q.counts.processed, q.counts.processed_ns_sum);
            means.push((sum - sum0) as f64 / (n - n0) as f64 / 1e6);
            (n0, sum0) = (n, sum);
        }
        let q = the_queue(&s);
        let w = q.processed_mean_ms;
        let k = means.len() as f64;
        let mean_of_means = means.iter().sum::<f64>() / k;
        let var = means
            .iter()
            .map(|m| (m - mean_of_means).powi(2))
            .sum::<f64>()
            / (k - 1.0);
        let se_rel = (var / k).sqrt() / w_theory_ms;
        let err = check::rel_err(w, w_theory_ms);
        println!(
            "M/M/{c} consumers, seed {seed}: W measured {w:.3} ms, Erlang C {w_theory_ms:.3} ms, \
             error {:+.2} %, standard error {:.2} % ({} messages)",
            100.0 * err,
            100.0 * se_rel,
            q.counts.processed
        );
        assert!(
            se_rel < 0.01,
            "seed {seed}: the run is too short for 3 % to be well above its noise"
        );
        assert!(err.abs() < 0.03, "seed {seed}: W {w} vs {w_theory_ms}");
        assert_eq!(q.counts.dropped, 0, "nothing is dropped below capacity");
    }
}

/// Consumers slower than the writes: the backlog grows at lambda - c mu per second (measured
/// on the backlog series at two times) until the queue is full, and from then on the writes
/// beyond what the consumers take are dropped at about that rate.
#[test]
fn an_overloaded_pool_grows_the_backlog_at_the_difference_of_rates_then_drops() {
    let (c, service_ms, qps, capacity) = (2u32, 10.0, 400.0, 4000u32);
    let mu = 1e3 / service_ms;
    let slope = qps - f64::from(c) * mu;
    let full_s = f64::from(capacity) / slope;
    let layout = pipeline(
        qps,
        pass_through(),
        QueueParams {
            capacity,
            ack_ms: 0.0,
            delivery_latency_ms: 0.0,
        },
        AppParams {
            workers: c,
            service_ms,
            ..AppParams::default()
        },
        0.0,
    );
    for &seed in &SEEDS {
        let mut s = sim(&layout, seed, 0.0);
        let (t1, t2) = (0.25 * full_s, 0.75 * full_s);
        let end = 2.0 * full_s + 20.0;
        s.run_until_s(end);
        let st = s
            .queue_state(the_queue(&s).unit)
            .unwrap_or_else(|| panic!("a queue"));
        let backlog: Vec<f32> = st.backlog_series.iter().collect();
        // Sample i is taken at (i + 1) x 100 ms.
        let at = |t: f64| f64::from(backlog[(t * 10.0).round() as usize - 1]);
        let measured = (at(t2) - at(t1)) / (t2 - t1);
        let err = check::rel_err(measured, slope);
        println!(
            "overload, seed {seed}: backlog grows {measured:.1}/s, lambda - c mu = {slope:.1}/s, \
             error {:+.2} %",
            100.0 * err
        );
        assert!(err.abs() < 0.10, "seed {seed}: slope {measured} vs {slope}");
        // Full from about full_s on: drops counted from a little after it to the end.
        let from = full_s + 10.0;
        let mut again = sim(&layout, seed, 0.0);
        again.run_until_s(from);
        let d0 = the_queue(&again).counts.dropped;
        again.run_until_s(end);
        let q = the_queue(&again);
        let rate = (q.counts.dropped - d0) as f64 / (end - from);
        let derr = check::rel_err(rate, slope);
        println!(
            "  drops {rate:.1}/s once full (backlog {} of {capacity}), expected {slope:.1}/s, \
             error {:+.2} %",
            q.backlog,
            100.0 * derr
        );
        assert!(derr.abs() < 0.10, "seed {seed}: drops {rate} vs {slope}");
        // The backlog stays at the capacity, less what workers pulled since the last write
        // (which refilled it): each next event is a pull with probability c mu / (lambda + c mu)
        // = 1/3, so 20 pulls in a row before a write has probability 3^-20, below 1e-9.
        assert!(
            q.backlog <= capacity && q.backlog + 20 >= capacity,
            "{}",
            q.backlog
        );
        let failed = check::failed_by(&again.metrics(), FailReason::MessageQueueFull);
        assert_eq!(
            failed, q.counts.dropped,
            "every drop is a writer's message_queue_full failure"
        );
    }
}

/// The writer's answer comes after the wires, its own service and the queue's acknowledgement,
/// however long the consumers take: every part constant, so the latency is exactly their sum.
#[test]
fn the_writer_does_not_wait_for_the_processing() {
    let (wire_ms, writer_ms, ack_ms, consumer_ms) = (1.0, 1.0, 0.1, 500.0);
    let layout = pipeline(
        50.0,
        AppParams {
            workers: 1000,
            service: ServiceDist::Constant,
            service_ms: writer_ms,
            ..AppParams::default()
        },
        QueueParams {
            capacity: 1_000_000,
            ack_ms,
            delivery_latency_ms: 2.0,
        },
        AppParams {
            workers: 64,
            service: ServiceDist::Constant,
            service_ms: consumer_ms,
            ..AppParams::default()
        },
        wire_ms,
    );
    // Client to writer and back, the writer's work, writer to queue and back, the ack.
    let expected_ms = 2.0 * wire_ms + writer_ms + 2.0 * wire_ms + ack_ms;
    for &seed in &SEEDS {
        let mut s = sim(&layout, seed, 2.0);
        s.run_until_s(32.0);
        let m = s.metrics();
        let q = the_queue(&s);
        let err = check::rel_err(m.latency_ms.mean, expected_ms);
        println!(
            "async ack, seed {seed}: writer latency mean {:.4} ms (max {:.4}), expected \
             {expected_ms:.4} ms, error {:+.3} %; a message takes {:.1} ms to be processed",
            m.latency_ms.mean,
            m.latency_ms.max,
            100.0 * err,
            q.processed_mean_ms
        );
        assert!(err.abs() < 0.01, "seed {seed}: {}", m.latency_ms.mean);
        assert!(m.latency_ms.max < expected_ms * 1.01);
        assert!(
            q.processed_mean_ms >= consumer_ms,
            "the processing happened"
        );
        assert!(q.counts.processed > 1000);
    }
}

/// `check` names a queue without consumers, and one nobody writes to; both still run.
#[test]
fn check_warns_about_a_queue_without_consumers() {
    let mut l = pipeline(
        10.0,
        pass_through(),
        QueueParams::default(),
        AppParams::default(),
        0.0,
    );
    l.wires.retain(|w| w.from != NodeId(2));
    let problems = layout::check(&l);
    let warned = problems.iter().any(|p| {
        p.severity == layout::Severity::Warning
            && p.place == "queue"
            && p.message.contains("no consumers")
    });
    assert!(warned, "{problems:?}");
    let mut s = sim(&l, 11, 0.0);
    s.run_until_s(5.0);
    let q = the_queue(&s);
    assert_eq!(q.counts.processed, 0);
    assert_eq!(q.backlog as u64, q.counts.enqueued);
}

/// The shipped layout's header: the pool's rate and the backlog's growth in the burst, from
/// the layout's own numbers, and a run that agrees.
#[test]
fn queue_consumers_says_its_rates() {
    let l = check::parse(
        tierlab::shipped::find("queue-consumers.ron").unwrap_or_else(|| panic!("shipped")),
    );
    let app = |name: &str| match l.nodes.iter().find(|n| n.name == name).map(|n| &n.kind) {
        Some(NodeKind::AppServer(p)) => p.clone(),
        _ => panic!("{name}"),
    };
    let wire = |from: &str, to: &str| {
        let id = |n: &str| l.nodes.iter().find(|x| x.name == n).map(|x| x.id);
        l.wires
            .iter()
            .find(|w| Some(w.from) == id(from) && Some(w.to) == id(to))
            .map_or(0.0, |w| w.latency_ms)
    };
    let (Some(NodeKind::Queue(q)), Some(NodeKind::Database(db))) = (
        l.nodes.iter().find(|n| n.name == "orders").map(|n| &n.kind),
        l.nodes.iter().find(|n| n.name == "db").map(|n| &n.kind),
    ) else {
        panic!("orders and db");
    };
    let cons = app("consumers");
    let hold_ms = cons.service_ms
        + db.write_ms
        + 2.0 * wire("consumers", "db")
        + wire("orders", "consumers")
        + q.delivery_latency_ms;
    let rate = f64::from(cons.count * cons.workers) / (hold_ms / 1e3);
    let header: String = tierlab::shipped::find("queue-consumers.ron")
        .unwrap_or_default()
        .lines()
        .take_while(|l| l.starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ");
    let writes = |qps: f64| {
        let ClientParams { read_share, .. } = match &l.nodes[0].kind {
            NodeKind::Client(c) => c.clone(),
            _ => panic!("client first"),
        };
        qps * (1.0 - read_share)
    };
    let burst = writes(800.0) - rate;
    for figure in [
        format!("about {:.0} messages/s", rate),
        format!("grows at about {:.0} messages/s", burst),
        format!("at about {:.0} messages/s", rate - writes(400.0)),
    ] {
        assert!(header.contains(&figure), "the header should say `{figure}`");
    }
    for &seed in &SEEDS {
        let mut s = sim(&l, seed, 0.0);
        s.run_until_s(15.0);
        let b1 = the_queue(&s).backlog;
        s.run_until_s(35.0);
        let b2 = the_queue(&s).backlog;
        let measured = (f64::from(b2) - f64::from(b1)) / 20.0;
        let err = check::rel_err(measured, burst);
        println!(
            "queue-consumers, seed {seed}: backlog grows {measured:.1}/s in the burst, header \
             {burst:.1}/s, error {:+.1} %",
            100.0 * err
        );
        assert!(err.abs() < 0.15, "seed {seed}");
        s.run_until_s(60.0);
        assert!(
            the_queue(&s).counts.dropped > 0,
            "the burst fills the queue"
        );
    }
}

/// The window, driven as a user would: open the shipped layout, play into the burst, and read
/// the queue's backlog and lag in the summary, as the core has them.
#[test]
fn the_window_shows_the_queues_backlog_and_lag() {
    let layout = check::parse(
        tierlab::shipped::find("queue-consumers.ron").unwrap_or_else(|| panic!("shipped")),
    );
    // 200 ticks of 1 ms a frame: 0.2 simulated seconds.
    let mut h = crate::window::open("mq", Some(layout), 200);
    h.get_by_label("Play").click();
    crate::window::frames(&mut h, 125);
    h.get_by_label("Pause").click();
    crate::window::frames(&mut h, 2);
    let q = the_queue(crate::window::sim(&h));
    println!(
        "window at {:.1} s: backlog {}, lag {:.0} ms",
        crate::window::sim(&h).now_ns() as f64 / 1e9,
        q.backlog,
        q.lag_ms
    );
    assert!(
        q.backlog > 1000,
        "the burst has built a backlog: {}",
        q.backlog
    );
    let label = h.get_by_label_contains("orders: backlog");
    let a = label.accesskit_node();
    let text = a.value().or_else(|| a.label()).unwrap_or_default();
    let lag = format!("lag {:.1} s", q.lag_ms / 1e3);
    assert!(text.contains(&lag), "the summary shows `{lag}`: {text}");
}
