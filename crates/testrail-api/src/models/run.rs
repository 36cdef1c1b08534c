use serde::{Deserialize, Serialize};

use super::Extra;
use super::case::push_param;
use super::lenient;

/// A test run (`get_run`, `get_runs`, `add_run`, `update_run`, `close_run`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Run {
    /// Run id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Suite the run tests.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub suite_id: Option<u64>,
    /// Run name.
    #[serde(default)]
    pub name: String,
    /// Run description.
    #[serde(default)]
    pub description: Option<String>,
    /// Milestone the run belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub milestone_id: Option<u64>,
    /// User the whole run is assigned to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub assignedto_id: Option<u64>,
    /// True when the run contains every case of its suite.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub include_all: bool,
    /// True when the run is closed.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_completed: bool,
    /// Closing time as a UNIX timestamp.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub completed_on: Option<i64>,
    /// Tests with status Passed.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub passed_count: u64,
    /// Tests with status Failed.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub failed_count: u64,
    /// Tests with status Untested.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub untested_count: u64,
    /// Tests with status Blocked.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub blocked_count: u64,
    /// Tests with status Retest.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub retest_count: u64,
    /// Project the run belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub project_id: Option<u64>,
    /// Plan the run belongs to, if any.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub plan_id: Option<u64>,
    /// Configurations of the run inside a plan.
    #[serde(default, deserialize_with = "lenient::u64_list")]
    pub config_ids: Vec<u64>,
    /// Link to the run in TestRail's web interface.
    #[serde(default)]
    pub url: Option<String>,
    /// Creation time as a UNIX timestamp.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_on: Option<i64>,
    /// Comma-separated references.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub refs: Option<String>,
    /// Fields not named above, such as `custom_status1_count`.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Body of `add_run`; `None` fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    /// Suite to test; required for projects with several suites.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite_id: Option<u64>,
    /// Run name (required).
    pub name: String,
    /// Run description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Milestone to link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestone_id: Option<u64>,
    /// User to assign the run to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignedto_id: Option<u64>,
    /// True to include every case of the suite, false to use `case_ids`.
    pub include_all: bool,
    /// Cases of the run when `include_all` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_ids: Option<Vec<u64>>,
    /// Comma-separated references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refs: Option<String>,
}

impl NewRun {
    /// Creates a run body with a name and an explicit, empty case list.
    pub fn new(name: impl Into<String>) -> Self {
        NewRun {
            name: name.into(),
            include_all: false,
            case_ids: Some(Vec::new()),
            ..Default::default()
        }
    }

    /// Sets the suite.
    pub fn suite(mut self, suite_id: u64) -> Self {
        self.suite_id = Some(suite_id);
        self
    }

    /// Sets the cases and clears `include_all`.
    pub fn cases(mut self, case_ids: Vec<u64>) -> Self {
        self.include_all = false;
        self.case_ids = Some(case_ids);
        self
    }
}

/// Body of `update_run`; only `Some` fields are sent.
///
/// Sending `case_ids` replaces the run's whole case list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunUpdate {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New milestone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestone_id: Option<u64>,
    /// New assignee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignedto_id: Option<u64>,
    /// Whether the run includes every case of its suite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_all: Option<bool>,
    /// Complete new case list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_ids: Option<Vec<u64>>,
    /// New references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refs: Option<String>,
}

/// Filters of `get_runs`; `None` fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only closed (`true`) or only open (`false`) runs.
    pub is_completed: Option<bool>,
    /// Only runs of this suite.
    pub suite_id: Option<u64>,
    /// Only runs created at or after this UNIX timestamp.
    pub created_after: Option<i64>,
    /// Only runs created at or before this UNIX timestamp.
    pub created_before: Option<i64>,
    /// Only runs of this milestone.
    pub milestone_id: Option<u64>,
    /// Only runs that reference this id.
    pub refs_filter: Option<String>,
    /// Page size; TestRail caps it at 250.
    pub limit: Option<u32>,
}

impl RunFilter {
    /// Returns the `&key=value` query suffix.
    pub(crate) fn to_query(&self) -> String {
        let mut query = String::new();
        push_param(&mut query, "is_completed", self.is_completed.map(u8::from));
        push_param(&mut query, "suite_id", self.suite_id);
        push_param(&mut query, "created_after", self.created_after);
        push_param(&mut query, "created_before", self.created_before);
        push_param(&mut query, "milestone_id", self.milestone_id);
        push_param(&mut query, "limit", self.limit);
        super::case::push_text_param(&mut query, "refs_filter", self.refs_filter.as_deref());
        query
    }
}

/// A test plan (`get_plan`, `get_plans`, `add_plan`, `close_plan`).
///
/// `get_plans` leaves out `entries`, so it is empty there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// Plan id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Plan name.
    #[serde(default)]
    pub name: String,
    /// Plan description.
    #[serde(default)]
    pub description: Option<String>,
    /// Milestone the plan belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub milestone_id: Option<u64>,
    /// Project the plan belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub project_id: Option<u64>,
    /// True when the plan is closed.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_completed: bool,
    /// Link to the plan in TestRail's web interface.
    #[serde(default)]
    pub url: Option<String>,
    /// Creation time as a UNIX timestamp.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_on: Option<i64>,
    /// Entries (suites with their runs) of the plan.
    #[serde(default, deserialize_with = "lenient::null_as_empty")]
    pub entries: Vec<PlanEntry>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An entry of a plan: one suite and its runs, one per configuration
/// (`add_plan_entry`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlanEntry {
    /// Entry id; TestRail uses a UUID string here, not a number.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// Suite of the entry.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub suite_id: Option<u64>,
    /// Entry name.
    #[serde(default)]
    pub name: String,
    /// Runs of the entry.
    #[serde(default, deserialize_with = "lenient::null_as_empty")]
    pub runs: Vec<Run>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A test: one case inside one run (`get_tests`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Test {
    /// Test id (differs from the case id).
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Case the test comes from.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub case_id: u64,
    /// Run the test belongs to.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub run_id: u64,
    /// Current status id.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub status_id: Option<u64>,
    /// Title, copied from the case.
    #[serde(default)]
    pub title: String,
    /// User the test is assigned to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub assignedto_id: Option<u64>,
    /// Fields not named above, custom case fields included.
    #[serde(flatten)]
    pub extra: Extra,
}
