//! The library entry point: submit, flush and finish.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use testrail_api::Client;
use tracing::{info, warn};
use trail_reports::TestResult;

use super::error::CoordError;
use super::files::{now_ms, read_json, remove_file, write_atomically};
use super::flusher::{BatchOutcome, FLUSH_NOW, FlushMode, FlushSettings, Flusher};
use super::lease::{Lease, LeaseFile, host_name};
use super::result::SpooledResult;
use super::session::{SessionLock, session_of_name};
use super::spool::{QueueStatus, SessionState, Spool, SpoolConfig};
use super::workers::Workers;
use crate::error::SyncError;
use crate::options::SyncOptions;

/// Settings of [`Coordinator::open`].
#[derive(Debug, Clone)]
pub struct CoordinatorOptions {
    /// Upload options; stored in `spool.json` by the first process.
    pub sync: SyncOptions,
    /// TestRail root URL, stored to catch a flusher pointed elsewhere.
    pub host: Option<String>,
    /// Results per flushed batch.
    pub batch_size: usize,
    /// Age after which queued results are flushed even when the batch is
    /// not full.
    pub flush_after: Duration,
    /// Worker id; host name and pid when `None`.
    pub worker_id: Option<String>,
    /// Process whose life is the worker's; this process when `None`.
    pub worker_pid: Option<u32>,
}

impl CoordinatorOptions {
    /// Options with trail's defaults: batches of `sync.batch_size` results,
    /// flushed after 3 seconds at the latest.
    pub fn new(sync: SyncOptions) -> CoordinatorOptions {
        CoordinatorOptions {
            batch_size: sync.batch_size,
            sync,
            host: None,
            flush_after: Duration::from_secs(3),
            worker_id: None,
            worker_pid: None,
        }
    }
}

/// Totals of a finished session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FinishSummary {
    /// Batches uploaded.
    pub batches: usize,
    /// Results that workers submitted.
    pub results_submitted: usize,
    /// Results TestRail stored.
    pub results_uploaded: usize,
    /// Results not posted on purpose, such as skips.
    pub results_skipped: usize,
    /// Cases created.
    pub cases_created: usize,
    /// Results TestRail rejected.
    pub rejected: usize,
    /// Tests tied to no case.
    pub unmatched: usize,
    /// Run that received the results.
    pub run_id: Option<u64>,
    /// URL of that run.
    pub run_url: Option<String>,
    /// True when the run was closed.
    pub run_closed: bool,
}

impl FinishSummary {
    /// Returns true when every posted result was stored.
    pub fn is_complete(&self) -> bool {
        self.rejected == 0 && self.unmatched == 0
    }

    fn add(&mut self, outcome: &BatchOutcome) {
        self.batches += 1;
        self.results_submitted += outcome.results_submitted;
        self.results_uploaded += outcome.results_uploaded;
        self.results_skipped += outcome.results_skipped;
        self.cases_created += outcome.cases_created;
        self.rejected += outcome.rejected;
        self.unmatched += outcome.unmatched;
        if outcome.run_id.is_some() {
            self.run_id = outcome.run_id;
            self.run_url.clone_from(&outcome.run_url);
        }
    }
}

/// Hands results to a spool and flushes them, for test harnesses that
/// run in several processes or threads.
pub struct Coordinator {
    spool: Spool,
    config: SpoolConfig,
    worker_id: String,
    worker_pid: u32,
    client: Option<Client>,
    settings: FlushSettings,
}

impl Coordinator {
    /// Opens the spool at `root`, storing the options on first use and
    /// checking them against the stored ones afterwards.
    pub fn open(root: &Path, options: CoordinatorOptions) -> Result<Coordinator, CoordError> {
        let spool = Spool::open(root)?;
        let wanted = SpoolConfig::new(
            options.host.clone(),
            options.sync,
            options.batch_size,
            options.flush_after.as_millis() as u64,
        );
        let config = spool.ensure_config(&wanted)?;
        Ok(Coordinator {
            spool,
            config,
            worker_id: options
                .worker_id
                .unwrap_or_else(|| format!("{}-{}", host_name(), std::process::id())),
            worker_pid: options.worker_pid.unwrap_or_else(std::process::id),
            client: None,
            settings: FlushSettings::default(),
        })
    }

