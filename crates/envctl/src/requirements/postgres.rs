//! Postgres via `initdb` + `pg_ctl`, found on `PATH`, through `pg_config
//! --bindir`, or in Debian's `/usr/lib/postgresql/*/bin`. TCP on 127.0.0.1
//! plus a private socket folder per instance; readiness by a protocol ping
//! ([`super::pg_ping`]), as `pg_isready` answers.
//!
//! `initdb` refuses to run as root, so when envctl runs as root the
//! server runs as the `postgres` system user (`runuser`) and its folder is
//! owned by that user, under `/var/tmp/envctl-postgres/` (a root-owned
//! runtime folder is not traversable by it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{DepError, Dependency, Instance};
use crate::procs;

/// The Postgres dependency.
#[derive(Debug, Default)]
pub struct Postgres;

fn err(why: String) -> DepError {
    DepError {
        dep: "postgres",
        why,
    }
}

fn bindir() -> Result<PathBuf, DepError> {
    // Found once per process (a readiness poll asks for it each time); a
    // miss is not remembered, so installing Postgres fixes a running daemon.
    static FOUND: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(p) = FOUND.get() {
        return Ok(p.clone());
    }
    let p = find_bindir()?;
    Ok(FOUND.get_or_init(|| p).clone())
}

fn find_bindir() -> Result<PathBuf, DepError> {
    // An `initdb` on PATH is the user's choice (and costs no process).
    // It is often a symlink (`/usr/local/bin/initdb`, Homebrew's bin):
    // the folder that holds the real one has `pg_ctl` and `psql` beside it.
    if let Some(p) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .filter_map(|d| std::fs::canonicalize(d.join("initdb")).ok())
            .filter_map(|real| real.parent().map(Path::to_path_buf))
            .find(|d| d.join("pg_ctl").is_file() && d.join("psql").is_file())
    }) {
        return Ok(p);
    }
    if let Ok(o) = Command::new("pg_config").arg("--bindir").output()
        && o.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if p.join("initdb").is_file() {
            return Ok(p);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").is_file())
                .collect()
        })
        .unwrap_or_default();
    // The newest major version (15 after 9.6: by number, not by text).
    let major = |p: &PathBuf| -> Vec<u32> {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .map(|v| v.split('.').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_default()
    };
    found.sort_by_key(major);
    found.pop().ok_or_else(|| {
        err("initdb not found (install postgresql: apt-get install postgresql)".into())
    })
}

fn as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs a Postgres tool, as the `postgres` user when we are root.
fn run(tool: &Path, args: &[&str]) -> Result<String, DepError> {
    run_env(tool, args, &[])
}

/// [`run`] with extra environment (the ownership marker for `pg_ctl
/// start`, which the postmaster and its workers inherit).
fn run_env(tool: &Path, args: &[&str], env: &[(&str, String)]) -> Result<String, DepError> {
    let mut cmd = if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(tool);
        c
    } else {
        Command::new(tool)
    };
    let out = cmd
        .args(args)
        .env_remove("_TRACTOR_RT_VARS")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| err(format!("cannot run {}: {e}", tool.display())))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(err(format!(
            "{} {} failed: {}",
            tool.display(),
            args.join(" "),
            text.trim()
        )))
    }
}

fn chown_postgres(p: &Path) -> Result<(), DepError> {
    if !as_root() {
        return Ok(());
    }
    let user = nix::unistd::User::from_name("postgres")
        .ok()
        .flatten()
        .ok_or_else(|| {
            err("running as root needs the `postgres` system user (install postgresql)".into())
        })?;
    nix::unistd::chown(p, Some(user.uid), Some(user.gid))
        .map_err(|e| err(format!("chown {}: {e}", p.display())))
}

/// Where an instance's folder goes: under the scope, or (as root) under
/// `/var/tmp/envctl-postgres/<scope>/` where the postgres user can reach it.
pub fn instance_dir(scope: &Path, key: &str) -> PathBuf {
    if as_root() {
        let scope_id = scope
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let runtime = scope
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Different runtime roots (tests) must not share instance folders.
        let tag = {
            use sha2::Digest;
            let d = sha2::Sha256::digest(runtime.as_bytes());
            d.iter()
                .take(4)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        PathBuf::from("/var/tmp/envctl-postgres")
            .join(format!("{tag}-{scope_id}"))
            .join(key)
    } else {
        scope.join("deps").join(key)
    }
}

fn postmaster(data: &Path) -> Option<procs::Ident> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    Some(procs::Ident {
        pid,
        start_time: procs::start_time(pid)?,
    })
}

