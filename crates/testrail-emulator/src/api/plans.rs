//! Test plans and plan entries.

use serde_json::{Map, Value, json};

use super::projects::{require_project, resolve_suite};
use super::runs::{NewRun, apply_run_update, check_references, check_selection, create_run};
use super::{
    ApiError, ApiRequest, ApiResult, body_bool, body_ids, body_str, body_u64, page, render,
};
use crate::state::{Plan, PlanEntry, State, now};

fn require_plan(state: &State, plan_id: u64) -> Result<&Plan, ApiError> {
    state
        .plans
        .get(&plan_id)
        .ok_or_else(|| ApiError::invalid("plan_id", "test plan"))
}

/// Checks that every configuration id exists in the project.
fn check_configs(state: &State, project_id: u64, config_ids: &[u64]) -> Result<(), ApiError> {
    for config_id in config_ids {
        let known = state.config_groups.values().any(|group| {
            group.project_id == project_id && group.configs.iter().any(|(id, _)| id == config_id)
        });
        if !known {
            return Err(ApiError::bad_request(format!(
                "Field :config_ids contains {config_id}, which is not a valid configuration."
            )));
        }
    }
    Ok(())
}

/// One run of a plan entry: include-all flag, case ids, configuration ids.
type EntryRun = (bool, Vec<u64>, Vec<u64>);

/// Validates one entry body and returns the runs it asks for: include-all
/// flag, case ids and configuration ids of each.
fn validate_entry(
    state: &State,
    project_id: u64,
    entry: &Map<String, Value>,
) -> Result<(u64, Vec<EntryRun>), ApiError> {
    let suite_id = resolve_suite(state, project_id, body_u64(entry, "suite_id")?)?;
    let include_all = body_bool(entry, "include_all")?.unwrap_or(true);
    let case_ids = body_ids(entry, "case_ids")?.unwrap_or_default();
    let config_ids = body_ids(entry, "config_ids")?.unwrap_or_default();
    check_configs(state, project_id, &config_ids)?;
    check_references(state, project_id, entry)?;

    let mut runs = Vec::new();
    match entry.get("runs") {
        Some(Value::Array(items)) if !items.is_empty() => {
            for item in items {
                let run = item.as_object().ok_or_else(|| {
                    ApiError::bad_request("Field :runs must contain JSON objects.")
                })?;
                let run_all = body_bool(run, "include_all")?.unwrap_or(include_all);
                let run_cases = body_ids(run, "case_ids")?.unwrap_or_else(|| case_ids.clone());
                let run_configs = body_ids(run, "config_ids")?.unwrap_or_default();
                check_configs(state, project_id, &run_configs)?;
                runs.push((run_all, run_cases, run_configs));
            }
        }
        _ => runs.push((include_all, case_ids, Vec::new())),
    }
    for (run_all, run_cases, _) in &runs {
        if !run_all {
            check_selection(state, suite_id, run_cases)?;
        }
    }
    Ok((suite_id, runs))
}

/// Creates the runs of a validated entry and appends the entry to the plan.
fn create_entry(
    state: &mut State,
    plan_id: u64,
    project_id: u64,
    entry: &Map<String, Value>,
    suite_id: u64,
    runs: Vec<EntryRun>,
) -> Result<usize, ApiError> {
    state.next_id.entry += 1;
    let entry_id = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        plan_id, state.next_id.entry
    );
    let suite_name = state
        .suites
        .get(&suite_id)
        .map(|suite| suite.name.clone())
        .unwrap_or_default();
    let name = body_str(entry, "name")?.unwrap_or(suite_name);
    let description = body_str(entry, "description")?;
    let include_all = body_bool(entry, "include_all")?.unwrap_or(true);
    let entry_index = state
        .plans
        .get(&plan_id)
        .map_or(1, |plan| plan.entries.len() as u64 + 1);

    let mut run_ids = Vec::new();
    for (run_all, case_ids, config_ids) in runs {
        let run_id = create_run(
            state,
            NewRun {
                project_id,
                suite_id,
                name: name.clone(),
                description: description.clone(),
                milestone_id: None,
                assignedto_id: body_u64(entry, "assignedto_id")?,
                include_all: run_all,
                case_ids,
                refs: body_str(entry, "refs")?,
                plan: Some((plan_id, entry_id.clone(), entry_index)),
                config_ids,
            },
        );
        run_ids.push(run_id);
    }
    let plan = state
        .plans
        .get_mut(&plan_id)
        .ok_or_else(|| ApiError::invalid("plan_id", "test plan"))?;
    for run_id in &run_ids {
        if let Some(run) = state.runs.get_mut(run_id) {
            run.milestone_id = plan.milestone_id;
        }
    }
    plan.entries.push(PlanEntry {
        id: entry_id,
        suite_id,
        name,
        description,
        include_all,
        runs: run_ids,
    });
    Ok(plan.entries.len() - 1)
}

pub(crate) fn get_plan(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "plan_id", "test plan")?;
    let plan = require_plan(state, id)?;
    Ok(render::plan(state, &request.root, plan, true))
}

pub(crate) fn get_plans(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let completed = request.filter_bool("is_completed")?;
    let created_after = request.filter_u64("created_after")?;
    let created_before = request.filter_u64("created_before")?;
    let plans = state
        .plans
        .values()
        .rev()
        .filter(|plan| plan.project_id == project_id)
        .filter(|plan| completed.is_none_or(|flag| plan.is_completed == flag))
        .filter(|plan| created_after.is_none_or(|time| plan.created_on > time as i64))
        .filter(|plan| created_before.is_none_or(|time| plan.created_on < time as i64))
        .map(|plan| render::plan(state, &request.root, plan, false))
        .collect();
    page(request, "plans", plans)
}

