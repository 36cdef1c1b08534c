//! Fault decisions for API requests.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use tokio::time::Instant;

use crate::FaultConfig;

/// Length of one rate-limit window.
const WINDOW: Duration = Duration::from_secs(60);

/// Where a dropped connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropPoint {
    /// Before the request changes anything.
    BeforeApply,
    /// After the request was applied, so the client sees an error for a change
    /// that happened.
    AfterApply,
}

/// What happens to one API request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    /// Delay before anything else.
    pub latency: Duration,
    /// Answer 429 with this `Retry-After` in seconds.
    pub rate_limited: Option<u64>,
    /// Answer this 5xx status without applying the request.
    pub fail_status: Option<u16>,
    /// Close the connection without a response.
    pub drop: Option<DropPoint>,
    /// Apply the request, then hold the response this long.
    pub hang: Option<Duration>,
}

/// How many requests met each fault since the last reset.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct FaultCounters {
    pub latency: u64,
    pub rate_limited: u64,
    pub failed: u64,
    pub dropped: u64,
    pub timed_out: u64,
}

/// Fault configuration with its random generator and rate-limit window.
pub(crate) struct Faults {
    pub config: FaultConfig,
    rng: StdRng,
    window_start: Option<Instant>,
    window_count: u32,
    pub counters: FaultCounters,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Faults {
        Faults {
            rng: StdRng::seed_from_u64(config.random_seed),
            config,
            window_start: None,
            window_count: 0,
            counters: FaultCounters::default(),
        }
    }

    /// Replaces the configuration, reseeds the generator and opens a new
    /// rate-limit window; the counters keep counting.
    pub fn reconfigure(&mut self, config: FaultConfig) {
        let counters = std::mem::take(&mut self.counters);
        *self = Faults::new(config);
        self.counters = counters;
    }

    /// Decides the faults of the next request.
    ///
    /// Five random numbers are drawn for every request, whatever the
    /// configuration, so the same seed gives the same sequence of faults.
    pub fn decide(&mut self) -> Decision {
        let fail_roll: f64 = self.rng.random();
        let fail_kind: u8 = self.rng.random_range(0..3);
        let drop_roll: f64 = self.rng.random();
        let drop_after: bool = self.rng.random();
        let timeout_roll: f64 = self.rng.random();

        let latency = Duration::from_millis(self.config.latency_ms);
        if !latency.is_zero() {
            self.counters.latency += 1;
        }
        let mut decision = Decision {
            latency,
            rate_limited: None,
            fail_status: None,
            drop: None,
            hang: None,
        };

        if let Some(retry_after) = self.take_rate_limit_slot() {
            self.counters.rate_limited += 1;
            decision.rate_limited = Some(retry_after);
            return decision;
        }
        if fail_roll < self.config.fail_rate {
            self.counters.failed += 1;
            decision.fail_status = Some([500, 502, 503][fail_kind as usize]);
            return decision;
        }
        if drop_roll < self.config.drop_rate {
            self.counters.dropped += 1;
            decision.drop = Some(if drop_after {
                DropPoint::AfterApply
            } else {
                DropPoint::BeforeApply
            });
            return decision;
        }
        if timeout_roll < self.config.timeout_rate {
            self.counters.timed_out += 1;
            decision.hang = Some(Duration::from_millis(self.config.timeout_ms));
        }
        decision
    }

    /// Counts a request in the current window; returns the seconds until the
    /// window ends when the limit is already reached.
    fn take_rate_limit_slot(&mut self) -> Option<u64> {
        let limit = self.config.rate_limit_per_minute?;
        let now = Instant::now();
        let start = match self.window_start {
            Some(start) if now.duration_since(start) < WINDOW => start,
            _ => {
                self.window_start = Some(now);
                self.window_count = 0;
                now
            }
        };
        if self.window_count < limit {
            self.window_count += 1;
            return None;
        }
        let remaining = WINDOW.saturating_sub(now.duration_since(start));
        Some(remaining.as_secs_f64().ceil().max(1.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(seed: u64) -> Faults {
        Faults::new(FaultConfig {
            random_seed: seed,
            fail_rate: 0.5,
            drop_rate: 0.3,
            ..FaultConfig::default()
        })
    }

    #[test]
    fn same_seed_same_decisions() {
        let mut first = failing(7);
        let mut second = failing(7);
        let a: Vec<Decision> = (0..50).map(|_| first.decide()).collect();
        let b: Vec<Decision> = (0..50).map(|_| second.decide()).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|decision| decision.fail_status.is_some()));
        assert!(a.iter().any(|decision| decision.drop.is_some()));
        assert!(a.iter().any(|decision| decision
            == &Decision {
                latency: Duration::ZERO,
                rate_limited: None,
                fail_status: None,
                drop: None,
                hang: None,
            }));
    }

    #[test]
    fn no_faults_by_default() {
        let mut faults = Faults::new(FaultConfig::default());
        for _ in 0..100 {
            let decision = faults.decide();
            assert_eq!(decision.fail_status, None);
            assert_eq!(decision.drop, None);
            assert_eq!(decision.hang, None);
            assert_eq!(decision.rate_limited, None);
        }
    }

    #[test]
    fn rate_limit_rejects_beyond_limit() {
        let mut faults = Faults::new(FaultConfig {
            rate_limit_per_minute: Some(3),
            ..FaultConfig::default()
        });
        for _ in 0..3 {
            assert_eq!(faults.decide().rate_limited, None);
        }
        let retry_after = faults
            .decide()
            .rate_limited
            .expect("fourth request is limited");
        assert!((1..=60).contains(&retry_after), "retry after {retry_after}");
        assert_eq!(faults.counters.rate_limited, 1);
    }
}
