//! The spool directory: its configuration and the queue of results.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

use super::error::CoordError;
use super::files::{create_dir, now_ms, read_json, sync_dir, write_atomically, write_json};
use super::result::SpooledResult;
use super::session::{SessionLock, name_part, new_session_id, session_of_name};
use crate::options::SyncOptions;

/// Version of the spool layout, stored in `spool.json`.
const LAYOUT_VERSION: u32 = 1;

/// Non-secret upload settings shared by every process of a spool, stored in
/// `spool.json` by the first submit. The host is stored so that a leader
/// pointed at another TestRail is caught; the user and API key never are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpoolConfig {
    /// Layout version.
    pub version: u32,
    /// Id of the session these settings belong to. Queue files, batches
    /// and the lease carry it, so that they are never uploaded with the
    /// settings of another session. Empty in spools written before
    /// sessions had ids.
    #[serde(default)]
    pub session: String,
    /// True once `trail finish` has drained the queue and is ending the
    /// session. Submits are then rejected and background flushers stop.
    #[serde(default)]
    pub ending: bool,
    /// TestRail root URL, when the submitter knew it.
    pub host: Option<String>,
    /// Upload options; `spool_dir` is left out.
    pub options: SyncOptions,
    /// Results per flushed batch.
    pub batch_size: usize,
    /// Milliseconds after which a queued result is flushed even when the
    /// batch is not full.
    pub flush_after_ms: u64,
}

impl SpoolConfig {
    /// Settings for these options in a new session, with the spool
    /// directory removed.
    pub fn new(
        host: Option<String>,
        mut options: SyncOptions,
        batch_size: usize,
        flush_after_ms: u64,
    ) -> SpoolConfig {
        options.spool_dir = None;
        SpoolConfig {
            version: LAYOUT_VERSION,
            session: new_session_id(),
            ending: false,
            host,
            options,
            batch_size: batch_size.max(1),
            flush_after_ms,
        }
    }

    /// Lists the settings that differ from `other`, as `name` pairs.
    fn differences(&self, other: &SpoolConfig) -> Vec<String> {
        let mut names = Vec::new();
        if self.host != other.host && self.host.is_some() && other.host.is_some() {
            names.push("host".to_owned());
        }
        let (Ok(serde_json::Value::Object(mine)), Ok(serde_json::Value::Object(theirs))) = (
            serde_json::to_value(&self.options),
            serde_json::to_value(&other.options),
        ) else {
            return names;
        };
        for (key, value) in &mine {
            if theirs.get(key) != Some(value) {
                names.push(key.clone());
            }
        }
        names
    }
}

/// State of a session, as read from `spool.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionState {
    /// `spool.json` belongs to the session and accepts submits.
    Open,
    /// `trail finish` is ending the session.
    Ending,
    /// `spool.json` is gone or belongs to another session.
    Ended,
}

/// Counts of the queue and the batches in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// Queue files waiting.
    pub queued_files: usize,
    /// Results in the waiting files.
    pub queued_results: usize,
    /// Batches taken by a flusher and not yet confirmed.
    pub batches: usize,
    /// Age of the oldest waiting file in milliseconds.
    pub oldest_age_ms: u64,
}

impl QueueStatus {
    /// Returns true when nothing waits and nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.queued_files == 0 && self.batches == 0
    }
}

/// A queued file with the number of results it holds.
#[derive(Debug, Clone)]
pub(crate) struct QueuedFile {
    pub path: PathBuf,
    pub results: usize,
    pub created_ms: u64,
}

/// Content of one queue file.
#[derive(Debug, Serialize, Deserialize)]
struct QueueFile {
    worker: String,
    results: Vec<SpooledResult>,
}

/// A spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
}

impl Spool {
    /// Uses `root`, creating its folders when missing.
    pub fn open(root: &Path) -> Result<Spool, CoordError> {
        let spool = Spool {
            root: root.to_path_buf(),
        };
        for dir in ["queue", "batches", "done", "workers", "trash", "uploads"] {
            create_dir(&spool.root.join(dir))?;
        }
        Ok(spool)
    }

    /// Spool directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Reads `spool.json`.
    pub fn config(&self) -> Result<Option<SpoolConfig>, CoordError> {
        read_json(&self.path("spool.json"))
    }

