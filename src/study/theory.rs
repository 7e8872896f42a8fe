//! Queueing theory beside the simulation: Erlang C for M/M/c, the Allen-Cunneen approximation
//! for G/G/c, the M/M/c response-time distribution, and a node's figures side by side with
//! what theory predicts for it ([`node_theory`]), with the assumptions that do not hold named.
//!
//! Times are in milliseconds and rates per millisecond inside; the public figures say their
//! units in their names.

use crate::layout::{
    Arrivals, KindTag, Layout, LbAlgorithm, LoopMode, Node, NodeKind, ServiceDist,
};
use crate::sim::{Metrics, NodeMetrics};

/// Erlang's C formula: the probability that an arrival to an M/M/c queue offered `a` = λ/μ
/// erlangs has to wait; `None` unless 0 <= a < c (no steady state otherwise).
pub fn erlang_c(c: u32, a: f64) -> Option<f64> {
    if c == 0 || !(a >= 0.0 && a < f64::from(c)) {
        return None;
    }
    // Erlang B by its stable recurrence, then C from B.
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let c = f64::from(c);
    Some(c * b / (c - a * (1.0 - b)))
}

/// Mean wait in the queue of M/M/c, C / (cμ - λ), in the unit of `service` (mean service time)
/// with `lambda` per that unit.
pub fn mmc_wait(c: u32, lambda: f64, service: f64) -> Option<f64> {
    if service <= 0.0 {
        return None;
    }
    let a = lambda * service;
    let p = erlang_c(c, a)?;
    Some(p * service / (f64::from(c) - a))
}

/// The Allen-Cunneen approximation of the mean wait of G/G/c: the M/M/c wait scaled by
/// (ca² + cs²) / 2, with ca² and cs² the squared coefficients of variation of the gaps
/// between arrivals and of the service times.
pub fn allen_cunneen_wait(c: u32, lambda: f64, service: f64, ca2: f64, cs2: f64) -> Option<f64> {
    Some(mmc_wait(c, lambda, service)? * (ca2 + cs2) / 2.0)
}

