//! Test results and result attachments.

use serde_json::{Map, Value, json};

use super::runs::require_run;
use super::{ApiError, ApiRequest, ApiResult, body_u64, is_defined_field, page, render};
use crate::state::{Attachment, State, TestResult, now};

/// System result keys stored as sent. Of the other keys, only defined custom
/// fields are stored, and the rest (such as `attachments`) are ignored.
const RESULT_FIELDS: &[&str] = &["comment", "version", "elapsed", "defects"];

/// Parses a TestRail timespan such as `30s`, `1m 5s` or `2h` into seconds.
///
/// Each part is a whole number followed by `w`, `d`, `h`, `m` or `s`, and a
/// bare whole number counts as seconds. Returns `None` for decimals, unknown
/// units, empty text and spans of zero seconds, which this emulator rejects.
// NOTE: a week counts 7 days and a day 24 hours here. Only the validation
// matters, because the emulator stores the text as sent.
pub(crate) fn parse_timespan(text: &str) -> Option<u64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text.parse::<u64>().ok().filter(|seconds| *seconds > 0);
    }

    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut parts = 0;
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        if character.is_whitespace() {
            if !digits.is_empty() {
                // A number must be followed directly by its unit.
                return None;
            }
            continue;
        }
        let unit = match character {
            'w' => 7 * 24 * 3600,
            'd' => 24 * 3600,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let value: u64 = digits.parse().ok()?;
        total = total.checked_add(value.checked_mul(unit)?)?;
        digits.clear();
        parts += 1;
    }
    (digits.is_empty() && parts > 0 && total > 0).then_some(total)
}

/// A validated result entry, ready to store.
struct NewResult {
    test_id: u64,
    status_id: Option<u64>,
    assignedto_id: Option<u64>,
    fields: Map<String, Value>,
}

/// Status id, assignee and stored fields of a validated result entry.
type ResultFields = (Option<u64>, Option<u64>, Map<String, Value>);

/// Validates the status, elapsed time and assignee of one result entry.
/// `subject` names the entry in error texts, such as `case 12`.
fn validate_fields(
    state: &State,
    entry: &Map<String, Value>,
    field: &str,
    subject: &str,
) -> Result<ResultFields, ApiError> {
    let status_id = body_u64(entry, "status_id").map_err(|_| {
        ApiError::bad_request(format!(
            "Field :{field} has an invalid status_id for {subject}."
        ))
    })?;
    if let Some(status_id) = status_id {
        let Some(status) = state.status(status_id) else {
            return Err(ApiError::bad_request(format!(
                "Field :{field} has status_id {status_id} for {subject}, which is not a valid status."
            )));
        };
        if status["is_untested"] == Value::Bool(true) {
            return Err(ApiError::bad_request(format!(
                "Field :{field} has status_id {status_id} (Untested) for {subject}; Untested cannot be set as a result."
            )));
        }
    }

    match entry.get("elapsed") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) if text.trim().is_empty() => {}
        Some(Value::String(text)) if parse_timespan(text).is_some() => {}
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string);
            return Err(ApiError::bad_request(format!(
                "Field :{field} has elapsed `{shown}` for {subject}, which is not a valid timespan (use whole units such as 30s or 1m 5s)."
            )));
        }
    }

    let assignedto_id = body_u64(entry, "assignedto_id").map_err(|_| {
        ApiError::bad_request(format!(
            "Field :{field} has an invalid assignedto_id for {subject}."
        ))
    })?;
    if let Some(user_id) = assignedto_id
        && !state.users.contains_key(&user_id)
    {
        return Err(ApiError::bad_request(format!(
            "Field :{field} has assignedto_id {user_id} for {subject}, which is not a valid user."
        )));
    }

    let mut fields = Map::new();
    for (key, value) in entry {
        if RESULT_FIELDS.contains(&key.as_str()) || is_defined_field(&state.result_fields, key) {
            fields.insert(key.clone(), value.clone());
        }
    }
    Ok((status_id, assignedto_id, fields))
}

/// Rejects results for a closed run.
fn check_open(state: &State, run_id: u64) -> Result<(), ApiError> {
    if require_run(state, run_id)?.is_completed {
        return Err(ApiError::bad_request(format!(
            "Test run {run_id} is closed, so no results can be added to it."
        )));
    }
    Ok(())
}