    /// Stores `wanted` as the spool's settings when it has none, and checks
    /// that it matches them otherwise; returns the stored settings. Their
    /// session id is that of the open session, not the one in `wanted`.
    ///
    /// Fails with [`CoordError::SessionEnded`] while `trail finish` ends the
    /// open session.
    pub fn ensure_config(&self, wanted: &SpoolConfig) -> Result<SpoolConfig, CoordError> {
        let path = self.path("spool.json");
        if let Some(existing) = self.config()? {
            return check_same(&path, &existing, wanted);
        }
        let bytes = serde_json::to_vec_pretty(wanted).map_err(|e| CoordError::io(&path, e))?;
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.root)
            .map_err(|e| CoordError::io(&path, e))?;
        std::io::Write::write_all(&mut file, &bytes).map_err(|e| CoordError::io(&path, e))?;
        file.as_file()
            .sync_all()
            .map_err(|e| CoordError::io(&path, e))?;
        match file.persist_noclobber(&path) {
            Ok(_) => {
                sync_dir(&self.root);
                Ok(wanted.clone())
            }
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                let existing = self.config()?.ok_or_else(|| {
                    CoordError::io(&path, "vanished while another process created it")
                })?;
                check_same(&path, &existing, wanted)
            }
            Err(e) => Err(CoordError::io(&path, e.error)),
        }
    }

    /// Removes `spool.json` when it belongs to `session`, so that the next
    /// submit may use other options.
    pub fn clear_config(&self, session: &str) -> Result<(), CoordError> {
        let _lock = SessionLock::acquire(&self.root, true)?;
        if self.config()?.is_some_and(|c| c.session == session) {
            super::files::remove_file(&self.path("spool.json"))?;
        }
        Ok(())
    }

    /// Marks `session` as ending in `spool.json`. From then on submits are
    /// rejected and background flushers stop, so only the caller takes
    /// files of the session from the queue.
    pub(crate) fn begin_ending(&self, session: &str) -> Result<(), CoordError> {
        let _lock = SessionLock::acquire(&self.root, true)?;
        let path = self.path("spool.json");
        match self.config()? {
            Some(mut config) if config.session == session => {
                if !config.ending {
                    config.ending = true;
                    write_json(&path, &config)?;
                }
                Ok(())
            }
            _ => Err(CoordError::SessionEnded {
                spool: self.root.clone(),
            }),
        }
    }

    /// Reads the state of `session` from `spool.json`.
    pub(crate) fn session_state(&self, session: &str) -> Result<SessionState, CoordError> {
        Ok(match self.config()? {
            Some(config) if config.session == session && config.ending => SessionState::Ending,
            Some(config) if config.session == session => SessionState::Open,
            _ => SessionState::Ended,
        })
    }

    /// Queues results of `session` in one new file; returns its path.
    ///
    /// Fails with [`CoordError::SessionEnded`] when the session has ended or
    /// is ending, because its flusher may be gone and a later session must
    /// not upload the file with other options.
    pub fn enqueue(
        &self,
        session: &str,
        worker: &str,
        results: &[SpooledResult],
    ) -> Result<PathBuf, CoordError> {
        static SEQUENCE: AtomicU32 = AtomicU32::new(0);
        let _lock = SessionLock::acquire(&self.root, false)?;
        if self.session_state(session)? != SessionState::Open {
            return Err(CoordError::SessionEnded {
                spool: self.root.clone(),
            });
        }

        let name = format!(
            "{:013}-{}-{}-{}-n{}.json",
            now_ms(),
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed),
            name_part(session),
            results.len()
        );
        let path = self.path("queue").join(name);
        let content = QueueFile {
            worker: worker.to_owned(),
            results: results.to_vec(),
        };
        let bytes = serde_json::to_vec(&content).map_err(|e| CoordError::io(&path, e))?;
        write_atomically(&path, &bytes)?;
        Ok(path)
    }

    /// Lists waiting queue files of `session`, oldest first.
    pub(crate) fn queued(&self, session: &str) -> Result<Vec<QueuedFile>, CoordError> {
        let mut files = self.queued_all()?;
        files.retain(|file| {
            file.path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| session_of_name(n) == session)
        });
        Ok(files)
    }

    /// Lists waiting queue files of every session, oldest first.
    fn queued_all(&self) -> Result<Vec<QueuedFile>, CoordError> {
        let dir = self.path("queue");
        let mut files = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| CoordError::io(&dir, e))? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(parsed) = parse_queue_name(name) {
                files.push(QueuedFile {
                    path: entry.path(),
                    results: parsed.1,
                    created_ms: parsed.0,
                });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// Lists batch folders of `session`, oldest first.
    pub(crate) fn batches(&self, session: &str) -> Result<Vec<PathBuf>, CoordError> {
        let mut batches = self.batches_all()?;
        batches.retain(|dir| {
            dir.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| session_of_name(n) == session)
        });
        Ok(batches)
    }

    /// Lists batch folders of every session, oldest first.
    fn batches_all(&self) -> Result<Vec<PathBuf>, CoordError> {
        let dir = self.path("batches");
        let mut batches: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| CoordError::io(&dir, e))?
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .map(|entry| entry.path())
            .collect();
        batches.sort();
        Ok(batches)
    }

    /// Counts what waits and what is in flight, in every session.
    pub fn status(&self) -> Result<QueueStatus, CoordError> {
        Ok(count(&self.queued_all()?, self.batches_all()?.len()))
    }

    /// Counts what waits and what is in flight in `session`.
    pub fn session_status(&self, session: &str) -> Result<QueueStatus, CoordError> {
        Ok(count(&self.queued(session)?, self.batches(session)?.len()))
    }

    /// Reads every result of the queue files in a folder.
    pub(crate) fn read_folder(&self, dir: &Path) -> Result<Vec<SpooledResult>, CoordError> {
        let mut names: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| CoordError::io(dir, e))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| parse_queue_name(n).is_some())
            })
            .collect();
        names.sort();
        let mut results = Vec::new();
        for path in names {
            if let Some(file) = read_json::<QueueFile>(&path)? {
                results.extend(file.results);
            }
        }
        Ok(results)
    }
}

