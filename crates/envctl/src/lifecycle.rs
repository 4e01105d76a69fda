//! `start` / `resume`, `stop`, `stop-all`, `blast-all`: the commands that
//! change what runs. One at a time per repository (the lifecycle lock).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use crate::config::Config;
use crate::plan::{self, Mode};
use crate::ports::{self, PortPlan};
use crate::procs;
use crate::requirements::{Dependency, Instance, Postgres, Redis};
use crate::state::{self, ProjectPorts, RunState, ServiceRecord};
use crate::worktrees::Project;
use crate::{Failure, scope};

/// Holds `.lifecycle_operation.lock` (flock) for the command's lifetime.
pub struct LifecycleLock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

/// Takes the lifecycle lock or fails with the busy message.
pub fn lock(scope: &Path) -> Result<LifecycleLock, Failure> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(scope.join(".lifecycle_operation.lock"))?;
    match nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(LifecycleLock(l)),
        Err(_) => Err(Failure::Actionable(
            "Another envctl lifecycle operation is already active for this repository; wait for it to finish (or stop it) and try again".into(),
        )),
    }
}

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
}

fn deps_for(cfg: &Config, mode: Mode) -> Vec<Box<dyn Dependency>> {
    let p = mode.prefix();
    let mut out: Vec<Box<dyn Dependency>> = Vec::new();
    if cfg.flag(&format!("{p}_POSTGRES_ENABLE")) {
        out.push(Box::new(Postgres));
    }
    if cfg.flag(&format!("{p}_REDIS_ENABLE")) {
        out.push(Box::new(Redis));
    }
    out
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

fn dep_by_id(id: &str) -> Box<dyn Dependency> {
    match id {
        "postgres" => Box::new(Postgres),
        _ => Box::new(Redis),
    }
}

/// How many upcoming starts of `svc` must pretend a bind conflict
/// (`ENVCTL_TEST_CONFLICT_<SVC>`, a fault hook for tests).
fn injected_conflicts(svc: &str) -> u32 {
    std::env::var(format!("ENVCTL_TEST_CONFLICT_{}", svc.to_uppercase()))
        .ok()
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
    run_id: &str,
    dep: &dyn Dependency,
    owner: &str,
    requested: u16,
    dir: &Path,
) -> Result<(Instance, PortPlan), Failure> {
    let mut plan = reserve(scope, run_id, owner, dep.id(), requested)?;
    state::event(
        scope,
        run_id,
        "requirements.start",
        json!({"project": owner, "component": dep.id(), "port": plan.final_port}),
    );
    crate::ui::step(&format!(
        "starting {} for {owner} on port {}",
        dep.id(),
        plan.final_port
    ));
    let mut last = String::new();
    for attempt in 0..3 {
        match dep.start(plan.final_port, dir) {
            Ok(mut inst) => {
                inst.owner = owner.to_owned();
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
                    &format!("{owner}:{}", dep.id()),
                    run_id,
                )?;
                state::event(
                    scope,
                    run_id,
                    "requirements.retry",
                    json!({"project": owner, "component": dep.id(), "from": plan.final_port, "to": next, "error": last}),
                );
                plan.final_port = next;
                plan.source = "retry".into();
                plan.retries += 1;
            }
        }
    }
    ports::release(scope, plan.final_port);
    Err(Failure::Actionable(format!(
        "cannot start {} for {owner}: {last}",
        dep.id()
    )))
}

