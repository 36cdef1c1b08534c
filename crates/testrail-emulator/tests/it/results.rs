//! add_results_for_cases, its validation, and attachments.

use serde_json::{Value, json};

use crate::common::{Api, error_text};

/// Creates three cases and a run with the first two; returns (run, cases).
async fn run_with_two_cases(api: &Api) -> (u64, [u64; 3]) {
    let section = api.section("Results").await;
    let cases = [
        api.case(section, "first").await,
        api.case(section, "second").await,
        api.case(section, "outside").await,
    ];
    let run = api
        .ok(
            "add_run/1",
            json!({"name": "Nightly", "include_all": false, "case_ids": [cases[0], cases[1]]}),
        )
        .await;
    (run["id"].as_u64().unwrap(), cases)
}

#[tokio::test]
async fn results_for_cases_are_stored_in_order() {
    let api = Api::start().await;
    let (run, cases) = run_with_two_cases(&api).await;

    let created = api
        .ok(
            &format!("add_results_for_cases/{run}"),
            json!({"results": [
                {"case_id": cases[1], "status_id": 5, "comment": "boom", "elapsed": "1m 5s",
                 "attachments": [], "custom_step_results": []},
                {"case_id": cases[0], "status_id": 1, "elapsed": "30s", "version": "1.2"},
            ]}),
        )
        .await;
    let created = created.as_array().expect("array of results");
    assert_eq!(created.len(), 2);
    let first_id = created[0]["id"].as_u64().unwrap();
    let second_id = created[1]["id"].as_u64().unwrap();
    assert!(first_id < second_id);
    assert_eq!(created[0]["status_id"], 5);
    assert_eq!(created[0]["comment"], "boom");
    assert_eq!(created[1]["version"], "1.2");

    let (_, tests) = api.get(&format!("get_tests/{run}")).await;
    let status_of = |case_id: u64| {
        tests["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|test| test["case_id"] == case_id)
            .map(|test| test["status_id"].clone())
    };
    assert_eq!(status_of(cases[0]), Some(json!(1)));
    assert_eq!(status_of(cases[1]), Some(json!(5)));

    let (_, run_body) = api.get(&format!("get_run/{run}")).await;
    assert_eq!(run_body["passed_count"], 1);
    assert_eq!(run_body["failed_count"], 1);
    assert_eq!(run_body["untested_count"], 0);
    assert_eq!(run_body["blocked_count"], 0);
    assert_eq!(run_body["custom_status1_count"], 0);

    let (_, failed) = api
        .get(&format!("get_results_for_run/{run}&status_id=5"))
        .await;
    assert_eq!(failed["results"].as_array().map(Vec::len), Some(1));
    let (_, for_case) = api
        .get(&format!("get_results_for_case/{run}/{}", cases[0]))
        .await;
    assert_eq!(for_case["results"][0]["id"], second_id);
    api.finish().await;
}

#[tokio::test]
async fn invalid_entry_rejects_whole_request() {
    let api = Api::start().await;
    let (run, cases) = run_with_two_cases(&api).await;
    let good = json!({"case_id": cases[0], "status_id": 1});

    let outside = cases[2].to_string();
    let bad_entries = [
        (json!({"case_id": 9999, "status_id": 1}), "9999"),
        (
            json!({"case_id": cases[2], "status_id": 1}),
            outside.as_str(),
        ),
        (json!({"case_id": cases[1], "status_id": 3}), "Untested"),
        (json!({"case_id": cases[1], "status_id": 42}), "42"),
        (
            json!({"case_id": cases[1], "status_id": 1, "elapsed": "0s"}),
            "0s",
        ),
        (
            json!({"case_id": cases[1], "status_id": 1, "elapsed": "1.5s"}),
            "1.5s",
        ),
        (
            json!({"case_id": cases[1], "status_id": 1, "elapsed": "soon"}),
            "soon",
        ),
        (json!({"status_id": 1}), "case_id"),
    ];
    for (bad, expected) in bad_entries {
        let (status, body) = api
            .post(
                &format!("add_results_for_cases/{run}"),
                json!({"results": [good.clone(), bad.clone()]}),
            )
            .await;
        assert_eq!(status, 400, "{bad} was accepted");
        assert!(
            error_text(&body).contains(expected),
            "error for {bad} does not name {expected}: {body}"
        );
    }

    let state = api.emulator.state_json();
    assert_eq!(state["results"].as_array().map(Vec::len), Some(0));
    let (_, run_body) = api.get(&format!("get_run/{run}")).await;
    assert_eq!(run_body["untested_count"], 2);
    api.finish().await;
}

#[tokio::test]
async fn closed_run_rejects_results() {
    let api = Api::start().await;
    let (run, cases) = run_with_two_cases(&api).await;
    let closed = api.ok(&format!("close_run/{run}"), json!({})).await;
    assert_eq!(closed["is_completed"], true);
    assert!(closed["completed_on"].as_i64().is_some());

    let (status, body) = api
        .post(
            &format!("add_results_for_cases/{run}"),
            json!({"results": [{"case_id": cases[0], "status_id": 1}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains("closed"), "{body}");
    api.finish().await;
}

#[tokio::test]
async fn attachment_upload_is_stored() {
    let api = Api::start().await;
    let (run, cases) = run_with_two_cases(&api).await;
    let created = api
        .ok(
            &format!("add_result_for_case/{run}/{}", cases[0]),
            json!({"status_id": 5}),
        )
        .await;
    let result_id = created["id"].as_u64().unwrap();

    let part = reqwest::multipart::Part::bytes(vec![7u8; 1234])
        .file_name("screen.png")
        .mime_str("image/png")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("attachment", part);
    let response = api
        .client
        .post(api.api_url(&format!("add_attachment_to_result/{result_id}")))
        .basic_auth(crate::common::USER, Some(crate::common::PASSWORD))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = crate::common::read(response).await;
    assert_eq!(status, 200, "{body}");
    let attachment_id = body["attachment_id"].as_u64().expect("attachment id");

    let state = api.emulator.state_json();
    let stored = &state["attachments"][0];
    assert_eq!(stored["id"], attachment_id);
    assert_eq!(stored["name"], "screen.png");
    assert_eq!(stored["size"], 1234);
    assert_eq!(stored["result_id"], result_id);

    let (status, _) = api.post("add_attachment_to_result/9999", Value::Null).await;
    assert_eq!(status, 400);
    api.finish().await;
}

#[tokio::test]
async fn undefined_custom_result_fields_are_ignored() {
    let api = Api::start().await;
    let (run, cases) = run_with_two_cases(&api).await;

    // The shape of one result as trcli 1.15.3 sends it.
    let steps = json!([{"content": "open the cart", "status_id": 1}]);
    let created = api
        .ok(
            &format!("add_results_for_cases/{run}"),
            json!({"results": [{
                "case_id": cases[0],
                "status_id": 1,
                "comment": "",
                "attachments": [],
                "custom_step_results": steps,
                "custom_testrail_bdd_scenario_results": [],
            }]}),
        )
        .await;
    assert_eq!(created[0]["custom_step_results"], steps);
    assert!(
        created[0]
            .get("custom_testrail_bdd_scenario_results")
            .is_none(),
        "an undefined custom field was returned: {created}"
    );
    assert!(created[0].get("attachments").is_none(), "{created}");

    let (_, listed) = api.get(&format!("get_results_for_run/{run}")).await;
    let result = &listed["results"][0];
    assert_eq!(result["custom_step_results"], steps);
    assert!(
        result.get("custom_testrail_bdd_scenario_results").is_none(),
        "an undefined custom field was stored: {result}"
    );
    api.finish().await;
}
