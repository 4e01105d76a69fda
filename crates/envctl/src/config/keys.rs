//! Every configuration key envctl knows, declared once: its type, its
//! default and a one-line doc. The one table feeds validation (unknown keys
//! and badly typed values are errors), `show-config` and `envctl config
//! --help` (contract §2.3).

use std::fmt::Write as _;

/// What a value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true/false`, `1/0`, `yes/no`, `on/off` (any case).
    Bool,
    /// A whole number in `min..=max`.
    Int {
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// A TCP port, 1..65535.
    Port,
    /// A whole number of seconds (`30`, not `30s`).
    Seconds,
    /// A number of seconds that may have a fraction (`0.5`).
    FracSeconds,
    /// A whole number of bytes.
    Bytes,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// A command line, split like a shell would, without one.
    Command,
    /// A URL with one of these schemes (`{port}` may appear in it).
    Url(&'static [&'static str]),
    /// Names separated by commas or spaces.
    Names,
    /// Any text.
    Text,
}

impl Kind {
    /// A short name for the type, for `show-config` and help.
    pub fn name(self) -> String {
        match self {
            Kind::Bool => "bool".into(),
            Kind::Int { .. } => "integer".into(),
            Kind::Port => "port".into(),
            Kind::Seconds | Kind::FracSeconds => "seconds".into(),
            Kind::Bytes => "bytes".into(),
            Kind::Enum(words) => words.join("|"),
            Kind::Command => "command".into(),
            Kind::Url(_) => "url".into(),
            Kind::Names => "names".into(),
            Kind::Text => "text".into(),
        }
    }

    /// Checks `value`; the error says what is expected, with an example.
    pub fn check(self, value: &str) -> Result<(), String> {
        let v = value.trim();
        match self {
            Kind::Bool => parse_bool(v)
                .map(|_| ())
                .ok_or_else(|| "expected a boolean: true/false, 1/0 or yes/no".to_owned()),
            Kind::Int { min, max } => match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(()),
                _ if max == u64::MAX => Err(format!("expected a whole number, at least {min}")),
                _ => Err(format!("expected a whole number from {min} to {max}")),
            },
            Kind::Port => match v.parse::<u16>() {
                Ok(p) if p > 0 => Ok(()),
                _ => Err("expected a port number (1-65535)".into()),
            },
            Kind::Seconds => v
                .parse::<u64>()
                .map(|_| ())
                .map_err(|_| "expected a whole number of seconds, e.g. 30".to_owned()),
            Kind::FracSeconds => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s >= 0.0 => Ok(()),
                _ => Err("expected a number of seconds, e.g. 0.5".into()),
            },
            Kind::Bytes => v
                .parse::<u64>()
                .map(|_| ())
                .map_err(|_| "expected a whole number of bytes, e.g. 10485760".to_owned()),
            Kind::Enum(words) => {
                if words.contains(&v) {
                    Ok(())
                } else {
                    Err(format!("expected one of: {}", words.join(", ")))
                }
            }
            Kind::Command => {
                if v.is_empty() {
                    return Err(
                        "expected a command line, e.g. `python3 app.py --port {port}`".into(),
                    );
                }
                crate::plan::split_command(v).map(|_| ())
            }
            Kind::Url(schemes) => {
                let ok = v
                    .split_once("://")
                    .is_some_and(|(s, rest)| schemes.contains(&s) && !rest.is_empty());
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "expected a URL starting with {}://",
                        schemes.join(":// or ")
                    ))
                }
            }
            Kind::Names => {
                if split_names(v).all(|n| {
                    n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                }) {
                    Ok(())
                } else {
                    Err("expected names (letters, digits, - and _) separated by commas".into())
                }
            }
            Kind::Text => Ok(()),
        }
    }
}

/// The boolean a value spells, if it spells one.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The names in a `Names` value (`a, b c` → `a`, `b`, `c`).
pub fn split_names(v: &str) -> impl Iterator<Item = &str> {
    v.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
}

