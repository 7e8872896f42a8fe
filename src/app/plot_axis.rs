//! The plots' time axis with egui_plot's own marks and labels, minus the formatting of labels
//! it would not draw. egui_plot formats every grid mark's number before it checks whether the
//! label has room (60 points from the next mark of its kind); on a 30 s window, marks fall
//! every 0.1 s or 1 s as well as every 10 s, so each plot formatted hundreds of numbers a frame
//! to draw four. The grid spacer here is egui_plot's default (powers of ten) and notes the
//! axis's scale, so the formatter can skip a mark whose label would be dropped anyway.

use std::cell::Cell;
use std::rc::Rc;

use eframe::egui::emath;
use egui_plot::{GridInput, GridMark, Plot, log_grid_spacer};

/// egui_plot's default: grid lines closer than this many points are not drawn, and
/// `GridInput::base_step_size` is this spacing in plot units.
const GRID_SPACING_MIN: f64 = 8.0;
/// egui_plot's default for the x axis: a label needs at least this many points to the next
/// mark of its step.
const X_LABEL_SPACING_MIN: f64 = 60.0;
/// A label this close to the limit is formatted and left to egui_plot to judge: the scale
/// here is the reciprocal of egui_plot's, equal to a few parts in 10^16.
const MARGIN: f64 = 0.99;

/// `plot` with the x axis of egui_plot's defaults, formatting only the labels it draws.
pub fn x_axis(plot: Plot<'_>) -> Plot<'_> {
    // Points per plot unit along x, as the grid spacer last saw it (the axis's labels are
    // formatted after the marks are made, in the same frame).
    let points_per_unit = Rc::new(Cell::new(f64::INFINITY));
    let seen = Rc::clone(&points_per_unit);
    let spacer = log_grid_spacer(10);
    plot.x_grid_spacer(move |input: GridInput| {
        if input.base_step_size > 0.0 {
            seen.set(GRID_SPACING_MIN / input.base_step_size);
        }
        spacer(input)
    })
    .x_axis_formatter(move |mark, _range| {
        if mark.step_size * points_per_unit.get() < X_LABEL_SPACING_MIN * MARGIN {
            // Too close to the next mark: egui_plot would not draw it.
            return String::new();
        }
        default_label(mark)
    })
}

/// egui_plot's default label: as many decimals as the step needs.
fn default_label(mark: GridMark) -> String {
    let decimals = -mark.step_size.log10().round() as usize;
    emath::format_with_decimals_in_range(mark.value, decimals..=decimals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eframe::egui::{self, Rect, Shape, pos2, vec2};

    /// How the x labels are formatted in a test frame.
    #[derive(Clone, Copy, PartialEq)]
    enum Axis {
        /// egui_plot's own formatter.
        Default,
        /// A copy of it that counts its calls.
        Counting,
        /// `x_axis`.
        Ours,
    }

    /// Every text one frame of a plot `width` points wide paints, with its place, and how many
    /// x labels were formatted (counted only by `Axis::Counting`).
    fn plot_texts(width: f32, x_max: f64, axis: Axis) -> (Vec<(String, egui::Pos2)>, usize) {
        let ctx = egui::Context::default();
        let formatted = Rc::new(Cell::new(0usize));
        let mut out = None;
        // Two frames: the plot settles its axis thickness on the first.
        for _ in 0..2 {
            let counter = Rc::clone(&formatted);
            counter.set(0);
            let input = egui::RawInput {
                screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), vec2(width, 200.0))),
                ..egui::RawInput::default()
            };
            if let Some(mut o) = out.take() {
                let o: &mut egui::FullOutput = &mut o;
                o.textures_delta.clear();
            }
            out = Some(ctx.run_ui(input, |ui| {
                let plot = Plot::new("p")
                    .include_x(x_max - 30.0)
                    .include_x(x_max)
                    .include_y(0.0)
                    .include_y(1.0);
                let plot = match axis {
                    Axis::Default => plot,
                    Axis::Counting => plot.x_axis_formatter({
                        let counter = Rc::clone(&counter);
                        move |mark, _| {
                            counter.set(counter.get() + 1);
                            default_label(mark)
                        }
                    }),
                    Axis::Ours => x_axis(plot),
                };
                plot.show(ui, |p| {
                    p.line(egui_plot::Line::new(
                        "l",
                        vec![[x_max - 30.0, 0.0], [x_max, 1.0]],
                    ));
                });
            }));
        }
        let Some(mut out) = out else {
            panic!("two frames ran");
        };
        out.textures_delta.clear();
        let mut texts = Vec::new();
        for c in &out.shapes {
            if let Shape::Text(t) = &c.shape {
                texts.push((t.galley.text().to_string(), t.pos));
            }
        }
        (texts, formatted.get())
    }

    /// The plot shows the very labels, at the very places, with the skipping formatter as with
    /// egui_plot's own, at several widths and windows; egui_plot's own formats many more
    /// numbers than it shows on a narrow plot.
    #[test]
    fn the_time_axis_shows_egui_plots_labels() {
        for (width, x_max) in [(300.0, 30.0), (420.0, 20.3), (900.0, 1234.5), (160.0, 7.0)] {
            let (theirs, _) = plot_texts(width, x_max, Axis::Default);
            let (ours, _) = plot_texts(width, x_max, Axis::Ours);
            assert_eq!(ours, theirs, "width {width}, up to {x_max} s");
            let (_, formatted) = plot_texts(width, x_max, Axis::Counting);
            if x_max == 30.0 {
                assert!(formatted > 20, "{formatted} formatted");
            }
            let numbers = theirs
                .iter()
                .filter(|(t, _)| t.parse::<f64>().is_ok())
                .count();
            assert!(numbers >= 2, "{theirs:?}");
        }
    }
}
