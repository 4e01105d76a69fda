//! Debug mode lets any process of the user attach a debugger
//! (`rust-gdb -p PID`, `lldb -p PID`) to an actor without root: under
//! Yama's `ptrace_scope = 1` (Ubuntu, Debian's default) only an ancestor
//! may attach otherwise, and the debugger a person starts in another
//! terminal is not one.

/// Allows ptrace attach from any process of the same user
/// (`PR_SET_PTRACER_ANY`). Returns false if the kernel refused (no Yama:
/// nothing to allow).
pub fn allow_any_tracer() -> bool {
    // SAFETY: PR_SET_PTRACER takes an integer argument and touches no
    // memory of ours.
    unsafe { libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0, 0, 0) == 0 }
}
