//! `start` and `resume`: bring the selected projects up, or join new
//! projects to the active run and restart what died in it.
//!
//! A run is saved (every pid recorded) before anything is waited on, but
//! becomes *active* only when every critical service is healthy. A start
//! that fails stops exactly what it launched, says which service failed
//! with its last log lines, and exits 1; the next `start` begins afresh.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::launch::{Readiness, configured_health, failure_text, launch_and_wait};
use super::runs::{active_runs, save_run, set_active};
use super::{dep_by_id, dep_healthy, deps_for, instance_dir, lock, owner, reconcile, service_name};
use crate::config::Config;
use crate::plan::{self, Mode};
use crate::ports::{self, PortPlan};
use crate::procs;
use crate::requirements::{Dependency, Instance};
use crate::state::{self, ProjectPorts, RunState, ServiceRecord};
use crate::worktrees::Project;
use crate::{Failure, scope};

/// Options of `start`.
#[derive(Debug, Default)]
pub struct StartOpts {
    /// `--main`.
    pub main: bool,
    /// `--trees`.
    pub trees: bool,
    /// `--project`.
    pub projects: Vec<String>,
    /// `--isolated-deps`.
    pub isolated: bool,
    /// `--no-resume`.
    pub no_resume: bool,
    /// `restart`: relaunch with the command, folder and launch environment
    /// the config says now, not the recorded ones.
    pub refresh: bool,
}

/// `ENVCTL_DEPENDENCY_MODE=external`: the dependencies run elsewhere; the
/// services get their settings from the config (`DB_*`, `REDIS_PORT`).
fn external_env(cfg: &Config, mode: Mode) -> Vec<(String, String)> {
    let p = mode.prefix();
    let mut env = Vec::new();
    if cfg.flag(&format!("{p}_POSTGRES_ENABLE")) {
        let g = |k: &str| cfg.get(k).unwrap_or_default();
        let (user, pw, host, port, db) = (
            g("DB_USER"),
            g("DB_PASSWORD"),
            g("DB_HOST"),
            g("DB_PORT"),
            g("DB_NAME"),
        );
        let url = |scheme: &str| format!("{scheme}://{user}:{pw}@{host}:{port}/{db}");
        env.extend([
            ("DB_HOST".to_owned(), host.clone()),
            ("DB_PORT".into(), port.clone()),
            ("DB_USER".into(), user.clone()),
            ("DB_PASSWORD".into(), pw.clone()),
            ("DB_NAME".into(), db.clone()),
            ("DATABASE_URL".into(), url("postgresql")),
            ("SQLALCHEMY_DATABASE_URL".into(), url("postgresql+psycopg")),
            ("ASYNC_DATABASE_URL".into(), url("postgresql+asyncpg")),
        ]);
    }
    if cfg.flag(&format!("{p}_REDIS_ENABLE")) {
        let port = cfg.get("REDIS_PORT").unwrap_or_default();
        let url = cfg
            .get("REDIS_URL")
            .unwrap_or_else(|| format!("redis://127.0.0.1:{port}/0"));
        env.extend([("REDIS_PORT".to_owned(), port), ("REDIS_URL".into(), url)]);
    }
    env
}