/// The `<S>` of `ENVCTL_SERVICE_<S>_*` keys for each name listed in
/// `ENVCTL_ADDITIONAL_SERVICES` (`rq-worker` → `RQ_WORKER`).
pub fn service_suffixes(additional_services: &str) -> Vec<String> {
    split_names(additional_services)
        .map(|n| {
            n.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .collect()
}

/// One declared key.
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    /// The key.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// The built-in default, if the key has one.
    pub default: Option<&'static str>,
    /// One line on what it does.
    pub doc: &'static str,
    /// Another name for this key (`Some(canonical)` when this is an alias).
    pub alias_of: Option<&'static str>,
    /// Read from the environment only; an error in a file or override.
    pub env_only: bool,
}

const fn key(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    doc: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        kind,
        default,
        doc,
        alias_of: None,
        env_only: false,
    }
}

const fn alias(name: &'static str, of: &'static str) -> KeyDef {
    KeyDef {
        name,
        kind: Kind::Bool,
        default: None,
        doc: "legacy alias, still read",
        alias_of: Some(of),
        env_only: false,
    }
}

const fn env_only(name: &'static str, doc: &'static str) -> KeyDef {
    KeyDef {
        name,
        kind: Kind::Text,
        default: None,
        doc,
        alias_of: None,
        env_only: true,
    }
}

const MODE: Kind = Kind::Enum(&["main", "trees"]);
const SCOPE: Kind = Kind::Enum(&["shared", "isolated"]);
/// The restart policies (`ENVCTL_RESTART_POLICY` and the per-service keys).
pub const RESTART: Kind = Kind::Enum(&["no", "on-failure", "always"]);
const HTTP: Kind = Kind::Url(&["http", "https"]);
const COUNT: Kind = Kind::Int {
    min: 0,
    max: u64::MAX,
};
const SPACING: Kind = Kind::Int { min: 1, max: 65535 };

