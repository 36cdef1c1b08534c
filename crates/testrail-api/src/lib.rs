//! Typed async client for the TestRail REST API v2.
//!
//! [`Client`] sends requests to `{host}index.php?/api/v2/{method}` with
//! Basic authentication and decodes the responses into the types of
//! [`models`]. Around every request it applies:
//!
//! - **Pagination**: list methods follow `_links.next` until the last page
//!   and also accept the bare arrays of TestRail before 6.7
//!   ([`Client::paginate`], [`Client::get_cases_pages`]).
//! - **Retries** with exponential backoff and full jitter on network
//!   failures, timeouts, 429 and 5xx, waiting exactly as long as
//!   `Retry-After` asks ([`RetryPolicy`]). A POST is sent again only when
//!   TestRail cannot have applied it (429, or a connection that was never
//!   made); any other failed POST returns an error whose
//!   [`Error::maybe_applied`] is true, so the caller can read the state
//!   back first.
//! - **Rate and concurrency limits** shared by all clones of a client. When
//!   no rate is configured, the first 429 sets one a little below the rate
//!   that TestRail rejected.
//! - **A circuit breaker** that pauses requests after consecutive failures
//!   and, when TestRail stays down, fails fast with
//!   [`ErrorKind::CircuitOpen`] ([`CircuitBreakerPolicy`]).
//! - **Stats** per API method: requests, failures, retries, 429s, latency
//!   percentiles and bytes ([`Client::stats`]).
//!
//! Errors name the API method, the HTTP status and TestRail's `error` text,
//! and end with a `hint:` line. The API key is kept in a [`Secret`] and
//! appears in no error or log line.
//!
//! # Example
//!
//! This example runs against the TestRail emulator of this workspace, which
//! serves the same API on `127.0.0.1`; point the host at a real instance to
//! use it there.
//!
//! ```
//! use testrail_api::{Client, ClientConfig, CaseFilter};
//! use testrail_api::models::{NewResult, NewRun, NewSection};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = testrail_emulator::Emulator::start(Default::default()).await?;
//! # let host = emulator.url();
//! let config = ClientConfig::new(&host, "admin@example.com", "secret")?;
//! let client = Client::new(config)?;
//!
//! let section = client.add_section(1, &NewSection::new("Checkout")).await?;
//! let mut fields = serde_json::Map::new();
//! fields.insert("title".into(), "pays with a saved card".into());
//! let case = client.add_case(section.id, &fields).await?;
//!
//! let run = client.add_run(1, &NewRun::new("Nightly").cases(vec![case.id])).await?;
//! let cases = client.get_cases(1, &CaseFilter::default()).await?;
//! let results: Vec<NewResult> = cases
//!     .iter()
//!     .map(|case| NewResult::new(case.id, 1).elapsed("3s"))
//!     .collect();
//! let posted = client.add_results_for_cases(run.id, &results).await?;
//! assert_eq!(posted.len(), 1);
//! # emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod error;
pub mod models;

mod client;

pub use client::*;
pub use error::*;
pub use models::{CaseFilter, RunFilter};
