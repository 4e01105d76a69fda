//! Developer experience: logging with actor names, panic capture,
//! process titles.

pub mod logging;
pub mod panics;
pub mod proctitle;
pub mod signals;