/// Every fixed key, once (the `ENVCTL_SERVICE_<S>_*` family is
/// [`SERVICE_KEYS`]).
pub const KEYS: &[KeyDef] = &[
    // Mode and scope.
    key(
        "ENVCTL_DEFAULT_MODE",
        MODE,
        Some("main"),
        "mode when neither --main nor --trees is given",
    ),
    key(
        "ENVCTL_DEFAULT_TREE_DEPENDENCY_SCOPE",
        SCOPE,
        None,
        "dependencies of worktrees: shared (unset) or isolated, as --isolated-deps",
    ),
    key(
        "ENVCTL_DEPENDENCY_MODE",
        Kind::Enum(&["native", "external"]),
        None,
        "external: Postgres/Redis run elsewhere; services get DB_*, REDIS_PORT, REDIS_URL from config",
    ),
    key(
        "TREES_DIR_NAME",
        Kind::Text,
        Some("trees"),
        "folder of the worktrees under the repository",
    ),
    key(
        "ENVCTL_WORKTREE_GIT_HOOKS",
        Kind::Enum(&["off", "inherit"]),
        Some("off"),
        "setup-worktree runs git with the repository's hooks (inherit) or none (off)",
    ),
    // Working folders and commands.
    key(
        "BACKEND_DIR",
        Kind::Text,
        Some("backend"),
        "working folder of the backend, relative to the project",
    ),
    key(
        "FRONTEND_DIR",
        Kind::Text,
        Some("frontend"),
        "working folder of the frontend, relative to the project",
    ),
    key(
        "ENVCTL_BACKEND_START_CMD",
        Kind::Command,
        None,
        "how to start the backend; {port} is replaced by its port",
    ),
    key(
        "ENVCTL_FRONTEND_START_CMD",
        Kind::Command,
        None,
        "how to start the frontend; {port} is replaced by its port",
    ),
    key(
        "ENVCTL_BACKEND_TEST_CMD",
        Kind::Command,
        None,
        "the backend's test command",
    ),
    key(
        "ENVCTL_FRONTEND_TEST_CMD",
        Kind::Command,
        None,
        "the frontend's test command",
    ),
    key(
        "ENVCTL_FRONTEND_TEST_PATH",
        Kind::Text,
        None,
        "where the frontend's tests are",
    ),
    key(
        "ENVCTL_ACTION_TEST_CMD",
        Kind::Command,
        None,
        "the test command of the test action",
    ),
    key(
        "ENVCTL_ACTION_MIGRATE_CMD",
        Kind::Command,
        None,
        "the migration command `envctl migrate` runs in the backend folder with the worktree's environment",
    ),
    key(
        "ENVCTL_MIGRATE_ON_START",
        Kind::Bool,
        Some("false"),
        "run the migration command before a project's services start (a failing one fails the start)",
    ),
    key(
        "BACKEND_HEALTH_URL",
        HTTP,
        None,
        "the backend's health URL ({port} replaced); default http://127.0.0.1:{port}/health",
    ),
    key(
        "FRONTEND_HEALTH_URL",
        HTTP,
        None,
        "the frontend's health URL ({port} replaced); default http://127.0.0.1:{port}/health",
    ),
    // Ports.
    key(
        "BACKEND_PORT_BASE",
        Kind::Port,
        Some("8000"),
        "backend port base; a project's port is base + its slot",
    ),
    key(
        "FRONTEND_PORT_BASE",
        Kind::Port,
        Some("9000"),
        "frontend port base",
    ),
    key(
        "DB_PORT",
        Kind::Port,
        Some("5432"),
        "Postgres port base (the port itself in external mode)",
    ),
    key(
        "REDIS_PORT",
        Kind::Port,
        Some("6379"),
        "Redis port base (the port itself in external mode)",
    ),
    key(
        "N8N_PORT_BASE",
        Kind::Port,
        None,
        "n8n port base (n8n is not supported yet)",
    ),
    key(
        "SUPABASE_PUBLIC_PORT",
        Kind::Port,
        None,
        "Supabase port (Supabase is not supported yet)",
    ),
    key(
        "PORT_SPACING",
        SPACING,
        Some("20"),
        "port span of the legacy_spacing strategy",
    ),
    key(
        "ENVCTL_PORT_AVAILABILITY_MODE",
        Kind::Enum(&["auto", "socket_bind", "listener_query", "lock_only"]),
        None,
        "how a free port is recognised",
    ),
    key(
        "ENVCTL_PORT_PREFERRED_STRATEGY",
        Kind::Enum(&["project_slot", "legacy_spacing"]),
        None,
        "how a project's preferred ports are chosen",
    ),
    key(
        "ENVCTL_DYNAMIC_MAIN_DEPENDENCY_PORTS",
        Kind::Bool,
        None,
        "per-session offset for Main's dependency ports",
    ),
    // Postgres and Redis.
    key("DB_USER", Kind::Text, Some("postgres"), "Postgres user"),
    key(
        "DB_PASSWORD",
        Kind::Text,
        Some("postgres"),
        "Postgres password",
    ),
    key(
        "DB_NAME",
        Kind::Text,
        Some("postgres"),
        "Postgres database (external mode)",
    ),
    key(
        "DB_HOST",
        Kind::Text,
        Some("localhost"),
        "Postgres host (external mode)",
    ),
    key(
        "REDIS_URL",
        Kind::Url(&["redis", "rediss", "unix"]),
        None,
        "Redis URL (external mode); default redis://127.0.0.1:<REDIS_PORT>/0",
    ),
    key(
        "ENVCTL_REQUIREMENTS_STRICT",
        Kind::Bool,
        None,
        "use the native dependency adapters",
    ),
    // Per-mode switches.
    key(
        "MAIN_STARTUP_ENABLE",
        Kind::Bool,
        Some("true"),
        "start anything at all in main mode",
    ),
    key(
        "TREES_STARTUP_ENABLE",
        Kind::Bool,
        Some("true"),
        "start anything at all in trees mode",
    ),
    key(
        "MAIN_BACKEND_ENABLE",
        Kind::Bool,
        Some("true"),
        "run the backend in main mode",
    ),
    key(
        "TREES_BACKEND_ENABLE",
        Kind::Bool,
        Some("true"),
        "run the backend in trees mode",
    ),
    key(
        "MAIN_FRONTEND_ENABLE",
        Kind::Bool,
        Some("true"),
        "run the frontend in main mode",
    ),
    key(
        "TREES_FRONTEND_ENABLE",
        Kind::Bool,
        Some("true"),
        "run the frontend in trees mode",
    ),
    key(
        "MAIN_BACKEND_EXPECT_LISTENER",
        Kind::Bool,
        Some("true"),
        "wait for the backend to listen in main mode (false for a worker)",
    ),
    key(
        "TREES_BACKEND_EXPECT_LISTENER",
        Kind::Bool,
        Some("true"),
        "wait for the backend to listen in trees mode (false for a worker)",
    ),
    key(
        "MAIN_POSTGRES_ENABLE",
        Kind::Bool,
        Some("false"),
        "Postgres in main mode",
    ),
    key(
        "TREES_POSTGRES_ENABLE",
        Kind::Bool,
        Some("false"),
        "Postgres in trees mode",
    ),
    key(
        "MAIN_REDIS_ENABLE",
        Kind::Bool,
        Some("false"),
        "Redis in main mode",
    ),
    key(
        "TREES_REDIS_ENABLE",
        Kind::Bool,
        Some("false"),
        "Redis in trees mode",
    ),
    key(
        "MAIN_SUPABASE_ENABLE",
        Kind::Bool,
        None,
        "Supabase in main mode (not supported yet)",
    ),
    key(
        "TREES_SUPABASE_ENABLE",
        Kind::Bool,
        None,
        "Supabase in trees mode (not supported yet)",
    ),
    key(
        "MAIN_N8N_ENABLE",
        Kind::Bool,
        None,
        "n8n in main mode (not supported yet)",
    ),
    key(
        "TREES_N8N_ENABLE",
        Kind::Bool,
        None,
        "n8n in trees mode (not supported yet)",
    ),
    alias("POSTGRES_MAIN_ENABLE", "MAIN_POSTGRES_ENABLE"),
    alias("REDIS_MAIN_ENABLE", "MAIN_REDIS_ENABLE"),
    alias("REDIS_ENABLE", "MAIN_REDIS_ENABLE"),
    alias("SUPABASE_MAIN_ENABLE", "MAIN_SUPABASE_ENABLE"),
    alias("N8N_MAIN_ENABLE", "MAIN_N8N_ENABLE"),
    alias("N8N_ENABLE", "MAIN_N8N_ENABLE"),
    // Hosts.
    key(
        "ENVCTL_PUBLIC_HOST",
        Kind::Text,
        Some("localhost"),
        "host in the URLs shown to a browser",
    ),
    key(
        "ENVCTL_UI_VISUAL_HOST",
        Kind::Text,
        None,
        "host shown by the dashboard",
    ),
    // Runtime truth and timing.
    key(
        "ENVCTL_RUNTIME_TRUTH_MODE",
        Kind::Enum(&["auto", "strict", "best_effort"]),
        None,
        "how strictly process and listener truth is checked",
    ),
    key(
        "ENVCTL_STATE_COMPAT_MODE",
        Kind::Text,
        None,
        "legacy state mirroring",
    ),
    key(
        "ENVCTL_SERVICE_LISTENER_TIMEOUT",
        Kind::Seconds,
        Some("10"),
        "seconds a service has to start listening",
    ),
    key(
        "ENVCTL_SERVICE_STARTUP_GRACE_SECONDS",
        Kind::Seconds,
        Some("15"),
        "seconds a starting service is not yet called stale",
    ),
    key(
        "ENVCTL_SERVICE_TRUTH_TIMEOUT",
        Kind::FracSeconds,
        None,
        "seconds one truth probe may take",
    ),
    key(
        "ENVCTL_SERVICE_STARTUP_PROGRESS_TIMEOUT",
        Kind::Seconds,
        Some("60"),
        "seconds a listening service has to answer its HTTP health check",
    ),
    key(
        "ENVCTL_SERVICE_REBOUND_MAX_DELTA",
        COUNT,
        None,
        "how far above its planned port a service may be rebound",
    ),
    key(
        "ENVCTL_RESUME_RESTART_MISSING",
        Kind::Bool,
        None,
        "resume restarts services that died (default true)",
    ),
    // Supervision and logs.
    key(
        "ENVCTL_RESTART_POLICY",
        RESTART,
        Some("on-failure"),
        "restart policy of every service and dependency",
    ),
    key(
        "BACKEND_RESTART",
        RESTART,
        None,
        "restart policy of the backend (default ENVCTL_RESTART_POLICY)",
    ),
    key(
        "FRONTEND_RESTART",
        RESTART,
        None,
        "restart policy of the frontend (default ENVCTL_RESTART_POLICY)",
    ),
    key(
        "POSTGRES_RESTART",
        RESTART,
        None,
        "restart policy of Postgres (default ENVCTL_RESTART_POLICY)",
    ),
    key(
        "REDIS_RESTART",
        RESTART,
        None,
        "restart policy of Redis (default ENVCTL_RESTART_POLICY)",
    ),
    key(
        "ENVCTL_LOG_MAX_BYTES",
        Kind::Bytes,
        Some("10485760"),
        "size at which a log file is rotated",
    ),
    // Additional services.
    key(
        "ENVCTL_ADDITIONAL_SERVICES",
        Kind::Names,
        None,
        "extra services, e.g. `worker,scheduler`; each is configured by ENVCTL_SERVICE_<NAME>_* keys",
    ),
    // Read from the environment only.
    env_only("RUN_SH_RUNTIME_DIR", "runtime folder (state, logs, locks)"),
    env_only(
        "ENVCTL_CONFIG_FILE",
        "the config file instead of <repo>/.envctl",
    ),
    env_only(
        "ENVCTL_RUNTIME_SCOPE_ID",
        "the scope id instead of one derived from the repository path",
    ),
    env_only(
        "ENVCTL_COLOR",
        "when status words are coloured: auto (stdout is a terminal), always, never; as --color; NO_COLOR turns auto off",
    ),
];

