//! Tierlab: a sandbox for learning and exploring how web systems scale.
//!
//! # Codemap
//!
//! - [`layout`]: the saved file. Serde types only: nodes, wires, replication links, seed, tick
//!   length, goals and scripted [`layout::Command`]s (`mod.rs`; the node kinds and their
//!   parameters in `node.rs`, the commands in `command.rs`); RON text in and out (`file.rs`);
//!   `check.rs` lists every problem at once, one function per concern (ids and names, each
//!   kind, wires, replication, loops, goals, script, limits, warnings), and holds the one
//!   may-call table; `params.rs` is the one table of everything a user can set (node
//!   parameters, wires, replication links, autoscaling, command arguments, enum options; unit,
//!   default, range, labels, help) that drives `check`, command validation, the docs and the
//!   inspector; `limiter.rs` the rate limiter's parameters and its own check; `size.rs` the
//!   priced instance ladder; `limits.rs` what a layout may cost, from
//!   the file alone (worst-case calls per request, estimated peak memory); `cdn.rs` what
//!   `check` asks of a CDN edge (an origin to send to, clients that send cacheable reads); `mq.rs`
//!   what `check` warns about a message queue (no consumers, no writers).
//! - [`sim`]: the pure core. A deterministic discrete-event engine advanced in ticks:
//!   `Sim::new(&layout, config)`, `tick()`, `apply(command)`, `metrics()`, `series()`,
//!   `traces()` (`mod.rs`, which also builds the instances and their routes from the wires).
//!   One instance ("unit", `unit.rs`) per client, entry, balancer, server, cache, store, router
//!   and database, and per pool or cluster member, each with its own random stream (`rng.rs`).
//!   `ix.rs` holds the typed indices into the core's tables (`UnitIx`, `CallIx`, `ReqIx`,
//!   `PolicyIx`; `Option` of one is four bytes). A request moves through one file per stage:
//!   `traffic.rs` clients issue requests (open and closed loop, ramps) and take their answers;
//!   `calls.rs` the call lifecycle (request and call slots, a call crossing its wire, the reply
//!   travelling back, trace hops); `serve.rs` a callee's queue, workers and cores; `forward.rs` how a
//!   balancer, an entry or an app server picks its next call; `retry.rs` timeouts, retries with
//!   backoff and the retry budgets; `relay.rs` a call to a balancer as one event for its wire
//!   and the balancer's latency, split back into two steps before a kill, removal or change
//!   of the balancer; `health.rs` balancers' probes and entries' checks. `lb.rs`
//!   is a balancer's state (groups built from its wires, in-flight, health, L4 connections)
//!   and `balance/` its algorithms, one file each; `entry.rs` the floating IP and DNS;
//!   `data.rs` the data tier (cache-aside, replication, promotion, shard routing);
//!   `limiter.rs` the rate limiter (a token bucket per client, user or for everyone, in exact
//!   integer pico-tokens on simulated time; a refused call fails at once with `rate_limited`);
//!   `jobs.rs` a server's own work (a replica applying a write, a cache fill or
//!   invalidation), which takes its queue, a worker and a core like a call;
//!   `autoscale.rs` pool autoscaling; `cdn.rs` a CDN edge in front of the entry tier (a
//!   cacheable read it holds is answered there, a miss is filled from the origin's answer,
//!   writes and uncacheable reads pass through; its counters and `cdn_metrics`);
//!   `cache.rs` and `ring.rs` the eviction and placement
//!   structures; `dist.rs` the portable exponential, log-normal and Zipf draws (tables
//!   built with the `libm` crate: ziggurats for exponentials and normals, alias tables for Zipf laws of
//!   up to 16,384 values); `mq.rs` message queues: a write is appended to the backlog and
//!   acknowledged at once, and a consumer's free worker pulls the oldest message, which is
//!   then a request of its own (its "client" is the queue) served like any call and counted
//!   in the queue's figures, not the clients'. The consumers are the app servers a queue is
//!   wired to, not a kind of their own: a consumer is a pool of workers with a service time
//!   that calls downstream, which is exactly an app server, so it keeps the app server's
//!   parameters, sizing, autoscaling, inspector and drawing, and what makes it a consumer is
//!   the wire from the queue (a learner draws "queue -> workers" as they would on a
//!   whiteboard). `sizing.rs` a box's cores and their USL slowdown; `command.rs` applies commands and keeps
//!   the log; `queue.rs` the event calendar (a heap beyond 268 ms); `request.rs` failure reasons and outcomes; `series.rs`,
//!   `footprint.rs` what a copy of the core costs in bytes (rewind's budget);
//!   `trace.rs` (hops, and typed decision records written where the core decides),
//!   `slowest.rs` (the ids of the slowest requests, over the run and per sample) and
//!   `metrics.rs` what is measured (`metrics()` reads the counters without
//!   changing or cloning an instance); `window.rs` the last 5 s for the window's summary (a
//!   ring of per-sample sparse tallies of latency buckets and their running sum); `hist.rs`
//!   the latency counts behind them (hdrhistogram's buckets, recorded, moved, taken back and
//!   read only where in use); `events.rs` the one event
//!   stream (kills, health verdicts, failovers, promotions, flushes, scale-outs); `limits.rs`
//!   what a tick, a request, a trace and a run may cost, and the typed `Halt` a run stops
//!   with when it crosses a limit; `hash.rs` the named fixed hashes. Public: `Sim` and what it returns, `events`, `hash`, `limits`,
//!   `metrics`, `series`, `sizing`, `slowest`, `trace` and `window`; every other module is private to the
//!   crate.
//! - [`report`]: metrics to the JSON report, the summary table, goals, and replications with
//!   confidence intervals (rayon). The serialisable types live here, not in the core.
//!   `report/cdn.rs`: the CDN edges' rows (omitted without an edge).
//! - [`study`]: understand and compare, studies made of many runs of the core (A/B twins,
//!   sweeps, the stress and single-point-of-failure searches). Each takes a `Progress` that it
//!   counts its runs on and that the caller can cancel; parallel runs go through `par_map`
//!   (rayon). The window runs studies on a thread of their own (`app/job.rs`), the command
//!   line with a progress bar on the terminal (indicatif). `compare.rs`: A/B twins on the same
//!   seeds, per-seed differences and a paired interval per headline figure. `sweep.rs`: capacity sweeps, a grid
//!   of variants through the parameter table, p99/failures/cost per point and each curve's knee;
//!   `theory.rs` Erlang C, Allen-Cunneen and a node's figures beside them; `plan.rs` the
//!   capacity planner (servers for a p99 at a rate from M/M/c, confirmed by a run).
//!   `spof.rs` kills one thing at a time and lists the single points of failure; `stress.rs`
//!   bisects the clients' rate to the highest within the goals and names what saturated.
//!   `rewind.rs` keeps snapshots of a run within a byte budget (`sim/footprint.rs` estimates a
//!   copy) and seeks by replay. `waterfall.rs`: a traced request as rows of bars per call, the
//!   replay that traces a run's slowest requests, and the JSON lines of `run --traces`.
//! - [`cli`]: `tierlab run | check | bench | params` and the studies `compare | sweep | plan |
//!   spof | stress | rewind` (each in `cli/<study>.rs`); the definition of `bench-frame`, which
//!   `main.rs` runs with the window's code; reads files; `anyhow` at this edge only.
//! - [`read`]: reading a layout file from disk (regular files only, at most 64 MB), the one
//!   function `cli` and `app` share.
//! - [`shipped`]: the layouts of `saves/` and the lessons of `assets/`, embedded in the binary.
//! - [`lesson`]: lesson files (`*.lesson.ron`): a shipped layout's name or an inline layout,
//!   a caption, timed `apply` steps (any `Command`, put into the layout's script so the core
//!   applies them), pause points and predict-then-reveal checkpoints; parsed through
//!   `layout::file::parse_ron` and checked under `layout::input`'s limits; `measure` reads a
//!   checkpoint's answer from a running `Sim`.
//! - [`drill`]: design drills, lesson files with a `drill` part (prompt, whiteboard timer,
//!   checklist, targets named by the report's figures), and the grader: it runs an answer
//!   headless (and `study::spof` for a drill that asks) and names what missed and where;
//!   `tierlab drill` runs it for a teacher's folder, `app/drill.rs` from the drill's panel.
//! - [`app`]: the window (eframe + egui). `mod.rs` holds `TierlabApp` and lays out the frame;
//!   `TierlabApp::ui(&mut Ui)` is what eframe and the kittest UI tests both drive.
//!   `document.rs` is the open layout (source, saved state, undo history, open and save);
//!   `actions.rs` the one table of app actions (label, shortcuts, how each runs) that the
//!   menus and the keyboard both read; `apply.rs` the one place `Edit`s land (with undo);
//!   `status.rs` the status line as a `Status` (message, level, until when); `config.rs`
//!   every `TIERLAB_*` variable (`Config::from_env`); `dialogs.rs` confirm-discard, the load
//!   error, restore-after-a-crash, changed-on-disk and the in-window file browser; `hooks.rs`
//!   the title, PNG export and scripted-run hooks; `files.rs` reading and atomic writing;
//!   `recovery.rs` the autosave to a recovery file, its offer at launch, and the file's state
//!   on disk that Save compares before writing over it. `palette.rs`, `inspector.rs` and
//!   `canvas.rs` (pan/zoom, wires, nodes, wire drag, box select, palette drop: a function
//!   each; `wire_mesh.rs` and `node_mesh.rs` keep the wires and each node's body tessellated
//!   until what they depend on changes) return `Edit`s: the core's `Command`s (faults from a node's menu among them, as
//!   run-only commands), plus moves and renames. `apply.rs` stores each edit with its
//!   inverse for undo; `inspector.rs` draws every widget from the parameter table, which
//!   holds everything settable. `paint.rs` is how nodes and wires look (`edge.rs`: a CDN
//!   edge's own live drawing and summary figures; `limiter.rs` a running rate limiter's
//!   bucket and rates); `geometry.rs` is pure
//!   and unit-tested; `bench.rs` is the frame benchmark that `main.rs` runs for `bench-frame`.
//!   The run panel (`run_panel.rs`, `run.rs`, `live.rs`, `plots.rs`) owns a `Sim` built from
//!   the layout: each frame turns wall-clock time × speed into ticks within a time budget; an
//!   edit's commands are forwarded to the running core as it is made (undo forwards the
//!   inverse), with no diffing of layouts; dots are the core's sampled traces; `live.rs`
//!   refills last frame's view rather than allocating one; plots read `series()` (egui_plot,
//!   with `plot_axis.rs` formatting only the time labels it draws). `rewind.rs` is the timeline under the plots: seek, branch on
//!   an edit, and the original beside the branch (dashed on the plots). `lesson.rs` is the scenario gallery (cards with a miniature of
//!   each layout) and the open lesson: it stops the run at the lesson's pause and checkpoint
//!   times through the run's stop time, and draws the caption and the checkpoints; presentation
//!   mode (`presentation_ui` in `mod.rs`) keeps the canvas, the numbers, one plot and the caption.
//!   `breaks.rs` runs the stress and single-point-of-failure searches as jobs (Study menu) and
//!   marks what they find on the canvas until the layout changes.
//!   `drill.rs` is the open design drill's panel (timer, Reveal, Try it, Check as a `Job`)
//!   and the drills done, kept behind the `DrillStore` trait (a file; memory in tests).
//!   The request stepper (`stepper.rs`) sends one request with the
//!   core's `send_request` command and walks its trace; `narrate.rs` is the one place the
//!   trace's typed decision records (`sim::trace::What`) become words.
//!   `compare.rs` is the A/B split view (Study > Compare…): two layouts, each with its own run
//!   and canvas, advanced to the same instant on one seed, plots overlaid, the diff table and
//!   the replications as a `job::Job`; it takes any two layouts, so a branch can reuse it.
//!   `sweep.rs` and
//!   `plan.rs` are the capacity sweep and planner windows (each study a `Job`); `theory.rs`
//!   the inspector's theory-beside-the-run section. `waterfall.rs` is the request
//!   waterfall window (a clicked dot, the slowest requests, a latency sample's slowest).
//!   `animate.rs` is File > Export animation…: it steps the run 1/fps simulated seconds per
//!   frame, takes each frame with the screenshot command Export PNG uses, and encodes a GIF
//!   on a thread of its own (only what changed since the last frame; exact palettes, else
//!   NeuQuant), written atomically; its frame times, delays, sizes and palette choice are pure.
//!   `mq.rs` draws a running message queue: its backlog bar, lag and rates on the canvas and
//!   a line per queue in the summary.
//!
//! Data flow: `saves/x.ron` -> `layout::from_ron` -> `Layout` -> `layout::check` -> `Sim::new`
//! -> loop { `apply(command)`; `tick()` } -> `metrics()` -> `report` (CLI) or the window.
//!
//! # Architecture invariants
//!
//! - `sim` imports no GUI crate, does no file or network I/O, never reads the wall clock,
//!   starts no thread and prints nothing. Time moves only when the caller calls `tick()`; the
//!   window turns wall-clock time into a number of ticks, the core only counts them.
//!   `tests/it/tidy.rs` greps `src/sim/` for violations.
//! - Nothing in `sim` iterates in hash order: instances live in a `Vec` indexed by a stable
//!   slot, lookups use `BTreeMap`, events are ordered by (time, sequence number).
//! - Randomness comes from one generator named by its algorithm, PCG-64 MCG
//!   (`rand_pcg::Pcg64Mcg`), one stream per instance derived from the seed and the instance's
//!   id with SplitMix64 (`sim/hash.rs`, a named fixed hash). `rand`'s `thread_rng` and `StdRng`
//!   are not even compiled in. Transcendental maths (exp, log, ...) is the `libm` crate's,
//!   never the platform's, so a layout replays the same on every machine
//!   (`tests/it/tidy.rs` checks).
//! - Same layout + seed + command log = bit-identical results, stepped one tick at a time or
//!   many at once; traces are sampled by request id, so turning them on changes no result.
//! - Conservation after every tick: arrived = completed + failed + in flight
//!   (a `debug_assert` in `Sim::tick`, and a test).
//! - Memory is bounded: series are fixed-size rings, traces a bounded deque of bounded traces;
//!   queues have capacities; `check` refuses a layout whose estimated peak memory is over the
//!   2 GB budget; structures a file sizes are shared (one ring per cache cluster) or reserved
//!   with `try_reserve`; stale events are compacted out of the event queue.
//! - A run always advances and stays bounded: a closed-loop user waits at least 1 µs between
//!   requests, so no loop runs at one instant; one tick handles at most a fixed number of
//!   events, one request causes at most a fixed number of calls, and a run has at most a fixed
//!   number of ticks and events. Crossing a limit stops the run with a typed `sim::Halt`
//!   (`tick()` then does nothing), never a hang or an abort (`sim/limits.rs`, README "Limits").
//! - `layout` knows nothing of `sim`, files or the GUI; `sim` state has no serde derives; the
//!   only serialisable output types are in `report` and `study`.
//! - Ids are stable and never reused: `Layout::allocate_id`; a pool member is (node id, index).
//!
//! Who may use whom: `layout` -> std, serde, ron. `sim` -> `layout`, rand, rand_pcg, libm
//! (`rand_distr` in its tests only: its maths is the platform's, see `dist.rs`; hdrhistogram
//! in its tests only, as the reference for `hist.rs`).
//! `report` -> `sim`, `layout`, serde, rayon. `study` -> `report`, `sim`, `layout`, rayon,
//! serde, csv. `lesson` -> `layout`, `sim`, `shipped`, serde. `drill` -> `lesson`, `report`,
//! `study`, `sim`, `layout`.
//! `read` -> `layout`, std::fs. `cli` -> all of the above, clap, anyhow, indicatif, csv. `app` -> `layout`,
//! `sim`, `study`, `shipped`, `read`, egui, eframe, egui_plot, rfd, gif, std::fs, and `cli::load` for
//! `bench-frame`; nothing in the library imports
//! `app` (`tests/it/ui.rs` checks). `main.rs` -> `cli`, and `app` to open the window when there
//! is no subcommand or to run `bench-frame`.

pub mod app;
pub mod cli;
pub mod drill;
pub mod layout;
pub mod lesson;
pub mod read;
pub mod report;
pub mod shipped;
pub mod sim;
pub mod study;
