//! tractor: distributed structured concurrency.
pub mod ipc;
pub mod msg;
