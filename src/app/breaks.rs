//! What breaks first and the single points of failure in the window: each search runs as a
//! `Job` (progress bar and Cancel), its findings show in a bar above the canvas and as marks on
//! the nodes, and both are forgotten as soon as the layout they were made for changes.

use eframe::egui::{RichText, Ui};

use super::job::{Job, JobState};
use super::theme;
use crate::layout::{Layout, NodeId};
use crate::study::Cancelled;
use crate::study::spof::{self, Scope, Settle, SpofError, SpofReport};
use crate::study::stress::{self, StressError, StressReport};

/// A node marked on the canvas, with the words of its badge.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub node: NodeId,
    pub badge: String,
}

/// The two searches: running, or their findings for one layout.
#[derive(Default)]
pub struct Breaks {
    spof_job: Option<Job<Result<SpofReport, String>>>,
    stress_job: Option<Job<Result<StressReport, String>>>,
    spof: Option<SpofReport>,
    stress: Option<StressReport>,
    /// The layout the jobs run on and the findings are about.
    made_for: Option<Layout>,
    /// A search that ended without findings: cancelled, or why it failed.
    note: Option<String>,
}

impl Breaks {
    /// Start the single-point-of-failure search on `layout` (a running one is cancelled).
    pub fn start_spof(&mut self, layout: &Layout) {
        self.adopt(layout);
        let l = layout.clone();
        let runs = spof::runs(&l, &Scope::Everything);
        self.spof = None;
        self.spof_job =
            Some(Job::spawn(
                "Killing one thing at a time",
                runs,
                move |p| match spof::spof(&l, &Scope::Everything, Settle::Auto, p) {
                    Ok(r) => Ok(Ok(r)),
                    Err(SpofError::Cancelled) => Err(Cancelled),
                    Err(e) => Ok(Err(e.to_string())),
                },
            ));
    }

    /// Start the stress search on `layout` (a running one is cancelled).
    pub fn start_stress(&mut self, layout: &Layout) {
        self.adopt(layout);
        let l = layout.clone();
        self.stress = None;
        self.stress_job = Some(Job::spawn(
            "Raising the traffic",
            stress::RUNS_GUESS,
            move |p| match stress::stress(&l, p) {
                Ok(r) => Ok(Ok(r)),
                Err(StressError::Cancelled) => Err(Cancelled),
                Err(e) => Ok(Err(e.to_string())),
            },
        ));
    }

    /// Keep the other search's findings only if they are about this same layout.
    fn adopt(&mut self, layout: &Layout) {
        if !self
            .made_for
            .as_ref()
            .is_some_and(|m| same_system(m, layout))
        {
            self.forget();
        }
        self.made_for = Some(layout.clone());
        self.note = None;
    }

    /// Drop the findings and cancel the searches (dropping a job cancels it).
    pub fn forget(&mut self) {
        *self = Breaks::default();
    }

    /// Once a frame: take finished results, and forget everything once `layout` has changed
    /// from the one searched (moving a node is no change).
    pub fn poll(&mut self, layout: &Layout) {
        if let Some(m) = &self.made_for
            && !same_system(m, layout)
        {
            self.forget();
            return;
        }
        if let Some(job) = &mut self.spof_job {
            match job.poll() {
                JobState::Running => {}
                JobState::Finished(r) => {
                    match r {
                        Ok(r) => self.spof = Some(r),
                        Err(why) => self.note = Some(format!("No search: {why}")),
                    }
                    self.spof_job = None;
                }
                JobState::Cancelled => {
                    self.note = Some("The search for single points of failure stopped".into());
                    self.spof_job = None;
                }
                JobState::Failed(why) => {
                    self.note = Some(why);
                    self.spof_job = None;
                }
            }
        }
        if let Some(job) = &mut self.stress_job {
            match job.poll() {
                JobState::Running => {}
                JobState::Finished(r) => {
                    match r {
                        Ok(r) => self.stress = Some(r),
                        Err(why) => self.note = Some(format!("No search: {why}")),
                    }
                    self.stress_job = None;
                }
                JobState::Cancelled => {
                    self.note = Some("The stress search stopped".into());
                    self.stress_job = None;
                }
                JobState::Failed(why) => {
                    self.note = Some(why);
                    self.stress_job = None;
                }
            }
        }
    }

