use std::fmt;
use std::time::Duration;

use crate::error::Error;

/// A secret such as an API key or password. `Debug` and `Display` print
/// `****`; [`Secret::expose`] returns the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Returns the secret value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// When and how long to wait before sending a failed request again.
///
/// Waits grow exponentially from `base_delay` up to `max_delay`, each one
/// drawn at random between zero and that bound ("full jitter"). A
/// `Retry-After` header replaces the drawn wait exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Upper bound of the first wait.
    pub base_delay: Duration,
    /// Upper bound of any drawn wait.
    pub max_delay: Duration,
    /// Total time one request may take, waits included; no retry starts
    /// after it.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            total_budget: Duration::from_secs(10 * 60),
        }
    }
}

/// Settings of the circuit breaker that stops requests while TestRail is
/// down.
///
/// After `failure_threshold` consecutive failed requests the breaker opens
/// and delays every request for `open_duration`, then lets one probe
/// request through. A successful probe closes it. When the probe of the
/// `max_cycles`-th pause fails too, every request fails at once with
/// [`ErrorKind::CircuitOpen`](crate::ErrorKind::CircuitOpen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitBreakerPolicy {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// Pause before the probe request.
    pub open_duration: Duration,
    /// Pauses with a failed probe before the breaker stays open.
    pub max_cycles: u32,
}

impl Default for CircuitBreakerPolicy {
    fn default() -> Self {
        CircuitBreakerPolicy {
            failure_threshold: 5,
            open_duration: Duration::from_secs(30),
            max_cycles: 3,
        }
    }
}

/// Settings of a [`Client`](crate::Client).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// TestRail root URL ending in `/`, such as `https://example.testrail.io/`.
    /// The API URL is `{host}index.php?/api/v2/{method}`.
    pub host: url::Url,
    /// User name (email address) for Basic authentication.
    pub user: String,
    /// API key or password.
    pub api_key: Secret,
    /// Timeout of one request, from sending to the end of the body.
    pub timeout: std::time::Duration,
    /// Retry settings.
    pub retry: RetryPolicy,
    /// Requests per minute for the whole client; `None` sends without a
    /// limit until TestRail returns 429, then sets a limit a little below
    /// the rate observed (see `auto_rate_limit`).
    pub rate_limit_per_minute: Option<u32>,
    /// Sets `rate_limit_per_minute` on the first 429 when it is `None`.
    pub auto_rate_limit: bool,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Accepts invalid TLS certificates.
    pub insecure: bool,
    /// Requests slower than this many milliseconds are listed in the stats.
    pub slow_ms: Option<u64>,
    /// Circuit breaker settings.
    pub breaker: CircuitBreakerPolicy,
}

impl ClientConfig {
    /// Creates a configuration with default settings after checking and
    /// normalising `host`.
    ///
    /// The host gets a trailing `/`. A pasted API URL such as
    /// `https://x.testrail.io/index.php?/api/v2/get_projects` is cut back
    /// to its root. Hosts without an `http://` or `https://` scheme, with
    /// credentials, or with another query are rejected with a hint, as are
    /// an empty user or API key.
    pub fn new(host: &str, user: &str, api_key: &str) -> Result<Self, Error> {
        let host = normalize_host(host)?;
        if user.trim().is_empty() {
            return Err(Error::config(
                "user",
                "the user is empty",
                "set the TestRail user name (an email address) with --user or TESTRAIL_USER",
            ));
        }
        if api_key.is_empty() {
            return Err(Error::config(
                "api_key",
                "the API key is empty",
                "set the API key (or password) with TESTRAIL_API_KEY; create one under My Settings > API Keys in TestRail",
            ));
        }
        Ok(ClientConfig {
            host,
            user: user.trim().to_owned(),
            api_key: Secret::new(api_key),
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            rate_limit_per_minute: None,
            auto_rate_limit: true,
            max_concurrency: 8,
            insecure: false,
            slow_ms: None,
            breaker: CircuitBreakerPolicy::default(),
        })
    }
}

const HOST_HINT: &str =
    "use the TestRail root URL, such as https://example.testrail.io/, not an API URL";

/// Checks a TestRail host URL and returns it as a root URL ending in `/`.
pub(crate) fn normalize_host(raw: &str) -> Result<url::Url, Error> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::config("host", "the host is empty", HOST_HINT));
    }
    if !raw.contains("://") {
        return Err(Error::config(
            "host",
            format!("`{raw}` has no scheme"),
            format!("write it as https://{raw}"),
        ));
    }
    let mut url = url::Url::parse(raw).map_err(|err| {
        Error::config(
            "host",
            format!("`{raw}` is not a valid URL: {err}"),
            HOST_HINT,
        )
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::config(
            "host",
            format!("`{}` uses the scheme `{}`", redact(&url), url.scheme()),
            "use an http:// or https:// URL",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "host",
            format!("`{}` contains credentials", redact(&url)),
            "remove the user and password from the URL and pass them as the user and API key",
        ));
    }

    // Cut a pasted API URL (`.../index.php?/api/v2/...`) back to the root.
    let pasted_api = url
        .query()
        .is_some_and(|query| query.starts_with("/api/v2"));
    if url.query().is_some() && !pasted_api {
        return Err(Error::config(
            "host",
            format!("`{}` has a query string", redact(&url)),
            HOST_HINT,
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut path = url.path().to_owned();
    if let Some(stripped) = path.strip_suffix("index.php") {
        path = stripped.to_owned();
    }
    if !path.ends_with('/') {
        path.push('/');
    }
    url.set_path(&path);
    Ok(url)
}

/// Returns a URL as text without user, password or query values, for logs
/// and messages.
pub(crate) fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(raw: &str) -> String {
        normalize_host(raw).expect(raw).to_string()
    }

    #[test]
    fn host_gets_trailing_slash() {
        assert_eq!(host("https://x.testrail.io"), "https://x.testrail.io/");
        assert_eq!(
            host("http://127.0.0.1:8080/testrail"),
            "http://127.0.0.1:8080/testrail/"
        );
    }

    #[test]
    fn host_strips_pasted_api_url() {
        assert_eq!(
            host("https://x.testrail.io/index.php?/api/v2/get_projects"),
            "https://x.testrail.io/"
        );
        assert_eq!(
            host("https://x.testrail.io/testrail/index.php"),
            "https://x.testrail.io/testrail/"
        );
    }

    #[test]
    fn host_rejects_bad_values() {
        for raw in [
            "",
            "x.testrail.io",
            "ftp://x.testrail.io/",
            "https://u:p@x.testrail.io/",
            "https://x/?a=1",
        ] {
            let err = normalize_host(raw).expect_err(raw);
            assert!(err.to_string().contains("hint:"), "{err}");
            assert!(!err.to_string().contains("u:p"), "{err}");
        }
    }

    #[test]
    fn secret_is_redacted() {
        let config =
            ClientConfig::new("https://x.testrail.io", "me@example.com", "key-123").unwrap();
        assert_eq!(format!("{}", config.api_key), "****");
        assert!(!format!("{config:?}").contains("key-123"));
        assert_eq!(config.api_key.expose(), "key-123");
    }

    #[test]
    fn empty_user_or_key_rejected() {
        assert!(ClientConfig::new("https://x.testrail.io", " ", "k").is_err());
        assert!(ClientConfig::new("https://x.testrail.io", "u", "").is_err());
    }
}
