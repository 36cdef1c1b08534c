//! The journal: a plan and how far its execution got, saved in the spool
//! directory after every step so that an interrupted upload can resume.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::SyncError;
use crate::plan::{PlannedRun, SyncPlan};
use crate::summary::Rejected;

/// Folder inside the spool directory that contains upload journals.
const UPLOADS_DIR: &str = "uploads";

/// A plan and the progress of its execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    /// Identifies the inputs (reports and options) the plan was built from.
    pub fingerprint: String,
    /// Unix time at which the upload started.
    pub started_at: i64,
    /// The plan being executed, stored once in its own file.
    #[serde(skip)]
    pub plan: SyncPlan,
    /// True when this journal was read back from the spool.
    #[serde(skip)]
    pub resumed: bool,
    /// Ids of created sections, by plan index.
    pub sections: Vec<Option<u64>>,
    /// Ids of created cases, by plan index.
    pub cases: Vec<Option<u64>>,
    /// Run id once the run is found or created.
    pub run_id: Option<u64>,
    /// Run URL once known.
    pub run_url: Option<String>,
    /// True when trail created the run.
    pub run_created: bool,
    /// True once the run contains every case of the plan.
    pub run_cases_done: bool,
    /// Per planned result: true once TestRail stored it.
    pub results_done: Vec<bool>,
    /// Per planned result: true while a request that carries it may have
    /// reached TestRail without an answer.
    pub results_in_flight: Vec<bool>,
    /// Results TestRail rejected, with its reason.
    pub rejected: Vec<Rejected>,
    /// True once the run was closed.
    pub closed: bool,
    /// Creating requests that were sent without a response. Each is checked
    /// against TestRail before it is sent again.
    pub pending: Vec<PendingStep>,
    /// Indices of planned case updates that TestRail applied.
    #[serde(default)]
    pub updates_done: BTreeSet<usize>,
    /// TestRail result id per planned result index, from the response of
    /// `add_results_for_cases`.
    #[serde(default)]
    pub result_ids: BTreeMap<usize, u64>,
    /// Attachments handled, as (result index, attachment index): uploaded,
    /// or skipped because the file was gone.
    #[serde(default)]
    pub attachments_done: BTreeSet<(usize, usize)>,
    /// Number of attachments uploaded.
    #[serde(default)]
    pub attachments_uploaded: usize,
    /// Case updates and attachments that TestRail rejected, with its reason.
    #[serde(default)]
    pub rejected_writes: Vec<String>,
    /// Progress of an upload to a test plan; empty for other uploads.
    #[serde(default)]
    pub test_plan: PlanProgress,
    /// Per run: the id of the newest result it held before this upload
    /// sent any, so results of earlier uploads are never taken for ones an
    /// unanswered request of this upload stored. Result ids only grow.
    #[serde(default)]
    pub result_floors: BTreeMap<u64, u64>,
}

/// How far an upload to a test plan got: the ids it found or created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanProgress {
    /// Configuration group id.
    pub config_group_id: Option<u64>,
    /// Configuration id per planned run.
    pub config_ids: Vec<Option<u64>>,
    /// Plan id once the plan is found or created.
    pub plan_id: Option<u64>,
    /// Plan URL once known.
    pub plan_url: Option<String>,
    /// True when trail created the plan.
    pub plan_created: bool,
    /// Run id per planned run, once the plan has an entry for it.
    pub run_ids: Vec<Option<u64>>,
    /// Run URL per planned run.
    pub run_urls: Vec<Option<String>>,
}

/// A creating request that may have been applied without a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStep {
    /// `add_section` for a plan index.
    Section(usize),
    /// `add_case` for a plan index.
    Case(usize),
    /// `add_run`.
    Run,
    /// `add_config_group`.
    ConfigGroup,
    /// `add_config` for a planned run index.
    Config(usize),
    /// `add_plan`.
    Plan,
    /// `add_plan_entry`.
    PlanEntry,
}

impl Journal {
    /// Starts a journal for a new plan.
    pub fn new(fingerprint: String, plan: SyncPlan) -> Journal {
        let started_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Journal {
            fingerprint,
            started_at,
            sections: vec![None; plan.sections.len()],
            cases: vec![None; plan.cases.len()],
            run_id: None,
            run_url: None,
            run_created: false,
            run_cases_done: false,
            results_done: vec![false; plan.results.len()],
            results_in_flight: vec![false; plan.results.len()],
            rejected: Vec::new(),
            closed: false,
            pending: Vec::new(),
            updates_done: BTreeSet::new(),
            result_ids: BTreeMap::new(),
            attachments_done: BTreeSet::new(),
            attachments_uploaded: 0,
            rejected_writes: Vec::new(),
            test_plan: PlanProgress::new(&plan),
            result_floors: BTreeMap::new(),
            plan,
            resumed: false,
        }
    }

    /// Number of results stored so far.
    pub fn results_uploaded(&self) -> usize {
        self.results_done.iter().filter(|done| **done).count()
    }
}