/// P(response <= t) in M/M/c (first come, first served): with probability 1 - C the response
/// is the service, Exp(μ); with probability C a wait Exp(cμ - λ) comes first.
pub fn mmc_response_cdf(c: u32, lambda: f64, service: f64, t: f64) -> Option<f64> {
    let mu = 1.0 / service;
    let p = erlang_c(c, lambda * service)?;
    let theta = f64::from(c) * mu - lambda;
    let served = 1.0 - (-mu * t).exp();
    let waited = if ((theta - mu) / mu).abs() < 1e-9 {
        1.0 - (-mu * t).exp() * (1.0 + mu * t)
    } else {
        1.0 - (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    Some((1.0 - p) * served + p * waited)
}

/// The `q` quantile (0 < q < 1) of the M/M/c response time, by bisection on its distribution.
pub fn mmc_response_quantile(c: u32, lambda: f64, service: f64, q: f64) -> Option<f64> {
    if !(q > 0.0 && q < 1.0) {
        return None;
    }
    mmc_response_cdf(c, lambda, service, 0.0)?;
    let below = |t: f64| mmc_response_cdf(c, lambda, service, t).unwrap_or(1.0) < q;
    let (mut lo, mut hi) = (0.0, service);
    while below(hi) {
        hi *= 2.0;
        if hi > 1e12 * service {
            return None;
        }
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if below(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Which formula the prediction comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Poisson arrivals, exponential service, c identical servers: Erlang C is exact.
    ErlangC,
    /// Anything else: Allen-Cunneen, an approximation.
    AllenCunneen,
}

impl Model {
    pub fn label(self) -> &'static str {
        match self {
            Model::ErlangC => "M/M/c (Erlang C)",
            Model::AllenCunneen => "G/G/c (Allen-Cunneen, an approximation)",
        }
    }
}

/// One queueing instance's measured figures beside theory.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeTheory {
    /// Calls that reached it per second (measured).
    pub arrival_per_s: f64,
    /// Time its workers were held, 0 to 1 (measured).
    pub utilization: f64,
    /// L: the time-weighted mean number waiting for a worker (measured).
    pub mean_queue: f64,
    /// λW: calls given a worker per second times their mean measured wait (Little's law says
    /// it equals L).
    pub lambda_w: f64,
    /// The measured mean wait for a worker, ms.
    pub measured_wait_ms: f64,
    /// The servers of the model (workers, or cores when fewer), the mean service time and the
    /// squared coefficients of variation of the arrivals and the service.
    pub servers: u32,
    pub service_ms: f64,
    pub ca2: f64,
    pub cs2: f64,
    pub model: Model,
    /// The predicted mean wait, ms; `None` when the offered load is at or above capacity.
    pub predicted_wait_ms: Option<f64>,
    /// Assumptions of the model that this node breaks.
    pub notes: Vec<String>,
}

/// The theory of instance `n` of a run whose metrics are `m`, on `layout`; `None` for kinds
/// that do not queue (clients, entries, balancers, routers).
pub fn node_theory(layout: &Layout, m: &Metrics, n: &NodeMetrics) -> Option<NodeTheory> {
    let node = layout.node(n.id.node)?;
    let (mut service_ms, mut cs2) = service_of(layout, node)?;
    let mut notes = Vec::new();
    let span_s = m.measured_s;
    let per_s = |x: u64| if span_s > 0.0 { x as f64 / span_s } else { 0.0 };
    let arrival_per_s = per_s(n.calls);
    let (ca2, arrival_notes) = arrivals_of(layout, node);
    notes.extend(arrival_notes);
    let mut servers = n.workers;
    if n.cores < n.workers {
        servers = n.cores;
        notes.push(format!(
            "{} cores for {} workers: requests share the cores (and slow each other), so the \
             model's servers are the cores",
            n.cores, n.workers
        ));
    }
    if holds_workers(layout, node) {
        notes.push(
            "held workers: a worker waits on downstream calls after its own service, so it is \
             held longer than the service time the model uses"
                .into(),
        );
    }
    if let NodeKind::AppServer(p) = &node.kind
        && p.local_cache_entries > 0
    {
        notes.push("a local cache answers some reads without service".into());
    }
    if service_ms <= 0.0 {
        service_ms = 0.0;
        cs2 = 0.0;
    }
    let exact = ca2 == 1.0 && cs2 == 1.0 && notes.is_empty();
    let model = if exact {
        Model::ErlangC
    } else {
        Model::AllenCunneen
    };
    let lambda_per_ms = arrival_per_s / 1e3;
    let predicted_wait_ms = match model {
        Model::ErlangC => mmc_wait(servers, lambda_per_ms, service_ms),
        Model::AllenCunneen => allen_cunneen_wait(servers, lambda_per_ms, service_ms, ca2, cs2),
    };
    let a = lambda_per_ms * service_ms;
    if predicted_wait_ms.is_none() && service_ms > 0.0 {
        notes.push(format!(
            "offered load {a:.2} erlangs on {servers} servers: at or over capacity, no steady state"
        ));
    }
    // Finite queue: Erlang C assumes an endless one. In M/M/c an arrival finds k or more
    // waiting with probability C ρ^k.
    let capacity = queue_capacity(&node.kind);
    let rho = a / f64::from(servers.max(1));
    let overflow = erlang_c(servers, a).map(|p| p * rho.powf(f64::from(capacity)));
    if overflow.is_none_or(|p| p > 1e-3) || n.failed > 0 && n.mean_queue > 0.0 {
        notes.push(format!(
            "finite queue of {capacity}: the model assumes an endless one, and this queue \
             may fill"
        ));
    }
    Some(NodeTheory {
        arrival_per_s,
        utilization: n.worker_utilization,
        mean_queue: n.mean_queue,
        lambda_w: per_s(n.started) * n.mean_wait_ms / 1e3,
        measured_wait_ms: n.mean_wait_ms,
        servers,
        service_ms,
        ca2,
        cs2,
        model,
        predicted_wait_ms,
        notes,
    })
}

/// Mean service time (ms) and its squared coefficient of variation, for server-like kinds.
fn service_of(layout: &Layout, node: &Node) -> Option<(f64, f64)> {
    let cs2_of = |d: ServiceDist, cv: f64| match d {
        ServiceDist::Constant => 0.0,
        ServiceDist::Exponential => 1.0,
        ServiceDist::LogNormal => cv * cv,
    };
    match &node.kind {
        NodeKind::AppServer(p) => Some((p.service_ms, cs2_of(p.service, p.service_cv))),
        NodeKind::SessionStore(p) => Some((p.service_ms, 1.0)),
        NodeKind::Cache(p) => Some((p.hit_ms, 1.0)),
        NodeKind::Database(p) => {
            // A mixture of reads and writes in the clients' proportions.
            let r = read_share(layout);
            let k = cs2_of(p.service, p.service_cv);
            let mean = r * p.read_ms + (1.0 - r) * p.write_ms;
            let second = (1.0 + k) * (r * p.read_ms.powi(2) + (1.0 - r) * p.write_ms.powi(2));
            let cs2 = if mean > 0.0 {
                second / (mean * mean) - 1.0
            } else {
                0.0
            };
            Some((mean, cs2))
        }
        _ => None,
    }
}

/// The clients' read share, weighted by their open-loop rates (plain mean for closed loops).
fn read_share(layout: &Layout) -> f64 {
    let (mut sum, mut weight) = (0.0, 0.0);
    for n in &layout.nodes {
        if let NodeKind::Client(c) = &n.kind {
            let w = if c.mode == LoopMode::Open { c.qps } else { 1.0 };
            sum += w * c.read_share;
            weight += w;
        }
    }
    if weight > 0.0 { sum / weight } else { 1.0 }
}

/// ca² of the arrivals at `node`, and the notes when they are not Poisson.
fn arrivals_of(layout: &Layout, node: &Node) -> (f64, Vec<String>) {
    let mut notes = Vec::new();
    let clients: Vec<_> = layout
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Client(c) => Some(c),
            _ => None,
        })
        .collect();
    let mut ca2 = 1.0;
    if clients.iter().any(|c| c.mode == LoopMode::Closed) {
        notes.push("not Poisson: closed-loop users send only after an answer".into());
    } else if clients.iter().all(|c| c.arrivals == Arrivals::Constant) && !clients.is_empty() {
        ca2 = 0.0;
        notes.push("not Poisson: the clients send at equal gaps".into());
    }
    let fed_by_balancer = layout.wires.iter().any(|w| {
        w.to == node.id
            && layout.node(w.from).is_some_and(|f| match &f.kind {
                NodeKind::LoadBalancer(lb) => lb.algorithm != LbAlgorithm::Random,
                _ => false,
            })
    });
    if fed_by_balancer {
        notes.push(
            "not Poisson: a balancer (not random) spreads arrivals more evenly than Poisson, so \
             the prediction is on the high side"
                .into(),
        );
    }
    let fed_by_server = layout.wires.iter().any(|w| {
        w.to == node.id
            && layout
                .node(w.from)
                .is_some_and(|f| matches!(f.kind.tag(), KindTag::AppServer | KindTag::Database))
    });
    if fed_by_server {
        notes.push("not Poisson: its calls come from servers, shaped by their queues".into());
    }
    (ca2, notes)
}