    /// Opens a spool that a submit already set up.
    pub fn attach(root: &Path) -> Result<Coordinator, CoordError> {
        let spool = Spool::open(root)?;
        let config = spool.config()?.ok_or_else(|| CoordError::Config {
            setting: "--spool".into(),
            message: format!("`{}` holds no submitted results", root.display()),
            hint: "submit results first with `trail submit`, or pass the spool they went to".into(),
        })?;
        Ok(Coordinator {
            spool,
            config,
            worker_id: format!("{}-{}", host_name(), std::process::id()),
            worker_pid: std::process::id(),
            client: None,
            settings: FlushSettings::default(),
        })
    }

    /// Uses `client` for flushing.
    pub fn with_client(mut self, client: Client) -> Coordinator {
        self.client = Some(client);
        self
    }

    /// Replaces the flusher's timing.
    pub fn with_settings(mut self, settings: FlushSettings) -> Coordinator {
        self.settings = settings;
        self
    }

    /// The spool.
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// The settings stored in `spool.json`.
    pub fn config(&self) -> &SpoolConfig {
        &self.config
    }

    /// Queues results read from reports; returns how many.
    pub fn submit(&self, results: &[TestResult]) -> Result<usize, CoordError> {
        let spooled: Vec<SpooledResult> = results.iter().map(SpooledResult::from_result).collect();
        self.submit_spooled(&spooled)
    }

    /// Queues results; returns how many. Nothing is queued when one of
    /// them is invalid, or when the session has ended or is ending
    /// ([`CoordError::SessionEnded`]).
    pub fn submit_spooled(&self, results: &[SpooledResult]) -> Result<usize, CoordError> {
        for (index, result) in results.iter().enumerate() {
            result.validate().map_err(|message| CoordError::Config {
                setting: format!("result {}", index + 1),
                message,
                hint: "see `trail submit --help` for the JSON fields".into(),
            })?;
        }
        if results.is_empty() {
            return Ok(0);
        }
        self.spool
            .enqueue(&self.config.session, &self.worker_id, results)?;
        if let Err(error) =
            Workers::new(self.spool.root()).record(&self.worker_id, self.worker_pid, results.len())
        {
            warn!(%error, "could not record the worker");
        }
        Ok(results.len())
    }

    /// Returns the lease of the live flusher of this session, if any. A
    /// flusher of an ended session does not count, because it uploads
    /// nothing of this session.
    pub fn leader(&self) -> Result<Option<Lease>, CoordError> {
        Ok(LeaseFile::new(self.spool.root())
            .live()?
            .filter(|lease| lease.session == self.config.session))
    }

    /// Reserves the lease for a flusher of this session, which `start`
    /// starts and whose pid it returns. Returns false and starts nothing
    /// when a live flusher of this session has the lease or the session is
    /// no longer open. A flusher of an ended session loses its lease.
    pub fn reserve_flusher(
        &self,
        owner: &str,
        start: impl FnOnce() -> Result<u32, CoordError>,
    ) -> Result<bool, CoordError> {
        let _lock = SessionLock::acquire(self.spool.root(), false)?;
        if self.spool.session_state(&self.config.session)? != SessionState::Open {
            return Ok(false);
        }
        LeaseFile::new(self.spool.root()).reserve(
            owner,
            &self.config.session,
            self.settings.lease_ttl,
            start,
        )
    }

    /// Counts what waits and what is in flight in this session.
    pub fn status(&self) -> Result<QueueStatus, CoordError> {
        self.spool.session_status(&self.config.session)
    }

