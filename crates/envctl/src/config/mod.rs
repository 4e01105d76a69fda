//! Configuration: the repository's `.envctl`, the environment, and CLI
//! overrides, in that order of increasing precedence over built-in
//! defaults (contract §2.5: CLI > environment > file > defaults).

pub mod keys;
pub mod managed;
pub mod parse;
pub mod templates;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use keys::Lookup;
pub use parse::ParseError;

/// Where a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of the config file.
    File {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
    /// A `KEY=VALUE` argument of `envctl start`.
    Cli,
    /// `envctl config --set` (or `--stdin-json`).
    Set,
    /// The process environment.
    Env,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::Cli => f.write_str("command line"),
            Origin::Set => f.write_str("config --set"),
            Origin::Env => f.write_str("environment"),
        }
    }
}

/// The effective configuration of one repository.
#[derive(Debug, Clone)]
pub struct Config {
    /// The repository root (the control plane: config, state, locks).
    pub repo: PathBuf,
    /// The `.envctl` file (may not exist).
    pub file: PathBuf,
    file_values: BTreeMap<String, String>,
    cli: BTreeMap<String, String>,
    problem: Option<String>,
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A malformed line.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A key envctl does not know.
    #[error("{origin}: unknown key `{key}`; {hint}")]
    UnknownKey {
        /// Where it was written.
        origin: Origin,
        /// The key.
        key: String,
        /// The nearest known key, or what to do.
        hint: String,
    },
    /// A key that only the environment may set.
    #[error("{origin}: {key} is read from the environment only; export it instead")]
    EnvOnly {
        /// Where it was written.
        origin: Origin,
        /// The key.
        key: String,
    },
    /// A value has the wrong form.
    #[error("{origin}: {key}={value:?}: {why}")]
    Invalid {
        /// Where it was written.
        origin: Origin,
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What is expected.
        why: String,
    },
}

/// The config file of `repo`: `ENVCTL_CONFIG_FILE` if set, else
/// `<repo>/.envctl`.
pub fn file_of(repo: &Path) -> PathBuf {
    crate::opctx::var("ENVCTL_CONFIG_FILE")
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".envctl"))
}

