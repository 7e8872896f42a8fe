//! The event queue: events pop ordered by (time, sequence number), so events at the same
//! nanosecond run in the order they were scheduled, the same way on every run.
//!
//! It is a calendar (a timing wheel) of `SLOTS` buckets of 2^`SLOT_SHIFT` ns each for the near
//! future, with a binary heap for what lies beyond it. Most events of a run are a few
//! microseconds to milliseconds ahead (wire latencies, service times, the next arrival), so a
//! push is an append to its bucket, and a bucket is sorted once, when time reaches it, into the
//! `run` that pops from its front (events mostly reach a bucket in time order, so the sort
//! has little to do). A push into the bucket being popped is a sorted insertion into that
//! run; one for the present instant lands in the room its popped events left. What pops is always the least (time, sequence) key of the run, the buckets
//! and the far heap, so the order is exactly that of one global heap (the queue's tests check
//! it against a sorted list).
//!
//! (A monotone radix heap and per-delay FIFO lanes were tried earlier in place of the single
//! binary heap this replaces: about 10 % and 3 % more instructions on the shipped layouts.)

use super::ix::{CallIx, ReqIx, UnitIx};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What happens when an event fires. Slot numbers index the core's call and unit tables;
/// `epoch` guards against a slot reused since the event was scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    /// A client's next open-loop arrival (`epoch` cancels stale ones after a rate change).
    Arrival { unit: UnitIx, epoch: u32 },
    /// A closed-loop user finished thinking.
    Think { unit: UnitIx, user: u32 },
    /// A call reaches its callee.
    Deliver { call: CallIx, epoch: u32 },
    /// The callee finished its own work on a call (service time, or a balancer's latency).
    Done { call: CallIx, epoch: u32 },
    /// A call's reply reaches its caller.
    Reply { call: CallIx, epoch: u32 },
    /// A ramp moves a client's rate one step.
    Ramp { unit: UnitIx, epoch: u32 },
    /// The caller of a call stops waiting for it.
    Timeout { call: CallIx, epoch: u32 },
    /// A caller's backoff is over: it retries its failed call.
    Retry { call: CallIx, epoch: u32 },
    /// A client's backoff is over: it resends request slot `req` (if it is still request `id`).
    ClientRetry { req: ReqIx, id: u32 },
    /// A balancer probes its backends.
    Probe { unit: UnitIx },
    /// A balancer's probe of `backend` timed out.
    ProbeFail { unit: UnitIx, backend: UnitIx },
    /// An entry's heartbeat or DNS check.
    EntryCheck { unit: UnitIx },
    /// Promote a replica if the group's primary is still down.
    Promote { group: u32, epoch: u32 },
    /// A synchronous write's replicas have it.
    Replicated { call: CallIx, epoch: u32 },
    /// A booting server is ready to serve.
    Ready { unit: UnitIx },
    /// An autoscaler looks at its pool.
    Autoscale { index: u32 },
    /// A server's job (`jobs.rs`) reaches it.
    JobArrive { job: u32 },
    /// A server has served a job.
    JobDone { job: u32 },
}

/// An event and its sort key (time, sequence number): 24 bytes, where a u128 key made it 32
/// (aligned to 16). A 32-bit sequence number wraps after 2^32 pushes (72 minutes at a
/// million events a second); the queue then renumbers the pending events (`renumber`).
#[derive(Clone, Copy, Debug)]
struct Entry {
    time: u64,
    seq: u32,
    ev: Ev,
}

impl Entry {
    /// True when this event pops before `other`: it is earlier, or as early and scheduled
    /// first. (Two comparisons, the second rarely reached: cheaper than making one 96-bit key
    /// of the two fields, which cost 3 % more instructions per request on three-tier.)
    #[inline(always)]
    fn before(&self, other: &Entry) -> bool {
        self.time < other.time || (self.time == other.time && self.seq < other.seq)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and we want the earliest event first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.time.cmp(&self.time).then(other.seq.cmp(&self.seq))
    }
}

/// Bytes one pending event takes.
pub const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

