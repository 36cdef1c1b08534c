//! End-to-end tests of `trail report` with Playwright JSON reports against
//! an emulator seeded with a custom status, extra users and a custom result
//! field. TestRail's state is checked through the API and the emulator's
//! request log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};
use testrail_api::models::{Case, CaseFilter, ResultEntry};
use testrail_api::{Client, ClientConfig};
use testrail_emulator::{Emulator, EmulatorConfig, Seed};

const PASSED: u64 = 1;
const BLOCKED: u64 = 2;
const FAILED: u64 = 5;
const FLAKY: u64 = 6;

fn corpus_file(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/playwright-json")
        .join(name);
    assert!(
        path.is_file(),
        "corpus file not found at {}; the shared folder must sit beside the repository",
        path.display()
    );
    path
}

fn seed(cases: Value) -> Seed {
    serde_json::from_value(json!({
        "users": [
            {"id": 1, "name": "Administrator", "email": "admin@example.com"},
            {"id": 2, "name": "Ana QA", "email": "ana@example.com"},
            {"id": 3, "name": "Bo QA", "email": "bo@example.com"}
        ],
        "sections": [{"id": 1, "suite_id": 1, "name": "Manual"}],
        "cases": cases,
        "statuses": [{"id": 6, "name": "custom_status1", "label": "Flaky", "is_final": false}],
        "result_fields": [{
            "id": 201, "is_active": true, "type_id": 6, "name": "environment",
            "system_name": "custom_environment", "label": "Environment",
            "configs": [{"context": {"is_global": true, "project_ids": null},
                         "options": {"is_required": false, "items": "1, Staging\n2, Production"}}]
        }]
    }))
    .unwrap()
}

