//! Dependencies (Postgres, Redis), run natively: one file per dependency
//! behind [`Dependency`]. An instance is either shared by every worktree of
//! the repository scope (one database / key space per worktree) or
//! isolated (one server per worktree, `--isolated-deps`).

mod pg_ping;
mod postgres;
mod redis;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use postgres::{Postgres, instance_dir as postgres_instance_dir};
pub use redis::Redis;

use crate::procs::Ident;

impl Instance {
    /// Its server's log (`postgres.log`, `redis.log` in its folder).
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join(format!("{}.log", self.id))
    }

    /// `postgres (shared)`.
    pub fn label(&self) -> String {
        format!("{} ({})", self.id, self.owner)
    }

    /// Its marker, if it has one.
    pub fn marker(&self) -> Option<&str> {
        (!self.marker.is_empty()).then_some(self.marker.as_str())
    }
}

/// A running dependency server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    /// `postgres` or `redis`.
    pub id: String,
    /// `shared` or the project it belongs to.
    pub owner: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process.
    pub ident: Ident,
    /// Its data folder (kept by `stop-all`, removed by `blast-all --remove-volumes`).
    pub data_dir: PathBuf,
    /// Its ownership marker (`ENVCTL_OWNER`); empty in state written
    /// before markers existed.
    #[serde(default)]
    pub marker: String,
}

/// What went wrong starting a dependency.
#[derive(Debug, thiserror::Error)]
#[error("{dep}: {why}")]
pub struct DepError {
    /// Which dependency.
    pub dep: &'static str,
    /// What happened, with the command or file involved.
    pub why: String,
}

/// A native dependency.
pub trait Dependency: Send + Sync {
    /// `postgres`, `redis`.
    fn id(&self) -> &'static str;
    /// The config key of its base port.
    fn port_key(&self) -> &'static str;
    /// Starts a server on `port` with data in `dir`, carrying `owner`'s
    /// marker.
    fn start(
        &self,
        port: u16,
        dir: &std::path::Path,
        owner: &crate::procs::Owner,
    ) -> Result<Instance, DepError>;
    /// True when it answers (`pg_isready`, `PING`).
    fn ready(&self, inst: &Instance) -> bool;
    /// Stops it; data is kept.
    fn stop(&self, inst: &Instance);
    /// Prepares the namespaces of several projects on a shared server at
    /// once, before [`Dependency::project_env`] is asked for each (one
    /// round trip instead of one per project). Nothing to do by default.
    fn prepare_shared(&self, _inst: &Instance, _projects: &[String]) -> Result<(), DepError> {
        Ok(())
    }
    /// Prepares the per-project namespace on a shared server (a database,
    /// a Redis DB index) and returns the environment it projects.
    fn project_env(
        &self,
        inst: &Instance,
        project: &str,
        slot: u32,
        shared: bool,
    ) -> Result<Vec<(String, String)>, DepError>;
}