/// log2 of a calendar bucket's width in nanoseconds: 131 microseconds, so that a bucket holds
/// a few events at a few thousand requests per second (sorting it then costs little more per
/// event than finding it), and a few hundred at 100,000.
const SLOT_SHIFT: u32 = 17;
/// Buckets in the calendar (a power of two): with `SLOT_SHIFT`, 268 ms of near future.
/// (1,024 buckets of 262 us were measured against these: 0.7 % and 1 % fewer instructions per
/// request on mm4 and request-flow, 1 % more on three-tier, and 5 % more in the 200-node core
/// at 100,000 requests/s, where more pushes land in the crowded bucket being drained.)
const SLOTS: usize = 2048;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
const WORDS: usize = SLOTS / 64;

/// The calendar bucket of a time.
#[inline]
fn slot_of(time_ns: u64) -> u64 {
    time_ns >> SLOT_SHIFT
}

/// A drained bucket's buffer keeps room for at least this many events (`refill`).
const MIN_KEPT: usize = 4;

/// Shrink a drained run's buffer to `held` events' room (`refill`): out of line, as it is rare
/// and `refill` is inlined where events pop.
#[cold]
#[inline(never)]
fn give_back_room(run: &mut Vec<Entry>, held: usize) {
    run.shrink_to(held);
}

/// Buckets up to this many events are sorted by insertion alone.
const SMALL_BUCKET: usize = 16;
/// log2 of the parts a crowded bucket is spread over, by time, before its insertion sort.
const SPREAD_BITS: u32 = 5;

/// Sort by ascending key a small bucket, or a part of a crowded one: an insertion sort, which
/// passes over an event already in place with one comparison.
fn insertion_sort(v: &mut [Entry]) {
    for i in 1..v.len() {
        let e = v[i];
        if !e.before(&v[i - 1]) {
            continue;
        }
        let mut j = i;
        while j > 0 && e.before(&v[j - 1]) {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = e;
    }
}

/// Sort the events of one bucket, `run`, by ascending key. A crowded bucket (hundreds of
/// events at 100,000 requests per second) is first spread over `2^SPREAD_BITS` equal parts of
/// the bucket's time span, a counting sort through `spare` that keeps the events' order within
/// a part, and each part is then sorted on its own: a few events each, instead of one general
/// sort of them all (which cost about 14,000 instructions a bucket at 50 events).
#[inline]
fn sort_bucket(run: &mut [Entry], spare: &mut Vec<Entry>) {
    if run.len() <= SMALL_BUCKET {
        insertion_sort(run);
    } else {
        spread_and_sort(run, spare);
    }
}

/// `sort_bucket` of a crowded bucket, out of line so that `refill`, which mostly meets a few
/// events, does not set up its tables on every call.
#[inline(never)]
fn spread_and_sort(run: &mut [Entry], spare: &mut Vec<Entry>) {
    // The parts order the events only because they all lie in one bucket.
    debug_assert!(run.iter().all(|e| slot_of(e.time) == slot_of(run[0].time)));
    const PARTS: usize = 1 << SPREAD_BITS;
    let part = |e: &Entry| ((e.time >> (SLOT_SHIFT - SPREAD_BITS)) as usize) & (PARTS - 1);
    let mut start = [0usize; PARTS + 1];
    for e in run.iter() {
        start[part(e) + 1] += 1;
    }
    for i in 1..=PARTS {
        start[i] += start[i - 1];
    }
    spare.clear();
    spare.extend_from_slice(run);
    let mut next = start;
    for e in spare.iter() {
        let p = part(e);
        if let Some(slot) = run.get_mut(next[p]) {
            *slot = *e;
        }
        next[p] += 1;
    }
    for w in start.windows(2) {
        let part = &mut run[w[0]..w[1]];
        if part.len() <= SMALL_BUCKET {
            insertion_sort(part);
        } else {
            part.sort_unstable_by_key(|e| (e.time, e.seq));
        }
    }
}

/// Pending events, earliest first; ties in scheduling order.
///
/// Invariants: `run[head..]` holds the events of bucket `cur` (and any pushed into the past
/// of it), sorted by ascending key, and `run[..head]` those already popped from it;
/// `wheel[b & SLOT_MASK]` holds, unsorted, the events of each bucket `b` with
/// `cur < b < cur + SLOTS`, and bit `b & SLOT_MASK` of `occupied` says it is not empty; `far`
/// holds events of buckets after `cur` that were `SLOTS` or more ahead when they were pushed.
#[derive(Clone, Debug)]
pub struct EventQueue {
    run: Vec<Entry>,
    head: usize,
    /// Room for a crowded bucket while it is sorted.
    spare: Vec<Entry>,
    wheel: Box<[Vec<Entry>; SLOTS]>,
    occupied: [u64; WORDS],
    far: BinaryHeap<Entry>,
    cur: u64,
    len: usize,
    seq: u32,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue {
            run: Vec::new(),
            head: 0,
            spare: Vec::new(),
            wheel: Box::new(std::array::from_fn(|_| Vec::new())),
            occupied: [0; WORDS],
            far: BinaryHeap::new(),
            cur: 0,
            len: 0,
            seq: 0,
        }
    }
}

