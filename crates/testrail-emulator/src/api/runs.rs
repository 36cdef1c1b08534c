//! Test runs and their tests.

use serde_json::{Map, Value, json};

use super::projects::resolve_suite;
use super::{
    ApiError, ApiRequest, ApiResult, body_bool, body_ids, body_str, body_u64, page, render,
};
use crate::state::{Run, State, now};

pub(crate) fn require_run(state: &State, run_id: u64) -> Result<&Run, ApiError> {
    state
        .runs
        .get(&run_id)
        .ok_or_else(|| ApiError::invalid("run_id", "test run"))
}

/// Checks that the case ids of a run selection exist and are in the suite.
pub(crate) fn check_selection(
    state: &State,
    suite_id: u64,
    case_ids: &[u64],
) -> Result<(), ApiError> {
    for case_id in case_ids {
        match state.cases.get(case_id) {
            None => {
                return Err(ApiError::bad_request(format!(
                    "Field :case_ids contains {case_id}, which is not a valid test case."
                )));
            }
            Some(case) if case.suite_id != suite_id => {
                return Err(ApiError::bad_request(format!(
                    "Field :case_ids contains case {case_id}, which is not in suite {suite_id} of the run."
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks the optional milestone and assignee of a run or plan body.
pub(crate) fn check_references(
    state: &State,
    project_id: u64,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(milestone_id) = body_u64(body, "milestone_id")? {
        match state.milestones.get(&milestone_id) {
            Some(milestone) if milestone.project_id == project_id => {}
            _ => return Err(ApiError::invalid("milestone_id", "milestone")),
        }
    }
    if let Some(user_id) = body_u64(body, "assignedto_id")?
        && !state.users.contains_key(&user_id)
    {
        return Err(ApiError::invalid("assignedto_id", "user"));
    }
    Ok(())
}

/// Fields of a new run, shared by `add_run` and plan entries.
pub(crate) struct NewRun {
    pub project_id: u64,
    pub suite_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub milestone_id: Option<u64>,
    pub assignedto_id: Option<u64>,
    pub include_all: bool,
    pub case_ids: Vec<u64>,
    pub refs: Option<String>,
    pub plan: Option<(u64, String, u64)>,
    pub config_ids: Vec<u64>,
}

/// Creates a run with its tests and returns its id.
pub(crate) fn create_run(state: &mut State, new: NewRun) -> u64 {
    state.next_id.run += 1;
    let id = state.next_id.run;
    let created_on = now();
    let (plan_id, entry_id, entry_index) = match new.plan {
        Some((plan_id, entry_id, entry_index)) => {
            (Some(plan_id), Some(entry_id), Some(entry_index))
        }
        None => (None, None, None),
    };
    state.runs.insert(
        id,
        Run {
            id,
            project_id: new.project_id,
            suite_id: new.suite_id,
            name: new.name,
            description: new.description,
            milestone_id: new.milestone_id,
            assignedto_id: new.assignedto_id,
            include_all: new.include_all,
            is_completed: false,
            completed_on: None,
            created_on,
            updated_on: created_on,
            refs: new.refs,
            plan_id,
            entry_id,
            entry_index,
            config_ids: new.config_ids,
            tests: Vec::new(),
        },
    );
    let case_ids = if new.include_all {
        state.suite_case_ids(new.suite_id)
    } else {
        new.case_ids
    };
    state.replace_run_cases(id, &case_ids);
    id
}

pub(crate) fn get_run(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "run_id", "test run")?;
    let run = require_run(state, id)?;
    Ok(render::run(state, &request.root, run))
}

pub(crate) fn get_runs(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    super::projects::require_project(state, project_id)?;
    let completed = request.filter_bool("is_completed")?;
    let created_after = request.filter_u64("created_after")?;
    let created_before = request.filter_u64("created_before")?;
    let suite_ids = request.filter_list("suite_id")?;
    let milestone_ids = request.filter_list("milestone_id")?;

    // TestRail lists only runs outside of test plans here, newest first.
    let runs = state
        .runs
        .values()
        .rev()
        .filter(|run| run.project_id == project_id && run.plan_id.is_none())
        .filter(|run| completed.is_none_or(|flag| run.is_completed == flag))
        .filter(|run| created_after.is_none_or(|time| run.created_on > time as i64))
        .filter(|run| created_before.is_none_or(|time| run.created_on < time as i64))
        .filter(|run| {
            suite_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&run.suite_id))
        })
        .filter(|run| {
            milestone_ids
                .as_ref()
                .is_none_or(|ids| run.milestone_id.is_some_and(|id| ids.contains(&id)))
        })
        .map(|run| render::run(state, &request.root, run))
        .collect();
    page(request, "runs", runs)
}

pub(crate) fn add_run(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    super::projects::require_project(state, project_id)?;
    let body = request.body_object()?;
    let suite_id = resolve_suite(state, project_id, body_u64(&body, "suite_id")?)?;
    check_references(state, project_id, &body)?;
    let include_all = body_bool(&body, "include_all")?.unwrap_or(true);
    let case_ids = body_ids(&body, "case_ids")?.unwrap_or_default();
    if !include_all {
        check_selection(state, suite_id, &case_ids)?;
    }
    let name = body_str(&body, "name")?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ApiError::required("name"))?;

    let id = create_run(
        state,
        NewRun {
            project_id,
            suite_id,
            name,
            description: body_str(&body, "description")?,
            milestone_id: body_u64(&body, "milestone_id")?,
            assignedto_id: body_u64(&body, "assignedto_id")?,
            include_all,
            case_ids,
            refs: body_str(&body, "refs")?,
            plan: None,
            config_ids: Vec::new(),
        },
    );
    Ok(render::run(state, &request.root, &state.runs[&id]))
}

/// Applies name, description, milestone, refs and the case selection to a run.
pub(crate) fn apply_run_update(
    state: &mut State,
    run_id: u64,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let run = require_run(state, run_id)?;
    if run.is_completed {
        return Err(ApiError::bad_request(format!(
            "Test run {run_id} is closed and can no longer be changed."
        )));
    }
    let (suite_id, project_id) = (run.suite_id, run.project_id);
    check_references(state, project_id, body)?;
    let include_all = body_bool(body, "include_all")?;
    let case_ids = body_ids(body, "case_ids")?;
    let effective_include_all = include_all.unwrap_or(run.include_all);
    if let (false, Some(case_ids)) = (effective_include_all, &case_ids) {
        check_selection(state, suite_id, case_ids)?;
    }
    let name = body_str(body, "name")?;
    let description = body_str(body, "description")?;
    let milestone_id = body_u64(body, "milestone_id")?;
    let refs = body_str(body, "refs")?;

    let run = state
        .runs
        .get_mut(&run_id)
        .ok_or_else(|| ApiError::invalid("run_id", "test run"))?;
    if let Some(name) = name {
        run.name = name;
    }
    if body.contains_key("description") {
        run.description = description;
    }
    if body.contains_key("milestone_id") {
        run.milestone_id = milestone_id;
    }
    if body.contains_key("refs") {
        run.refs = refs;
    }
    run.include_all = effective_include_all;
    run.updated_on = now();

    if effective_include_all {
        if include_all == Some(true) {
            let all = state.suite_case_ids(suite_id);
            state.replace_run_cases(run_id, &all);
        }
    } else if let Some(case_ids) = case_ids {
        state.replace_run_cases(run_id, &case_ids);
    }
    Ok(())
}

pub(crate) fn update_run(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "run_id", "test run")?;
    if require_run(state, id)?.plan_id.is_some() {
        return Err(ApiError::bad_request(format!(
            "Test run {id} is part of a test plan; use update_plan_entry instead."
        )));
    }
    let body = request.body_object()?;
    apply_run_update(state, id, &body)?;
    Ok(render::run(state, &request.root, &state.runs[&id]))
}

pub(crate) fn close_run(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "run_id", "test run")?;
    let run = state
        .runs
        .get_mut(&id)
        .ok_or_else(|| ApiError::invalid("run_id", "test run"))?;
    if run.is_completed {
        return Err(ApiError::bad_request(format!(
            "Test run {id} is already closed."
        )));
    }
    run.is_completed = true;
    run.completed_on = Some(now());
    Ok(render::run(state, &request.root, &state.runs[&id]))
}

pub(crate) fn delete_run(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "run_id", "test run")?;
    require_run(state, id)?;
    state.delete_run(id);
    for plan in state.plans.values_mut() {
        for entry in &mut plan.entries {
            entry.runs.retain(|run_id| *run_id != id);
        }
    }
    Ok(json!({}))
}

pub(crate) fn get_test(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "test_id", "test")?;
    let test = state
        .tests
        .get(&id)
        .ok_or_else(|| ApiError::invalid("test_id", "test"))?;
    Ok(render::test(state, test))
}

pub(crate) fn get_tests(state: &mut State, request: &ApiRequest) -> ApiResult {
    let run_id = request.id(0, "run_id", "test run")?;
    let run = require_run(state, run_id)?;
    let status_ids = request.filter_list("status_id")?;
    let tests = run
        .tests
        .iter()
        .filter_map(|test_id| state.tests.get(test_id))
        .filter(|test| {
            status_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&test.status_id))
        })
        .collect::<Vec<_>>();
    super::page_of(request, "tests", tests, |test| render::test(state, test))
}