impl Dependency for Postgres {
    fn id(&self) -> &'static str {
        "postgres"
    }

    fn port_key(&self) -> &'static str {
        "DB_PORT"
    }

    fn start(&self, port: u16, dir: &Path, owner: &procs::Owner) -> Result<Instance, DepError> {
        let bin = bindir()?;
        if as_root() {
            // The base must be traversable by the postgres user.
            let base = Path::new("/var/tmp/envctl-postgres");
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
            for p in dir.ancestors().take_while(|p| p.starts_with(base)) {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o711));
            }
        }
        let data = dir.join("data");
        let sock = dir.join("sock");
        for d in [&data, &sock] {
            std::fs::create_dir_all(d)
                .map_err(|e| err(format!("cannot create {}: {e}", d.display())))?;
            chown_postgres(d)?;
        }
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700));
        }
        if !data.join("PG_VERSION").is_file() {
            run(
                &bin.join("initdb"),
                &[
                    "-D",
                    &data.display().to_string(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )?;
        }
        let log = dir.join("postgres.log");
        if !log.exists() {
            std::fs::write(&log, "")
                .map_err(|e| err(format!("cannot create {}: {e}", log.display())))?;
        }
        chown_postgres(&log)?;
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            sock.display()
        );
        run_env(
            &bin.join("pg_ctl"),
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &log.display().to_string(),
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
            &[(procs::OWNER_VAR, owner.to_string())],
        )?;
        let ident = postmaster(&data)
            .ok_or_else(|| err("started, but postmaster.pid is unreadable".into()))?;
        let inst = Instance {
            id: "postgres".into(),
            owner: String::new(),
            port,
            ident,
            data_dir: dir.to_path_buf(),
            marker: owner.to_string(),
        };
        if !procs::wait_until(Duration::from_secs(30), || self.ready(&inst)) {
            self.stop(&inst);
            return Err(err(format!(
                "never accepted connections on port {port} (see {})",
                log.display()
            )));
        }
        Ok(inst)
    }

    fn ready(&self, inst: &Instance) -> bool {
        super::pg_ping::ping(inst.port, Duration::from_secs(2)) == super::pg_ping::Ping::Ready
    }

    fn stop(&self, inst: &Instance) {
        if let Ok(bin) = bindir() {
            let data = inst.data_dir.join("data");
            let _ = run(
                &bin.join("pg_ctl"),
                &[
                    "-D",
                    &data.display().to_string(),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "20",
                    "stop",
                ],
            );
        }
        // pg_ctl stops the postmaster; anything left of the group or
        // carrying the marker (a killed postmaster's backends) goes too.
        procs::stop_owned(&inst.ident, inst.marker(), Duration::from_secs(3));
    }

    fn prepare_shared(&self, inst: &Instance, projects: &[String]) -> Result<(), DepError> {
        let names: Vec<String> = projects
            .iter()
            .map(|p| db_name(p))
            .filter(|n| !created(inst, n))
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        create_databases(inst, &names)
    }

    fn project_env(
        &self,
        inst: &Instance,
        project: &str,
        _slot: u32,
        shared: bool,
    ) -> Result<Vec<(String, String)>, DepError> {
        let db = if shared {
            let name = db_name(project);
            if !created(inst, &name) {
                create_databases(inst, std::slice::from_ref(&name))?;
            }
            name
        } else {
            "postgres".to_owned()
        };
        let url =
            |scheme: &str| format!("{scheme}://postgres:postgres@127.0.0.1:{}/{db}", inst.port);
        Ok(vec![
            ("DB_HOST".into(), "127.0.0.1".into()),
            ("DB_PORT".into(), inst.port.to_string()),
            ("DB_USER".into(), "postgres".into()),
            ("DB_PASSWORD".into(), "postgres".into()),
            ("DB_NAME".into(), db.clone()),
            ("DATABASE_URL".into(), url("postgresql")),
            ("SQLALCHEMY_DATABASE_URL".into(), url("postgresql+psycopg")),
            ("ASYNC_DATABASE_URL".into(), url("postgresql+asyncpg")),
        ])
    }
}

/// A project's database name on the shared server: lower-case letters,
/// digits and `_`.
fn db_name(project: &str) -> String {
    project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Databases this process created or found, per server process (a server
/// started again, say on fresh data, is asked anew).
static CREATED: std::sync::Mutex<Vec<(procs::Ident, String)>> = std::sync::Mutex::new(Vec::new());

fn created(inst: &Instance, name: &str) -> bool {
    CREATED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|(i, n)| *i == inst.ident && n == name)
}

/// Creates the databases `names` that do not exist yet, in one `psql`
/// session (`\gexec` runs each generated `CREATE DATABASE`). `psql`
/// connects over TCP with trust authentication, so it runs as whoever we
/// are (no `runuser`, which costs a PAM session per call).
fn create_databases(inst: &Instance, names: &[String]) -> Result<(), DepError> {
    use std::io::Write;
    let bin = bindir()?;
    let list = names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(",");
    let script = format!(
        "SELECT format('CREATE DATABASE %I', d) FROM unnest(ARRAY[{list}]) AS d \
         WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d) \\gexec\n"
    );
    let psql = bin.join("psql");
    let mut child = Command::new(&psql)
        .args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &inst.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            "-",
        ])
        .env_remove("_TRACTOR_RT_VARS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot run {}: {e}", psql.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| err(format!("{}: {e}", psql.display())))?;
    if !out.status.success() {
        return Err(err(format!(
            "creating the databases {} on port {} failed: {}{}",
            names.join(", "),
            inst.port,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    CREATED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(names.iter().map(|n| (inst.ident, n.clone())));
    Ok(())
}
