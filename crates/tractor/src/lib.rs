//! tractor: distributed structured concurrency.
pub mod ipc;
pub mod msg;
pub mod runtime;

pub use runtime::state::{RuntimeVars, SpawnMethod};
