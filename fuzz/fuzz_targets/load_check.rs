//! Any bytes through what a layout file goes through: parse, then `check`, then, when check
//! accepts, build the simulation. Nothing may panic, abort or hang; every refusal is a value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(layout) = tierlab::layout::from_ron(text) else {
        return;
    };
    let problems = tierlab::layout::check(&layout);
    if problems
        .iter()
        .all(|p| p.severity != tierlab::layout::Severity::Error)
    {
        let _ = tierlab::sim::Sim::new(&layout, tierlab::sim::SimConfig::default());
    }
});
