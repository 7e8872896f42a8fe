//! How long `check` and `Sim::new` take on a layout at the input limits (README, "Input
//! limits"): `cargo run --release --example input_limits`. A benchmark, not a test.

use std::time::Instant;

use tierlab::layout::{self, input};
use tierlab::sim::{Sim, SimConfig};

fn main() {
    let l = input::at_the_limits();
    let text = layout::to_ron(&l);
    let mut parse = Vec::new();
    let mut check = Vec::new();
    let mut build = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let parsed = layout::from_ron(&text);
        parse.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let problems = layout::check(&l);
        check.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let sim = Sim::new(&l, SimConfig::default());
        build.push(start.elapsed().as_secs_f64());
        if let Err(e) = parsed {
            eprintln!("the layout does not parse: {e}");
            std::process::exit(1);
        }
        if let Err(problems) = sim {
            for p in problems {
                eprintln!("{p}");
            }
            std::process::exit(1);
        }
        for p in problems {
            println!("{p}");
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2] * 1e3
    };
    println!(
        "{} nodes, {} wires, {} bytes of RON: parse {:.0} ms, check {:.0} ms, Sim::new {:.0} ms (check included) (median of 5)",
        l.nodes.len(),
        l.wires.len(),
        text.len(),
        median(&mut parse),
        median(&mut check),
        median(&mut build)
    );
}
