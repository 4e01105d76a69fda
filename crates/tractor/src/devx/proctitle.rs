//! The process title: `ps -o comm` and `/proc/PID/comm` show the actor's
//! name, so a tree of re-executed copies of one binary can be told apart.

/// Sets this thread's (for the main thread: the process's) name to
/// `name`, truncated to the kernel's 15 bytes.
pub fn set(name: &str) {
    let mut bytes: Vec<u8> = name.bytes().filter(|b| *b != 0).take(15).collect();
    bytes.push(0);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
    // bytes from the pointer, which `bytes` provides and outlives the call.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, bytes.as_ptr() as libc::c_ulong, 0, 0, 0);
    }
}