fn count(queued: &[QueuedFile], batches: usize) -> QueueStatus {
    let now = now_ms();
    QueueStatus {
        queued_files: queued.len(),
        queued_results: queued.iter().map(|f| f.results).sum(),
        batches,
        oldest_age_ms: queued
            .iter()
            .map(|f| now.saturating_sub(f.created_ms))
            .max()
            .unwrap_or(0),
    }
}

fn check_same(
    path: &Path,
    existing: &SpoolConfig,
    wanted: &SpoolConfig,
) -> Result<SpoolConfig, CoordError> {
    if existing.ending {
        return Err(CoordError::SessionEnded {
            spool: path.parent().unwrap_or(path).to_path_buf(),
        });
    }
    let differences = existing.differences(wanted);
    if differences.is_empty() {
        return Ok(existing.clone());
    }
    Err(CoordError::Config {
        setting: "upload options".into(),
        message: format!(
            "the spool `{}` was set up with other values for: {}",
            path.parent().unwrap_or(path).display(),
            differences.join(", ")
        ),
        hint: "pass the same flags to every submit, run `trail finish` to end the earlier session, or pass another --spool DIR".into(),
    })
}

/// Reads `{created_ms}-{pid}-{seq}-s{session}-n{count}.json`; names written
/// before sessions had ids lack the session part.
fn parse_queue_name(name: &str) -> Option<(u64, usize)> {
    let stem = name.strip_suffix(".json")?;
    let mut parts = stem.split('-');
    let created = parts.next()?.parse().ok()?;
    let count = stem.rsplit_once("-n")?.1.parse().ok()?;
    Some((created, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{ProjectRef, RunTarget};

    fn config(run: &str) -> SpoolConfig {
        SpoolConfig::new(
            Some("http://127.0.0.1:1/".into()),
            SyncOptions::new(ProjectRef::Id(1), RunTarget::Name(run.into())),
            100,
            2000,
        )
    }

    #[test]
    fn other_options_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool.ensure_config(&config("Nightly")).unwrap();
        spool.ensure_config(&config("Nightly")).unwrap();
        let error = spool
            .ensure_config(&config("Other"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("run"), "{error}");
        assert!(error.contains("trail finish"), "{error}");
    }

    fn line() -> SpooledResult {
        serde_json::from_str(r#"{"name": "a", "status": "passed"}"#).unwrap()
    }

    #[test]
    fn enqueue_counts_results() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let session = spool.ensure_config(&config("Nightly")).unwrap().session;
        spool.enqueue(&session, "w1", &[line(), line()]).unwrap();
        spool.enqueue(&session, "w1", &[line()]).unwrap();
        let status = spool.status().unwrap();
        assert_eq!(status.queued_files, 2);
        assert_eq!(status.queued_results, 3);
        assert_eq!(
            spool.read_folder(&dir.path().join("queue")).unwrap().len(),
            3
        );
    }

    #[test]
    fn queue_is_split_by_session() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let first = spool.ensure_config(&config("First")).unwrap().session;
        spool.enqueue(&first, "w1", &[line()]).unwrap();
        spool.clear_config(&first).unwrap();
        let second = spool.ensure_config(&config("Second")).unwrap().session;
        assert_ne!(first, second);
        spool.enqueue(&second, "w1", &[line(), line()]).unwrap();

        assert_eq!(spool.session_status(&first).unwrap().queued_results, 1);
        assert_eq!(spool.session_status(&second).unwrap().queued_results, 2);
        assert_eq!(spool.status().unwrap().queued_results, 3);
    }

    #[test]
    fn ended_session_rejects_submits() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let session = spool.ensure_config(&config("Nightly")).unwrap().session;
        assert_eq!(spool.session_state(&session).unwrap(), SessionState::Open);

        spool.begin_ending(&session).unwrap();
        assert_eq!(spool.session_state(&session).unwrap(), SessionState::Ending);
        let error = spool.enqueue(&session, "w1", &[line()]).unwrap_err();
        assert!(matches!(error, CoordError::SessionEnded { .. }), "{error}");
        let error = spool.ensure_config(&config("Nightly")).unwrap_err();
        assert!(matches!(error, CoordError::SessionEnded { .. }), "{error}");

        spool.clear_config(&session).unwrap();
        assert_eq!(spool.session_state(&session).unwrap(), SessionState::Ended);
        let error = spool.enqueue(&session, "w1", &[line()]).unwrap_err();
        assert!(matches!(error, CoordError::SessionEnded { .. }), "{error}");
        assert_eq!(spool.status().unwrap().queued_files, 0);
    }
}
