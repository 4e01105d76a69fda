//! `envctl env` and `envctl exec`: a running worktree's projected
//! environment (`DATABASE_URL`, `REDIS_URL`, `DB_*`, service URLs), printed
//! for a person or a shell, or given to a command.
//!
//! Printed for a person (text or `--json`) secrets are redacted; only
//! `--shell` (meant for `eval`) and `exec` carry them.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;

use serde_json::json;

use super::Running;
use crate::Failure;

/// The project's environment: what its services were given before the
/// per-service templates, plus every service's port and URL.
pub fn projected(p: &Running) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for s in &p.services {
        let base = if s.base_env.is_empty() {
            &s.env
        } else {
            &s.base_env
        };
        env.extend(base.iter().cloned());
    }
    for s in &p.services {
        if s.actual_port == 0 {
            continue;
        }
        let key = s.service_slug.to_ascii_uppercase().replace('-', "_");
        let url = if s.public_url.is_empty() {
            format!("http://127.0.0.1:{}", s.actual_port)
        } else {
            s.public_url.clone()
        };
        env.insert(
            format!("ENVCTL_SOURCE_SERVICE_{key}_PORT"),
            s.actual_port.to_string(),
        );
        env.insert(format!("ENVCTL_SOURCE_SERVICE_{key}_URL"), url.clone());
        env.insert(format!("{key}_URL"), url);
    }
    env.insert("ENVCTL_PROJECT".into(), p.name.clone());
    env.insert("ENVCTL_PROJECT_ROOT".into(), p.root.display().to_string());
    env
}

fn is_secret(key: &str) -> bool {
    let u = key.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "PRIVATE"]
        .iter()
        .any(|w| u.contains(w))
}

/// `value` with a URL's password (`scheme://user:pass@host`) hidden.
fn redact_url(value: &str) -> String {
    let Some(i) = value.find("://") else {
        return value.to_owned();
    };
    let (head, rest) = value.split_at(i + 3);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{head}{user}:<redacted>{}", &rest[at..]),
            None => value.to_owned(),
        },
        None => value.to_owned(),
    }
}

/// The environment as a person may see it: secrets hidden.
pub fn redacted(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.iter()
        .map(|(k, v)| {
            let v = if is_secret(k) {
                "<redacted>".to_owned()
            } else {
                redact_url(v)
            };
            (k.clone(), v)
        })
        .collect()
}

/// How `env` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `KEY=value`, secrets redacted.
    Text,
    /// `{"project": …, "env": {…}}`, secrets redacted.
    Json,
    /// `export KEY='value'`, for `eval`; secrets included.
    Shell,
}

/// `envctl env`.
pub fn print(p: &Running, format: Format) -> Result<(), Failure> {
    let env = projected(p);
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"project": p.name, "root": p.root, "env": redacted(&env)})
            )
            .unwrap_or_default()
        ),
        Format::Text => {
            for (k, v) in redacted(&env) {
                println!("{k}={v}");
            }
        }
        Format::Shell => {
            for (k, v) in &env {
                let q = shlex::try_quote(v).map_err(|_| {
                    Failure::Actionable(format!("{k} holds a NUL byte; it cannot be exported"))
                })?;
                println!("export {k}={q}");
            }
        }
    }
    Ok(())
}

/// `envctl exec`: replaces this process with `cmd`, in the project's folder
/// (the service's with `--service`) with its environment added to ours.
/// Only returns on failure to start it.
pub fn exec(p: &Running, service: Option<&str>, cmd: &[String]) -> Failure {
    let Some((prog, args)) = cmd.split_first() else {
        return Failure::Usage("exec needs a command: `envctl exec -- CMD ARGS…`".into());
    };
    let (env, dir) = match service {
        None => (projected(p), p.root.clone()),
        Some(s) => {
            let Some(rec) = p
                .services
                .iter()
                .find(|r| r.service_slug == s || r.name == s)
            else {
                let names: Vec<&str> = p.services.iter().map(|r| r.service_slug.as_str()).collect();
                return Failure::Actionable(format!(
                    "project {} has no service {s:?} (it has: {})",
                    p.name,
                    names.join(", ")
                ));
            };
            let mut env = projected(p);
            env.extend(rec.env.iter().cloned());
            (env, rec.cwd.clone())
        }
    };
    // The command gets the signal dispositions a shell would give it:
    // envctl ignores SIGPIPE, which an exec would pass on.
    // SAFETY: sets the default disposition; no handler code runs.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    let err = std::process::Command::new(prog)
        .args(args)
        .envs(&env)
        .current_dir(&dir)
        .exec();
    Failure::Actionable(format!("cannot run {prog:?} in {}: {err}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_password_is_hidden_user_kept() {
        assert_eq!(
            redact_url("postgresql://app:s3cret@127.0.0.1:5432/db_x"),
            "postgresql://app:<redacted>@127.0.0.1:5432/db_x"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/3"),
            "redis://127.0.0.1:6379/3"
        );
        assert_eq!(redact_url("plain"), "plain");
    }

    #[test]
    fn secret_keys_are_hidden() {
        let env: BTreeMap<String, String> = [
            ("DB_PASSWORD".to_owned(), "pw".to_owned()),
            ("DB_USER".to_owned(), "app".to_owned()),
        ]
        .into();
        let r = redacted(&env);
        assert_eq!(r["DB_PASSWORD"], "<redacted>");
        assert_eq!(r["DB_USER"], "app");
    }
}
