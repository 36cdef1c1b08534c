//! Errors returned by the client.
//!
//! Every [`Error`] names the TestRail API method that failed and wraps an
//! [`ErrorKind`] with the cause. Its `Display` output ends with a `hint:`
//! line with the next step for the user. No error carries the API
//! key or a URL with credentials.

use std::fmt;
use std::time::Duration;

/// HTTP verb of a TestRail API request; TestRail uses only GET and POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Verb {
    /// A read, which the client retries freely.
    Get,
    /// A write; repeating it may create duplicates.
    Post,
}

/// A failed TestRail API call: the method it was for and the cause.
#[derive(Debug)]
pub struct Error {
    /// API method name, such as `add_results_for_cases`, without ids or filters.
    pub method: String,
    /// Verb of the request.
    pub verb: Verb,
    /// Cause of the failure.
    pub kind: ErrorKind,
}

/// Cause of an [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// TestRail returned a non-success HTTP status.
    #[error("HTTP {status}{}", describe_http(error_text.as_deref(), body_excerpt))]
    Http {
        /// HTTP status code.
        status: u16,
        /// The `error` field of TestRail's JSON body, when it has one.
        error_text: Option<String>,
        /// Start of the response body, for bodies without an `error` field.
        body_excerpt: String,
        /// Value of the `Retry-After` header, when present and in seconds.
        retry_after: Option<Duration>,
    },
    /// The connection failed or broke before a complete response arrived.
    #[error("could not complete the request: {message}")]
    Transport {
        /// Description of the network failure.
        message: String,
        /// True when request bytes may have reached TestRail, so a write
        /// may have been applied even though no response arrived.
        maybe_applied: bool,
    },
    /// No response arrived within the configured per-request timeout.
    #[error("no response within {} s", after.as_secs_f64())]
    Timeout {
        /// The per-request timeout that elapsed.
        after: Duration,
        /// True when the request was sent and may have been applied.
        maybe_applied: bool,
    },
    /// The response was not the JSON shape expected for the method.
    #[error("invalid response at `{path}`: {message}")]
    Decode {
        /// Location in the JSON document, such as `cases[17]`.
        path: String,
        /// Description of the mismatch.
        message: String,
    },
    /// A configuration value is invalid; no request was sent.
    #[error("invalid `{setting}`: {message}")]
    InvalidConfig {
        /// Name of the setting.
        setting: String,
        /// Problem with the value.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The circuit breaker stopped sending requests after repeated failures.
    #[error(
        "TestRail failed {consecutive_failures} times in a row and still failed after {cycles} pauses, so no more requests are sent"
    )]
    CircuitOpen {
        /// Consecutive failures that opened the breaker.
        consecutive_failures: u32,
        /// Pauses followed by a failed probe request.
        cycles: u32,
    },
    /// Retries ran out, by count or by total time, before a success.
    #[error("gave up after {attempts} attempts in {:.1} s; last failure: {last}", elapsed.as_secs_f64())]
    RetryBudgetExhausted {
        /// Requests sent, the first one included.
        attempts: u32,
        /// Time spent since the first attempt.
        elapsed: Duration,
        /// Failure of the last attempt.
        last: Box<ErrorKind>,
    },
}

fn describe_http(error_text: Option<&str>, body_excerpt: &str) -> String {
    match error_text {
        Some(text) => format!(": {text}"),
        None if body_excerpt.is_empty() => String::new(),
        None => format!(": {body_excerpt}"),
    }
}

impl Error {
    pub(crate) fn new(method: impl Into<String>, verb: Verb, kind: ErrorKind) -> Self {
        Error {
            method: method.into(),
            verb,
            kind,
        }
    }

    pub(crate) fn config(
        setting: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::new(
            "configuration",
            Verb::Get,
            ErrorKind::InvalidConfig {
                setting: setting.to_owned(),
                message: message.into(),
                hint: hint.into(),
            },
        )
    }

    /// Returns the failure behind a [`ErrorKind::RetryBudgetExhausted`], or
    /// the kind itself for every other kind.
    pub fn root_kind(&self) -> &ErrorKind {
        let mut kind = &self.kind;
        while let ErrorKind::RetryBudgetExhausted { last, .. } = kind {
            kind = last;
        }
        kind
    }

