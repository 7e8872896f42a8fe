//! Design drills that grade themselves: a lesson file with a `drill` part (the prompt, the
//! whiteboard timer, the checklist Reveal shows, exact targets) and the grader, which runs a
//! learner's layout headless and says, target by target, what failed and where (node names).
//!
//! The grader is a study: it takes a [`Progress`] that counts its runs and can cancel it, so
//! the window runs it on a thread of its own and the command line (`tierlab drill`) draws its
//! progress on the terminal. Targets read the figures of the JSON report (`report::RunJson`),
//! by the names that report uses.

use serde::{Deserialize, Serialize};

use crate::layout::check::{Problem, Severity};
use crate::layout::{self, KindTag, Layout, NodeKind, input};
use crate::lesson::{self, Lesson};
use crate::report::{self, RunJson};
use crate::shipped;
use crate::sim::{Sim, SimConfig, TraceConfig};
use crate::study::{self, Cancelled, Progress, spof};

/// The whiteboard timer's range, minutes.
pub const TIMER_MIN_MINUTES: f64 = 5.0;
pub const TIMER_MAX_MINUTES: f64 = 10.0;
/// The longest grading run, simulated seconds (warm-up included).
pub const GRADE_S_MAX: f64 = 600.0;

/// A lesson's drill part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drill {
    /// `Warm-up`, `Core` or `Stretch`.
    #[serde(default)]
    pub level: String,
    /// The question to whiteboard.
    pub prompt: String,
    /// How long to whiteboard before revealing, minutes (5 to 10).
    pub timer_minutes: f64,
    /// What a strong answer covers, shown by Reveal.
    pub checklist: Vec<String>,
    /// What Check measures: every target must be met.
    pub targets: Vec<Target>,
    /// Simulated seconds measured by Check, after the warm-up.
    #[serde(default = "default_seconds")]
    pub seconds: f64,
    /// Simulated seconds run first and not counted (caches fill, queues settle).
    #[serde(default = "default_warmup")]
    pub warmup_s: f64,
    /// The grade names the rungs of the read-scaling ladder the answer used.
    #[serde(default)]
    pub ladder: bool,
}

fn default_seconds() -> f64 {
    20.0
}

fn default_warmup() -> f64 {
    5.0
}

/// One exact target, named by the report's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// The clients offer at least `qps_at_least` requests per second in all (open loop), with
    /// a read share in the given range: an answer may not pass by sending less traffic.
    Traffic {
        qps_at_least: f64,
        #[serde(default)]
        read_share_at_least: Option<f64>,
        #[serde(default)]
        read_share_at_most: Option<f64>,
    },
    /// `latency_ms.p99` of the measured run.
    LatencyP99Ms { at_most: f64 },
    /// `requests.failed` over finished requests.
    FailureShare { at_most: f64 },
    /// `cpu_utilization` of every instance of a kind (each pool member, each shard).
    CpuUtilization { kind: KindTag, at_most: f64 },
    /// No instance of a kind is `saturated`.
    NotSaturated { kind: KindTag },
    /// `shard_loss`: the share of requests the worst shard's death makes unavailable (1 with
    /// one primary and no shard router).
    ShardLoss { at_most: f64 },
    /// The single-point-of-failure search (`study::spof`, settle time from the layout's
    /// failover delays): no balancer's death fails more than `at_most` of the requests beyond
    /// the run with nothing killed. An answer without a balancer is held to it for every node.
    Spof { at_most: f64 },
}

