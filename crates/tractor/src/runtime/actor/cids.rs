//! Call ids: this actor's uuid and a counter.
//!
//! A cid only has to be unique on the connection it travels on, and both
//! ends of a connection open dialogs in one table, so ids from two actors
//! must not collide: the actor's uuid (already drawn once at start) as a
//! prefix, a per-actor counter after it. A uuid4 per call cost a
//! `getrandom` system call on every `Portal::run`; this costs an atomic
//! increment and one small string. On the wire a cid is still a string
//! (Python tractor's are `str(uuid4())`; it never parses them).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Hands out this actor's call ids: `<actor uuid>-<n>`, `n` from 1.
#[derive(Debug)]
pub(crate) struct CidSource {
    prefix: String,
    next: AtomicU64,
}

impl CidSource {
    /// Ids prefixed with `actor_uuid`.
    pub(crate) fn new(actor_uuid: &str) -> Self {
        CidSource {
            prefix: format!("{actor_uuid}-"),
            next: AtomicU64::new(1),
        }
    }

    /// The next id (never the same twice for this source).
    pub(crate) fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut s = String::with_capacity(self.prefix.len() + 20);
        s.push_str(&self.prefix);
        // Writing to a String cannot fail.
        let _ = write!(s, "{n}");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_actor_prefix_and_a_counter() {
        let a = CidSource::new("7b3c0a52-0d1e-4f7a-9a41-2f0c5e6d7a8b");
        assert_eq!(a.next(), "7b3c0a52-0d1e-4f7a-9a41-2f0c5e6d7a8b-1");
        assert_eq!(a.next(), "7b3c0a52-0d1e-4f7a-9a41-2f0c5e6d7a8b-2");
    }

    #[test]
    fn two_actors_never_share_an_id() {
        let a = CidSource::new("aaaa");
        let b = CidSource::new("bbbb");
        let from_a: Vec<String> = (0..100).map(|_| a.next()).collect();
        let from_b: Vec<String> = (0..100).map(|_| b.next()).collect();
        assert!(from_a.iter().all(|id| !from_b.contains(id)));
        let mut uniq = from_a.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), from_a.len());
    }
}