impl EventQueue {
    /// Schedule `ev` at `time_ns`.
    ///
    /// Inlined where the core schedules: the common case, a bucket of the calendar ahead of
    /// the current one, is an append and a bit; the rest is out of line.
    #[inline(always)]
    pub fn push(&mut self, time_ns: u64, ev: Ev) {
        if self.seq == u32::MAX {
            self.renumber();
        }
        self.seq += 1;
        self.len += 1;
        let entry = Entry {
            time: time_ns,
            seq: self.seq,
            ev,
        };
        let slot = slot_of(time_ns);
        // Buckets `cur + 1 ..= cur + SLOTS - 1`; the current one (0) and the past wrap round to
        // the top of the range and take the other path with the far future.
        if slot.wrapping_sub(self.cur).wrapping_sub(1) < SLOTS as u64 - 1 {
            let i = (slot & SLOT_MASK) as usize;
            self.wheel[i].push(entry);
            self.occupied[i / 64] |= 1 << (i % 64);
        } else {
            self.push_off_calendar(entry);
        }
    }

    /// Push an event of the current bucket (or before it), or of the far future.
    #[inline(never)]
    fn push_off_calendar(&mut self, entry: Entry) {
        let slot = slot_of(entry.time);
        if self.len == 1 {
            // Nothing else pending anywhere: the calendar can start at this event.
            self.cur = slot;
        }
        if slot <= self.cur {
            self.insert_into_run(entry);
        } else {
            self.far.push(entry);
        }
    }

    /// Put an event of the current bucket (or before it) into its place in the sorted run,
    /// moving whichever side of that place is shorter: an event for the present instant goes
    /// near the front, where the room left by popped events takes it without moving the rest.
    fn insert_into_run(&mut self, entry: Entry) {
        let head = self.head;
        let at = head + self.run[head..].partition_point(|e| e.before(&entry));
        if head > 0 && at - head <= self.run.len() - at {
            self.run.copy_within(head..at, head - 1);
            self.run[at - 1] = entry;
            self.head = head - 1;
        } else {
            self.run.insert(at, entry);
        }
    }