/// Stores validated results in order, updates their tests and returns them.
fn store(state: &mut State, entries: Vec<NewResult>) -> Vec<Value> {
    let created_on = now();
    let mut created = Vec::with_capacity(entries.len());
    for entry in entries {
        state.next_id.result += 1;
        let id = state.next_id.result;
        if let Some(test) = state.tests.get_mut(&entry.test_id) {
            if let Some(status_id) = entry.status_id {
                test.status_id = status_id;
            }
            if entry.assignedto_id.is_some() {
                test.assignedto_id = entry.assignedto_id;
            }
        }
        let result = TestResult {
            id,
            test_id: entry.test_id,
            status_id: entry.status_id.unwrap_or(0),
            created_on,
            assignedto_id: entry.assignedto_id,
            attachment_ids: Vec::new(),
            fields: entry.fields,
        };
        created.push(render::result(&result));
        state.results.insert(id, result);
    }
    created
}

/// Returns the entries of a `results` array body.
fn results_array(request: &ApiRequest) -> Result<Vec<Map<String, Value>>, ApiError> {
    let body = request.body_object()?;
    let Some(Value::Array(items)) = body.get("results") else {
        return Err(ApiError::required("results"));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            item.as_object().cloned().ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Field :results has entry {index}, which is not a JSON object."
                ))
            })
        })
        .collect()
}

pub(crate) fn add_results_for_cases(state: &mut State, request: &ApiRequest) -> ApiResult {
    let run_id = request.id(0, "run_id", "test run")?;
    check_open(state, run_id)?;
    let entries = results_array(request)?;

    let mut validated = Vec::with_capacity(entries.len());
    for entry in &entries {
        let case_id = body_u64(entry, "case_id").ok().flatten().ok_or_else(|| {
            ApiError::bad_request("Field :results has an entry without a valid case_id.")
        })?;
        let subject = format!("case {case_id}");
        let test_id = match state.test_for_case(run_id, case_id) {
            Some(test) => test.id,
            None if state.cases.contains_key(&case_id) => {
                return Err(ApiError::bad_request(format!(
                    "Field :results refers to case {case_id}, which is not part of test run {run_id}."
                )));
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "Field :results refers to case {case_id}, which is not a valid test case."
                )));
            }
        };
        let (status_id, assignedto_id, fields) =
            validate_fields(state, entry, "results", &subject)?;
        validated.push(NewResult {
            test_id,
            status_id,
            assignedto_id,
            fields,
        });
    }
    Ok(Value::Array(store(state, validated)))
}

pub(crate) fn add_results(state: &mut State, request: &ApiRequest) -> ApiResult {
    let run_id = request.id(0, "run_id", "test run")?;
    check_open(state, run_id)?;
    let entries = results_array(request)?;

    let mut validated = Vec::with_capacity(entries.len());
    for entry in &entries {
        let test_id = body_u64(entry, "test_id").ok().flatten().ok_or_else(|| {
            ApiError::bad_request("Field :results has an entry without a valid test_id.")
        })?;
        match state.tests.get(&test_id) {
            Some(test) if test.run_id == run_id => {}
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "Field :results refers to test {test_id}, which is not part of test run {run_id}."
                )));
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "Field :results refers to test {test_id}, which is not a valid test."
                )));
            }
        }
        let subject = format!("test {test_id}");
        let (status_id, assignedto_id, fields) =
            validate_fields(state, entry, "results", &subject)?;
        validated.push(NewResult {
            test_id,
            status_id,
            assignedto_id,
            fields,
        });
    }
    Ok(Value::Array(store(state, validated)))
}

pub(crate) fn add_result(state: &mut State, request: &ApiRequest) -> ApiResult {
    let test_id = request.id(0, "test_id", "test")?;
    let run_id = state
        .tests
        .get(&test_id)
        .map(|test| test.run_id)
        .ok_or_else(|| ApiError::invalid("test_id", "test"))?;
    check_open(state, run_id)?;
    let body = request.body_object()?;
    let (status_id, assignedto_id, fields) =
        validate_fields(state, &body, "status_id", &format!("test {test_id}"))?;
    let mut created = store(
        state,
        vec![NewResult {
            test_id,
            status_id,
            assignedto_id,
            fields,
        }],
    );
    Ok(created.remove(0))
}

pub(crate) fn add_result_for_case(state: &mut State, request: &ApiRequest) -> ApiResult {
    let run_id = request.id(0, "run_id", "test run")?;
    let case_id = request.id(1, "case_id", "test case")?;
    check_open(state, run_id)?;
    let test_id = match state.test_for_case(run_id, case_id) {
        Some(test) => test.id,
        None if state.cases.contains_key(&case_id) => {
            return Err(ApiError::bad_request(format!(
                "Field :case_id refers to case {case_id}, which is not part of test run {run_id}."
            )));
        }
        None => return Err(ApiError::invalid("case_id", "test case")),
    };
    let body = request.body_object()?;
    let (status_id, assignedto_id, fields) =
        validate_fields(state, &body, "status_id", &format!("case {case_id}"))?;
    let mut created = store(
        state,
        vec![NewResult {
            test_id,
            status_id,
            assignedto_id,
            fields,
        }],
    );
    Ok(created.remove(0))
}

