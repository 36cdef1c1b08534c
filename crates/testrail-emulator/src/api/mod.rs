//! TestRail API v2 methods on top of [`State`].
//!
//! Every handler receives a parsed [`ApiRequest`] and the locked state, and
//! returns the JSON body of a 200 response or an [`ApiError`] with TestRail's
//! status code and an `error` text.

mod cases;
mod meta;
mod plans;
mod projects;
mod render;
mod results;
mod runs;

use serde_json::{Map, Value, json};

use crate::state::State;

/// Maximum number of entries in one page of a bulk GET, as in TestRail 6.7+.
pub(crate) const MAX_PAGE: usize = 250;

/// One API call after URL parsing and body decoding.
#[derive(Debug)]
pub(crate) struct ApiRequest {
    /// Method name such as `get_cases`.
    pub method: String,
    /// Path segments after the method name, as sent.
    pub segments: Vec<String>,
    /// Leading path segments that are integers, in order.
    pub ids: Vec<u64>,
    /// Filters after the first `&`, percent-decoded.
    pub filters: Vec<(String, String)>,
    /// JSON body of a POST, or `Null`.
    pub body: Value,
    /// Whether the HTTP verb was POST.
    pub is_post: bool,
    /// TestRail root URL with a trailing slash, for `url` fields.
    pub root: String,
    /// Whether bulk GETs return bare arrays (TestRail before 6.7).
    pub legacy_arrays: bool,
    /// Id of the authenticated user.
    pub user_id: u64,
    /// Uploaded file of `add_attachment_to_result`: name, size, content type.
    pub attachment: Option<(String, u64, Option<String>)>,
}

/// A TestRail error response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    /// Builds a 400 Bad Request error.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
        }
    }

    /// Builds the error for an id that does not name an existing entity.
    pub fn invalid(field: &str, what: &str) -> ApiError {
        ApiError::bad_request(format!("Field :{field} is not a valid {what}."))
    }

    /// Builds the error for a missing required field.
    pub fn required(field: &str) -> ApiError {
        ApiError::bad_request(format!("Field :{field} is a required field."))
    }
}

pub(crate) type ApiResult = Result<Value, ApiError>;

impl ApiRequest {
    /// Returns the path id at `index`, or the error that names `field`.
    pub fn id(&self, index: usize, field: &str, what: &str) -> Result<u64, ApiError> {
        self.ids
            .get(index)
            .copied()
            .ok_or_else(|| ApiError::invalid(field, what))
    }

    /// Returns the raw value of a filter.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns an integer filter; a non-integer value is a 400.
    pub fn filter_u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.filter(name) {
            None | Some("") => Ok(None),
            Some(value) => value.trim().parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!("Field :{name} is not a valid integer."))
            }),
        }
    }

    /// Returns a comma-separated integer list filter.
    pub fn filter_list(&self, name: &str) -> Result<Option<Vec<u64>>, ApiError> {
        let Some(value) = self.filter(name) else {
            return Ok(None);
        };
        value
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(|part| part.trim().parse::<u64>())
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "Field :{name} is not a valid comma-separated list of integers."
                ))
            })
    }

    /// Returns a boolean filter given as `0`/`1` or `false`/`true`.
    pub fn filter_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.filter(name) {
            None | Some("") => Ok(None),
            Some("1") | Some("true") => Ok(Some(true)),
            Some("0") | Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!(
                "Field :{name} is not a valid boolean (use 0 or 1)."
            ))),
        }
    }

    /// Returns the body as an object; a missing body counts as empty.
    pub fn body_object(&self) -> Result<Map<String, Value>, ApiError> {
        match &self.body {
            Value::Null => Ok(Map::new()),
            Value::Object(object) => Ok(object.clone()),
            _ => Err(ApiError::bad_request(
                "The request body must be a JSON object.",
            )),
        }
    }
}

/// Returns whether `key` is the system name of an active field in `fields`,
/// the list that `get_case_fields` or `get_result_fields` returns.
///
/// Handlers store only `custom_*` keys that pass this check and drop the
/// others, because trcli 1.15.3 sends `custom_testrail_bdd_scenario_results`
/// with every result whether or not the instance defines that field.
// NOTE: that TestRail drops undefined custom keys without an error is
// inferred from trcli uploading to instances without the field, not
// checked against a real instance.
pub(crate) fn is_defined_field(fields: &[Value], key: &str) -> bool {
    fields.iter().any(|field| {
        field["system_name"].as_str() == Some(key) && field["is_active"] != Value::Bool(false)
    })
}

