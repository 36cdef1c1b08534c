//! Fields of a run that trail creates: milestone, refs, assignee and
//! whether it includes every case.

use testrail_api::models::NewRun;

use crate::plan::{PlannedRun, SyncPlan};

/// Copies the plan's run fields into the body of `add_run`. Returns true
/// when the plan requests a new run even if one of the same name is open.
pub(super) fn apply(plan: &SyncPlan, body: &mut NewRun) -> bool {
    let fields = &plan.run_fields;
    body.milestone_id = fields.milestone_id;
    body.refs = fields.refs.clone();
    body.assignedto_id = fields.assignedto_id;
    if fields.include_all {
        body.include_all = true;
        body.case_ids = None;
    }
    matches!(plan.run, PlannedRun::ByName { reset: true, .. })
}