/// An app server that calls servers further down holds its worker while it waits.
fn holds_workers(layout: &Layout, node: &Node) -> bool {
    node.kind.tag() == KindTag::AppServer && layout.wires.iter().any(|w| w.from == node.id)
}

fn queue_capacity(kind: &NodeKind) -> u32 {
    match kind {
        NodeKind::AppServer(p) => p.queue_capacity,
        NodeKind::Database(p) => p.queue_capacity,
        NodeKind::SessionStore(p) => p.queue_capacity,
        NodeKind::Cache(p) => p.queue_capacity,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn erlang_c_matches_textbook_values() {
        // M/M/1: P(wait) = ρ.
        assert!(close(erlang_c(1, 0.9).unwrap_or(f64::NAN), 0.9, 1e-12));
        // c = 2, a = 1: (a²/2!)(1/(1-ρ)) / (1 + a + (a²/2!)(1/(1-ρ))) = 1 / 3.
        assert!(close(
            erlang_c(2, 1.0).unwrap_or(f64::NAN),
            1.0 / 3.0,
            1e-12
        ));
        // Kleinrock / call-centre tables: c = 10, a = 8 erlangs: C = 0.4092.
        assert!(close(erlang_c(10, 8.0).unwrap_or(f64::NAN), 0.4092, 5e-4));
        // c = 4, a = 3.6 (saves/mm4.ron): C = 0.78775, so Wq = C / 0.4 = 1.969 ms.
        assert!(close(
            mmc_wait(4, 3.6, 1.0).unwrap_or(f64::NAN),
            1.96938,
            1e-4
        ));
        assert_eq!(erlang_c(4, 4.0), None);
        assert_eq!(erlang_c(0, 0.5), None);
    }

    #[test]
    fn mm1_wait_and_percentiles_are_the_closed_forms() {
        // M/M/1, λ = 0.5, S = 1: Wq = ρ S / (1 - ρ) = 1; response ~ Exp(μ - λ), p99 = ln 100 / 0.5.
        assert!(close(mmc_wait(1, 0.5, 1.0).unwrap_or(f64::NAN), 1.0, 1e-12));
        let p99 = mmc_response_quantile(1, 0.5, 1.0, 0.99).unwrap_or(f64::NAN);
        assert!(close(p99, 100f64.ln() / 0.5, 1e-6), "{p99}");
        // M/D/1 by Allen-Cunneen (exact for c = 1, Pollaczek-Khinchine): half the M/M/1 wait.
        let md1 = allen_cunneen_wait(1, 0.5, 1.0, 1.0, 0.0).unwrap_or(f64::NAN);
        assert!(close(md1, 0.5, 1e-12));
    }
}