/// Reads an optional integer field of a body; a wrong type is a 400.
pub(crate) fn body_u64(body: &Map<String, Value>, field: &str) -> Result<Option<u64>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("Field :{field} is not a valid ID."))),
        Some(Value::String(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("Field :{field} is not a valid ID."))),
        Some(_) => Err(ApiError::bad_request(format!(
            "Field :{field} is not a valid ID."
        ))),
    }
}

/// Reads an optional string field of a body.
pub(crate) fn body_str(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(ApiError::bad_request(format!(
            "Field :{field} is not a valid string."
        ))),
    }
}

/// Reads an optional boolean field of a body.
pub(crate) fn body_bool(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(Value::Number(number)) if number.as_u64() == Some(0) => Ok(Some(false)),
        Some(Value::Number(number)) if number.as_u64() == Some(1) => Ok(Some(true)),
        Some(_) => Err(ApiError::bad_request(format!(
            "Field :{field} is not a valid boolean."
        ))),
    }
}

/// Reads an optional list of ids from a body.
pub(crate) fn body_ids(
    body: &Map<String, Value>,
    field: &str,
) -> Result<Option<Vec<u64>>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Number(number) => number.as_u64(),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            })
            .collect::<Option<Vec<u64>>>()
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!("Field :{field} is not a valid list of IDs."))
            }),
        Some(_) => Err(ApiError::bad_request(format!(
            "Field :{field} is not a valid list of IDs."
        ))),
    }
}

/// Wraps a full list in TestRail's paged envelope, or slices it as a bare
/// array for legacy instances.
pub(crate) fn page(request: &ApiRequest, key: &str, items: Vec<Value>) -> ApiResult {
    page_of(request, key, items, |item| item)
}

/// Same as [`page`], rendering only the items of the requested page, so a
/// page of a large list costs the page rather than the list.
pub(crate) fn page_of<T>(
    request: &ApiRequest,
    key: &str,
    items: Vec<T>,
    render: impl Fn(T) -> Value,
) -> ApiResult {
    let explicit_limit = request.filter_u64("limit")?;
    let offset = request.filter_u64("offset")?.unwrap_or(0) as usize;

    if request.legacy_arrays {
        let rest = items.into_iter().skip(offset);
        let sliced: Vec<Value> = match explicit_limit {
            Some(limit) => rest.take(limit as usize).map(render).collect(),
            None => rest.map(render).collect(),
        };
        return Ok(Value::Array(sliced));
    }

    let limit = explicit_limit
        .map_or(MAX_PAGE, |limit| limit as usize)
        .clamp(1, MAX_PAGE);
    let total = items.len();
    let entries: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(render)
        .collect();

    let link = |new_offset: usize| {
        let mut path = format!("/api/v2/{}", request.method);
        for id in &request.ids {
            path.push_str(&format!("/{id}"));
        }
        for (key, value) in &request.filters {
            if key != "limit" && key != "offset" {
                path.push_str(&format!("&{key}={value}"));
            }
        }
        format!("{path}&limit={limit}&offset={new_offset}")
    };
    let next = (offset + limit < total).then(|| link(offset + limit));
    let prev = (offset > 0).then(|| link(offset.saturating_sub(limit)));

    let mut envelope = json!({
        "offset": offset,
        "limit": limit,
        "size": entries.len(),
        "_links": {"next": next, "prev": prev},
    });
    envelope[key] = Value::Array(entries);
    Ok(envelope)
}

/// Whether a method reads (GET) or writes (POST).
fn expects_post(method: &str) -> bool {
    !method.starts_with("get_")
}