impl Target {
    /// The report's name for what the target reads.
    pub fn metric(&self) -> &'static str {
        match self {
            Target::Traffic { .. } => "qps",
            Target::LatencyP99Ms { .. } => "latency_ms.p99",
            Target::FailureShare { .. } => "failure_share",
            Target::CpuUtilization { .. } => "cpu_utilization",
            Target::NotSaturated { .. } => "saturated",
            Target::ShardLoss { .. } => "shard_loss",
            Target::Spof { .. } => "single_points",
        }
    }

    /// The target in words, e.g. `cpu_utilization of every database <= 0.7`.
    pub fn describe(&self) -> String {
        match self {
            Target::Traffic {
                qps_at_least,
                read_share_at_least,
                read_share_at_most,
            } => {
                let mut s = format!("clients offer >= {qps_at_least} requests/s");
                if let Some(x) = read_share_at_least {
                    s.push_str(&format!(", read_share >= {x}"));
                }
                if let Some(x) = read_share_at_most {
                    s.push_str(&format!(", read_share <= {x}"));
                }
                s
            }
            Target::LatencyP99Ms { at_most } => format!("latency_ms.p99 <= {at_most} ms"),
            Target::FailureShare { at_most } => format!("failure_share <= {at_most}"),
            Target::CpuUtilization { kind, at_most } => {
                format!("cpu_utilization of every {} <= {at_most}", kind.file_name())
            }
            Target::NotSaturated { kind } => format!("no {} saturated", kind.file_name()),
            Target::ShardLoss { at_most } => {
                format!("one shard's death makes <= {at_most} of requests unavailable")
            }
            Target::Spof { at_most } => {
                format!("no balancer's death fails > {at_most} of requests once failover settles")
            }
        }
    }
}

/// One target, met or not, with the measured value and what failed where.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CheckJson {
    pub target: String,
    pub metric: &'static str,
    pub met: bool,
    /// The measured value (absent when nothing could be measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// What the run showed, naming nodes: why it was missed, or the figure it reports.
    pub detail: String,
}

/// A graded answer.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Grade {
    /// The answer's file, when graded from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The drill's title.
    pub drill: String,
    /// The answer's layout name.
    pub layout: String,
    pub passed: bool,
    /// Why the layout could not run (then no target is checked).
    pub problems: Vec<String>,
    pub checks: Vec<CheckJson>,
    /// The rungs of the read-scaling ladder the answer used (`cache`, `replicas`, `shards`),
    /// for a drill that asks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rungs: Option<Vec<&'static str>>,
    /// What one shard's death makes unavailable, in words, when the drill asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_loss: Option<String>,
}

impl Grade {
    /// The grade, naming the file it graded.
    pub fn with_file(mut self, file: &str) -> Grade {
        self.file = Some(file.to_string());
        self
    }

    /// The grade in a few lines: the verdict, then each target.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{}: {} ({})\n",
            self.drill,
            if self.passed { "PASSED" } else { "NOT YET" },
            self.layout
        );
        for p in &self.problems {
            s.push_str(&format!("  cannot run: {p}\n"));
        }
        for c in &self.checks {
            s.push_str(&format!(
                "  [{}] {}: {}\n",
                if c.met { "met" } else { "MISSED" },
                c.target,
                c.detail
            ));
        }
        if let Some(r) = &self.rungs {
            s.push_str(&format!("  ladder rungs used: {}\n", rungs_text(r)));
        }
        s
    }

    /// The grade in one line, for a teacher's folder: file, verdict, the missed targets.
    pub fn line(&self, file: &str) -> String {
        let missed: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| !c.met)
            .map(|c| c.metric)
            .collect();
        let mut s = format!("{file}: {}", if self.passed { "passed" } else { "not yet" });
        if let Some(p) = self.problems.first() {
            s.push_str(&format!(" (cannot run: {p})"));
        } else if !missed.is_empty() {
            s.push_str(&format!(" (missed: {})", missed.join(", ")));
        }
        if let Some(r) = &self.rungs {
            s.push_str(&format!("; rungs: {}", rungs_text(r)));
        }
        s
    }
}

fn rungs_text(r: &[&str]) -> String {
    if r.is_empty() {
        "none".into()
    } else {
        r.join(", ")
    }
}

