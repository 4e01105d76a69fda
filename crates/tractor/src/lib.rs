//! tractor: distributed structured concurrency.
pub mod msg;
