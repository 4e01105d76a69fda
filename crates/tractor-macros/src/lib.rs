//! Attribute macros for `tractor`.
//!
//! They live in their own crate because Rust requires procedural macros to;
//! users reach them through `tractor` (`#[tractor::main]`, ...), never
//! directly.
