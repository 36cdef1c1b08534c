//! Test cases.

use serde_json::{Map, Value, json};

use super::projects::resolve_suite;
use super::results::parse_timespan;
use super::{
    ApiError, ApiRequest, ApiResult, body_ids, body_str, body_u64, is_defined_field, page_of,
    render,
};
use crate::state::{Case, State, now};

/// Maximum title length TestRail accepts for a case.
const MAX_TITLE: usize = 250;

/// System fields a case stores besides title and section.
const CASE_FIELDS: &[&str] = &[
    "template_id",
    "type_id",
    "priority_id",
    "estimate",
    "milestone_id",
    "refs",
];

fn require_case(state: &State, case_id: u64) -> Result<&Case, ApiError> {
    state
        .cases
        .get(&case_id)
        .ok_or_else(|| ApiError::invalid("case_id", "test case"))
}

/// Checks a title: present, not blank and not longer than TestRail allows.
fn check_title(title: Option<String>) -> Result<String, ApiError> {
    let title = title
        .filter(|title| !title.trim().is_empty())
        .ok_or_else(|| ApiError::required("title"))?;
    if title.chars().count() > MAX_TITLE {
        return Err(ApiError::bad_request(format!(
            "Field :title is too long ({} characters, {MAX_TITLE} at most).",
            title.chars().count()
        )));
    }
    Ok(title)
}

/// Picks the system and custom fields of a case out of a request body and
/// checks the ids they refer to.
fn case_fields(state: &State, body: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let mut fields = Map::new();
    for (key, value) in body {
        if CASE_FIELDS.contains(&key.as_str()) || is_defined_field(&state.case_fields, key) {
            fields.insert(key.clone(), value.clone());
        }
    }

    let lists = [
        ("template_id", &state.templates, "template"),
        ("type_id", &state.case_types, "case type"),
        ("priority_id", &state.priorities, "priority"),
    ];
    for (field, list, what) in lists {
        if let Some(id) = body_u64(body, field)? {
            if !list.iter().any(|entry| entry["id"].as_u64() == Some(id)) {
                return Err(ApiError::invalid(field, what));
            }
            fields.insert(field.into(), json!(id));
        }
    }
    if let Some(milestone_id) = body_u64(body, "milestone_id")?
        && !state.milestones.contains_key(&milestone_id)
    {
        return Err(ApiError::invalid("milestone_id", "milestone"));
    }
    if let Some(estimate) = body_str(body, "estimate")?
        && parse_timespan(&estimate).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "Field :estimate is not a valid timespan: `{estimate}` (use for example 30s or 1m 5s)."
        )));
    }
    Ok(fields)
}

pub(crate) fn get_case(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "case_id", "test case")?;
    let case = require_case(state, id)?;
    Ok(render::case(state, case))
}

pub(crate) fn get_cases(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    let suite_id = resolve_suite(state, project_id, request.filter_u64("suite_id")?)?;
    let section_id = request.filter_u64("section_id")?;
    let created_after = request.filter_u64("created_after")?;
    let created_before = request.filter_u64("created_before")?;
    let updated_after = request.filter_u64("updated_after")?;
    let updated_before = request.filter_u64("updated_before")?;
    let type_ids = request.filter_list("type_id")?;
    let priority_ids = request.filter_list("priority_id")?;

    let id_matches = |ids: &Option<Vec<u64>>, case: &Case, key: &str| {
        ids.as_ref().is_none_or(|ids| {
            case.fields
                .get(key)
                .and_then(Value::as_u64)
                .is_some_and(|id| ids.contains(&id))
        })
    };
    let cases = state
        .cases
        .values()
        .filter(|case| case.suite_id == suite_id)
        .filter(|case| section_id.is_none_or(|id| case.section_id == id))
        .filter(|case| created_after.is_none_or(|time| case.created_on > time as i64))
        .filter(|case| created_before.is_none_or(|time| case.created_on < time as i64))
        .filter(|case| updated_after.is_none_or(|time| case.updated_on > time as i64))
        .filter(|case| updated_before.is_none_or(|time| case.updated_on < time as i64))
        .filter(|case| id_matches(&type_ids, case, "type_id"))
        .filter(|case| id_matches(&priority_ids, case, "priority_id"))
        .collect::<Vec<&Case>>();
    page_of(request, "cases", cases, |case| render::case(state, case))
}