/// Launches one app service and waits for its listener.
fn launch_service(
    scope: &Path,
    run: &RunState,
    project: &Project,
    sp: &plan::ServicePlan,
    plan: &mut PortPlan,
    env: &[(String, String)],
    cfg: &Config,
) -> ServiceRecord {
    let cwd = project.root.join(&sp.dir);
    let name = format!(
        "{} {}{}",
        project.name,
        sp.slug[..1].to_uppercase(),
        &sp.slug[1..]
    );
    let log = run
        .run_dir(scope)
        .join(format!("{}_{}.txt", project.name, sp.slug));
    let timeout = Duration::from_secs(u64::from(cfg.num("ENVCTL_SERVICE_LISTENER_TIMEOUT").max(1)));
    let mut rec = ServiceRecord {
        name: name.clone(),
        kind: sp.slug.into(),
        cwd: cwd.clone(),
        pid: 0,
        start_time: 0,
        requested_port: plan.requested,
        actual_port: plan.final_port,
        log_path: log.clone(),
        status: "starting".into(),
        started_at: state::now(),
        listener_pids: Vec::new(),
        listener_expected: sp.expect_listener,
        project: project.name.clone(),
        service_slug: sp.slug.into(),
        public_url: String::new(),
        health_url: String::new(),
        failure_detail: None,
        runtime_kind: "process".into(),
        command: Vec::new(),
        env: env.to_vec(),
    };
    for attempt in 0..3 {
        let port = plan.final_port;
        let argv: Vec<String> = sp
            .command
            .iter()
            .map(|w| w.replace("{port}", &port.to_string()))
            .collect();
        let mut full_env = env.to_vec();
        full_env.push(("PORT".into(), port.to_string()));
        state::event(
            scope,
            &run.run_id,
            "service.start",
            json!({"project": project.name, "service": sp.slug, "port": port, "attempt": attempt + 1}),
        );
        crate::ui::step(&format!(
            "starting {} {} on port {port}",
            project.name, sp.slug
        ));
        let id = match procs::launch(&argv, &cwd, &full_env, &log) {
            Ok(id) => id,
            Err(e) => {
                rec.status = "stale".into();
                rec.failure_detail = Some(e.to_string());
                state::event(
                    scope,
                    &run.run_id,
                    "service.failure",
                    json!({"project": project.name, "service": sp.slug, "error": e.to_string()}),
                );
                return rec;
            }
        };
        ports::set_lock_pid(scope, port, id.pid);
        rec.pid = id.pid;
        rec.start_time = id.start_time;
        rec.actual_port = port;
        rec.command = argv;
        if !sp.expect_listener {
            rec.status = "running".into();
            break;
        }
        let up = procs::wait_until(timeout, || {
            procs::owns_listener(&id, port) || !procs::alive(&id)
        });
        if up && procs::alive(&id) {
            rec.status = "running".into();
            rec.listener_pids = procs::listener_pids(port);
            state::event(
                scope,
                &run.run_id,
                "service.bind.actual",
                json!({"project": project.name, "service": sp.slug, "port": port, "pid": id.pid}),
            );
            break;
        }
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let conflict = tail.to_lowercase().contains("address already in use");
        procs::stop_group(&id, Duration::from_secs(1));
        if conflict && attempt < 2 {
            ports::release(scope, port);
            let owner = format!("{}:{}", project.name, sp.slug);
            match ports::reserve_next(scope, port + 1, &owner, &run.run_id) {
                Ok(next) => {
                    state::event(
                        scope,
                        &run.run_id,
                        "service.retry",
                        json!({"project": project.name, "service": sp.slug, "port": port, "reason": "bind_conflict"}),
                    );
                    state::event(
                        scope,
                        &run.run_id,
                        "port.rebound",
                        json!({"project": project.name, "service": sp.slug, "from": port, "to": next}),
                    );
                    plan.final_port = next;
                    plan.source = "retry".into();
                    plan.retries += 1;
                    continue;
                }
                Err(e) => {
                    rec.failure_detail = Some(e.to_string());
                }
            }
        }
        rec.status = "stale".into();
        let last = tail.lines().last().unwrap_or("(no output)").to_owned();
        rec.failure_detail.get_or_insert(format!(
            "no listener on port {port} within {timeout:?}; last log line: {last}"
        ));
        state::event(
            scope,
            &run.run_id,
            "service.failure",
            json!({"project": project.name, "service": sp.slug, "error": rec.failure_detail}),
        );
        break;
    }
    let host = cfg
        .get("ENVCTL_PUBLIC_HOST")
        .unwrap_or_else(|| "localhost".into());
    rec.public_url = format!("http://{host}:{}", rec.actual_port);
    rec.health_url = cfg
        .get(&format!("{}_HEALTH_URL", sp.slug.to_uppercase()))
        .map(|u| u.replace("{port}", &rec.actual_port.to_string()))
        .unwrap_or_else(|| format!("http://127.0.0.1:{}/health", rec.actual_port));
    rec
}