async fn start_with(cases: Value) -> (Emulator, Client) {
    let config = EmulatorConfig {
        seed: Some(seed(cases)),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let client =
        Client::new(ClientConfig::new(&emulator.url(), "admin@example.com", "secret").unwrap())
            .unwrap();
    (emulator, client)
}

async fn start() -> (Emulator, Client) {
    start_with(json!([])).await
}

fn trail(emulator: &Emulator, dir: &Path) -> Command {
    let mut command = Command::cargo_bin("trail").unwrap();
    command
        .env_clear()
        .env("TESTRAIL_HOST", emulator.url())
        .env("TESTRAIL_USER", "admin@example.com")
        .env("TESTRAIL_API_KEY", "secret")
        .env("TRAIL_SPOOL", dir.join("spool"))
        .current_dir(dir);
    command
}

/// Runs `trail report FILE --project Demo` with extra arguments off the
/// async runtime's threads.
async fn report(
    emulator: &Emulator,
    dir: &Path,
    file: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut command = trail(emulator, dir);
    command.args(["report", file.to_str().unwrap(), "--project", "Demo"]);
    command.args(extra);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn summary_of(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn cases_by_title(client: &Client) -> BTreeMap<String, Case> {
    client
        .get_cases(1, &CaseFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|case| (case.title.clone(), case))
        .collect()
}

/// Returns the results of a run by case title.
async fn results_by_title(client: &Client, run_id: u64) -> BTreeMap<String, Vec<ResultEntry>> {
    let tests = client.get_tests(run_id, None).await.unwrap();
    let titles: BTreeMap<u64, String> = tests.iter().map(|t| (t.id, t.title.clone())).collect();
    let mut by_title: BTreeMap<String, Vec<ResultEntry>> = BTreeMap::new();
    for result in client.get_results_for_run(run_id).await.unwrap() {
        by_title
            .entry(titles[&result.test_id].clone())
            .or_default()
            .push(result);
    }
    by_title
}

/// Counts requests to an API method among the logged requests after the
/// first `skip`.
fn count_requests(emulator: &Emulator, skip: usize, method: &str) -> usize {
    emulator
        .request_log()
        .iter()
        .skip(skip)
        .filter(|r| api_method(&r.path) == method)
        .count()
}

fn api_method(path: &str) -> &str {
    let after = path.split("/api/v2/").nth(1).unwrap_or_default();
    after.split(['/', '&']).next().unwrap_or_default()
}

fn run_step(title: &str, error: Option<&str>) -> Value {
    let mut step = json!({"title": title, "category": "test.step", "duration": 12, "steps": []});
    if let Some(message) = error {
        step["error"] = json!({"message": message});
    }
    step
}

fn passed_run(steps: Vec<Value>, attachments: Vec<Value>) -> Value {
    json!({"status": "passed", "duration": 1200, "errors": [], "steps": steps,
           "attachments": attachments, "stdout": [], "stderr": []})
}

fn failed_run(message: &str, steps: Vec<Value>, attachments: Vec<Value>) -> Value {
    json!({"status": "failed", "duration": 900,
           "errors": [{"message": message,
                       "stack": format!("Error: {message}\n    at checkout.spec.ts:9:5\n    at frame2\n    at frame3"),
                       "location": {"file": "checkout.spec.ts", "line": 9, "column": 5}}],
           "steps": steps, "attachments": attachments, "stdout": [], "stderr": []})
}

fn test_entry(project: &str, status: &str, annotations: Value, results: Vec<Value>) -> Value {
    json!({"projectName": project, "projectId": project, "status": status,
           "annotations": annotations, "results": results})
}

fn spec(title: &str, tags: &[&str], tests: Vec<Value>) -> Value {
    json!({"title": title, "tags": tags, "file": "checkout.spec.ts", "line": 5, "tests": tests})
}

/// Writes a Playwright JSON report with one file suite, one describe block
/// and `specs`, and returns its path.
fn write_report(dir: &Path, specs: Vec<Value>) -> PathBuf {
    let report = json!({
        "config": {"version": "1.57.0"},
        "suites": [{
            "title": "checkout.spec.ts", "file": "checkout.spec.ts", "specs": [],
            "suites": [{"title": "Checkout", "file": "checkout.spec.ts", "specs": specs, "suites": []}]
        }],
        "errors": [],
        "stats": {"expected": 1, "unexpected": 1, "flaky": 1, "skipped": 0}
    });
    let path = dir.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    path
}

/// The main fixture: a tagged test with steps in two projects that fails in
/// one, a flaky test, and a plain test.
fn checkout_specs() -> Vec<Value> {
    let steps = || vec![run_step("Open the cart", None), run_step("Pay", None)];
    vec![
        spec(
            "pays by card @smoke @high",
            &["smoke", "high"],
            vec![
                test_entry(
                    "chromium",
                    "expected",
                    json!([]),
                    vec![passed_run(
                        steps(),
                        vec![
                            json!({"name": "screenshot", "contentType": "image/png", "path": "shots/pay-chromium.png"}),
                        ],
                    )],
                ),
                test_entry(
                    "firefox",
                    "unexpected",
                    json!([]),
                    vec![failed_run(
                        "\u{1b}[31mExpected total 10\u{1b}[39m",
                        vec![
                            run_step("Open the cart", None),
                            run_step("Pay", Some("Expected total 10")),
                        ],
                        vec![
                            json!({"name": "screenshot", "contentType": "image/png", "path": "shots/pay-firefox.png"}),
                            json!({"name": "log", "contentType": "text/plain", "body": "aGVsbG8="}),
                        ],
                    )],
                ),
            ],
        ),
        spec(
            "keeps the cart after reload",
            &[],
            vec![test_entry(
                "chromium",
                "flaky",
                json!([]),
                vec![
                    failed_run("Timed out waiting for cart", vec![], vec![]),
                    passed_run(vec![], vec![]),
                ],
            )],
        ),
        spec(
            "shows the total",
            &[],
            vec![test_entry(
                "chromium",
                "expected",
                json!([]),
                vec![passed_run(vec![], vec![])],
            )],
        ),
    ]
}

fn write_checkout(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("shots")).unwrap();
    std::fs::write(dir.join("shots/pay-chromium.png"), b"chromium png").unwrap();
    std::fs::write(dir.join("shots/pay-firefox.png"), b"firefox png").unwrap();
    write_report(dir, checkout_specs())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_fold_into_one_worst_result() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_checkout(dir.path());

    let output = report(
        &emulator,
        dir.path(),
        &file,
        &["--run-name", "CI", "--format", "json"],
    )
    .await;
    let summary = summary_of(&output);
    assert_eq!(summary["tests_read"], 4);
    assert_eq!(
        summary["cases_created"], 3,
        "one case per spec, not per project"
    );
    assert_eq!(summary["results_uploaded"], 3);

    let run_id = summary["run_id"].as_u64().unwrap();
    let results = results_by_title(&client, run_id).await;
    let pays = &results["pays by card"];
    assert_eq!(pays.len(), 1, "one result for both projects");
    assert_eq!(pays[0].status_id, Some(FAILED), "the firefox failure wins");
    let comment = pays[0].comment.as_deref().unwrap();
    assert!(comment.contains("[chromium]: Passed"), "{comment}");
    assert!(comment.contains("[firefox]: Failed"), "{comment}");
    assert!(comment.contains("Failed step: Pay"), "{comment}");
    assert!(comment.contains("Expected total 10"), "{comment}");
    assert!(comment.contains("at checkout.spec.ts:9:5"), "{comment}");
    assert!(
        !comment.contains('\u{1b}'),
        "ANSI codes stay out: {comment:?}"
    );

    let flaky = &results["keeps the cart after reload"][0];
    assert_eq!(
        flaky.status_id,
        Some(PASSED),
        "a flaky pass is Passed by default"
    );
    let comment = flaky.comment.as_deref().unwrap();
    assert!(
        comment.contains("Flaky: passed on try 2 of 2 after 1 failed"),
        "{comment}"
    );
    assert!(comment.contains("Timed out waiting for cart"), "{comment}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_cases_get_managed_fields() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_checkout(dir.path());

    let output = report(
        &emulator,
        dir.path(),
        &file,
        &[
            "--run-name",
            "CI",
            "--section",
            "Web/Checkout",
            "--platform",
            "web",
            "--format",
            "json",
        ],
    )
    .await;
    summary_of(&output);

    let sections = client.get_sections(1, Some(1)).await.unwrap();
    let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["Manual", "Web", "Checkout", "checkout.spec.ts", "Checkout"]
    );
    let leaf = sections.last().unwrap();

    let cases = cases_by_title(&client).await;
    let pays = &cases["pays by card"];
    assert_eq!(
        pays.section_id,
        Some(leaf.id),
        "file and describe block sections"
    );
    assert_eq!(pays.type_id, Some(11), "@smoke is Smoke & Sanity");
    assert_eq!(pays.priority_id, Some(3), "@high is High");
    assert_eq!(pays.template_id, Some(2), "Test Case (Steps)");
    assert_eq!(
        pays.extra["custom_steps_separated"],
        json!([{"content": "Open the cart", "expected": ""}, {"content": "Pay", "expected": ""}])
    );
    assert_eq!(pays.extra["custom_automation_type"], json!(1), "Automated");
    assert_eq!(pays.extra["custom_platform"], json!(1), "Web");
    assert_eq!(
        pays.extra["custom_automation_id"],
        json!("checkout.spec.ts > Checkout > pays by card")
    );

    let plain = &cases["shows the total"];
    assert_eq!(plain.type_id, Some(7), "no purpose tag is Other");
    assert_eq!(plain.priority_id, Some(2), "no priority tag is the default");
    assert_eq!(
        plain.template_id,
        Some(1),
        "no steps keeps the text template"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_upload_updates_no_case() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_checkout(dir.path());
    let args = ["--run-name", "CI", "--platform", "Web", "--format", "json"];

    summary_of(&report(&emulator, dir.path(), &file, &args).await);
    let cases_before = cases_by_title(&client).await;
    let logged = emulator.request_log().len();
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);

    assert_eq!(summary["cases_created"], 0);
    assert_eq!(summary["cases_updated"], 0);
    assert_eq!(count_requests(&emulator, logged, "update_case"), 0);
    assert_eq!(count_requests(&emulator, logged, "update_cases"), 0);
    assert_eq!(
        count_requests(&emulator, logged, "add_results_for_cases"),
        1
    );
    assert_eq!(cases_by_title(&client).await.len(), cases_before.len());
}

/// Cases that people wrote by hand: tests name `C1` and `C4` by id and
/// find `C2` and `C3` by automation id.
fn manual_cases() -> Value {
    json!([
        {"id": 1, "section_id": 1, "title": "Pay by card", "custom_automation_type": 0,
         "type_id": 7},
        {"id": 2, "section_id": 1, "title": "Cart survives reload", "custom_automation_type": 0,
         "custom_automation_id": "checkout.spec.ts > Checkout > keeps the cart after reload"},
        {"id": 3, "section_id": 1, "title": "Total is shown", "custom_automation_type": 0,
         "custom_automation_id": "checkout.spec.ts > Checkout > shows the total"},
        {"id": 4, "section_id": 1, "title": "Totals print", "custom_automation_type": 0,
         "type_id": 7}
    ])
}

fn tagged_specs() -> Vec<Value> {
    let annotated = |id: &str| json!([{"type": "testrail", "description": id}]);
    vec![
        spec(
            "pays by card @regression",
            &["regression"],
            vec![test_entry(
                "chromium",
                "expected",
                annotated("C1"),
                vec![passed_run(vec![], vec![])],
            )],
        ),
        spec(
            "keeps the cart after reload",
            &[],
            vec![test_entry(
                "chromium",
                "expected",
                json!([]),
                vec![passed_run(vec![], vec![])],
            )],
        ),
        spec(
            "prints totals @C4",
            &["C4"],
            vec![test_entry(
                "chromium",
                "expected",
                json!([]),
                vec![passed_run(vec![], vec![])],
            )],
        ),
        spec(
            "shows the total",
            &[],
            vec![test_entry(
                "chromium",
                "expected",
                json!([]),
                vec![passed_run(vec![], vec![])],
            )],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_cases_get_only_changed_fields() {
    let (emulator, client) = start_with(manual_cases()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_report(dir.path(), tagged_specs());

    let dry = report(
        &emulator,
        dir.path(),
        &file,
        &["--run-name", "CI", "--dry-run"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{stdout}");
    assert!(stdout.contains("cases to update:"), "{stdout}");
    assert!(stdout.contains("C1 `Pay by card`"), "{stdout}");
    assert!(stdout.contains("type_id: 7 -> 9"), "{stdout}");
    assert!(
        stdout.contains("custom_automation_type: 0 -> 1"),
        "{stdout}"
    );

    let logged = emulator.request_log().len();
    let summary = summary_of(
        &report(
            &emulator,
            dir.path(),
            &file,
            &["--run-name", "CI", "--format", "json"],
        )
        .await,
    );
    assert_eq!(summary["cases_created"], 0, "every test matched a case");
    assert_eq!(summary["cases_updated"], 3);

    let log = emulator.request_log();
    let updates: Vec<_> = log
        .iter()
        .skip(logged)
        .filter(|r| api_method(&r.path).starts_with("update_case"))
        .collect();
    let single: Vec<_> = updates
        .iter()
        .filter(|r| api_method(&r.path) == "update_case")
        .collect();
    let bulk: Vec<_> = updates
        .iter()
        .filter(|r| api_method(&r.path) == "update_cases")
        .collect();
    assert_eq!(single.len(), 1, "C1 has a change of its own: {updates:?}");
    assert_eq!(
        single[0].body,
        Some(json!({"type_id": 9})),
        "a case named by id only gets the fields its tags request"
    );
    assert_eq!(bulk.len(), 1, "C2 and C3 share one change: {updates:?}");
    let body = bulk[0].body.as_ref().unwrap();
    assert_eq!(body["custom_automation_type"], json!(1));
    assert_eq!(body["case_ids"], json!([2, 3]), "{body}");

    let cases = cases_by_title(&client).await;
    assert_eq!(
        cases["Pay by card"].type_id,
        Some(9),
        "@regression is Regression"
    );
    assert_eq!(
        cases["Total is shown"].extra["custom_automation_type"],
        json!(1)
    );
    let automation_id = cases["Pay by card"].extra.get("custom_automation_id");
    assert!(
        automation_id.is_none_or(|id| id.as_str().unwrap_or_default().is_empty()),
        "a case named by id keeps its empty automation id: {automation_id:?}"
    );
    assert_eq!(
        cases["Totals print"].extra["custom_automation_type"],
        json!(0),
        "a case named by id without tags is left alone"
    );
    assert_eq!(cases["Totals print"].type_id, Some(7));
    assert_eq!(
        cases["Pay by card"].title, "Pay by card",
        "titles are left alone"
    );

    let logged = emulator.request_log().len();
    summary_of(
        &report(
            &emulator,
            dir.path(),
            &file,
            &["--run-name", "CI", "--format", "json"],
        )
        .await,
    );
    assert_eq!(count_requests(&emulator, logged, "update_case"), 0);
    assert_eq!(count_requests(&emulator, logged, "update_cases"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_cases_never_sends_no_update() {
    let (emulator, client) = start_with(manual_cases()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_report(dir.path(), tagged_specs());

    let args = [
        "--run-name",
        "CI",
        "--update-cases",
        "never",
        "--format",
        "json",
    ];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    assert_eq!(summary["cases_updated"], 0);
    assert_eq!(count_requests(&emulator, 0, "update_case"), 0);
    assert_eq!(count_requests(&emulator, 0, "update_cases"), 0);
    let cases = cases_by_title(&client).await;
    assert_eq!(
        cases["Pay by card"].extra["custom_automation_type"],
        json!(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_go_to_results() {
    let (emulator, client) = start().await;
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("test-results");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(outer.path().join("secret.txt"), b"do not upload").unwrap();
    let mut specs = checkout_specs();
    specs.push(spec(
        "links outside",
        &[],
        vec![test_entry(
            "chromium",
            "unexpected",
            json!([]),
            vec![failed_run(
                "boom",
                vec![],
                vec![
                    json!({"name": "trace", "path": "../secret.txt"}),
                    json!({"name": "video", "path": "missing/video.webm"}),
                ],
            )],
        )],
    ));
    std::fs::create_dir_all(dir.join("shots")).unwrap();
    std::fs::write(dir.join("shots/pay-chromium.png"), b"chromium png").unwrap();
    std::fs::write(dir.join("shots/pay-firefox.png"), b"firefox png").unwrap();
    let file = write_report(&dir, specs);

    let output = report(
        &emulator,
        &dir,
        &file,
        &["--run-name", "CI", "--format", "json"],
    )
    .await;
    let summary = summary_of(&output);
    assert_eq!(summary["attachments_uploaded"], 3);
    let warnings = summary["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].as_str().unwrap().contains("outside"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].as_str().unwrap().contains("missing"),
        "{warnings:?}"
    );

    let run_id = summary["run_id"].as_u64().unwrap();
    let results = results_by_title(&client, run_id).await;
    assert_eq!(
        results["pays by card"][0].attachment_ids.len(),
        3,
        "both projects' screenshots and the inline log"
    );
    assert!(results["links outside"][0].attachment_ids.is_empty());
    let state = emulator.state_json();
    let mut names: Vec<&str> = state["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "chromium-pay-chromium.png",
            "firefox-log.txt",
            "firefox-pay-firefox.png"
        ]
    );

    let logged = emulator.request_log().len();
    let args = ["--run-name", "CI", "--no-attachments", "--format", "json"];
    let summary = summary_of(&report(&emulator, &dir, &file, &args).await);
    assert_eq!(summary["attachments_uploaded"], 0);
    assert_eq!(
        count_requests(&emulator, logged, "add_attachment_to_result"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_attachment_is_skipped() {
    let (emulator, _client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_checkout(dir.path());
    std::fs::write(
        dir.path().join("shots/pay-firefox.png"),
        vec![0u8; 2 * 1024 * 1024],
    )
    .unwrap();

    let args = [
        "--run-name",
        "CI",
        "--attachment-max-mb",
        "1",
        "--format",
        "json",
    ];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    assert_eq!(summary["attachments_uploaded"], 2);
    let warnings = summary["warnings"].to_string();
    assert!(warnings.contains("over the 1.0 MiB limit"), "{warnings}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_reports_upload() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();

    // v1.57: a flaky test with two failed retries and an interrupted test.
    let file = corpus_file("v1.57-flaky-retries-steps-interrupted.json");
    let args = [
        "--run-name",
        "v1.57",
        "--status",
        "flaky=Flaky",
        "--format",
        "json",
    ];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    let run_id = summary["run_id"].as_u64().unwrap();
    let stored = client.get_results_for_run(run_id).await.unwrap();
    assert_eq!(
        stored.len() as u64,
        summary["results_uploaded"].as_u64().unwrap()
    );
    let statuses: Vec<u64> = stored.iter().filter_map(|r| r.status_id).collect();
    assert!(
        statuses.contains(&FLAKY),
        "the flaky test gets the custom status: {statuses:?}"
    );
    assert!(
        statuses.contains(&BLOCKED),
        "interrupted is Blocked: {statuses:?}"
    );
    let flaky = stored.iter().find(|r| r.status_id == Some(FLAKY)).unwrap();
    let comment = flaky.comment.as_deref().unwrap();
    assert!(comment.contains("after 2 failed"), "{comment}");
    for result in &stored {
        let comment = result.comment.as_deref().unwrap_or_default();
        assert!(!comment.contains('\u{1b}'), "ANSI codes in {comment:?}");
    }
    assert!(
        summary["warnings"].to_string().contains("missing"),
        "attachment paths from another machine are warnings"
    );

    // v1.58: a timed-out test and a setup project.
    let file = corpus_file("v1.58-timedout-setup-project-attachments.json");
    let args = ["--run-name", "v1.58", "--format", "json"];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    let run_id = summary["run_id"].as_u64().unwrap();
    let results = results_by_title(&client, run_id).await;
    assert_eq!(
        results["Intake Create"][0].status_id,
        Some(FAILED),
        "timedOut is Failed"
    );
    assert_eq!(results["Login and save session"][0].status_id, Some(PASSED));

    // v1.55: five projects per spec fold into one result per case.
    let file = corpus_file("v1.55-tags-multi-project-nonascii.json");
    let args = ["--run-name", "v1.55", "--format", "json"];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    assert_eq!(summary["tests_read"], 20);
    assert_eq!(summary["results_uploaded"], 4);
    let run_id = summary["run_id"].as_u64().unwrap();
    let results = results_by_title(&client, run_id).await;
    let login = &results["Login exitoso"][0];
    assert_eq!(
        login.status_id,
        Some(FAILED),
        "timed out in Dev and firefox"
    );
    let comment = login.comment.as_deref().unwrap();
    for project in ["Dev", "Test", "chromium", "firefox", "webkit"] {
        assert!(
            comment.contains(&format!("[{project}]")),
            "{project} line in {comment}"
        );
    }
    assert!(results.contains_key("Login fallido por contraseña incorrecta"));
    let cases = cases_by_title(&client).await;
    assert_eq!(
        cases["Login exitoso"].type_id,
        Some(9),
        "the first purpose tag, @Regression, decides"
    );
    assert_eq!(cases["Login exitoso"].priority_id, Some(2));

    // v1.31: the legacy schema without stats or project ids.
    let file = corpus_file("v1.31-legacy-no-stats.json");
    let args = ["--run-name", "v1.31", "--format", "json"];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    let run_id = summary["run_id"].as_u64().unwrap();
    let results = results_by_title(&client, run_id).await;
    assert_eq!(results["Login Error Message"][0].status_id, Some(FAILED));
    assert_eq!(results["Login Form"][0].status_id, Some(PASSED));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_options_shape_new_run() {
    let (emulator, client) = start().await;
    client
        .post_json("add_milestone/1", &json!({"name": "Release 2.0"}))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write_checkout(dir.path());

    let args = [
        "--run-name",
        "CI",
        "--milestone",
        "release 2.0",
        "--refs",
        "SHOP-1",
        "--assign-to",
        "ana@example.com",
        "--format",
        "json",
    ];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    let first = summary["run_id"].as_u64().unwrap();
    let run = client.get_run(first).await.unwrap();
    assert_eq!(run.milestone_id, Some(1));
    assert_eq!(run.refs.as_deref(), Some("SHOP-1"));
    assert_eq!(run.assignedto_id, Some(2));
    assert!(!run.include_all);

    let args = [
        "--run-name",
        "CI",
        "--reset",
        "--include-all",
        "--format",
        "json",
    ];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    let second = summary["run_id"].as_u64().unwrap();
    assert_ne!(second, first, "--reset starts a new run");
    assert!(client.get_run(second).await.unwrap().include_all);
    assert!(!client.get_run(first).await.unwrap().is_completed);

    let args = ["--run-name", "CI", "--milestone", "Release 3.0"];
    let output = report(&emulator, dir.path(), &file, &args).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing milestone is a config error"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`Release 2.0`"),
        "lists the milestones: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_fields_and_failed_assignees() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut specs = checkout_specs();
    for title in ["declines an expired card", "declines a stolen card"] {
        specs.push(spec(
            title,
            &[],
            vec![test_entry(
                "chromium",
                "unexpected",
                json!([]),
                vec![failed_run("declined", vec![], vec![])],
            )],
        ));
    }
    std::fs::create_dir_all(dir.path().join("shots")).unwrap();
    let file = write_report(dir.path(), specs);

    let args = [
        "--run-name",
        "CI",
        "--result-field",
        "Environment=production",
        "--assign-failed",
        "ana@example.com,bo@example.com",
        "--no-attachments",
        "--format",
        "json",
    ];
    let summary = summary_of(&report(&emulator, dir.path(), &file, &args).await);
    let run_id = summary["run_id"].as_u64().unwrap();
    let results = results_by_title(&client, run_id).await;
    for entries in results.values() {
        assert_eq!(entries[0].extra["custom_environment"], json!(2));
    }
    let mut assignees: Vec<Option<u64>> = [
        "pays by card",
        "declines an expired card",
        "declines a stolen card",
    ]
    .iter()
    .map(|title| results[*title][0].assignedto_id)
    .collect();
    assignees.sort();
    assert_eq!(
        assignees,
        [Some(2), Some(2), Some(3)],
        "round robin over two users"
    );
    assert_eq!(
        results["shows the total"][0].assignedto_id, None,
        "passes stay unassigned"
    );

    let args = ["--run-name", "CI", "--result-field", "Browser=chrome"];
    let output = report(&emulator, dir.path(), &file, &args).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("custom_environment"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_json_plan_sends_nothing() {
    let (emulator, _client) = start_with(manual_cases()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut specs = tagged_specs();
    specs.push(spec(
        "prints a receipt",
        &[],
        vec![test_entry(
            "chromium",
            "unexpected",
            json!([]),
            vec![failed_run(
                "no printer",
                vec![],
                vec![
                    json!({"name": "screenshot", "path": "shots/receipt.png"}),
                    json!({"name": "log", "contentType": "text/plain", "body": "aGVsbG8="}),
                ],
            )],
        )],
    ));
    std::fs::create_dir_all(dir.path().join("shots")).unwrap();
    std::fs::write(dir.path().join("shots/receipt.png"), b"png").unwrap();
    let file = write_report(dir.path(), specs);

    let args = ["--run-name", "CI", "--dry-run", "--format", "json"];
    let output = report(&emulator, dir.path(), &file, &args).await;
    let value = summary_of(&output);
    let plan = &value["plan"];
    assert_eq!(plan["updates"].as_array().unwrap().len(), 3);
    assert_eq!(plan["cases"].as_array().unwrap().len(), 1);
    assert_eq!(plan["sections"].as_array().unwrap().len(), 2);
    let attachments: usize = plan["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["attachments"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(attachments, 2, "the screenshot and the inline log");
    assert_eq!(value["summary"]["by_status"]["Failed"], 1);

    let writes: Vec<_> = emulator
        .request_log()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(writes.is_empty(), "dry run sent {writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_platform_lists_items() {
    let (emulator, _client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_checkout(dir.path());

    let output = report(
        &emulator,
        dir.path(),
        &file,
        &["--run-name", "CI", "--platform", "Desktop"],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`Desktop`"), "{stderr}");
    assert!(
        stderr.contains("`Web`, `iOS`, `Android`, `API`"),
        "{stderr}"
    );
}
