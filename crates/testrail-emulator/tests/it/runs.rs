//! Runs, their case selection, multi-suite projects and plans.

use serde_json::json;
use testrail_emulator::{EmulatorConfig, Seed};

use crate::common::{Api, error_text};

#[tokio::test]
async fn update_run_replaces_case_ids() {
    let api = Api::start().await;
    let section = api.section("Runs").await;
    let a = api.case(section, "a").await;
    let b = api.case(section, "b").await;
    let c = api.case(section, "c").await;
    let run = api
        .ok(
            "add_run/1",
            json!({"name": "R", "include_all": false, "case_ids": [a, b]}),
        )
        .await;
    let run_id = run["id"].as_u64().unwrap();
    assert_eq!(
        run["url"],
        format!("{}index.php?/runs/view/{run_id}", api.emulator.url())
    );
    assert_eq!(run["plan_id"], serde_json::Value::Null);
    assert!(run["config_ids"].is_array());
    api.ok(
        &format!("add_result_for_case/{run_id}/{a}"),
        json!({"status_id": 1}),
    )
    .await;

    api.ok(
        &format!("update_run/{run_id}"),
        json!({"include_all": false, "case_ids": [a, c]}),
    )
    .await;
    let mut case_ids = api.run_case_ids(run_id).await;
    case_ids.sort_unstable();
    assert_eq!(case_ids, vec![a, c]);
    let (_, kept) = api.get(&format!("get_results_for_case/{run_id}/{a}")).await;
    assert_eq!(kept["results"].as_array().map(Vec::len), Some(1));
    let (_, run) = api.get(&format!("get_run/{run_id}")).await;
    assert_eq!(run["passed_count"], 1);
    assert_eq!(run["untested_count"], 1);
    api.finish().await;
}

#[tokio::test]
async fn include_all_runs_get_new_cases() {
    let api = Api::start().await;
    let section = api.section("All").await;
    let a = api.case(section, "a").await;
    let all = api.ok("add_run/1", json!({"name": "all"})).await;
    let picked = api
        .ok(
            "add_run/1",
            json!({"name": "picked", "include_all": false, "case_ids": [a]}),
        )
        .await;
    let b = api.case(section, "b").await;

    let all_cases = api.run_case_ids(all["id"].as_u64().unwrap()).await;
    assert_eq!(all_cases, vec![a, b]);
    let picked_cases = api.run_case_ids(picked["id"].as_u64().unwrap()).await;
    assert_eq!(picked_cases, vec![a]);
    api.finish().await;
}

fn two_project_seed() -> Seed {
    serde_json::from_value(json!({
        "projects": [
            {"id": 1, "name": "Demo", "suite_mode": 1, "suites": [{"id": 1, "name": "Master"}]},
            {"id": 2, "name": "Mobile", "suite_mode": 3,
             "suites": [{"id": 2, "name": "iOS"}, {"id": 3, "name": "Android"}]}
        ],
        "sections": [{"id": 1, "suite_id": 1, "name": "Web"}, {"id": 2, "suite_id": 2, "name": "App"}],
        "cases": [{"id": 1, "section_id": 1, "title": "web"}, {"id": 2, "section_id": 2, "title": "ios"}]
    }))
    .expect("seed parses")
}

#[tokio::test]
async fn suite_rules_follow_suite_mode() {
    let api = Api::start_with(EmulatorConfig {
        seed: Some(two_project_seed()),
        ..EmulatorConfig::default()
    })
    .await;

    let (status, body) = api.get("get_cases/2").await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains(":suite_id"), "{body}");
    let (status, body) = api.post("add_run/2", json!({"name": "no suite"})).await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains(":suite_id"), "{body}");
    let (status, body) = api.post("add_section/2", json!({"name": "no suite"})).await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = api.get("get_cases/2&suite_id=2").await;
    assert_eq!(status, 200);
    assert_eq!(body["cases"][0]["id"], 2);

    // Ids of another project are rejected.
    let (status, body) = api.get("get_cases/1&suite_id=2").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = api
        .post("add_run/1", json!({"name": "x", "suite_id": 3}))
        .await;
    assert_eq!(status, 400);
    let (status, body) = api
        .post(
            "add_run/1",
            json!({"name": "x", "include_all": false, "case_ids": [2]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error_text(&body).contains('2'), "{body}");
    let (status, _) = api
        .post(
            "add_section/2",
            json!({"name": "child", "suite_id": 3, "parent_id": 2}),
        )
        .await;
    assert_eq!(status, 400);

    // A single-suite project takes no second suite, but a multi-suite one does.
    let (status, _) = api.post("add_suite/1", json!({"name": "Second"})).await;
    assert_eq!(status, 400);
    let suite = api.ok("add_suite/2", json!({"name": "Web"})).await;
    assert_eq!(suite["project_id"], 2);
    api.finish().await;
}

#[tokio::test]
async fn plans_create_runs_per_entry() {
    let api = Api::start().await;
    let section = api.section("Plan").await;
    let a = api.case(section, "a").await;
    let plan = api
        .ok(
            "add_plan/1",
            json!({"name": "Release", "entries": [{"suite_id": 1, "include_all": false, "case_ids": [a]}]}),
        )
        .await;
    let plan_id = plan["id"].as_u64().unwrap();
    let run = &plan["entries"][0]["runs"][0];
    let run_id = run["id"].as_u64().unwrap();
    assert_eq!(run["plan_id"], plan_id);
    assert_eq!(api.run_case_ids(run_id).await, vec![a]);

    let (_, runs) = api.get("get_runs/1").await;
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(0));

    let entry = api
        .ok(&format!("add_plan_entry/{plan_id}"), json!({"suite_id": 1}))
        .await;
    let entry_id = entry["id"].as_str().unwrap().to_string();
    let b = api.case(section, "b").await;
    let entry_run = entry["runs"][0]["id"].as_u64().unwrap();
    assert_eq!(api.run_case_ids(entry_run).await, vec![a, b]);

    api.ok(
        &format!("update_plan_entry/{plan_id}/{entry_id}"),
        json!({"include_all": false, "case_ids": [b]}),
    )
    .await;
    assert_eq!(api.run_case_ids(entry_run).await, vec![b]);

    let closed = api.ok(&format!("close_plan/{plan_id}"), json!({})).await;
    assert_eq!(closed["is_completed"], true);
    let (_, run) = api.get(&format!("get_run/{run_id}")).await;
    assert_eq!(run["is_completed"], true);
    api.ok(&format!("delete_plan/{plan_id}"), json!({})).await;
    let (status, _) = api.get(&format!("get_run/{run_id}")).await;
    assert_eq!(status, 400);
    api.finish().await;
}

#[tokio::test]
async fn get_runs_filters_and_deletes() {
    let api = Api::start().await;
    let first = api.ok("add_run/1", json!({"name": "one"})).await;
    api.ok("add_run/1", json!({"name": "two"})).await;
    api.ok(&format!("close_run/{}", first["id"]), json!({}))
        .await;

    let (_, open) = api.get("get_runs/1&is_completed=0").await;
    assert_eq!(open["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(open["runs"][0]["name"], "two");
    let (_, closed) = api.get("get_runs/1&is_completed=1").await;
    assert_eq!(closed["runs"][0]["name"], "one");

    api.ok(&format!("delete_run/{}", first["id"]), json!({}))
        .await;
    let (_, all) = api.get("get_runs/1").await;
    assert_eq!(all["runs"].as_array().map(Vec::len), Some(1));
    api.finish().await;
}