/// The `ENVCTL_SERVICE_<S>_<SUFFIX>` keys of each additional service.
pub const SERVICE_KEYS: &[KeyDef] = &[
    key("ENABLE", Kind::Bool, None, "run the service"),
    key("MAIN_ENABLE", Kind::Bool, None, "run it in main mode"),
    key("TREES_ENABLE", Kind::Bool, None, "run it in trees mode"),
    key(
        "DIR",
        Kind::Text,
        None,
        "its working folder, relative to the project",
    ),
    key(
        "START_CMD",
        Kind::Command,
        None,
        "how to start it; {port} is replaced by its port",
    ),
    key("TEST_CMD", Kind::Command, None, "its test command"),
    key(
        "PORT_BASE",
        Kind::Port,
        None,
        "its port base (none: a worker without a port)",
    ),
    key("EXPECT_LISTENER", Kind::Bool, None, "wait for it to listen"),
    key("HEALTH_URL", HTTP, None, "its health URL ({port} replaced)"),
    key("PUBLIC_URL", HTTP, None, "its URL for a browser"),
    key(
        "START_ORDER",
        COUNT,
        Some("100"),
        "order among services of one start layer",
    ),
    key(
        "DEPENDS_ON",
        Kind::Names,
        None,
        "services that must be healthy first (backend, frontend, or additional ones)",
    ),
    key(
        "CRITICAL",
        Kind::Bool,
        Some("true"),
        "its failure fails the start",
    ),
    key(
        "ENABLE_IF_PATH",
        Kind::Text,
        None,
        "run it only if this path exists in the project",
    ),
    key(
        "RESTART",
        RESTART,
        None,
        "its restart policy (default ENVCTL_RESTART_POLICY)",
    ),
];

