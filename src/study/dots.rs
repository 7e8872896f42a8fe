//! How many requests the window traces for its dots. A study-side choice rather than the
//! window's own, because `tierlab rewind` must trace as the window does to measure what its
//! snapshots cost (each snapshot copies the traces).

use crate::layout::{Layout, NodeKind};
use crate::sim::TraceConfig;

/// Finished traces the window's core keeps for the dots.
pub const WINDOW_TRACES: usize = 8000;

/// The window's trace sampling for `layout`: about two thousand requests a simulated second
/// traced ([`trace_every`]), the last [`WINDOW_TRACES`] kept.
pub fn window_trace_config(layout: &Layout) -> TraceConfig {
    TraceConfig {
        every: trace_every(layout),
        capacity: WINDOW_TRACES,
        ..TraceConfig::default()
    }
}

/// One dot stands for this many requests: chosen from the offered rate so that about two
/// thousand sampled requests start per simulated second, rounded to 1, 2 or 5 times a power of
/// ten so the legend reads well.
pub fn trace_every(layout: &Layout) -> u64 {
    let offered: f64 = layout
        .nodes
        .iter()
        .map(|n| match &n.kind {
            NodeKind::Client(c) => match c.mode {
                crate::layout::LoopMode::Open => c.qps,
                crate::layout::LoopMode::Closed => {
                    f64::from(c.users) * 1000.0 / c.think_ms.max(1.0)
                }
            },
            _ => 0.0,
        })
        .sum();
    nice_ceil(offered / 2000.0)
}

/// The smallest of 1, 2, 5, 10, 20, 50… at or above `x` (1 for anything below 1).
pub fn nice_ceil(x: f64) -> u64 {
    if !x.is_finite() || x <= 1.0 {
        return 1;
    }
    let mut base = 1u64;
    loop {
        for m in [1, 2, 5] {
            let v = base.saturating_mul(m);
            if v as f64 >= x || v == u64::MAX {
                return v;
            }
        }
        base = base.saturating_mul(10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_is_a_round_number_that_keeps_dots_in_the_hundreds() {
        assert_eq!(nice_ceil(0.3), 1);
        assert_eq!(nice_ceil(6.0), 10);
        assert_eq!(nice_ceil(500.0), 500);
        assert_eq!(nice_ceil(501.0), 1000);
        assert_eq!(nice_ceil(f64::NAN), 1);
    }
}
