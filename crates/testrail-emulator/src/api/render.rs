//! JSON shapes of TestRail entities as the API returns them.

use serde_json::{Value, json};

use crate::state::{
    Case, Milestone, Plan, Project, Run, Section, State, Suite, Test, TestResult, User,
};

pub(crate) fn user(user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "is_active": user.is_active,
        "is_admin": user.id == 1,
        "role_id": 1,
        "role": "Lead",
        "email_notifications": false,
        "group_ids": [],
        "mfa_required": false,
    })
}

pub(crate) fn project(root: &str, project: &Project) -> Value {
    json!({
        "id": project.id,
        "name": project.name,
        "announcement": project.announcement,
        "show_announcement": project.announcement.is_some(),
        "is_completed": project.is_completed,
        "completed_on": project.completed_on,
        "suite_mode": project.suite_mode,
        "default_role_id": null,
        "url": format!("{root}index.php?/projects/overview/{}", project.id),
        "users": [],
        "groups": [],
    })
}

pub(crate) fn suite(root: &str, suite: &Suite) -> Value {
    json!({
        "id": suite.id,
        "name": suite.name,
        "description": suite.description,
        "project_id": suite.project_id,
        "is_master": suite.is_master,
        "is_baseline": false,
        "is_completed": suite.is_completed,
        "completed_on": suite.completed_on,
        "url": format!("{root}index.php?/suites/view/{}", suite.id),
    })
}

pub(crate) fn section(section: &Section) -> Value {
    json!({
        "id": section.id,
        "suite_id": section.suite_id,
        "name": section.name,
        "description": section.description,
        "parent_id": section.parent_id,
        "display_order": section.display_order,
        "depth": section.depth,
    })
}

/// Renders a case with every active custom case field, `null` when unset.
pub(crate) fn case(state: &State, case: &Case) -> Value {
    let mut object = json!({
        "id": case.id,
        "title": case.title,
        "section_id": case.section_id,
        "suite_id": case.suite_id,
        "template_id": null,
        "type_id": null,
        "priority_id": null,
        "milestone_id": null,
        "refs": null,
        "estimate": null,
        "estimate_forecast": null,
        "created_by": 1,
        "created_on": case.created_on,
        "updated_by": 1,
        "updated_on": case.updated_on,
        "display_order": case.id,
        "is_deleted": 0,
    });
    for field in &state.case_fields {
        if let Some(name) = field["system_name"].as_str() {
            object[name] = Value::Null;
        }
    }
    for (key, value) in &case.fields {
        object[key.as_str()] = value.clone();
    }
    object
}

/// Counts the tests of a run per status, under TestRail's counter names.
fn add_counters(state: &State, test_ids: &[u64], object: &mut Value) {
    let mut counts = [0u64; 13];
    for test in test_ids.iter().filter_map(|id| state.tests.get(id)) {
        if let Some(slot) = counts.get_mut(test.status_id as usize) {
            *slot += 1;
        }
    }
    object["passed_count"] = json!(counts[1]);
    object["blocked_count"] = json!(counts[2]);
    object["untested_count"] = json!(counts[3]);
    object["retest_count"] = json!(counts[4]);
    object["failed_count"] = json!(counts[5]);
    for custom in 1..=7 {
        object[format!("custom_status{custom}_count")] = json!(counts[custom + 5]);
    }
}

