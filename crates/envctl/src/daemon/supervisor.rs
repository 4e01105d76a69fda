//! The supervisor: one watch per recorded process of the scope's active
//! runs. A watch waits on the process's pidfd (an event, not a poll; it
//! works for processes we adopted as well as for our own children), and
//! its exit is decided under the lifecycle lock against the durable
//! record: a process a CLI command stopped is left alone, one it replaced
//! is watched anew, and a crash is restarted by policy with backoff until
//! a crash loop marks it `failed`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::unix::AsyncFd;
use tokio_util::sync::CancellationToken;

use super::policy::{Decision, History, policy_for};
use crate::config::Config;
use crate::lifecycle::{self, active_runs, lock_wait};
use crate::procs::{self, Ident};
use crate::state::{self, RunState};

/// What a watch is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An app service: its run and record name.
    Service {
        /// The run.
        run: String,
        /// `<project> Backend`.
        name: String,
    },
    /// A dependency server: its run, id and owner.
    Dep {
        /// The run.
        run: String,
        /// `postgres`, `redis`.
        id: String,
        /// `shared` or the project.
        owner: String,
    },
}

impl Target {
    fn key(&self) -> String {
        match self {
            Target::Service { run, name } => format!("{run}/{name}"),
            Target::Dep { run, id, owner } => format!("{run}/{owner}/{id}"),
        }
    }

    fn run(&self) -> &str {
        match self {
            Target::Service { run, .. } | Target::Dep { run, .. } => run,
        }
    }

    fn label(&self) -> String {
        match self {
            Target::Service { name, .. } => name.clone(),
            Target::Dep { id, owner, .. } => format!("{id} ({owner})"),
        }
    }
}

struct Watch {
    ident: Ident,
    task: tokio::task::AbortHandle,
}

/// The daemon's supervisor.
pub struct Supervisor {
    /// The repository.
    pub repo: PathBuf,
    /// Its scope folder.
    pub scope: PathBuf,
    /// When the daemon started.
    pub started: Instant,
    watched: Mutex<HashMap<String, Watch>>,
    history: Mutex<HashMap<String, History>>,
    restarts: AtomicU64,
    busy: Arc<AtomicU64>,
    /// The in-memory tail of every supervised log.
    pub tails: super::tail::Tails,
    /// Cancelled to stop the daemon.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("scope", &self.scope)
            .field("watched", &self.watched_count())
            .finish()
    }
}

