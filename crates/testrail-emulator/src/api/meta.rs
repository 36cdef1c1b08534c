//! Users, templates, milestones and configurations.

use serde_json::{Value, json};

use super::projects::require_project;
use super::{ApiError, ApiRequest, ApiResult, body_str, body_u64, page, render};
use crate::state::{ConfigGroup, Milestone, State};

pub(crate) fn get_templates(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    Ok(Value::Array(state.templates.clone()))
}

pub(crate) fn get_user(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "user_id", "user")?;
    let user = state
        .users
        .get(&id)
        .ok_or_else(|| ApiError::invalid("user_id", "user"))?;
    Ok(render::user(user))
}

// NOTE: recent TestRail Cloud versions page `get_users` under the key `users`
// and older servers return a bare array; this follows the paged form.
pub(crate) fn get_users(state: &mut State, request: &ApiRequest) -> ApiResult {
    if let Some(project_id) = request.ids.first() {
        require_project(state, *project_id)?;
    }
    let users = state.users.values().map(render::user).collect();
    page(request, "users", users)
}

pub(crate) fn get_user_by_email(state: &mut State, request: &ApiRequest) -> ApiResult {
    let email = request
        .filter("email")
        .filter(|email| !email.is_empty())
        .ok_or_else(|| ApiError::required("email"))?;
    let user = state
        .user_by_email(email)
        .ok_or_else(|| ApiError::invalid("email", "user"))?;
    Ok(render::user(user))
}

pub(crate) fn get_current_user(state: &mut State, request: &ApiRequest) -> ApiResult {
    let user = state
        .users
        .get(&request.user_id)
        .ok_or_else(|| ApiError::invalid("user_id", "user"))?;
    Ok(render::user(user))
}

pub(crate) fn get_milestone(state: &mut State, request: &ApiRequest) -> ApiResult {
    let id = request.id(0, "milestone_id", "milestone")?;
    let milestone = state
        .milestones
        .get(&id)
        .ok_or_else(|| ApiError::invalid("milestone_id", "milestone"))?;
    Ok(render::milestone(&request.root, milestone))
}

pub(crate) fn get_milestones(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let completed = request.filter_bool("is_completed")?;
    let milestones = state
        .milestones
        .values()
        .filter(|milestone| milestone.project_id == project_id)
        .filter(|milestone| completed.is_none_or(|flag| milestone.is_completed == flag))
        .map(|milestone| render::milestone(&request.root, milestone))
        .collect();
    page(request, "milestones", milestones)
}

pub(crate) fn add_milestone(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let body = request.body_object()?;
    let name = body_str(&body, "name")?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ApiError::required("name"))?;
    let parent_id = body_u64(&body, "parent_id")?;
    if let Some(parent_id) = parent_id {
        match state.milestones.get(&parent_id) {
            Some(parent) if parent.project_id == project_id => {}
            _ => return Err(ApiError::invalid("parent_id", "milestone")),
        }
    }

    state.next_id.milestone += 1;
    let id = state.next_id.milestone;
    let milestone = Milestone {
        id,
        project_id,
        name,
        description: body_str(&body, "description")?,
        parent_id,
        due_on: body_u64(&body, "due_on")?.map(|time| time as i64),
        start_on: body_u64(&body, "start_on")?.map(|time| time as i64),
        refs: body_str(&body, "refs")?,
        is_completed: false,
        completed_on: None,
    };
    let rendered = render::milestone(&request.root, &milestone);
    state.milestones.insert(id, milestone);
    Ok(rendered)
}

fn config_group_json(group: &ConfigGroup) -> Value {
    let configs: Vec<Value> = group
        .configs
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name, "group_id": group.id}))
        .collect();
    json!({
        "id": group.id,
        "name": group.name,
        "project_id": group.project_id,
        "configs": configs,
    })
}

pub(crate) fn get_configs(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let groups = state
        .config_groups
        .values()
        .filter(|group| group.project_id == project_id)
        .map(config_group_json)
        .collect();
    Ok(Value::Array(groups))
}

pub(crate) fn add_config_group(state: &mut State, request: &ApiRequest) -> ApiResult {
    let project_id = request.id(0, "project_id", "or accessible project")?;
    require_project(state, project_id)?;
    let body = request.body_object()?;
    let name = body_str(&body, "name")?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ApiError::required("name"))?;
    state.next_id.config_group += 1;
    let id = state.next_id.config_group;
    let group = ConfigGroup {
        id,
        project_id,
        name,
        configs: Vec::new(),
    };
    let rendered = config_group_json(&group);
    state.config_groups.insert(id, group);
    Ok(rendered)
}

pub(crate) fn add_config(state: &mut State, request: &ApiRequest) -> ApiResult {
    let group_id = request.id(0, "config_group_id", "configuration group")?;
    if !state.config_groups.contains_key(&group_id) {
        return Err(ApiError::invalid("config_group_id", "configuration group"));
    }
    let body = request.body_object()?;
    let name = body_str(&body, "name")?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ApiError::required("name"))?;
    state.next_id.config += 1;
    let id = state.next_id.config;
    if let Some(group) = state.config_groups.get_mut(&group_id) {
        group.configs.push((id, name.clone()));
    }
    Ok(json!({"id": id, "name": name, "group_id": group_id}))
}
