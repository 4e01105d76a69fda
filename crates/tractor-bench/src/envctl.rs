//! envctl's figures (`tractor-bench --envctl`), each beside a floor from
//! the same run: a cold start of two worktrees with shared Postgres and
//! Redis (floor: `initdb` + `pg_ctl start` + `redis-server` ready, run
//! directly), a warm `resume` (floor: the envctl binary starting and
//! exiting), a crashed service restarted and healthy again (floor: the
//! app's own start), and `health` on 10 services (floor: 10 direct HTTP
//! health checks).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::report::{Figure, Floor, Goal};

/// The sample repository the figures run on.
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/envctl-sample");

/// The envctl binary: beside this one (same profile, same target dir).
pub fn locate() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let exe = me.with_file_name("envctl");
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(format!(
            "{} not found: build it with the same profile (cargo build --release -p envctl)",
            exe.display()
        ))
    }
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A sample repository with `trees` worktrees and its own runtime folder.
struct Repo {
    exe: PathBuf,
    tmp: PathBuf,
    repo: PathBuf,
}

impl Repo {
    fn new(exe: &Path, trees: usize) -> Result<Repo, String> {
        let tmp = std::env::temp_dir().join(format!(
            "envctl-bench-{}-{:x}",
            std::process::id(),
            rand_tag() as u32
        ));
        let repo = tmp.join("sample");
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        run(Command::new("cp").args(["-r", SAMPLE]).arg(&repo))?;
        let git = |args: &[&str]| {
            run(Command::new("git")
                .args(args)
                .current_dir(&repo)
                .env("GIT_AUTHOR_NAME", "bench")
                .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
                .env("GIT_COMMITTER_NAME", "bench")
                .env("GIT_COMMITTER_EMAIL", "bench@example.invalid"))
        };
        git(&["init", "-q", "-b", "main"])?;
        git(&["add", "-A"])?;
        git(&["commit", "-qm", "sample"])?;
        for i in 0..trees {
            git(&[
                "worktree",
                "add",
                "-q",
                &format!("trees/f{i}/1"),
                "-b",
                &format!("f{i}-1"),
            ])?;
        }
        Ok(Repo {
            exe: exe.to_path_buf(),
            tmp,
            repo,
        })
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args)
            .current_dir(&self.repo)
            .env("RUN_SH_RUNTIME_DIR", self.tmp.join("runtime"))
            .env_remove("_TRACTOR_RT_VARS")
            .stdin(Stdio::null());
        c
    }

    fn envctl(&self, args: &[&str]) -> Result<Output, String> {
        run(&mut self.cmd(args))
    }

    fn state(&self) -> Result<serde_json::Value, String> {
        let out = self.envctl(&["show-state", "--json"])?;
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = self
            .cmd(&["blast-all", "--remove-volumes", "--force"])
            .output();
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

fn rand_tag() -> u128 {
    use std::hash::{BuildHasher, RandomState};
    u128::from(RandomState::new().hash_one(std::time::SystemTime::now()))
}

fn ms_pct(mut s: Vec<Duration>) -> (f64, f64) {
    let (a, b) = crate::stats::percentiles_us(&mut s);
    (a / 1000.0, b / 1000.0)
}

fn http_ok(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET /health HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.0 200").then_some(buf)
}

/// Waits until `port` answers /health with 200, polling every 2 ms; the
/// time from `from`.
fn until_healthy(port: u16, from: Instant, pid_not: Option<&str>) -> Result<Duration, String> {
    let limit = Duration::from_secs(60);
    loop {
        if let Some(body) = http_ok(port)
            && pid_not.is_none_or(|p| !body.contains(&format!("\"pid\": {p},")))
        {
            return Ok(from.elapsed());
        }
        if from.elapsed() > limit {
            return Err(format!("port {port} never became healthy"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `initdb` + `pg_ctl start -w` + `redis-server` answering PING, run
/// directly: what a cold start cannot beat.
fn deps_floor() -> Result<Duration, String> {
    let root = nix_is_root();
    let dir = PathBuf::from(format!(
        "/var/tmp/envctl-bench-pg-{}-{}",
        std::process::id(),
        rand_tag() as u32
    ));
    std::fs::create_dir_all(dir.join("sock")).map_err(|e| e.to_string())?;
    let bindir = String::from_utf8_lossy(&run(Command::new("pg_config").arg("--bindir"))?.stdout)
        .trim()
        .to_owned();
    let pg = |tool: &str| {
        let mut c = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(Path::new(&bindir).join(tool));
            c
        } else {
            Command::new(Path::new(&bindir).join(tool))
        };
        c.stdin(Stdio::null());
        c
    };
    if root {
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir))?;
    }
    let data = dir.join("data");
    let pg_port = free_port();
    let redis_port = free_port();
    let t = Instant::now();
    run(pg("initdb")
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "--no-sync"]))?;
    let opts = format!(
        "-p {pg_port} -k {} -c listen_addresses=127.0.0.1",
        dir.join("sock").display()
    );
    run(pg("pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-l"])
        .arg(dir.join("log"))
        .args(["-o", &opts, "-w", "start"]))?;
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &redis_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    while !ping(redis_port) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = t.elapsed();
    let _ = pg("pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-m", "immediate", "stop"])
        .output();
    let _ = redis.kill();
    let _ = redis.wait();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(took)
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.write_all(b"*1\r\n$4\r\nPING\r\n");
    let mut b = [0u8; 8];
    matches!(s.read(&mut b), Ok(n) if b[..n].starts_with(b"+PONG"))
}