/// The drill part's own problems (timer, texts, targets), for `lesson::check`.
pub fn problems(d: &Drill) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut err = |m: String| {
        out.push(Problem {
            severity: Severity::Error,
            node: None,
            place: "drill".into(),
            message: m,
        })
    };
    if !(TIMER_MIN_MINUTES..=TIMER_MAX_MINUTES).contains(&d.timer_minutes) {
        err(format!(
            "timer_minutes = {}: the whiteboard timer runs {TIMER_MIN_MINUTES} to \
             {TIMER_MAX_MINUTES} minutes",
            d.timer_minutes
        ));
    }
    if d.prompt.trim().is_empty() {
        err("a drill needs a prompt".into());
    }
    if d.checklist.is_empty() {
        err("a drill needs a checklist for Reveal".into());
    }
    if d.targets.is_empty() {
        err("a drill needs at least one target for Check".into());
    }
    let len_ok = |t: f64| t.is_finite() && t >= 0.0;
    if !(len_ok(d.seconds) && d.seconds > 0.0 && len_ok(d.warmup_s))
        || d.seconds + d.warmup_s > GRADE_S_MAX
    {
        err(format!(
            "seconds = {}, warmup_s = {}: a grading run is more than 0 and at most \
             {GRADE_S_MAX} simulated seconds",
            d.seconds, d.warmup_s
        ));
    }
    for t in &d.targets {
        let limits: Vec<f64> = match t {
            Target::Traffic {
                qps_at_least,
                read_share_at_least,
                read_share_at_most,
            } => [
                Some(*qps_at_least),
                *read_share_at_least,
                *read_share_at_most,
            ]
            .into_iter()
            .flatten()
            .collect(),
            Target::LatencyP99Ms { at_most }
            | Target::FailureShare { at_most }
            | Target::CpuUtilization { at_most, .. }
            | Target::ShardLoss { at_most }
            | Target::Spof { at_most } => vec![*at_most],
            Target::NotSaturated { .. } => vec![],
        };
        if limits.iter().any(|x| !x.is_finite() || *x < 0.0) {
            err(format!(
                "target {}: limits are finite and not negative",
                t.metric()
            ));
        }
    }
    let mut refuse = |_: Option<layout::NodeId>, place: String, message: String| {
        out.push(Problem {
            severity: Severity::Error,
            node: None,
            place,
            message,
        })
    };
    input::text_problems(
        "drill level",
        &d.level,
        input::NAME_CHARS_MAX,
        false,
        &mut refuse,
    );
    input::text_problems(
        "drill prompt",
        &d.prompt,
        input::DESCRIPTION_CHARS_MAX,
        true,
        &mut refuse,
    );
    for (i, c) in d.checklist.iter().enumerate() {
        input::text_problems(
            &format!("drill checklist {i}"),
            c,
            input::DESCRIPTION_CHARS_MAX,
            true,
            &mut refuse,
        );
    }
    out
}

/// A shipped drill: its short name (`warm-up`), file and lesson.
pub struct Shipped {
    pub name: &'static str,
    pub file: &'static str,
    pub lesson: Lesson,
}

/// The shipped drills, in order, that load and hold a drill part (a test makes sure all do).
pub fn shipped() -> Vec<Shipped> {
    shipped::DRILLS
        .iter()
        .filter_map(|(file, text)| {
            let lesson = lesson::from_ron(text).ok()?;
            lesson.drill.as_ref()?;
            Some(Shipped {
                name: short_name(file),
                file,
                lesson,
            })
        })
        .collect()
}

/// `drill-2-read-ladder.lesson.ron` -> `read-ladder`.
fn short_name(file: &str) -> &str {
    let stem = file.strip_suffix(lesson::LESSON_SUFFIX).unwrap_or(file);
    let stem = stem.strip_prefix("drill-").unwrap_or(stem);
    match stem.split_once('-') {
        Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => stem,
    }
}

/// The shipped drill called `name`: its number (`2`, as in `drill-2-…`), short name
/// (`read-ladder`) or file.
pub fn find(name: &str) -> Option<Shipped> {
    let name = name.strip_prefix("assets/").unwrap_or(name);
    let numbered = format!("drill-{name}-");
    shipped().into_iter().find(|d| {
        d.name == name
            || d.file == name
            || (name.chars().all(|c| c.is_ascii_digit()) && d.file.starts_with(&numbered))
    })
}

