//! Developer experience: logging with actor names, panic capture,
//! process titles, termination signals, ptrace permission in debug mode,
//! and the task registry behind task-tree dumps.

pub mod logging;
pub mod panics;
pub mod proctitle;
pub mod ptrace;
pub mod signals;
pub mod tasktree;
