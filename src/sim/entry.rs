//! The entry tier: a floating IP over an active-passive pair of balancers, or a DNS name over
//! several (active-active), with clients caching DNS answers for their TTL.

use std::collections::BTreeMap;

use crate::layout::{EntryMode, EntryParams, ms_to_ns, s_to_ns};

/// An entry instance in the core.
#[derive(Clone, Debug)]
pub struct EntryState {
    pub params: EntryParams,
    /// Floating IP: the index (in wire order) of the balancer holding the IP.
    pub active: usize,
    /// Floating IP: heartbeats missed in a row by the active balancer.
    pub missed: u32,
    /// Health-checked DNS: balancers in the answers, and failed checks in a row.
    pub in_dns: Vec<bool>,
    pub fails: Vec<u32>,
    /// DNS answers cached by clients: client address hash -> (target index, expiry).
    cache: BTreeMap<u64, (usize, u64)>,
    /// Round-robin cursor of the DNS answers.
    next: usize,
    /// Failovers so far (floating IP).
    pub failovers: u64,
}

impl EntryState {
    /// Bytes of its DNS state and the clients' cached answers (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        use super::footprint::{btree, vec};
        std::mem::size_of::<EntryState>() as u64
            + vec(&self.in_dns, self.in_dns.capacity())
            + vec(&self.fails, self.fails.capacity())
            + btree::<u64, (usize, u64)>(self.cache.len())
    }

    /// An entry with these settings.
    pub fn new(params: &EntryParams) -> Self {
        EntryState {
            params: params.clone(),
            active: 0,
            missed: 0,
            in_dns: Vec::new(),
            fails: Vec::new(),
            cache: BTreeMap::new(),
            next: 0,
            failovers: 0,
        }
    }

    /// Adopt changed settings.
    pub fn set_params(&mut self, params: &EntryParams) {
        if params.mode != self.params.mode {
            self.cache.clear();
        }
        self.params = params.clone();
    }

    /// Size the per-target state for `n` balancers.
    pub fn set_targets(&mut self, n: usize) {
        self.in_dns.resize(n, true);
        self.fails.resize(n, 0);
        if self.active >= n {
            self.active = 0;
        }
    }

    /// The time between two checks (heartbeats or DNS health checks), ns.
    pub fn check_interval_ns(&self) -> u64 {
        match self.params.mode {
            EntryMode::FloatingIp => ms_to_ns(self.params.heartbeat_ms).max(1),
            EntryMode::DnsHealthChecked => ms_to_ns(self.params.check_interval_ms).max(1),
            EntryMode::DnsRoundRobin => 0,
        }
    }

    /// Which of `n` balancers a client's request goes to.
    pub fn target(&mut self, client: u64, n: usize, now_ns: u64) -> Option<usize> {
        if n == 0 {
            return None;
        }
        match self.params.mode {
            EntryMode::FloatingIp => Some(self.active.min(n - 1)),
            EntryMode::DnsRoundRobin | EntryMode::DnsHealthChecked => {
                if let Some(&(i, expires)) = self.cache.get(&client)
                    && now_ns < expires
                    && i < n
                {
                    return Some(i);
                }
                let candidates: Vec<usize> = (0..n)
                    .filter(|&i| {
                        self.params.mode == EntryMode::DnsRoundRobin
                            || self.in_dns.get(i).copied().unwrap_or(true)
                    })
                    .collect();
                // With every balancer dropped, DNS still answers with all of them.
                let pool: Vec<usize> = if candidates.is_empty() {
                    (0..n).collect()
                } else {
                    candidates
                };
                let i = pool[self.next % pool.len()];
                self.next = self.next.wrapping_add(1);
                let ttl = s_to_ns(self.params.dns_ttl_s);
                self.cache.insert(client, (i, now_ns.saturating_add(ttl)));
                Some(i)
            }
        }
    }

    /// One heartbeat (floating IP) or one round of DNS checks, given which balancers are up.
    pub fn check(&mut self, up: &[bool]) {
        match self.params.mode {
            EntryMode::FloatingIp => {
                if up.get(self.active).copied().unwrap_or(false) {
                    self.missed = 0;
                    return;
                }
                self.missed += 1;
                if self.missed >= self.params.missed_beats.max(1) {
                    // The standby takes the IP: the next balancer in wire order that is up.
                    let n = up.len();
                    if let Some(next) = (1..=n).map(|k| (self.active + k) % n).find(|&i| up[i]) {
                        self.active = next;
                        self.failovers += 1;
                    }
                    self.missed = 0;
                }
            }
            EntryMode::DnsHealthChecked => {
                for (i, &ok) in up.iter().enumerate() {
                    if ok {
                        self.fails[i] = 0;
                        self.in_dns[i] = true;
                    } else {
                        self.fails[i] += 1;
                        if self.fails[i] >= self.params.check_threshold.max(1) {
                            self.in_dns[i] = false;
                        }
                    }
                }
            }
            EntryMode::DnsRoundRobin => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floating_ip_fails_over_after_missed_beats() {
        let mut e = EntryState::new(&EntryParams {
            missed_beats: 3,
            ..Default::default()
        });
        e.set_targets(2);
        assert_eq!(e.target(1, 2, 0), Some(0));
        e.check(&[false, true]);
        e.check(&[false, true]);
        assert_eq!(e.target(1, 2, 0), Some(0), "still on the dead active");
        e.check(&[false, true]);
        assert_eq!(e.target(1, 2, 0), Some(1), "the standby took over");
        assert_eq!(e.failovers, 1);
    }

    #[test]
    fn dns_answers_are_cached_for_the_ttl() {
        let mut e = EntryState::new(&EntryParams {
            mode: EntryMode::DnsHealthChecked,
            dns_ttl_s: 10.0,
            check_threshold: 1,
            ..Default::default()
        });
        e.set_targets(2);
        let first = e.target(7, 2, 0);
        e.check(&[false, true]);
        e.check(&[false, true]);
        assert_eq!(
            e.target(7, 2, 1_000),
            first,
            "cached until the TTL runs out"
        );
        assert_eq!(e.target(7, 2, 11_000_000_000), Some(1), "then follows DNS");
    }
}
