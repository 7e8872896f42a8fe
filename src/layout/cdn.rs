//! What `check` asks of a CDN edge: it sits in front of the origin (an entry, a load balancer
//! or an app server, the may-call table in `check.rs`), and the clients that call it send
//! reads it may cache. Its numbers' ranges come from the parameter table like every kind's.

use super::node::{KindTag, NodeKind};
use super::{Layout, Node, NodeId};

/// Errors: a CDN edge wired to no origin has nowhere to send a miss, a write or an
/// uncacheable read.
pub(super) fn check_cdn(layout: &Layout, id: NodeId, err: &mut impl FnMut(String)) {
    let origins = layout
        .wires_from(id)
        .filter(|w| {
            layout.node(w.to).is_some_and(|t| {
                matches!(
                    t.kind.tag(),
                    KindTag::Entry | KindTag::LoadBalancer | KindTag::AppServer
                )
            })
        })
        .count();
    if origins == 0 {
        err(
            "a CDN edge must sit in front of an entry, a load balancer or an app server: \
             wire it to one (its origin), which answers its misses, writes and uncacheable \
             reads"
                .into(),
        );
    }
}

/// Warnings: nothing calls the edge, or no client that calls it sends cacheable reads (then
/// every request passes through it and it only adds its latency).
pub(super) fn warn_cdn(layout: &Layout, n: &Node, warn: &mut impl FnMut(String)) {
    let callers: Vec<&Node> = layout
        .wires
        .iter()
        .filter(|w| w.to == n.id)
        .filter_map(|w| layout.node(w.from))
        .collect();
    if callers.is_empty() {
        warn("no client calls the CDN edge: wire a client to it".into());
        return;
    }
    let cacheable = callers.iter().any(|c| match &c.kind {
        NodeKind::Client(p) => p.cacheable_share > 0.0 && p.read_share > 0.0,
        _ => false,
    });
    if !cacheable {
        warn(
            "no client calling the CDN edge sends cacheable reads (cacheable_share is 0): \
             every request passes through it to the origin"
                .into(),
        );
    }
}
