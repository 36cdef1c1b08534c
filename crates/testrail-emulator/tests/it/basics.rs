//! Authentication, paging, legacy arrays and case validation.

use serde_json::{Value, json};
use testrail_emulator::EmulatorConfig;

use crate::common::{Api, error_text};

const AUTH_FAILED: &str =
    "Authentication failed: invalid or missing user/password or session cookie.";

#[tokio::test]
async fn auth_rejects_missing_and_wrong_login() {
    let api = Api::start().await;
    let url = api.api_url("get_projects");

    let missing = api.client.get(&url).send().await.unwrap();
    let (status, body) = crate::common::read(missing).await;
    assert_eq!(status, 401);
    assert_eq!(error_text(&body), AUTH_FAILED);

    let wrong = api
        .client
        .get(&url)
        .basic_auth("admin@example.com", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);

    let (status, body) = api.get("get_projects").await;
    assert_eq!(status, 200);
    assert_eq!(body["projects"][0]["name"], "Demo");
    assert_eq!(body["projects"][0]["suite_mode"], 1);
    api.finish().await;
}

#[tokio::test]
async fn pagination_walks_600_cases() {
    let api = Api::start().await;
    let section = api.section("Bulk").await;
    for index in 0..600 {
        api.case(section, &format!("case {index}")).await;
    }

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "get_cases/1&suite_id=1".to_string();
    loop {
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let cases = page["cases"].as_array().expect("cases array");
        sizes.push(page["size"].as_u64().unwrap());
        assert_eq!(page["size"].as_u64().unwrap() as usize, cases.len());
        seen.extend(cases.iter().map(|case| case["id"].as_u64().unwrap()));
        match page["_links"]["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with("/api/v2/get_cases/1"), "next link {next}");
                assert!(next.contains("suite_id=1"), "next link {next}");
                path = next.trim_start_matches("/api/v2/").to_string();
            }
            None => break,
        }
    }
    assert_eq!(sizes, vec![250, 250, 100]);
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 600);

    let (_, tail) = api.get("get_cases/1&limit=10&offset=595").await;
    assert_eq!(tail["size"], 5);
    assert_eq!(tail["limit"], 10);
    assert_eq!(tail["offset"], 595);
    assert_eq!(tail["_links"]["next"], Value::Null);
    assert_eq!(
        tail["_links"]["prev"],
        "/api/v2/get_cases/1&limit=10&offset=585"
    );
    let (_, capped) = api.get("get_cases/1&limit=1000").await;
    assert_eq!(capped["size"], 250);
    api.finish().await;
}

#[tokio::test]
async fn legacy_arrays_return_bare_lists() {
    let api = Api::start_with(EmulatorConfig {
        legacy_arrays: true,
        ..EmulatorConfig::default()
    })
    .await;
    let section = api.section("Legacy").await;
    api.case(section, "one").await;
    api.case(section, "two").await;

    let (_, cases) = api.get("get_cases/1").await;
    assert_eq!(cases.as_array().map(Vec::len), Some(2));
    let (_, projects) = api.get("get_projects").await;
    assert!(projects.is_array());
    let (_, limited) = api.get("get_cases/1&limit=1&offset=1").await;
    assert_eq!(limited[0]["title"], "two");
    api.finish().await;
}

#[tokio::test]
async fn unpaged_methods_return_arrays() {
    let api = Api::start().await;
    for path in [
        "get_suites/1",
        "get_statuses",
        "get_case_types",
        "get_priorities",
        "get_case_fields",
        "get_result_fields",
        "get_templates/1",
        "get_configs/1",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.is_array(), "{path} returned {body}");
    }
    let (_, statuses) = api.get("get_statuses").await;
    assert_eq!(statuses.as_array().unwrap().len(), 5);
    assert_eq!(statuses[2]["is_untested"], true);
    let (_, fields) = api.get("get_case_fields").await;
    let automation = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["system_name"] == "custom_automation_id")
        .expect("automation id field");
    assert_eq!(automation["is_active"], true);
    assert_eq!(automation["configs"][0]["context"]["is_global"], true);
    api.finish().await;
}

