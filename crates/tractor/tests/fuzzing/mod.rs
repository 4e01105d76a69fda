//! Fuzz harnesses shared with the cargo-fuzz targets under `fuzz/`.

pub mod message_loop;
