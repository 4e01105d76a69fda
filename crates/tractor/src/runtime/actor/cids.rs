//! Call ids: this actor's uuid and a counter.
//!
//! A cid only has to be unique on the connection it travels on, and both
//! ends of a connection open dialogs in one table, so ids from two actors
//! must not collide: the actor's uuid (already drawn once at start) as a
//! prefix, a per-actor counter after it. A uuid4 per call cost a
//! `getrandom` system call on every `Portal::run`; this costs an atomic
//! increment and one small string. On the wire a cid is still a string
//! (Python tractor's are `str(uuid4())`; it never parses them).
//!
//! An id is an `Arc<str>`: the call, its dialog table's key and its
//! task-tree entry share one allocation.

use std::io::Write;
use std::sync::Arc;
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
    pub(crate) fn next(&self) -> Arc<str> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // Written on the stack, then one allocation for the `Arc`.
        let mut buf = [0u8; 96];
        let mut rest = &mut buf[..];
        if write!(rest, "{}{n}", self.prefix).is_ok() {
            let end = 96 - rest.len();
            if let Ok(id) = std::str::from_utf8(&buf[..end]) {
                return id.into();
            }
        }
        // A prefix longer than any uuid's.
        format!("{}{n}", self.prefix).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_actor_prefix_and_a_counter() {
        let a = CidSource::new("7b3c0a52-0d1e-4f7a-9a41-2f0c5e6d7a8b");
        assert_eq!(&*a.next(), "7b3c0a52-0d1e-4f7a-9a41-2f0c5e6d7a8b-1");
        assert_eq!(&*a.next(), "7b3c0a52-0d1e-4f7a-9a41-2f0c5e6d7a8b-2");
    }

    #[test]
    fn two_actors_never_share_an_id() {
        let a = CidSource::new("aaaa");
        let b = CidSource::new("bbbb");
        let from_a: Vec<_> = (0..100).map(|_| a.next()).collect();
        let from_b: Vec<_> = (0..100).map(|_| b.next()).collect();
        assert!(from_a.iter().all(|id| !from_b.contains(id)));
        let mut uniq = from_a.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), from_a.len());
    }

    #[test]
    fn a_prefix_too_long_for_the_stack_and_the_largest_counter_still_make_ids() {
        let long = "x".repeat(90);
        let a = CidSource::new(&long);
        a.next.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(&*a.next(), format!("{long}-{}", u64::MAX));
        let b = CidSource::new("7b3c0a52-0d1e-4f7a-9a41-2f0c5e6d7a8b");
        b.next.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(
            &*b.next(),
            format!("7b3c0a52-0d1e-4f7a-9a41-2f0c5e6d7a8b-{}", u64::MAX)
        );
    }
}