    /// Whether a search is running.
    pub fn is_running(&self) -> bool {
        self.spof_job.is_some() || self.stress_job.is_some()
    }

    /// Whether there is anything to show.
    pub fn is_shown(&self) -> bool {
        self.spof_job.is_some()
            || self.stress_job.is_some()
            || self.spof.is_some()
            || self.stress.is_some()
            || self.note.is_some()
    }

    /// The nodes to mark on the canvas: each single point of failure, and the node that
    /// saturated first.
    pub fn marks(&self) -> Vec<Mark> {
        let mut out = Vec::new();
        if let Some(r) = &self.spof {
            for k in r.single_points() {
                let badge = format!("SPOF: {:.0} % fail", k.failure_share * 100.0);
                match out.iter_mut().find(|m: &&mut Mark| m.node == k.target.node) {
                    // A pool with several members named: one badge for the node.
                    Some(m) => m.badge = "SPOF: each member".into(),
                    None => out.push(Mark {
                        node: k.target.node,
                        badge,
                    }),
                }
            }
        }
        if let Some(r) = &self.stress
            && let (Some(s), Some(b)) = (&r.saturated, &r.broke)
        {
            out.push(Mark {
                node: s.node,
                badge: format!("breaks first: {} at {:.0} QPS", s.resource, b.qps),
            });
        }
        out
    }

    /// The bar above the canvas: running searches with their progress and Cancel, then the
    /// findings in words, and Clear.
    pub fn ui(&mut self, ui: &mut Ui) {
        if let Some(job) = &self.spof_job {
            job.ui(ui);
        }
        if let Some(job) = &self.stress_job {
            job.ui(ui);
        }
        if let Some(r) = &self.spof {
            let names: Vec<String> = r
                .single_points()
                .map(|k| format!("{} ({:.0} % fail)", k.name, k.failure_share * 100.0))
                .collect();
            let text = if names.is_empty() {
                format!(
                    "No single point of failure: no death fails more than {:.0} % of requests {:.1} s after it",
                    r.threshold * 100.0,
                    r.settle_s
                )
            } else {
                format!(
                    "Single points of failure: {} ({:.1} s after the death)",
                    names.join(", "),
                    r.settle_s
                )
            };
            ui.label(RichText::new(text).color(if names.is_empty() {
                ui.visuals().text_color()
            } else {
                theme::BREAK
            }))
            .on_hover_text(format!(
                "Each balancer, server, cache, store, router and database was killed in a run of its own at {} s; failures counted over {} s from the settle time (health checks + failover + promotion + {} s)",
                r.kill_at_s,
                r.measure_s,
                spof::MARGIN_S
            ));
        }
        if let Some(r) = &self.stress {
            let held = r
                .held
                .as_ref()
                .map_or("nothing held".into(), |s| format!("held {:.0} QPS", s.qps));
            let broke = r.broke.as_ref().map_or("did not break".into(), |s| {
                format!("broke at {:.0} QPS", s.qps)
            });
            let node = r.saturated.as_ref().map_or(String::new(), |s| {
                format!("; saturated first: {} ({})", s.name, s.resource)
            });
            ui.label(
                RichText::new(format!("What breaks first: {held}, {broke}{node}"))
                    .color(theme::BREAK),
            )
            .on_hover_text(format!("Goals: {}", r.goals.join(", ")));
        }
        if let Some(n) = &self.note {
            ui.label(n);
        }
        let idle = self.spof_job.is_none() && self.stress_job.is_none();
        if idle && ui.button("Clear findings").clicked() {
            self.forget();
        }
    }
}

/// Two layouts describe the same system: everything but where the nodes are drawn.
fn same_system(a: &Layout, b: &Layout) -> bool {
    a.seed == b.seed
        && a.tick_ms == b.tick_ms
        && a.wires == b.wires
        && a.goals == b.goals
        && a.replication == b.replication
        && a.nodes.len() == b.nodes.len()
        && a.nodes
            .iter()
            .zip(&b.nodes)
            .all(|(x, y)| x.id == y.id && x.name == y.name && x.kind == y.kind)
}
