//! The sleep/wake handshake of the two sides, written once for std atomics
//! (the ring) and once for `loom`'s (the model tests check this exact
//! code under every interleaving the memory model allows).
//!
//! Each side publishes its position and then looks at the other side's
//! "waiting" flag; a side about to sleep raises its flag and then looks
//! at the other's position once more. That is the store-buffering
//! (Dekker) pattern: with only release/acquire, both sides can miss each
//! other (each load reads the value from before the other's store), the
//! writer does not signal and the reader sleeps on a record in flight. A
//! `SeqCst` fence between each store and the following load rules that
//! out: at least one side sees the other's store.
//!
//! A publisher that sees the flag takes it down itself (a swap), so a
//! sleeper is signalled once however many batches are published before
//! it runs again: one wake-up per sleep, not one per batch.

/// Defines `publish` and `may_sleep` over the given atomic types and fence.
macro_rules! handshake {
    ($u32:ty, $u64:ty, $fence:path) => {
        /// Publishes this side's new position; true if the other side
        /// said it sleeps (it must be woken, and its flag is now down, so
        /// no later publish signals it again before it sleeps anew).
        pub(crate) fn publish(pos: &$u64, new: u64, other_waiting: &$u32) -> bool {
            pos.store(new, std::sync::atomic::Ordering::Release);
            $fence(std::sync::atomic::Ordering::SeqCst);
            // The plain load first: the busy path makes no read-modify-write
            // on the other side's cache line.
            other_waiting.load(std::sync::atomic::Ordering::Relaxed) != 0
                && other_waiting.swap(0, std::sync::atomic::Ordering::Relaxed) != 0
        }

        /// Raises this side's waiting flag, then checks `ready` once more:
        /// true means sleep (the other side will see the flag and wake
        /// us); false means go on (the flag is lowered again).
        pub(crate) fn may_sleep(waiting: &$u32, ready: impl Fn() -> bool) -> bool {
            waiting.store(1, std::sync::atomic::Ordering::Relaxed);
            $fence(std::sync::atomic::Ordering::SeqCst);
            if ready() {
                waiting.store(0, std::sync::atomic::Ordering::Relaxed);
                return false;
            }
            true
        }
    };
}
#[cfg(test)]
pub(super) use handshake;

handshake!(
    std::sync::atomic::AtomicU32,
    std::sync::atomic::AtomicU64,
    std::sync::atomic::fence
);

/// How many times a side looks again before it sleeps: bounded (a few
/// microseconds), so an idle side does not burn a core.
const SPINS: u32 = 256;

/// Checks `cond` up to [`SPINS`] times with a spin hint in between.
pub(super) fn spin_until(cond: impl Fn() -> bool) -> bool {
    for _ in 0..SPINS {
        if cond() {
            return true;
        }
        std::hint::spin_loop();
    }
    false
}