/// Prefix of the additional-service keys.
pub const SERVICE_PREFIX: &str = "ENVCTL_SERVICE_";

/// What a key is.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// A declared key (a fixed key, or a family key of a listed service).
    Known(KeyDef),
    /// `ENVCTL_SERVICE_<S>_<SUFFIX>` for an `<S>` not in
    /// `ENVCTL_ADDITIONAL_SERVICES`.
    UnlistedService {
        /// The `<S>`.
        service: String,
    },
    /// Not a key envctl knows.
    Unknown,
}

/// Splits `ENVCTL_SERVICE_<S>_<SUFFIX>` into `<S>` and the family key,
/// longest suffix first (`W_MAIN_ENABLE` is `W` + `MAIN_ENABLE`); every
/// reading is returned.
fn service_readings(key: &str) -> Vec<(&str, &'static KeyDef)> {
    let Some(rest) = key.strip_prefix(SERVICE_PREFIX) else {
        return Vec::new();
    };
    let mut defs: Vec<&'static KeyDef> = SERVICE_KEYS.iter().collect();
    defs.sort_by_key(|d| std::cmp::Reverse(d.name.len()));
    defs.into_iter()
        .filter_map(|d| {
            let s = rest.strip_suffix(d.name)?.strip_suffix('_')?;
            (!s.is_empty()).then_some((s, d))
        })
        .collect()
}

