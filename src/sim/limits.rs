//! Limits on the work of a run, and the stop that enforces them ("put a limit on everything").
//!
//! A run may not stand still, explode or run forever, whatever a file or a live edit sets:
//!
//! - Time always advances: every answer, good or bad, reaches a closed-loop client at least
//!   [`MIN_TURNAROUND_NS`] after its request left (`traffic.rs`), so no loop can run at one
//!   instant. As a backstop, one tick may handle at most [`Limits::events_per_tick`] events; a
//!   tick that needs more stops the run with a [`Halt`] naming the node and the cause.
//! - One request may cause at most `layout::limits::CALLS_PER_REQUEST_MAX` calls (further
//!   calls fail with `call_limit`), and one trace holds a bounded number of hops and decisions.
//! - At most [`Limits::calls_in_flight`] calls are in flight at once (long queues under
//!   overload); more stop the run.
//! - A run is at most [`Limits::run_ticks`] ticks and [`Limits::run_events`] events long;
//!   stretches without events are skipped in one step (`Sim::skip_idle`).
//!
//! Once halted, `tick()` does nothing: the caller reads [`Halt`] from `Sim::halted` and shows it.

use std::fmt;

/// Most events one tick may handle before the run stops (about a second of work for the core;
/// no shipped layout comes within a hundredth of it).
pub const EVENTS_PER_TICK_MAX: u64 = 2_000_000;
/// Most calls in flight at once: 10^7, about 1 GB of call slots, queue places and events
/// (`layout::limits::CALL_BYTES` each). Queues fill only under overload, over time, so this
/// is enforced as the run goes rather than estimated by `check`.
pub const CALLS_IN_FLIGHT_MAX: u64 = 10_000_000;
/// Most ticks in one run: 10^10, about 2.8 hours simulated at the shortest tick (1 µs).
pub const RUN_TICKS_MAX: u64 = 10_000_000_000;
/// Most events in one run: 10^11, about an hour of the core's work.
pub const RUN_EVENTS_MAX: u64 = 100_000_000_000;
/// The shortest time from a closed-loop request leaving its client to the same user's next
/// request: 1 µs. It applies only where think time plus response time would otherwise be less
/// (zero think time over a path that answers in zero time), so every shipped layout keeps its
/// numbers.
pub const MIN_TURNAROUND_NS: u64 = 1_000;
/// Most hops one trace records (a request's calls down and replies back).
pub const TRACE_HOPS_MAX: usize = 2_048;
/// Most decisions one trace records (balancer picks and their reasons).
pub const TRACE_DECISIONS_MAX: usize = 256;

/// The limits a run enforces. `Default` is the documented set; tests lower them to reach them
/// on small layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub events_per_tick: u64,
    pub run_ticks: u64,
    pub run_events: u64,
    pub calls_per_request: u32,
    pub calls_in_flight: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            events_per_tick: EVENTS_PER_TICK_MAX,
            run_ticks: RUN_TICKS_MAX,
            run_events: RUN_EVENTS_MAX,
            calls_per_request: crate::layout::limits::CALLS_PER_REQUEST_MAX,
            calls_in_flight: CALLS_IN_FLIGHT_MAX,
        }
    }
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaltCause {
    /// More than `events` events at one simulated instant: time cannot advance.
    TimeStopped { events: u64 },
    /// More than `events` events in one tick of `tick_ns`, with time advancing.
    TickTooBusy { events: u64, tick_ns: u64 },
    /// More than `max` calls were in flight at once (queues too long for memory).
    CallsInFlight { max: u64 },
    /// A structure whose size the file sets could not be reserved (`try_reserve`).
    Reserve { what: &'static str, bytes: u64 },
    /// The run reached its most ticks.
    RunTicks { max: u64 },
    /// The run reached its most events.
    RunEvents { max: u64 },
}

/// A stopped run: when, where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    pub at_ns: u64,
    pub tick: u64,
    /// The node whose work crossed the limit (the client of the request at hand), if any.
    pub node: Option<String>,
    pub cause: HaltCause,
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the run stopped at t = {:.6} s", self.at_ns as f64 / 1e9)?;
        if let Some(node) = &self.node {
            write!(f, " at \"{node}\"")?;
        }
        write!(f, "{}", self.cause)
    }
}

/// The cause, as the end of a sentence (": more than ...").
impl fmt::Display for HaltCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HaltCause::TimeStopped { events } => write!(
                f,
                ": more than {events} events at one instant, so simulated time cannot advance \
                 (a loop that takes no time: give think time, latency or service time a value \
                 above 0)"
            ),
            HaltCause::TickTooBusy { events, tick_ns } => write!(
                f,
                ": more than {events} events in one tick of {} ms (lower tick_ms, or the load)",
                tick_ns as f64 / 1e6
            ),
            HaltCause::Reserve { what, bytes } => write!(
                f,
                ": could not reserve {bytes} bytes for {what} (fewer members or virtual nodes)"
            ),
            HaltCause::CallsInFlight { max } => write!(
                f,
                ": more than {max} calls in flight, too many to hold in memory (lower \
                 queue_capacity or the load)"
            ),
            HaltCause::RunTicks { max } => {
                write!(
                    f,
                    ": a run is at most {max} ticks (raise tick_ms or run shorter)"
                )
            }
            HaltCause::RunEvents { max } => {
                write!(
                    f,
                    ": a run is at most {max} events (run shorter, or lower the load)"
                )
            }
        }
    }
}

/// Deterministic counts of the work a run did, for tests and the bench (never wall-clock time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Events handled in the whole run.
    pub events: u64,
    /// Most events one tick handled.
    pub max_events_per_tick: u64,
    /// Most calls one request caused.
    pub max_calls_per_request: u32,
    /// Most events pending at once.
    pub max_events_pending: u64,
    /// Bytes the core's growable tables hold now (capacity × element size of its event heap,
    /// call and request slots, and rings): a deterministic measure of what a run reserved.
    pub bytes_reserved: u64,
    /// Ticks skipped in one step because nothing happened in them.
    pub ticks_skipped: u64,
    /// Keys whose latest write replication groups remember now (pruned as replicas apply).
    pub replication_keys: u64,
}
