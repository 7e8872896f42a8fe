//! A call to a balancer crosses its wire and then waits out the balancer's latency; the core
//! does both in one event (`sim/relay.rs`). A kill or a new latency in between must keep the
//! meaning it has with two steps: a call inside the balancer fails at the kill and one still on
//! the wire fails when it gets there; a call on the wire pays the latency the balancer has when
//! it arrives, one inside the latency it arrived with. The expectations are the wires' and the
//! balancer's latencies added by hand.

use tierlab::layout::{self, Command, NodeId, Target};
use tierlab::sim::{FailReason, Outcome, Sim, Trace};

/// One client, 10 ms from a balancer of 5 ms latency, 1 ms from one app server serving in a
/// constant 1 ms; no traffic but the request a test sends.
const LAYOUT: &str = r#"(
    version: 1,
    seed: 3,
    tick_ms: 1.0,
    nodes: [
        (id: 0, name: "client", kind: client(qps: 0)),
        (id: 1, name: "lb", kind: load_balancer(algorithm: round_robin, latency_ms: 5.0, health_checks: false)),
        (id: 2, name: "app", kind: app_server(workers: 1, service: constant, service_ms: 1.0)),
    ],
    wires: [
        (from: 0, to: 1, latency_ms: 10.0),
        (from: 1, to: 2, latency_ms: 1.0),
    ],
)"#;

const MS: u64 = 1_000_000;

fn sim() -> Sim {
    crate::stepper::core(&layout::from_ron(LAYOUT).unwrap_or_else(|e| panic!("{e}")))
}

/// Send GET /u/1 from the client now.
fn send(s: &mut Sim) {
    apply(
        s,
        Command::SendRequest {
            client: NodeId(0),
            read: true,
            key: 1,
            user: 0,
            path: None,
        },
    );
}

fn apply(s: &mut Sim, c: Command) {
    s.apply(c).unwrap_or_else(|e| panic!("refused: {e}"));
}

/// Send one request at 0, run `at_ms` ticks of 1 ms, apply `commands` then, and run until the
/// request has its answer: its trace.
fn send_then(at_ms: u64, commands: Vec<Command>) -> (Sim, Trace) {
    let mut s = sim();
    send(&mut s);
    s.run_ticks(at_ms);
    assert_eq!(s.now_ns(), at_ms * MS);
    for c in commands {
        apply(&mut s, c);
    }
    for _ in 0..10_000 {
        if let Some(t) = s.traces().asked.iter().find(|t| t.end_ns.is_some()) {
            let t = t.clone();
            return (s, t);
        }
        s.run_ticks(1);
    }
    panic!("the request never finished");
}

fn kill_lb() -> Command {
    Command::Kill(Target::node(NodeId(1)))
}

fn revive_lb() -> Command {
    Command::Revive(Target::node(NodeId(1)))
}

fn lb_latency(ms: f64) -> Command {
    Command::SetParam {
        node: NodeId(1),
        param: "latency_ms".into(),
        value: ms,
    }
}

/// When the balancer passed the call on to the app server (its hop's departure), in ms.
fn relayed_at_ms(s: &Sim, t: &Trace) -> Option<f64> {
    t.hops
        .iter()
        .find(|h| !h.reply && s.unit_info(h.from).is_some_and(|u| u.name == "lb"))
        .map(|h| h.depart_ns as f64 / MS as f64)
}

fn end_ms(t: &Trace) -> f64 {
    t.end_ns.unwrap_or(u64::MAX) as f64 / MS as f64
}

#[test]
fn an_untouched_call_is_relayed_a_latency_after_it_arrives() {
    let (s, t) = send_then(0, vec![]);
    // 10 ms of wire, 5 at the balancer; 1 + 1 + 1 to the server, served, back; 10 home.
    assert_eq!(relayed_at_ms(&s, &t), Some(15.0));
    assert_eq!(t.outcome, Some(Outcome::Read));
    assert_eq!(end_ms(&t), 15.0 + 1.0 + 1.0 + 1.0 + 10.0);
}

