//! Sticky sessions. By cookie: a user stays on the backend first chosen for them (round-robin)
//! while it is present and healthy. By IP: a client's address hash picks the backend by
//! rendezvous, so it is stable and only a down backend's clients move.

use std::collections::BTreeMap;

use super::rendezvous::highest_score;
use super::round_robin::RoundRobin;
use super::{Backend, Pick, Why};

/// Most sessions a cookie balancer remembers: the largest user population a layout allows.
/// Past it, new users are still served (round-robin) but not remembered.
pub const MAX_SESSIONS: usize = 10_000_000;

/// How a sticky-cookie pick went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stickiness {
    /// The user's backend is present and healthy: they stay.
    Stays,
    /// A new user: assigned round-robin and remembered.
    New,
    /// The user's backend is gone or down: re-assigned round-robin.
    Moved,
}

/// Sticky by session cookie: which backend (by stable key) each user was given.
#[derive(Clone, Debug, Default)]
pub struct StickyCookie {
    /// User hash -> backend key. The cookie a real balancer would set, kept here instead.
    sessions: BTreeMap<u64, u64>,
    first: RoundRobin,
}

impl StickyCookie {
    /// The user's remembered backend if it is present and healthy, else a round-robin pick,
    /// remembered for next time.
    pub fn pick(&mut self, backends: &[Backend], user: u64) -> Option<Pick> {
        let remembered = self.sessions.get(&user).copied();
        if let Some(key) = remembered
            && let Some(index) = backends.iter().position(|b| b.key == key && b.healthy)
        {
            let why = Why::StickyCookie {
                user,
                stickiness: Stickiness::Stays,
            };
            return Some(Pick { index, why });
        }
        let index = self.first.pick(backends)?.index;
        if remembered.is_some() || self.sessions.len() < MAX_SESSIONS {
            self.sessions.insert(user, backends[index].key);
        }
        let stickiness = if remembered.is_some() {
            Stickiness::Moved
        } else {
            Stickiness::New
        };
        let why = Why::StickyCookie { user, stickiness };
        Some(Pick { index, why })
    }

    /// Number of users remembered.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }
}

/// Sticky by client address: rendezvous hashing on the client hash over the healthy backends.
#[derive(Clone, Copy, Debug, Default)]
pub struct StickyIp;

impl StickyIp {
    /// The healthy backend scoring highest for `client` (a hash of the client's address).
    pub fn pick(&mut self, backends: &[Backend], client: u64) -> Option<Pick> {
        let index = highest_score(backends, client)?;
        Some(Pick {
            index,
            why: Why::StickyIp { client },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;

    fn index_and_stickiness(p: Option<Pick>) -> (usize, Stickiness) {
        match p {
            Some(Pick {
                index,
                why: Why::StickyCookie { stickiness, .. },
            }) => (index, stickiness),
            other => panic!("not a sticky-cookie pick: {other:?}"),
        }
    }

    #[test]
    fn cookie_users_stay_until_their_backend_goes_down() {
        let mut list = backends(3);
        let mut b = StickyCookie::default();
        // New users are spread round-robin.
        for (user, want) in [(10, 0), (11, 1), (12, 2), (13, 0)] {
            assert_eq!(
                index_and_stickiness(b.pick(&list, user)),
                (want, Stickiness::New)
            );
        }
        for _ in 0..3 {
            assert_eq!(
                index_and_stickiness(b.pick(&list, 11)),
                (1, Stickiness::Stays)
            );
        }
        list[1].healthy = false;
        let (moved_to, s) = index_and_stickiness(b.pick(&list, 11));
        assert_eq!(s, Stickiness::Moved);
        assert_ne!(moved_to, 1);
        // Back up: the user stays where they were moved, not where they started.
        list[1].healthy = true;
        assert_eq!(
            index_and_stickiness(b.pick(&list, 11)),
            (moved_to, Stickiness::Stays)
        );
        assert_eq!(b.sessions(), 4);
    }

    #[test]
    fn cookie_follows_the_backend_key_not_its_position() {
        let list = backends(3);
        let mut b = StickyCookie::default();
        let (first, _) = index_and_stickiness(b.pick(&list, 7));
        // The backend set is reordered: the user finds the same backend at its new index.
        let reordered = [list[2], list[0], list[1]];
        let (now, s) = index_and_stickiness(b.pick(&reordered, 7));
        assert_eq!(s, Stickiness::Stays);
        assert_eq!(reordered[now].unit, list[first].unit);
        let none_healthy: Vec<Backend> = list
            .iter()
            .map(|&b| Backend {
                healthy: false,
                ..b
            })
            .collect();
        assert!(b.pick(&none_healthy, 7).is_none());
    }

    #[test]
    fn ip_is_stable_and_only_a_down_backends_clients_move() {
        let mut list = backends(4);
        let before: Vec<Option<usize>> = (0..2_000u64)
            .map(|c| StickyIp.pick(&list, c).map(|p| p.index))
            .collect();
        list[3].healthy = false;
        for (c, &was) in before.iter().enumerate() {
            let now = StickyIp.pick(&list, c as u64).map(|p| p.index);
            if was == Some(3) {
                assert!(now.is_some_and(|i| i != 3));
            } else {
                assert_eq!(now, was, "client {c} moved");
            }
        }
        list.iter_mut().for_each(|b| b.healthy = false);
        assert!(StickyIp.pick(&list, 1).is_none());
    }
}
