//! Developer experience: logging with actor names, panic capture,
//! process titles, termination signals, and the task registry behind
//! task-tree dumps.

pub mod logging;
pub mod panics;
pub mod proctitle;
pub mod signals;
pub mod tasktree;
