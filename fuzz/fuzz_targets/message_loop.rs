//! Drives an actor's message loop with arbitrary message sequences
//! (out-of-order `Started`, `Yield` after `Stop`, unknown cids, `Return`
//! for calls never made, wrong functypes, odd `Error`s, garbage frames):
//! nothing may panic or hang, and nothing may be left behind once the
//! connection closes. The harness is shared with the stable corpus replay
//! test (`crates/tractor/tests/fuzz_corpus.rs`); see its module docs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/tractor/tests/fuzzing/message_loop.rs"]
mod message_loop;

fuzz_target!(|data: &[u8]| message_loop::run(data));