    /// Returns the HTTP status of TestRail's response, if it sent one.
    pub fn status(&self) -> Option<u16> {
        match self.root_kind() {
            ErrorKind::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Returns the `error` text of TestRail's JSON body, if it sent one.
    pub fn testrail_message(&self) -> Option<&str> {
        match self.root_kind() {
            ErrorKind::Http { error_text, .. } => error_text.as_deref(),
            _ => None,
        }
    }

    /// Reports whether the failure is transient, so the same request may
    /// succeed later: network failures, timeouts, 429, 5xx and an open
    /// circuit breaker. A 4xx other than 429 is never retryable.
    pub fn is_retryable(&self) -> bool {
        match self.root_kind() {
            ErrorKind::Http { status, .. } => *status == 429 || *status >= 500,
            ErrorKind::Transport { .. } | ErrorKind::Timeout { .. } => true,
            ErrorKind::CircuitOpen { .. } => true,
            _ => false,
        }
    }

    /// Reports whether a POST may have changed data in TestRail even though
    /// it failed. The caller should read the state back before sending the
    /// request again. Always false for GET.
    pub fn maybe_applied(&self) -> bool {
        if self.verb != Verb::Post {
            return false;
        }
        match self.root_kind() {
            ErrorKind::Transport { maybe_applied, .. } => *maybe_applied,
            ErrorKind::Timeout { maybe_applied, .. } => *maybe_applied,
            ErrorKind::Http { status, .. } => *status >= 500,
            // A 2xx with a body we could not read: the write went through.
            ErrorKind::Decode { .. } => true,
            _ => false,
        }
    }

    /// Returns the line of advice shown after `hint:`.
    pub fn hint(&self) -> String {
        let mut hint = match self.root_kind() {
            ErrorKind::Http {
                status,
                error_text,
                retry_after,
                ..
            } => http_hint(*status, error_text.as_deref(), *retry_after),
            ErrorKind::Transport { .. } => {
                "check the TestRail host, the network and any proxy; the request is retried \
                 automatically when that is safe"
                    .to_owned()
            }
            ErrorKind::Timeout { .. } => {
                "TestRail is slow to respond; raise the request timeout or retry later".to_owned()
            }
            ErrorKind::Decode { .. } => {
                "the server did not send what TestRail API v2 sends; check that the host is the \
                 TestRail root URL"
                    .to_owned()
            }
            ErrorKind::InvalidConfig { hint, .. } => hint.clone(),
            ErrorKind::CircuitOpen { .. } => {
                "results that were not uploaded are kept; run `trail resume` once TestRail \
                 responds again"
                    .to_owned()
            }
            ErrorKind::RetryBudgetExhausted { .. } => unreachable!("root_kind unwraps it"),
        };
        if self.maybe_applied() {
            hint.push_str("; the request may have been applied, so read the state back before sending it again");
        }
        hint
    }
}

fn http_hint(status: u16, error_text: Option<&str>, retry_after: Option<Duration>) -> String {
    match status {
        400 => match error_text {
            Some(text) => format!("TestRail rejected the request with \"{text}\"; check the ids and field values sent"),
            None => "TestRail rejected the request; check the ids and field values sent".to_owned(),
        },
        401 => "check the user and API key, and that the API is enabled in TestRail's site settings".to_owned(),
        403 => "the user lacks permission for this project or action; ask a TestRail administrator".to_owned(),
        404 => "check the host (it must be the TestRail root URL, not an API URL) and that the id exists".to_owned(),
        429 => match retry_after {
            Some(wait) => format!(
                "TestRail is rate limiting requests and asked to wait {} s; lower the request rate or retry later",
                wait.as_secs()
            ),
            None => "TestRail is rate limiting requests; lower the request rate or retry later".to_owned(),
        },
        500..=599 => "TestRail had a server error; retry later or ask its administrator to check the server log".to_owned(),
        _ => "check the request against the TestRail API reference".to_owned(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if matches!(self.kind, ErrorKind::InvalidConfig { .. }) {
            write!(f, "{}", self.kind)?;
        } else {
            write!(f, "TestRail API `{}` failed: {}", self.method, self.kind)?;
        }
        write!(f, "\nhint: {}", self.hint())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}
