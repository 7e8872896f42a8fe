//! A simulated instance ("unit"): one client, balancer, database, or one member of an app pool.
//! Each keeps its own queue, workers, random stream and statistics.

use std::collections::VecDeque;

use rand::RngExt as _;
use rand_distr::{Distribution as _, Exp1, LogNormal, Zipf};

use crate::layout::{
    Arrivals, ClientParams, KeyDist, KindTag, LoopMode, NodeId, NodeKind, ServiceDist, ms_to_ns,
};

use super::balance::{Backend, Balancer};
use super::rng::{SimRng, Stream, stream};

/// How long a server works on a call.
#[derive(Clone, Debug)]
pub struct ServiceModel {
    pub dist: ServiceDist,
    pub read_mean_ns: f64,
    pub write_mean_ns: f64,
    /// Log-normal shapes for reads and writes (same cv, different means).
    lognormal: Option<(LogNormal<f64>, LogNormal<f64>)>,
}

impl ServiceModel {
    /// A model with these means (ms) and shape.
    pub fn new(dist: ServiceDist, read_ms: f64, write_ms: f64, cv: f64) -> Self {
        let read_mean_ns = read_ms * 1e6;
        let write_mean_ns = write_ms * 1e6;
        let lognormal = if dist == ServiceDist::LogNormal && cv > 0.0 {
            match (
                LogNormal::from_mean_cv(read_mean_ns.max(1.0), cv),
                LogNormal::from_mean_cv(write_mean_ns.max(1.0), cv),
            ) {
                (Ok(r), Ok(w)) => Some((r, w)),
                _ => None,
            }
        } else {
            None
        };
        ServiceModel {
            dist,
            read_mean_ns,
            write_mean_ns,
            lognormal,
        }
    }

    /// The mean service time of a read or write, in ns.
    pub fn mean_ns(&self, read: bool) -> f64 {
        if read {
            self.read_mean_ns
        } else {
            self.write_mean_ns
        }
    }

    /// Draw one service time, in ns.
    pub fn sample_ns(&self, read: bool, rng: &mut SimRng) -> u64 {
        let mean = self.mean_ns(read);
        let x = match self.dist {
            ServiceDist::Constant => mean,
            ServiceDist::Exponential => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            ServiceDist::LogNormal => match &self.lognormal {
                Some((r, w)) => {
                    if read {
                        r.sample(rng)
                    } else {
                        w.sample(rng)
                    }
                }
                None => mean,
            },
        };
        x.round() as u64
    }
}

/// A client's traffic state.
#[derive(Clone, Debug)]
pub struct ClientState {
    pub params: ClientParams,
    /// Current open-loop rate (follows set_qps and ramps).
    pub qps: f64,
    /// Bumped to cancel a pending arrival after a rate change.
    pub arrival_epoch: u32,
    pub arrival_pending: bool,
    /// An active ramp: (start time, start qps, end time, end qps).
    pub ramp: Option<(u64, f64, u64, f64)>,
    pub ramp_epoch: u32,
    /// Round-robin cursor over destinations (plain DNS spreading).
    pub next_dest: usize,
    pub content_rng: SimRng,
    /// Closed loop: which users are thinking or waiting for a reply. A user the client drops
    /// (it was down, or there were fewer users) is restarted once, never twice.
    pub user_active: Vec<bool>,
    key_zipf: Option<Zipf<f64>>,
    user_zipf: Option<Zipf<f64>>,
}

impl ClientState {
    /// Traffic state for `params`, drawing content from `content_rng`.
    pub fn new(params: &ClientParams, content_rng: SimRng) -> Self {
        let mut c = ClientState {
            params: params.clone(),
            qps: params.qps,
            arrival_epoch: 0,
            arrival_pending: false,
            ramp: None,
            ramp_epoch: 0,
            next_dest: 0,
            content_rng,
            user_active: Vec::new(),
            key_zipf: None,
            user_zipf: None,
        };
        c.set_params(params);
        c
    }

    /// Adopt changed parameters, keeping the generator and cursor.
    pub fn set_params(&mut self, params: &ClientParams) {
        self.params = params.clone();
        self.key_zipf = match params.key_dist {
            KeyDist::Zipf if params.key_zipf_alpha > 0.0 => {
                Zipf::new(f64::from(params.keys.max(1)), params.key_zipf_alpha).ok()
            }
            _ => None,
        };
        self.user_zipf = if params.user_zipf_alpha > 0.0 && params.mode == LoopMode::Open {
            Zipf::new(f64::from(params.users.max(1)), params.user_zipf_alpha).ok()
        } else {
            None
        };
    }

