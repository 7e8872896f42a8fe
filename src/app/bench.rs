//! The frame-cost benchmark (`tierlab bench-frame`): whole window frames, headless.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use eframe::egui::{self, RawInput, Rect, pos2, vec2};

use super::{AppConfig, TierlabApp};
use crate::layout::{Layout, NodeKind};

/// What `tierlab bench-frame` measures (its command-line arguments).
#[derive(Clone, Debug)]
pub struct FrameBench<'a> {
    /// Layout file or shipped name.
    pub file: &'a str,
    /// Every client's open-loop rate, split evenly, in requests per second.
    pub qps: Option<f64>,
    /// Measure the generated 200-node layout instead of `file`.
    pub two_hundred_nodes: bool,
    /// Simulated seconds run before measuring.
    pub warmup_s: f64,
    /// Frames measured.
    pub frames: usize,
    /// Write the layout to this file instead of measuring it.
    pub write_layout: Option<&'a std::path::Path>,
}

/// `tierlab bench-frame`: measure and print the window's frame cost, headless.
pub fn bench_frame(args: &FrameBench<'_>) -> ExitCode {
    let layout = if args.two_hundred_nodes {
        two_hundred_nodes(args.qps.unwrap_or(20_000.0))
    } else {
        match crate::cli::load(args.file) {
            Ok(mut l) => {
                if let Some(q) = args.qps {
                    set_total_qps(&mut l, q);
                }
                l
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        }
    };
    if let Some(out) = args.write_layout {
        return match super::files::save(out, &layout) {
            Ok(()) => {
                println!("wrote {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", out.display());
                ExitCode::from(2)
            }
        };
    }
    let name = layout.name.clone();
    let frames = args.frames;
    let r = frame_cost(layout, args.warmup_s, frames);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: frame median {:.2} ms, p90 {:.2} ms over {frames} frames ({:.0} simulated requests/s arriving, {:.0} dots a frame)",
        ms(r.median()),
        ms(r.p90()),
        r.simulated_rps,
        r.dots_mean
    );
    println!(
        "  median parts: core ticks {:.2} ms, live view {:.2} ms, rest of the UI {:.2} ms, tessellate {:.2} ms",
        ms(percentile(&r.core, 0.5)),
        ms(percentile(&r.live, 0.5)),
        ms(percentile(&r.ui, 0.5)),
        ms(percentile(&r.tessellate, 0.5)),
    );
    ExitCode::SUCCESS
}

/// Split `qps` evenly over the layout's clients.
fn set_total_qps(l: &mut Layout, qps: f64) {
    let clients = l
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Client(_)))
        .count()
        .max(1);
    for n in &mut l.nodes {
        if let NodeKind::Client(c) = &mut n.kind {
            c.qps = qps / clients as f64;
        }
    }
}

/// Frame cost measurements of one layout.
#[derive(Clone, Debug)]
pub struct FrameCost {
    /// Wall-clock time of each measured frame (single-threaded: CPU time).
    pub frames: Vec<Duration>,
    /// Each frame's parts, which add up to it. The core's ticks (`RunState::advance`).
    pub core: Vec<Duration>,
    /// The live view read out of the core (`live::build`: node load and dots).
    pub live: Vec<Duration>,
    /// The rest of `Context::run_ui`: panels, canvas, plots.
    pub ui: Vec<Duration>,
    /// `Context::tessellate`.
    pub tessellate: Vec<Duration>,
    /// Mean dots drawn per frame.
    pub dots_mean: f64,
    /// Simulated requests arriving per second over the measured frames.
    pub simulated_rps: f64,
}

impl FrameCost {
    /// The median frame.
    pub fn median(&self) -> Duration {
        percentile(&self.frames, 0.5)
    }

    /// The 90th percentile frame.
    pub fn p90(&self) -> Duration {
        percentile(&self.frames, 0.9)
    }
}