pub(crate) fn run(state: &State, root: &str, run: &Run) -> Value {
    let config = run
        .config_ids
        .iter()
        .filter_map(|config_id| {
            state.config_groups.values().find_map(|group| {
                group
                    .configs
                    .iter()
                    .find(|(id, _)| id == config_id)
                    .map(|(_, name)| name.clone())
            })
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut object = json!({
        "id": run.id,
        "suite_id": run.suite_id,
        "name": run.name,
        "description": run.description,
        "milestone_id": run.milestone_id,
        "assignedto_id": run.assignedto_id,
        "include_all": run.include_all,
        "is_completed": run.is_completed,
        "completed_on": run.completed_on,
        "config": if config.is_empty() { Value::Null } else { Value::from(config) },
        "config_ids": run.config_ids,
        "project_id": run.project_id,
        "plan_id": run.plan_id,
        "created_on": run.created_on,
        "created_by": 1,
        "updated_on": run.updated_on,
        "refs": run.refs,
        "dataset_id": null,
        "url": format!("{root}index.php?/runs/view/{}", run.id),
    });
    if let Some(entry_id) = &run.entry_id {
        object["entry_id"] = json!(entry_id);
        object["entry_index"] = json!(run.entry_index);
    }
    add_counters(state, &run.tests, &mut object);
    object
}

pub(crate) fn test(state: &State, test: &Test) -> Value {
    let mut object = json!({
        "id": test.id,
        "case_id": test.case_id,
        "run_id": test.run_id,
        "status_id": test.status_id,
        "assignedto_id": test.assignedto_id,
        "title": null,
    });
    if let Some(case) = state.cases.get(&test.case_id) {
        let rendered = case_fields_for_test(state, case);
        if let Value::Object(fields) = rendered {
            for (key, value) in fields {
                object[key] = value;
            }
        }
    }
    object
}

/// Case fields that a test copies from its case.
fn case_fields_for_test(state: &State, case: &Case) -> Value {
    let full = self::case(state, case);
    let mut copied = json!({});
    if let Value::Object(fields) = full {
        for (key, value) in fields {
            let keep = key.starts_with("custom_")
                || matches!(
                    key.as_str(),
                    "title"
                        | "template_id"
                        | "type_id"
                        | "priority_id"
                        | "estimate"
                        | "estimate_forecast"
                        | "refs"
                        | "milestone_id"
                );
            if keep {
                copied[key] = value;
            }
        }
    }
    copied
}

pub(crate) fn result(result: &TestResult) -> Value {
    let mut object = json!({
        "id": result.id,
        "test_id": result.test_id,
        "status_id": result.status_id,
        "created_on": result.created_on,
        "created_by": 1,
        "assignedto_id": result.assignedto_id,
        "comment": null,
        "version": null,
        "elapsed": null,
        "defects": null,
        "custom_step_results": [],
        "attachment_ids": result.attachment_ids,
    });
    for (key, value) in &result.fields {
        object[key.as_str()] = value.clone();
    }
    object
}

pub(crate) fn milestone(root: &str, milestone: &Milestone) -> Value {
    json!({
        "id": milestone.id,
        "project_id": milestone.project_id,
        "name": milestone.name,
        "description": milestone.description,
        "parent_id": milestone.parent_id,
        "due_on": milestone.due_on,
        "start_on": milestone.start_on,
        "started_on": milestone.start_on,
        "refs": milestone.refs,
        "is_completed": milestone.is_completed,
        "is_started": milestone.start_on.is_some(),
        "completed_on": milestone.completed_on,
        "milestones": [],
        "url": format!("{root}index.php?/milestones/view/{}", milestone.id),
    })
}

/// Renders a plan; `with_entries` adds the entries with their runs, as
/// `get_plan` does and `get_plans` does not.
pub(crate) fn plan(state: &State, root: &str, plan: &Plan, with_entries: bool) -> Value {
    let all_tests: Vec<u64> = plan
        .entries
        .iter()
        .flat_map(|entry| entry.runs.iter())
        .filter_map(|run_id| state.runs.get(run_id))
        .flat_map(|run| run.tests.iter().copied())
        .collect();
    let mut object = json!({
        "id": plan.id,
        "name": plan.name,
        "description": plan.description,
        "milestone_id": plan.milestone_id,
        "assignedto_id": plan.assignedto_id,
        "is_completed": plan.is_completed,
        "completed_on": plan.completed_on,
        "project_id": plan.project_id,
        "created_on": plan.created_on,
        "created_by": 1,
        "url": format!("{root}index.php?/plans/view/{}", plan.id),
    });
    add_counters(state, &all_tests, &mut object);
    if with_entries {
        let entries: Vec<Value> = plan
            .entries
            .iter()
            .map(|entry| plan_entry(state, root, entry))
            .collect();
        object["entries"] = Value::Array(entries);
    }
    object
}

pub(crate) fn plan_entry(state: &State, root: &str, entry: &crate::state::PlanEntry) -> Value {
    let runs: Vec<Value> = entry
        .runs
        .iter()
        .filter_map(|run_id| state.runs.get(run_id))
        .map(|entry_run| run(state, root, entry_run))
        .collect();
    json!({
        "id": entry.id,
        "suite_id": entry.suite_id,
        "name": entry.name,
        "description": entry.description,
        "include_all": entry.include_all,
        "runs": runs,
    })
}
