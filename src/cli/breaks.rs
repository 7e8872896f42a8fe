//! `tierlab spof` and `tierlab stress`: what breaks first, and what takes everything down
//! when it dies.

use std::process::ExitCode;

use anyhow::Result;

use crate::study::Progress;
use crate::study::spof::{self, Scope, Settle, SpofReport};
use crate::study::stress::{self, StressReport, StressStep};

/// `tierlab spof`: kill each thing in turn, list the single points of failure.
pub(super) fn spof_cmd(file: &str, settle: Option<f64>, json: bool) -> Result<ExitCode> {
    let layout = super::load(file)?;
    let scope = Scope::Everything;
    let settle = settle.map_or(Settle::Auto, Settle::Seconds);
    let progress = Progress::new(spof::runs(&layout, &scope));
    let report = super::with_progress("killing one at a time", &progress, |p| {
        spof::spof(&layout, &scope, settle, p)
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", spof_text(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// The readable form: the single points first, then every kill with its failure share.
pub fn spof_text(r: &SpofReport) -> String {
    let mut out = format!(
        "{}: killed each of {} at {} s; failures counted from {:.1} s after the kill, over {} s \
         (nothing killed: {:.2} % fail)\n",
        if r.layout.is_empty() {
            "layout"
        } else {
            &r.layout
        },
        r.killed.len(),
        r.kill_at_s,
        r.settle_s,
        r.measure_s,
        r.baseline_failure_share * 100.0
    );
    let spofs: Vec<_> = r.single_points().collect();
    if spofs.is_empty() {
        out += &format!(
            "no single point of failure: no death fails more than {} % more requests\n",
            r.threshold * 100.0
        );
    } else {
        out += &format!(
            "single points of failure (a death fails more than {} % more requests):\n",
            r.threshold * 100.0
        );
        for k in &spofs {
            out += &format!(
                "  {} ({}): {:.1} % of requests fail\n",
                k.name,
                k.kind.replace('_', " "),
                k.failure_share * 100.0
            );
        }
    }
    out += "every kill:\n";
    for k in &r.killed {
        out += &format!(
            "  {:<20} {:>7.2} % failed ({} of {}){}\n",
            k.name,
            k.failure_share * 100.0,
            k.failed,
            k.requests,
            if k.single_point { "  SPOF" } else { "" }
        );
    }
    out
}

/// `tierlab stress`: the highest rate within the goals, and what saturated first.
pub(super) fn stress_cmd(file: &str, json: bool) -> Result<ExitCode> {
    let layout = super::load(file)?;
    let progress = Progress::new(stress::RUNS_GUESS);
    let report = super::with_progress("bisecting the rate", &progress, |p| {
        stress::stress(&layout, p)
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", stress_text(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// The readable form: the rate held, the rate that broke and why, the node that saturated.
pub fn stress_text(r: &StressReport) -> String {
    let mut out = format!(
        "{}: {} s warm-up + {} s measured per rate; goals: {} (unloaded p99 {:.2} ms)\n",
        if r.layout.is_empty() {
            "layout"
        } else {
            &r.layout
        },
        r.warmup_s,
        r.measure_s,
        r.goals.join(", "),
        r.unloaded_p99_ms
    );
    let rate = |s: &StressStep| {
        if s.qps > 0.0 {
            format!(
                "{:.0} QPS offered (x{:.3} the layout's rate)",
                s.qps, s.factor
            )
        } else {
            format!("x{:.3} the layout's users", s.factor)
        }
    };
    match &r.held {
        Some(s) => {
            out += &format!(
                "held: {}: p99 {:.2} ms, {:.2} % failed\n",
                rate(s),
                s.p99_ms,
                s.failure_share * 100.0
            );
        }
        None => out += "held: nothing, even the lowest rate tried broke\n",
    }
    match &r.broke {
        Some(s) => {
            out += &format!(
                "broke at {}: {}\n",
                rate(s),
                s.missed.as_deref().unwrap_or("")
            );
        }
        None => out += "broke: not up to the highest rate tried\n",
    }
    if let Some(n) = &r.saturated {
        out += &format!(
            "saturated first: {} ({}), {}\n",
            n.name,
            n.kind.replace('_', " "),
            n.resource
        );
    }
    out
}
