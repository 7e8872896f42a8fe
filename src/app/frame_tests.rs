//! Whole window frames, headless, as a user sees them: which canvas labels a zoom draws, and
//! that the canvas kept tessellated (`wire_mesh.rs`, `node_mesh.rs`) draws what it drew anew.

use eframe::egui::{self, Rect, Shape, epaint::Vertex, pos2, vec2};

use super::bench::two_hundred_nodes;
use super::paint::TEXT_PX_MIN;
use super::{AppConfig, TierlabApp};
use crate::layout::Layout;

fn app(layout: Layout) -> TierlabApp {
    TierlabApp::with_layout(
        AppConfig {
            save_dir: std::env::temp_dir(),
            fixed_ticks_per_frame: Some(1),
            ..AppConfig::default()
        },
        layout,
    )
}

/// One 1280x800 frame of the whole window.
fn frame(ctx: &egui::Context, app: &mut TierlabApp, k: u32) -> egui::FullOutput {
    let input = egui::RawInput {
        screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), vec2(1280.0, 800.0))),
        time: Some(f64::from(k) / 60.0),
        ..egui::RawInput::default()
    };
    let mut out = ctx.run_ui(input, |ui| app.ui(ui));
    out.textures_delta.clear();
    out
}

/// Every text painted in the frame, with its font size in points.
fn texts(out: &egui::FullOutput) -> Vec<(String, f32)> {
    fn walk(s: &Shape, found: &mut Vec<(String, f32)>) {
        match s {
            Shape::Vec(v) => v.iter().for_each(|s| walk(s, found)),
            Shape::Text(t) => {
                let size = t
                    .galley
                    .job
                    .sections
                    .first()
                    .map_or(0.0, |s| s.format.font_id.size);
                found.push((t.galley.text().to_string(), size));
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    for c in &out.shapes {
        walk(&c.shape, &mut found);
    }
    found
}

/// One frame painting through `paint` on a 400x300 canvas, tessellated as the window would:
/// each triangle's vertices in drawing order (the kept meshes' tests compare with it).
pub(super) fn painted(ctx: &egui::Context, mut paint: impl FnMut(&egui::Painter)) -> Vec<Vertex> {
    let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
        paint(&ui.painter_at(Rect::from_min_size(pos2(0.0, 0.0), vec2(400.0, 300.0))));
    });
    out.textures_delta.clear();
    triangles(ctx, out)
}

/// The frame's triangles as the renderer gets them: each triangle's vertices, in order.
pub(super) fn triangles(ctx: &egui::Context, out: egui::FullOutput) -> Vec<Vertex> {
    ctx.tessellate(out.shapes, out.pixels_per_point)
        .into_iter()
        .filter_map(|p| match p.primitive {
            egui::epaint::Primitive::Mesh(m) => Some(m),
            egui::epaint::Primitive::Callback(_) => None,
        })
        .flat_map(|m| {
            m.indices
                .iter()
                .map(|i| m.vertices[*i as usize])
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The 200-node overview fitted into 1280x800 would write node names under 6 points: they are
/// not drawn (the icons and colours still tell the kinds). Zoomed in to 1, the same names are
/// drawn at 14 points; request-flow.ron at the same window size shows its names.
#[test]
fn node_names_too_small_to_read_are_not_drawn_and_zooming_in_brings_them_back() {
    let ctx = egui::Context::default();
    let mut big = app(two_hundred_nodes(20_000.0));
    let mut out = frame(&ctx, &mut big, 0);
    for k in 1..5 {
        out = frame(&ctx, &mut big, k);
    }
    let zoom = big.canvas.transform.zoom;
    // 195 app servers side by side in 10 columns: the fit needs about 1,800 canvas points
    // of width in a canvas under 1,000 points wide.
    assert!(zoom * 14.0 < TEXT_PX_MIN, "zoom {zoom}");
    let names = texts(&out);
    assert!(!names.iter().any(|(t, _)| t == "app-7"), "{names:?}");

    big.canvas.transform.zoom = 1.0;
    big.canvas.view_moved = true;
    let out = frame(&ctx, &mut big, 5);
    let names = texts(&out);
    let app7: Vec<_> = names.iter().filter(|(t, _)| t == "app-7").collect();
    assert_eq!(app7.len(), 1, "{names:?}");
    assert!((app7[0].1 - 14.0).abs() < 1e-3);

    let Ok(flow) = crate::cli::load("request-flow.ron") else {
        panic!("request-flow.ron loads");
    };
    let node = flow.nodes[0].name.clone();
    let mut small = app(flow);
    let mut out = frame(&ctx, &mut small, 0);
    for k in 1..5 {
        out = frame(&ctx, &mut small, k);
    }
    assert!(small.canvas.transform.zoom * 14.0 >= TEXT_PX_MIN);
    assert!(
        texts(&out)
            .iter()
            .any(|(t, s)| *t == node && *s >= TEXT_PX_MIN)
    );
}

/// A still frame drawn from the kept meshes gives the renderer the very triangles of the same
/// frame drawn from shapes (after the meshes were forgotten), on the 200-node overview with a
/// node selected.
#[test]
fn a_frame_from_kept_meshes_draws_what_a_frame_drawn_anew_draws() {
    let ctx = egui::Context::default();
    let layout = two_hundred_nodes(20_000.0);
    let selected = layout.nodes[10].id;
    let mut big = app(layout);
    for k in 0..5 {
        frame(&ctx, &mut big, k);
    }
    big.selection.only(selected);
    frame(&ctx, &mut big, 5);
    big.canvas.forget_meshes();
    let anew = frame(&ctx, &mut big, 6);
    let builds = big.canvas.mesh_builds();
    let kept = frame(&ctx, &mut big, 7);
    assert_eq!(
        big.canvas.mesh_builds(),
        builds,
        "the still frame built nothing"
    );
    let (anew, kept) = (triangles(&ctx, anew), triangles(&ctx, kept));
    assert!(anew.len() > 100_000, "{} vertices", anew.len());
    assert!(anew == kept, "the frames differ");
}

/// The wires' curves each dot is placed on, computed afresh from the layout and the view.
fn curves_now(
    app: &TierlabApp,
) -> Vec<(
    (crate::layout::NodeId, crate::layout::NodeId),
    Vec<egui::Pos2>,
)> {
    use super::geometry as geo;
    let (t, origin) = (app.canvas.transform, app.canvas.rect_screen.min);
    let l = app.layout();
    l.wires
        .iter()
        .filter_map(|w| {
            let (a, b) = (l.node(w.from)?, l.node(w.to)?);
            let p = t.screen_from_canvas(origin, geo::node_rect(a.pos).right_center());
            let q = t.screen_from_canvas(origin, geo::node_rect(b.pos).left_center());
            let n = super::wire_mesh::wire_segments(p, q);
            Some(((w.from, w.to), geo::sample_curve(&geo::wire_curve(p, q), n)))
        })
        .collect()
}

/// A node moved during a run: in the very next frame every dot sits on a wire where the
/// layout now puts it, and dots ride the moved node's wires at their new place (the kept
/// wire mesh and its curves are not last frame's).
#[test]
fn after_a_move_during_a_run_the_next_frame_puts_the_dots_on_the_moved_wires() {
    use super::geometry::distance_to_polyline;
    let ctx = egui::Context::default();
    let layout = two_hundred_nodes(20_000.0);
    let lb = layout.nodes[2].id;
    let mut big = app(layout);
    big.play();
    if let Some(sim) = big.run.sim.as_mut() {
        sim.run_until_s(1.0);
    }
    for k in 0..5 {
        frame(&ctx, &mut big, k);
    }
    let before = curves_now(&big);
    let Some(pos) = big.layout().node(lb).map(|n| n.pos) else {
        panic!("the balancer is in the layout");
    };
    let moved = crate::layout::Pos {
        x: pos.x,
        y: pos.y + 600.0,
    };
    big.apply_edits(vec![super::edit::Edit::Move(vec![(lb, moved)])]);
    frame(&ctx, &mut big, 5);
    let after = curves_now(&big);
    let dots = big.dots_on_screen();
    assert!(dots.len() > 20, "{} dots", dots.len());
    for (p, _) in dots {
        assert!(
            after
                .iter()
                .any(|(_, c)| distance_to_polyline(*p, c) < 0.01),
            "a dot at {p:?} is on no wire of the layout as it is"
        );
    }
    // Dots on the balancer's wires, far from where those wires were.
    let on_moved = dots
        .iter()
        .filter(|(p, _)| {
            after
                .iter()
                .any(|(e, c)| (e.0 == lb || e.1 == lb) && distance_to_polyline(*p, c) < 0.01)
                && before
                    .iter()
                    .all(|(_, c)| distance_to_polyline(*p, c) > 2.0)
        })
        .count();
    assert!(on_moved > 0, "no dot rides the moved balancer's wires");
}
