//! Where a repository's runtime state lives: `<runtime root>/<scope id>/`
//! with `scope id = repo-<first 12 hex of sha256(repo path)>` (contract
//! §3.2). The root is `RUN_SH_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/envctl`,
//! else `$XDG_STATE_HOME/envctl`, else `~/.local/state/envctl`, created
//! owner-only (§10.6: never a world-writable `/tmp` default).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The runtime root.
pub fn runtime_root() -> PathBuf {
    if let Some(d) = std::env::var_os("RUN_SH_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("envctl");
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("envctl");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/root".into());
    home.join(".local/state/envctl")
}

/// The scope id of a repository.
pub fn scope_id(repo: &Path) -> String {
    if let Ok(id) = std::env::var("ENVCTL_RUNTIME_SCOPE_ID")
        && !id.is_empty()
    {
        return id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
    }
    let digest = Sha256::digest(repo.to_string_lossy().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("repo-{}", &hex[..12])
}

/// The scope folder, created owner-only if missing.
pub fn scope_dir(repo: &Path) -> std::io::Result<PathBuf> {
    let dir = runtime_root().join(scope_id(repo));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    Ok(dir)
}
