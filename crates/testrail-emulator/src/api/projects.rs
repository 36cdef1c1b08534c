//! Projects, suites and sections.

use serde_json::{Value, json};

use super::{ApiError, ApiRequest, ApiResult, body_str, body_u64, page, render};
use crate::state::{Section, State, Suite};

/// Returns the project or the 400 TestRail sends for an unknown project id.
pub(crate) fn require_project(state: &State, project_id: u64) -> Result<(), ApiError> {
    if state.projects.contains_key(&project_id) {
        Ok(())
    } else {
        Err(ApiError::invalid("project_id", "or accessible project"))
    }
}

/// Resolves the suite of a request in a project: an explicit suite must belong
/// to the project, and single-suite projects imply their only suite.
pub(crate) fn resolve_suite(
    state: &State,
    project_id: u64,
    suite_id: Option<u64>,
) -> Result<u64, ApiError> {
    let project = state
        .projects
        .get(&project_id)
        .ok_or_else(|| ApiError::invalid("project_id", "or accessible project"))?;

    match suite_id {
        Some(suite_id) => match state.suites.get(&suite_id) {
            None => Err(ApiError::invalid("suite_id", "test suite")),
            Some(suite) if suite.project_id != project_id => Err(ApiError::bad_request(format!(
                "Field :suite_id refers to suite {suite_id} of project {}, not of project {project_id}.",
                suite.project_id
            ))),
            Some(_) => Ok(suite_id),
        },
        None if project.suite_mode == 3 => Err(ApiError::required("suite_id")),
        None => state
            .suites
            .values()
            .find(|suite| suite.project_id == project_id)
            .map(|suite| suite.id)
            .ok_or_else(|| ApiError::invalid("suite_id", "test suite")),
    }
}

pub(crate) fn get_project(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "project_id", "or accessible project")?;
    let project = state
        .projects
        .get(&id)
        .ok_or_else(|| ApiError::invalid("project_id", "or accessible project"))?;
    Ok(render::project(&request.root, project))
}

pub(crate) fn get_projects(state: &mut State, request: &ApiRequest) -> ApiResult {
    let completed = request.filter_bool("is_completed")?;
    let projects = state
        .projects
        .values()
        .filter(|project| completed.is_none_or(|flag| project.is_completed == flag))
        .map(|project| render::project(&request.root, project))
        .collect();
    page(request, "projects", projects)
}

pub(crate) fn get_suite(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "suite_id", "test suite")?;
    let suite = state
        .suites
        .get(&id)
        .ok_or_else(|| ApiError::invalid("suite_id", "test suite"))?;
    Ok(render::suite(&request.root, suite))
}

pub(crate) fn get_suites(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let suites = state
        .suites
        .values()
        .filter(|suite| suite.project_id == project_id)
        .map(|suite| render::suite(&request.root, suite))
        .collect();
    Ok(Value::Array(suites))
}

pub(crate) fn add_suite(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let body = request.body_object()?;
    let name = body_str(&body, "name")?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ApiError::required("name"))?;

    let suite_mode = state.projects[&project_id].suite_mode;
    let has_suite = state
        .suites
        .values()
        .any(|suite| suite.project_id == project_id);
    if suite_mode == 1 && has_suite {
        return Err(ApiError::bad_request(format!(
            "Project {project_id} uses a single test suite, so no further suite can be added."
        )));
    }

    state.next_id.suite += 1;
    let id = state.next_id.suite;
    let suite = Suite {
        id,
        project_id,
        name,
        description: body_str(&body, "description")?,
        is_master: suite_mode != 3,
        is_completed: false,
        completed_on: None,
    };
    let rendered = render::suite(&request.root, &suite);
    state.suites.insert(id, suite);
    Ok(rendered)
}

pub(crate) fn delete_suite(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "suite_id", "test suite")?;
    if state.suites.remove(&id).is_none() {
        return Err(ApiError::invalid("suite_id", "test suite"));
    }
    let run_ids: Vec<u64> = state
        .runs
        .values()
        .filter(|run| run.suite_id == id)
        .map(|run| run.id)
        .collect();
    for run_id in run_ids {
        state.delete_run(run_id);
    }
    state.cases.retain(|_, case| case.suite_id != id);
    state.sections.retain(|_, section| section.suite_id != id);
    Ok(json!({}))
}

pub(crate) fn get_section(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "section_id", "section")?;
    let section = state
        .sections
        .get(&id)
        .ok_or_else(|| ApiError::invalid("section_id", "section"))?;
    Ok(render::section(section))
}

pub(crate) fn get_sections(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    let suite_id = resolve_suite(state, project_id, request.filter_u64("suite_id")?)?;
    let sections = state
        .sections
        .values()
        .filter(|section| section.suite_id == suite_id)
        .map(render::section)
        .collect();
    page(request, "sections", sections)
}

pub(crate) fn add_section(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let body = request.body_object()?;
    let name = body_str(&body, "name")?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ApiError::required("name"))?;
    let suite_id = resolve_suite(state, project_id, body_u64(&body, "suite_id")?)?;

    let parent_id = body_u64(&body, "parent_id")?;
    let depth = match parent_id {
        None => 0,
        Some(parent_id) => {
            let parent = state
                .sections
                .get(&parent_id)
                .ok_or_else(|| ApiError::invalid("parent_id", "section"))?;
            if parent.suite_id != suite_id {
                return Err(ApiError::bad_request(format!(
                    "Field :parent_id refers to section {parent_id}, which is not in suite {suite_id}."
                )));
            }
            parent.depth + 1
        }
    };

    state.next_id.section += 1;
    let id = state.next_id.section;
    let section = Section {
        id,
        suite_id,
        name,
        description: body_str(&body, "description")?,
        parent_id,
        display_order: id,
        depth,
    };
    let rendered = render::section(&section);
    state.sections.insert(id, section);
    Ok(rendered)
}

pub(crate) fn update_section(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "section_id", "section")?;
    let body = request.body_object()?;
    let name = body_str(&body, "name")?;
    let description = body_str(&body, "description")?;
    let section = state
        .sections
        .get_mut(&id)
        .ok_or_else(|| ApiError::invalid("section_id", "section"))?;
    if let Some(name) = name {
        if name.trim().is_empty() {
            return Err(ApiError::required("name"));
        }
        section.name = name;
    }
    if body.contains_key("description") {
        section.description = description;
    }
    Ok(render::section(section))
}

pub(crate) fn delete_section(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "section_id", "section")?;
    if !state.sections.contains_key(&id) {
        return Err(ApiError::invalid("section_id", "section"));
    }

    // Deleting a section deletes its subsections and all their cases.
    let mut doomed = vec![id];
    let mut index = 0;
    while index < doomed.len() {
        let parent = doomed[index];
        doomed.extend(
            state
                .sections
                .values()
                .filter(|section| section.parent_id == Some(parent))
                .map(|section| section.id),
        );
        index += 1;
    }
    let case_ids: Vec<u64> = state
        .cases
        .values()
        .filter(|case| doomed.contains(&case.section_id))
        .map(|case| case.id)
        .collect();
    for case_id in case_ids {
        state.cases.remove(&case_id);
        state.remove_case_from_open_runs(case_id);
    }
    state.sections.retain(|id, _| !doomed.contains(id));
    Ok(json!({}))
}
