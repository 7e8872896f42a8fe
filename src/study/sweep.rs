//! Capacity sweeps: a grid of variants of one layout, each with some node parameters set to
//! values from ranges (`--set app.count=1..16:1`), run in parallel on the same seed, reporting
//! p99, failures and cost per point, and the knee of each curve.
//!
//! A sweep is made in two steps so that the window can refuse a bad range before it starts a
//! thread: [`plan`] resolves each axis through the one parameter table (`layout::params`) and
//! builds and checks every variant; [`run`] runs them (`par_map`, cancellable). Each point's
//! report is exactly `tierlab run --json` of its variant, as a point runs through the same
//! `Sim::new` and `run_json` with the same seed (traces off, which changes no result).
//!
//! The knee of a curve (p99 against the first axis, the other axes fixed) is its point
//! farthest from the straight line through its first and last points, with both axes scaled
//! to 0..1 (the "Kneedle" idea of Satopää et al., 2011). It finds where a rising p99 turns
//! up as well as where adding servers stops helping. A curve with fewer than three points,
//! or none farther than [`KNEE_MIN_DISTANCE`] from that line, has no knee.

use serde::Serialize;

use super::{Cancelled, Progress, par_map};
use crate::layout::params::{self, ParamMeta, fmt_num};
use crate::layout::{self, Layout, Severity};
use crate::report::RunJson;

/// Values one axis may take at most.
pub const AXIS_VALUES_MAX: usize = 1000;
/// Points a sweep may have at most (the product of its axes' lengths).
pub const POINTS_MAX: usize = 4096;
/// A curve whose points all lie closer than this to its chord (in 0..1 scaled units) is
/// straight enough to have no knee.
pub const KNEE_MIN_DISTANCE: f64 = 0.05;

/// One `--set NODE.PARAM=FROM..TO:STEP` as written, before it is checked against a layout.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisSpec {
    /// `NODE.PARAM`: the node's name, a dot, and a parameter name from the table.
    pub target: String,
    pub from: f64,
    pub to: f64,
    pub step: f64,
}