impl PlanProgress {
    /// Starts empty progress with one slot per run of the plan's test plan.
    fn new(plan: &SyncPlan) -> PlanProgress {
        let runs = match &plan.run {
            PlannedRun::Plan { runs, .. } => runs.len(),
            _ => 0,
        };
        PlanProgress {
            config_ids: vec![None; runs],
            run_ids: vec![None; runs],
            run_urls: vec![None; runs],
            ..PlanProgress::default()
        }
    }
}

/// Store of upload journals in a spool directory.
#[derive(Debug, Clone)]
pub struct JournalStore {
    dir: PathBuf,
}

impl JournalStore {
    /// Uses `{spool}/uploads`, creating it when missing.
    pub fn open(spool: &Path) -> Result<JournalStore, SyncError> {
        let dir = spool.join(UPLOADS_DIR);
        fs::create_dir_all(&dir).map_err(|e| SyncError::Journal {
            path: dir.clone(),
            message: format!("cannot create: {e}"),
        })?;
        Ok(JournalStore { dir })
    }

    /// Spool directory that contains the store.
    pub fn spool(&self) -> PathBuf {
        self.dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.dir.clone())
    }

    /// Path of the progress file for a fingerprint.
    pub fn path_for(&self, fingerprint: &str) -> PathBuf {
        self.dir.join(format!("{fingerprint}.json"))
    }

    /// Path of the plan file for a fingerprint.
    fn plan_path_for(&self, fingerprint: &str) -> PathBuf {
        self.dir.join(format!("{fingerprint}.plan"))
    }

    /// Loads the unfinished journal for these inputs, if there is one.
    pub fn load(&self, fingerprint: &str) -> Result<Option<Journal>, SyncError> {
        let path = self.path_for(fingerprint);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let plan_path = self.plan_path_for(fingerprint);
        let Some(plan_bytes) = read_optional(&plan_path)? else {
            return Ok(None);
        };
        let unreadable = |path: &Path, e: serde_json::Error| SyncError::Journal {
            path: path.to_path_buf(),
            message: format!("cannot be read ({e}); delete it to start the upload afresh"),
        };
        let mut journal: Journal =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(&path, e))?;
        journal.plan =
            serde_json::from_slice(&plan_bytes).map_err(|e| unreadable(&plan_path, e))?;
        journal.resumed = true;
        Ok(Some(journal))
    }

    /// Writes the plan of a new journal and its empty progress.
    pub fn create(&self, journal: &Journal) -> Result<(), SyncError> {
        let path = self.plan_path_for(&journal.fingerprint);
        write_json_atomically(&self.dir, &path, &journal.plan)?;
        self.save(journal)
    }

    /// Lists every unfinished journal, oldest first.
    pub fn list(&self) -> Result<Vec<Journal>, SyncError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| SyncError::Journal {
            path: self.dir.clone(),
            message: e.to_string(),
        })?;
        let mut journals = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "json")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && let Some(journal) = self.load(stem)?
            {
                journals.push(journal);
            }
        }
        journals.sort_by_key(|j| j.started_at);
        Ok(journals)
    }

    /// Writes the progress of a journal atomically.
    ///
    /// The progress file is renamed into place but not synced: a killed
    /// process loses nothing, because the data is already in the operating
    /// system's cache, and syncing after every batch would serialize the
    /// batches behind the disk. The plan file, written once, is synced.
    // NOTE: a machine that loses power part way can lose the last progress
    // updates. The resumed upload checks such results against TestRail like
    // any unanswered request, so a result is posted twice only when the lost
    // update was the mark written just before its batch was sent.
    pub fn save(&self, journal: &Journal) -> Result<(), SyncError> {
        let path = self.path_for(&journal.fingerprint);
        let bytes = serde_json::to_vec(journal).map_err(|e| SyncError::Journal {
            path: path.clone(),
            message: e.to_string(),
        })?;
        replace_file(&self.dir, &path, &bytes)
    }

    /// Removes the journal of a finished upload.
    pub fn remove(&self, fingerprint: &str) -> Result<(), SyncError> {
        for path in [self.path_for(fingerprint), self.plan_path_for(fingerprint)] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(SyncError::Journal {
                        path,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, SyncError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SyncError::Journal {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

/// Writes `value` as JSON atomically and synced, serializing straight into
/// the file so that a large plan is never held twice in memory.
pub(crate) fn write_json_atomically<T: serde::Serialize>(
    dir: &Path,
    path: &Path,
    value: &T,
) -> Result<(), SyncError> {
    let fail = |message: String| SyncError::Journal {
        path: path.to_path_buf(),
        message,
    };
    let file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(e.to_string()))?;
    let mut writer = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut writer, value).map_err(|e| fail(e.to_string()))?;
    let file = writer
        .into_inner()
        .map_err(|e| fail(e.error().to_string()))?;
    file.as_file().sync_all().map_err(|e| fail(e.to_string()))?;
    file.persist(path).map_err(|e| fail(e.error.to_string()))?;
    Ok(())
}

/// Writes a file so that readers see the old or the new content, never a
/// mix: a temporary file in the same folder is written and renamed.
fn replace_file(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), SyncError> {
    let fail = |e: std::io::Error| SyncError::Journal {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
