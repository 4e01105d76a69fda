//! Diagnostics you can hand to someone: `debug-pack` (a redacted bundle
//! with a sha256 manifest), `debug-last`, `debug-report`.
//!
//! Unlike the original, a bundle needs no pre-recorded session: it packs
//! what is on disk now (events, state, runtime map, ports, errors, locks,
//! doctor output, the last lines of every service log, the config). Every
//! string is scrubbed, in nested values too: URL credentials, values of
//! keys that look secret, and every value the config holds under such a
//! key wherever else it appears; commands appear only as a hash and a
//! length.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::{Failure, ports, scope, state};

const SECRET_WORDS: [&str; 8] = [
    "TOKEN", "SECRET", "PASSWORD", "KEY", "AUTH", "COOKIE", "SESSION", "PRIVATE",
];

fn is_secret_key(k: &str) -> bool {
    let u = k.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| u.contains(w))
}

/// Scrubs one string.
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    /// Knows the secret values `cfg` holds.
    pub fn new(cfg: &Config) -> Scrubber {
        let mut secrets: Vec<String> = cfg
            .effective()
            .into_iter()
            .filter(|(k, (v, _))| is_secret_key(k) && v.len() >= 3)
            .map(|(_, (v, _))| v)
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    /// Scrubs `s`.
    pub fn text(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        // URL userinfo: scheme://user:pass@host → scheme://<redacted>@host
        let mut rest = s;
        while let Some(i) = rest.find("://") {
            let (head, tail) = rest.split_at(i + 3);
            out.push_str(head);
            let end = tail
                .find(|c: char| c.is_whitespace() || c == '/' || c == '"')
                .unwrap_or(tail.len());
            match tail[..end].rfind('@') {
                Some(at) => {
                    out.push_str("<redacted>");
                    rest = &tail[at..];
                }
                None => rest = tail,
            }
        }
        out.push_str(rest);
        // KEY=value, KEY: value where KEY looks secret.
        let mut lines = Vec::new();
        for line in out.lines() {
            let mut l = line.to_owned();
            for sep in ['=', ':'] {
                if let Some((k, _)) = l.split_once(sep) {
                    let key = k
                        .trim()
                        .trim_start_matches("export ")
                        .rsplit(|c: char| c.is_whitespace() || c == '"' || c == '{' || c == ',')
                        .next()
                        .unwrap_or("");
                    if !key.is_empty() && is_secret_key(key) {
                        l = format!("{k}{sep}<redacted>");
                        break;
                    }
                }
            }
            lines.push(l);
        }
        let mut joined = lines.join("\n");
        if out.ends_with('\n') {
            joined.push('\n');
        }
        for secret in &self.secrets {
            joined = joined.replace(secret.as_str(), "<redacted>");
        }
        joined
    }

    /// Scrubs every string in `v`, in nested values too.
    pub fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(a) => {
                // ["KEY", "value"] pairs, as in a service's env.
                if let [Value::String(k), Value::String(_)] = a.as_slice()
                    && is_secret_key(k)
                {
                    return json!([k, "<redacted>"]);
                }
                Value::Array(a.iter().map(|x| self.value(x)).collect())
            }
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| {
                        if k == "command" && x.is_string() {
                            return (k.clone(), x.clone());
                        }
                        if is_secret_key(k) && x.is_string() {
                            (k.clone(), json!("<redacted>"))
                        } else {
                            (k.clone(), self.value(x))
                        }
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An event with its `command` replaced by `command_hash` + `command_length`.
fn hide_command(mut ev: Value, salt: &str) -> Value {
    if let Some(Value::String(cmd)) = ev.get("command").cloned()
        && let Some(o) = ev.as_object_mut()
    {
        o.remove("command");
        o.insert(
            "command_hash".into(),
            json!(hex(&Sha256::digest(
                format!("{salt}:{}", cmd.trim()).as_bytes()
            ))),
        );
        o.insert("command_length".into(), json!(cmd.trim().chars().count()));
    }
    ev
}

/// `debug-pack`: builds the bundle and prints its path.
pub fn pack(repo: &Path, cfg: &Config) -> Result<PathBuf, Failure> {
    let scope = scope::scope_dir(repo)?;
    let scrub = Scrubber::new(cfg);
    let debug = scope.join("debug");
    let session = format!("{}-{}", state::compact_now(), std::process::id());
    std::fs::create_dir_all(&debug)?;
    let mut files: Vec<(String, String)> = Vec::new();
    let json_file = |name: &str, v: Value| {
        (
            name.to_owned(),
            serde_json::to_string_pretty(&scrub.value(&v)).unwrap_or_default(),
        )
    };
    let read_json = |f: &str| {
        std::fs::read_to_string(scope.join(f))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or(Value::Null)
    };
    for f in [
        "run_state.json",
        "runtime_map.json",
        "ports_manifest.json",
        "error_report.json",
    ] {
        files.push(json_file(f, read_json(f)));
    }
    let events: String = std::fs::read_to_string(scope.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|ev| {
            serde_json::to_string(&scrub.value(&hide_command(ev, &session))).unwrap_or_default()
                + "\n"
        })
        .collect();
    files.push(("events.runtime.redacted.jsonl".into(), events));
    let locks: Vec<Value> = ports::inventory(&scope)
        .into_iter()
        .map(|(port, l, stale)| json!({"port": port, "owner": l.owner, "session": l.session, "pid": l.pid, "stale": stale}))
        .collect();
    files.push(json_file("locks.json", json!(locks)));
    if let Some(run) = state::load_latest(&scope) {
        for s in run.services.values() {
            let text = std::fs::read_to_string(&s.log_path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(200)..].join("\n");
            files.push((
                format!("logs/{}_{}.txt", s.project, s.service_slug),
                scrub.text(&tail),
            ));
        }
    }
    if let Ok(text) = std::fs::read_to_string(&cfg.file) {
        files.push(("config.envctl.redacted".into(), scrub.text(&text)));
    }
    let mut manifest = serde_json::Map::new();
    for (name, body) in &files {
        manifest.insert(
            name.clone(),
            json!({"sha256": hex(&Sha256::digest(body.as_bytes())), "size": body.len()}),
        );
    }
    let m = json!({"scope_id": scope::scope_id(repo), "session_id": session, "contract_version": 1, "files": manifest});
    files.push((
        "manifest.json".into(),
        serde_json::to_string_pretty(&m).unwrap_or_default(),
    ));
    let bundle = debug.join(format!("envctl-debug-bundle-{session}.tar.gz"));
    write_bundle(&bundle, &files)
        .map_err(|e| Failure::Actionable(format!("could not write {}: {e}", bundle.display())))?;
    state::write_atomic(&debug.join("latest_bundle"), &bundle.display().to_string())?;
    println!("{}", bundle.display());
    Ok(bundle)
}

/// Writes `files` (name, text) as a gzipped tar, atomically (a temporary
/// file renamed into place): owner-only, since it holds logs.
fn write_bundle(path: &Path, files: &[(String, String)]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let mtime = state::now();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    let result = (|| {
        for (name, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o600);
            h.set_mtime(mtime);
            h.set_cksum();
            tar.append_data(&mut h, name, body.as_bytes())?;
        }
        tar.into_inner()?.finish()?.sync_all()
    })();
    match result {
        Ok(()) => std::fs::rename(&tmp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// `debug-last`: the latest bundle's path.
pub fn last(repo: &Path) -> Result<(), Failure> {
    let scope = scope::scope_dir(repo)?;
    match std::fs::read_to_string(scope.join("debug/latest_bundle")) {
        Ok(p) if Path::new(p.trim()).is_file() => {
            println!("{}", p.trim());
            Ok(())
        }
        _ => Err(Failure::Actionable(
            "no debug bundle yet: run `envctl debug-pack`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber(secrets: &[&str]) -> Scrubber {
        Scrubber {
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn every_secret_shape_is_scrubbed_in_nested_values_too() {
        let s = scrubber(&["s3cret"]);
        assert_eq!(
            s.text("postgresql://u:pw@host:5432/db"),
            "postgresql://<redacted>@host:5432/db"
        );
        assert_eq!(s.text("DB_PASSWORD=hunter2"), "DB_PASSWORD=<redacted>");
        assert_eq!(s.text("api_token: abc"), "api_token:<redacted>");
        assert_eq!(
            s.text("it was s3cret all along"),
            "it was <redacted> all along"
        );
        let v = json!({"env": [["DB_PASSWORD", "x"], ["PORT", "1"]], "nested": {"AUTH_HEADER": "Bearer z", "list": ["redis://:p@h/0"]}});
        let out = s.value(&v);
        assert_eq!(out["env"][0][1], "<redacted>");
        assert_eq!(out["env"][1][1], "1");
        assert_eq!(out["nested"]["AUTH_HEADER"], "<redacted>");
        assert_eq!(out["nested"]["list"][0], "redis://<redacted>@h/0");
    }

    #[test]
    fn commands_become_a_hash_and_a_length() {
        let ev = hide_command(
            json!({"event": "ui.input.submit", "command": " stop --all "}),
            "salt",
        );
        assert!(ev.get("command").is_none());
        assert_eq!(ev["command_length"], 10);
        assert_eq!(ev["command_hash"].as_str().unwrap().len(), 64);
    }
}