#[test]
fn a_balancer_killed_with_the_call_inside_fails_it_at_the_kill() {
    // Arrived at 10, would leave at 15: the kill at 12 fails it there, 10 ms from home.
    let (s, t) = send_then(12, vec![kill_lb()]);
    assert_eq!(t.outcome, Some(Outcome::Failed(FailReason::NodeDown)));
    assert_eq!(relayed_at_ms(&s, &t), None);
    assert_eq!(end_ms(&t), 12.0 + 10.0);
}

#[test]
fn a_balancer_killed_with_the_call_on_the_wire_fails_it_when_it_arrives() {
    let (s, t) = send_then(5, vec![kill_lb()]);
    assert_eq!(t.outcome, Some(Outcome::Failed(FailReason::NodeDown)));
    assert_eq!(relayed_at_ms(&s, &t), None);
    assert_eq!(end_ms(&t), 10.0 + 10.0);
}

#[test]
fn a_balancer_back_before_the_call_arrives_relays_it() {
    let mut s = sim();
    send(&mut s);
    s.run_ticks(5);
    apply(&mut s, kill_lb());
    s.run_ticks(3);
    apply(&mut s, revive_lb());
    s.run_ticks(40);
    let t = s
        .traces()
        .asked
        .iter()
        .find(|t| t.end_ns.is_some())
        .cloned()
        .unwrap_or_else(|| panic!("the request never finished"));
    assert_eq!(t.outcome, Some(Outcome::Read));
    assert_eq!(relayed_at_ms(&s, &t), Some(15.0));
    assert_eq!(end_ms(&t), 28.0);
}

#[test]
fn a_call_on_the_wire_pays_the_latency_the_balancer_has_when_it_arrives() {
    let (s, t) = send_then(5, vec![lb_latency(2.0)]);
    assert_eq!(relayed_at_ms(&s, &t), Some(12.0));
    assert_eq!(end_ms(&t), 12.0 + 1.0 + 1.0 + 1.0 + 10.0);
}

#[test]
fn a_call_inside_keeps_the_latency_it_arrived_with() {
    let (s, t) = send_then(12, vec![lb_latency(2.0)]);
    assert_eq!(relayed_at_ms(&s, &t), Some(15.0));
    assert_eq!(end_ms(&t), 15.0 + 1.0 + 1.0 + 1.0 + 10.0);
}

#[test]
fn a_balancer_killed_counts_the_call_that_reached_it() {
    // Killed at 12 ms with the call inside, as at 16 ms after it has left: one call each time.
    for at_ms in [12, 16] {
        let mut s = sim();
        send(&mut s);
        s.run_ticks(at_ms);
        apply(&mut s, kill_lb());
        let m = s.metrics();
        let lb = m
            .nodes
            .iter()
            .find(|u| u.name == "lb")
            .unwrap_or_else(|| panic!("no lb"));
        assert_eq!(lb.calls, 1, "at {at_ms} ms");
    }
}

#[test]
fn a_balancer_removed_fails_the_call_inside_at_once_and_one_on_the_wire_at_once() {
    // A removal kills the balancer, then drops its wires. Inside at 12 ms, the call fails
    // there as at a kill and its failure crosses back (10 ms, home at 22); on the wire at 5 ms,
    // the wire it is on is gone and the client fails it at once, as it would any call on a
    // removed wire.
    for (at_ms, reason, end) in [
        (12u64, FailReason::NodeRemoved, 22.0),
        (5, FailReason::WireRemoved, 5.0),
    ] {
        let (s, t) = send_then(at_ms, vec![Command::RemoveNode(NodeId(1))]);
        assert_eq!(t.outcome, Some(Outcome::Failed(reason)), "at {at_ms} ms");
        assert_eq!(relayed_at_ms(&s, &t), None, "at {at_ms} ms");
        assert_eq!(end_ms(&t), end, "at {at_ms} ms");
    }
}