fn percentile(xs: &[Duration], q: f64) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    v.get(((v.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// Run `layout` in a 1280x800 window at real time (1/60 s of simulated time per frame):
/// `warmup_s` simulated seconds first (so the plots hold that much series), then `frames`
/// measured frames, each `Context::run_ui` with the whole window plus `tessellate`.
pub fn frame_cost(layout: Layout, warmup_s: f64, frames: usize) -> FrameCost {
    let tick_ns = layout.tick_ns().max(1);
    let ticks_per_frame = (1e9 / 60.0 / tick_ns as f64).round().max(1.0) as u64;
    let mut app = TierlabApp::with_layout(
        AppConfig {
            fixed_ticks_per_frame: Some(ticks_per_frame),
            save_dir: std::env::temp_dir(),
            ..AppConfig::default()
        },
        layout,
    );
    app.play();
    if let Some(sim) = app.run.sim.as_mut() {
        sim.run_until_s(warmup_s);
    }
    let ctx = egui::Context::default();
    let input = |t: f64| RawInput {
        screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), vec2(1280.0, 800.0))),
        time: Some(t),
        predicted_dt: 1.0 / 60.0,
        ..RawInput::default()
    };
    // A few frames to settle layout and fonts.
    for k in 0..5 {
        let mut out = ctx.run_ui(input(k as f64 / 60.0), |ui| app.ui(ui));
        // No renderer takes the font textures here; dropping them unapplied is a debug panic.
        out.textures_delta.clear();
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
    }
    let arrived_before = app.sim().map_or(0, |s| s.counts().arrived);
    let sim_before = app.sim().map_or(0, |s| s.now_ns());
    let mut costs = Vec::with_capacity(frames);
    let (mut core, mut live, mut ui, mut tessellate) = (
        Vec::with_capacity(frames),
        Vec::with_capacity(frames),
        Vec::with_capacity(frames),
        Vec::with_capacity(frames),
    );
    let mut dots = 0usize;
    for k in 0..frames {
        let start = Instant::now();
        let mut out = ctx.run_ui(input((k + 5) as f64 / 60.0), |ui| app.ui(ui));
        let ran = start.elapsed();
        out.textures_delta.clear();
        let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
        let total = start.elapsed();
        costs.push(total);
        let split = app.frame_split();
        core.push(split.core);
        live.push(split.live);
        ui.push(ran.saturating_sub(split.core + split.live));
        tessellate.push(total.saturating_sub(ran));
        std::hint::black_box(prims);
        dots += app.dots_drawn();
    }
    let arrived = app.sim().map_or(0, |s| s.counts().arrived) - arrived_before;
    let sim_s = app
        .sim()
        .map_or(0, |s| s.now_ns())
        .saturating_sub(sim_before) as f64
        / 1e9;
    FrameCost {
        frames: costs,
        core,
        live,
        ui,
        tessellate,
        dots_mean: dots as f64 / frames.max(1) as f64,
        simulated_rps: if sim_s > 0.0 {
            arrived as f64 / sim_s
        } else {
            0.0
        },
    }
}

/// A generated layout of 200 nodes: two clients, a balancer, 195 app servers, a cache and a
/// database, every app server wired to the cache and the database.
pub fn two_hundred_nodes(qps: f64) -> Layout {
    use crate::layout::{KindTag, Node, Pos, Wire};
    let mut l = Layout {
        name: "200 nodes".into(),
        ..Layout::default()
    };
    let add = |l: &mut Layout, name: String, tag: KindTag, x: f32, y: f32| {
        let id = l.allocate_id();
        let mut kind = tag.default_kind();
        if let NodeKind::Client(c) = &mut kind {
            c.qps = qps / 2.0;
        }
        l.nodes.push(Node {
            id,
            name,
            pos: Pos { x, y },
            kind,
        });
        id
    };
    let c1 = add(&mut l, "client-1".into(), KindTag::Client, 0.0, 0.0);
    let c2 = add(&mut l, "client-2".into(), KindTag::Client, 0.0, 200.0);
    let lb = add(&mut l, "lb".into(), KindTag::LoadBalancer, 200.0, 100.0);
    let apps: Vec<_> = (0..195)
        .map(|i| {
            let (col, row) = (i / 20, i % 20);
            add(
                &mut l,
                format!("app-{i}"),
                KindTag::AppServer,
                400.0 + col as f32 * 160.0,
                row as f32 * 80.0,
            )
        })
        .collect();
    let cache = add(&mut l, "cache".into(), KindTag::Cache, 2100.0, 400.0);
    let db = add(&mut l, "db".into(), KindTag::Database, 2100.0, 1000.0);
    l.wires.push(Wire::new(c1, lb, 1.0));
    l.wires.push(Wire::new(c2, lb, 1.0));
    for a in apps {
        l.wires.push(Wire::new(lb, a, 0.2));
        l.wires.push(Wire::new(a, cache, 0.3));
        l.wires.push(Wire::new(a, db, 0.5));
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--write-layout` writes the layout the benchmark measures, at the rate asked for: read
    /// back, it is the generated layout with every client at half the rate, and it runs.
    #[test]
    fn the_written_layout_is_the_one_measured() {
        let out = std::env::temp_dir().join(format!("tierlab-n200-{}.ron", std::process::id()));
        let code = bench_frame(&FrameBench {
            file: "request-flow.ron",
            qps: Some(100_000.0),
            two_hundred_nodes: true,
            warmup_s: 0.0,
            frames: 0,
            write_layout: Some(&out),
        });
        assert_eq!(code, ExitCode::SUCCESS);
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        let Ok(read) = crate::layout::from_ron(&text) else {
            panic!("the written layout parses: {text:.200}");
        };
        let rates: Vec<f64> = (read.nodes.iter())
            .filter_map(|n| match &n.kind {
                NodeKind::Client(c) => Some(c.qps),
                _ => None,
            })
            .collect();
        assert_eq!(rates, [50_000.0, 50_000.0]);
        assert_eq!((read.nodes.len(), read.wires.len()), (200, 587));
        assert_eq!(read, two_hundred_nodes(100_000.0));
        assert!(crate::sim::Sim::new(&read, crate::sim::SimConfig::default()).is_ok());
    }
}
