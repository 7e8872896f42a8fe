//! Typed indices into the core's tables: instances, calls, requests and wire policies. Each is
//! a `u32` (the tables stay far below 2^32 entries, see `limits.rs`), so events stay small, and
//! a table is indexed only by its own kind of index.
//!
//! An index is stored bit-inverted in a `NonZeroU32`, so `u32::MAX` is never a valid index and
//! `Option<index>` takes four bytes, as the `u32::MAX` "none" sentinels it replaces did (a
//! call's parent is one, in every call slot).

use super::unit::Unit;
use super::{Call, Req, WirePolicy};

/// Define an index type into a `Vec<$elem>`: a bit-inverted `NonZeroU32`, ordered by position.
macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident => $elem:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(::std::num::NonZeroU32);

        impl $name {
            /// The position in its table.
            #[inline]
            pub fn index(self) -> usize {
                (!self.0.get()) as usize
            }

            /// The index of position `i` of its table (below `u32::MAX`: the limits keep every
            /// table far smaller).
            #[inline]
            pub fn at(i: usize) -> Self {
                debug_assert!(i < u32::MAX as usize, "index {i} out of range");
                $name(::std::num::NonZeroU32::new(!(i as u32)).unwrap_or(::std::num::NonZeroU32::MIN))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> ::std::cmp::Ordering {
                self.index().cmp(&other.index())
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<::std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.index())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}", self.index())
            }
        }

        impl ::std::ops::Index<$name> for Vec<$elem> {
            type Output = $elem;
            #[inline]
            fn index(&self, i: $name) -> &$elem {
                &self[i.index()]
            }
        }

        impl ::std::ops::IndexMut<$name> for Vec<$elem> {
            #[inline]
            fn index_mut(&mut self, i: $name) -> &mut $elem {
                &mut self[i.index()]
            }
        }
    };
}

pub(super) use index_type;

index_type!(
    /// An instance ("unit") of the running core: stable for the whole run (a removed instance
    /// keeps its index). `Sim::unit_info` tells what it is.
    UnitIx => Unit
);
index_type!(
    /// A call slot (reused once the call has ended; an epoch tells uses apart).
    CallIx => Call
);
index_type!(
    /// A request slot (reused once nothing refers to the request).
    ReqIx => Req
);
index_type!(
    /// A wire's timeout and retry policy (append-only: one per wire ever seen).
    PolicyIx => WirePolicy
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_round_trips_orders_by_position_and_an_option_of_it_is_four_bytes() {
        for i in [0, 1, 7, 1 << 20, u32::MAX as usize - 1] {
            assert_eq!(CallIx::at(i).index(), i);
        }
        assert!(UnitIx::at(2) < UnitIx::at(10));
        assert_eq!(std::mem::size_of::<Option<CallIx>>(), 4);
    }
}