/// Looks `key` up; `services` are the listed additional-service suffixes.
pub fn lookup(key: &str, services: &[String]) -> Lookup {
    if let Some(d) = KEYS.iter().find(|d| d.name == key) {
        return Lookup::Known(*d);
    }
    let readings = service_readings(key);
    if let Some((_, d)) = readings
        .iter()
        .find(|(s, _)| services.iter().any(|x| x == s))
    {
        return Lookup::Known(**d);
    }
    match readings.first() {
        Some((s, _)) => Lookup::UnlistedService {
            service: (*s).to_owned(),
        },
        None => Lookup::Unknown,
    }
}

/// The built-in default of `key` (family keys included, listed or not).
pub fn default_of(key: &str) -> Option<&'static str> {
    if let Some(d) = KEYS.iter().find(|d| d.name == key) {
        return d.default;
    }
    service_readings(key).first().and_then(|(_, d)| d.default)
}

/// The aliases that stand for `canonical`.
pub fn aliases_of(canonical: &str) -> Vec<&'static str> {
    KEYS.iter()
        .filter(|d| d.alias_of == Some(canonical))
        .map(|d| d.name)
        .collect()
}

/// Key prefixes that are envctl's: an unknown key with one of these is a
/// mistake, never a variable of the user's own.
const NAMESPACE: &[&str] = &[
    "ENVCTL_",
    "MAIN_",
    "TREES_",
    "BACKEND_",
    "FRONTEND_",
    "POSTGRES_",
    "REDIS_",
    "DB_",
    "N8N_",
    "SUPABASE_",
    "RUN_SH_",
];

/// True when an unknown `key` is envctl's to reject: it has one of envctl's
/// prefixes, or it is within two edits of a known key (a typo).
pub fn looks_like_ours(key: &str, services: &[String]) -> bool {
    NAMESPACE.iter().any(|p| key.starts_with(p))
        || nearest(key, services).is_some_and(|(_, d)| d <= 2)
}

/// Every key name a user may write, for suggestions.
fn candidates(services: &[String]) -> Vec<String> {
    let mut out: Vec<String> = KEYS
        .iter()
        .filter(|d| !d.env_only)
        .map(|d| d.name.to_owned())
        .collect();
    for s in services {
        out.extend(
            SERVICE_KEYS
                .iter()
                .map(|d| format!("{SERVICE_PREFIX}{s}_{}", d.name)),
        );
    }
    out
}

