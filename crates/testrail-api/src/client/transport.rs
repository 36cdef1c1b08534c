//! Sending one API request: rate limit, concurrency limit, circuit
//! breaker, retries and stats.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::breaker::CircuitBreaker;
use super::config::{ClientConfig, redact};
use super::stats::{Attempt, Stats};
use crate::error::{Error, ErrorKind, Verb};

/// Characters of a non-JSON error body kept in an error.
const BODY_EXCERPT_CHARS: usize = 300;
/// Share of the observed request rate used as the limit after a 429.
const AUTO_RATE_FACTOR: f64 = 0.9;
/// Window over which the request rate is observed.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Body of a request.
#[derive(Clone)]
pub(crate) enum Payload {
    /// No body; TestRail requires a JSON body even for POSTs without fields,
    /// so POST sends `{}`.
    Empty,
    /// Serialized JSON.
    Json(Bytes),
    /// A file sent as the multipart part `attachment`.
    File { name: String, bytes: Bytes },
}

impl Payload {
    fn len(&self) -> u64 {
        match self {
            Payload::Empty => 0,
            Payload::Json(bytes) => bytes.len() as u64,
            Payload::File { bytes, .. } => bytes.len() as u64,
        }
    }
}

/// A failed attempt, with what it means for retries and the breaker.
struct Failure {
    kind: ErrorKind,
    /// Counts toward opening the circuit breaker.
    server_unhealthy: bool,
    /// Sending again cannot apply a write twice.
    safe_to_resend: bool,
}

/// State shared by all clones of a client.
pub(crate) struct Transport {
    pub(crate) host: url::Url,
    config: ClientConfig,
    http: reqwest::Client,
    limiter: RwLock<Option<(u32, Arc<DefaultDirectRateLimiter>)>>,
    auto_rate_logged: AtomicBool,
    recent_sends: Mutex<VecDeque<Instant>>,
    semaphore: Semaphore,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) stats: Stats,
}

