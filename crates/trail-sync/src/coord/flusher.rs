//! The flusher: the one process that uploads a spool's queue to TestRail.
//!
//! A batch moves through the spool in steps that each survive a crash:
//!
//! 1. Queue files are renamed into `batches/ID/`.
//! 2. The plan is built and saved as the journal `uploads/batch-ID`, then
//!    the marker `batches/ID/planned` is written.
//! 3. The engine executes the journal and removes it once every step is
//!    done.
//! 4. `done/ID.json` is written and the batch folder is removed.
//!
//! A flusher that finds a batch folder left by a dead one resumes its
//! journal, which checks TestRail before it resends anything. A folder with
//! the marker but no journal was finished, because the journal is removed
//! only on success; a folder with neither sent nothing and is planned anew.
//!
//! A flusher only takes queue files and batch folders of the session whose
//! settings it read, and it stops once that session has ended. In the
//! background it also stops when `trail finish` starts ending the session,
//! which then uploads the rest itself.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use testrail_api::Client;
use tracing::{debug, info, warn};
use trail_reports::TestResult;

use super::error::CoordError;
use super::files::{create_dir, now_ms, read_json, remove_file, sync_dir, write_json};
use super::lease::{LeaseFile, new_owner_id};
use super::session::{SessionLock, name_part};
use super::spool::{SessionState, Spool, SpoolConfig};
use super::workers::Workers;
use crate::error::SyncError;
use crate::execute::{ExecuteOptions, Executor};
use crate::journal::{Journal, JournalStore};
use crate::plan::SyncPlan;
use crate::reporter::NoReporter;
use crate::upload::{UploadMode, upload_with};

/// Name of the marker file that requests an immediate flush of the queue.
pub(crate) const FLUSH_NOW: &str = "flush-now";

/// Timing of a flusher.
#[derive(Debug, Clone)]
pub struct FlushSettings {
    /// How long a lease lasts without a heartbeat.
    pub lease_ttl: Duration,
    /// Interval between heartbeats; well below `lease_ttl`.
    pub heartbeat: Duration,
    /// Interval between looks at the queue.
    pub poll: Duration,
    /// Maximum wait between retries while TestRail is unreachable.
    pub max_retry_wait: Duration,
}

impl Default for FlushSettings {
    fn default() -> Self {
        FlushSettings {
            lease_ttl: Duration::from_secs(15),
            heartbeat: Duration::from_secs(2),
            poll: Duration::from_millis(150),
            max_retry_wait: Duration::from_secs(30),
        }
    }
}

/// When a flusher stops.
#[derive(Debug, Clone, Copy)]
pub enum FlushMode {
    /// Flush batches by size and age; stop once the spool has been empty
    /// for `idle_exit`.
    Background {
        /// Idle time before the flusher exits.
        idle_exit: Duration,
    },
    /// Flush everything now regardless of age and stop once the spool is
    /// empty, or fail after `timeout`.
    Drain {
        /// Maximum time to keep trying.
        timeout: Duration,
    },
}

/// Outcome of one batch, stored as `done/ID.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// Batch id.
    pub batch: String,
    /// Results read from the batch's queue files.
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
    /// True when the batch was found finished by a later flusher, whose
    /// counts come from the marker.
    pub recovered: bool,
}

/// Counts of what is planned in a batch, stored as `batches/ID/planned`.
#[derive(Debug, Serialize, Deserialize)]
struct PlannedMarker {
    results_submitted: usize,
    results_posted: usize,
    results_skipped: usize,
    unmatched: usize,
}

/// Counts of the batches a flusher finished before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FlushReport {
    /// Batches finished.
    pub batches: usize,
    /// Results TestRail stored.
    pub results_uploaded: usize,
}

/// Uploads a spool's queue while it holds the spool's lease.
pub struct Flusher {
    spool: Spool,
    config: SpoolConfig,
    client: Client,
    owner: String,
    settings: FlushSettings,
    lease: LeaseFile,
}

