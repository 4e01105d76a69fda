//! The log relay (`envctl __log-relay`): a small process per launched
//! service that owns the read end of the service's output pipe and writes
//! it to the log file, rotating by rename at a size cap (`log` → `log.1`
//! → … → `log.<keep>`; the oldest is dropped).
//!
//! Why a process of its own and not the daemon: a pipe whose reader dies
//! gives its writer SIGPIPE, so the reader must not be the daemon (a
//! `kill -9` of the daemon must not hurt services). The relay runs in its
//! own session, carries the service's ownership marker (so `stop`,
//! `stop-all` and `blast-all` find it), ignores the termination signals and
//! ends at end-of-file — when the service and everything it forked have
//! exited — so it never loses what they wrote last.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Default cap of a log file (`ENVCTL_LOG_MAX_BYTES`).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Rotated files kept beside the live one.
pub const KEEP: u32 = 3;

static CAP: AtomicU64 = AtomicU64::new(DEFAULT_MAX_BYTES);

/// Sets the cap the next launches use (from the config of the command).
pub fn set_cap(bytes: u64) {
    CAP.store(bytes.max(1), Ordering::Relaxed);
}

/// The cap the next launch uses.
pub fn cap() -> u64 {
    CAP.load(Ordering::Relaxed)
}

/// `<log>.<n>`.
pub fn rotated(log: &Path, n: u32) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(format!(".{n}"));
    PathBuf::from(p)
}

/// Shifts `log.<keep-1>` → `log.<keep>` … `log` → `log.1` (renames: a
/// reader holding the old file open reads it to its end undisturbed).
pub fn rotate(log: &Path, keep: u32) -> std::io::Result<()> {
    for n in (1..keep).rev() {
        let from = rotated(log, n);
        if from.exists() {
            std::fs::rename(&from, rotated(log, n + 1))?;
        }
    }
    std::fs::rename(log, rotated(log, 1))
}

fn open(log: &Path) -> std::io::Result<(std::fs::File, u64)> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let len = f.metadata()?.len();
    Ok((f, len))
}

/// Copies `input` to `log` until end-of-file, rotating when the next chunk
/// would take the file past `max` bytes.
pub fn copy(input: &mut impl Read, log: &Path, max: u64, keep: u32) -> std::io::Result<()> {
    let (mut out, mut size) = open(log)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            let room = max.saturating_sub(size) as usize;
            if chunk.len() <= room {
                out.write_all(chunk)?;
                size += chunk.len() as u64;
                break;
            }
            // It does not fit: cut at the last line end that does, so a
            // line is whole in one file whenever it can be.
            match chunk[..room].iter().rposition(|b| *b == b'\n') {
                Some(i) => {
                    out.write_all(&chunk[..=i])?;
                    chunk = &chunk[i + 1..];
                }
                None if size == 0 => {
                    // One line longer than the cap: it gets a file of its own.
                    let end = chunk
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(chunk.len(), |i| i + 1);
                    out.write_all(&chunk[..end])?;
                    size += end as u64;
                    chunk = &chunk[end..];
                    continue;
                }
                None => {}
            }
            drop(out);
            rotate(log, keep)?;
            (out, size) = open(log)?;
        }
    }
}

/// `envctl __log-relay`: stdin → `log` until end-of-file.
pub fn run(log: &Path, max: u64, keep: u32) -> std::io::Result<()> {
    use nix::sys::signal::{SigHandler, Signal, signal};
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        // SAFETY: sets an ignore disposition; no handler code runs.
        unsafe {
            let _ = signal(s, SigHandler::SigIgn);
        }
    }
    copy(&mut std::io::stdin().lock(), log, max, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_at_the_cap_keeps_every_line_newest_in_the_live_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("svc.log");
        let text: String = (0..200).map(|i| format!("line {i:04}\n")).collect();
        // 10 bytes a line, a cap of 95: nine lines per file.
        copy(&mut text.as_bytes(), &log, 95, 30).unwrap();
        let mut all = String::new();
        for n in (1..=30).rev() {
            all.push_str(&std::fs::read_to_string(rotated(&log, n)).unwrap_or_default());
        }
        let live = std::fs::read_to_string(&log).unwrap();
        all.push_str(&live);
        assert_eq!(all, text, "nothing lost, nothing doubled, in order");
        assert!(live.ends_with("line 0199\n"), "{live}");
        for n in 1..=22 {
            let f = std::fs::read_to_string(rotated(&log, n)).unwrap();
            assert!(f.len() <= 95 && f.ends_with('\n'), "{n}: {f:?}");
        }
    }

    #[test]
    fn only_keep_rotated_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("svc.log");
        let text: String = (0..100).map(|i| format!("line {i:04}\n")).collect();
        copy(&mut text.as_bytes(), &log, 100, 2).unwrap();
        assert!(rotated(&log, 2).exists());
        assert!(!rotated(&log, 3).exists());
        let newest = format!(
            "{}{}{}",
            std::fs::read_to_string(rotated(&log, 2)).unwrap(),
            std::fs::read_to_string(rotated(&log, 1)).unwrap(),
            std::fs::read_to_string(&log).unwrap()
        );
        assert!(text.ends_with(&newest), "the newest lines, in order");
    }
}