#[tokio::test]
async fn add_case_validates_and_keeps_custom_fields() {
    let api = Api::start().await;
    let section = api.section("Cases").await;

    let (status, body) = api.post(&format!("add_case/{section}"), json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(error_text(&body), "Field :title is a required field.");

    let (status, body) = api.post("add_case/999", json!({"title": "x"})).await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains(":section_id"), "{body}");

    let (status, body) = api
        .post(
            &format!("add_case/{section}"),
            json!({"title": "x", "type_id": 99}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains(":type_id"), "{body}");

    let case = api
        .ok(
            &format!("add_case/{section}"),
            json!({"title": "Login", "custom_automation_id": "auth.Login", "attachments": []}),
        )
        .await;
    assert_eq!(case["custom_automation_id"], "auth.Login");
    assert_eq!(case["type_id"], 7);
    assert_eq!(case["priority_id"], 2);
    assert_eq!(case["template_id"], 1);
    assert_eq!(case["suite_id"], 1);
    assert!(case.get("attachments").is_none());

    let updated = api
        .ok(
            &format!("update_case/{}", case["id"]),
            json!({"title": "Login 2"}),
        )
        .await;
    assert_eq!(updated["title"], "Login 2");
    assert_eq!(updated["custom_automation_id"], "auth.Login");
    api.finish().await;
}

#[tokio::test]
async fn undefined_custom_case_fields_are_ignored() {
    let api = Api::start().await;
    let section = api.section("Cases").await;

    let case = api
        .ok(
            &format!("add_case/{section}"),
            json!({"title": "Login", "custom_platform": 2, "custom_no_such_field": "x"}),
        )
        .await;
    assert_eq!(case["custom_platform"], 2);
    assert!(case.get("custom_no_such_field").is_none(), "{case}");

    let updated = api
        .ok(
            &format!("update_case/{}", case["id"]),
            json!({"custom_no_such_field": "y"}),
        )
        .await;
    assert!(updated.get("custom_no_such_field").is_none(), "{updated}");
    let (_, stored) = api.get(&format!("get_case/{}", case["id"])).await;
    assert!(stored.get("custom_no_such_field").is_none(), "{stored}");
    api.finish().await;
}

#[tokio::test]
async fn unknown_ids_and_methods_are_rejected() {
    let api = Api::start().await;
    let cases = [
        ("get_project/42", ":project_id"),
        ("get_cases/42", ":project_id"),
        ("get_run/42", ":run_id"),
        ("get_case/42", ":case_id"),
        ("get_tests/42", ":run_id"),
        ("get_plan/42", ":plan_id"),
        ("get_user/42", ":user_id"),
    ];
    for (path, field) in cases {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 400, "{path}");
        assert!(error_text(&body).contains(field), "{path}: {body}");
    }

    let (status, body) = api
        .post("add_results_for_cases/42", json!({"results": []}))
        .await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains(":run_id"), "{body}");

    let (status, _) = api.get("no_such_method").await;
    assert_eq!(status, 400);
    let (status, body) = api.get("add_run/1").await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains("POST"), "{body}");
    api.finish().await;
}

#[tokio::test]
async fn users_lookup_by_email() {
    let api = Api::start().await;
    let (status, user) = api.get("get_user_by_email&email=admin%40example.com").await;
    assert_eq!(status, 200);
    assert_eq!(user["id"], 1);
    assert_eq!(user["name"], "Administrator");
    let (_, current) = api.get("get_current_user").await;
    assert_eq!(current["email"], "admin@example.com");
    let (_, users) = api.get("get_users").await;
    assert_eq!(users["users"][0]["id"], 1);
    let (status, _) = api.get("get_user_by_email&email=nobody@example.com").await;
    assert_eq!(status, 400);
    api.finish().await;
}