/// How many upcoming starts of `svc` must pretend a bind conflict
/// (`ENVCTL_TEST_CONFLICT_<SVC>`, a fault hook for tests).
fn injected_conflicts(svc: &str) -> u32 {
    crate::opctx::var(&format!("ENVCTL_TEST_CONFLICT_{}", svc.to_uppercase()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn reserve(
    scope: &Path,
    run_id: &str,
    project: &str,
    svc: &str,
    requested: u16,
) -> Result<PortPlan, Failure> {
    let owner = format!("{project}:{svc}");
    let mut port = ports::reserve_next(scope, requested, &owner, run_id)?;
    let mut plan = PortPlan {
        project: project.to_owned(),
        requested,
        assigned: port,
        final_port: port,
        source: "planner".into(),
        retries: 0,
    };
    if port != requested {
        plan.source = "retry".into();
        plan.retries += 1;
        state::event(
            scope,
            run_id,
            "port.rebound",
            json!({"project": project, "service": svc, "from": requested, "to": port, "reason": "in_use"}),
        );
    }
    for _ in 0..injected_conflicts(svc) {
        state::event(
            scope,
            run_id,
            "service.retry",
            json!({"project": project, "service": svc, "port": port, "reason": "bind_conflict (injected)"}),
        );
        ports::release(scope, port);
        let next = ports::reserve_next(scope, port + 1, &owner, run_id)?;
        state::event(
            scope,
            run_id,
            "port.rebound",
            json!({"project": project, "service": svc, "from": port, "to": next, "reason": "bind_conflict"}),
        );
        port = next;
        plan.source = "retry".into();
        plan.retries += 1;
    }
    plan.final_port = port;
    state::event(
        scope,
        run_id,
        "port.reserved",
        json!({"project": project, "service": svc, "port": port}),
    );
    Ok(plan)
}

/// Starts one dependency server on a reserved port (retrying upward on a
/// failure to bind, 3 times).
fn start_dep(
    scope: &Path,
    run: &RunState,
    dep: &dyn Dependency,
    project: &str,
    requested: u16,
    dir: &Path,
) -> Result<(Instance, PortPlan), Failure> {
    let run_id = &run.run_id;
    let mut plan = reserve(scope, run_id, project, dep.id(), requested)?;
    let marker = owner(run, project, dep.id());
    state::event(
        scope,
        run_id,
        "requirements.start",
        json!({"project": project, "component": dep.id(), "port": plan.final_port}),
    );
    crate::ui::step(&format!(
        "starting {} for {project} on port {}",
        dep.id(),
        plan.final_port
    ));
    let mut last = String::new();
    for attempt in 0..3 {
        match dep.start(plan.final_port, dir, &marker) {
            Ok(mut inst) => {
                inst.owner = project.to_owned();
                ports::set_lock_pid(scope, plan.final_port, inst.ident.pid);
                return Ok((inst, plan));
            }
            Err(e) => {
                last = e.to_string();
                if attempt == 2 {
                    break;
                }
                ports::release(scope, plan.final_port);
                let next = ports::reserve_next(
                    scope,
                    plan.final_port + 1,
                    &format!("{project}:{}", dep.id()),
                    run_id,
                )?;
                state::event(
                    scope,
                    run_id,
                    "requirements.retry",
                    json!({"project": project, "component": dep.id(), "from": plan.final_port, "to": next, "error": last}),
                );
                plan.final_port = next;
                plan.source = "retry".into();
                plan.retries += 1;
            }
        }
    }
    ports::release(scope, plan.final_port);
    Err(Failure::Actionable(format!(
        "cannot start {} for {project}: {last}",
        dep.id()
    )))
}

/// A healthy shared dependency of another active run of the scope (a
/// `--main` run beside a `--trees` run share one server).
fn live_shared(scope: &Path, id: &str, except: &str) -> Option<Instance> {
    active_runs(scope)
        .into_iter()
        .filter(|r| r.run_id != except)
        .flat_map(|r| r.dependencies)
        .find(|d| d.id == id && d.owner == "shared" && dep_healthy(d))
}

/// The Redis database number of `project` on the shared server `inst`:
/// the one it already has in an active run, else the lowest one no other
/// project of the scope uses on that server (Redis has 16).
fn redis_db(scope: &Path, run: &RunState, inst: &Instance, project: &str) -> Result<u32, Failure> {
    let mut used: BTreeMap<u32, String> = BTreeMap::new();
    let others = active_runs(scope)
        .into_iter()
        .filter(|r| r.run_id != run.run_id);
    for r in others.chain(std::iter::once(run.clone())) {
        for (proj, req) in &r.requirements {
            let c = &req["components"]["redis"];
            if c["final"].as_u64() == Some(u64::from(inst.port))
                && let Some(db) = c["redis_db"].as_u64()
            {
                used.insert(db as u32, proj.clone());
            }
        }
    }
    if let Some((db, _)) = used.iter().find(|(_, p)| p.as_str() == project) {
        return Ok(*db);
    }
    (0..16).find(|db| !used.contains_key(db)).ok_or_else(|| {
        Failure::Actionable(format!(
            "the shared Redis on port {} has 16 databases and all are in use ({}); use --isolated-deps for more worktrees",
            inst.port,
            used.values().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// What one command launched, so a failed start can undo exactly that.
#[derive(Debug, Default)]
struct Launched {
    services: Vec<String>,
    deps: Vec<Instance>,
}

/// One project ready for its services to start.
struct Prepared<'p> {
    project: &'p Project,
    slot: u32,
    env: Vec<(String, String)>,
    ports: ProjectPorts,
}

struct BringUp<'a> {
    scope: &'a Path,
    scope_id: String,
    cfg: &'a Config,
    services: &'a [plan::ServicePlan],
    deps: Vec<Box<dyn Dependency>>,
    isolated: bool,
    external_env: Vec<(String, String)>,
}

impl BringUp<'_> {
    /// The shared servers, started (or reused from another active run).
    fn shared(
        &self,
        run: &mut RunState,
        launched: &mut Launched,
    ) -> Result<BTreeMap<String, Instance>, Failure> {
        let mut shared = BTreeMap::new();
        if self.isolated {
            return Ok(shared);
        }
        let mut to_start: Vec<&dyn Dependency> = Vec::new();
        for d in &self.deps {
            if let Some(inst) = run
                .dependencies
                .iter()
                .find(|i| i.id == d.id() && i.owner == "shared")
            {
                shared.insert(d.id().to_owned(), inst.clone());
                continue;
            }
            if let Some(inst) = live_shared(self.scope, d.id(), &run.run_id) {
                state::event(
                    self.scope,
                    &run.run_id,
                    "requirements.shared.reuse",
                    json!({"component": d.id(), "port": inst.port}),
                );
                run.dependencies.push(inst.clone());
                shared.insert(d.id().to_owned(), inst);
                continue;
            }
            to_start.push(d.as_ref());
        }
        // The servers to start start at once (Postgres's initdb does not
        // wait for Redis); each one is recorded as soon as all have been
        // tried, so a failure undoes the ones that came up.
        let slot = ports::slot(&self.scope_id, "__shared__", false) as u16;
        let started: Vec<_> = std::thread::scope(|s| {
            let run_ref: &RunState = run;
            let jobs: Vec<_> = to_start
                .iter()
                .map(|&d| {
                    s.spawn(move || {
                        let requested = self.cfg.num(d.port_key()) as u16 + slot;
                        let dir = instance_dir(self.scope, &format!("{}-shared", d.id()));
                        start_dep(self.scope, run_ref, d, "shared", requested, &dir)
                    })
                })
                .collect();
            jobs.into_iter()
                .map(|j| {
                    j.join().unwrap_or_else(|_| {
                        Err(Failure::Actionable("a dependency starter panicked".into()))
                    })
                })
                .collect()
        });
        let mut first_error = None;
        for (d, r) in to_start.iter().zip(started) {
            let (inst, plan) = match r {
                Ok(ok) => ok,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            state::event(
                self.scope,
                &run.run_id,
                "requirements.shared.start",
                json!({"component": d.id(), "port": inst.port}),
            );
            run.ports.push(ProjectPorts {
                project: "shared".into(),
                root: self.scope.to_path_buf(),
                ports: [(d.id().to_owned(), plan)].into(),
            });
            run.dependencies.push(inst.clone());
            launched.deps.push(inst.clone());
            shared.insert(d.id().to_owned(), inst);
        }
        save_run(self.scope, run)?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(shared),
        }
    }

    /// A project's dependencies (its own, when isolated) and projected
    /// environment, before any of its services starts.
    fn prepare<'p>(
        &self,
        run: &mut RunState,
        p: &'p Project,
        shared: &BTreeMap<String, Instance>,
        launched: &mut Launched,
    ) -> Result<Prepared<'p>, Failure> {
        let scope = self.scope;
        let slot = ports::slot(&self.scope_id, &p.name, p.is_main);
        let mut env: Vec<(String, String)> = self.external_env.clone();
        let mut pp = ProjectPorts {
            project: p.name.clone(),
            root: p.root.clone(),
            ports: BTreeMap::new(),
        };
        let mut components = serde_json::Map::new();
        for d in &self.deps {
            let inst = if self.isolated {
                let base = self.cfg.num(d.port_key()) as u16;
                let dir = instance_dir(scope, &format!("{}-{}", d.id(), p.name));
                let (inst, plan) =
                    start_dep(scope, run, d.as_ref(), &p.name, base + slot as u16, &dir)?;
                pp.ports.insert(d.id().into(), plan);
                run.dependencies.push(inst.clone());
                launched.deps.push(inst.clone());
                save_run(scope, run)?;
                inst
            } else {
                shared[d.id()].clone()
            };
            // A shared Redis gives each project its own database number,
            // unique on that server across the scope's active runs.
            let ns = if d.id() == "redis" && !self.isolated {
                redis_db(scope, run, &inst, &p.name)?
            } else {
                slot
            };
            let projected = d
                .project_env(&inst, &p.name, ns, !self.isolated)
                .map_err(|e| Failure::Actionable(e.to_string()))?;
            let mut c = json!({"id": d.id(), "enabled": true, "success": true, "resources": {"primary": inst.port}, "final": inst.port});
            if d.id() == "redis" && !self.isolated {
                c["redis_db"] = json!(ns);
            }
            components.insert(d.id().into(), c);
            env.extend(projected);
        }
        run.requirements.insert(
            p.name.clone(),
            json!({"project": p.name, "components": components, "health": "ready", "failures": []}),
        );
        for (k, v) in env.clone() {
            env.push((format!("ENVCTL_SOURCE_{k}"), v));
        }
        Ok(Prepared {
            project: p,
            slot,
            env,
            ports: pp,
        })
    }

    /// Starts the projects' services: each start layer across every
    /// project at once (a layer's services depend only on earlier layers,
    /// in their own project); returns the failures (`name: why + log lines`).
    fn projects(
        &self,
        run: &mut RunState,
        projects: &[&Project],
        shared: &BTreeMap<String, Instance>,
        launched: &mut Launched,
    ) -> Result<Vec<String>, Failure> {
        let scope = self.scope;
        if !self.isolated {
            // Every project's database on the shared server, at once.
            let names: Vec<String> = projects.iter().map(|p| p.name.clone()).collect();
            for d in &self.deps {
                if let Some(inst) = shared.get(d.id()) {
                    d.prepare_shared(inst, &names)
                        .map_err(|e| Failure::Actionable(e.to_string()))?;
                }
            }
        }
        let mut preps = Vec::new();
        for p in projects {
            preps.push(self.prepare(run, p, shared, launched)?);
        }
        if self.cfg.flag("ENVCTL_MIGRATE_ON_START") {
            self.migrate(&preps)?;
        }
        let mut failures = Vec::new();
        let layers = plan::layers(self.services).map_err(Failure::Actionable)?;
        for layer in layers {
            if procs::interrupted() {
                break;
            }
            let mut jobs = Vec::new();
            for (pi, prep) in preps.iter().enumerate() {
                for &i in &layer {
                    let sp = &self.services[i];
                    let plan = match sp.base {
                        Some(b) => Some(reserve(
                            scope,
                            &run.run_id,
                            &prep.project.name,
                            &sp.slug,
                            b + prep.slot as u16,
                        )?),
                        None => None,
                    };
                    let senv = self.service_env(run, prep.project, sp, &prep.env);
                    jobs.push((pi, sp, plan, senv, prep.env.clone()));
                }
            }
            // One layer's services start in parallel.
            let done: Vec<Result<_, Failure>> = std::thread::scope(|s| {
                let run_ref: &RunState = run;
                let preps_ref = &preps;
                let handles: Vec<_> = jobs
                    .into_iter()
                    .map(|(pi, sp, mut plan, senv, base)| {
                        s.spawn(move || {
                            let p = preps_ref[pi].project;
                            let (mut rec, failure) =
                                self.service(run_ref, p, sp, plan.as_mut(), senv)?;
                            rec.base_env = base;
                            Ok((pi, sp, rec, failure, plan))
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Failure::Actionable("a service launcher panicked".into()))
                        })
                    })
                    .collect()
            });
            for r in done {
                let (pi, sp, rec, failure, plan) = r?;
                let prep = &mut preps[pi];
                if let Some(plan) = plan {
                    prep.ports.ports.insert(sp.slug.clone(), plan);
                }
                launched.services.push(rec.name.clone());
                if rec.actual_port != 0 {
                    let key = sp.slug.to_ascii_uppercase().replace('-', "_");
                    let url = format!("http://127.0.0.1:{}", rec.actual_port);
                    prep.env.push((
                        format!("ENVCTL_SOURCE_SERVICE_{key}_PORT"),
                        rec.actual_port.to_string(),
                    ));
                    prep.env
                        .push((format!("ENVCTL_SOURCE_SERVICE_{key}_URL"), url));
                }
                match failure {
                    Some(f) if sp.critical => failures.push(f),
                    Some(f) => crate::ui::warn(&format!("(not critical) {f}")),
                    None => {}
                }
                run.services.insert(rec.name.clone(), rec);
            }
            save_run(scope, run)?;
        }
        for prep in preps {
            run.ports.retain(|x| x.project != prep.project.name);
            run.ports.push(prep.ports);
        }
        save_run(scope, run)?;
        Ok(failures)
    }

    /// `ENVCTL_MIGRATE_ON_START`: each project's migration, with the
    /// environment its services will get, before any of them starts (so
    /// a fresh worktree's app is ready when `start` says healthy); the
    /// projects migrate in parallel, and any failure fails the start with
    /// its output.
    fn migrate(&self, preps: &[Prepared<'_>]) -> Result<(), Failure> {
        let errors: Vec<String> = std::thread::scope(|s| {
            let jobs: Vec<_> = preps
                .iter()
                .map(|prep| {
                    s.spawn(move || {
                        let p = prep.project;
                        let mut env = prep.env.clone();
                        env.push(("ENVCTL_PROJECT".into(), p.name.clone()));
                        env.push(("ENVCTL_PROJECT_ROOT".into(), p.root.display().to_string()));
                        crate::actions::migrate::run_with(self.cfg, &p.name, &p.root, env)
                    })
                })
                .collect();
            jobs.into_iter()
                .filter_map(|j| match j.join() {
                    Ok(Ok(())) => None,
                    Ok(Err(Failure::Actionable(m) | Failure::Usage(m))) => Some(m),
                    Ok(Err(other)) => Some(format!("{other:?}")),
                    Err(_) => Some("a migration runner panicked".into()),
                })
                .collect()
        });
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::Actionable(format!(
                "ENVCTL_MIGRATE_ON_START: {}",
                errors.join("\n")
            )))
        }
    }

    /// Brings a record up to date with the config: command, folder,
    /// listener expectation and launch environment (`restart`).
    fn refresh(&self, run: &RunState, p: &Project, rec: &mut ServiceRecord) {
        let Some(sp) = self.services.iter().find(|s| s.slug == rec.service_slug) else {
            return;
        };
        let base = if rec.base_env.is_empty() {
            rec.env.clone()
        } else {
            rec.base_env.clone()
        };
        rec.env = self.service_env(run, p, sp, &base);
        rec.base_env = base;
        rec.cwd = p.root.join(&sp.dir);
        rec.listener_expected = sp.expect_listener;
        rec.command_template = sp.command.clone();
        rec.command = sp
            .command
            .iter()
            .map(|w| w.replace("{port}", &rec.actual_port.to_string()))
            .collect();
    }

    /// The environment of one service: the project's projection, its
    /// backend's URL for a frontend, and the user's launch-env templates.
    fn service_env(
        &self,
        run: &RunState,
        p: &Project,
        sp: &plan::ServicePlan,
        env: &[(String, String)],
    ) -> Vec<(String, String)> {
        let mut senv = env.to_vec();
        if sp.slug == "frontend"
            && let Some(b) = run
                .services
                .values()
                .find(|s| s.project == p.name && s.service_slug == "backend")
        {
            let url = format!("http://127.0.0.1:{}", b.actual_port);
            senv.push(("VITE_BACKEND_URL".into(), url.clone()));
            senv.push(("BACKEND_URL".into(), url.clone()));
            senv.push(("ENVCTL_SOURCE_BACKEND_URL".into(), url));
        }
        // The user's launch-env templates, resolved from what we project:
        // `backend`/`frontend` sections, `service <slug>` for the others.
        let text = std::fs::read_to_string(&self.cfg.file).unwrap_or_default();
        let section = match sp.slug.as_str() {
            "backend" | "frontend" => sp.slug.clone(),
            other => format!("service {other}"),
        };
        for (k, t) in crate::config::templates::lines_for(&text, &section, &run.mode) {
            if let Some(v) = crate::config::templates::expand(&t, &senv) {
                senv.push((k, v));
            }
        }
        senv
    }

    /// Launches one service, moving up on a bind conflict (3 tries).
    fn service(
        &self,
        run: &RunState,
        p: &Project,
        sp: &plan::ServicePlan,
        mut plan: Option<&mut PortPlan>,
        env: Vec<(String, String)>,
    ) -> Result<(ServiceRecord, Option<String>), Failure> {
        let scope = self.scope;
        let name = service_name(&p.name, &sp.slug);
        let log = run
            .run_dir(scope)
            .join(format!("{}_{}.txt", p.name, sp.slug));
        let mut rec = ServiceRecord {
            name: name.clone(),
            kind: sp.slug.clone(),
            cwd: p.root.join(&sp.dir),
            pid: 0,
            start_time: 0,
            requested_port: plan.as_ref().map_or(0, |p| p.requested),
            actual_port: plan.as_ref().map_or(0, |p| p.final_port),
            log_path: log,
            status: "starting".into(),
            started_at: state::now(),
            listener_pids: Vec::new(),
            listener_expected: sp.expect_listener,
            project: p.name.clone(),
            service_slug: sp.slug.clone(),
            public_url: String::new(),
            health_url: String::new(),
            failure_detail: None,
            runtime_kind: "process".into(),
            command: Vec::new(),
            command_template: sp.command.clone(),
            env,
            base_env: Vec::new(),
            owner: owner(run, &p.name, &sp.slug).to_string(),
            restarts: 0,
        };
        let ready = Readiness::from_config(self.cfg);
        let mut failure = None;
        for attempt in 0..3 {
            let port = plan.as_ref().map_or(0, |p| p.final_port);
            rec.actual_port = port;
            rec.command = sp
                .command
                .iter()
                .map(|w| w.replace("{port}", &port.to_string()))
                .collect();
            crate::ui::step(&format!("starting {} on port {port}", rec.name));
            let configured = configured_health(self.cfg, &sp.slug, port);
            // An interrupted wait (Ctrl-C, SIGTERM, SIGHUP) stops what it
            // waited on; what became healthy before is saved per layer, and
            // even a SIGKILL of this command leaves only processes carrying
            // the scope's marker, which `blast-all` finds.
            match launch_and_wait(scope, &run.run_id, &mut rec, configured.as_deref(), ready) {
                Ok(()) => {
                    if port != 0 {
                        ports::set_lock_pid(scope, port, rec.pid);
                    }
                    failure = None;
                    break;
                }
                Err(e)
                    if e.bind_conflict
                        && attempt < 2
                        && let Some(plan) = plan.as_deref_mut() =>
                {
                    ports::release(scope, port);
                    let owner = format!("{}:{}", p.name, sp.slug);
                    let next = ports::reserve_next(scope, port + 1, &owner, &run.run_id)?;
                    state::event(
                        scope,
                        &run.run_id,
                        "service.retry",
                        json!({"project": p.name, "service": sp.slug, "port": port, "reason": "bind_conflict"}),
                    );
                    state::event(
                        scope,
                        &run.run_id,
                        "port.rebound",
                        json!({"project": p.name, "service": sp.slug, "from": port, "to": next}),
                    );
                    plan.final_port = next;
                    plan.source = "retry".into();
                    plan.retries += 1;
                }
                Err(e) => {
                    rec.status = "failed".into();
                    rec.failure_detail = Some(e.why.clone());
                    state::event(
                        scope,
                        &run.run_id,
                        "service.failure",
                        json!({"project": p.name, "service": sp.slug, "error": e.why}),
                    );
                    failure = Some(failure_text(&rec, &e.why));
                    break;
                }
            }
        }
        let host = self
            .cfg
            .get("ENVCTL_PUBLIC_HOST")
            .unwrap_or_else(|| "localhost".into());
        if rec.actual_port != 0 {
            rec.public_url = format!("http://{host}:{}", rec.actual_port);
            if rec.health_url.is_empty() {
                rec.health_url = configured_health(self.cfg, &sp.slug, rec.actual_port)
                    .unwrap_or_else(|| format!("http://127.0.0.1:{}/health", rec.actual_port));
            }
        }
        Ok((rec, failure))
    }
}

fn new_run(scope_id: &str, mode: Mode, projects: &[Project]) -> RunState {
    let mut run = RunState {
        schema_version: 1,
        run_id: state::new_run_id(),
        mode: mode.name().into(),
        backend_mode: "rust".into(),
        services: BTreeMap::new(),
        requirements: BTreeMap::new(),
        dependencies: Vec::new(),
        ports: Vec::new(),
        metadata: BTreeMap::new(),
        errors: Vec::new(),
    };
    run.metadata.insert("command".into(), json!("start"));
    run.metadata.insert("repo_scope_id".into(), json!(scope_id));
    run.metadata.insert(
        "project_roots".into(),
        json!(
            projects
                .iter()
                .map(|p| (p.name.clone(), p.root.clone()))
                .collect::<BTreeMap<_, _>>()
        ),
    );
    run.metadata.insert("active".into(), json!(false));
    run
}

/// Stops what a failed command launched and releases its ports.
fn undo(scope: &Path, run: &mut RunState, launched: &Launched) {
    for name in &launched.services {
        if let Some(rec) = run.services.get_mut(name) {
            procs::stop_owned(&rec.ident(), rec.marker(), Duration::from_secs(2));
            ports::release(scope, rec.actual_port);
            if rec.status != "failed" {
                rec.status = "stopped".into();
            }
        }
    }
    for inst in &launched.deps {
        dep_by_id(&inst.id).stop(inst);
        ports::release(scope, inst.port);
    }
    run.dependencies
        .retain(|d| !launched.deps.iter().any(|l| l.ident == d.ident));
}

fn failed(failures: &[String], undone: bool) -> Failure {
    let mut msg = format!(
        "{} service(s) did not become healthy:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    if undone {
        msg.push_str("\nstopped what this start launched (logs kept: `envctl logs`); fix the cause and run `envctl start` again");
    }
    Failure::Actionable(msg)
}

/// `start` and `resume`.
pub fn start(
    repo: &Path,
    cfg: &Config,
    opts: &StartOpts,
    resume_only: bool,
) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let _lock = lock(&scope)?;
    let mode = plan::mode(cfg, opts.main, opts.trees);
    let projects = plan::projects(cfg, repo, mode, &opts.projects);
    if projects.is_empty() {
        return Err(Failure::Actionable(match mode {
            Mode::Trees => format!(
                "no worktrees under {}/trees/<feature>/<iter> (git worktree add trees/<feature>/1)",
                repo.display()
            ),
            Mode::Main => "nothing selected".into(),
        }));
    }
    let services = plan::services(cfg, mode).map_err(Failure::Actionable)?;
    let active = active_runs(&scope)
        .into_iter()
        .rev()
        .find(|r| r.mode == mode.name());
    let scope_id = scope::scope_id(repo);
    let external = cfg.get("ENVCTL_DEPENDENCY_MODE").as_deref() == Some("external");
    let bring = BringUp {
        scope: &scope,
        scope_id: scope_id.clone(),
        cfg,
        services: &services,
        deps: if external {
            Vec::new()
        } else {
            deps_for(cfg, mode)
        },
        isolated: false,
        external_env: if external {
            external_env(cfg, mode)
        } else {
            Vec::new()
        },
    };
    if let Some(mut run) = active {
        if !opts.no_resume {
            let isolated = run.metadata.get("dependency_mode") == Some(&json!("isolated"));
            let bring = BringUp { isolated, ..bring };
            return resume(&bring, &mut run, &projects, !resume_only, opts.refresh);
        }
        // A fresh run replaces this one: stop it first, so nothing it
        // started is orphaned.
        crate::ui::step(&format!("stopping {} (--no-resume)", run.run_id));
        super::stop::stop_run(&scope, &mut run, true);
        save_run(&scope, &run)?;
    }
    if resume_only {
        return Err(Failure::Actionable(
            "nothing to resume: no active run for this repository (use `envctl start`)".into(),
        ));
    }
    let isolated = opts.isolated
        || cfg.get("ENVCTL_DEFAULT_TREE_DEPENDENCY_SCOPE").as_deref() == Some("isolated")
            && mode == Mode::Trees;
    let bring = BringUp { isolated, ..bring };
    let mut run = new_run(&scope_id, mode, &projects);
    run.metadata.insert(
        "dependency_mode".into(),
        json!(if external {
            "external"
        } else if isolated {
            "isolated"
        } else {
            "shared"
        }),
    );
    save_run(&scope, &run)?;
    state::event(
        &scope,
        &run.run_id,
        "command.route",
        json!({"command": "start", "mode": mode.name()}),
    );
    let mut launched = Launched::default();
    let result = (|| -> Result<Vec<String>, Failure> {
        let shared = bring.shared(&mut run, &mut launched)?;
        let all: Vec<&Project> = projects.iter().collect();
        bring.projects(&mut run, &all, &shared, &mut launched)
    })();
    crate::ui::done();
    if procs::interrupted() {
        // Nothing half-started stays running or recorded as running: what
        // this start launched is stopped, and the run never became active.
        undo(&scope, &mut run, &launched);
        save_run(&scope, &run)?;
        return Err(Failure::Interrupted);
    }
    let failures = match result {
        Ok(f) => f,
        Err(e) => {
            undo(&scope, &mut run, &launched);
            save_run(&scope, &run)?;
            return Err(e);
        }
    };
    if !failures.is_empty() {
        undo(&scope, &mut run, &launched);
        save_run(&scope, &run)?;
        report(&run);
        return Err(failed(&failures, true));
    }
    set_active(&scope, &mut run, true);
    save_run(&scope, &run)?;
    report(&run);
    Ok(())
}

