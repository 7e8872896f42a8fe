//! The capacity planner: how many servers an app-server pool needs for its p99 to stay under
//! a target at a given rate, from queueing theory, then confirmed by a simulation run of the
//! layout with that many servers at that rate.
//!
//! Theory: the balancer spreads the rate evenly, so each of the n servers is an M/M/c queue
//! (c = its workers) at rate/n, whose response time has a known distribution
//! (`theory::mmc_response_quantile`). The answer is the smallest n whose 99th percentile is
//! under the target. Where the node does not fit M/M/c (service not exponential, workers held
//! on downstream calls, arrivals not Poisson), the answer is labelled an approximation and the
//! run decides.

use serde::Serialize;

use super::theory::{self, mmc_response_quantile};
use super::{Cancelled, Progress};
use crate::layout::{Layout, LoopMode, NodeKind, ServiceDist};
use crate::report::RunJson;

/// Servers a pool may have (the parameter table's `count` range).
const SERVERS_MAX: u32 = 256;

/// What to plan for.
#[derive(Clone, Debug, PartialEq)]
pub struct Ask {
    /// The app-server pool to size, by name.
    pub node: String,
    /// The 99th percentile to stay under, ms.
    pub p99_ms: f64,
    /// Requests per second, shared among the open-loop clients in their proportions.
    pub qps: f64,
    /// Simulated seconds of the confirming run (after `warmup_s`).
    pub seconds: f64,
    pub warmup_s: f64,
    pub seed: Option<u64>,
}

/// The confirming run's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Confirmed {
    /// End-to-end p99 of the run, ms (it includes the other tiers and the wires).
    pub p99_ms: f64,
    pub failure_share: f64,
    /// p99 under the target and under 1 % failed.
    pub met: bool,
    pub run: RunJson,
}

/// The planner's answer.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Answer {
    pub node: String,
    pub qps: f64,
    pub target_p99_ms: f64,
    /// Servers the theory asks for.
    pub servers: u32,
    pub workers_per_server: u32,
    pub service_ms: f64,
    /// The theory's p99 of the node's response time with that many servers, ms.
    pub predicted_p99_ms: f64,
    /// "M/M/c" when the node fits it; otherwise "M/M/c, an approximation here".
    pub model: String,
    /// Why the theory is only an approximation here.
    pub notes: Vec<String>,
    pub confirmed: Confirmed,
}

/// The smallest number of servers, each an M/M/`workers` queue with mean service `service_ms`
/// at `qps`/n, whose p99 response is at most `p99_ms`; with that p99. `None` when even
/// [`SERVERS_MAX`] servers do not do.
pub fn servers_for(workers: u32, service_ms: f64, qps: f64, p99_ms: f64) -> Option<(u32, f64)> {
    (1..=SERVERS_MAX).find_map(|n| {
        let lambda_per_ms = qps / f64::from(n) / 1e3;
        let p99 = mmc_response_quantile(workers, lambda_per_ms, service_ms, 0.99)?;
        (p99 <= p99_ms).then_some((n, p99))
    })
}

/// Check `ask` against `layout`: the node is an app-server pool and the figures make sense.
pub fn check(layout: &Layout, ask: &Ask) -> Result<(), String> {
    let Some(node) = layout.node_named(&ask.node) else {
        let names: Vec<&str> = layout.nodes.iter().map(|n| n.name.as_str()).collect();
        return Err(format!(
            "no node named `{}` (nodes: {})",
            ask.node,
            names.join(", ")
        ));
    };
    if !matches!(node.kind, NodeKind::AppServer(_)) {
        return Err(format!(
            "`{}` is a {}: the planner sizes an app-server pool",
            ask.node,
            node.kind.tag().file_name()
        ));
    }
    if !(ask.p99_ms.is_finite() && ask.p99_ms > 0.0) {
        return Err(format!(
            "the p99 target must be more than 0 ms, not {}",
            ask.p99_ms
        ));
    }
    if !(ask.qps.is_finite() && ask.qps > 0.0 && ask.qps <= 10_000_000.0) {
        return Err(format!(
            "the rate must be more than 0 and at most 10000000 requests per second, not {}",
            ask.qps
        ));
    }
    let open: f64 = super::stress::offered_qps(layout);
    if open <= 0.0 {
        return Err("the layout has no open-loop client with a rate to scale".into());
    }
    Ok(())
}