/// Every envctl figure; `iters` samples each.
pub fn figures(iters: usize) -> Result<Vec<Figure>, String> {
    let exe = locate()?;
    let mut out = Vec::new();

    // Cold start: two worktrees, shared Postgres + Redis, nothing cached.
    let mut floor = Vec::new();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut bin = Vec::new();
    let mut crash = Vec::new();
    let mut app = Vec::new();
    for _ in 0..iters {
        floor.push(deps_floor()?);
        let r = Repo::new(&exe, 2)?;
        let t = Instant::now();
        r.envctl(&["start", "--trees", "--headless"])?;
        cold.push(t.elapsed());
        // Warm resume: everything runs, nothing to do.
        for _ in 0..3 {
            let t = Instant::now();
            r.envctl(&["resume", "--headless"])?;
            warm.push(t.elapsed());
            let t = Instant::now();
            run(Command::new(&exe).arg("--version"))?;
            bin.push(t.elapsed());
        }
        // A crash: the supervisor restarts the backend on its port.
        let st = r.state()?;
        let b = &st["state"]["services"]["f0-1 Backend"];
        let (pid, port) = (
            b["pid"].as_u64().ok_or("no backend pid")?,
            b["actual_port"].as_u64().ok_or("no backend port")? as u16,
        );
        let t = Instant::now();
        run(Command::new("kill").args(["-9", &pid.to_string()]))?;
        crash.push(until_healthy(port, t, Some(&pid.to_string()))?);
        // The app's own start, for the same backend.
        let port2 = free_port();
        let t = Instant::now();
        let mut direct = Command::new("python3")
            .args(["server.py", "--port", &port2.to_string()])
            .current_dir(r.repo.join("backend"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let took = until_healthy(port2, t, None);
        let _ = direct.kill();
        let _ = direct.wait();
        app.push(took?);
    }
    let (p50, p99) = ms_pct(cold);
    out.push(Figure {
        name: "envctl_cold_start_2trees".into(),
        mode: None,
        cpu_per_op_us: None,
        rounds: Vec::new(),
        p50,
        p99,
        unit: "ms",
        floor: Some(Floor::unplaced(ms_pct(floor).0, "initdb_pgctl_redis")),
        goal: Goal::Absolute(3000.0),
        note: Some("2 worktrees, shared Postgres + Redis, backend + frontend each".into()),
    });
    let (p50, p99) = ms_pct(warm);
    out.push(Figure {
        name: "envctl_warm_resume".into(),
        mode: None,
        cpu_per_op_us: None,
        rounds: Vec::new(),
        p50,
        p99,
        unit: "ms",
        floor: Some(Floor::unplaced(ms_pct(bin).0, "envctl_exec_exit")),
        goal: Goal::Absolute(300.0),
        note: None,
    });
    let app_ms = ms_pct(app).0;
    let (p50, p99) = ms_pct(crash);
    out.push(Figure {
        name: "envctl_crash_to_healthy".into(),
        mode: None,
        cpu_per_op_us: None,
        rounds: Vec::new(),
        p50,
        p99,
        unit: "ms",
        floor: Some(Floor::unplaced(app_ms, "app_own_start")),
        goal: Goal::Absolute(1000.0 + app_ms),
        note: Some("kill -9 of a backend until its port answers /health from the new process; goal: 1 s plus the app's own start".into()),
    });

    // health on 10 services: 5 worktrees, apps only.
    let r = Repo::new(&exe, 5)?;
    r.envctl(&[
        "start",
        "--trees",
        "--headless",
        "TREES_POSTGRES_ENABLE=false",
        "TREES_REDIS_ENABLE=false",
    ])?;
    let st = r.state()?;
    let ports: Vec<u16> = st["state"]["services"]
        .as_object()
        .ok_or("no services")?
        .values()
        .filter_map(|s| s["actual_port"].as_u64().map(|p| p as u16))
        .collect();
    if ports.len() != 10 {
        return Err(format!("expected 10 services, got {}", ports.len()));
    }
    let (mut health, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..iters.max(3) * 3 {
        let t = Instant::now();
        r.envctl(&["health"])?;
        health.push(t.elapsed());
        let t = Instant::now();
        run(Command::new(&exe).arg("--version"))?;
        for p in &ports {
            http_ok(*p).ok_or("a service did not answer")?;
        }
        direct.push(t.elapsed());
    }
    let (p50, p99) = ms_pct(health);
    out.push(Figure {
        name: "envctl_health_10_services".into(),
        mode: None,
        cpu_per_op_us: None,
        rounds: Vec::new(),
        p50,
        p99,
        unit: "ms",
        floor: Some(Floor::unplaced(ms_pct(direct).0, "exec_plus_10_http_gets")),
        goal: Goal::Absolute(100.0),
        note: None,
    });
    Ok(out)
}