/// Resume an active run: restart dead dependencies and services, and (for
/// `start`, `join`) start selected projects that are not in it yet: a
/// worktree joins the set.
fn resume(
    bring: &BringUp<'_>,
    run: &mut RunState,
    projects: &[Project],
    join: bool,
    refresh: bool,
) -> Result<(), Failure> {
    let scope = bring.scope;
    reconcile(run, bring.cfg);
    state::event(
        scope,
        &run.run_id,
        "state.resume",
        json!({"projects": projects.iter().map(|p| &p.name).collect::<Vec<_>>()}),
    );
    let mut restarted_deps = 0;
    for i in 0..run.dependencies.len() {
        let inst = run.dependencies[i].clone();
        if dep_healthy(&inst) {
            state::event(
                scope,
                &run.run_id,
                "requirements.shared.reuse",
                json!({"component": inst.id, "port": inst.port}),
            );
            continue;
        }
        crate::ui::step(&format!("restarting {} on port {}", inst.id, inst.port));
        let fresh = restart_dep(run, &inst)?;
        run.dependencies[i] = fresh;
        restarted_deps += 1;
    }
    let mut restarted = 0;
    let mut joined = Vec::new();
    let mut failures = Vec::new();
    let mut launched = Launched::default();
    let mut shared = None;
    for p in projects {
        let known = run.services.values().any(|s| s.project == p.name);
        if !known && !join {
            continue;
        }
        if !known {
            crate::ui::step(&format!("adding {} to {}", p.name, run.run_id));
            if shared.is_none() {
                shared = Some(bring.shared(run, &mut launched)?);
            }
            let f = bring.projects(
                run,
                &[p],
                shared.as_ref().unwrap_or(&BTreeMap::new()),
                &mut launched,
            )?;
            if f.is_empty() {
                joined.push(p.name.clone());
            }
            failures.extend(f);
            continue;
        }
        let names: Vec<String> = run
            .services
            .values()
            .filter(|s| s.project == p.name && !matches!(s.status.as_str(), "running" | "starting"))
            .map(|s| s.name.clone())
            .collect();
        for name in names {
            let mut rec = run.services[&name].clone();
            if refresh {
                bring.refresh(run, p, &mut rec);
            }
            // Leftovers of the dead one (its workers) go first; then the
            // same port, if it is still free.
            procs::stop_owned(&rec.ident(), rec.marker(), Duration::from_secs(2));
            let old_port = rec.actual_port;
            ports::release(scope, old_port);
            let owner = format!("{}:{}", p.name, rec.service_slug);
            let port = ports::reserve_next(scope, old_port, &owner, &run.run_id)?;
            if port != old_port {
                let who = procs::listener_pids(old_port);
                crate::ui::warn(&format!(
                    "{name}: port {old_port} is taken (by pid {who:?}); moving to {port}"
                ));
                state::event(
                    scope,
                    &run.run_id,
                    "port.rebound",
                    json!({"project": p.name, "service": rec.service_slug, "from": old_port, "to": port, "reason": "in_use"}),
                );
                rec.actual_port = port;
                if !rec.command_template.is_empty() {
                    rec.command = rec
                        .command_template
                        .iter()
                        .map(|w| w.replace("{port}", &port.to_string()))
                        .collect();
                }
            }
            match super::relaunch(scope, &run.run_id, &mut rec, bring.cfg) {
                Ok(()) => {
                    ports::set_lock_pid(scope, port, rec.pid);
                    restarted += 1;
                }
                Err(why) => {
                    rec.status = "failed".into();
                    rec.failure_detail = Some(why.clone());
                    failures.push(why);
                }
            }
            run.services.insert(name, rec);
            save_run(scope, run)?;
        }
    }
    if procs::interrupted() {
        // A project that was joining is not left half-started.
        undo(scope, run, &launched);
        save_run(scope, run)?;
        crate::ui::done();
        return Err(Failure::Interrupted);
    }
    run.metadata.insert("command".into(), json!("resume"));
    save_run(scope, run)?;
    crate::ui::done();
    if restarted == 0 && restarted_deps == 0 && joined.is_empty() && failures.is_empty() {
        crate::ui::say(&format!(
            "already running (run {}); nothing to resume",
            run.run_id
        ));
    } else {
        let mut parts = Vec::new();
        if restarted_deps > 0 {
            parts.push(format!("restarted {restarted_deps} dependency(ies)"));
        }
        if restarted > 0 {
            parts.push(format!("restarted {restarted} service(s)"));
        }
        if !joined.is_empty() {
            parts.push(format!("added {}", joined.join(", ")));
        }
        if !parts.is_empty() {
            crate::ui::say(&format!("resumed run {}: {}", run.run_id, parts.join("; ")));
        }
    }
    report(run);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failed(&failures, false))
    }
}

