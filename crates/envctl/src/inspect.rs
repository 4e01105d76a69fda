//! The inspection commands: they read the durable record and ask the OS
//! what is true now; they never change what runs.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::config::{Config, managed};
use crate::lifecycle::{dep_healthy, reconcile};
use crate::plan::{self, Mode};
use crate::{Failure, ports, procs, scope, state};

fn emit(json_out: bool, v: serde_json::Value, text: impl FnOnce() -> String) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        println!("{}", text());
    }
}

/// `show-state`.
pub fn show_state(repo: &Path, cfg: &Config, json_out: bool) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    match state::load_latest(&scope) {
        None => {
            emit(json_out, json!({"found": false}), || {
                "no saved state".into()
            });
            Ok(())
        }
        Some(mut run) => {
            reconcile(&mut run, cfg);
            let v = json!({"found": true, "state": run, "runtime_map": run.runtime_map()});
            emit(json_out, v, || {
                let mut s = format!("run {} ({})\n", run.run_id, run.mode);
                for r in run.services.values() {
                    s.push_str(&format!(
                        "  {:<24} {} port {}\n",
                        r.name,
                        crate::ui::status(&r.status, 12),
                        r.actual_port
                    ));
                }
                s
            });
            Ok(())
        }
    }
}

/// The project listing of `list-trees` and `list-targets` (contract §1.1):
/// `{mode, count, projects: [{name, root, slot, ports: {svc: port},
/// selected, preselected, state_present, services_running, running}],
/// state_error, warnings}`. A port is the one a running service got, else
/// the planned one; `selected` follows `--project` (all when none);
/// `preselected` is the project the command runs in.
fn project_listing(
    repo: &Path,
    cwd: &Path,
    cfg: &Config,
    mode: Mode,
    only: &[String],
) -> serde_json::Value {
    let scope_id = scope::scope_id(repo);
    let (mut run, state_error) = match scope::scope_dir(repo) {
        Ok(dir) => (state::load_latest(&dir), None),
        Err(e) => (None, Some(e.to_string())),
    };
    if let Some(r) = run.as_mut() {
        reconcile(r, cfg);
    }
    let mut warnings: Vec<String> = Vec::new();
    if let Some(p) = cfg.problem() {
        warnings.push(p.to_owned());
    }
    let rows: Vec<serde_json::Value> = plan::projects(cfg, repo, mode, &[])
        .iter()
        .map(|p| {
            let slot = ports::slot(&scope_id, &p.name, p.is_main);
            let mut port_map = serde_json::Map::new();
            for (svc, key) in [
                ("backend", "BACKEND_PORT_BASE"),
                ("frontend", "FRONTEND_PORT_BASE"),
                ("db", "DB_PORT"),
                ("redis", "REDIS_PORT"),
            ] {
                port_map.insert(svc.into(), json!(cfg.num(key) + slot));
            }
            let records: Vec<&state::ServiceRecord> = run
                .iter()
                .flat_map(|r| r.services.values())
                .filter(|s| s.project == p.name)
                .collect();
            let running = records.iter().filter(|s| s.status == "running").count();
            for s in records.iter().filter(|s| s.status == "running") {
                port_map.insert(s.service_slug.clone(), json!(s.actual_port));
            }
            json!({
                "name": p.name,
                "root": p.root,
                "slot": slot,
                "ports": port_map,
                "selected": only.is_empty() || only.contains(&p.name),
                "preselected": if p.is_main { cwd == p.root } else { cwd.starts_with(&p.root) },
                "state_present": !records.is_empty(),
                "services_running": running,
                "running": running > 0,
            })
        })
        .collect();
    json!({
        "mode": mode.name(),
        "count": rows.len(),
        "scope_id": scope_id,
        "projects": rows,
        "state_error": state_error,
        "warnings": warnings,
    })
}