/// Status from the OS, now (contract §4.2).
pub fn truth(rec: &ServiceRecord, grace: Duration) -> &'static str {
    if rec.status == "stopped" {
        return "stopped";
    }
    let id = rec.ident();
    if rec.pid == 0 || !procs::alive(&id) {
        return "stale";
    }
    if !rec.listener_expected || procs::owns_listener(&id, rec.actual_port) {
        return "running";
    }
    if state::now().saturating_sub(rec.started_at) < grace.as_secs() {
        "starting"
    } else {
        "unreachable"
    }
}

/// Refreshes every record's status.
pub fn reconcile(run: &mut RunState, cfg: &Config) {
    let grace = Duration::from_secs(u64::from(cfg.num("ENVCTL_SERVICE_STARTUP_GRACE_SECONDS")));
    for rec in run.services.values_mut() {
        rec.status = truth(rec, grace).into();
    }
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
    // Resume: an active run of this mode is reconciled and only what died
    // is started again, reusing live dependencies.
    if let Some(mut run) = state::load_latest(&scope)
        .filter(|r| r.mode == mode.name() && r.metadata.get("active") == Some(&json!(true)))
    {
        if !opts.no_resume {
            return resume(repo, cfg, &scope, &mut run, &projects, &services);
        }
    }
    if resume_only {
        return Err(Failure::Actionable(
            "nothing to resume: no active run for this repository (use `envctl start`)".into(),
        ));
    }
    let isolated = opts.isolated
        || cfg.get("ENVCTL_DEFAULT_TREE_DEPENDENCY_SCOPE").as_deref() == Some("isolated")
            && mode == Mode::Trees;
    let scope_id = scope::scope_id(repo);
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
        "dependency_mode".into(),
        json!(if isolated { "isolated" } else { "shared" }),
    );
    run.metadata.insert(
        "project_roots".into(),
        json!(
            projects
                .iter()
                .map(|p| (p.name.clone(), p.root.clone()))
                .collect::<BTreeMap<_, _>>()
        ),
    );
    run.metadata.insert("active".into(), json!(true));
    run.save(&scope)?;
    state::event(
        &scope,
        &run.run_id,
        "command.route",
        json!({"command": "start", "mode": mode.name()}),
    );
    let external = cfg.get("ENVCTL_DEPENDENCY_MODE").as_deref() == Some("external");
    if external {
        run.metadata
            .insert("dependency_mode".into(), json!("external"));
    }
    let deps = if external {
        Vec::new()
    } else {
        deps_for(cfg, mode)
    };
    let external_env = if external {
        external_env(cfg, mode)
    } else {
        Vec::new()
    };
    let result = bring_up(
        &scope,
        &scope_id,
        cfg,
        &mut run,
        &projects,
        &services,
        &deps,
        isolated,
        &external_env,
    );
    run.save(&scope)?;
    crate::ui::done();
    if procs::interrupted() {
        return Err(Failure::Interrupted);
    }
    result?;
    report(&run);
    let failed: Vec<&ServiceRecord> = run
        .services
        .values()
        .filter(|s| s.status != "running")
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Actionable(format!(
            "{} service(s) did not start: {}",
            failed.len(),
            failed
                .iter()
                .map(|s| format!(
                    "{} ({})",
                    s.name,
                    s.failure_detail.clone().unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join("; ")
        )))
    }
}

