//! Connection settings from flags, the environment and `trail.toml`.
//!
//! Flags win over the environment, which wins over the configuration file.
//! The file is `trail.toml` in the working directory, else
//! `$XDG_CONFIG_HOME/trail/trail.toml` (or `~/.config/trail/trail.toml`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use figment::Figment;
use figment::providers::{Format as _, Toml};
use serde::Deserialize;
use testrail_api::{Client, ClientConfig};

use crate::cli::ConnectionArgs;

/// Values a `trail.toml` file may set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// TestRail root URL.
    pub host: Option<String>,
    /// User e-mail.
    pub user: Option<String>,
    /// API key or password.
    pub api_key: Option<String>,
    /// Project name or id.
    pub project: Option<String>,
    /// Suite id.
    pub suite_id: Option<u64>,
    /// Root section id or path.
    pub section: Option<String>,
    /// Requests per minute the client allows itself.
    pub rate_limit: Option<u32>,
    /// Spool directory.
    pub spool: Option<PathBuf>,
}

/// Older environment names, still read with a warning.
const DEPRECATED_ENV: [(&str, &str); 7] = [
    ("TEST_RAIL_HOST", "TESTRAIL_HOST"),
    ("TEST_RAIL_ENDPOINT", "TESTRAIL_HOST"),
    ("TEST_RAIL_USERNAME", "TESTRAIL_USER"),
    ("TEST_RAIL_PASSWORD", "TESTRAIL_API_KEY"),
    ("TEST_RAIL_PROJECT_ID", "TESTRAIL_PROJECT"),
    ("TEST_RAIL_DIR", "TRAIL_SPOOL"),
    ("TEST_RAIL_EXECUTED_BY", "TRAIL_EXECUTED_BY"),
];

/// Warns once for each deprecated environment name that is set.
pub fn warn_deprecated_env() {
    for (old, new) in DEPRECATED_ENV {
        if std::env::var_os(old).is_some() {
            eprintln!("warning: `{old}` is deprecated; set `{new}` instead");
        }
    }
}

/// Returns the value of a deprecated name that stands for `current`, used
/// only when neither a flag nor `current` is set.
pub fn deprecated_env(current: &str) -> Option<String> {
    DEPRECATED_ENV
        .iter()
        .filter(|(_, new)| *new == current)
        .find_map(|(old, _)| std::env::var(old).ok().filter(|value| !value.is_empty()))
}

/// Reads `trail.toml` when there is one.
pub fn load_file(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
    let path = match explicit {
        Some(path) => {
            if !path.exists() {
                bail!(
                    "config file `{}` not found\nhint: check --config",
                    path.display()
                );
            }
            Some(path.to_path_buf())
        }
        None => default_config_path(),
    };
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    Figment::new()
        .merge(Toml::file(&path))
        .extract()
        .with_context(|| format!("invalid config file `{}`\nhint: allowed keys are host, user, api_key, project, suite_id, section, rate_limit, spool", path.display()))
}

fn default_config_path() -> Option<PathBuf> {
    let local = PathBuf::from("trail.toml");
    if local.is_file() {
        return Some(local);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    let user = base.join("trail").join("trail.toml");
    user.is_file().then_some(user)
}

/// Builds the TestRail client from flags, environment and file.
pub fn client(args: &ConnectionArgs, file: &FileConfig) -> anyhow::Result<Client> {
    let host = args.host.clone().or_else(|| deprecated_env("TESTRAIL_HOST")).or_else(|| file.host.clone()).context(
        "missing TestRail host\nhint: pass --host URL or set TESTRAIL_HOST, for example https://example.testrail.io/",
    )?;
    let user = args
        .user
        .clone()
        .or_else(|| deprecated_env("TESTRAIL_USER"))
        .or_else(|| file.user.clone())
        .context("missing TestRail user\nhint: pass --user EMAIL or set TESTRAIL_USER")?;
    let key = args
        .api_key
        .clone()
        .or_else(|| std::env::var("TESTRAIL_PASSWORD").ok())
        .or_else(|| deprecated_env("TESTRAIL_API_KEY"))
        .or_else(|| file.api_key.clone())
        .context("missing TestRail API key\nhint: set TESTRAIL_API_KEY (or TESTRAIL_PASSWORD); in TestRail, My Settings > API Keys creates one")?;

    let mut config = ClientConfig::new(&host, &user, &key).map_err(|e| anyhow::anyhow!("{e}"))?;
    config.insecure = args.insecure;
    if let Some(limit) = args.rate_limit.or(file.rate_limit) {
        config.rate_limit_per_minute = Some(limit);
    }
    config.timeout = std::time::Duration::from_secs(args.timeout);
    config.max_concurrency = args.concurrency as usize;
    config.retry.max_retries = args.max_retries;
    config.retry.total_budget = std::time::Duration::from_secs(args.retry_budget);
    config.breaker.open_duration = std::time::Duration::from_secs(args.breaker_pause);
    config.slow_ms = args.slow_ms;
    warn_plain_http(&config.host);
    Client::new(config).map_err(|e| anyhow::anyhow!("{e}"))
}

fn warn_plain_http(host: &url::Url) {
    let loopback = match host.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => true,
    };
    if host.scheme() == "http" && !loopback {
        eprintln!(
            "warning: `{host}` uses plain http, so the API key crosses the network unencrypted; use https"
        );
    }
}