/// A shipped drill's number, from its file name (`drill-2-…` is 2).
pub fn number(file: &str) -> Option<u32> {
    file.strip_prefix("drill-")?.split('-').next()?.parse().ok()
}

/// Whether the drill asks for the single-point-of-failure search.
fn wants_spof(lesson: &Lesson) -> bool {
    lesson
        .drill
        .as_ref()
        .is_some_and(|d| d.targets.iter().any(|t| matches!(t, Target::Spof { .. })))
}

/// How many runs grading `answer` takes (for a progress bar): the measured run, and the
/// search's runs when the drill asks for it.
pub fn runs(lesson: &Lesson, answer: &Layout) -> u64 {
    let search = if wants_spof(lesson) {
        spof::runs(answer, &spof::Scope::Everything)
    } else {
        0
    };
    1 + search
}

/// Grade `answer` against `lesson`'s drill: run it headless (the drill's warm-up, then its
/// measured seconds) and check every target. A layout that cannot run fails with its
/// problems. Only a cancel stops it early.
pub fn grade(lesson: &Lesson, answer: &Layout, progress: &Progress) -> Result<Grade, Cancelled> {
    let mut g = Grade {
        file: None,
        drill: lesson.title.clone(),
        layout: answer.name.clone(),
        passed: false,
        problems: Vec::new(),
        checks: Vec::new(),
        rungs: None,
        shard_loss: None,
    };
    let Some(d) = &lesson.drill else {
        g.problems.push(format!("{} is no drill", lesson.title));
        return Ok(g);
    };
    let config = SimConfig {
        seed: None,
        warmup_s: d.warmup_s,
        trace: TraceConfig {
            every: 0,
            capacity: 0,
            ..TraceConfig::default()
        },
    };
    let mut sim = match Sim::new(answer, config) {
        Ok(s) => s,
        Err(problems) => {
            g.problems = problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .map(Problem::to_string)
                .collect();
            return Ok(g);
        }
    };
    study::run_until_s(&mut sim, d.warmup_s + d.seconds, progress)?;
    progress.add(1);
    let r = report::run_json(&sim, d.warmup_s);
    if let Some(why) = &r.stopped {
        g.problems.push(format!("the run stopped early: {why}"));
        return Ok(g);
    }
    let search = if wants_spof(lesson) {
        match spof::spof(
            answer,
            &spof::Scope::Everything,
            spof::Settle::Auto,
            progress,
        ) {
            Ok(s) => Some(s),
            Err(spof::SpofError::Cancelled) => return Err(Cancelled),
            Err(spof::SpofError::Layout(p)) => {
                g.problems = p.iter().map(Problem::to_string).collect();
                return Ok(g);
            }
            Err(spof::SpofError::Halted(why) | spof::SpofError::Invalid(why)) => {
                g.problems
                    .push(format!("the failure search stopped: {why}"));
                return Ok(g);
            }
        }
    } else {
        None
    };
    g.checks = d
        .targets
        .iter()
        .map(|t| match (t, &search) {
            (Target::Spof { at_most }, Some(s)) => check_spof(*at_most, s),
            _ => check(t, answer, &r),
        })
        .collect();
    if d.ladder {
        g.rungs = Some(rungs(answer, &r));
    }
    if let Some(c) = g.checks.iter().find(|c| c.metric == "shard_loss") {
        g.shard_loss = Some(c.detail.clone());
    }
    g.passed = g.checks.iter().all(|c| c.met);
    Ok(g)
}

