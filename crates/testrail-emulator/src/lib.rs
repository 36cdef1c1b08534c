//! A TestRail-compatible HTTP server with in-memory state, for tests, demos
//! and fault drills.
//!
//! [`Emulator`] serves the TestRail API v2 under
//! `/index.php?/api/v2/{method}/{ids}&{filters}` with Basic authentication,
//! validates requests the way TestRail does (400 with an `error` text, 401,
//! 429 with `Retry-After`) and keeps projects, suites, sections, cases, runs,
//! tests, results, plans, milestones and configurations in memory. It can
//! inject latency, rate limits, 5xx responses, dropped connections and hung
//! responses from a seeded random generator ([`FaultConfig`]).
//!
//! Beside the API, these control endpoints need no authentication:
//!
//! | endpoint | effect |
//! | --- | --- |
//! | `GET /emulator/state` | whole state as JSON ([`Emulator::state_json`]) |
//! | `POST /emulator/reset` | restore the seed state, clear the log and counters |
//! | `GET /emulator/requests` | `{"requests": [...], "counts": {method: n}, "faults": {...}}` |
//! | `GET`/`POST /emulator/faults` | read or replace the [`FaultConfig`] |
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use testrail_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! let url = emulator.url(); // "http://127.0.0.1:PORT/"
//! // ... point a client at `url` with admin@example.com / secret ...
//! assert!(emulator.request_log().is_empty());
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The initial content is a fresh instance (project 1 `Demo` with suite 1
//! `Master`, user 1 `admin@example.com`, the system statuses, case types,
//! priorities, templates and fields) or a [`Seed`] file.

mod api;
mod config;
mod faults;
pub mod seed;
mod server;
mod state;

use std::net::SocketAddr;

pub use config::{
    Args, DEFAULT_TIMEOUT_MS, EmulatorConfig, FaultConfig, ServeError, run_cli, serve,
};
pub use seed::{Seed, SeedError};
pub use server::LoggedRequest;

/// A running emulator. Dropping it stops the server without waiting.
///
/// When a request handler panicked, the request got a 500 and the panic was
/// counted; [`Emulator::shutdown`] and dropping the handle then panic so that
/// the test that started the emulator fails.
pub struct Emulator {
    server: Option<server::Server>,
    addr: SocketAddr,
}

impl Emulator {
    /// Binds the listen address and starts serving in the background.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of binding the address.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let server = server::Server::start(config).await?;
        let addr = server.addr;
        tracing::debug!(%addr, "emulator listening");
        Ok(Emulator {
            server: Some(server),
            addr,
        })
    }

    /// Starts an emulator with the default configuration on a free port.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of binding the address.
    pub async fn start_default() -> std::io::Result<Emulator> {
        Emulator::start(EmulatorConfig::default()).await
    }

    fn shared(&self) -> &server::Shared {
        match &self.server {
            Some(server) => &server.shared,
            None => unreachable!("the server is only taken by shutdown, which consumes self"),
        }
    }

    /// Returns the address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the TestRail root URL with a trailing slash,
    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Returns the whole state, as `GET /emulator/state` does: one array per
    /// entity kind (`projects`, `suites`, `sections`, `cases`, `runs`,
    /// `tests`, `results`, `plans`, ...) in id order, plus the metadata lists.
    pub fn state_json(&self) -> serde_json::Value {
        self.shared().state_json()
    }

    /// Returns every API request since the start or the last reset, in
    /// arrival order. Control endpoints are not logged.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared().request_log()
    }

    /// Replaces the fault configuration and reseeds its random generator.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared().set_faults(faults);
    }

    /// Restores the initial state and clears the request log and fault
    /// counters, as `POST /emulator/reset` does.
    pub fn reset(&self) {
        self.shared().reset();
    }

    /// Returns how many request handlers panicked.
    pub fn panic_count(&self) -> u64 {
        self.shared().panic_count()
    }

    /// Stops accepting connections, closes open ones and waits for the
    /// accept loop to end.
    ///
    /// # Panics
    ///
    /// Panics when a request handler panicked while the emulator ran.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            let panics = server.shared.panic_count();
            server.shutdown().await;
            assert_eq!(panics, 0, "{panics} emulator request handler(s) panicked");
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        let panics = server.shared.panic_count();
        drop(server);
        if panics > 0 && !std::thread::panicking() {
            panic!("{panics} emulator request handler(s) panicked");
        }
    }
}