/// Starts a dead dependency again on its port and data, after removing
/// what is left of it (a killed postmaster's backends hold its shared
/// memory).
pub fn restart_dep(run: &RunState, inst: &Instance) -> Result<Instance, Failure> {
    let dep = dep_by_id(&inst.id);
    procs::stop_owned(&inst.ident, inst.marker(), Duration::from_secs(2));
    let marker = owner(run, &inst.owner, &inst.id);
    let mut fresh = dep
        .start(inst.port, &inst.data_dir, &marker)
        .map_err(|e| Failure::Actionable(e.to_string()))?;
    fresh.owner = inst.owner.clone();
    Ok(fresh)
}

/// Prints what runs.
pub fn report(run: &RunState) {
    crate::ui::say(&format!("run {} ({})", run.run_id, run.mode));
    for s in run.services.values() {
        let at = if s.actual_port == 0 {
            "(no port)".to_owned()
        } else {
            format!("http://127.0.0.1:{}", s.actual_port)
        };
        crate::ui::say(&format!(
            "  {:<24} {} pid {:<7} {at}",
            s.name,
            crate::ui::status(&s.status, 10),
            s.pid
        ));
    }
    for d in &run.dependencies {
        crate::ui::say(&format!(
            "  {:<24} {} pid {:<7} 127.0.0.1:{}",
            format!("{} ({})", d.id, d.owner),
            // Just checked (started, or found ready); liveness is enough.
            crate::ui::status(
                if procs::alive(&d.ident) {
                    "running"
                } else {
                    "stale"
                },
                10
            ),
            d.ident.pid,
            d.port
        ));
    }
}
