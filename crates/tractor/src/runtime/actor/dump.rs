//! Task-tree dumps of every actor of this process (`SIGUSR1`, a hung
//! test): each tree goes to a file in the actor's runtime folder and to
//! stderr, file first, so whoever sees the stderr line can read the file.
//!
//! The dump reads the task registries from the calling thread (they are
//! plain data), so it works while an actor's runtime is blocked.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Actor, live_actor_handles};
use crate::runtime::peer::lock;

/// The folder, under an actor's bind-space folder, that holds its dumps.
pub const DUMP_DIR: &str = "task-trees";

/// The first line of each dump on stderr; names the actor and the file.
pub const DUMP_BANNER: &str = "tractor: task tree of";

/// Writes the task tree of every live actor of this process to
/// `<bind dir>/task-trees/<name>-<pid>-<uuid prefix>.txt` and to stderr,
/// headed by `reason`. Returns the files written.
pub fn dump_task_trees(reason: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for actor in live_actor_handles() {
        let tree = actor.task_tree();
        let file = match write_dump(&actor, reason, &tree) {
            Ok(f) => {
                files.push(f.clone());
                f.display().to_string()
            }
            Err(e) => format!("(not written: {e})"),
        };
        // One write: the actors of a tree share one stderr, and a write
        // (up to the pipe's atomic size) is not interleaved with theirs.
        let text = format!(
            "{DUMP_BANNER} '{}' ({reason}) -> {file}\n{tree}",
            actor.name()
        );
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
    files
}

fn write_dump(actor: &Actor, reason: &str, tree: &str) -> std::io::Result<PathBuf> {
    let dir = actor.runtime_vars().bind_dir.join(DUMP_DIR);
    std::fs::create_dir_all(&dir)?;
    let uuid: String = actor.uid().uuid.chars().take(8).collect();
    let name = format!("{}-{}-{uuid}.txt", actor.name(), std::process::id());
    let path = dir.join(sanitize(&name));
    write_atomically(&path, &format!("# {reason}\n{tree}"))?;
    Ok(path)
}

/// A file name from an actor name: path separators become `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect()
}

/// Writes through a temporary file and a rename: a reader never sees half
/// a dump.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The pids of the peers of this process's actors that completed the
/// handshake (a child on this list has installed its signal handlers: it
/// does so before dialing its parent).
pub fn connected_peer_pids() -> Vec<u32> {
    let mut pids: Vec<u32> = live_actor_handles()
        .iter()
        .flat_map(|a| {
            lock(&a.inner.peers)
                .values()
                .filter(|p| !p.gone.is_cancelled())
                .filter_map(|p| p.aid.pid.and_then(|p| u32::try_from(p).ok()))
                .collect::<Vec<_>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}
