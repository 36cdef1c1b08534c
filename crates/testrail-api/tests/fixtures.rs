//! Decodes recorded TestRail response bodies into the models.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use testrail_api::models::*;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// Returns the entity array of a page object or a bare array.
fn items(body: Value, key: &str) -> Vec<Value> {
    match body {
        Value::Array(items) => items,
        Value::Object(mut page) => match page.remove(key) {
            Some(Value::Array(items)) => items,
            other => panic!("no array under `{key}`: {other:?}"),
        },
        other => panic!("not a list: {other}"),
    }
}

fn decode_all<T: DeserializeOwned>(name: &str, key: &str) -> (Vec<Value>, Vec<T>) {
    let raw = items(fixture(name), key);
    let decoded = raw
        .iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value(item.clone())
                .unwrap_or_else(|err| panic!("{name} [{index}]: {err}"))
        })
        .collect();
    (raw, decoded)
}

/// Asserts that encoding gives back every key of the original with the
/// same value, so custom and unknown fields survive.
fn assert_round_trip<T: Serialize>(original: &Value, decoded: &T) {
    let encoded = serde_json::to_value(decoded).unwrap();
    let Value::Object(original) = original else {
        panic!("not an object: {original}");
    };
    for (key, value) in original {
        assert_eq!(
            encoded.get(key),
            Some(value),
            "key `{key}` changed in a round trip"
        );
    }
}

#[test]
fn projects_page_decodes() {
    let (raw, projects) = decode_all::<Project>("get_projects_paged.json", "projects");
    assert_eq!(projects.len(), 2);
    assert_eq!(projects[0].id, 1);
    assert_eq!(projects[0].suite_mode, 1);
    assert!(!projects[0].is_completed);
    assert!(projects[1].is_completed, "is_completed sent as 1");
    assert_eq!(projects[1].suite_mode, 3);
    assert_eq!(
        projects[1].extra["announcement"],
        "Archived after the 2.x line"
    );
    assert_round_trip(&raw[0], &projects[0]);
}

#[test]
fn cases_page_keeps_custom_fields() {
    let (raw, cases) = decode_all::<Case>("get_cases_paged.json", "cases");
    assert_eq!(cases.len(), 2);
    let first = &cases[0];
    assert_eq!(first.id, 101);
    assert_eq!(first.section_id, Some(11));
    assert_eq!(first.suite_id, Some(3));
    assert_eq!(first.refs.as_deref(), Some("AUTH-12"));
    assert_eq!(
        first.custom("custom_automation_id"),
        Some(&Value::from("auth.LoginTest.test_valid_password"))
    );
    assert_eq!(first.custom("automation_type"), Some(&Value::from(1)));
    assert_eq!(
        first.custom("custom_preconds"),
        None,
        "null custom field reads as absent"
    );
    assert_eq!(
        first.extra["custom_steps_separated"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    for (original, case) in raw.iter().zip(&cases) {
        assert_round_trip(original, case);
    }
}

#[test]
fn cases_bare_array_decodes_lenient_values() {
    let (_, cases) = decode_all::<Case>("get_cases_bare.json", "cases");
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].suite_id, Some(1), "suite_id sent as a string");
    assert_eq!(
        cases[0].refs.as_deref(),
        Some("123"),
        "refs sent as a number"
    );
    assert_eq!(cases[0].updated_on, None);
}

#[test]
fn case_fields_parse_dropdown_items() {
    let (raw, fields) = decode_all::<CaseField>("get_case_fields.json", "fields");
    assert_eq!(fields.len(), 3);

    let steps = &fields[0];
    assert_eq!(steps.type_id, FIELD_TYPE_STEPS);
    assert_eq!(steps.system_name, "custom_steps_separated");
    assert!(steps.configs[0].context.is_global);
    assert_eq!(steps.configs[0].options.extra["format"], "markdown");

    let dropdown = &fields[1];
    assert_eq!(dropdown.type_id, FIELD_TYPE_DROPDOWN);
    assert!(dropdown.is_active, "is_active sent as 1");
    let project_config = dropdown.config_for_project(4).expect("project 4 is listed");
    assert!(project_config.options.is_required);
    assert_eq!(
        project_config.options.dropdown_items(),
        vec![
            (0, "None".to_owned()),
            (1, "Automated".to_owned()),
            (2, "Manual".to_owned())
        ]
    );
    let global_config = dropdown
        .config_for_project(99)
        .expect("global config applies");
    assert_eq!(
        global_config.options.dropdown_items()[0],
        (2, "Manual".to_owned())
    );

    let automation_id = &fields[2];
    assert!(automation_id.is_active, "missing is_active reads as true");
    assert!(automation_id.applies_to_project(5));
    assert!(automation_id.configs[0].options.items.is_none());
    assert_round_trip(&raw[0], steps);
}

#[test]
fn statuses_include_custom_status() {
    let (_, statuses) = decode_all::<Status>("get_statuses.json", "statuses");
    assert_eq!(statuses.len(), 6);
    let untested = statuses.iter().find(|status| status.id == 3).unwrap();
    assert!(untested.is_untested);
    let custom = statuses.iter().find(|status| status.id == 6).unwrap();
    assert_eq!(custom.name, "custom_status1");
    assert_eq!(custom.label, "Skipped");
    assert!(!custom.is_system);
    assert!(!custom.is_final, "is_final sent as 0");
    assert_eq!(custom.extra["color_medium"], 10526880);
}