    /// The gap to the next open-loop arrival at the current rate, or `None` at rate 0.
    pub fn gap_ns(&self, rng: &mut SimRng) -> Option<u64> {
        if self.qps.is_nan() || self.qps <= 0.0 || self.params.mode != LoopMode::Open {
            return None;
        }
        let mean_ns = 1e9 / self.qps;
        let gap = match self.params.arrivals {
            Arrivals::Poisson => {
                let e: f64 = Exp1.sample(rng);
                e * mean_ns
            }
            Arrivals::Constant => mean_ns,
        };
        Some((gap.round() as u64).max(1))
    }

    /// Mark a closed-loop user as thinking or waiting; false when it already was.
    pub fn activate(&mut self, user: u32) -> bool {
        let i = user as usize;
        if self.user_active.len() <= i {
            self.user_active.resize(i + 1, false);
        }
        !std::mem::replace(&mut self.user_active[i], true)
    }

    /// A closed-loop user stops (its client is down, or it is beyond `users`).
    pub fn deactivate(&mut self, user: u32) {
        if let Some(a) = self.user_active.get_mut(user as usize) {
            *a = false;
        }
    }

    /// A think time for a closed-loop user.
    pub fn think_ns(&self, rng: &mut SimRng) -> u64 {
        let e: f64 = Exp1.sample(rng);
        (e * self.params.think_ms * 1e6).round() as u64
    }

    /// Draw (key, read) for a request.
    pub fn draw_content(&mut self) -> (u32, bool) {
        let keys = self.params.keys.max(1);
        let key = match &self.key_zipf {
            Some(z) => (z.sample(&mut self.content_rng) as u32).clamp(1, keys),
            None => self.content_rng.random_range(1..=keys),
        };
        let read = self.content_rng.random::<f64>() < self.params.read_share;
        (key, read)
    }

    /// Draw the user of an open-loop request.
    pub fn draw_user(&mut self) -> u32 {
        let users = self.params.users.max(1);
        match &self.user_zipf {
            Some(z) => (z.sample(&mut self.content_rng) as u32).clamp(1, users) - 1,
            None => self.content_rng.random_range(0..users),
        }
    }
}

/// One downstream step of a caller: the instances behind one wire.
#[derive(Clone, Debug)]
pub struct Route {
    pub to_node: NodeId,
    pub units: Vec<u32>,
    pub latency_ns: u64,
    /// The wire's weight (for weighted balancing).
    pub weight: u32,
    /// Round-robin cursor over `units` when the caller is not a balancer.
    pub next: usize,
}

/// What kind of instance, with its kind-specific state.
#[derive(Clone, Debug)]
pub enum Role {
    Client(Box<ClientState>),
    Balancer {
        balancer: Balancer,
        latency_ns: u64,
        /// Every member behind every wire, with the wire's latency.
        backends: Vec<Backend>,
        backend_latency_ns: Vec<u64>,
        /// The instance picked last, for the window.
        last_pick: Option<u32>,
    },
    /// An app server or database: workers and a queue.
    Server {
        service: ServiceModel,
    },
}

/// Statistics of one instance, integrated over time.
#[derive(Clone, Debug, Default)]
pub struct UnitStats {
    /// Calls that reached the instance.
    pub calls: u64,
    pub served: u64,
    pub failed: u64,
    /// Integrals over time (ns x count) since the last reset.
    pub cpu_area: u128,
    pub held_area: u128,
    pub capacity_area: u128,
    pub queue_area: u128,
    pub max_queue: u32,
    /// Expected service demand of arrived calls, ns, for the offered load.
    pub demand_ns: f64,
    pub last_ns: u64,
    pub since_ns: u64,
}

/// One simulated instance.
#[derive(Clone, Debug)]
pub struct Unit {
    pub node: NodeId,
    pub member: u32,
    pub kind: KindTag,
    /// `name` for a single node, `name[i]` for a pool member.
    pub name: String,
    pub alive: bool,
    /// Removed from the layout (kept so indexes stay stable).
    pub removed: bool,
    /// Service time multiplier (slow-down fault).
    pub slow: f64,
    pub role: Role,
    pub workers: u32,
    pub queue_capacity: u32,
    /// Calls waiting for a worker.
    pub queue: VecDeque<u32>,
    /// Workers doing CPU work.
    pub serving: u32,
    /// Workers held (serving or waiting on downstream calls).
    pub held: u32,
    /// Downstream steps, in wire order (clients spread over them; app servers call each in turn).
    pub routes: Vec<Route>,
    pub rng: SimRng,
    pub stats: UnitStats,
    /// Counters at the previous series sample.
    pub sampled_served: u64,
    pub sampled_cpu_area: u128,
    pub sampled_capacity_area: u128,
}