#[allow(clippy::too_many_arguments)]
fn bring_up(
    scope: &Path,
    scope_id: &str,
    cfg: &Config,
    run: &mut RunState,
    projects: &[Project],
    services: &[plan::ServicePlan],
    deps: &[Box<dyn Dependency>],
    isolated: bool,
    external_env: &[(String, String)],
) -> Result<(), Failure> {
    let mut shared: BTreeMap<&str, Instance> = BTreeMap::new();
    if !isolated {
        for d in deps {
            let base = cfg.num(d.port_key()) as u16;
            let requested = base + ports::slot(scope_id, "__shared__", false) as u16;
            let dir = instance_dir(scope, &format!("{}-shared", d.id()));
            let (inst, plan) =
                start_dep(scope, &run.run_id, d.as_ref(), "shared", requested, &dir)?;
            state::event(
                scope,
                &run.run_id,
                "requirements.shared.start",
                json!({"component": d.id(), "port": inst.port}),
            );
            run.ports.push(ProjectPorts {
                project: "shared".into(),
                root: scope.to_path_buf(),
                ports: [(d.id().to_owned(), plan)].into(),
            });
            run.dependencies.push(inst.clone());
            shared.insert(d.id(), inst);
            run.save(scope)?;
        }
    }
    for p in projects {
        if procs::interrupted() {
            break;
        }
        let slot = ports::slot(scope_id, &p.name, p.is_main);
        let mut env: Vec<(String, String)> = external_env.to_vec();
        let mut pp = ProjectPorts {
            project: p.name.clone(),
            root: p.root.clone(),
            ports: BTreeMap::new(),
        };
        let mut components = serde_json::Map::new();
        for d in deps {
            let inst = if isolated {
                let base = cfg.num(d.port_key()) as u16;
                let dir = instance_dir(scope, &format!("{}-{}", d.id(), p.name));
                let (inst, plan) = start_dep(
                    scope,
                    &run.run_id,
                    d.as_ref(),
                    &p.name,
                    base + slot as u16,
                    &dir,
                )?;
                pp.ports.insert(d.id().into(), plan);
                run.dependencies.push(inst.clone());
                inst
            } else {
                shared[d.id()].clone()
            };
            let projected = d
                .project_env(&inst, &p.name, slot, !isolated)
                .map_err(|e| Failure::Actionable(e.to_string()))?;
            components.insert(d.id().into(), json!({"id": d.id(), "enabled": true, "success": true, "resources": {"primary": inst.port}, "final": inst.port}));
            env.extend(projected);
        }
        run.requirements.insert(
            p.name.clone(),
            json!({"project": p.name, "components": components, "health": "ready", "failures": []}),
        );
        for (k, v) in env.clone() {
            env.push((format!("ENVCTL_SOURCE_{k}"), v));
        }
        for sp in services {
            let mut plan = reserve(scope, &run.run_id, &p.name, sp.slug, sp.base + slot as u16)?;
            let mut senv = env.clone();
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
            // The user's launch-env templates, resolved from what we project.
            let text = std::fs::read_to_string(&cfg.file).unwrap_or_default();
            for (k, t) in crate::config::templates::lines_for(&text, sp.slug, &run.mode) {
                if let Some(v) = crate::config::templates::expand(&t, &senv) {
                    senv.push((k, v));
                }
            }
            let rec = launch_service(scope, run, p, sp, &mut plan, &senv, cfg);
            pp.ports.insert(sp.slug.into(), plan);
            run.services.insert(rec.name.clone(), rec);
        }
        run.ports.push(pp);
        run.save(scope)?;
    }
    Ok(())
}

fn instance_dir(scope: &Path, key: &str) -> PathBuf {
    if key.starts_with("postgres") {
        crate::requirements::postgres_instance_dir(scope, key)
    } else {
        scope.join("deps").join(key)
    }
}

