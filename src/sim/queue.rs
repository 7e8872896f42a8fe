//! The event queue: a binary min-heap ordered by (time, sequence number), so events at the same
//! nanosecond run in the order they were scheduled, the same way on every run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What happens when an event fires. Slot numbers index the core's call and unit tables;
/// `epoch` guards against a slot reused since the event was scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    /// A client's next open-loop arrival (`epoch` cancels stale ones after a rate change).
    Arrival { unit: u32, epoch: u32 },
    /// A closed-loop user finished thinking.
    Think { unit: u32, user: u32 },
    /// A call reaches its callee.
    Deliver { call: u32, epoch: u32 },
    /// The callee finished its own work on a call (service time, or a balancer's latency).
    Done { call: u32, epoch: u32 },
    /// A call's reply reaches its caller.
    Reply { call: u32, epoch: u32 },
    /// A ramp moves a client's rate one step.
    Ramp { unit: u32, epoch: u32 },
}

#[derive(Clone, Debug)]
struct Entry {
    time_ns: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.time_ns == other.time_ns && self.seq == other.seq
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
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_ns, other.seq).cmp(&(self.time_ns, self.seq))
    }
}

/// Pending events, earliest first; ties in scheduling order.
#[derive(Clone, Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Entry>,
    seq: u64,
}

impl EventQueue {
    /// Schedule `ev` at `time_ns`.
    pub fn push(&mut self, time_ns: u64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Entry {
            time_ns,
            seq: self.seq,
            ev,
        });
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.time_ns)
    }

    /// Remove and return the earliest event.
    pub fn pop(&mut self) -> Option<(u64, Ev)> {
        self.heap.pop().map(|e| (e.time_ns, e.ev))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_ties_in_order() {
        let mut q = EventQueue::default();
        q.push(5, Ev::Arrival { unit: 1, epoch: 0 });
        q.push(3, Ev::Arrival { unit: 2, epoch: 0 });
        q.push(5, Ev::Arrival { unit: 3, epoch: 0 });
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![
                (3, Ev::Arrival { unit: 2, epoch: 0 }),
                (5, Ev::Arrival { unit: 1, epoch: 0 }),
                (5, Ev::Arrival { unit: 3, epoch: 0 }),
            ]
        );
    }
}