pub(crate) fn add_case(state: &mut State, request: &ApiRequest) -> ApiResult {
    let section_id = request.id(0, "section_id", "section")?;
    let suite_id = state
        .sections
        .get(&section_id)
        .map(|section| section.suite_id)
        .ok_or_else(|| ApiError::invalid("section_id", "section"))?;
    let body = request.body_object()?;
    let title = check_title(body_str(&body, "title")?)?;
    let mut fields = case_fields(state, &body)?;
    state.fill_case_defaults(&mut fields);

    state.next_id.case += 1;
    let id = state.next_id.case;
    let created_on = now();
    let case = Case {
        id,
        suite_id,
        section_id,
        title,
        created_on,
        updated_on: created_on,
        fields,
    };
    state.cases.insert(id, case);
    state.add_case_to_include_all_runs(suite_id, id);
    Ok(render::case(state, &state.cases[&id]))
}

/// Applies the fields of `body` to one case; the section may change within
/// the same suite.
fn apply_case_update(
    state: &mut State,
    case_id: u64,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let suite_id = require_case(state, case_id)?.suite_id;
    let title = match body_str(body, "title")? {
        Some(title) => Some(check_title(Some(title))?),
        None => None,
    };
    let section_id = match body_u64(body, "section_id")? {
        None => None,
        Some(section_id) => {
            let section = state
                .sections
                .get(&section_id)
                .ok_or_else(|| ApiError::invalid("section_id", "section"))?;
            if section.suite_id != suite_id {
                return Err(ApiError::bad_request(format!(
                    "Field :section_id refers to section {section_id}, which is not in suite {suite_id} of case {case_id}."
                )));
            }
            Some(section_id)
        }
    };
    let fields = case_fields(state, body)?;

    let Some(case) = state.cases.get_mut(&case_id) else {
        return Err(ApiError::invalid("case_id", "test case"));
    };
    if let Some(title) = title {
        case.title = title;
    }
    if let Some(section_id) = section_id {
        case.section_id = section_id;
    }
    case.fields.extend(fields);
    case.updated_on = now();
    Ok(())
}

pub(crate) fn update_case(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "case_id", "test case")?;
    let body = request.body_object()?;
    apply_case_update(state, id, &body)?;
    Ok(render::case(state, &state.cases[&id]))
}

/// Checks that every case id exists and belongs to the suite.
fn check_cases_in_suite(state: &State, suite_id: u64, case_ids: &[u64]) -> Result<(), ApiError> {
    for case_id in case_ids {
        match state.cases.get(case_id) {
            None => {
                return Err(ApiError::bad_request(format!(
                    "Field :case_ids contains {case_id}, which is not a valid test case."
                )));
            }
            Some(case) if case.suite_id != suite_id => {
                return Err(ApiError::bad_request(format!(
                    "Field :case_ids contains {case_id}, which is not in suite {suite_id}."
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub(crate) fn update_cases(state: &mut State, request: &ApiRequest) -> ApiResult {
    let suite_id = request.id(0, "suite_id", "test suite")?;
    if !state.suites.contains_key(&suite_id) {
        return Err(ApiError::invalid("suite_id", "test suite"));
    }
    let body = request.body_object()?;
    let case_ids = body_ids(&body, "case_ids")?.ok_or_else(|| ApiError::required("case_ids"))?;
    check_cases_in_suite(state, suite_id, &case_ids)?;

    // Validate on a copy so that one bad case leaves every case unchanged.
    let mut fields = body.clone();
    fields.remove("case_ids");
    let mut trial = state.clone();
    for case_id in &case_ids {
        apply_case_update(&mut trial, *case_id, &fields)?;
    }
    *state = trial;

    let updated = case_ids
        .iter()
        .map(|case_id| render::case(state, &state.cases[case_id]))
        .collect();
    Ok(Value::Array(updated))
}

pub(crate) fn delete_case(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "case_id", "test case")?;
    require_case(state, id)?;
    state.cases.remove(&id);
    state.remove_case_from_open_runs(id);
    Ok(json!({}))
}

pub(crate) fn delete_cases(state: &mut State, request: &ApiRequest) -> ApiResult {
    let suite_id = request.id(0, "suite_id", "test suite")?;
    if !state.suites.contains_key(&suite_id) {
        return Err(ApiError::invalid("suite_id", "test suite"));
    }
    let body = request.body_object()?;
    let case_ids = body_ids(&body, "case_ids")?.ok_or_else(|| ApiError::required("case_ids"))?;
    check_cases_in_suite(state, suite_id, &case_ids)?;
    for case_id in case_ids {
        state.cases.remove(&case_id);
        state.remove_case_from_open_runs(case_id);
    }
    Ok(json!({}))
}