pub(crate) fn add_plan(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let body = request.body_object()?;
    let name = body_str(&body, "name")?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ApiError::required("name"))?;
    check_references(state, project_id, &body)?;

    let entries: Vec<Map<String, Value>> = match body.get("entries") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_object().cloned().ok_or_else(|| {
                    ApiError::bad_request("Field :entries must contain JSON objects.")
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::bad_request("Field :entries must be a list.")),
    };
    let mut validated = Vec::new();
    for entry in &entries {
        validated.push(validate_entry(state, project_id, entry)?);
    }

    state.next_id.plan += 1;
    let id = state.next_id.plan;
    state.plans.insert(
        id,
        Plan {
            id,
            project_id,
            name,
            description: body_str(&body, "description")?,
            milestone_id: body_u64(&body, "milestone_id")?,
            assignedto_id: body_u64(&body, "assignedto_id")?,
            is_completed: false,
            completed_on: None,
            created_on: now(),
            entries: Vec::new(),
        },
    );
    for (entry, (suite_id, runs)) in entries.iter().zip(validated) {
        create_entry(state, id, project_id, entry, suite_id, runs)?;
    }
    Ok(render::plan(state, &request.root, &state.plans[&id], true))
}

pub(crate) fn add_plan_entry(state: &mut State, request: &ApiRequest) -> ApiResult {
    let plan_id = request.id(0, "plan_id", "test plan")?;
    let plan = require_plan(state, plan_id)?;
    if plan.is_completed {
        return Err(ApiError::bad_request(format!(
            "Test plan {plan_id} is closed and can no longer be changed."
        )));
    }
    let project_id = plan.project_id;
    let body = request.body_object()?;
    if body.get("suite_id").is_none_or(Value::is_null)
        && state.projects[&project_id].suite_mode == 3
    {
        return Err(ApiError::required("suite_id"));
    }
    let (suite_id, runs) = validate_entry(state, project_id, &body)?;
    let index = create_entry(state, plan_id, project_id, &body, suite_id, runs)?;
    let entry = &state.plans[&plan_id].entries[index];
    Ok(render::plan_entry(state, &request.root, entry))
}

pub(crate) fn update_plan_entry(state: &mut State, request: &ApiRequest) -> ApiResult {
    let plan_id = request.id(0, "plan_id", "test plan")?;
    let plan = require_plan(state, plan_id)?;
    if plan.is_completed {
        return Err(ApiError::bad_request(format!(
            "Test plan {plan_id} is closed and can no longer be changed."
        )));
    }
    // Entry ids are strings, so they arrive as the raw second path segment.
    let entry_id = request
        .segments
        .get(1)
        .cloned()
        .ok_or_else(|| ApiError::invalid("entry_id", "test plan entry"))?;
    let index = plan
        .entries
        .iter()
        .position(|entry| entry.id == entry_id)
        .ok_or_else(|| ApiError::invalid("entry_id", "test plan entry"))?;
    let run_ids = plan.entries[index].runs.clone();
    let body = request.body_object()?;

    // Validate against a copy so that a bad case id changes no run.
    let mut trial = state.clone();
    for run_id in &run_ids {
        apply_run_update(&mut trial, *run_id, &body)?;
    }
    *state = trial;

    let name = body_str(&body, "name")?;
    let description = body_str(&body, "description")?;
    let include_all = body_bool(&body, "include_all")?;
    if let Some(entry) = state
        .plans
        .get_mut(&plan_id)
        .and_then(|plan| plan.entries.get_mut(index))
    {
        if let Some(name) = name {
            entry.name = name;
        }
        if body.contains_key("description") {
            entry.description = description;
        }
        if let Some(include_all) = include_all {
            entry.include_all = include_all;
        }
    }
    let entry = &state.plans[&plan_id].entries[index];
    Ok(render::plan_entry(state, &request.root, entry))
}

pub(crate) fn close_plan(state: &mut State, request: &ApiRequest) -> ApiResult {
    let plan_id = request.id(0, "plan_id", "test plan")?;
    let plan = require_plan(state, plan_id)?;
    if plan.is_completed {
        return Err(ApiError::bad_request(format!(
            "Test plan {plan_id} is already closed."
        )));
    }
    let run_ids: Vec<u64> = plan
        .entries
        .iter()
        .flat_map(|entry| entry.runs.iter().copied())
        .collect();
    let closed_on = now();
    for run_id in run_ids {
        if let Some(run) = state.runs.get_mut(&run_id) {
            run.is_completed = true;
            run.completed_on = Some(closed_on);
        }
    }
    if let Some(plan) = state.plans.get_mut(&plan_id) {
        plan.is_completed = true;
        plan.completed_on = Some(closed_on);
    }
    Ok(render::plan(
        state,
        &request.root,
        &state.plans[&plan_id],
        true,
    ))
}

pub(crate) fn delete_plan(state: &mut State, request: &ApiRequest) -> ApiResult {
    let plan_id = request.id(0, "plan_id", "test plan")?;
    let plan = require_plan(state, plan_id)?;
    let run_ids: Vec<u64> = plan
        .entries
        .iter()
        .flat_map(|entry| entry.runs.iter().copied())
        .collect();
    for run_id in run_ids {
        state.delete_run(run_id);
    }
    state.plans.remove(&plan_id);
    Ok(json!({}))
}
