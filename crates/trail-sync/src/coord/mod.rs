//! Coordination of parallel workers and CI shards that report into one run.
//!
//! Workers on one machine hand results to a spool directory and return at
//! once; one process at a time holds the spool's lease and flushes the
//! queued results to TestRail in batches. Shards on many machines share
//! only TestRail: they meet in one run by name and the last one to finish
//! may close it.
//!
//! The spool directory holds:
//!
//! | path | content |
//! | --- | --- |
//! | `spool.json` | non-secret upload options and the session id, written by the first submit ([`SpoolConfig`]) |
//! | `session.lock` | lock that orders the end of a session against submits and flushes |
//! | `queue/*.json` | queued results, one file per submit, named with the session id ([`SpooledResult`]) |
//! | `batches/ID/` | queue files taken by the flusher and not yet confirmed |
//! | `uploads/` | engine journals, one per batch ([`JournalStore`](crate::JournalStore)) |
//! | `done/ID.json` | outcome of each finished batch ([`BatchOutcome`]) |
//! | `lease.json` | the flusher's lease ([`Lease`]) |
//! | `workers/ID.json` | registered workers ([`WorkerRecord`]) |
//!
//! [`Coordinator`] is the entry point for Rust test harnesses:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use testrail_api::{Client, ClientConfig};
//! use trail_sync::coord::{Coordinator, CoordinatorOptions, SpooledResult};
//! use trail_sync::{ProjectRef, RunTarget, SyncOptions};
//!
//! let sync = SyncOptions::new(ProjectRef::Name("Demo".into()), RunTarget::Name("Nightly".into()));
//! let client = Client::new(ClientConfig::new("http://127.0.0.1:8080/", "admin@example.com", "secret")?)?;
//! let coordinator = Coordinator::open(Path::new(".trail"), CoordinatorOptions::new(sync))?
//!     .with_client(client);
//! let line = r#"{"name": "adds an item", "suite": "Cart", "status": "passed", "duration_ms": 120}"#;
//! let result: SpooledResult = serde_json::from_str(line)?;
//! coordinator.submit_spooled(&[result])?;
//! let summary = coordinator.finish(false).await?;
//! println!("{} results uploaded", summary.results_uploaded);
//! # Ok(())
//! # }
//! ```

mod coordinator;
mod error;
mod files;
mod flusher;
mod lease;
mod result;
mod session;
pub mod shard;
mod spool;
mod workers;

pub use coordinator::{Coordinator, CoordinatorOptions, FinishSummary};
pub use error::CoordError;
pub use flusher::{BatchOutcome, FlushMode, FlushSettings, Flusher};
pub use lease::{Lease, LeaseFile, host_name, process_alive};
pub use result::SpooledResult;
pub use shard::Shard;
pub use spool::{QueueStatus, Spool, SpoolConfig};
pub use workers::{WorkerRecord, WorkerState, Workers};