/// One target against the report of the run.
fn check(t: &Target, answer: &Layout, r: &RunJson) -> CheckJson {
    let (met, value, detail) = match t {
        Target::Traffic {
            qps_at_least,
            read_share_at_least,
            read_share_at_most,
        } => {
            let (qps, reads) = offered(answer);
            let share = if qps > 0.0 { reads / qps } else { 0.0 };
            let mut met = qps >= *qps_at_least;
            met &= read_share_at_least.is_none_or(|x| share >= x);
            met &= read_share_at_most.is_none_or(|x| share <= x);
            let detail = format!(
                "the clients offer {qps:.0} requests/s, {:.1} % reads",
                100.0 * share
            );
            (met, Some(qps), detail)
        }
        Target::LatencyP99Ms { at_most } => {
            let p99 = r.latency_ms.p99;
            let met = r.requests.completed > 0 && p99 <= *at_most;
            let detail = if r.requests.completed == 0 {
                "no request completed".into()
            } else if met {
                format!("p99 {p99:.2} ms")
            } else {
                format!("p99 {p99:.2} ms; {}", bottleneck(r))
            };
            (met, Some(p99), detail)
        }
        Target::FailureShare { at_most } => failure_share(*at_most, r),
        Target::CpuUtilization { kind, at_most } => cpu_utilization(*kind, *at_most, r),
        Target::NotSaturated { kind } => {
            let sat: Vec<String> = r
                .nodes
                .iter()
                .filter(|n| n.kind == kind.file_name())
                .filter_map(|n| n.saturated.map(|s| format!("{} ({s})", n.name)))
                .collect();
            let detail = if sat.is_empty() {
                format!("no {} saturated", kind.file_name())
            } else {
                format!("saturated: {}", listed(&sat))
            };
            (sat.is_empty(), Some(sat.len() as f64), detail)
        }
        Target::Spof { .. } => (false, None, "the failure search did not run".into()),
        Target::ShardLoss { at_most } => shard_loss(*at_most, r),
    };
    CheckJson {
        target: t.describe(),
        metric: t.metric(),
        met,
        value,
        detail,
    }
}

/// The failure-share target: met or not, the share, and where requests failed.
fn failure_share(at_most: f64, r: &RunJson) -> (bool, Option<f64>, String) {
    let done = r.requests.completed + r.requests.failed;
    let share = if done == 0 {
        1.0
    } else {
        r.requests.failed as f64 / done as f64
    };
    let met = done > 0 && share <= at_most;
    let detail = if met {
        format!("{:.3} % of requests failed", 100.0 * share)
    } else {
        let reasons: Vec<String> = r.failures.iter().map(|(k, v)| format!("{k} {v}")).collect();
        // Where requests failed, not the clients that saw them fail.
        let mut failing: Vec<&report::NodeJson> = r
            .nodes
            .iter()
            .filter(|n| n.failed > 0 && n.kind != "client")
            .collect();
        failing.sort_by_key(|n| std::cmp::Reverse(n.failed));
        let names: Vec<String> = failing
            .iter()
            .take(3)
            .map(|n| format!("{} ({} failed)", n.name, n.failed))
            .collect();
        format!(
            "{:.3} % of requests failed ({}){}{}",
            100.0 * share,
            reasons.join(", "),
            if names.is_empty() { "" } else { " at " },
            names.join(", ")
        )
    };
    (met, Some(share), detail)
}

/// The CPU target: every instance of `kind` at most `at_most` busy, naming those over.
fn cpu_utilization(kind: KindTag, at_most: f64, r: &RunJson) -> (bool, Option<f64>, String) {
    let of_kind: Vec<&report::NodeJson> = r
        .nodes
        .iter()
        .filter(|n| n.kind == kind.file_name())
        .collect();
    let max = of_kind
        .iter()
        .map(|n| n.cpu_utilization)
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let over: Vec<String> = of_kind
        .iter()
        .filter(|n| n.cpu_utilization > at_most)
        .map(|n| format!("{} at {:.0} %", n.name, 100.0 * n.cpu_utilization))
        .collect();
    let detail = match (max, over.is_empty()) {
        (None, _) => format!("the answer has no {}", kind.file_name()),
        (Some(m), true) => format!("busiest {} at {:.0} %", kind.file_name(), 100.0 * m),
        (Some(_), false) => format!("over the limit: {}", listed(&over)),
    };
    (max.is_some() && over.is_empty(), max, detail)
}