/// A CLI command in progress (see [`Supervisor::busy`]).
#[derive(Debug)]
pub struct Busy(Arc<AtomicU64>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What an exit leads to.
enum Step {
    /// Nothing more to do.
    Done,
    /// The record holds another process now: watch that one.
    Rewatch(Ident),
    /// Restart after this delay.
    Restart(Duration),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn load_run(scope: &Path, run_id: &str) -> Option<RunState> {
    let text =
        std::fs::read_to_string(scope.join("runs").join(run_id).join("run_state.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The config now; its defaults while the file is broken (a typo being
/// typed must not stop restarts).
fn config(repo: &Path) -> Config {
    Config::load(repo, Default::default()).unwrap_or_else(|e| {
        tracing::warn!("config: {e}; using defaults for restart decisions");
        Config::without_file(repo, e.to_string())
    })
}

/// Waits until `ident` exits (at once if it is already gone or the pid
/// was reused).
async fn exited(ident: Ident) {
    let Some(fd) = procs::pidfd(ident.pid) else {
        return;
    };
    // Opened the fd, then checked identity: the fd cannot refer to a
    // process that started after ours died.
    if !procs::alive(&ident) {
        return;
    }
    // SAFETY: `fd` is an OwnedFd: valid and open, and owned by the AsyncFd
    // (so not closed or replaced) for as long as the AsyncFd lives.
    let Ok(afd) = (unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) })
    else {
        return;
    };
    let _ = afd.readable().await;
}

impl Supervisor {
    /// A supervisor for `repo`'s scope.
    pub fn new(repo: &Path, scope: &Path) -> Arc<Self> {
        Arc::new(Supervisor {
            repo: repo.to_path_buf(),
            scope: scope.to_path_buf(),
            started: Instant::now(),
            watched: Mutex::new(HashMap::new()),
            history: Mutex::new(HashMap::new()),
            restarts: AtomicU64::new(0),
            busy: Arc::new(AtomicU64::new(0)),
            tails: super::tail::Tails::default(),
            shutdown: CancellationToken::new(),
        })
    }

    /// How many processes are watched.
    pub fn watched_count(&self) -> usize {
        lock(&self.watched).len()
    }

    /// Marks a CLI command in progress until the guard is dropped: the
    /// daemon does not call itself idle while it serves one.
    pub fn busy(&self) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.busy.clone())
    }

    /// True while a CLI command is served.
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst) > 0
    }

    /// Reads what is new in every log of the active runs into the tail.
    pub fn feed_logs(&self) {
        let logs: Vec<(String, PathBuf)> = active_runs(&self.scope)
            .iter()
            .flat_map(|r| crate::inspect::log_files(r, &[], None))
            .collect();
        self.tails.feed(&logs);
    }

    /// Restarts done since the daemon started.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Brings the watches in line with the record: every live or dead
    /// process of an active run that is not stopped or failed is watched
    /// (a dead one fires at once: the re-adoption after a daemon crash).
    pub fn sync(self: &Arc<Self>) {
        let mut want: HashMap<String, (Target, Ident)> = HashMap::new();
        for run in active_runs(&self.scope) {
            for rec in run.services.values() {
                if matches!(rec.status.as_str(), "stopped" | "failed") || rec.pid == 0 {
                    continue;
                }
                let t = Target::Service {
                    run: run.run_id.clone(),
                    name: rec.name.clone(),
                };
                want.insert(t.key(), (t, rec.ident()));
            }
            for d in &run.dependencies {
                let t = Target::Dep {
                    run: run.run_id.clone(),
                    id: d.id.clone(),
                    owner: d.owner.clone(),
                };
                // A shared server recorded by two runs is watched once.
                if want.values().any(|(_, i)| *i == d.ident) {
                    continue;
                }
                want.insert(t.key(), (t, d.ident));
            }
        }
        let mut w = lock(&self.watched);
        w.retain(|k, watch| {
            let keep = want.get(k).is_some_and(|(_, i)| *i == watch.ident);
            if !keep {
                watch.task.abort();
            }
            keep
        });
        for (k, (target, ident)) in want {
            w.entry(k).or_insert_with(|| Watch {
                ident,
                task: self.spawn_watch(target, ident),
            });
        }
    }

    fn spawn_watch(self: &Arc<Self>, target: Target, ident: Ident) -> tokio::task::AbortHandle {
        let sup = self.clone();
        tokio::spawn(async move {
            exited(ident).await;
            let status = procs::children::reap(ident.pid);
            sup.on_exit(target, ident, status).await;
        })
        .abort_handle()
    }

    fn watch(self: &Arc<Self>, target: Target, ident: Ident) {
        let task = self.spawn_watch(target.clone(), ident);
        if let Some(old) = lock(&self.watched).insert(target.key(), Watch { ident, task }) {
            old.task.abort();
        }
    }

    async fn on_exit(self: Arc<Self>, target: Target, ident: Ident, status: Option<i32>) {
        {
            let mut w = lock(&self.watched);
            if w.get(&target.key()).is_some_and(|x| x.ident == ident) {
                w.remove(&target.key());
            }
        }
        tracing::info!(what = %target.label(), pid = ident.pid, ?status, "exited");
        let mut status = status;
        loop {
            let (sup, t) = (self.clone(), target.clone());
            let step = tokio::task::spawn_blocking(move || sup.decide(&t, ident, status))
                .await
                .unwrap_or(Step::Done);
            let delay = match step {
                Step::Done => return,
                Step::Rewatch(new) => {
                    self.watch(target, new);
                    return;
                }
                Step::Restart(d) => d,
            };
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.shutdown.cancelled() => return,
            }
            let (sup, t) = (self.clone(), target.clone());
            let done = tokio::task::spawn_blocking(move || sup.restart(&t, ident))
                .await
                .unwrap_or(Ok(None));
            match done {
                Ok(Some(new)) => {
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(what = %target.label(), pid = new.pid, "restarted");
                    self.watch(target, new);
                    return;
                }
                Ok(None) => return,
                Err(why) => {
                    tracing::warn!(what = %target.label(), "restart failed: {why}");
                    // A failed restart is one more crash.
                    status = None;
                }
            }
        }
    }

    /// Decides about one exit, under the lifecycle lock.
    fn decide(&self, target: &Target, ident: Ident, status: Option<i32>) -> Step {
        let Ok(_lock) = lock_wait(&self.scope) else {
            return Step::Done;
        };
        let Some(mut run) = load_run(&self.scope, target.run()) else {
            return Step::Done;
        };
        if !run.is_active() {
            return Step::Done;
        }
        let cfg = config(&self.repo);
        let (slug, current) = match target {
            Target::Service { name, .. } => match run.services.get(name) {
                Some(rec) if matches!(rec.status.as_str(), "stopped" | "failed") => {
                    return Step::Done;
                }
                Some(rec) => (rec.service_slug.clone(), rec.ident()),
                None => return Step::Done,
            },
            Target::Dep { id, owner, .. } => {
                match run
                    .dependencies
                    .iter()
                    .find(|d| &d.id == id && &d.owner == owner)
                {
                    Some(d) => (id.clone(), d.ident),
                    None => return Step::Done,
                }
            }
        };
        if current != ident {
            // A CLI command replaced it while we waited for the lock.
            return Step::Rewatch(current);
        }
        let policy = policy_for(&cfg, &slug);
        let label = target.label();
        if !policy.restarts(status) {
            state::event(
                &self.scope,
                &run.run_id,
                "service.exit",
                json!({"service": label, "pid": ident.pid, "exit_code": status, "policy": format!("{policy:?}"), "restart": false}),
            );
            if let Target::Service { name, .. } = target
                && let Some(rec) = run.services.get_mut(name)
            {
                rec.status = "stale".into();
                rec.failure_detail = Some(format!(
                    "exited (code {status:?}); restart policy {policy:?} does not restart it"
                ));
                let _ = run.save(&self.scope);
            }
            return Step::Done;
        }
        let decision = lock(&self.history)
            .entry(target.key())
            .or_default()
            .next(Instant::now());
        match decision {
            Decision::Restart(d) => {
                state::event(
                    &self.scope,
                    &run.run_id,
                    "service.crash",
                    json!({"service": label, "pid": ident.pid, "exit_code": status, "restart_in_ms": d.as_millis() as u64}),
                );
                Step::Restart(d)
            }
            Decision::CrashLoop(n) => {
                let why = format!(
                    "crash loop: restarted {n} times within {} s; not restarting it (fix the cause, then `envctl restart`)",
                    super::policy::WINDOW.as_secs()
                );
                state::event(
                    &self.scope,
                    &run.run_id,
                    "service.failed",
                    json!({"service": label, "restarts": n, "reason": "crash_loop"}),
                );
                match target {
                    Target::Service { name, .. } => {
                        if let Some(rec) = run.services.get_mut(name) {
                            rec.status = "failed".into();
                            rec.failure_detail = Some(lifecycle::launch::failure_text(rec, &why));
                        }
                    }
                    Target::Dep { .. } => run.errors.push(format!("{label}: {why}")),
                }
                let _ = run.save(&self.scope);
                tracing::error!(what = %label, "{why}");
                Step::Done
            }
        }
    }

    /// Restarts the target if the record still holds the dead `ident`;
    /// `Ok(None)` when there is nothing to restart any more.
    fn restart(&self, target: &Target, ident: Ident) -> Result<Option<Ident>, String> {
        let _lock = lock_wait(&self.scope).map_err(|e| e.to_string())?;
        let Some(mut run) = load_run(&self.scope, target.run()) else {
            return Ok(None);
        };
        if !run.is_active() {
            return Ok(None);
        }
        let cfg = config(&self.repo);
        super::ops::set_log_cap(&cfg);
        match target {
            Target::Service { name, .. } => {
                let Some(mut rec) = run.services.get(name).cloned() else {
                    return Ok(None);
                };
                if rec.ident() != ident || matches!(rec.status.as_str(), "stopped" | "failed") {
                    return Ok(None);
                }
                // What is left of it (workers that outlived their leader).
                procs::stop_owned(&ident, rec.marker(), Duration::from_secs(2));
                let out = lifecycle::relaunch(&self.scope, &run.run_id, &mut rec, &cfg);
                let result = match &out {
                    Ok(()) => {
                        rec.restarts += 1;
                        crate::ports::set_lock_pid(&self.scope, rec.actual_port, rec.pid);
                        state::event(
                            &self.scope,
                            &run.run_id,
                            "service.restart",
                            json!({"service": name, "pid": rec.pid, "restarts": rec.restarts}),
                        );
                        Ok(Some(rec.ident()))
                    }
                    Err(why) => {
                        rec.status = "stale".into();
                        rec.failure_detail = Some(why.clone());
                        Err(why.clone())
                    }
                };
                // On failure the record keeps the failed attempt's
                // identity: the next decision sees a new dead process and
                // counts it towards the crash loop.
                run.services.insert(name.clone(), rec);
                run.save(&self.scope).map_err(|e| e.to_string())?;
                result
            }
            Target::Dep { id, owner, .. } => {
                let Some(i) = run
                    .dependencies
                    .iter()
                    .position(|d| &d.id == id && &d.owner == owner)
                else {
                    return Ok(None);
                };
                if run.dependencies[i].ident != ident {
                    return Ok(None);
                }
                let inst = run.dependencies[i].clone();
                let fresh = lifecycle::restart_dep(&run, &inst).map_err(|e| format!("{e:?}"))?;
                let new = fresh.ident;
                run.dependencies[i] = fresh;
                state::event(
                    &self.scope,
                    &run.run_id,
                    "requirements.restart",
                    json!({"component": id, "owner": owner, "pid": new.pid, "port": inst.port}),
                );
                // Other active runs sharing this server learn its new pid.
                for mut other in active_runs(&self.scope) {
                    if other.run_id == run.run_id {
                        continue;
                    }
                    let mut changed = false;
                    for d in other.dependencies.iter_mut().filter(|d| d.ident == ident) {
                        d.ident = new;
                        changed = true;
                    }
                    if changed {
                        let _ = other.save(&self.scope);
                    }
                }
                run.save(&self.scope).map_err(|e| e.to_string())?;
                Ok(Some(new))
            }
        }
    }
}