impl Unit {
    /// A fresh instance of `kind` for node `node`, member `member`.
    pub fn new(
        seed: u64,
        node: NodeId,
        member: u32,
        name: String,
        kind: &NodeKind,
        now_ns: u64,
    ) -> Self {
        let stream_kind = match kind {
            NodeKind::Client(_) => Stream::Arrivals,
            NodeKind::LoadBalancer(_) => Stream::Balance,
            _ => Stream::Service,
        };
        let rng = stream(seed, node.0, member, stream_kind);
        let role = match kind {
            NodeKind::Client(p) => Role::Client(Box::new(ClientState::new(
                p,
                stream(seed, node.0, member, Stream::Content),
            ))),
            NodeKind::LoadBalancer(p) => Role::Balancer {
                balancer: Balancer::new(p.algorithm, p.virtual_nodes),
                latency_ns: ms_to_ns(p.latency_ms),
                backends: Vec::new(),
                backend_latency_ns: Vec::new(),
                last_pick: None,
            },
            NodeKind::AppServer(p) => Role::Server {
                service: ServiceModel::new(p.service, p.service_ms, p.service_ms, p.service_cv),
            },
            NodeKind::Database(p) => Role::Server {
                service: ServiceModel::new(p.service, p.read_ms, p.write_ms, p.service_cv),
            },
        };
        let (workers, queue_capacity) = match kind {
            NodeKind::AppServer(p) => (p.workers, p.queue_capacity),
            NodeKind::Database(p) => (p.workers, p.queue_capacity),
            _ => (0, 0),
        };
        Unit {
            node,
            member,
            kind: kind.tag(),
            name,
            alive: true,
            removed: false,
            slow: 1.0,
            role,
            workers,
            queue_capacity,
            queue: VecDeque::new(),
            serving: 0,
            held: 0,
            routes: Vec::new(),
            rng,
            stats: UnitStats {
                last_ns: now_ns,
                since_ns: now_ns,
                ..Default::default()
            },
            sampled_served: 0,
            sampled_cpu_area: 0,
            sampled_capacity_area: 0,
        }
    }

    /// Take the node's changed parameters, keeping queues, state and statistics.
    pub fn set_params(&mut self, kind: &NodeKind) {
        match (&mut self.role, kind) {
            (Role::Client(c), NodeKind::Client(p)) => {
                let rate_changed = c.params.qps != p.qps;
                c.set_params(p);
                if rate_changed {
                    c.qps = p.qps;
                    c.ramp = None;
                }
            }
            (
                Role::Balancer {
                    balancer,
                    latency_ns,
                    ..
                },
                NodeKind::LoadBalancer(p),
            ) => {
                *latency_ns = ms_to_ns(p.latency_ms);
                if balancer.algorithm() != p.algorithm {
                    *balancer = Balancer::new(p.algorithm, p.virtual_nodes);
                }
            }
            (Role::Server { service }, NodeKind::AppServer(p)) => {
                *service = ServiceModel::new(p.service, p.service_ms, p.service_ms, p.service_cv);
                self.workers = p.workers;
                self.queue_capacity = p.queue_capacity;
            }
            (Role::Server { service }, NodeKind::Database(p)) => {
                *service = ServiceModel::new(p.service, p.read_ms, p.write_ms, p.service_cv);
                self.workers = p.workers;
                self.queue_capacity = p.queue_capacity;
            }
            _ => {}
        }
    }

    /// Bring the time integrals up to `now_ns`. Call before changing any counted quantity.
    #[inline]
    pub fn integrate(&mut self, now_ns: u64) {
        let s = &mut self.stats;
        let dt = u128::from(now_ns.saturating_sub(s.last_ns));
        if dt > 0 {
            s.cpu_area += u128::from(self.serving) * dt;
            s.held_area += u128::from(self.held) * dt;
            if self.alive {
                s.capacity_area += u128::from(self.workers) * dt;
            }
            s.queue_area += self.queue.len() as u128 * dt;
            s.last_ns = now_ns;
        }
    }

    /// Start counting afresh at `now_ns` (end of the warm-up).
    pub fn reset_stats(&mut self, now_ns: u64) {
        self.integrate(now_ns);
        self.stats = UnitStats {
            last_ns: now_ns,
            since_ns: now_ns,
            max_queue: self.queue.len() as u32,
            ..Default::default()
        };
        self.sampled_served = 0;
        self.sampled_cpu_area = 0;
        self.sampled_capacity_area = 0;
    }
}
