//! Configuration: the repository's `.envctl`, the environment, and CLI
//! overrides, in that order of increasing precedence over built-in
//! defaults (contract §2.5: CLI > environment > file > defaults).

pub mod managed;
pub mod parse;
pub mod templates;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use parse::ParseError;

/// Built-in defaults (contract §2.3).
const DEFAULTS: &[(&str, &str)] = &[
    ("ENVCTL_DEFAULT_MODE", "main"),
    ("BACKEND_DIR", "backend"),
    ("FRONTEND_DIR", "frontend"),
    ("BACKEND_PORT_BASE", "8000"),
    ("FRONTEND_PORT_BASE", "9000"),
    ("DB_PORT", "5432"),
    ("REDIS_PORT", "6379"),
    ("PORT_SPACING", "20"),
    ("DB_USER", "postgres"),
    ("DB_PASSWORD", "postgres"),
    ("DB_NAME", "postgres"),
    ("DB_HOST", "localhost"),
    ("MAIN_STARTUP_ENABLE", "true"),
    ("TREES_STARTUP_ENABLE", "true"),
    ("MAIN_BACKEND_ENABLE", "true"),
    ("TREES_BACKEND_ENABLE", "true"),
    ("MAIN_FRONTEND_ENABLE", "true"),
    ("TREES_FRONTEND_ENABLE", "true"),
    ("MAIN_BACKEND_EXPECT_LISTENER", "true"),
    ("TREES_BACKEND_EXPECT_LISTENER", "true"),
    ("MAIN_POSTGRES_ENABLE", "false"),
    ("TREES_POSTGRES_ENABLE", "false"),
    ("MAIN_REDIS_ENABLE", "false"),
    ("TREES_REDIS_ENABLE", "false"),
    ("ENVCTL_PUBLIC_HOST", "localhost"),
    ("TREES_DIR_NAME", "trees"),
    ("ENVCTL_SERVICE_LISTENER_TIMEOUT", "10"),
    ("ENVCTL_SERVICE_STARTUP_GRACE_SECONDS", "15"),
];

/// The effective configuration of one repository.
#[derive(Debug, Clone)]
pub struct Config {
    /// The repository root (the control plane: config, state, locks).
    pub repo: PathBuf,
    /// The `.envctl` file (may not exist).
    pub file: PathBuf,
    file_values: BTreeMap<String, String>,
    cli: BTreeMap<String, String>,
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
    /// A value has the wrong form.
    #[error("config {key}={value:?}: {why}")]
    Invalid {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What is expected.
        why: &'static str,
    },
}

impl Config {
    /// Loads the config of `repo` (with `ENVCTL_CONFIG_FILE` pointing
    /// elsewhere if set) and the CLI's `KEY=VALUE` overrides.
    pub fn load(repo: &Path, cli: BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let file = std::env::var_os("ENVCTL_CONFIG_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join(".envctl"));
        let file_values = match std::fs::read_to_string(&file) {
            Ok(text) => parse::parse(&file.display().to_string(), &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: file.display().to_string(),
                    source,
                });
            }
        };
        let cfg = Config {
            repo: repo.to_path_buf(),
            file,
            file_values,
            cli,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Built-in defaults and the environment only, no file: what the
    /// supervisor falls back on while the file is broken (it must keep
    /// restarting services whatever the user is typing).
    pub fn defaults_only(repo: &Path) -> Config {
        Config {
            repo: repo.to_path_buf(),
            file: repo.join(".envctl"),
            file_values: BTreeMap::new(),
            cli: BTreeMap::new(),
        }
    }

    /// True when the repository has a `.envctl`.
    pub fn has_file(&self) -> bool {
        self.file.is_file()
    }

    /// The effective value of `key`, and where it came from.
    pub fn get_with_source(&self, key: &str) -> Option<(String, &'static str)> {
        if let Some(v) = self.cli.get(key) {
            return Some((v.clone(), "cli"));
        }
        if let Ok(v) = std::env::var(key) {
            return Some((v, "env"));
        }
        if let Some(v) = self.file_values.get(key) {
            return Some((v.clone(), "file"));
        }
        DEFAULTS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| ((*v).to_owned(), "default"))
    }

    /// The effective value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.get_with_source(key).map(|(v, _)| v)
    }

    /// A boolean key (`true/1/yes/on`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key)
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("true" | "1" | "yes" | "on")
        )
    }

    /// A numeric key (validated at load).
    pub fn num(&self, key: &str) -> u32 {
        self.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// Every key with a value, for `show-config`.
    pub fn effective(&self) -> BTreeMap<String, (String, &'static str)> {
        let mut keys: Vec<String> = DEFAULTS.iter().map(|(k, _)| (*k).to_owned()).collect();
        keys.extend(self.file_values.keys().cloned());
        keys.extend(self.cli.keys().cloned());
        keys.into_iter()
            .filter_map(|k| self.get_with_source(&k).map(|v| (k, v)))
            .collect()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, value: String, why| ConfigError::Invalid {
            key: key.to_owned(),
            value,
            why,
        };
        if let Some(m) = self.get("ENVCTL_DEFAULT_MODE")
            && m != "main"
            && m != "trees"
        {
            return Err(bad("ENVCTL_DEFAULT_MODE", m, "expected main or trees"));
        }
        for k in [
            "BACKEND_PORT_BASE",
            "FRONTEND_PORT_BASE",
            "DB_PORT",
            "REDIS_PORT",
            "PORT_SPACING",
        ] {
            let v = self.get(k).unwrap_or_default();
            if !v.parse::<u16>().is_ok_and(|p| p > 0) {
                return Err(bad(k, v, "expected a port number (1-65535)"));
            }
        }
        Ok(())
    }
}