    /// True when the run holds no event still to pop.
    #[inline]
    fn run_is_empty(&self) -> bool {
        self.head >= self.run.len()
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time(&mut self) -> Option<u64> {
        if self.run_is_empty() && !self.refill() {
            return None;
        }
        self.run.get(self.head).map(|e| e.time)
    }

    /// Remove and return the earliest event (the core pops through `pop_before`).
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<(u64, Ev)> {
        if self.run_is_empty() && !self.refill() {
            return None;
        }
        let e = *self.run.get(self.head)?;
        self.head += 1;
        self.len -= 1;
        Some((e.time, e.ev))
    }

    /// Remove and return the earliest event if it is before `limit_ns`.
    #[inline]
    pub fn pop_before(&mut self, limit_ns: u64) -> Option<(u64, Ev)> {
        if self.run_is_empty() && !self.refill() {
            return None;
        }
        let e = *self.run.get(self.head)?;
        let t = e.time;
        if t >= limit_ns {
            return None;
        }
        self.head += 1;
        self.len -= 1;
        Some((t, e.ev))
    }

    /// The run is empty: make the next bucket with events (in the calendar or the far heap)
    /// the current one and sort it into the run. False when nothing is pending.
    ///
    /// Always inlined into `pop_before` and `peek_time`: on a light layout most events start a
    /// bucket of their own, and the call's register saves were a fifth of the refill.
    #[inline(always)]
    fn refill(&mut self) -> bool {
        debug_assert!(self.run_is_empty());
        // The spent run's buffer goes to the wheel below. A burst grew it; if it is far larger
        // than the bucket it held, give the room back, or over a long run every bucket's buffer
        // would keep the largest burst it ever saw (an hour of request-flow: 0.5 MB more than
        // five minutes of it). A steady load keeps its buffers, so this rarely allocates.
        let held = self.run.len().max(MIN_KEPT);
        self.run.clear();
        if self.run.capacity() > 2 * held {
            give_back_room(&mut self.run, held);
        }
        self.head = 0;
        let near = self.next_occupied();
        let far = self.far.peek().map(|e| slot_of(e.time));
        let slot = match (near, far) {
            (None, None) => return false,
            (Some(n), None) => n,
            (None, Some(f)) => f,
            (Some(n), Some(f)) => n.min(f),
        };
        self.cur = slot;
        if near == Some(slot) {
            let i = (slot & SLOT_MASK) as usize;
            // The emptied run's buffer becomes the bucket's: no copy, no allocation.
            std::mem::swap(&mut self.run, &mut self.wheel[i]);
            self.occupied[i / 64] &= !(1 << (i % 64));
        }
        while self.far.peek().is_some_and(|e| slot_of(e.time) == slot) {
            if let Some(e) = self.far.pop() {
                self.run.push(e);
            }
        }
        sort_bucket(&mut self.run, &mut self.spare);
        !self.run.is_empty()
    }

    /// The first bucket after `cur` that holds events, if any does.
    #[inline]
    fn next_occupied(&self) -> Option<u64> {
        let start = ((self.cur + 1) & SLOT_MASK) as usize;
        let (w0, b0) = (start / 64, start % 64);
        // Mostly the next event is a few buckets ahead, in the same word.
        let bits = self.occupied[w0] >> b0;
        if bits != 0 {
            return Some(self.cur + 1 + u64::from(bits.trailing_zeros()));
        }
        self.next_occupied_after(start)
    }

    /// `next_occupied` past the word of `start`, the bucket after `cur`.
    #[inline(never)]
    fn next_occupied_after(&self, start: usize) -> Option<u64> {
        let w0 = start / 64;
        // The current bucket's bit is always clear, so one lap over the words (from the next
        // one, and the first one again, below `start`, at the end) finds the nearest bucket.
        for k in 1..=WORDS {
            let w = (w0 + k) % WORDS;
            let bits = self.occupied[w];
            if bits != 0 {
                let i = (w * 64) as u64 + u64::from(bits.trailing_zeros());
                return Some(self.cur + 1 + ((i.wrapping_sub(start as u64)) & SLOT_MASK));
            }
        }
        None
    }

    /// The sequence numbers have run out: give the pending events the numbers 1..=n in their
    /// (unchanged) sequence order, so the next push is n + 1. Every pair of pending events
    /// keeps its order, so the sorted run and the far heap stay as they are, and events still
    /// pop in the order they were scheduled.
    #[cold]
    #[inline(never)]
    fn renumber(&mut self) {
        self.run.drain(..self.head);
        self.head = 0;
        let mut far = std::mem::take(&mut self.far).into_vec();
        let mut seqs: Vec<u32> = self
            .run
            .iter()
            .chain(self.wheel.iter().flatten())
            .chain(far.iter())
            .map(|e| e.seq)
            .collect();
        seqs.sort_unstable();
        // Fewer than 2^32 events are pending (each takes 24 bytes), so every rank fits.
        let rank = |seq: u32| seqs.partition_point(|&s| s < seq) as u32 + 1;
        for e in self
            .run
            .iter_mut()
            .chain(self.wheel.iter_mut().flatten())
            .chain(far.iter_mut())
        {
            e.seq = rank(e.seq);
        }
        self.far = BinaryHeap::from(far);
        self.seq = seqs.len() as u32;
    }

    /// Keep only the events `keep` accepts. The survivors pop in the same (time, sequence)
    /// order as before, so dropping events that would do nothing changes no result.
    pub fn retain(&mut self, mut keep: impl FnMut(&Ev) -> bool) {
        self.run.drain(..self.head);
        self.head = 0;
        self.run.retain(|e| keep(&e.ev));
        for (i, bucket) in self.wheel.iter_mut().enumerate() {
            if !bucket.is_empty() {
                bucket.retain(|e| keep(&e.ev));
                if bucket.is_empty() {
                    self.occupied[i / 64] &= !(1 << (i % 64));
                }
            }
        }
        self.far.retain(|e| keep(&e.ev));
        self.len = self.run.len() + self.far.len() + self.wheel.iter().map(Vec::len).sum::<usize>();
    }

    /// Bytes the queue holds on the heap: room for events in the run, the calendar's buckets
    /// and the far heap, and the calendar itself.
    pub fn heap_bytes(&self) -> usize {
        let entries = self.run.capacity()
            + self.spare.capacity()
            + self.far.capacity()
            + self.wheel.iter().map(Vec::capacity).sum::<usize>();
        entries * ENTRY_BYTES + SLOTS * std::mem::size_of::<Vec<Entry>>()
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_ties_in_order() {
        let mut q = EventQueue::default();
        q.push(
            5,
            Ev::Arrival {
                unit: UnitIx::at(1),
                epoch: 0,
            },
        );
        q.push(
            3,
            Ev::Arrival {
                unit: UnitIx::at(2),
                epoch: 0,
            },
        );
        q.push(
            5,
            Ev::Arrival {
                unit: UnitIx::at(3),
                epoch: 0,
            },
        );
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![
                (
                    3,
                    Ev::Arrival {
                        unit: UnitIx::at(2),
                        epoch: 0
                    }
                ),
                (
                    5,
                    Ev::Arrival {
                        unit: UnitIx::at(1),
                        epoch: 0
                    }
                ),
                (
                    5,
                    Ev::Arrival {
                        unit: UnitIx::at(3),
                        epoch: 0
                    }
                ),
            ]
        );
    }

    /// The queue gives exactly the (time, sequence) order of a sorted list, with pushes
    /// interleaved with pops as a simulation does (never into the past).
    #[test]
    fn same_order_as_sorting() {
        let mut q = EventQueue::default();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut x: u64 = 12345;
        let mut next = || {
            x = crate::sim::hash::splitmix64(x);
            x
        };
        let mut now = 0;
        let mut seq = 0;
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        for step in 0..20_000 {
            let r = next();
            if r % 3 != 0 || reference.is_empty() {
                // Schedule at now + a delay of varied scale, often zero (ties).
                let delay = match r % 7 {
                    0 | 1 => 0,
                    2 => r % 10,
                    3 => r % 1_000,
                    4 => r % 1_000_000,
                    _ => r % 5_000_000_000,
                };
                seq += 1;
                q.push(
                    now + delay,
                    Ev::Think {
                        unit: UnitIx::at(0),
                        user: seq as u32,
                    },
                );
                reference.push((now + delay, seq));
            } else {
                reference.sort_unstable();
                let first = reference.remove(0);
                expected.push(first);
                let Some((t, Ev::Think { user, .. })) = q.pop() else {
                    panic!("step {step}: queue empty or wrong event");
                };
                popped.push((t, u64::from(user)));
                now = t;
            }
            assert_eq!(q.len(), reference.len());
        }
        assert_eq!(popped, expected);
    }

    /// The same against a sorted list where the calendar has its edges: delays near one
    /// bucket and near the calendar's horizon (events that start in the far heap and meet the
    /// calendar's later ones), long idle gaps, and events dropped by `retain` on the way.
    #[test]
    fn same_order_as_sorting_across_buckets_horizon_and_retain() {
        interleaved_against_sorted_list(None);
    }

    /// The same when the 32-bit sequence numbers run out again and again: every 700 steps the
    /// queue's counter jumps to a few pushes short of 2^32 - 1 (a jump up keeps every new
    /// event after the pending ones, as the counter's own growth would), so it renumbers
    /// with events pending in the run (some of it already popped), the calendar and the far
    /// heap, ties included.
    #[test]
    fn same_order_as_sorting_across_sequence_wraps() {
        interleaved_against_sorted_list(Some(700));
    }

    /// The 24-byte entry the queue's memory estimate and the call price assume.
    #[test]
    fn an_entry_takes_24_bytes() {
        assert_eq!(ENTRY_BYTES, 24);
    }

    /// Random pushes (across buckets, the horizon, idle gaps), pops and `retain`s against a
    /// sorted list; with `wrap_every`, the sequence counter is pushed near its end that often.
    fn interleaved_against_sorted_list(wrap_every: Option<u64>) {
        let horizon = (SLOTS as u64) << SLOT_SHIFT;
        let bucket = 1u64 << SLOT_SHIFT;
        let mut q = EventQueue::default();
        let mut wraps = 0;
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut x: u64 = 987_654_321;
        let mut next = || {
            x = crate::sim::hash::splitmix64(x);
            x
        };
        let (mut now, mut seq) = (0u64, 0u64);
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        for step in 0..60_000 {
            let r = next();
            if wrap_every.is_some_and(|w| step % w == w - 1) {
                q.seq = u32::MAX - (r % 5) as u32;
            }
            let seq_before = q.seq;
            if r % 5 < 3 || reference.is_empty() {
                let jitter = (r >> 8) % 64;
                let delay = match (r >> 4) % 8 {
                    0 => 0,
                    1 => bucket - 32 + jitter,
                    2 => horizon - 32 + jitter,
                    3 => horizon - bucket + (r >> 16) % (2 * bucket),
                    4 => (r >> 16) % horizon,
                    5 => (r >> 16) % (3 * horizon),
                    6 => (r >> 16) % 100 * horizon,
                    _ => (r >> 16) % 1_000,
                };
                seq += 1;
                q.push(
                    now + delay,
                    Ev::Think {
                        unit: UnitIx::at(0),
                        user: seq as u32,
                    },
                );
                reference.push((now + delay, seq));
            } else if r % 97 == 0 {
                // Drop every event whose sequence number is divisible by 3.
                q.retain(|ev| !matches!(ev, Ev::Think { user, .. } if user % 3 == 0));
                reference.retain(|&(_, s)| s % 3 != 0);
            } else {
                reference.sort_unstable();
                let first = reference.remove(0);
                expected.push(first);
                assert_eq!(q.peek_time(), Some(first.0), "step {step}");
                let Some((t, Ev::Think { user, .. })) = q.pop() else {
                    panic!("step {step}: queue empty or wrong event");
                };
                popped.push((t, u64::from(user)));
                now = t;
            }
            assert_eq!(q.len(), reference.len(), "step {step}");
            wraps += u32::from(q.seq < seq_before);
        }
        // Drain what is left.
        reference.sort_unstable();
        expected.extend(reference.iter().copied());
        while let Some((t, Ev::Think { user, .. })) = q.pop() {
            popped.push((t, u64::from(user)));
        }
        assert_eq!(q.peek_time(), None);
        assert_eq!(popped, expected);
        if let Some(w) = wrap_every {
            // Most jumps are followed by a wrap before the next jump.
            assert!(u64::from(wraps) >= 60_000 / w / 2, "{wraps} wraps");
        }
    }

    /// `pop_before` stops at the limit and leaves the event for later.
    #[test]
    fn pop_before_leaves_later_events() {
        let mut q = EventQueue::default();
        let ev = Ev::Probe {
            unit: UnitIx::at(0),
        };
        q.push(10, ev);
        q.push(5_000_000_000, ev);
        assert_eq!(q.pop_before(11), Some((10, ev)));
        assert_eq!(q.pop_before(5_000_000_000), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_before(5_000_000_001), Some((5_000_000_000, ev)));
        assert_eq!(q.pop(), None);
    }

    /// After a burst, a steady trickle through every bucket leaves the queue holding about what
    /// the trickle alone holds: the burst's room is given back, not passed round the calendar
    /// for the rest of the run. Everything still pops, in time order.
    #[test]
    fn a_burst_leaves_no_room_behind() {
        const BURST: usize = 10_000;
        let ev = Ev::Probe {
            unit: UnitIx::at(0),
        };
        let bucket_ns = 1u64 << SLOT_SHIFT;
        let trickle = |q: &mut EventQueue, from_ns: u64| {
            let mut last = 0;
            for k in 0..3 * SLOTS as u64 {
                q.push(from_ns + k * bucket_ns, ev);
                let (t, _) = q.pop().unwrap_or_else(|| panic!("an event"));
                assert!(t >= last, "in time order");
                last = t;
            }
        };
        let mut with_burst = EventQueue::default();
        for k in 0..BURST as u64 {
            with_burst.push(1_000 + k % 7, ev);
        }
        let mut last = 0;
        for _ in 0..BURST {
            let (t, _) = with_burst.pop().unwrap_or_else(|| panic!("an event"));
            assert!(t >= last, "in time order");
            last = t;
        }
        trickle(&mut with_burst, bucket_ns);
        let mut alone = EventQueue::default();
        trickle(&mut alone, bucket_ns);
        assert_eq!((with_burst.len(), with_burst.pop()), (0, None));
        let (got, want) = (with_burst.heap_bytes(), alone.heap_bytes());
        assert!(
            got <= want + BURST * ENTRY_BYTES / 10,
            "after a burst of {BURST}: {got} bytes; the trickle alone: {want}"
        );
    }

    /// A crowded bucket (more events than the hand-written sort takes, as at 100,000
    /// requests/s) still pops in (time, sequence) order, ties included.
    #[test]
    fn a_crowded_bucket_pops_in_order() {
        let mut q = EventQueue::default();
        let bucket = 1u64 << SLOT_SHIFT;
        // An event now, so that the calendar starts at bucket 0 and bucket 3 fills unsorted.
        q.push(
            0,
            Ev::Think {
                unit: UnitIx::at(0),
                user: 0,
            },
        );
        let mut reference = vec![(0, 0)];
        let mut x: u64 = 42;
        for seq in 1..=200u64 {
            x = crate::sim::hash::splitmix64(x);
            // Bucket 3, a quarter of the times shared by two events or more.
            let t = 3 * bucket + x % (bucket / 4).min(150);
            q.push(
                t,
                Ev::Think {
                    unit: UnitIx::at(0),
                    user: seq as u32,
                },
            );
            reference.push((t, seq));
        }
        reference.sort_unstable();
        let popped: Vec<(u64, u64)> = std::iter::from_fn(|| q.pop())
            .map(|(t, ev)| match ev {
                Ev::Think { user, .. } => (t, u64::from(user)),
                _ => (t, 0),
            })
            .collect();
        assert_eq!(popped, reference);
    }

    /// One step of a scripted run of the queue.
    #[derive(Clone, Copy, Debug)]
    enum Op {
        /// Schedule an event at this time.
        Push(u64),
        /// Schedule an event at the time of the last event popped (zero delay).
        PushNow,
        /// Look at the earliest time, which may move the calendar to the next bucket.
        Peek,
        /// Pop the earliest event.
        Pop,
    }

    /// Run `ops` on a queue and on a plain list sorted by (time, sequence) before each pop,
    /// and compare every time peeked and every (time, event) popped, then what is left.
    fn check_against_sorted_list(ops: &[Op]) {
        let mut q = EventQueue::default();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let (mut now, mut seq) = (0u64, 0u64);
        for (step, &op) in ops.iter().enumerate() {
            let at = match op {
                Op::Push(t) => Some(t),
                Op::PushNow => Some(now),
                Op::Peek | Op::Pop => None,
            };
            if let Some(t) = at {
                seq += 1;
                q.push(
                    t,
                    Ev::Think {
                        unit: UnitIx::at(0),
                        user: seq as u32,
                    },
                );
                reference.push((t, seq));
                continue;
            }
            reference.sort_unstable();
            assert_eq!(
                q.peek_time(),
                reference.first().map(|&(t, _)| t),
                "step {step}"
            );
            if matches!(op, Op::Pop) && !reference.is_empty() {
                let first = reference.remove(0);
                assert_eq!(pop_think(&mut q), Some(first), "step {step}");
                now = first.0;
            }
            assert_eq!(q.len(), reference.len(), "step {step}");
        }
        reference.sort_unstable();
        let rest: Vec<_> = std::iter::from_fn(|| pop_think(&mut q)).collect();
        assert_eq!(rest, reference);
    }

    /// Pop one event as (time, the sequence number `check_against_sorted_list` gave it).
    fn pop_think(q: &mut EventQueue) -> Option<(u64, u64)> {
        q.pop().map(|(t, ev)| match ev {
            Ev::Think { user, .. } => (t, u64::from(user)),
            _ => (t, u64::MAX),
        })
    }

    /// Events pushed into the bucket being drained: zero-delay ones (which keep their
    /// scheduling order among the events of that instant), ones later in the same bucket,
    /// ties with events already sorted, one pushed after a peek moved the calendar on but
    /// before anything of the new bucket popped, and one pushed into the past of the bucket.
    #[test]
    fn pushes_into_the_bucket_being_drained() {
        let b = 1u64 << SLOT_SHIFT;
        use Op::{Peek, Pop, Push, PushNow};
        let ops = [
            Push(0),
            Push(3 * b + 100),
            Push(3 * b + 50),
            Push(3 * b + 100),
            Push(3 * b + 7),
            Push(3 * b + b - 1),
            Push(10 * b + 5),
            Pop,
            Pop,
            // Now 3b + 7: three events of this instant and one later in the bucket.
            PushNow,
            PushNow,
            Push(3 * b + 60),
            PushNow,
            Pop,
            PushNow,
            Pop,
            Pop,
            Pop,
            Push(3 * b + 100),
            Push(3 * b + 51),
            Pop,
            Pop,
            Pop,
            Pop,
            PushNow,
            Pop,
            Pop,
            Pop,
            Pop,
            // Bucket 3 is done; the peek sorts bucket 10 into the run before anything pops.
            Peek,
            Push(10 * b + 5),
            Push(10 * b + 2),
            Push(4 * b),
            Push(10 * b + 9),
            Pop,
            PushNow,
            Pop,
            Pop,
            Pop,
            PushNow,
            PushNow,
        ];
        check_against_sorted_list(&ops);
    }

    /// The bitmap of occupied buckets across its 64-bit words and round the calendar: the next
    /// event in the next word, the word after a run of empty ones, the bucket just behind the
    /// current one (reached only at the end of the lap over the words), buckets just inside
    /// and just past the horizon, several laps of the calendar, and far-heap events meeting
    /// calendar events in one bucket.
    #[test]
    fn bitmap_across_words_and_round_the_calendar() {
        let b = 1u64 << SLOT_SHIFT;
        let n = SLOTS as u64;
        use Op::{Pop, Push};
        let mut ops = vec![Push(0)];
        // Events pushed with the calendar at bucket 0, then at the buckets it moves to.
        for base in [0, 60, 63, 64, 127, n - 3, n + 10, 3 * n + 62] {
            ops.push(Pop);
            for ahead in [
                1,
                2,
                3,
                4,
                64,
                65,
                128,
                700,
                n - 2,
                n - 1,
                n,
                n + 1,
                2 * n + 5,
            ] {
                ops.push(Push((base + ahead) * b + ahead % 7));
            }
            ops.push(Push((base + n - 1) * b + 3));
            // Drain to (just before) the next base, so the calendar laps and wraps.
            ops.extend(std::iter::repeat_n(Pop, 6));
        }
        // An event just behind the current bucket: the only one left, a whole lap ahead.
        ops.extend(std::iter::repeat_n(Pop, 200));
        let last = (5 * n + 10) * b;
        ops.extend([
            Push(last),
            Push(last + 2 * n * b),
            Pop,
            Push(last + (n - 1) * b),
            Pop,
        ]);
        ops.extend([Push(last + (n + 69) * b), Push(last + n * b), Pop, Pop]);
        check_against_sorted_list(&ops);
    }

    /// Crowded buckets (hundreds of events, as at 100,000 requests per second) spread over
    /// the parts of their time span: events in random order, ties at one time, a run of events
    /// pushed in decreasing time order into one part, a crowded part, and far-heap events that
    /// join calendar events in the same crowded bucket.
    #[test]
    fn crowded_buckets_pop_in_order() {
        let b = 1u64 << SLOT_SHIFT;
        let n = SLOTS as u64;
        use Op::{Pop, Push};
        let mut ops = vec![Push(0)];
        let mut x: u64 = 7;
        let mut next = || {
            x = crate::sim::hash::splitmix64(x);
            x
        };
        for k in 0..600 {
            let r = next();
            let t = match k % 6 {
                0 => 5 * b + 1_000,
                1 => 5 * b + b - 1 - k,
                2 => 5 * b + (r % 3_000),
                _ => 5 * b + r % b,
            };
            ops.push(Push(t));
            // The same spread, beyond the calendar's horizon: the far heap.
            ops.push(Push((n + 5) * b + r % b));
        }
        ops.extend(std::iter::repeat_n(Pop, 400));
        // The calendar has moved on to bucket 5: these join the far events in the wheel.
        for k in 0..300 {
            ops.push(Push((n + 5) * b + next() % b));
            if k % 3 == 0 {
                ops.push(Pop);
            }
        }
        check_against_sorted_list(&ops);
    }
}