/// The known key closest to `key` and its edit distance, if one is close
/// enough to be a likely typo.
pub fn nearest(key: &str, services: &[String]) -> Option<(String, usize)> {
    let limit = 2 + key.chars().count() / 6;
    candidates(services)
        .into_iter()
        .map(|c| {
            let d = edit_distance(key, &c);
            (c, d)
        })
        .filter(|(_, d)| *d <= limit)
        .min_by_key(|(c, d)| (*d, c.clone()))
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions
/// and swaps of two neighbours each cost 1.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The key reference printed by `envctl config --help`.
pub fn help_text() -> String {
    let mut s = String::from("Keys (.envctl, `envctl start KEY=VALUE`, the environment):\n");
    let row = |s: &mut String, name: &str, d: &KeyDef| {
        let default = d
            .default
            .map(|v| format!(" [default: {v}]"))
            .unwrap_or_default();
        let _ = writeln!(s, "  {name} <{}>{default}\n      {}", d.kind.name(), d.doc);
    };
    for d in KEYS {
        match d.alias_of {
            Some(of) => {
                let _ = writeln!(s, "  {} <bool>\n      legacy alias of {of}", d.name);
            }
            None if d.env_only => {
                let _ = writeln!(s, "  {} <path>\n      {} (environment only)", d.name, d.doc);
            }
            None => row(&mut s, d.name, d),
        }
    }
    s.push_str("\nFor each name <S> in ENVCTL_ADDITIONAL_SERVICES (upper case, - as _):\n");
    for d in SERVICE_KEYS {
        row(&mut s, &format!("{SERVICE_PREFIX}<S>_{}", d.name), d);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_the_key_it_meant() {
        assert_eq!(
            nearest("TREES_POSTGRESS_ENABLE", &[])
                .map(|n| n.0)
                .as_deref(),
            Some("TREES_POSTGRES_ENABLE")
        );
        assert_eq!(
            nearest("ENVTCL_DEFAULT_MODE", &[]).map(|n| n.0).as_deref(),
            Some("ENVCTL_DEFAULT_MODE"),
            "a swap costs one edit"
        );
        assert!(nearest("SAMPLE_NOTE", &[]).is_none());
        assert!(looks_like_ours("TRESS_REDIS_ENABLE", &[]));
        assert!(!looks_like_ours("SAMPLE_NOTE", &[]));
        assert_eq!(edit_distance("abc", "acb"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn service_keys_exist_only_for_listed_services() {
        let s = service_suffixes("rq-worker, mailer");
        assert_eq!(s, ["RQ_WORKER", "MAILER"]);
        assert!(matches!(
            lookup("ENVCTL_SERVICE_RQ_WORKER_MAIN_ENABLE", &s),
            Lookup::Known(d) if d.name == "MAIN_ENABLE"
        ));
        assert!(matches!(
            lookup("ENVCTL_SERVICE_OTHER_DIR", &s),
            Lookup::UnlistedService { service } if service == "OTHER"
        ));
        assert!(matches!(
            lookup("ENVCTL_SERVICE_LISTENER_TIMEOUT", &s),
            Lookup::Known(d) if d.kind == Kind::Seconds
        ));
        assert_eq!(default_of("ENVCTL_SERVICE_X_START_ORDER"), Some("100"));
    }

    #[test]
    fn values_are_typed() {
        assert_eq!(
            Kind::Seconds.check("30s").unwrap_err(),
            "expected a whole number of seconds, e.g. 30"
        );
        assert!(Kind::Seconds.check("30").is_ok());
        assert!(Kind::Port.check("0").is_err());
        assert!(Kind::Port.check("65536").is_err());
        assert!(Kind::Bool.check("YES").is_ok());
        assert!(Kind::Bool.check("maybe").is_err());
        assert!(
            RESTART
                .check("sometimes")
                .unwrap_err()
                .contains("on-failure")
        );
        assert!(HTTP.check("http://127.0.0.1:{port}/health").is_ok());
        assert!(HTTP.check("localhost:8000").is_err());
        assert!(Kind::Command.check("X=1 run").is_err());
        assert!(Kind::Names.check("a,b c").is_ok());
    }

    #[test]
    fn every_key_is_declared_once() {
        let mut names: Vec<&str> = KEYS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        for d in KEYS {
            if let Some(v) = d.default {
                assert!(d.kind.check(v).is_ok(), "{}", d.name);
            }
            if let Some(of) = d.alias_of {
                assert!(KEYS.iter().any(|k| k.name == of), "{of}");
            }
        }
    }
}