fn resume(
    repo: &Path,
    cfg: &Config,
    scope: &Path,
    run: &mut RunState,
    projects: &[Project],
    services: &[plan::ServicePlan],
) -> Result<(), Failure> {
    let _ = repo;
    reconcile(run, cfg);
    state::event(
        scope,
        &run.run_id,
        "state.resume",
        json!({"projects": projects.iter().map(|p| &p.name).collect::<Vec<_>>()}),
    );
    // Dependencies that died are started again on their ports.
    for inst in run.dependencies.iter_mut() {
        let dep = dep_by_id(&inst.id);
        if !procs::alive(&inst.ident) || !dep.ready(inst) {
            let fresh = dep
                .start(inst.port, &inst.data_dir)
                .map_err(|e| Failure::Actionable(e.to_string()))?;
            inst.ident = fresh.ident;
        } else {
            state::event(
                scope,
                &run.run_id,
                "requirements.shared.reuse",
                json!({"component": inst.id, "port": inst.port}),
            );
        }
    }
    let mut restarted = 0;
    for p in projects {
        for sp in services {
            let name = format!(
                "{} {}{}",
                p.name,
                sp.slug[..1].to_uppercase(),
                &sp.slug[1..]
            );
            let Some(old) = run.services.get(&name).cloned() else {
                continue;
            };
            if old.status == "running" || old.status == "starting" {
                continue;
            }
            let owner = format!("{}:{}", p.name, sp.slug);
            // Same port if it is free.
            ports::release(scope, old.actual_port);
            let port = ports::reserve_next(scope, old.actual_port, &owner, &run.run_id)?;
            let mut plan = PortPlan {
                project: p.name.clone(),
                requested: old.requested_port,
                assigned: port,
                final_port: port,
                source: "restart".into(),
                retries: 0,
            };
            let rec = launch_service(scope, run, p, sp, &mut plan, &old.env, cfg);
            run.services.insert(rec.name.clone(), rec);
            restarted += 1;
        }
    }
    run.metadata.insert("command".into(), json!("resume"));
    run.save(scope)?;
    if restarted == 0 {
        println!("already running (run {}); nothing to resume", run.run_id);
    } else {
        println!(
            "resumed run {}: restarted {restarted} service(s)",
            run.run_id
        );
    }
    report(run);
    let bad: Vec<&String> = run
        .services
        .iter()
        .filter(|(_, s)| s.status != "running")
        .map(|(n, _)| n)
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Failure::Actionable(format!(
            "not running after resume: {bad:?}"
        )))
    }
}

fn report(run: &RunState) {
    println!("run {} ({})", run.run_id, run.mode);
    for s in run.services.values() {
        println!(
            "  {:<24} {:<10} pid {:<7} http://127.0.0.1:{}",
            s.name, s.status, s.pid, s.actual_port
        );
    }
    for d in &run.dependencies {
        println!(
            "  {:<24} {:<10} pid {:<7} 127.0.0.1:{}",
            format!("{} ({})", d.id, d.owner),
            "running",
            d.ident.pid,
            d.port
        );
    }
}

/// Options of `stop`.
#[derive(Debug, Default)]
pub struct StopOpts {
    /// `--project`.
    pub projects: Vec<String>,
    /// `--backend`.
    pub backend: bool,
    /// `--frontend`.
    pub frontend: bool,
}

/// Stops one service if it is provably ours (it owns its port, or for a
/// non-listener its cwd matches).
fn stop_service(scope: &Path, run_id: &str, rec: &mut ServiceRecord) -> bool {
    let id = rec.ident();
    let ours = procs::alive(&id)
        && (!rec.listener_expected
            || procs::owns_listener(&id, rec.actual_port)
            || !procs::port_has_listener(rec.actual_port));
    if procs::alive(&id) && !ours {
        state::event(
            scope,
            run_id,
            "cleanup.skip",
            json!({"service": rec.name, "reason": "ownership_mismatch", "pid": rec.pid}),
        );
    }
    let ok = if ours {
        let how = procs::stop_group(&id, Duration::from_secs(2));
        how != procs::Stopped::Failed
    } else {
        true
    };
    // The lock is ours either way; a foreign listener keeps its port.
    ports::release(scope, rec.actual_port);
    rec.status = if ok { "stopped" } else { "termination_failed" }.into();
    state::event(
        scope,
        run_id,
        "cleanup.stop",
        json!({"service": rec.name, "status": rec.status}),
    );
    ok
}

