//! A server's own work: jobs that are not calls of a request but take the server's queue, a
//! worker and a core like one. A replica applying a replicated write (its write service time)
//! and a cache taking a fill or an invalidation (its lookup time) are jobs. A job is sent over
//! a delay (the replication lag, the wire's latency), queues, is served, and then takes effect.
//!
//! A replica applies its writes one at a time, in order, with one applier (as MySQL's replica
//! SQL thread and PostgreSQL's startup process do by default): the writes that reached it wait
//! in its apply backlog, and the applier takes a worker like a request. Reads do not wait
//! behind the backlog, so a replica catching up serves stale reads.

use crate::layout::NodeId;

use super::Sim;
use super::ix::UnitIx;
use super::queue::Ev;
use super::unit::{Kept, Role, Task};

/// What a cache job does to its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CacheOp {
    /// Put the key (a fill after a read miss, or an update on a write).
    Put,
    /// Drop the key (an invalidation on a write).
    Invalidate,
}

/// What a job does when it has been served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum JobKind {
    /// Replica `replica` of replication group `group` applies write number `seq`.
    Apply {
        group: u32,
        replica: NodeId,
        seq: u64,
    },
    /// A cache fills or invalidates `key`.
    Cache { key: u32, op: CacheOp },
}

/// One job, in the core's table of jobs.
#[derive(Clone, Copy, Debug)]
pub(super) struct Job {
    unit: UnitIx,
    /// The instance's `life` when the job was sent: a job that outlived its instance (it died
    /// meanwhile) is dropped.
    life: u32,
    kind: JobKind,
}

impl Job {
    /// The instance the job is for.
    pub(super) fn unit(&self) -> UnitIx {
        self.unit
    }
}

impl Sim {
    /// Send a job to `unit`, to arrive after `delay_ns`. A dead instance gets nothing.
    pub(super) fn send_job(&mut self, unit: UnitIx, kind: JobKind, delay_ns: u64) {
        let u = &self.units[unit];
        if !u.alive || u.removed {
            return;
        }
        let job = Job {
            unit,
            life: u.life,
            kind,
        };
        let slot = match self.free_jobs.pop() {
            Some(i) => {
                self.jobs[i as usize] = job;
                i
            }
            None => {
                self.jobs.push(job);
                (self.jobs.len() - 1) as u32
            }
        };
        self.events
            .push(self.now_ns + delay_ns, Ev::JobArrive { job: slot });
    }

    fn free_job(&mut self, job: u32) {
        self.free_jobs.push(job);
    }

    /// True when the job's instance is the one it was sent to, still up.
    fn job_live(&self, job: u32) -> bool {
        let j = &self.jobs[job as usize];
        let u = &self.units[j.unit];
        u.alive && !u.removed && u.life == j.life
    }

    /// A job is served at a read's service time (a cache's lookup) or a write's (a replica
    /// applying a write).
    pub(super) fn job_is_read(&self, job: u32) -> bool {
        !matches!(self.jobs[job as usize].kind, JobKind::Apply { .. })
    }

    /// A job reaches its instance: it takes a worker, or waits in the queue. A replicated
    /// write always waits (the replication stream is not dropped); a cache job finding the
    /// queue full is dropped, as a lookup would be.
    pub(super) fn on_job_arrive(&mut self, job: u32) {
        if !self.job_live(job) {
            return self.free_job(job);
        }
        let now = self.now_ns;
        let j = self.jobs[job as usize];
        if let JobKind::Apply {
            group,
            replica,
            seq,
        } = j.kind
            && !self.apply_received(group, replica, seq)
        {
            return self.free_job(job);
        }
        let u = &mut self.units[j.unit];
        if matches!(j.kind, JobKind::Apply { .. }) {
            u.apply_backlog.push_back(job);
            return self.next_apply(j.unit);
        }
        if u.held < u.workers {
            self.start_job(job);
        } else if u.queue_has_room() {
            u.queue_task(Task::Job(job), now);
        } else {
            u.stats.queue_full += 1;
            self.free_job(job);
        }
    }

    /// The applier takes the oldest write of the backlog, if it is free: a worker at once if
    /// one is free, else it waits in the queue like a request.
    fn next_apply(&mut self, unit: UnitIx) {
        let now = self.now_ns;
        let u = &mut self.units[unit];
        if u.applier_busy || !u.alive {
            return;
        }
        let Some(job) = u.apply_backlog.pop_front() else {
            return;
        };
        u.applier_busy = true;
        if u.held < u.workers {
            self.start_job(job);
        } else {
            u.queue_task(Task::Job(job), now);
        }
    }

    /// A job takes a worker and asks for a core.
    pub(super) fn start_job(&mut self, job: u32) {
        let now = self.now_ns;
        let unit = self.jobs[job as usize].unit;
        let read = self.job_is_read(job);
        let u = &self.units[unit];
        let demand = match &u.role {
            Role::Server { service, .. } => service.mean_ns(read) * u.slow,
            _ => 0.0,
        };
        let u = &mut self.units[unit];
        u.stats.demand_ns += demand;
        u.hold(now);
        self.take_core(unit, Task::Job(job), read);
    }

    /// A job has been served: free its core and worker, then let it take effect.
    pub(super) fn on_job_done(&mut self, job: u32) {
        if !self.job_live(job) {
            return self.free_job(job);
        }
        let now = self.now_ns;
        let j = self.jobs[job as usize];
        let u = &mut self.units[j.unit];
        u.unserve(now);
        u.unhold(now);
        u.stats.jobs += 1;
        self.free_job(job);
        if matches!(j.kind, JobKind::Apply { .. }) {
            self.units[j.unit].applier_busy = false;
        }
        self.next_core(j.unit);
        self.drain_queue(j.unit);
        self.next_apply(j.unit);
        match j.kind {
            JobKind::Apply {
                group,
                replica,
                seq,
            } => self.on_replica_applied(group, replica, seq),
            JobKind::Cache { key, op } => {
                if let Role::Server {
                    kept: Kept::DataCache(cache),
                    ..
                } = &mut self.units[j.unit].role
                {
                    match op {
                        CacheOp::Put => cache.put(u64::from(key), now),
                        CacheOp::Invalidate => {
                            cache.invalidate(u64::from(key));
                        }
                    }
                }
            }
        }
        if self.units[j.unit].draining {
            self.retire_if_idle(j.unit);
        }
    }

    /// The instance died: its queued jobs are lost (those in service are recognised by its
    /// new `life` when they end).
    pub(super) fn drop_jobs(&mut self, unit: UnitIx) {
        let u = &mut self.units[unit];
        u.life = u.life.wrapping_add(1);
        let mut lost: Vec<u32> = u
            .queue
            .iter()
            .chain(u.cpu_queue.iter())
            .filter_map(|t| match t {
                Task::Job(j) => Some(*j),
                Task::Call(..) => None,
            })
            .collect();
        lost.extend(u.apply_backlog.drain(..));
        u.applier_busy = false;
        u.cpu_queue.clear();
        for j in lost {
            self.free_job(j);
        }
    }
}
