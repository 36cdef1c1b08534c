use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::config::CircuitBreakerPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cycle: u32,
    },
    /// One probe request is in flight; other requests wait for its outcome.
    HalfOpen {
        cycle: u32,
    },
    /// The last probe failed; every request fails at once.
    Tripped,
}

/// Reason the breaker rejects a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tripped {
    pub consecutive_failures: u32,
    pub cycles: u32,
}

/// A consecutive-failure circuit breaker shared by all clones of a client.
pub(crate) struct CircuitBreaker {
    policy: CircuitBreakerPolicy,
    state: Arc<Mutex<State>>,
}

/// Permission to send one request; a probe reopens the breaker if it is
/// dropped without an outcome, so a cancelled probe cannot block others.
pub(crate) struct Ticket {
    probe_cycle: Option<u32>,
    state: Arc<Mutex<State>>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(cycle) = self.probe_cycle {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if *state == (State::HalfOpen { cycle }) {
                *state = State::Open {
                    until: Instant::now(),
                    cycle,
                };
            }
        }
    }
}

impl CircuitBreaker {
    pub(crate) fn new(policy: CircuitBreakerPolicy) -> Self {
        CircuitBreaker {
            policy,
            state: Arc::new(Mutex::new(State::Closed { failures: 0 })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn tripped(&self) -> Tripped {
        Tripped {
            consecutive_failures: self.policy.failure_threshold,
            cycles: self.policy.max_cycles,
        }
    }

    /// Waits until a request may be sent: at once when closed, after the
    /// pause when open, after the probe when a probe is in flight.
    pub(crate) async fn acquire(&self) -> Result<Ticket, Tripped> {
        loop {
            let wait = {
                let mut state = self.lock();
                match *state {
                    State::Closed { .. } => {
                        return Ok(Ticket {
                            probe_cycle: None,
                            state: self.state.clone(),
                        });
                    }
                    State::Tripped => return Err(self.tripped()),
                    State::Open { until, cycle } => {
                        let now = Instant::now();
                        if now >= until {
                            *state = State::HalfOpen { cycle };
                            return Ok(Ticket {
                                probe_cycle: Some(cycle),
                                state: self.state.clone(),
                            });
                        }
                        until - now
                    }
                    State::HalfOpen { .. } => self
                        .policy
                        .open_duration
                        .clamp(Duration::from_millis(1), Duration::from_millis(100)),
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Records a request that reached a responsive TestRail, which closes
    /// the breaker.
    pub(crate) fn on_success(&self, mut ticket: Ticket) {
        ticket.probe_cycle = None;
        let mut state = self.lock();
        if *state != State::Tripped {
            *state = State::Closed { failures: 0 };
        }
    }

    /// Records a failed request.
    pub(crate) fn on_failure(&self, mut ticket: Ticket, method: &str) {
        let probe_cycle = ticket.probe_cycle.take();
        let mut state = self.lock();
        let now = Instant::now();
        match (*state, probe_cycle) {
            (State::HalfOpen { cycle }, Some(probe)) if cycle == probe => {
                if cycle >= self.policy.max_cycles {
                    tracing::warn!(
                        method,
                        cycles = cycle,
                        "TestRail still fails after {cycle} pauses; failing further requests at once"
                    );
                    *state = State::Tripped;
                } else {
                    tracing::warn!(
                        method,
                        pause_ms = self.policy.open_duration.as_millis() as u64,
                        cycle = cycle + 1,
                        "probe request failed; pausing requests to TestRail again"
                    );
                    *state = State::Open {
                        until: now + self.policy.open_duration,
                        cycle: cycle + 1,
                    };
                }
            }
            (State::Closed { failures }, _) => {
                let failures = failures + 1;
                if failures >= self.policy.failure_threshold {
                    tracing::warn!(
                        method,
                        failures,
                        pause_ms = self.policy.open_duration.as_millis() as u64,
                        "circuit breaker opened after {failures} consecutive failures; pausing requests to TestRail"
                    );
                    *state = State::Open {
                        until: now + self.policy.open_duration,
                        cycle: 1,
                    };
                } else {
                    *state = State::Closed { failures };
                }
            }
            // Failures of requests sent before the breaker opened change nothing.
            _ => {}
        }
    }

    /// Closes the breaker whatever its state.
    pub(crate) fn reset(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    /// Reports whether requests currently fail at once.
    pub(crate) fn is_tripped(&self) -> bool {
        *self.lock() == State::Tripped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(CircuitBreakerPolicy {
            failure_threshold: 2,
            open_duration: Duration::from_millis(5),
            max_cycles: 2,
        })
    }

    #[tokio::test]
    async fn trips_after_failed_probes() {
        let breaker = breaker();
        for _ in 0..2 {
            let ticket = breaker.acquire().await.unwrap();
            breaker.on_failure(ticket, "get_cases");
        }
        for _ in 0..2 {
            let probe = breaker.acquire().await.unwrap();
            assert!(probe.probe_cycle.is_some());
            breaker.on_failure(probe, "get_cases");
        }
        assert!(breaker.is_tripped());
        assert!(breaker.acquire().await.is_err());
        breaker.reset();
        assert!(breaker.acquire().await.is_ok());
    }

    #[tokio::test]
    async fn successful_probe_closes() {
        let breaker = breaker();
        for _ in 0..2 {
            let ticket = breaker.acquire().await.unwrap();
            breaker.on_failure(ticket, "get_cases");
        }
        let probe = breaker.acquire().await.unwrap();
        breaker.on_success(probe);
        assert_eq!(*breaker.lock(), State::Closed { failures: 0 });
    }

    #[tokio::test]
    async fn dropped_probe_lets_another_probe() {
        let breaker = breaker();
        for _ in 0..2 {
            let ticket = breaker.acquire().await.unwrap();
            breaker.on_failure(ticket, "get_cases");
        }
        drop(breaker.acquire().await.unwrap());
        let probe = breaker.acquire().await.unwrap();
        assert_eq!(probe.probe_cycle, Some(1));
    }
}