impl AxisSpec {
    /// Parse `NODE.PARAM=FROM..TO:STEP` (`:STEP` may be left out for a step of 1, and
    /// `NODE.PARAM=V` is one value).
    pub fn parse(text: &str) -> Result<AxisSpec, String> {
        let Some((target, range)) = text.split_once('=') else {
            return Err(format!(
                "`{text}`: expected NODE.PARAM=FROM..TO:STEP, e.g. app.count=1..16:1"
            ));
        };
        let target = target.trim();
        if !target.contains('.') {
            return Err(format!(
                "`{target}`: expected NODE.PARAM (a node's name, a dot, a parameter)"
            ));
        }
        let number = |s: &str, what: &str| -> Result<f64, String> {
            let s = s.trim();
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{text}`: {what} `{s}` is not a number"))
        };
        let (from, to, step) = match range.split_once("..") {
            None => {
                let v = number(range, "the value")?;
                (v, v, 1.0)
            }
            Some((from, rest)) => {
                let (to, step) = match rest.split_once(':') {
                    Some((to, step)) => (to, number(step, "STEP")?),
                    None => (rest, 1.0),
                };
                (number(from, "FROM")?, number(to, "TO")?, step)
            }
        };
        let spec = AxisSpec {
            target: target.to_string(),
            from,
            to,
            step,
        };
        spec.values().map(|_| spec)
    }

    /// FROM, FROM + STEP, ... up to TO (included when it falls on a step).
    pub fn values(&self) -> Result<Vec<f64>, String> {
        let (from, to, step) = (self.from, self.to, self.step);
        if step.is_nan() || step <= 0.0 {
            return Err(format!(
                "{}: STEP must be more than 0, not {}",
                self.target,
                fmt_num(step)
            ));
        }
        if to < from {
            return Err(format!(
                "{}: TO ({}) is less than FROM ({})",
                self.target,
                fmt_num(to),
                fmt_num(from)
            ));
        }
        // A hair of slack so that 0.1..0.3:0.1 has its three values despite rounding.
        let steps = ((to - from) / step + 1e-9).floor();
        if steps + 1.0 > AXIS_VALUES_MAX as f64 {
            return Err(format!(
                "{}: {} values; an axis has at most {AXIS_VALUES_MAX}",
                self.target,
                steps + 1.0
            ));
        }
        Ok((0..=steps as usize)
            .map(|i| round_decimal(from + i as f64 * step))
            .collect())
    }
}

/// `v` without the binary noise that repeated steps add (0.30000000000000004 -> 0.3).
fn round_decimal(v: f64) -> f64 {
    let scaled = (v * 1e9).round() / 1e9;
    if scaled.is_finite() { scaled } else { v }
}

/// One axis resolved against a layout: the node, its parameter and the values.
#[derive(Clone, Debug, Serialize)]
pub struct Axis {
    pub node: String,
    pub param: &'static str,
    pub unit: &'static str,
    pub values: Vec<f64>,
    #[serde(skip)]
    meta: &'static ParamMeta,
}

impl Axis {
    /// `node.param`, as written on the command line.
    pub fn label(&self) -> String {
        format!("{}.{}", self.node, self.param)
    }
}

/// Resolve `spec` against `layout`: the node by name, the parameter through the table, each
/// value within the parameter's range. The errors name the bad part.
pub fn resolve(layout: &Layout, spec: &AxisSpec) -> Result<Axis, String> {
    // A node's name may itself contain dots: take the longest name that matches.
    let split = spec
        .target
        .match_indices('.')
        .map(|(i, _)| (&spec.target[..i], &spec.target[i + 1..]))
        .rfind(|(node, _)| layout.node_named(node).is_some());
    let Some((node_name, param)) = split else {
        let node = spec.target.split('.').next().unwrap_or_default();
        let names: Vec<&str> = layout.nodes.iter().map(|n| n.name.as_str()).collect();
        return Err(format!(
            "{}: no node named `{node}` (nodes: {})",
            spec.target,
            names.join(", ")
        ));
    };
    let Some(node) = layout.node_named(node_name) else {
        return Err(format!("{}: no node named `{node_name}`", spec.target));
    };
    let kind = node.kind.tag();
    let Some(meta) = params::find(kind, param) else {
        let names: Vec<&str> = params::params_of(kind).map(|p| p.name).collect();
        return Err(format!(
            "{}: `{node_name}` is a {}, which has no parameter `{param}` (its parameters: {})",
            spec.target,
            kind.file_name(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    if meta.get(&node.kind).is_none() {
        return Err(format!(
            "{}: `{param}` is not a setting of `{node_name}` now (is autoscaling off?)",
            spec.target
        ));
    }
    let values = spec.values()?;
    for &v in &values {
        meta.validate(v)
            .map_err(|e| format!("{}: {e}", spec.target))?;
    }
    Ok(Axis {
        node: node_name.to_string(),
        param: meta.name,
        unit: meta.unit,
        values,
        meta,
    })
}

/// A checked sweep, ready to run: its axes and every variant.
#[derive(Clone, Debug)]
pub struct Plan {
    pub axes: Vec<Axis>,
    /// Each point's axis values (one per axis, the first axis varying slowest) and layout.
    pub variants: Vec<(Vec<f64>, Layout)>,
}

/// Resolve the axes and build every variant of `layout`; refused (with the reason) when an
/// axis is bad, the grid is too large, or a variant would not run (`layout::check`).
pub fn plan(layout: &Layout, specs: &[AxisSpec]) -> Result<Plan, String> {
    if specs.is_empty() {
        return Err("a sweep needs at least one --set NODE.PARAM=FROM..TO:STEP".into());
    }
    let axes = specs
        .iter()
        .map(|s| resolve(layout, s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut points: usize = 1;
    for a in &axes {
        points = points.saturating_mul(a.values.len());
    }
    if points > POINTS_MAX {
        return Err(format!(
            "{points} points; a sweep has at most {POINTS_MAX} (use fewer values or a larger STEP)"
        ));
    }
    let mut variants = Vec::with_capacity(points);
    for i in 0..points {
        let values = grid_values(&axes, i);
        let mut v = layout.clone();
        for (axis, &value) in axes.iter().zip(&values) {
            let node = v.nodes.iter_mut().find(|n| n.name == axis.node);
            let Some(node) = node else {
                return Err(format!("no node named `{}`", axis.node));
            };
            axis.meta
                .set(&mut node.kind, value)
                .map_err(|e| format!("{}: {e}", axis.label()))?;
        }
        let errors: Vec<String> = layout::check(&v)
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.to_string())
            .collect();
        if !errors.is_empty() {
            return Err(format!(
                "the point {} cannot run:\n{}",
                point_label(&axes, &values),
                errors.join("\n")
            ));
        }
        variants.push((values, v));
    }
    Ok(Plan { axes, variants })
}

/// The axis values of point `i`: the first axis varies slowest, the last fastest.
fn grid_values(axes: &[Axis], mut i: usize) -> Vec<f64> {
    let mut values = vec![0.0; axes.len()];
    for (k, a) in axes.iter().enumerate().rev() {
        let n = a.values.len().max(1);
        values[k] = a.values[i % n];
        i /= n;
    }
    values
}

/// `app.count=3, clients.qps=2000`.
pub fn point_label(axes: &[Axis], values: &[f64]) -> String {
    axes.iter()
        .zip(values)
        .map(|(a, v)| format!("{}={}", a.label(), fmt_num(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How long to run each point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SweepConfig {
    pub seconds: f64,
    pub warmup_s: f64,
    /// Overrides the layout's seed; every point runs on the same one.
    pub seed: Option<u64>,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            seconds: 10.0,
            warmup_s: 0.0,
            seed: None,
        }
    }
}

/// One point of a sweep: its axis values and the headline figures of its run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Point {
    /// One value per axis, in the axes' order.
    pub values: Vec<f64>,
    pub p99_ms: f64,
    /// Failed requests over finished ones.
    pub failure_share: f64,
    pub failed: u64,
    pub throughput_rps: f64,
    pub cost_usd_per_hour: f64,
    /// The whole report of the point's run: what `tierlab run --json` prints for its variant.
    pub run: RunJson,
}

/// One curve: the points along the first axis with the other axes at fixed values.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Curve {
    /// The values of the other axes (empty for a one-axis sweep).
    pub fixed: Vec<f64>,
    /// Indices into [`Sweep::points`], in the first axis's order.
    pub points: Vec<usize>,
    /// The knee's index into [`Sweep::points`], if the curve has one.
    pub knee: Option<usize>,
}

/// A finished sweep.
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub layout: String,
    pub seed: u64,
    pub seconds: f64,
    pub warmup_seconds: f64,
    pub axes: Vec<Axis>,
    /// Every point, the first axis varying slowest.
    pub points: Vec<Point>,
    /// p99 against the first axis, one curve per combination of the other axes.
    pub curves: Vec<Curve>,
}

/// Run every variant of `plan` in parallel on the same seed, counting one step of `progress`
/// per point. The inner error is a variant the core refused (which `plan` has checked
/// against, so it names a bug rather than bad input).
pub fn run(
    plan: &Plan,
    config: &SweepConfig,
    progress: &Progress,
) -> Result<Result<Sweep, String>, Cancelled> {
    let points = par_map(&plan.variants, progress, |(values, layout)| {
        Ok(super::run_report(
            layout,
            config.seed,
            config.warmup_s,
            config.seconds,
            progress,
        )?
        .map(|run| point(values.clone(), run)))
    })?;
    let points = match points.into_iter().collect::<Result<Vec<Point>, String>>() {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let seed = points
        .first()
        .map(|p| p.run.seed)
        .or(config.seed)
        .unwrap_or_default();
    let curves = curves(&plan.axes, &points);
    let layout = plan
        .variants
        .first()
        .map(|(_, l)| l.name.clone())
        .unwrap_or_default();
    Ok(Ok(Sweep {
        layout,
        seed,
        seconds: config.seconds,
        warmup_seconds: config.warmup_s,
        axes: plan.axes.clone(),
        points,
        curves,
    }))
}

/// A point's headline figures from its report.
fn point(values: Vec<f64>, run: RunJson) -> Point {
    let done = run.requests.completed + run.requests.failed;
    Point {
        values,
        p99_ms: run.latency_ms.p99,
        failure_share: if done == 0 {
            0.0
        } else {
            run.requests.failed as f64 / done as f64
        },
        failed: run.requests.failed,
        throughput_rps: run.throughput_rps,
        cost_usd_per_hour: run.cost_usd_per_hour,
        run,
    }
}

/// The curves of p99 against the first axis, with their knees.
fn curves(axes: &[Axis], points: &[Point]) -> Vec<Curve> {
    let Some(first) = axes.first() else {
        return Vec::new();
    };
    let along = first.values.len().max(1);
    let lines = points.len() / along;
    (0..lines)
        .map(|line| {
            // The first axis varies slowest: point (i, line) is at i * lines + line.
            let idx: Vec<usize> = (0..along).map(|i| i * lines + line).collect();
            let fixed = points
                .get(line)
                .map(|p| p.values[1..].to_vec())
                .unwrap_or_default();
            let xy: Vec<[f64; 2]> = idx
                .iter()
                .map(|&i| [points[i].values[0], points[i].p99_ms])
                .collect();
            let knee = knee(&xy).map(|k| idx[k]);
            Curve {
                fixed,
                points: idx,
                knee,
            }
        })
        .collect()
}

/// The index of the knee of a curve given as (x, y) points in x order: the point farthest
/// from the chord through the first and last points, both axes scaled to 0..1; `None` for
/// fewer than three points, a flat or non-finite curve, or a straight one.
pub fn knee(xy: &[[f64; 2]]) -> Option<usize> {
    if xy.len() < 3 || xy.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    let (x_min, x_max) = min_max(xy.iter().map(|p| p[0]));
    let (y_min, y_max) = min_max(xy.iter().map(|p| p[1]));
    if x_max <= x_min || y_max <= y_min {
        return None;
    }
    let scaled: Vec<[f64; 2]> = xy
        .iter()
        .map(|p| {
            [
                (p[0] - x_min) / (x_max - x_min),
                (p[1] - y_min) / (y_max - y_min),
            ]
        })
        .collect();
    let (a, b) = (scaled[0], scaled[scaled.len() - 1]);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let chord = (dx * dx + dy * dy).sqrt();
    if chord == 0.0 {
        return None;
    }
    let (best, distance) = scaled
        .iter()
        .enumerate()
        .map(|(i, p)| (i, ((p[0] - a[0]) * dy - (p[1] - a[1]) * dx).abs() / chord))
        .fold((0, 0.0), |acc, (i, d)| if d > acc.1 { (i, d) } else { acc });
    (distance >= KNEE_MIN_DISTANCE).then_some(best)
}

fn min_max(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

/// The sweep as CSV: one row per point, a column per axis, then the figures.
pub fn to_csv(sweep: &Sweep) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = sweep.axes.iter().map(Axis::label).collect();
    header.extend(
        [
            "p99_ms",
            "failure_share",
            "failed",
            "throughput_rps",
            "cost_usd_per_hour",
            "knee",
        ]
        .map(String::from),
    );
    w.write_record(&header)?;
    let knees: Vec<usize> = sweep.curves.iter().filter_map(|c| c.knee).collect();
    for (i, p) in sweep.points.iter().enumerate() {
        let mut row: Vec<String> = p.values.iter().map(|v| fmt_num(*v)).collect();
        row.extend([
            p.p99_ms.to_string(),
            p.failure_share.to_string(),
            p.failed.to_string(),
            p.throughput_rps.to_string(),
            p.cost_usd_per_hour.to_string(),
            knees.contains(&i).to_string(),
        ]);
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The sweep as a readable table.
pub fn text(sweep: &Sweep) -> String {
    let mut out = format!(
        "{}: {} points, {} s each on seed {}\n",
        sweep.layout,
        sweep.points.len(),
        fmt_num(sweep.seconds),
        sweep.seed
    );
    let knees: Vec<usize> = sweep.curves.iter().filter_map(|c| c.knee).collect();
    for (i, p) in sweep.points.iter().enumerate() {
        out.push_str(&format!(
            "{:<40} p99 {:>9.2} ms  failed {:>6.2} %  {:>9.1} req/s  ${:.4}/h{}{}\n",
            point_label(&sweep.axes, &p.values),
            p.p99_ms,
            p.failure_share * 100.0,
            p.throughput_rps,
            p.cost_usd_per_hour,
            if knees.contains(&i) { "  <- knee" } else { "" },
            match &p.run.stopped {
                Some(why) => format!("  (stopped: {why})"),
                None => String::new(),
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<f64> {
        match AxisSpec::parse(text).and_then(|a| a.values()) {
            Ok(v) => v,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    fn refusal(text: &str) -> String {
        match AxisSpec::parse(text) {
            Ok(a) => panic!("{text} parsed as {a:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_range_lists_its_values_with_the_end_when_it_falls_on_a_step() {
        assert_eq!(values("app.count=1..4:1"), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(values("c.read_share=0.1..0.3:0.1"), vec![0.1, 0.2, 0.3]);
        assert_eq!(values("c.qps=1000..2500:1000"), vec![1000.0, 2000.0]);
        assert_eq!(values("c.qps=7"), vec![7.0]);
    }

    #[test]
    fn bad_ranges_say_which_part_is_wrong() {
        assert!(refusal("app.count").contains("NODE.PARAM=FROM"));
        assert!(refusal("app=1..2").contains("NODE.PARAM"));
        assert!(refusal("app.count=x..2").contains("FROM `x`"));
        assert!(refusal("app.count=1..2:0").contains("STEP"));
        assert!(refusal("app.count=3..2:1").contains("TO (2)"));
        assert!(refusal("a.b=0..1e9:1").contains("at most"));
    }

    #[test]
    fn the_knee_of_a_hockey_stick_is_where_it_turns_up() {
        // Flat at 10 until x = 5, then rising steeply: the bend is at x = 5.
        let xy: Vec<[f64; 2]> = (0..10)
            .map(|x| {
                let x = f64::from(x);
                [
                    x,
                    if x <= 5.0 {
                        10.0
                    } else {
                        10.0 + 100.0 * (x - 5.0)
                    },
                ]
            })
            .collect();
        assert_eq!(knee(&xy), Some(5));
        // Falling then flat (servers added until they stop helping): the bend at x = 3.
        let xy: Vec<[f64; 2]> = (0..10)
            .map(|x| {
                let x = f64::from(x);
                [x, if x <= 3.0 { 100.0 - 30.0 * x } else { 10.0 }]
            })
            .collect();
        assert_eq!(knee(&xy), Some(3));
    }

    #[test]
    fn a_straight_or_short_curve_has_no_knee() {
        let line: Vec<[f64; 2]> = (0..10)
            .map(|x| [f64::from(x), 2.0 * f64::from(x)])
            .collect();
        assert_eq!(knee(&line), None);
        assert_eq!(knee(&[[0.0, 1.0], [1.0, 5.0]]), None);
        assert_eq!(knee(&[[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]]), None);
    }
}