impl Transport {
    pub(crate) fn new(config: ClientConfig) -> Result<Self, Error> {
        if config.max_concurrency == 0 {
            return Err(Error::config(
                "max_concurrency",
                "must be at least 1",
                "set a concurrency of 1 or more",
            ));
        }
        if config.breaker.failure_threshold == 0 || config.breaker.max_cycles == 0 {
            return Err(Error::config(
                "breaker",
                "failure_threshold and max_cycles must be at least 1",
                "set both to 1 or more",
            ));
        }
        let mut headers = HeaderMap::new();
        let mut auth = basic_auth(&config.user, config.api_key.expose())?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .user_agent(concat!("trail/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(30)))
            .danger_accept_invalid_certs(config.insecure)
            .build()
            .map_err(|err| {
                Error::config(
                    "http client",
                    format!("could not build the HTTP client: {err}"),
                    "check the TLS setup of this machine",
                )
            })?;
        let limiter = config
            .rate_limit_per_minute
            .map(|rate| (rate, new_limiter(rate)));
        Ok(Transport {
            host: config.host.clone(),
            http,
            limiter: RwLock::new(limiter),
            auto_rate_logged: AtomicBool::new(false),
            recent_sends: Mutex::new(VecDeque::new()),
            semaphore: Semaphore::new(config.max_concurrency),
            breaker: CircuitBreaker::new(config.breaker.clone()),
            stats: Stats::new(config.slow_ms),
            config,
        })
    }

    /// Current rate limit in requests per minute.
    pub(crate) fn rate_limit_per_minute(&self) -> Option<u32> {
        self.limiter
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(|(rate, _)| *rate)
    }

    /// Builds the URL of an API path such as `/api/v2/get_case/1`.
    pub(crate) fn url(&self, api_path: &str) -> String {
        format!("{}index.php?{}", self.host, api_path)
    }

    /// Sends a request, retrying as the retry policy allows, and returns
    /// the JSON body (`Value::Null` for an empty body).
    pub(crate) async fn execute(
        &self,
        verb: Verb,
        api_path: &str,
        payload: Payload,
    ) -> Result<Value, Error> {
        let method = method_name(api_path);
        let started = Instant::now();
        let policy = &self.config.retry;
        let mut attempts: u32 = 0;
        loop {
            let ticket = self.breaker.acquire().await.map_err(|tripped| {
                Error::new(
                    method,
                    verb,
                    ErrorKind::CircuitOpen {
                        consecutive_failures: tripped.consecutive_failures,
                        cycles: tripped.cycles,
                    },
                )
            })?;
            let is_retry = attempts > 0;
            attempts += 1;
            let failure = match self
                .send_once(verb, method, api_path, &payload, is_retry)
                .await
            {
                Ok(value) => {
                    self.breaker.on_success(ticket);
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            if failure.server_unhealthy {
                self.breaker.on_failure(ticket, method);
            } else {
                self.breaker.on_success(ticket);
            }

            let may_retry = match verb {
                Verb::Get => is_transient(&failure.kind),
                Verb::Post => failure.safe_to_resend,
            };
            if !may_retry {
                return Err(Error::new(method, verb, failure.kind));
            }
            let wait = match retry_after(&failure.kind) {
                Some(wait) => wait,
                None => backoff(policy.base_delay, policy.max_delay, attempts - 1),
            };
            if attempts > policy.max_retries || started.elapsed() + wait > policy.total_budget {
                return Err(Error::new(
                    method,
                    verb,
                    ErrorKind::RetryBudgetExhausted {
                        attempts,
                        elapsed: started.elapsed(),
                        last: Box::new(failure.kind),
                    },
                ));
            }
            tracing::debug!(
                method,
                attempt = attempts,
                wait_ms = wait.as_millis() as u64,
                error = %failure.kind,
                "retrying TestRail request"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(
        &self,
        verb: Verb,
        method: &str,
        api_path: &str,
        payload: &Payload,
        is_retry: bool,
    ) -> Result<Value, Failure> {
        let _permit = self
            .semaphore
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let limiter = self
            .limiter
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(|(_, limiter)| limiter.clone());
        if let Some(limiter) = limiter {
            limiter.until_ready().await;
        }
        self.note_send();

        let url = self.url(api_path);
        let request = match verb {
            Verb::Get => self.http.get(&url),
            Verb::Post => match payload {
                Payload::Empty => self
                    .http
                    .post(&url)
                    .header(CONTENT_TYPE, "application/json")
                    .body("{}"),
                Payload::Json(bytes) => self
                    .http
                    .post(&url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes.clone()),
                Payload::File { name, bytes } => {
                    let part =
                        reqwest::multipart::Part::stream(bytes.clone()).file_name(name.clone());
                    self.http
                        .post(&url)
                        .multipart(reqwest::multipart::Form::new().part("attachment", part))
                }
            },
        };

        let sent_at = Instant::now();
        let outcome = self.receive(request).await;
        let latency_ms = sent_at.elapsed().as_millis() as u64;
        let (status, bytes_received) = match &outcome {
            Ok((status, _, body)) => (Some(*status), body.len() as u64),
            Err(_) => (None, 0),
        };
        let result = match outcome {
            Err(failure) => Err(failure),
            Ok((status, retry_after, body)) => interpret(status, retry_after, &body),
        };
        let rate_limited = status == Some(429);
        self.stats.record(Attempt {
            method,
            is_retry,
            failed: result.is_err(),
            rate_limited,
            latency_ms: status.map(|_| latency_ms),
            bytes_sent: payload.len(),
            bytes_received,
        });
        tracing::debug!(
            method,
            url = %redact_str(&url),
            status = status.unwrap_or(0),
            ms = latency_ms,
            "TestRail request"
        );
        if rate_limited {
            self.on_rate_limited();
        }
        result
    }

    /// Sends the request and reads the whole body.
    async fn receive(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<Duration>, Bytes), Failure> {
        let response = request
            .send()
            .await
            .map_err(|err| self.send_failure(&err))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(|err| {
            // The status line arrived, so TestRail processed the request.
            let mut failure = self.send_failure(&err);
            failure.safe_to_resend = false;
            match &mut failure.kind {
                ErrorKind::Transport { maybe_applied, .. }
                | ErrorKind::Timeout { maybe_applied, .. } => {
                    *maybe_applied = true;
                }
                _ => {}
            }
            failure
        })?;
        Ok((status, retry_after, body))
    }

    fn send_failure(&self, err: &reqwest::Error) -> Failure {
        // A connect error happens before any request byte is written.
        if err.is_connect() {
            return Failure {
                kind: ErrorKind::Transport {
                    message: describe_reqwest(err),
                    maybe_applied: false,
                },
                server_unhealthy: true,
                safe_to_resend: true,
            };
        }
        let kind = if err.is_timeout() {
            ErrorKind::Timeout {
                after: self.config.timeout,
                maybe_applied: true,
            }
        } else {
            ErrorKind::Transport {
                message: describe_reqwest(err),
                maybe_applied: true,
            }
        };
        Failure {
            kind,
            server_unhealthy: true,
            safe_to_resend: false,
        }
    }

    fn note_send(&self) {
        let now = Instant::now();
        let mut sends = self
            .recent_sends
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while sends
            .front()
            .is_some_and(|&sent| now.duration_since(sent) > RATE_WINDOW)
        {
            sends.pop_front();
        }
        sends.push_back(now);
    }

    /// Sets a rate limit after the first 429 when none is configured: 90 %
    /// of the rate of the last minute, extrapolated when the client is
    /// younger than a minute.
    fn on_rate_limited(&self) {
        if !self.config.auto_rate_limit {
            return;
        }
        let mut limiter = self
            .limiter
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if limiter.is_some() {
            return;
        }
        let observed_per_minute = {
            let sends = self
                .recent_sends
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let span = sends
                .front()
                .map(|first| first.elapsed())
                .unwrap_or_default()
                .max(Duration::from_secs(1));
            sends.len() as f64 * 60.0 / span.as_secs_f64().min(60.0)
        };
        let rate = ((observed_per_minute * AUTO_RATE_FACTOR).floor() as u32).max(1);
        *limiter = Some((rate, new_limiter(rate)));
        if !self.auto_rate_logged.swap(true, Ordering::Relaxed) {
            tracing::info!(
                requests_per_minute = rate,
                "TestRail returned 429 Too Many Requests; limiting to {rate} requests per minute"
            );
        }
    }
}

/// Creates a limiter that spaces requests evenly, one per `60 s / rate`.
fn new_limiter(rate: u32) -> Arc<DefaultDirectRateLimiter> {
    let rate = rate.max(1);
    let period = Duration::from_secs(60) / rate;
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .expect("the period is positive")
        .allow_burst(NonZeroU32::MIN);
    Arc::new(RateLimiter::direct(quota))
}

fn basic_auth(user: &str, key: &str) -> Result<HeaderValue, Error> {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}"));
    HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
        Error::config(
            "user",
            "the user or API key contains characters not allowed in an HTTP header",
            "check the user and API key for line breaks or control characters",
        )
    })
}

/// Turns a complete response into the JSON body or a failure.
fn interpret(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Result<Value, Failure> {
    let json: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Some(Value::Null)
    } else {
        serde_json::from_slice(body).ok()
    };
    if (200..300).contains(&status) {
        return match json {
            Some(value) => Ok(value),
            None => Err(Failure {
                kind: ErrorKind::Decode {
                    path: "$".to_owned(),
                    message: format!("the body is not JSON: {}", excerpt(body)),
                },
                server_unhealthy: false,
                safe_to_resend: false,
            }),
        };
    }
    let error_text = json
        .as_ref()
        .and_then(|value| value.get("error"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let body_excerpt = if error_text.is_some() {
        String::new()
    } else {
        excerpt(body)
    };
    Err(Failure {
        kind: ErrorKind::Http {
            status,
            error_text,
            body_excerpt,
            retry_after,
        },
        server_unhealthy: status >= 500,
        // TestRail rejects a rate-limited request before handling it.
        safe_to_resend: status == 429,
    })
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    let mut shown: String = trimmed.chars().take(BODY_EXCERPT_CHARS).collect();
    if shown.len() < trimmed.len() {
        shown.push('…');
    }
    shown
}

fn is_transient(kind: &ErrorKind) -> bool {
    match kind {
        ErrorKind::Http { status, .. } => *status == 429 || *status >= 500,
        ErrorKind::Transport { .. } | ErrorKind::Timeout { .. } => true,
        _ => false,
    }
}

fn retry_after(kind: &ErrorKind) -> Option<Duration> {
    match kind {
        ErrorKind::Http { retry_after, .. } => *retry_after,
        _ => None,
    }
}

/// Draws a wait between zero and `min(max, base * 2^retry)`.
fn backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    let bound = base.saturating_mul(1u32 << retry.min(20)).min(max);
    let bound_us = bound.as_micros() as u64;
    if bound_us == 0 {
        return Duration::ZERO;
    }
    Duration::from_micros(rand::random_range(0..=bound_us))
}

/// Returns the API method of a path: `get_cases` for
/// `/api/v2/get_cases/1&suite_id=2`.
pub(crate) fn method_name(api_path: &str) -> &str {
    let rest = api_path.strip_prefix("/api/v2/").unwrap_or(api_path);
    let end = rest.find(['/', '&']).unwrap_or(rest.len());
    &rest[..end]
}

/// Removes credentials from a URL string for logs.
fn redact_str(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => redact(&parsed),
        Err(_) => "<invalid URL>".to_owned(),
    }
}

fn describe_reqwest(err: &reqwest::Error) -> String {
    // reqwest's message includes the URL, which contains no credentials
    // because `normalize_host` rejects hosts with them.
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_name_strips_ids_and_filters() {
        assert_eq!(method_name("/api/v2/get_cases/1&suite_id=2"), "get_cases");
        assert_eq!(method_name("/api/v2/get_statuses"), "get_statuses");
        assert_eq!(
            method_name("/api/v2/get_user_by_email&email=a%40b"),
            "get_user_by_email"
        );
    }

    #[test]
    fn backoff_stays_under_bound() {
        for retry in 0..10 {
            let wait = backoff(Duration::from_millis(10), Duration::from_millis(100), retry);
            assert!(wait <= Duration::from_millis(100), "{wait:?}");
        }
        assert_eq!(backoff(Duration::ZERO, Duration::ZERO, 3), Duration::ZERO);
    }

    #[test]
    fn interpret_reads_error_text() {
        let failure = interpret(
            400,
            None,
            br#"{"error": "Field :run_id is not a valid test run."}"#,
        )
        .unwrap_err();
        match failure.kind {
            ErrorKind::Http {
                status, error_text, ..
            } => {
                assert_eq!(status, 400);
                assert_eq!(
                    error_text.as_deref(),
                    Some("Field :run_id is not a valid test run.")
                );
            }
            other => panic!("unexpected kind {other:?}"),
        }
        assert!(!failure.safe_to_resend);
    }

    #[test]
    fn interpret_empty_success_is_null() {
        assert_eq!(interpret(200, None, b"").ok(), Some(Value::Null));
        assert!(interpret(200, None, b"<html>").is_err());
    }
}