/// The shard-loss target: the worst shard's share of requests that fail while it is down.
fn shard_loss(at_most: f64, r: &RunJson) -> (bool, Option<f64>, String) {
    let worst = r
        .shard_loss
        .iter()
        .max_by(|a, b| a.requests_share.total_cmp(&b.requests_share));
    match worst {
        Some(w) => (
            w.requests_share <= at_most,
            Some(w.requests_share),
            format!(
                "while {} is down, {:.1} % of keys and {:.1} % of requests fail \
                 (the worst of {} shards)",
                w.shard,
                100.0 * w.keys_share,
                100.0 * w.requests_share,
                r.shard_loss.len()
            ),
        ),
        None => (
            false,
            Some(1.0),
            "no shard router: while the one primary is down, every write fails".into(),
        ),
    }
}

/// The search's kills against the limit: the balancers (every node when there is none) whose
/// death fails more than `at_most` beyond the baseline, named.
fn check_spof(at_most: f64, s: &spof::SpofReport) -> CheckJson {
    let balancer = KindTag::LoadBalancer.file_name();
    let has_balancer = s.killed.iter().any(|k| k.kind == balancer);
    let excess = |k: &spof::SpofKill| k.failure_share - s.baseline_failure_share;
    let judged: Vec<&spof::SpofKill> = s
        .killed
        .iter()
        .filter(|k| !has_balancer || k.kind == balancer)
        .collect();
    let worst = judged.iter().map(|k| excess(k)).fold(0.0f64, f64::max);
    let single: Vec<String> = judged
        .iter()
        .filter(|k| excess(k) > at_most)
        .map(|k| {
            format!(
                "{}'s death fails {:.1} % of requests",
                k.name,
                100.0 * k.failure_share
            )
        })
        .collect();
    let target = Target::Spof { at_most };
    let detail = if !single.is_empty() {
        format!(
            "single point of failure: {}{}",
            listed(&single),
            if has_balancer {
                ""
            } else {
                " (the answer has no balancer)"
            }
        )
    } else if has_balancer {
        format!(
            "{} balancer(s) killed in turn: at most {:.2} % more failures after {:.1} s to \
             fail over",
            judged.len(),
            100.0 * worst,
            s.settle_s
        )
    } else {
        "the answer has no balancer, and no node's death fails requests".into()
    };
    CheckJson {
        target: target.describe(),
        metric: target.metric(),
        met: single.is_empty(),
        value: Some(worst),
        detail,
    }
}

/// The first few of a list and how many more.
fn listed(items: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// Requests per second the open-loop clients offer, and the reads among them.
fn offered(l: &Layout) -> (f64, f64) {
    l.nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Client(c) if c.mode == layout::LoopMode::Open => {
                Some((c.qps, c.qps * c.read_share))
            }
            _ => None,
        })
        .fold((0.0, 0.0), |(a, b), (q, r)| (a + q, b + r))
}

/// Where the time goes: the saturated instances, or else the busiest one.
fn bottleneck(r: &RunJson) -> String {
    let sat: Vec<String> = r
        .nodes
        .iter()
        .filter_map(|n| n.saturated.map(|s| format!("{} ({s})", n.name)))
        .collect();
    if !sat.is_empty() {
        return format!("saturated: {}", listed(&sat));
    }
    r.nodes
        .iter()
        .filter(|n| n.kind != "client")
        .max_by(|a, b| a.cpu_utilization.total_cmp(&b.cpu_utilization))
        .map_or_else(String::new, |n| {
            format!(
                "busiest: {} at {:.0} % CPU",
                n.name,
                100.0 * n.cpu_utilization
            )
        })
}

/// The rungs of the read-scaling ladder that served requests in the run.
fn rungs(l: &Layout, r: &RunJson) -> Vec<&'static str> {
    let mut out = Vec::new();
    if r.cache_hits + r.local_cache_hits > 0 {
        out.push("cache");
    }
    let replica_served = l.replication.iter().any(|link| {
        r.nodes
            .iter()
            .any(|n| n.node == link.replica.0 && n.served > 0)
    });
    if replica_served {
        out.push("replicas");
    }
    let shards_used = r
        .shard_loss
        .iter()
        .filter(|s| s.requests_share > 0.0)
        .count();
    if shards_used >= 2 {
        out.push("shards");
    }
    out
}
