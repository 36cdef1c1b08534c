//! The registry of workers that submit into a spool.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::CoordError;
use super::files::{now_ms, read_json, remove_file, write_json};
use super::lease::{host_name, process_alive};

/// Milliseconds after its last submit during which a worker counts as
/// active.
const ACTIVE_MS: u64 = 60_000;

/// Milliseconds after its last submit after which the record of an exited
/// worker is removed.
const STALE_MS: u64 = 10 * 60_000;

/// One worker as the registry stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// Worker id: `--worker`, `TRAIL_WORKER`, or host and parent pid.
    pub id: String,
    /// Process whose life is the worker's: the test worker that runs
    /// `trail submit`, or the process that uses the library.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// Unix time in milliseconds of the first submit.
    pub started_at_ms: u64,
    /// Unix time in milliseconds of the last submit.
    pub last_seen_ms: u64,
    /// Results submitted so far.
    pub results_submitted: u64,
    /// Submits so far.
    pub submits: u64,
}

/// State of a worker now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Its process runs and it submitted recently.
    Active,
    /// Its process runs but it has not submitted for a while.
    Idle,
    /// Its process has exited.
    Exited,
}

impl WorkerRecord {
    /// Returns the state of the worker now.
    pub fn state(&self) -> WorkerState {
        let here = self.host == host_name();
        let recent = now_ms().saturating_sub(self.last_seen_ms) < ACTIVE_MS;
        match (here && !process_alive(self.pid), recent) {
            (true, _) => WorkerState::Exited,
            (false, true) => WorkerState::Active,
            (false, false) => WorkerState::Idle,
        }
    }
}

/// The `workers/` folder of a spool.
#[derive(Debug, Clone)]
pub struct Workers {
    dir: PathBuf,
}

impl Workers {
    /// Uses `{spool}/workers`.
    pub fn new(spool: &Path) -> Workers {
        Workers {
            dir: spool.join("workers"),
        }
    }

    fn lock(&self) -> Result<File, CoordError> {
        let path = self.dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| CoordError::io(&path, e))?;
        file.lock().map_err(|e| CoordError::io(&path, e))?;
        Ok(file)
    }

    fn path_of(&self, id: &str) -> PathBuf {
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// Records a submit of `results` results by worker `id` of process
    /// `pid`, registering the worker on its first submit.
    pub fn record(&self, id: &str, pid: u32, results: usize) -> Result<WorkerRecord, CoordError> {
        let _guard = self.lock()?;
        let path = self.path_of(id);
        let now = now_ms();
        let mut record = read_json::<WorkerRecord>(&path)?.unwrap_or_else(|| WorkerRecord {
            id: id.to_owned(),
            pid,
            host: host_name(),
            started_at_ms: now,
            last_seen_ms: now,
            results_submitted: 0,
            submits: 0,
        });
        record.pid = pid;
        record.last_seen_ms = now;
        record.results_submitted += results as u64;
        record.submits += 1;
        write_json(&path, &record)?;
        Ok(record)
    }

    /// Lists every registered worker, by id.
    pub fn list(&self) -> Result<Vec<WorkerRecord>, CoordError> {
        let mut records = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(records),
            Err(e) => return Err(CoordError::io(&self.dir, e)),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_record = path.extension().is_some_and(|e| e == "json")
                && !path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'));
            if is_record && let Ok(Some(record)) = read_json::<WorkerRecord>(&path) {
                records.push(record);
            }
        }
        records.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(records)
    }

    /// Removes records of workers that exited long ago; returns how many.
    pub fn remove_stale(&self) -> Result<usize, CoordError> {
        let _guard = self.lock()?;
        let now = now_ms();
        let mut removed = 0;
        for record in self.list()? {
            let old = now.saturating_sub(record.last_seen_ms) > STALE_MS;
            if old && record.state() != WorkerState::Active {
                remove_file(&self.path_of(&record.id))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes every record, at the end of a session.
    pub fn clear(&self) -> Result<(), CoordError> {
        let _guard = self.lock()?;
        for record in self.list()? {
            remove_file(&self.path_of(&record.id))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_submits() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("workers")).unwrap();
        let workers = Workers::new(dir.path());
        workers.record("w/1", std::process::id(), 3).unwrap();
        let record = workers.record("w/1", std::process::id(), 2).unwrap();
        assert_eq!(record.results_submitted, 5);
        assert_eq!(record.submits, 2);
        let listed = workers.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].state(), WorkerState::Active);
    }
}
