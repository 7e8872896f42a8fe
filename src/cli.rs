//! The command line: `run`, `check`, `bench`, `params`, and the studies `compare`, `sweep`,
//! `plan`, `spof`, `stress` and `rewind` (each in `cli/<study>.rs`). Reads files and prints;
//! errors are handled once here and turned into messages and exit codes.

mod breaks;
mod compare;
mod plan;
mod sweep;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::drill::{self, Grade};
use crate::layout::{self, Layout, Severity};
use crate::lesson::{self, Lesson};
use crate::report::{self, RunConfig};
use crate::study::Progress;
use crate::{read, shipped};

mod rewind;
mod traces;

/// Tierlab: a sandbox for learning how web systems scale.
#[derive(Debug, Parser)]
#[command(name = "tierlab", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Simulate a layout headless and print a summary (or JSON).
    Run {
        /// The layout file (RON), a lesson file (`*.lesson.ron`: its layout with its timed
        /// steps), or the name of a shipped layout or lesson such as `mm4.ron`.
        file: String,
        /// Measured simulated seconds, after the warm-up.
        #[arg(long, default_value_t = 60.0, allow_negative_numbers = true)]
        seconds: f64,
        /// Seed of the random generator (default: the layout's).
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated seconds run first and not counted.
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        warmup: f64,
        /// Run R seeds in parallel and report 95 % confidence intervals.
        #[arg(long)]
        replications: Option<usize>,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write the run's slowest requests' traces and the sampled rest to this file,
        /// one JSON object a line (the run is replayed with the slowest traced).
        #[arg(long, value_name = "FILE.jsonl")]
        traces: Option<std::path::PathBuf>,
    },
    /// List every problem of a layout: errors (it cannot run) and warnings.
    Check {
        /// The layout file (RON), a lesson file (`*.lesson.ron`, its lesson part checked
        /// too), or the name of a shipped layout or lesson.
        file: String,
    },
    /// Measure simulated requests per wall-clock second on layouts (median of repeats).
    Bench {
        /// Layout files; default: the shipped mm4.ron and three-tier.ron.
        files: Vec<String>,
        /// Simulated seconds per repeat.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Repeats; the median is reported.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
    /// Run two layouts on the same seeds (A/B twins) and compare their figures with a paired
    /// 95 % interval over the seeds.
    Compare(compare::CompareArgs),
    /// Grade a layout against a design drill (its targets, run headless); a folder is graded
    /// file by file, one line each, for a teacher. Exit 0 when every answer passes, 1 when one
    /// does not.
    Drill {
        /// The drill: its number (1 to 4), short name (`read-ladder`), or a drill lesson file.
        name: String,
        /// The answer: a layout file, or a folder of layout files (`*.ron`).
        file: String,
        /// Print JSON instead of text (a folder: one object per line).
        #[arg(long)]
        json: bool,
    },
    /// Find the single points of failure: kill each balancer, server (each pool member),
    /// cache, store, router and database in a run of its own and list those whose death
    /// still fails requests after the layout has had time to fail over.
    Spof {
        /// The layout file (RON) or the name of a shipped layout.
        file: String,
        /// Seconds after the kill before failures count (default: from the layout's health
        /// checks, failover and promotion delays, plus 2 s).
        #[arg(long, allow_negative_numbers = true)]
        settle: Option<f64>,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Find the highest traffic the layout serves within its goals (every client's rate
    /// scaled, bisected over steady-state runs) and the node that saturated first.
    Stress {
        /// The layout file (RON) or the name of a shipped layout.
        file: String,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Print the parameter table (Markdown) that README.md and the inspector use.
    Params,
    /// Run a grid of variants (capacity sweep) in parallel on the same seed: p99, failures
    /// and cost per point, and the knee of each curve.
    Sweep(sweep::SweepArgs),
    /// Capacity planner: how many servers an app-server pool needs for p99 under a target at
    /// a rate, from queueing theory, confirmed by a run (exit 1 when the run misses).
    Plan(plan::PlanArgs),
    /// Measure the window's frame cost (simulation, UI, tessellation) headless, on a layout
    /// running at real time with dots and plots on; the main binary runs it, as the library's
    /// command line does not use the window.
    BenchFrame {
        /// Layout file or shipped name; default: request-flow.ron.
        #[arg(default_value = "request-flow.ron")]
        file: String,
        /// Set every client's open-loop rate to this many requests per second (split evenly).
        #[arg(long)]
        qps: Option<f64>,
        /// Use a generated layout of 200 nodes instead of the file.
        #[arg(long)]
        two_hundred_nodes: bool,
        /// Simulated seconds run before measuring (series to plot).
        #[arg(long, default_value_t = 30.0)]
        warmup: f64,
        /// Frames measured.
        #[arg(long, default_value_t = 300)]
        frames: usize,
        /// Write the layout it would measure (with `--qps` applied) to this RON file instead,
        /// to run it headless with `tierlab run`.
        #[arg(long, value_name = "OUT")]
        write_layout: Option<std::path::PathBuf>,
    },
    /// Run a layout keeping rewind snapshots as the window does, and report what they cost:
    /// snapshots held, their spacing, their estimated bytes and the process's peak memory.
    Rewind {
        /// Layout file or shipped name.
        file: String,
        /// Simulated seconds to run.
        #[arg(long, default_value_t = 300.0)]
        seconds: f64,
        /// Memory budget of the snapshots, MiB (0: take none, for the baseline peak memory).
        #[arg(long, default_value_t = crate::study::rewind::BUDGET_BYTES >> 20)]
        budget_mib: u64,
    },
}

/// Parse arguments and run; the exit code says whether it worked.
pub fn main_with(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => {
            let layout = load("request-flow.ron")?;
            let sim = report::run(&layout, &RunConfig::default()).map_err(problems_error)?;
            print!("{}", report::summary_text(&report::run_json(&sim, 0.0)));
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Run {
            file,
            seconds,
            seed,
            warmup,
            replications,
            json,
            traces,
        }) => {
            if traces.is_some() && replications.is_some() {
                anyhow::bail!("--traces writes the traces of one run: leave out --replications");
            }
            run_cmd(&file, seconds, seed, warmup, replications, json, traces)
        }
        Some(Cmd::Check { file }) => check_cmd(&file),
        Some(Cmd::Bench {
            files,
            seconds,
            repeat,
        }) => bench_cmd(files, seconds, repeat),
        Some(Cmd::Compare(args)) => compare::compare_cmd(&args),
        Some(Cmd::Sweep(args)) => sweep::sweep_cmd(&args),
        Some(Cmd::Plan(args)) => plan::plan_cmd(&args),
        Some(Cmd::Drill { name, file, json }) => drill_cmd(&name, &file, json),
        Some(Cmd::Spof { file, settle, json }) => breaks::spof_cmd(&file, settle, json),
        Some(Cmd::Stress { file, json }) => breaks::stress_cmd(&file, json),
        Some(Cmd::Params) => {
            print!("{}", layout::params::markdown_table());
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Rewind {
            file,
            seconds,
            budget_mib,
        }) => rewind::rewind_cmd(&file, seconds, budget_mib),
        Some(Cmd::BenchFrame { .. }) => {
            anyhow::bail!("bench-frame needs the window code: run it through the tierlab binary")
        }
    }
}

/// `tierlab run`: one run, or replications, as text or JSON.
fn run_cmd(
    file: &str,
    seconds: f64,
    seed: Option<u64>,
    warmup: f64,
    replications: Option<usize>,
    json: bool,
    traces: Option<std::path::PathBuf>,
) -> Result<ExitCode> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 1e6) {
        anyhow::bail!("--seconds must be more than 0 and at most 1000000, not {seconds}");
    }
    if !(warmup.is_finite() && (0.0..=1e6).contains(&warmup)) {
        anyhow::bail!("--warmup must be from 0 to 1000000, not {warmup}");
    }
    let layout = load(file)?;
    // Less than one tick would measure nothing: the report would divide by zero time.
    if seconds * 1e3 < layout.tick_ms {
        anyhow::bail!(
            "--seconds must be at least one tick ({} ms in this layout), not {seconds}",
            layout.tick_ms
        );
    }
    let config = RunConfig {
        seconds,
        warmup_s: warmup,
        seed,
        ..Default::default()
    };
    report::check_run_length(&layout, &config).map_err(anyhow::Error::msg)?;
    match replications {
        Some(r) => {
            if !(1..=1000).contains(&r) {
                anyhow::bail!("--replications must be from 1 to 1000, not {r}");
            }
            let seeds = report::replication_seeds(seed.unwrap_or(layout.seed), r);
            let rep = report::replications(&layout, &config, &seeds).map_err(problems_error)?;
            // A run that stopped at a limit is no result: say why, exit 2.
            if let Some((seed, why)) = rep
                .runs
                .iter()
                .find_map(|r| r.stopped.as_ref().map(|w| (r.seed, w)))
            {
                anyhow::bail!("seed {seed}: {why}");
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&rep)?);
            } else {
                print!("{}", report::replications_text(&rep));
            }
        }
        None => {
            let sim = report::run(&layout, &config).map_err(problems_error)?;
            if let Some(halt) = sim.halted() {
                anyhow::bail!("{halt}");
            }
            let r = report::run_json(&sim, warmup);
            if let Some(path) = traces {
                traces::write(&path, &layout, &config, &sim)?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", report::summary_text(&r));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tierlab drill`: grade one answer (every target) or a folder (one line per file).
fn drill_cmd(name: &str, file: &str, json: bool) -> Result<ExitCode> {
    let lesson = load_drill(name)?;
    let path = Path::new(file);
    let grade_one = |answer: &str| -> Result<Grade> {
        let layout = load(answer)?;
        let progress = Progress::new(drill::runs(&lesson, &layout));
        let label = format!("grading {answer}");
        let g = with_progress(&label, &progress, |p| drill::grade(&lesson, &layout, p))?;
        Ok(g.with_file(answer))
    };
    if !path.is_dir() {
        let g = grade_one(file)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&g)?);
        } else {
            print!("{}", g.text());
        }
        return Ok(if g.passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{file}: no layout file (*.ron) in this folder");
    }
    let mut all_passed = true;
    for f in &files {
        let shown = f.display().to_string();
        match grade_one(&shown) {
            Ok(g) => {
                all_passed &= g.passed;
                if json {
                    println!("{}", serde_json::to_string(&g)?);
                } else {
                    println!("{}", g.line(&shown));
                }
            }
            Err(e) => {
                all_passed = false;
                let why = format!("{e:#}");
                if json {
                    let v = serde_json::json!({ "file": shown, "passed": false, "error": why });
                    println!("{v}");
                } else {
                    println!("{shown}: cannot grade: {}", why.replace('\n', " "));
                }
            }
        }
    }
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A drill by its number or short name among the shipped ones, or a drill lesson file.
pub fn load_drill(name: &str) -> Result<Lesson> {
    if let Some(d) = drill::find(name) {
        return Ok(d.lesson);
    }
    let known = || {
        drill::shipped()
            .iter()
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(l) = load_lesson(name).ok().flatten() else {
        anyhow::bail!("{name}: no such drill (shipped drills: {})", known());
    };
    let problems = lesson::check(&l);
    if problems.iter().any(|p| p.severity == Severity::Error) {
        return Err(problems_error(problems));
    }
    if l.drill.is_none() {
        anyhow::bail!("{name}: this lesson has no drill part");
    }
    Ok(l)
}

/// `tierlab check`: every problem, then the count; exit 1 on an error.
fn check_cmd(file: &str) -> Result<ExitCode> {
    let problems = match load_lesson(file)? {
        Some(l) => lesson::check(&l),
        None => layout::check(&load(file)?),
    };
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    for p in &problems {
        println!("{p}");
    }
    println!(
        "{file}: {errors} error(s), {} warning(s)",
        problems.len() - errors
    );
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `tierlab bench`: simulated requests per wall-clock second of each file.
fn bench_cmd(files: Vec<String>, seconds: f64, repeat: usize) -> Result<ExitCode> {
    let files = if files.is_empty() {
        vec!["mm4.ron".to_string(), "three-tier.ron".to_string()]
    } else {
        files
    };
    for f in files {
        let layout = load(&f)?;
        let r = bench(&layout, seconds, repeat.max(1)).map_err(problems_error)?;
        println!(
            "{f}: {:.2} million simulated requests per second (median of {}; min {:.2}, max {:.2}; {} requests per repeat)",
            r.median / 1e6,
            repeat.max(1),
            r.min / 1e6,
            r.max / 1e6,
            r.requests
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Benchmark figures: simulated client requests per wall-clock second.
#[derive(Clone, Copy, Debug)]
pub struct BenchResult {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub requests: u64,
}

/// Run `layout` for `seconds` of simulated time `repeat` times through the same path as
/// `tierlab run` (Sim::new, series and traces on, metrics at the end) and time it.
pub fn bench(
    layout: &Layout,
    seconds: f64,
    repeat: usize,
) -> Result<BenchResult, Vec<layout::Problem>> {
    let mut rates = Vec::new();
    let mut requests = 0;
    for _ in 0..repeat {
        let start = Instant::now();
        let sim = report::run(
            layout,
            &RunConfig {
                seconds,
                ..Default::default()
            },
        )?;
        let r = report::run_json(&sim, 0.0);
        let wall = start.elapsed().as_secs_f64();
        requests = r.requests.arrived;
        rates.push(requests as f64 / wall);
    }
    rates.sort_by(f64::total_cmp);
    Ok(BenchResult {
        median: rates[rates.len() / 2],
        min: rates[0],
        max: rates[rates.len() - 1],
        requests,
    })
}

/// A lesson, when `file` names one (`*.lesson.ron`): from a path through
/// [`read::load_lesson`], or from the shipped lessons by file name.
pub fn load_lesson(file: &str) -> Result<Option<Lesson>> {
    if !lesson::is_lesson_name(file) {
        return Ok(None);
    }
    let path = Path::new(file);
    if path.exists() {
        return read::load_lesson(path)
            .map(Some)
            .map_err(anyhow::Error::msg);
    }
    let Some(text) = shipped::find_lesson(file) else {
        anyhow::bail!(
            "{file}: no such file (shipped lessons: {})",
            shipped::LESSONS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    lesson::from_ron(text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{file}:{e}"))
}

/// Read a layout from a path (through [`read::load`]: regular files up to the size limit), or
/// from the shipped layouts by file name. A lesson file gives its layout with its timed steps
/// in the script (refused when its lesson part has an error).
pub fn load(file: &str) -> Result<Layout> {
    if let Some(l) = load_lesson(file)? {
        let problems = lesson::check(&l);
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return Err(problems_error(problems));
        }
        return l.layout().map_err(anyhow::Error::msg);
    }
    let path = Path::new(file);
    if path.exists() {
        return read::load(path).map_err(anyhow::Error::msg);
    }
    let Some(text) = shipped::find(file) else {
        anyhow::bail!(
            "{file}: no such file (shipped layouts: {})",
            shipped::names().collect::<Vec<_>>().join(", ")
        );
    };
    layout::from_ron(text).map_err(|e| match e {
        // `file:line:column: message`, the form editors jump to.
        layout::LoadError::Syntax { .. } => anyhow::anyhow!("{file}:{e}"),
        _ => anyhow::anyhow!("{file}: {e}"),
    })
}

/// Run a study on a thread of its own while the terminal shows its progress (indicatif; hidden
/// when stderr is not a terminal), and return its result.
pub fn with_progress<R: Send>(
    label: &str,
    progress: &Progress,
    work: impl FnOnce(&Progress) -> R + Send,
) -> R {
    let bar = ProgressBar::new(progress.total().max(1)).with_message(label.to_string());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} runs, {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let result = std::thread::scope(|s| {
        let job = s.spawn(|| work(progress));
        while !job.is_finished() {
            bar.set_length(progress.total().max(1));
            bar.set_position(progress.done());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        job.join()
    });
    bar.finish_and_clear();
    match result {
        Ok(r) => r,
        // The study panicked: a bug, not bad input; let it surface as one.
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn problems_error(problems: Vec<layout::Problem>) -> anyhow::Error {
    let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    anyhow::anyhow!("the layout cannot run:\n{}", lines.join("\n"))
}
