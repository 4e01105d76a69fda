//! A program on a real pseudo-terminal, for tests of what a person at a
//! terminal sees and types (debug mode's crash cards, keys, Ctrl-C).
//!
//! The terminal is made with `openpty(3)`: the program runs in a new
//! session whose controlling terminal is the pty's slave side, as in a
//! shell; the test reads the master side and types on it. A thread reads
//! the master side into a channel, so waiting for text has a deadline
//! instead of blocking forever.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The master side of a pty with a program on its slave side. Dropped
/// before [`Terminal::wait_exit`] saw the program exit (a failed test),
/// it kills the program's process group, so a failure leaves nothing
/// running (its actors follow their parent through `PR_SET_PDEATHSIG`).
#[derive(Debug)]
pub struct Terminal {
    master: std::fs::File,
    bytes: mpsc::Receiver<Vec<u8>>,
    limit: Duration,
    /// The program's pid (its session and process group).
    leader: u32,
    exited: bool,
    /// Everything read so far.
    pub screen: String,
    /// Where the next [`Terminal::expect`] starts searching.
    pub cursor: usize,
}

fn openpty() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds into the given ints; the name,
    // termios and window-size pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just opened by openpty and are ours alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) })
}

impl Terminal {
    /// Starts `cmd` with the pty as its stdin, stdout, stderr and
    /// controlling terminal; each wait on the terminal gives up after
    /// `limit`.
    pub fn start(cmd: &mut Command, limit: Duration) -> std::io::Result<(Terminal, Child)> {
        let (master, slave) = openpty()?;
        cmd.stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: between fork and exec only async-signal-safe calls:
        // setsid and ioctl(TIOCSCTTY) make the slave our controlling
        // terminal, with our process group in the foreground.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        let master = std::fs::File::from(master);
        let mut reader = master.try_clone()?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with EIO once every slave fd is closed.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Ok((
            Terminal {
                master,
                bytes: rx,
                limit,
                leader: child.id(),
                exited: false,
                screen: String::new(),
                cursor: 0,
            },
            child,
        ))
    }

    /// Waits for `needle` after the cursor; moves the cursor past it and
    /// returns the text from the old cursor to its end. Panics (with the
    /// whole screen) when it does not come within the limit.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + self.limit;
        loop {
            if let Some(at) = self.screen[self.cursor..].find(needle) {
                let start = self.cursor;
                self.cursor += at + needle.len();
                return self.screen[start..self.cursor].to_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.bytes.recv_timeout(left) {
                Ok(b) => self.screen.push_str(&String::from_utf8_lossy(&b)),
                Err(_) => panic!(
                    "no {needle:?} on the terminal within {:?}; it shows:\n{}",
                    self.limit, self.screen
                ),
            }
        }
    }

    /// The whole line (trimmed) on which `label` next appears.
    pub fn line_after(&mut self, label: &str) -> String {
        self.expect(label);
        self.expect("\n");
        let end = self.cursor;
        let line = &self.screen[..end];
        line[line[..end - 1].rfind('\n').map_or(0, |i| i + 1)..end]
            .trim()
            .to_owned()
    }

    /// Types `keys`.
    pub fn press(&mut self, keys: &str) {
        self.master
            .write_all(keys.as_bytes())
            .expect("write to the pty");
    }

    /// Waits for `child` to exit (reading the terminal meanwhile); panics
    /// with the screen when it runs past the limit.
    pub fn wait_exit(&mut self, child: &mut Child) -> ExitStatus {
        let deadline = Instant::now() + self.limit;
        loop {
            if let Some(st) = child.try_wait().expect("wait for the program") {
                self.exited = true;
                return st;
            }
            assert!(Instant::now() < deadline, "still running:\n{}", self.screen);
            // Wake on output or look again: the timeout only bounds how
            // late the exit is noticed.
            if let Ok(b) = self.bytes.recv_timeout(Duration::from_millis(50)) {
                self.screen.push_str(&String::from_utf8_lossy(&b));
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.exited {
            return;
        }
        if let Ok(pgid) = libc::pid_t::try_from(self.leader) {
            // SAFETY: killpg takes two integers; the group is the
            // program's own (it is unreaped, so the id is not reused).
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}