/// Lists results newest first, filtered by `status_id` and `created_after`.
fn list_results(state: &State, request: &ApiRequest, test_ids: &[u64]) -> ApiResult {
    let status_ids = request.filter_list("status_id")?;
    let created_after = request.filter_u64("created_after")?;
    let created_before = request.filter_u64("created_before")?;
    let test_ids: std::collections::HashSet<u64> = test_ids.iter().copied().collect();
    let results = state
        .results
        .values()
        .rev()
        .filter(|result| test_ids.contains(&result.test_id))
        .filter(|result| {
            status_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&result.status_id))
        })
        .filter(|result| created_after.is_none_or(|time| result.created_on > time as i64))
        .filter(|result| created_before.is_none_or(|time| result.created_on < time as i64))
        .collect::<Vec<_>>();
    super::page_of(request, "results", results, render::result)
}

pub(crate) fn get_results(state: &mut State, request: &ApiRequest) -> ApiResult {
    let test_id = request.id(0, "test_id", "test")?;
    if !state.tests.contains_key(&test_id) {
        return Err(ApiError::invalid("test_id", "test"));
    }
    list_results(state, request, &[test_id])
}

pub(crate) fn get_results_for_case(state: &mut State, request: &ApiRequest) -> ApiResult {
    let run_id = request.id(0, "run_id", "test run")?;
    let case_id = request.id(1, "case_id", "test case")?;
    require_run(state, run_id)?;
    let test_id = match state.test_for_case(run_id, case_id) {
        Some(test) => test.id,
        None => return Err(ApiError::invalid("case_id", "test case of this run")),
    };
    list_results(state, request, &[test_id])
}

pub(crate) fn get_results_for_run(state: &mut State, request: &ApiRequest) -> ApiResult {
    let run_id = request.id(0, "run_id", "test run")?;
    let test_ids = require_run(state, run_id)?.tests.clone();
    list_results(state, request, &test_ids)
}

pub(crate) fn add_attachment_to_result(state: &mut State, request: &ApiRequest) -> ApiResult {
    let result_id = request.id(0, "result_id", "test result")?;
    if !state.results.contains_key(&result_id) {
        return Err(ApiError::invalid("result_id", "test result"));
    }
    let Some((name, size, content_type)) = request.attachment.clone() else {
        return Err(ApiError::bad_request(
            "Field :attachment is a required field (send it as a multipart/form-data part named `attachment`).",
        ));
    };

    state.next_id.attachment += 1;
    let id = state.next_id.attachment;
    state.attachments.insert(
        id,
        Attachment {
            id,
            result_id,
            name,
            size,
            content_type,
            created_on: now(),
        },
    );
    if let Some(result) = state.results.get_mut(&result_id) {
        result.attachment_ids.push(id);
    }
    Ok(json!({"attachment_id": id}))
}

pub(crate) fn get_attachments_for_test(state: &mut State, request: &ApiRequest) -> ApiResult {
    let test_id = request.id(0, "test_id", "test")?;
    if !state.tests.contains_key(&test_id) {
        return Err(ApiError::invalid("test_id", "test"));
    }
    let attachments = state
        .attachments
        .values()
        .filter(|attachment| {
            state
                .results
                .get(&attachment.result_id)
                .is_some_and(|result| result.test_id == test_id)
        })
        .map(|attachment| {
            json!({
                "id": attachment.id,
                "name": attachment.name,
                "filename": attachment.name,
                "size": attachment.size,
                "created_on": attachment.created_on,
                "result_id": attachment.result_id,
                "test_id": test_id,
                "user_id": 1,
            })
        })
        .collect();
    page(request, "attachments", attachments)
}

#[cfg(test)]
mod tests {
    use super::parse_timespan;

    #[test]
    fn timespan_accepts_whole_units() {
        assert_eq!(parse_timespan("30s"), Some(30));
        assert_eq!(parse_timespan("1m 5s"), Some(65));
        assert_eq!(parse_timespan("1h"), Some(3600));
        assert_eq!(parse_timespan("1m5s"), Some(65));
        assert_eq!(parse_timespan("12"), Some(12));
    }

    #[test]
    fn timespan_rejects_zero_decimals_and_garbage() {
        for text in [
            "0s", "0", "1.5s", "0.035s", "abc", "", "5x", "5 s", "s", "1m 0.5s",
        ] {
            assert_eq!(parse_timespan(text), None, "{text:?} should be rejected");
        }
    }
}