impl Config {
    /// Loads the config of `repo` (with `ENVCTL_CONFIG_FILE` pointing
    /// elsewhere if set) and the CLI's `KEY=VALUE` overrides, and checks
    /// every key and value (see [`Config::from_text`]).
    pub fn load(repo: &Path, cli: BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let file = file_of(repo);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: file.display().to_string(),
                    source,
                });
            }
        };
        Config::from_text(repo, file, &text, cli)
    }

    /// The config `text` of `file` would give, checked: a malformed line,
    /// an unknown key (in the managed block, in envctl's key namespace, or
    /// within two edits of a known key) or a badly typed value in the file,
    /// the overrides or the environment is an error naming where it was
    /// written. Unknown keys in the environment are not errors: it holds
    /// unrelated variables.
    pub fn from_text(
        repo: &Path,
        file: PathBuf,
        text: &str,
        cli: BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let path = file.display().to_string();
        let entries = parse::parse_entries(&path, text)?;
        let cfg = Config {
            repo: repo.to_path_buf(),
            file,
            file_values: entries
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect(),
            cli,
            problem: None,
        };
        let services = cfg.service_suffixes();
        for e in &entries {
            let origin = Origin::File {
                path: path.clone(),
                line: e.line,
            };
            cfg.check(origin, &e.key, &e.value, e.managed, &services)?;
        }
        for (k, v) in &cfg.cli {
            cfg.check(Origin::Cli, k, v, true, &services)?;
        }
        for (k, v) in crate::opctx::vars() {
            let (k, v) = (k.as_str(), v.as_str());
            if let Lookup::Known(d) = keys::lookup(k, &services)
                && !d.env_only
            {
                d.kind.check(v).map_err(|why| ConfigError::Invalid {
                    origin: Origin::Env,
                    key: k.to_owned(),
                    value: v.to_owned(),
                    why,
                })?;
            }
        }
        Ok(cfg)
    }

    /// The configuration without the file: the environment and built-in
    /// defaults, for the commands that work from the recorded state when
    /// the file is broken. `problem` is why the file was left out.
    pub fn without_file(repo: &Path, problem: String) -> Config {
        Config {
            repo: repo.to_path_buf(),
            file: file_of(repo),
            file_values: BTreeMap::new(),
            cli: BTreeMap::new(),
            problem: Some(problem),
        }
    }

    /// The CLI's `KEY=VALUE` overrides (handed to the daemon with a
    /// command it serves).
    pub fn overrides(&self) -> BTreeMap<String, String> {
        self.cli.clone()
    }

    /// Why the file was left out (see [`Config::without_file`]).
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Checks `KEY=VALUE` pairs about to be written by `config --set`:
    /// every key must be known (an additional service's keys may come in
    /// the same batch as `ENVCTL_ADDITIONAL_SERVICES`), every value typed.
    pub fn check_updates(&self, updates: &[(String, String)]) -> Result<(), ConfigError> {
        let mut services = self.service_suffixes();
        for (k, v) in updates {
            if k == "ENVCTL_ADDITIONAL_SERVICES" {
                services.extend(keys::service_suffixes(v));
            }
        }
        for (k, v) in updates {
            if v.contains(['\n', '\r']) {
                return Err(ConfigError::Invalid {
                    origin: Origin::Set,
                    key: k.clone(),
                    value: v.clone(),
                    why: "a value is one line".into(),
                });
            }
            self.check(Origin::Set, k, v, true, &services)?;
        }
        Ok(())
    }

    /// The `<S>` of each listed additional service.
    fn service_suffixes(&self) -> Vec<String> {
        keys::service_suffixes(&self.get("ENVCTL_ADDITIONAL_SERVICES").unwrap_or_default())
    }

    /// Checks one written `key=value`. An unknown key is an error when
    /// `strict`, or when it looks like one of envctl's; otherwise it is
    /// the user's own line and left alone.
    fn check(
        &self,
        origin: Origin,
        key: &str,
        value: &str,
        strict: bool,
        services: &[String],
    ) -> Result<(), ConfigError> {
        let unknown = |hint: String| ConfigError::UnknownKey {
            origin: origin.clone(),
            key: key.to_owned(),
            hint,
        };
        let suggestion =
            || keys::nearest(key, services).map(|(near, _)| format!("did you mean `{near}`?"));
        match keys::lookup(key, services) {
            Lookup::Known(d) if d.env_only => Err(ConfigError::EnvOnly {
                origin,
                key: key.to_owned(),
            }),
            Lookup::Known(d) => d.kind.check(value).map_err(|why| ConfigError::Invalid {
                origin,
                key: key.to_owned(),
                value: value.to_owned(),
                why,
            }),
            Lookup::UnlistedService { service } => Err(unknown(suggestion().unwrap_or_else(|| {
                format!(
                    "`{service}` is not listed in ENVCTL_ADDITIONAL_SERVICES (list it there to configure it)"
                )
            }))),
            Lookup::Unknown if strict || keys::looks_like_ours(key, services) => {
                Err(unknown(suggestion().unwrap_or_else(|| {
                    "`envctl config --help` lists every key".to_owned()
                })))
            }
            Lookup::Unknown => Ok(()),
        }
    }

    /// True when the repository has a `.envctl`.
    pub fn has_file(&self) -> bool {
        self.file.is_file()
    }

    /// The effective value of `key`, and where it came from (an alias
    /// counts as its key, after it within each source).
    pub fn get_with_source(&self, key: &str) -> Option<(String, &'static str)> {
        let mut names: Vec<&str> = vec![key];
        names.extend(keys::aliases_of(key));
        for n in &names {
            if let Some(v) = self.cli.get(*n) {
                return Some((v.clone(), "cli"));
            }
        }
        for n in &names {
            if let Some(v) = crate::opctx::var(n) {
                return Some((v, "env"));
            }
        }
        for n in &names {
            if let Some(v) = self.file_values.get(*n) {
                return Some((v.clone(), "file"));
            }
        }
        keys::default_of(key).map(|v| (v.to_owned(), "default"))
    }

    /// The effective value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.get_with_source(key).map(|(v, _)| v)
    }

    /// A boolean key (`true/1/yes/on`; anything else is false).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .as_deref()
            .and_then(keys::parse_bool)
            .unwrap_or(false)
    }

    /// A numeric key (validated at load).
    pub fn num(&self, key: &str) -> u32 {
        self.get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Every key with a value, for `show-config`: the declared keys (and
    /// the listed services' keys), and whatever the file and overrides set.
    pub fn effective(&self) -> BTreeMap<String, (String, &'static str)> {
        let mut names: Vec<String> = keys::KEYS
            .iter()
            .filter(|d| d.alias_of.is_none() && !d.env_only)
            .map(|d| d.name.to_owned())
            .collect();
        for s in self.service_suffixes() {
            names.extend(
                keys::SERVICE_KEYS
                    .iter()
                    .map(|d| format!("{}{s}_{}", keys::SERVICE_PREFIX, d.name)),
            );
        }
        names.extend(self.file_values.keys().cloned());
        names.extend(self.cli.keys().cloned());
        names
            .into_iter()
            .filter_map(|k| self.get_with_source(&k).map(|v| (k, v)))
            .collect()
    }

    /// The declaration of `key`, if envctl knows it.
    pub fn describe(&self, key: &str) -> Option<keys::KeyDef> {
        match keys::lookup(key, &self.service_suffixes()) {
            Lookup::Known(d) => Some(d),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(text: &str) -> Result<Config, ConfigError> {
        Config::from_text(
            Path::new("/r"),
            PathBuf::from("/r/.envctl"),
            text,
            BTreeMap::new(),
        )
    }

    #[test]
    fn an_alias_counts_as_its_key_after_it() {
        let cfg = from("REDIS_ENABLE=yes\n").unwrap();
        assert_eq!(
            cfg.get_with_source("MAIN_REDIS_ENABLE"),
            Some(("yes".into(), "file"))
        );
        assert!(cfg.flag("MAIN_REDIS_ENABLE"));
        let cfg = from("REDIS_ENABLE=yes\nMAIN_REDIS_ENABLE=no\n").unwrap();
        assert!(!cfg.flag("MAIN_REDIS_ENABLE"), "the key itself wins");
    }

    #[test]
    fn errors_name_the_line_the_key_and_the_key_meant() {
        let e = from("A_NOTE=mine\nTREES_POSTGRESS_ENABLE=true\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/r/.envctl:2: unknown key `TREES_POSTGRESS_ENABLE`; did you mean `TREES_POSTGRES_ENABLE`?"
        );
        let e = from("ENVCTL_ADDITIONAL_SERVICES=worker\nENVCTL_SERVICE_WORKER_PORT_BASE=0\n")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/r/.envctl:2: ENVCTL_SERVICE_WORKER_PORT_BASE=\"0\": expected a port number (1-65535)"
        );
        let cfg = from("ENVCTL_ADDITIONAL_SERVICES=worker\n").unwrap();
        let e = cfg
            .check_updates(&[("ENVCTL_DEFAULT_MODE".into(), "main\nX=1".into())])
            .unwrap_err();
        assert!(e.to_string().ends_with("a value is one line"), "{e}");
        assert_eq!(
            cfg.get("ENVCTL_SERVICE_WORKER_START_ORDER").as_deref(),
            Some("100")
        );
    }
}
