//! The daemon's in-memory tail of every log it supervises: the last
//! [`KEEP_LINES`] lines of each, and a broadcast of every new line, which
//! `logs -f` streams from.
//!
//! The tail follows the files the log relays write (not the pipes: those
//! belong to the relays, so that a `kill -9` of the daemon never hurts a
//! service). A file is followed through its open handle: when the relay
//! rotates it (a rename), the rest of the old file is read through that
//! handle first, then the new file from its start — no line is lost or
//! doubled across a rotation. A file truncated in place (Postgres's log,
//! rotated by copy-truncate) is read again from its start.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::procs::relay::rotated;

/// Lines kept per log.
pub const KEEP_LINES: usize = 1000;

/// How far back a log first seen is read (its older part is not tail).
const FIRST_READ: u64 = 256 * 1024;

/// One new line of a log.
#[derive(Debug, Clone)]
pub struct Line {
    /// The log file.
    pub path: PathBuf,
    /// `[<label>] <text>`.
    pub text: String,
}

struct Followed {
    label: String,
    file: Option<std::fs::File>,
    ino: u64,
    offset: u64,
    partial: Vec<u8>,
    lines: VecDeque<String>,
}

impl Followed {
    fn new(label: String) -> Self {
        Followed {
            label,
            file: None,
            ino: 0,
            offset: 0,
            partial: Vec::new(),
            lines: VecDeque::new(),
        }
    }

    /// Reads the rest of the open handle; complete lines come out.
    fn drain(&mut self, out: &mut Vec<String>) {
        let Some(f) = self.file.as_mut() else {
            return;
        };
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(self.offset)).is_ok() {
            let n = f.read_to_end(&mut buf).unwrap_or(0);
            self.offset += n as u64;
        }
        self.partial.extend_from_slice(&buf);
        while let Some(i) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            out.push(format!("[{}] {text}", self.label));
        }
    }

    /// Follows `path` from its start from now on.
    fn switch(&mut self, path: &Path) {
        self.file = std::fs::File::open(path).ok();
        self.ino = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.ino());
        self.offset = 0;
    }

    /// New complete lines of `path`, across rotations or a truncation.
    fn read(&mut self, path: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let now = std::fs::metadata(path).ok();
        if self.file.is_none() {
            let Ok(f) = std::fs::File::open(path) else {
                return out;
            };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            self.ino = f.metadata().map(|m| m.ino()).unwrap_or(0);
            self.offset = len.saturating_sub(FIRST_READ);
            self.file = Some(f);
            if self.offset > 0 {
                // Start at a line boundary: drop the partial first line.
                let mut skip = Vec::new();
                self.drain(&mut skip);
                return out;
            }
        }
        self.drain(&mut out);
        match now {
            Some(m) if m.ino() != self.ino => {
                // Rotated (maybe more than once since the last look): the
                // old file was read to its end above; the files rotated
                // after it are read oldest first, then the live one.
                let old = self.ino;
                let keep = crate::procs::relay::KEEP;
                let newer = (1..=keep)
                    .find(|n| std::fs::metadata(rotated(path, *n)).is_ok_and(|m| m.ino() == old))
                    .unwrap_or(keep + 1);
                for n in (1..newer).rev() {
                    self.switch(&rotated(path, n));
                    self.drain(&mut out);
                }
                self.switch(path);
                self.drain(&mut out);
            }
            Some(m) if m.len() < self.offset => {
                // Truncated in place.
                self.offset = 0;
                self.partial.clear();
                self.drain(&mut out);
            }
            _ => {}
        }
        out
    }
}

/// The tails of the logs the daemon supervises.
pub struct Tails {
    followed: Mutex<HashMap<PathBuf, Followed>>,
    tx: broadcast::Sender<Line>,
}

impl std::fmt::Debug for Tails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tails").finish_non_exhaustive()
    }
}

impl Default for Tails {
    fn default() -> Self {
        Tails {
            followed: Mutex::new(HashMap::new()),
            tx: broadcast::channel(4096).0,
        }
    }
}

impl Tails {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Followed>> {
        self.followed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads what is new in `logs` (label, path), keeps it and broadcasts
    /// it; forgets logs no longer listed.
    pub fn feed(&self, logs: &[(String, PathBuf)]) {
        let mut m = self.lock();
        m.retain(|p, _| logs.iter().any(|(_, q)| q == p));
        for (label, path) in logs {
            let f = m
                .entry(path.clone())
                .or_insert_with(|| Followed::new(label.clone()));
            for text in f.read(path) {
                if f.lines.len() == KEEP_LINES {
                    f.lines.pop_front();
                }
                f.lines.push_back(text.clone());
                let _ = self.tx.send(Line {
                    path: path.clone(),
                    text,
                });
            }
        }
    }

    /// The last `n` kept lines of each of `paths`, and every line after
    /// them (subscribed under the same lock the feeder holds: no gap, no
    /// line twice).
    pub fn follow(&self, paths: &[PathBuf], n: usize) -> (Vec<String>, broadcast::Receiver<Line>) {
        let m = self.lock();
        let mut head = Vec::new();
        for p in paths {
            if let Some(f) = m.get(p) {
                let skip = f.lines.len().saturating_sub(n);
                head.extend(f.lines.iter().skip(skip).cloned());
            }
        }
        (head, self.tx.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_loses_no_line_and_the_tail_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("svc.log");
        let tails = Tails::default();
        let logs = vec![("svc".to_owned(), log.clone())];
        let (_, mut rx) = tails.follow(std::slice::from_ref(&log), 0);
        std::fs::write(&log, "a\nb\n").unwrap();
        tails.feed(&logs);
        // Written to the old file after the last look, then rotated.
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::io::Write::write_all(&mut f, b"c\nd").unwrap();
        drop(f);
        crate::procs::relay::rotate(&log, 3).unwrap();
        std::fs::write(&log, "e\n").unwrap();
        tails.feed(&logs);
        let mut got = Vec::new();
        while let Ok(l) = rx.try_recv() {
            got.push(l.text);
        }
        assert_eq!(got, ["[svc] a", "[svc] b", "[svc] c", "[svc] de"]);
        let (head, _) = tails.follow(std::slice::from_ref(&log), 2);
        assert_eq!(head, ["[svc] c", "[svc] de"]);
        // Two rotations between two looks.
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::io::Write::write_all(&mut f, b"x\n").unwrap();
        drop(f);
        crate::procs::relay::rotate(&log, 3).unwrap();
        std::fs::write(&log, "g\n").unwrap();
        crate::procs::relay::rotate(&log, 3).unwrap();
        std::fs::write(&log, "h\n").unwrap();
        tails.feed(&logs);
        let mut got = Vec::new();
        while let Ok(l) = rx.try_recv() {
            got.push(l.text);
        }
        assert_eq!(got, ["[svc] x", "[svc] g", "[svc] h"]);
    }
}
