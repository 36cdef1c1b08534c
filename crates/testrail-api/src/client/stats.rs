use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Latency samples kept per method; later samples are counted but not
/// kept, so percentiles describe the first million requests.
const MAX_SAMPLES: usize = 1_000_000;
/// Slow requests kept in the list.
const MAX_SLOW: usize = 1_000;

/// Counters of one API method.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MethodStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that failed: transport errors, timeouts and non-2xx responses.
    pub failures: u64,
    /// Requests that were retries of an earlier failed one.
    pub retries: u64,
    /// Responses with status 429.
    pub rate_limited: u64,
    /// Latency of the requests that got a response, in milliseconds.
    pub latency_ms: LatencySummary,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
}

/// Distribution of request latencies in milliseconds; all zero when no
/// request completed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Fastest.
    pub min: u32,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: u32,
    /// 95th percentile.
    pub p95: u32,
    /// Slowest.
    pub max: u32,
}

/// A request slower than [`ClientConfig::slow_ms`](crate::ClientConfig::slow_ms).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowRequest {
    /// API method.
    pub method: String,
    /// Latency in milliseconds.
    pub ms: u64,
}

/// Counters of a client since it was created, per API method.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsSnapshot {
    /// Counters by API method name.
    pub methods: BTreeMap<String, MethodStats>,
    /// Slow requests in the order they finished, at most 1,000.
    pub slow_requests: Vec<SlowRequest>,
    /// Requests per minute of the client's rate limiter; `None` when off.
    pub rate_limit_per_minute: Option<u32>,
}

impl StatsSnapshot {
    /// Sum of [`MethodStats::requests`] over all methods.
    pub fn total_requests(&self) -> u64 {
        self.methods.values().map(|stats| stats.requests).sum()
    }

    /// Counters of one method, or zeros when it was never called.
    pub fn method(&self, name: &str) -> MethodStats {
        self.methods.get(name).cloned().unwrap_or_default()
    }
}

#[derive(Default)]
struct MethodRecord {
    stats: MethodStats,
    latencies: Vec<u32>,
}

/// One finished HTTP request, as recorded in the stats.
pub(crate) struct Attempt<'a> {
    pub method: &'a str,
    pub is_retry: bool,
    pub failed: bool,
    pub rate_limited: bool,
    pub latency_ms: Option<u64>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

#[derive(Default)]
pub(crate) struct Stats {
    slow_ms: Option<u64>,
    inner: Mutex<StatsInner>,
}

#[derive(Default)]
struct StatsInner {
    methods: BTreeMap<String, MethodRecord>,
    slow: Vec<SlowRequest>,
}

impl Stats {
    pub(crate) fn new(slow_ms: Option<u64>) -> Self {
        Stats {
            slow_ms,
            inner: Mutex::default(),
        }
    }

    pub(crate) fn record(&self, attempt: Attempt<'_>) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = inner.methods.entry(attempt.method.to_owned()).or_default();
        record.stats.requests += 1;
        record.stats.failures += u64::from(attempt.failed);
        record.stats.retries += u64::from(attempt.is_retry);
        record.stats.rate_limited += u64::from(attempt.rate_limited);
        record.stats.bytes_sent += attempt.bytes_sent;
        record.stats.bytes_received += attempt.bytes_received;
        let Some(ms) = attempt.latency_ms else {
            return;
        };
        if record.latencies.len() < MAX_SAMPLES {
            record.latencies.push(u32::try_from(ms).unwrap_or(u32::MAX));
        }
        if self.slow_ms.is_some_and(|limit| ms > limit) && inner.slow.len() < MAX_SLOW {
            inner.slow.push(SlowRequest {
                method: attempt.method.to_owned(),
                ms,
            });
        }
    }

    pub(crate) fn snapshot(&self, rate_limit_per_minute: Option<u32>) -> StatsSnapshot {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let methods = inner
            .methods
            .iter()
            .map(|(name, record)| {
                let mut stats = record.stats.clone();
                stats.latency_ms = summarize(&record.latencies);
                (name.clone(), stats)
            })
            .collect();
        StatsSnapshot {
            methods,
            slow_requests: inner.slow.clone(),
            rate_limit_per_minute,
        }
    }
}

/// Summarizes latencies with nearest-rank percentiles.
fn summarize(latencies: &[u32]) -> LatencySummary {
    if latencies.is_empty() {
        return LatencySummary::default();
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let rank = |percent: usize| {
        let index = (percent * sorted.len()).div_ceil(100).max(1) - 1;
        sorted[index]
    };
    let sum: u64 = sorted.iter().map(|&ms| u64::from(ms)).sum();
    LatencySummary {
        min: sorted[0],
        mean: sum as f64 / sorted.len() as f64,
        p50: rank(50),
        p95: rank(95),
        max: sorted[sorted.len() - 1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarize_uses_nearest_rank() {
        let latencies: Vec<u32> = (1..=100).collect();
        let summary = summarize(&latencies);
        assert_eq!(summary.min, 1);
        assert_eq!(summary.p50, 50);
        assert_eq!(summary.p95, 95);
        assert_eq!(summary.max, 100);
        assert!((summary.mean - 50.5).abs() < 1e-9);
    }

    #[test]
    fn summarize_single_sample() {
        let summary = summarize(&[7]);
        assert_eq!(
            (summary.min, summary.p50, summary.p95, summary.max),
            (7, 7, 7, 7)
        );
    }

    #[test]
    fn slow_requests_listed_over_threshold() {
        let stats = Stats::new(Some(100));
        for ms in [50, 150, 100] {
            stats.record(Attempt {
                method: "get_cases",
                is_retry: false,
                failed: false,
                rate_limited: false,
                latency_ms: Some(ms),
                bytes_sent: 0,
                bytes_received: 10,
            });
        }
        let snapshot = stats.snapshot(None);
        assert_eq!(
            snapshot.slow_requests,
            vec![SlowRequest {
                method: "get_cases".into(),
                ms: 150
            }]
        );
        assert_eq!(snapshot.method("get_cases").bytes_received, 30);
    }
}