/// Runs one API method against the state.
pub(crate) fn dispatch(state: &mut State, request: &ApiRequest) -> ApiResult {
    let wants_post = expects_post(&request.method);
    if is_known(&request.method) && wants_post != request.is_post {
        let verb = if wants_post { "POST" } else { "GET" };
        return Err(ApiError::bad_request(format!(
            "The API method {} requires a {verb} request.",
            request.method
        )));
    }

    match request.method.as_str() {
        "get_project" => projects::get_project(state, request),
        "get_projects" => projects::get_projects(state, request),
        "get_suite" => projects::get_suite(state, request),
        "get_suites" => projects::get_suites(state, request),
        "add_suite" => projects::add_suite(state, request),
        "delete_suite" => projects::delete_suite(state, request),
        "get_section" => projects::get_section(state, request),
        "get_sections" => projects::get_sections(state, request),
        "add_section" => projects::add_section(state, request),
        "update_section" => projects::update_section(state, request),
        "delete_section" => projects::delete_section(state, request),
        "get_case" => cases::get_case(state, request),
        "get_cases" => cases::get_cases(state, request),
        "add_case" => cases::add_case(state, request),
        "update_case" => cases::update_case(state, request),
        "update_cases" => cases::update_cases(state, request),
        "delete_case" => cases::delete_case(state, request),
        "delete_cases" => cases::delete_cases(state, request),
        "get_case_fields" => Ok(Value::Array(state.case_fields.clone())),
        "get_case_types" => Ok(Value::Array(state.case_types.clone())),
        "get_priorities" => Ok(Value::Array(state.priorities.clone())),
        "get_templates" => meta::get_templates(state, request),
        "get_statuses" => Ok(Value::Array(state.statuses.clone())),
        "get_result_fields" => Ok(Value::Array(state.result_fields.clone())),
        "get_user" => meta::get_user(state, request),
        "get_users" => meta::get_users(state, request),
        "get_user_by_email" => meta::get_user_by_email(state, request),
        "get_current_user" => meta::get_current_user(state, request),
        "get_milestone" => meta::get_milestone(state, request),
        "get_milestones" => meta::get_milestones(state, request),
        "add_milestone" => meta::add_milestone(state, request),
        "get_configs" => meta::get_configs(state, request),
        "add_config_group" => meta::add_config_group(state, request),
        "add_config" => meta::add_config(state, request),
        "get_run" => runs::get_run(state, request),
        "get_runs" => runs::get_runs(state, request),
        "add_run" => runs::add_run(state, request),
        "update_run" => runs::update_run(state, request),
        "close_run" => runs::close_run(state, request),
        "delete_run" => runs::delete_run(state, request),
        "get_test" => runs::get_test(state, request),
        "get_tests" => runs::get_tests(state, request),
        "get_plan" => plans::get_plan(state, request),
        "get_plans" => plans::get_plans(state, request),
        "add_plan" => plans::add_plan(state, request),
        "add_plan_entry" => plans::add_plan_entry(state, request),
        "update_plan_entry" => plans::update_plan_entry(state, request),
        "close_plan" => plans::close_plan(state, request),
        "delete_plan" => plans::delete_plan(state, request),
        "get_results" => results::get_results(state, request),
        "get_results_for_case" => results::get_results_for_case(state, request),
        "get_results_for_run" => results::get_results_for_run(state, request),
        "add_result" => results::add_result(state, request),
        "add_result_for_case" => results::add_result_for_case(state, request),
        "add_results" => results::add_results(state, request),
        "add_results_for_cases" => results::add_results_for_cases(state, request),
        "add_attachment_to_result" => results::add_attachment_to_result(state, request),
        "get_attachments_for_test" => results::get_attachments_for_test(state, request),
        other => Err(ApiError::bad_request(format!(
            "Unknown API method `{other}`."
        ))),
    }
}

/// Lists every method the emulator implements.
pub(crate) const METHODS: &[&str] = &[
    "get_project",
    "get_projects",
    "get_suite",
    "get_suites",
    "add_suite",
    "delete_suite",
    "get_section",
    "get_sections",
    "add_section",
    "update_section",
    "delete_section",
    "get_case",
    "get_cases",
    "add_case",
    "update_case",
    "update_cases",
    "delete_case",
    "delete_cases",
    "get_case_fields",
    "get_case_types",
    "get_priorities",
    "get_templates",
    "get_statuses",
    "get_result_fields",
    "get_user",
    "get_users",
    "get_user_by_email",
    "get_current_user",
    "get_milestone",
    "get_milestones",
    "add_milestone",
    "get_configs",
    "add_config_group",
    "add_config",
    "get_run",
    "get_runs",
    "add_run",
    "update_run",
    "close_run",
    "delete_run",
    "get_test",
    "get_tests",
    "get_plan",
    "get_plans",
    "add_plan",
    "add_plan_entry",
    "update_plan_entry",
    "close_plan",
    "delete_plan",
    "get_results",
    "get_results_for_case",
    "get_results_for_run",
    "add_result",
    "add_result_for_case",
    "add_results",
    "add_results_for_cases",
    "add_attachment_to_result",
    "get_attachments_for_test",
];

fn is_known(method: &str) -> bool {
    METHODS.contains(&method)
}