impl Flusher {
    /// Prepares a flusher for a spool whose `spool.json` exists.
    ///
    /// `owner` is the id under which a submitter reserved the lease for
    /// this process; a new id is made when it is `None`.
    pub fn new(
        spool: &Spool,
        client: Client,
        owner: Option<String>,
        settings: FlushSettings,
    ) -> Result<Flusher, CoordError> {
        let config = spool.config()?.ok_or_else(|| CoordError::Config {
            setting: "--spool".into(),
            message: format!("`{}` contains no spool.json", spool.root().display()),
            hint: "submit results first with `trail submit`, or pass the spool they went to".into(),
        })?;
        Ok(Flusher::with_config(spool, config, client, owner, settings))
    }

    /// Prepares a flusher for the session of `config`.
    pub(crate) fn with_config(
        spool: &Spool,
        config: SpoolConfig,
        client: Client,
        owner: Option<String>,
        settings: FlushSettings,
    ) -> Flusher {
        Flusher {
            lease: LeaseFile::new(spool.root()),
            spool: spool.clone(),
            config,
            client,
            owner: owner.unwrap_or_else(new_owner_id),
            settings,
        }
    }

    /// Id under which this flusher holds the lease.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Flushes while holding the lease; returns `None` when another live
    /// flusher of the same session holds it.
    pub async fn run(&self, mode: FlushMode) -> Result<Option<FlushReport>, CoordError> {
        let mut report = FlushReport::default();
        let mut led = false;
        let started = Instant::now();
        loop {
            // The session lock keeps the session open while the lease is
            // taken, so a flusher of an ended session never takes over the
            // lease of the next session's flusher.
            let acquired = {
                let _lock = SessionLock::acquire(self.spool.root(), false)?;
                if let Some(reason) = self.stop_reason(mode)? {
                    info!(owner = %self.owner, session = %self.config.session, reason, "flusher stops");
                    return Ok(Some(report));
                }
                self.lease
                    .acquire(&self.owner, &self.config.session, self.settings.lease_ttl)?
            };
            if !acquired {
                return Ok(led.then_some(report));
            }
            led = true;
            info!(owner = %self.owner, pid = std::process::id(), "flusher holds the lease");
            let outcome = self.lead(mode, started, &mut report).await;
            self.lease.release(&self.owner)?;
            info!(owner = %self.owner, batches = report.batches, "flusher released the lease");
            outcome?;

            // A submit that saw the lease just before it was released did
            // not start a flusher, so its results are picked up here.
            if self.spool.queued(&self.config.session)?.is_empty() {
                return Ok(Some(report));
            }
        }
    }

    async fn lead(
        &self,
        mode: FlushMode,
        started: Instant,
        report: &mut FlushReport,
    ) -> Result<(), CoordError> {
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = tokio::spawn(heartbeat(
            self.lease.clone(),
            self.owner.clone(),
            self.settings.clone(),
            lost.clone(),
        ));
        let outcome = self.flush_loop(mode, started, report, &lost).await;
        heartbeat.abort();
        outcome
    }