/// `list-trees`: the worktree projects and their ports.
pub fn list_trees(repo: &Path, cwd: &Path, cfg: &Config, json_out: bool) -> Result<(), Failure> {
    let v = project_listing(repo, cwd, cfg, Mode::Trees, &[]);
    emit(json_out, v.clone(), || {
        v["projects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{:<20} {}  backend :{}",
                    r["name"].as_str().unwrap_or(""),
                    r["root"].as_str().unwrap_or(""),
                    r["ports"]["backend"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// `health`: exit 1 unless every service is running and answers its
/// health URL, and every dependency is alive and answers (`pg_isready`,
/// `PING`); names what is not healthy.
pub fn health(repo: &Path, cfg: &Config, json_out: bool) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    // Every active run (a `--main` run beside a `--trees` run), else the
    // latest one, so a stopped set still reports what it was.
    let mut runs = crate::lifecycle::active_runs(&scope);
    if runs.is_empty() {
        runs.extend(state::load_latest(&scope));
    }
    if runs.is_empty() {
        return Err(Failure::Actionable(
            "nothing to check: no saved state (run `envctl start`)".into(),
        ));
    }
    for run in &mut runs {
        reconcile(run, cfg);
    }
    let run_ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let recs: Vec<&crate::state::ServiceRecord> = runs
        .iter()
        .flat_map(|r| r.services.values())
        .filter(|r| r.status != "stopped")
        .collect();
    // Every service is asked at once: `health` takes as long as the
    // slowest answer, not the sum of them.
    let answers: Vec<Option<Option<u16>>> = std::thread::scope(|s| {
        let asks: Vec<_> = recs
            .iter()
            .map(|r| {
                s.spawn(move || {
                    (r.status == "running" && r.listener_expected)
                        .then(|| procs::http_status(&r.health_url, Duration::from_secs(2)))
                })
            })
            .collect();
        asks.into_iter()
            .map(|a| a.join().unwrap_or(Some(None)))
            .collect()
    });
    for (r, http) in recs.into_iter().zip(answers) {
        let healthy = r.status == "running"
            && http.is_none_or(|s| s.is_some_and(|c| (200..400).contains(&c)));
        let status = if r.status == "running" && !healthy {
            "unreachable"
        } else {
            r.status.as_str()
        };
        if !healthy {
            bad.push(format!("{} ({status})", r.name));
        }
        rows.push(json!({"name": r.name, "kind": "service", "project": r.project, "status": status, "pid": r.pid, "port": r.actual_port, "http_status": http.flatten(), "failure_detail": r.failure_detail}));
    }
    // A shared server is recorded by every run that uses it: once here.
    let mut deps: Vec<&crate::requirements::Instance> = Vec::new();
    for d in runs.iter().flat_map(|r| &r.dependencies) {
        if !deps.iter().any(|x| x.id == d.id && x.port == d.port) {
            deps.push(d);
        }
    }
    for d in deps {
        let alive = procs::alive(&d.ident);
        let status = if !alive {
            "stale"
        } else if dep_healthy(d) {
            "running"
        } else {
            "unreachable"
        };
        let name = format!("{} ({})", d.id, d.owner);
        if status != "running" {
            bad.push(format!("{name} ({status})"));
        }
        rows.push(json!({"name": name, "kind": "dependency", "project": d.owner, "status": status, "pid": d.ident.pid, "port": d.port}));
    }
    let ok = bad.is_empty();
    emit(
        json_out,
        json!({"ok": ok, "run_id": run_ids.last(), "run_ids": run_ids, "services": rows, "unhealthy": bad}),
        || {
            rows.iter()
                .map(|r| {
                    let mut line = format!(
                        "{:<24} {} pid {:<7} port {}",
                        r["name"].as_str().unwrap_or(""),
                        crate::ui::status(r["status"].as_str().unwrap_or(""), 12),
                        r["pid"],
                        r["port"]
                    );
                    if let Some(d) = r["failure_detail"].as_str() {
                        line.push_str(&format!("\n    {}", d.replace('\n', "\n    ")));
                    }
                    line
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    if ok {
        Ok(())
    } else if json_out {
        Err(Failure::Silent)
    } else {
        Err(Failure::Actionable(format!(
            "not healthy: {}",
            bad.join(", ")
        )))
    }
}

/// `logs`.
pub fn logs(
    repo: &Path,
    projects: &[String],
    service: Option<&str>,
    tail: usize,
) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let Some(run) = state::load_latest(&scope) else {
        return Err(Failure::Actionable(
            "no saved state: nothing has logs yet".into(),
        ));
    };
    for (name, path) in log_files(&run, projects, service) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        println!("==> {name} ({})", path.display());
        for l in &lines[lines.len().saturating_sub(tail)..] {
            println!("{l}");
        }
    }
    Ok(())
}

/// The logs `logs` shows: the selected services', then the dependency
/// servers' (Postgres, Redis) of the selected projects.
pub fn log_files(
    run: &state::RunState,
    projects: &[String],
    service: Option<&str>,
) -> Vec<(String, std::path::PathBuf)> {
    let wanted = |project: &str, slug: &str, name: &str| {
        (projects.is_empty() || projects.iter().any(|p| p == project || project == "shared"))
            && service.is_none_or(|s| s.eq_ignore_ascii_case(slug) || s.eq_ignore_ascii_case(name))
    };
    let mut out: Vec<(String, std::path::PathBuf)> = run
        .services
        .values()
        .filter(|r| wanted(&r.project, &r.service_slug, &r.name))
        .map(|r| (r.name.clone(), r.log_path.clone()))
        .collect();
    for d in &run.dependencies {
        if wanted(&d.owner, &d.id, &d.label()) {
            out.push((d.label(), d.log_path()));
        }
    }
    out
}

/// `errors`: failed services and error lines in logs; exit 1 if any.
pub fn errors(repo: &Path, cfg: &Config, json_out: bool) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let Some(mut run) = state::load_latest(&scope) else {
        emit(
            json_out,
            json!({"ok": true, "log_issues": [], "service_failures": []}),
            || "no saved state".into(),
        );
        return Ok(());
    };
    reconcile(&mut run, cfg);
    let mut issues = Vec::new();
    for r in run.services.values() {
        let text = std::fs::read_to_string(&r.log_path).unwrap_or_default();
        for i in crate::logscan::scan(&text) {
            issues.push(json!({
                "project": r.project, "service": r.service_slug, "name": r.name,
                "log": r.log_path, "line_number": i.line,
                "line": i.lines.last().cloned().unwrap_or_default(), "lines": i.lines,
            }));
        }
    }
    let failures: Vec<serde_json::Value> = run
        .services
        .values()
        .filter(|r| {
            matches!(
                r.status.as_str(),
                "stale" | "unreachable" | "termination_failed" | "failed"
            )
        })
        .map(|r| json!({"name": r.name, "status": r.status, "detail": r.failure_detail}))
        .collect();
    let ok = issues.is_empty() && failures.is_empty();
    emit(
        json_out,
        json!({"ok": ok, "log_issues": issues, "service_failures": failures}),
        || {
            if ok {
                return "no errors".into();
            }
            let mut s = String::new();
            for f in &failures {
                s.push_str(&format!(
                    "{} is {}: {}\n",
                    f["name"].as_str().unwrap_or(""),
                    f["status"].as_str().unwrap_or(""),
                    f["detail"].as_str().unwrap_or("(no detail)")
                ));
            }
            for i in &issues {
                s.push_str(&format!(
                    "{} ({}:{}):\n",
                    i["name"].as_str().unwrap_or(""),
                    i["log"].as_str().unwrap_or(""),
                    i["line_number"]
                ));
                for l in i["lines"].as_array().into_iter().flatten() {
                    s.push_str(&format!("    | {}\n", l.as_str().unwrap_or("")));
                }
            }
            s.push_str(&format!(
                "{} log issue(s), {} failed service(s)",
                issues.len(),
                failures.len()
            ));
            s
        },
    );
    if ok { Ok(()) } else { Err(Failure::Silent) }
}

/// `endpoints`.
pub fn endpoints(
    repo: &Path,
    cfg: &Config,
    projects: &[String],
    json_out: bool,
) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let mut run = state::load_latest(&scope);
    if let Some(r) = run.as_mut() {
        reconcile(r, cfg);
    }
    let running: Vec<String> = run
        .as_ref()
        .map(|r| {
            r.services
                .values()
                .filter(|s| s.status == "running")
                .map(|s| s.project.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(missing) = projects.iter().find(|p| !running.contains(p)) {
        let v = json!({"ok": false, "error": "requested_project_not_running", "project": missing});
        emit(json_out, v, || {
            format!("project {missing:?} is not running")
        });
        return Err(Failure::Silent);
    }
    let run = run.unwrap_or_else(|| unreachable!("projects empty or found running"));
    let map = run.runtime_map();
    emit(
        json_out,
        json!({"ok": true, "projection": map["projection"]}),
        || {
            run.services
                .values()
                .map(|s| format!("{:<24} {}", s.name, s.public_url))
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    Ok(())
}

/// `show-config`.
pub fn show_config(cfg: &Config, json_out: bool) -> Result<(), Failure> {
    let eff = cfg.effective();
    let v = json!({
        "repo": cfg.repo, "file": cfg.file, "exists": cfg.has_file(),
        "values": eff.iter().map(|(k, (v, src))| {
            let d = cfg.describe(k);
            (k.clone(), json!({
                "value": v, "source": src,
                "type": d.map_or_else(|| "user".to_owned(), |d| d.kind.name()),
                "default": d.and_then(|d| d.default),
                "doc": d.map_or("not an envctl key: left alone", |d| d.doc),
            }))
        }).collect::<serde_json::Map<_, _>>(),
    });
    emit(json_out, v, || {
        eff.iter()
            .map(|(k, (v, s))| format!("{k}={v}  # {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// `config --set K=V ...` / `--stdin-json`: rewrites the managed block only.
pub fn config_set(cfg: &Config, sets: &[String], stdin_json: bool) -> Result<(), Failure> {
    let mut updates: Vec<(String, String)> = Vec::new();
    for s in sets {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| Failure::Usage(format!("--set takes KEY=VALUE, got {s:?}")))?;
        updates.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    if stdin_json {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| {
                Failure::Usage(format!(
                    "--stdin-json expects a JSON object of KEY: value: {e}"
                ))
            })?;
        for (k, v) in obj {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            updates.push((k, v));
        }
    }
    if updates.is_empty() {
        return Err(Failure::Usage(
            "nothing to set: use --set KEY=VALUE or --stdin-json".into(),
        ));
    }
    // A bad key or value writes nothing.
    cfg.check_updates(&updates)
        .map_err(|e| Failure::Actionable(e.to_string()))?;
    let old = match std::fs::read_to_string(&cfg.file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Failure::Actionable(format!(
                "cannot read {}: {e}",
                cfg.file.display()
            )));
        }
    };
    let new = managed::merge(&old, &updates);
    let check =
        |text: &str| Config::from_text(&cfg.repo, cfg.file.clone(), text, Default::default()).err();
    let still_bad = check(&new);
    // A change that would break a good config writes nothing either; one
    // that leaves an already broken config broken is written (it may be
    // part of the repair) and the remaining problem reported.
    if let Some(e) = &still_bad
        && check(&old).is_none()
    {
        return Err(Failure::Actionable(format!(
            "not written: with this change the config would be invalid: {e}"
        )));
    }
    if new != old {
        state::write_atomic(&cfg.file, &new)?;
    }
    println!("{} ({} key(s) set)", cfg.file.display(), updates.len());
    match still_bad {
        Some(e) => Err(Failure::Actionable(format!(
            "the config is still invalid: {e}"
        ))),
        None => Ok(()),
    }
}

/// `doctor`: lock health, runtime truth, tools.
pub fn doctor(repo: &Path, cfg: &Config, json_out: bool) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let locks = ports::inventory(&scope);
    let stale = locks.iter().filter(|l| l.2).count();
    let mut run = state::load_latest(&scope);
    let truth = run.as_mut().map(|r| {
        reconcile(r, cfg);
        r.services
            .values()
            .all(|s| matches!(s.status.as_str(), "running" | "stopped"))
            && r.dependencies.iter().all(dep_healthy)
    });
    let tool = |t: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let v = json!({
        "scope": scope,
        "config_file": cfg.file, "config_found": cfg.has_file(), "config_error": cfg.problem(),
        "lock_health": format!("total={} stale={stale}", locks.len()),
        "runtime_truth": match truth { Some(true) => "pass", Some(false) => "fail", None => "no_state" },
        "tools": {"git": tool("git"), "redis-server": tool("redis-server"), "pg_ctl": tool("pg_ctl") || tool("pg_config")},
        "errors": run.as_ref().map(|r| r.errors.iter().take(5).cloned().collect::<Vec<_>>()).unwrap_or_default(),
    });
    emit(json_out, v.clone(), || {
        serde_json::to_string_pretty(&v).unwrap_or_default()
    });
    Ok(())
}

/// `list-targets`: the projects and services a start would run, in the
/// shape of `list-trees` (each project also lists its `services`), plus
/// `targets`: the selected ones.
pub fn list_targets(
    repo: &Path,
    cwd: &Path,
    cfg: &Config,
    mode: Mode,
    only: &[String],
    json_out: bool,
) -> Result<(), Failure> {
    let services = plan::services(cfg, mode).map_err(Failure::Actionable)?;
    let slugs: Vec<&str> = services.iter().map(|s| s.slug.as_str()).collect();
    let mut v = project_listing(repo, cwd, cfg, mode, only);
    let mut targets = Vec::new();
    if let Some(rows) = v["projects"].as_array_mut() {
        for r in rows {
            r["services"] = json!(slugs);
            if r["selected"] == json!(true) {
                targets.push(json!({"project": r["name"], "root": r["root"], "services": slugs}));
            }
        }
    }
    v["targets"] = json!(targets);
    emit(json_out, v.clone(), || {
        targets
            .iter()
            .map(|r| format!("{} {}", r["project"].as_str().unwrap_or(""), r["services"]))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// `explain-startup`: what a start would do, without doing it.
pub fn explain_startup(
    repo: &Path,
    cfg: &Config,
    mode: Mode,
    isolated: bool,
    json_out: bool,
) -> Result<(), Failure> {
    let scope_id = scope::scope_id(repo);
    let services = plan::services(cfg, mode).map_err(Failure::Actionable)?;
    let p = mode.prefix();
    let deps: Vec<&str> = [("postgres", "POSTGRES"), ("redis", "REDIS")]
        .iter()
        .filter(|(_, k)| cfg.flag(&format!("{p}_{k}_ENABLE")))
        .map(|(d, _)| *d)
        .collect();
    let dep_mode = if cfg.get("ENVCTL_DEPENDENCY_MODE").as_deref() == Some("external") {
        "external"
    } else if isolated {
        "isolated"
    } else {
        "shared"
    };
    let projects: Vec<serde_json::Value> = plan::projects(cfg, repo, mode, &[])
        .iter()
        .map(|pr| {
            let slot = ports::slot(&scope_id, &pr.name, pr.is_main);
            let svcs: Vec<serde_json::Value> = services
                .iter()
                .map(|s| {
                    let port = s.base.map(|b| u32::from(b) + slot);
                    let port_text = port.map(|p| p.to_string()).unwrap_or_default();
                    json!({
                        "service": s.slug, "cwd": pr.root.join(&s.dir), "requested_port": port,
                        "depends_on": s.depends_on, "critical": s.critical,
                        "command": s.command.iter().map(|w| w.replace("{port}", &port_text)).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({"project": pr.name, "slot": slot, "services": svcs})
        })
        .collect();
    let v = json!({"mode": mode.name(), "scope_id": scope_id, "dependencies": deps, "dependency_mode": dep_mode, "projects": projects});
    emit(json_out, v.clone(), || {
        serde_json::to_string_pretty(&v).unwrap_or_default()
    });
    Ok(())
}

/// `preflight`: can a start succeed? Tools, commands, working folders.
pub fn preflight(repo: &Path, cfg: &Config, mode: Mode, json_out: bool) -> Result<(), Failure> {
    let mut problems: Vec<String> = Vec::new();
    if !cfg.has_file() {
        problems.push(format!("{} has no .envctl", repo.display()));
    }
    let on_path = |t: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
            .unwrap_or(false)
            || Path::new(t).is_file()
    };
    match plan::services(cfg, mode) {
        Err(e) => problems.push(e),
        Ok(services) => {
            for pr in plan::projects(cfg, repo, mode, &[]) {
                for s in &services {
                    let dir = pr.root.join(&s.dir);
                    if !dir.is_dir() {
                        problems.push(format!(
                            "{} {}: working folder {} is missing",
                            pr.name,
                            s.slug,
                            dir.display()
                        ));
                    }
                    if let Some(prog) = s.command.first()
                        && !on_path(prog)
                    {
                        problems.push(format!("{} {}: {prog:?} is not on PATH", pr.name, s.slug));
                    }
                }
            }
        }
    }
    let p = mode.prefix();
    let external = cfg.get("ENVCTL_DEPENDENCY_MODE").as_deref() == Some("external");
    if !external && cfg.flag(&format!("{p}_REDIS_ENABLE")) && !on_path("redis-server") {
        problems.push(
            "Redis is enabled but redis-server is not installed (apt-get install redis-server)"
                .into(),
        );
    }
    if !external
        && cfg.flag(&format!("{p}_POSTGRES_ENABLE"))
        && !on_path("pg_config")
        && !Path::new("/usr/lib/postgresql").is_dir()
    {
        problems.push(
            "Postgres is enabled but it is not installed (apt-get install postgresql)".into(),
        );
    }
    let ok = problems.is_empty();
    emit(json_out, json!({"ok": ok, "problems": problems}), || {
        if ok {
            "preflight ok".into()
        } else {
            problems.join("\n")
        }
    });
    if ok { Ok(()) } else { Err(Failure::Silent) }
}

/// `clear-logs`: empties the service logs of the latest run.
pub fn clear_logs(repo: &Path) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    let Some(run) = state::load_latest(&scope) else {
        println!("no logs");
        return Ok(());
    };
    let mut n = 0;
    for s in run.services.values() {
        if s.log_path.is_file() {
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&s.log_path)?;
            n += 1;
        }
    }
    println!("cleared {n} log(s)");
    Ok(())
}