/// Plan from the theory, then confirm with one run (cancellable through `progress`, one step).
/// The error is a refusal (see [`check`]) or a size the theory cannot reach.
pub fn plan(
    layout: &Layout,
    ask: &Ask,
    progress: &Progress,
) -> Result<Result<Answer, String>, Cancelled> {
    if let Err(e) = check(layout, ask) {
        return Ok(Err(e));
    }
    let Some(NodeKind::AppServer(p)) = layout.node_named(&ask.node).map(|n| &n.kind) else {
        return Ok(Err(format!("`{}` is not an app-server pool", ask.node)));
    };
    let mut notes = Vec::new();
    if p.service != ServiceDist::Exponential {
        notes.push("service times are not exponential".to_string());
    }
    if layout
        .wires
        .iter()
        .any(|w| layout.node_named(&ask.node).is_some_and(|n| n.id == w.from))
    {
        notes
            .push("workers are held on downstream calls, longer than the service time".to_string());
    }
    if p.size.is_some() {
        notes.push("a sized box: requests share its cores".to_string());
    }
    let Some((servers, predicted)) = servers_for(p.workers, p.service_ms, ask.qps, ask.p99_ms)
    else {
        return Ok(Err(format!(
            "even {SERVERS_MAX} servers of {} workers at {} ms do not keep p99 under {} ms \
             at {} requests per second",
            p.workers, p.service_ms, ask.p99_ms, ask.qps
        )));
    };
    let variant = sized(layout, &ask.node, servers, ask.qps);
    let run = match confirm(&variant, ask, progress)? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    progress.add(1);
    let done = run.requests.completed + run.requests.failed;
    let failure_share = if done == 0 {
        0.0
    } else {
        run.requests.failed as f64 / done as f64
    };
    let model = if notes.is_empty() {
        theory::Model::ErlangC.label().to_string()
    } else {
        "M/M/c, an approximation here".to_string()
    };
    Ok(Ok(Answer {
        node: ask.node.clone(),
        qps: ask.qps,
        target_p99_ms: ask.p99_ms,
        servers,
        workers_per_server: p.workers,
        service_ms: p.service_ms,
        predicted_p99_ms: predicted,
        model,
        notes,
        confirmed: Confirmed {
            p99_ms: run.latency_ms.p99,
            failure_share,
            met: run.latency_ms.p99 <= ask.p99_ms && failure_share < 0.01,
            run,
        },
    }))
}

/// `layout` with `node`'s pool at `servers` and the open-loop clients scaled to `qps` in all.
pub fn sized(layout: &Layout, node: &str, servers: u32, qps: f64) -> Layout {
    let mut l = layout.clone();
    let scale = qps / super::stress::offered_qps(layout).max(f64::MIN_POSITIVE);
    for n in &mut l.nodes {
        match &mut n.kind {
            NodeKind::Client(c) if c.mode == LoopMode::Open => c.qps *= scale,
            NodeKind::AppServer(p) if n.name == node => p.count = servers,
            _ => {}
        }
    }
    l
}

/// The sized layout's run, or why it could not run or stopped at a limit.
fn confirm(
    layout: &Layout,
    ask: &Ask,
    progress: &Progress,
) -> Result<Result<RunJson, String>, Cancelled> {
    Ok(
        super::run_report(layout, ask.seed, ask.warmup_s, ask.seconds, progress)?
            .map_err(|problems| format!("the sized layout cannot run:\n{problems}")),
    )
}

/// The answer in words.
pub fn text(a: &Answer) -> String {
    let mut out = format!(
        "{} servers of {} workers ({} ms each) for p99 under {} ms at {} requests per second\n\
         theory, {}: p99 {:.2} ms\n\
         run: p99 {:.2} ms, {:.2} % failed: {}\n",
        a.servers,
        a.workers_per_server,
        a.service_ms,
        a.target_p99_ms,
        a.qps,
        a.model,
        a.predicted_p99_ms,
        a.confirmed.p99_ms,
        a.confirmed.failure_share * 100.0,
        if a.confirmed.met {
            "target met"
        } else {
            "target MISSED"
        }
    );
    for n in &a.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_suffices_when_its_own_p99_is_under_the_target() {
        // M/M/1 at λ = 0.5 per ms, S = 1 ms: response ~ Exp(0.5), p99 = ln(100)/0.5 = 9.21 ms.
        let (n, p99) = servers_for(1, 1.0, 500.0, 10.0).unwrap_or((0, 0.0));
        assert_eq!(n, 1);
        assert!((p99 - 100f64.ln() / 0.5).abs() < 1e-6);
        // Under 9 ms needs a second server: M/M/1 at 0.25 per ms, p99 = ln(100)/0.75 = 6.1 ms.
        let (n, p99) = servers_for(1, 1.0, 500.0, 9.0).unwrap_or((0, 0.0));
        assert_eq!(n, 2);
        assert!((p99 - 100f64.ln() / 0.75).abs() < 1e-6);
    }

    #[test]
    fn a_target_under_the_service_times_own_p99_cannot_be_met() {
        // Even an idle server's p99 is ln(100) x 1 ms = 4.6 ms.
        assert_eq!(servers_for(4, 1.0, 100.0, 4.0), None);
    }
}