    async fn flush_loop(
        &self,
        mode: FlushMode,
        started: Instant,
        report: &mut FlushReport,
        lost: &AtomicBool,
    ) -> Result<(), CoordError> {
        self.clear_trash();
        if let Err(error) = Workers::new(self.spool.root()).remove_stale() {
            warn!(%error, "could not remove stale worker records");
        }
        let mut last_activity = Instant::now();
        let mut retry_wait = Duration::from_secs(1);
        loop {
            if lost.load(Ordering::SeqCst) {
                warn!(owner = %self.owner, "lease lost to another flusher; stopping");
                return Ok(());
            }
            if let Some(reason) = self.stop_reason(mode)? {
                info!(owner = %self.owner, session = %self.config.session, reason, "flusher stops");
                return Ok(());
            }
            if let FlushMode::Drain { timeout } = mode
                && started.elapsed() >= timeout
            {
                let status = self.spool.session_status(&self.config.session)?;
                return Err(CoordError::TimedOut {
                    spool: self.spool.root().to_path_buf(),
                    pending: status.queued_results + status.batches,
                    waited_secs: timeout.as_secs(),
                });
            }

            match self.step(mode).await {
                Ok(Some(outcome)) => {
                    report.batches += 1;
                    report.results_uploaded += outcome.results_uploaded;
                    last_activity = Instant::now();
                    retry_wait = Duration::from_secs(1);
                    continue;
                }
                Ok(None) => {}
                Err(error) if is_transient(&error) => {
                    warn!(%error, wait_secs = retry_wait.as_secs(), "batch upload interrupted; retrying");
                    tokio::time::sleep(retry_wait).await;
                    retry_wait = (retry_wait * 2).min(self.settings.max_retry_wait);
                    last_activity = Instant::now();
                    continue;
                }
                Err(error) => return Err(error),
            }

            let status = self.spool.session_status(&self.config.session)?;
            if !status.is_empty() {
                last_activity = Instant::now();
            } else {
                match mode {
                    FlushMode::Drain { .. } => return Ok(()),
                    FlushMode::Background { idle_exit } if last_activity.elapsed() >= idle_exit => {
                        return Ok(());
                    }
                    FlushMode::Background { .. } => {}
                }
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }

    /// Returns why this flusher must stop now, or `None` while it may go
    /// on: its session has ended, or `trail finish` is ending it and this
    /// flusher runs in the background.
    fn stop_reason(&self, mode: FlushMode) -> Result<Option<&'static str>, CoordError> {
        Ok(
            match (self.spool.session_state(&self.config.session)?, mode) {
                (SessionState::Ended, _) => Some("its session has ended"),
                (SessionState::Ending, FlushMode::Background { .. }) => {
                    Some("`trail finish` is ending its session")
                }
                _ => None,
            },
        )
    }

    /// Finishes one batch left in flight or takes one from the queue when
    /// it is due; returns its outcome, or `None` when nothing was due.
    async fn step(&self, mode: FlushMode) -> Result<Option<BatchOutcome>, CoordError> {
        let session = &self.config.session;
        if let Some(dir) = self.spool.batches(session)?.into_iter().next() {
            return self.upload_batch(&dir).await.map(Some);
        }
        let queued = self.spool.queued(session)?;
        if queued.is_empty() {
            return Ok(None);
        }
        let total: usize = queued.iter().map(|f| f.results).sum();
        let oldest = now_ms().saturating_sub(queued[0].created_ms);
        let urgent = matches!(mode, FlushMode::Drain { .. }) || self.spool.path(FLUSH_NOW).exists();
        if total < self.config.batch_size && oldest < self.config.flush_after_ms && !urgent {
            return Ok(None);
        }

        // Files are taken only under the session lock and while the session
        // is open to this flusher. So once `trail finish` has marked the
        // session as ending, no background flusher takes another file.
        let lock = SessionLock::acquire(self.spool.root(), false)?;
        if self.stop_reason(mode)?.is_some() {
            return Ok(None);
        }
        let dir = self.new_batch_dir()?;
        let mut taken = 0;
        for file in queued {
            if taken > 0 && taken + file.results > self.config.batch_size {
                break;
            }
            let Some(name) = file.path.file_name() else {
                continue;
            };
            match fs::rename(&file.path, dir.join(name)) {
                Ok(()) => taken += file.results,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(CoordError::io(&file.path, e)),
            }
        }
        sync_dir(&dir);
        sync_dir(&self.spool.path("queue"));
        drop(lock);
        debug!(batch = %dir.display(), results = taken, "took a batch from the queue");
        self.upload_batch(&dir).await.map(Some)
    }

    fn new_batch_dir(&self) -> Result<PathBuf, CoordError> {
        static SEQUENCE: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "{:013}-{}-{}-{}",
            now_ms(),
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed),
            name_part(&self.config.session)
        );
        let dir = self.spool.path("batches").join(id);
        create_dir(&dir)?;
        sync_dir(&self.spool.path("batches"));
        Ok(dir)
    }

    async fn upload_batch(&self, dir: &Path) -> Result<BatchOutcome, CoordError> {
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let fingerprint = format!("batch-{id}");
        let store = JournalStore::open(self.spool.root())?;
        let marker_path = dir.join("planned");

        let journal = match store.load(&fingerprint)? {
            Some(journal) => {
                info!(batch = %id, done = journal.results_uploaded(), "resuming a batch left in flight");
                Some(journal)
            }
            None if marker_path.exists() => None,
            None => {
                let spooled = self.spool.read_folder(dir)?;
                let results: Vec<TestResult> = spooled.iter().map(|r| r.to_result()).collect();
                let plan = self.plan(&results).await?;
                let marker = PlannedMarker {
                    results_submitted: spooled.len(),
                    results_posted: plan.results.len(),
                    results_skipped: plan.not_posted,
                    unmatched: plan.unmatched.len(),
                };
                let journal = Journal::new(fingerprint, plan);
                store.create(&journal)?;
                write_json(&marker_path, &marker)?;
                Some(journal)
            }
        };

        let outcome = match journal {
            Some(journal) => {
                let options = ExecuteOptions {
                    batch_size: self.config.batch_size,
                    concurrency: 4,
                };
                let executed =
                    Executor::new(&self.client, Some(&store), journal, options, &NoReporter)
                        .run()
                        .await;
                let journal = executed?;
                let marker: Option<PlannedMarker> = read_json(&marker_path)?;
                BatchOutcome {
                    batch: id.clone(),
                    results_submitted: marker
                        .map_or(journal.plan.tests_read, |m| m.results_submitted),
                    results_uploaded: journal.results_uploaded(),
                    results_skipped: journal.plan.not_posted,
                    cases_created: journal.cases.iter().filter(|c| c.is_some()).count(),
                    rejected: journal.rejected.len(),
                    unmatched: journal.plan.unmatched.len(),
                    run_id: journal.run_id,
                    run_url: journal.run_url.clone(),
                    recovered: false,
                }
            }
            None => {
                info!(batch = %id, "found a batch that a stopped flusher had finished");
                let marker: Option<PlannedMarker> = read_json(&marker_path)?;
                let marker = marker.unwrap_or(PlannedMarker {
                    results_submitted: 0,
                    results_posted: 0,
                    results_skipped: 0,
                    unmatched: 0,
                });
                BatchOutcome {
                    batch: id.clone(),
                    results_submitted: marker.results_submitted,
                    results_uploaded: marker.results_posted,
                    results_skipped: marker.results_skipped,
                    unmatched: marker.unmatched,
                    recovered: true,
                    ..BatchOutcome::default()
                }
            }
        };

        write_json(
            &self.spool.path("done").join(format!("{id}.json")),
            &outcome,
        )?;
        let trash = self.spool.path("trash").join(&id);
        fs::rename(dir, &trash).map_err(|e| CoordError::io(dir, e))?;
        sync_dir(&self.spool.path("batches"));
        if let Err(error) = fs::remove_dir_all(&trash) {
            debug!(%error, path = %trash.display(), "could not remove a finished batch");
        }
        info!(batch = %id, uploaded = outcome.results_uploaded, run_id = ?outcome.run_id, "batch finished");
        Ok(outcome)
    }

    /// Plans a batch with the engine's own matching and planning, sending
    /// nothing.
    // NOTE: each batch reads the project, sections and cases again, which
    // costs a few paged requests per batch on a large suite; a metadata
    // cache shared across batches would remove that.
    async fn plan(&self, results: &[TestResult]) -> Result<SyncPlan, CoordError> {
        let mut options = self.config.options.clone();
        options.spool_dir = None;
        let (_, plan) = upload_with(
            &self.client,
            results,
            &options,
            "batch-plan",
            UploadMode::DryRun,
            &NoReporter,
        )
        .await?;
        Ok(plan)
    }

    fn clear_trash(&self) {
        let trash = self.spool.path("trash");
        if let Ok(entries) = fs::read_dir(&trash) {
            for entry in entries.flatten() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        let _ = remove_file(&trash.join(".keep"));
    }
}

async fn heartbeat(
    lease: LeaseFile,
    owner: String,
    settings: FlushSettings,
    lost: Arc<AtomicBool>,
) {
    loop {
        tokio::time::sleep(settings.heartbeat).await;
        match lease.renew(&owner, settings.lease_ttl) {
            Ok(true) => {}
            Ok(false) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(error) => warn!(%error, "could not renew the lease"),
        }
    }
}

/// Returns true for failures after which the same batch may succeed later.
fn is_transient(error: &CoordError) -> bool {
    match error {
        CoordError::Sync(SyncError::Interrupted { .. }) => true,
        CoordError::Sync(SyncError::Api { source, .. }) => {
            source.is_retryable() || source.maybe_applied() || source.status().is_none()
        }
        _ => false,
    }
}
