//! The CDN edges' part of the report: one row per edge (omitted from the JSON without one, so
//! a layout without a CDN reports exactly what it did before).

use serde::Serialize;

use crate::sim::{CdnMetrics, Sim};

/// One CDN edge: what it answered, what it sent to the origin.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CdnJson {
    pub node: u32,
    pub name: String,
    /// Edge hits over cacheable reads (hits and misses), 0 before the first.
    pub hit_ratio: f64,
    /// Cacheable reads answered at the edge.
    pub hits: u64,
    /// Cacheable reads passed to the origin, whose answer filled the edge.
    pub misses: u64,
    /// Writes and uncacheable reads passed to the origin untouched.
    pub forwarded: u64,
    /// Of the forwarded, the reads.
    pub forwarded_reads: u64,
    /// Calls the edge sent to the origin (misses and forwarded), in all and per second.
    pub origin_calls: u64,
    pub origin_rps: f64,
    /// Requests that reached the edge, per second.
    pub edge_rps: f64,
    /// Objects held now, and evicted since the edge started.
    pub objects: u32,
    pub evictions: u64,
}

/// Every edge of the run, in instance order.
pub fn cdn_json(sim: &Sim) -> Vec<CdnJson> {
    sim.cdn_metrics().iter().map(row).collect()
}

fn row(m: &CdnMetrics) -> CdnJson {
    CdnJson {
        node: m.node.0,
        name: m.name.clone(),
        hit_ratio: m.hit_ratio,
        hits: m.counts.hits,
        misses: m.counts.misses,
        forwarded: m.counts.forwarded,
        forwarded_reads: m.counts.forwarded_reads,
        origin_calls: m.origin_calls(),
        origin_rps: m.origin_rps,
        edge_rps: m.edge_rps,
        objects: m.objects,
        evictions: m.evictions,
    }
}

/// The summary table's lines for the edges (none without one).
pub fn cdn_text(s: &mut String, rows: &[CdnJson]) {
    for c in rows {
        s.push_str(&format!(
            "cdn        {}: edge hit ratio {:.3} ({} hits, {} misses, {} forwarded); origin \
             {:.1} calls/s of {:.1} requests/s at the edge\n",
            c.name, c.hit_ratio, c.hits, c.misses, c.forwarded, c.origin_rps, c.edge_rps
        ));
    }
}
