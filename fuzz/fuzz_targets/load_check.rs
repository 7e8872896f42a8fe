//! Any bytes through what a layout file goes through: parse, then `check`, then, when check
//! accepts, build the simulation; and the same bytes through what a lesson file goes through
//! (parse, the lesson's `check`, its layout with the steps in the script). Nothing may panic,
//! abort or hang; every refusal is a value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(lesson) = tierlab::lesson::from_ron(text) {
        let problems = tierlab::lesson::check(&lesson);
        if problems
            .iter()
            .all(|p| p.severity != tierlab::layout::Severity::Error)
            && let Ok(layout) = lesson.layout()
        {
            let _ = tierlab::sim::Sim::new(&layout, tierlab::sim::SimConfig::default());
        }
    }
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