/// `stop`.
pub fn stop(repo: &Path, opts: &StopOpts) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let _lock = lock(&scope)?;
    let Some(mut run) = state::load_latest(&scope) else {
        println!("nothing is running");
        return Ok(());
    };
    let mut failed = Vec::new();
    let mut n = 0;
    let run_id = run.run_id.clone();
    for rec in run.services.values_mut() {
        let by_project = opts.projects.is_empty() || opts.projects.contains(&rec.project);
        let by_kind = (!opts.backend && !opts.frontend)
            || (opts.backend && rec.service_slug == "backend")
            || (opts.frontend && rec.service_slug == "frontend");
        if !(by_project && by_kind) || rec.status == "stopped" {
            continue;
        }
        n += 1;
        if !stop_service(&scope, &run_id, rec) {
            failed.push(rec.name.clone());
        }
    }
    run.save(&scope)?;
    println!("stopped {n} service(s)");
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Actionable(format!("could not stop: {failed:?}")))
    }
}

/// `stop-all`: every service and dependency; data is kept.
pub fn stop_all(repo: &Path) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let _lock = lock(&scope)?;
    let Some(mut run) = state::load_latest(&scope) else {
        println!("nothing is running");
        return Ok(());
    };
    let run_id = run.run_id.clone();
    let mut failed = Vec::new();
    for rec in run.services.values_mut() {
        if rec.status != "stopped" && !stop_service(&scope, &run_id, rec) {
            failed.push(rec.name.clone());
        }
    }
    for inst in &run.dependencies {
        dep_by_id(&inst.id).stop(inst);
        ports::release(&scope, inst.port);
    }
    for (port, _, _) in ports::inventory(&scope) {
        ports::release(&scope, port);
    }
    run.metadata.insert("active".into(), json!(false));
    state::event(
        &scope,
        &run_id,
        "cleanup.stop_all",
        json!({"services": run.services.len(), "dependencies": run.dependencies.len()}),
    );
    run.save(&scope)?;
    println!("stopped everything (data kept)");
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Actionable(format!("could not stop: {failed:?}")))
    }
}

/// True if `pid` belongs to the repository or the runtime folder: its cwd,
/// or its environment mentions them.
fn belongs(pid: u32, roots: &[PathBuf]) -> bool {
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
    if cwd
        .as_ref()
        .is_some_and(|c| roots.iter().any(|r| c.starts_with(r)))
    {
        return true;
    }
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let env = String::from_utf8_lossy(&env);
    roots.iter().any(|r| env.contains(&r.display().to_string()))
}

/// `blast-all`: stop-all, then kill anything left that belongs to the
/// repository or its runtime folder (never ourselves or our ancestors);
/// `--remove-volumes` also deletes dependency data.
pub fn blast_all(repo: &Path, remove_volumes: bool) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let run = state::load_latest(&scope);
    stop_all(repo)?;
    let mut roots = vec![repo.to_path_buf(), scope.clone()];
    if let Some(r) = &run {
        for d in &r.dependencies {
            roots.push(d.data_dir.clone());
        }
    }
    let mut spare = vec![std::process::id()];
    let mut cur = std::process::id();
    while let Some(pp) = std::fs::read_to_string(format!("/proc/{cur}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s[s.rfind(')')? + 2..].to_owned();
            rest.split_whitespace().nth(1)?.parse::<u32>().ok()
        })
    {
        if pp <= 1 {
            break;
        }
        spare.push(pp);
        cur = pp;
    }
    let mut killed = 0;
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for pid in rd
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        {
            if !spare.contains(&pid) && belongs(pid, &roots) {
                procs::kill_pid(pid);
                killed += 1;
            }
        }
    }
    if remove_volumes && let Some(r) = &run {
        for d in &r.dependencies {
            let _ = std::fs::remove_dir_all(&d.data_dir);
            // Its per-scope parent goes too once empty.
            if let Some(parent) = d.data_dir.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
    state::event(
        &scope,
        run.as_ref().map(|r| r.run_id.as_str()).unwrap_or("none"),
        "cleanup.blast",
        json!({"killed": killed, "remove_volumes": remove_volumes}),
    );
    println!(
        "blasted: {killed} stray process(es) killed{}",
        if remove_volumes { ", data removed" } else { "" }
    );
    Ok(())
}