    /// Uploads everything queued in this session now: in this process when
    /// no other flusher of the session is live, else by waiting for that
    /// flusher. Fails after `timeout`, and with [`CoordError::SessionEnded`]
    /// when the session ended with results left.
    pub async fn flush(&self, timeout: Duration) -> Result<(), CoordError> {
        let client = self.client.clone().ok_or_else(|| CoordError::Config {
            setting: "client".into(),
            message: "flushing needs a TestRail client".into(),
            hint: "call Coordinator::with_client first".into(),
        })?;
        let session = &self.config.session;
        let started = Instant::now();
        let mut marked = false;
        loop {
            let status = self.spool.session_status(session)?;
            if status.is_empty() {
                return Ok(());
            }
            if self.spool.session_state(session)? == SessionState::Ended {
                return Err(CoordError::SessionEnded {
                    spool: self.spool.root().to_path_buf(),
                });
            }
            if !marked {
                let marker = self.spool.path(FLUSH_NOW);
                write_atomically(&marker, now_ms().to_string().as_bytes())?;
                marked = true;
            }
            let remaining = timeout.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(CoordError::TimedOut {
                    spool: self.spool.root().to_path_buf(),
                    pending: status.queued_results + status.batches,
                    waited_secs: timeout.as_secs(),
                });
            }
            if self.leader()?.is_none() {
                let flusher = Flusher::with_config(
                    &self.spool,
                    self.config.clone(),
                    client.clone(),
                    None,
                    self.settings.clone(),
                );
                flusher.run(FlushMode::Drain { timeout: remaining }).await?;
            } else {
                tokio::time::sleep(self.settings.poll).await;
            }
        }
    }

    /// Flushes everything, optionally closes the run, and ends the session:
    /// the batch outcomes, worker records and `spool.json` are removed so
    /// that the next session may use other options.
    pub async fn finish(&self, close_run: bool) -> Result<FinishSummary, CoordError> {
        self.finish_within(close_run, Duration::from_secs(600))
            .await
    }

    /// Same as [`Coordinator::finish`] with a limit on the wait.
    ///
    /// Once the queue is empty the session is marked as ending, which
    /// rejects further submits and stops the background flusher. Results
    /// queued before that mark are then uploaded by this process, so every
    /// submit that succeeded is in the summary.
    pub async fn finish_within(
        &self,
        close_run: bool,
        timeout: Duration,
    ) -> Result<FinishSummary, CoordError> {
        let started = Instant::now();
        self.flush(timeout).await?;
        self.spool.begin_ending(&self.config.session)?;
        self.flush(timeout.saturating_sub(started.elapsed()))
            .await?;
        let mut summary = self.totals()?;

        if close_run && let (Some(run_id), Some(client)) = (summary.run_id, &self.client) {
            match client.close_run(run_id).await {
                Ok(_) => summary.run_closed = true,
                Err(error) if error.status() == Some(400) => {
                    let closed = client.get_run(run_id).await.is_ok_and(|r| r.is_completed);
                    if !closed {
                        return Err(SyncError::api(format!("closing run {run_id}"), error).into());
                    }
                    summary.run_closed = true;
                }
                Err(error) => {
                    return Err(SyncError::api(format!("closing run {run_id}"), error).into());
                }
            }
            info!(run_id, "closed run");
        }

        self.end_session()?;
        Ok(summary)
    }

    /// Adds up the outcomes of this session's finished batches.
    pub fn totals(&self) -> Result<FinishSummary, CoordError> {
        let dir = self.spool.path("done");
        let mut names: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| CoordError::io(&dir, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| session_of_name(n) == self.config.session)
            })
            .collect();
        names.sort();
        let mut summary = FinishSummary::default();
        for path in names {
            if let Some(outcome) = read_json::<BatchOutcome>(&path)? {
                summary.add(&outcome);
            }
        }
        Ok(summary)
    }

    fn end_session(&self) -> Result<(), CoordError> {
        let dir = self.spool.path("done");
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                remove_file(&entry.path())?;
            }
        }
        remove_file(&self.spool.path(FLUSH_NOW))?;
        Workers::new(self.spool.root()).clear()?;
        self.spool.clear_config(&self.config.session)
    }
}