#[test]
fn runs_page_decodes() {
    let (raw, runs) = decode_all::<Run>("get_runs_paged.json", "runs");
    let run = &runs[0];
    assert_eq!(run.id, 42);
    assert_eq!(run.suite_id, Some(3));
    assert!(!run.is_completed, "is_completed sent as 0");
    assert_eq!(run.passed_count, 120);
    assert_eq!(run.failed_count, 6);
    assert_eq!(run.plan_id, None);
    assert!(run.config_ids.is_empty());
    assert_eq!(run.extra["custom_status1_count"], 4);
    let encoded = serde_json::to_value(run).unwrap();
    assert_eq!(
        encoded["custom_status1_count"],
        raw[0]["custom_status1_count"]
    );
    assert_eq!(encoded["url"], raw[0]["url"]);
}

#[test]
fn tests_page_decodes() {
    let (raw, tests) = decode_all::<Test>("get_tests_paged.json", "tests");
    assert_eq!(tests.len(), 2);
    assert_eq!(tests[0].case_id, 101);
    assert_eq!(tests[0].run_id, 42);
    assert_eq!(tests[1].status_id, Some(3));
    assert_eq!(tests[1].assignedto_id, Some(5));
    assert_round_trip(&raw[0], &tests[0]);
}

#[test]
fn results_page_decodes() {
    let (raw, results) = decode_all::<ResultEntry>("get_results_for_run_paged.json", "results");
    let failed = &results[0];
    assert_eq!(failed.id, 7001);
    assert_eq!(failed.status_id, Some(5));
    assert_eq!(failed.elapsed.as_deref(), Some("1m 5s"));
    assert_eq!(failed.defects.as_deref(), Some("BUG-77"));
    assert_eq!(
        failed.attachment_ids,
        vec![
            AttachmentId::Number(4431),
            AttachmentId::Text("E2A1B3C4-5D6E-7F80-9A1B-2C3D4E5F6071".to_owned())
        ]
    );
    assert_eq!(failed.extra["custom_environment"], "staging");
    assert_round_trip(&raw[0], failed);

    let comment_only = &results[1];
    assert_eq!(comment_only.status_id, None);
    assert!(
        comment_only.attachment_ids.is_empty(),
        "null attachment_ids reads as empty"
    );
}

#[test]
fn add_results_answer_decodes_in_order() {
    let (_, results) = decode_all::<ResultEntry>("add_results_for_cases.json", "results");
    let ids: Vec<u64> = results.iter().map(|result| result.id).collect();
    assert_eq!(ids, vec![7101, 7102]);
    assert_eq!(
        results[1].comment.as_deref(),
        Some("Timeout waiting for the dashboard")
    );
}

#[test]
fn plan_with_entries_decodes() {
    let raw = fixture("get_plan.json");
    let plan: Plan = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(plan.id, 80);
    assert_eq!(plan.milestone_id, Some(7));
    assert_eq!(plan.entries.len(), 1);
    let entry = &plan.entries[0];
    assert_eq!(
        entry.id.as_deref(),
        Some("3a7f0c1e-9b2d-4e6f-8a1b-5c4d3e2f1a0b")
    );
    assert_eq!(entry.suite_id, Some(3));
    let run_ids: Vec<u64> = entry.runs.iter().map(|run| run.id).collect();
    assert_eq!(run_ids, vec![81, 82]);
    assert_eq!(entry.runs[1].config_ids, vec![4]);
    assert_eq!(entry.runs[1].extra["config"], "Firefox");
    assert_eq!(entry.extra["include_all"], true);
}

#[test]
fn error_bodies_have_error_text() {
    for name in ["error_400.json", "error_401.json", "error_404.json"] {
        let body = fixture(name);
        let text = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no error text"));
        assert!(!text.is_empty(), "{name}");
    }
}

#[test]
fn new_result_omits_nulls() {
    let result = NewResult::new(101, 5)
        .comment("boom")
        .custom_field("custom_step_results", Value::Array(vec![]))
        .custom_field("custom_unset", Value::Null);
    let encoded = serde_json::to_value(&result).unwrap();
    assert_eq!(
        encoded,
        serde_json::json!({"case_id": 101, "status_id": 5, "comment": "boom", "custom_step_results": []})
    );
}

#[test]
fn new_run_and_update_skip_none() {
    let run = NewRun::new("Nightly").suite(3).cases(vec![1, 2]);
    assert_eq!(
        serde_json::to_value(&run).unwrap(),
        serde_json::json!({"suite_id": 3, "name": "Nightly", "include_all": false, "case_ids": [1, 2]})
    );
    let update = RunUpdate {
        case_ids: Some(vec![4]),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&update).unwrap(),
        serde_json::json!({"case_ids": [4]})
    );
    let section = NewSection::new("Login").suite(3);
    assert_eq!(
        serde_json::to_value(&section).unwrap(),
        serde_json::json!({"name": "Login", "suite_id": 3})
    );
}

#[test]
fn config_groups_decode() {
    let (raw, groups) = decode_all::<ConfigGroup>("get_configs.json", "configs");
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].name, "Browser");
    assert_eq!(groups[0].project_id, Some(1));
    let names: Vec<&str> = groups[0].configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["Chrome", "Firefox"]);
    assert_eq!(groups[0].configs[1].id, 4);
    assert_eq!(groups[0].configs[1].group_id, Some(1));
    assert!(groups[1].configs.is_empty());
    assert_round_trip(&raw[0], &groups[0]);
}
