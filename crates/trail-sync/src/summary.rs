//! What an upload did, for people and for machines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::Unmatched;

/// A result that TestRail rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Case id the result was for.
    pub case_id: u64,
    /// Tests folded into the result.
    pub tests: Vec<String>,
    /// TestRail's `error` text.
    pub reason: String,
}

/// The outcome of an upload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Target project id.
    pub project_id: u64,
    /// Run id, when a run was found or created.
    pub run_id: Option<u64>,
    /// Run URL in the TestRail web interface.
    pub run_url: Option<String>,
    /// True when trail created the run.
    pub run_created: bool,
    /// True when the run was closed.
    pub run_closed: bool,
    /// Tests read from the reports.
    pub tests_read: usize,
    /// Sections created.
    pub sections_created: usize,
    /// Cases created.
    pub cases_created: usize,
    /// Cases updated.
    pub cases_updated: usize,
    /// Files attached to results.
    #[serde(default)]
    pub attachments_uploaded: usize,
    /// Problems that did not stop the upload, such as a missing attachment.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Results stored in TestRail.
    pub results_uploaded: usize,
    /// Tests whose outcome was not posted, such as skipped tests.
    pub results_skipped: usize,
    /// Uploaded results per status name.
    pub by_status: BTreeMap<String, usize>,
    /// Tests tied to no case.
    pub unmatched: Vec<Unmatched>,
    /// Results TestRail rejected.
    pub rejected: Vec<Rejected>,
    /// Errors that stopped part of the upload.
    pub errors: Vec<String>,
    /// True when nothing was sent because of `--dry-run`.
    pub dry_run: bool,
    /// Wall time of each phase of the upload.
    #[serde(default)]
    pub timings: PhaseTimings,
    /// Hits and misses of the metadata cache.
    #[serde(default)]
    pub cache: crate::cache::CacheStats,
    /// The test plan and its runs, for uploads with one run per Playwright
    /// project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanSummary>,
}

/// A test plan that an upload filled, with one entry per run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Plan id, once found or created.
    pub id: Option<u64>,
    /// Plan name.
    pub name: String,
    /// Plan URL in the TestRail web interface.
    pub url: Option<String>,
    /// True when trail created the plan.
    pub created: bool,
    /// Configuration group of the runs.
    pub config_group: String,
    /// Runs, one per configuration.
    pub runs: Vec<PlanRunSummary>,
}

/// One run of a test plan and the results it received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanRunSummary {
    /// Configuration name, which is the Playwright project name.
    pub config: String,
    /// Run id, once found or created.
    pub run_id: Option<u64>,
    /// Run URL in the TestRail web interface.
    pub url: Option<String>,
    /// Cases the run contains for this upload.
    pub cases: usize,
    /// Results stored in the run, or to store with `--dry-run`.
    pub results_uploaded: usize,
    /// Those results per status name.
    pub by_status: BTreeMap<String, usize>,
}

/// Wall time of the phases of an upload, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTimings {
    /// Reading the report files.
    pub read_ms: u64,
    /// Reading TestRail's project, suite, cases and statuses.
    pub match_ms: u64,
    /// Building the plan.
    pub plan_ms: u64,
    /// Sending the plan's requests.
    pub execute_ms: u64,
}

impl Summary {
    /// Returns true when every result that should be uploaded was.
    pub fn is_complete(&self) -> bool {
        self.unmatched.is_empty() && self.rejected.is_empty() && self.errors.is_empty()
    }
}
