//! End-to-end tests of `trail report --projects-as-plan`: Playwright JSON
//! reports go to a test plan with one run per Playwright project, distinguished
//! by configurations. TestRail's state is checked through the API and the
//! emulator's request log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};
use testrail_api::models::{ConfigGroup, Plan, Run};
use testrail_api::{Client, ClientConfig};
use testrail_emulator::{Emulator, EmulatorConfig, FaultConfig, Seed};

const PASSED: u64 = 1;
const FAILED: u64 = 5;
const FLAKY: u64 = 6;

const CORPUS_PROJECTS: [&str; 5] = ["Dev", "Test", "chromium", "firefox", "webkit"];

fn corpus_file() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/playwright-json/v1.55-tags-multi-project-nonascii.json");
    assert!(
        path.is_file(),
        "corpus file not found at {}; the shared folder must sit beside the repository",
        path.display()
    );
    path
}

async fn start() -> (Emulator, Client) {
    let seed: Seed = serde_json::from_value(json!({
        "statuses": [{"id": 6, "name": "custom_status1", "label": "Flaky", "is_final": false}]
    }))
    .unwrap();
    let config = EmulatorConfig {
        seed: Some(seed),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let client =
        Client::new(ClientConfig::new(&emulator.url(), "admin@example.com", "secret").unwrap())
            .unwrap();
    (emulator, client)
}

/// Runs `trail report FILE --project Demo --projects-as-plan` with a plan
/// name and extra arguments, off the async runtime's threads.
async fn report(
    emulator: &Emulator,
    dir: &Path,
    files: &[&Path],
    extra: &[&str],
) -> std::process::Output {
    let mut command = Command::cargo_bin("trail").unwrap();
    command
        .env_clear()
        .env("TESTRAIL_HOST", emulator.url())
        .env("TESTRAIL_USER", "admin@example.com")
        .env("TESTRAIL_API_KEY", "secret")
        .env("TRAIL_SPOOL", dir.join("spool"))
        .current_dir(dir)
        .arg("report");
    for file in files {
        command.arg(file);
    }
    command.args([
        "--project",
        "Demo",
        "--run-name",
        "Nightly matrix",
        "--projects-as-plan",
    ]);
    command.args(extra);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn json_summary(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn api_method(path: &str) -> &str {
    let after = path.split("/api/v2/").nth(1).unwrap_or_default();
    after.split(['/', '&']).next().unwrap_or_default()
}

/// Counts logged requests to `method` after the first `skip`.
fn count_requests(emulator: &Emulator, skip: usize, method: &str) -> usize {
    emulator
        .request_log()
        .iter()
        .skip(skip)
        .filter(|r| api_method(&r.path) == method)
        .count()
}

async fn plans(client: &Client) -> Vec<Plan> {
    let mut plans = Vec::new();
    for plan in client.get_plans(1).await.unwrap() {
        plans.push(client.get_plan(plan.id).await.unwrap());
    }
    plans
}

async fn config_groups(client: &Client) -> Vec<ConfigGroup> {
    client.get_configs(1).await.unwrap()
}

/// Returns the runs of a plan by configuration name.
fn runs_by_config(plan: &Plan, group: &ConfigGroup) -> BTreeMap<String, Run> {
    let names: BTreeMap<u64, String> = group
        .configs
        .iter()
        .map(|c| (c.id, c.name.clone()))
        .collect();
    let mut runs = BTreeMap::new();
    for run in plan.entries.iter().flat_map(|e| e.runs.iter()) {
        assert_eq!(
            run.config_ids.len(),
            1,
            "run R{} has one configuration",
            run.id
        );
        let name = names[&run.config_ids[0]].clone();
        assert!(
            runs.insert(name.clone(), run.clone()).is_none(),
            "configuration `{name}` has one run"
        );
    }
    runs
}

/// Returns every result of a run as (case title, status id) pairs.
async fn results_of(client: &Client, run_id: u64) -> Vec<(String, u64)> {
    let tests = client.get_tests(run_id, None).await.unwrap();
    let titles: BTreeMap<u64, String> = tests.iter().map(|t| (t.id, t.title.clone())).collect();
    let mut results: Vec<(String, u64)> = client
        .get_results_for_run(run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (titles[&r.test_id].clone(), r.status_id.unwrap()))
        .collect();
    results.sort();
    results
}

async fn case_titles_of(client: &Client, run_id: u64) -> BTreeSet<String> {
    client
        .get_tests(run_id, None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect()
}

/// The status each corpus test should have in the run of its project: the
/// login that succeeds timed out in Dev and firefox, and the login with empty
/// fields timed out in firefox.
fn corpus_status(project: &str, title: &str) -> u64 {
    let smoke = title.contains("Login exitoso");
    let empty = title.contains("campos vacios");
    match project {
        "Dev" if smoke => FAILED,
        "firefox" if smoke || empty => FAILED,
        _ => PASSED,
    }
}

/// Checks that TestRail contains one plan with one entry and one run per
/// corpus project, each with the four login cases and one result per case
/// with the status of its project.
async fn assert_corpus_plan(client: &Client) {
    let plans = plans(client).await;
    assert_eq!(plans.len(), 1, "one plan");
    let plan = &plans[0];
    assert_eq!(plan.name, "Nightly matrix");
    assert_eq!(plan.entries.len(), 1, "one entry");

    let groups = config_groups(client).await;
    assert_eq!(groups.len(), 1, "one configuration group");
    let group = &groups[0];
    assert_eq!(group.name, "Browser");
    let config_names: BTreeSet<&str> = group.configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(config_names, CORPUS_PROJECTS.into_iter().collect());

    let runs = runs_by_config(plan, group);
    assert_eq!(
        runs.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        CORPUS_PROJECTS.into_iter().collect()
    );
    for (project, run) in &runs {
        let titles = case_titles_of(client, run.id).await;
        assert_eq!(
            titles.len(),
            4,
            "run of `{project}` has the four login cases"
        );
        let results = results_of(client, run.id).await;
        assert_eq!(
            results.len(),
            4,
            "run of `{project}` has one result per case"
        );
        for (title, status) in results {
            assert_eq!(
                status,
                corpus_status(project, &title),
                "status of `{title}` in the run of `{project}`"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_projects_become_plan_runs() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus_file();

    let output = report(&emulator, dir.path(), &[&corpus], &["--format", "json"]).await;
    let summary = json_summary(&output);

    assert_corpus_plan(&client).await;
    assert_eq!(summary["results_uploaded"], 20);
    assert_eq!(summary["plan"]["created"], true);
    assert!(
        summary["plan"]["url"]
            .as_str()
            .is_some_and(|url| url.contains("plans/view/")),
        "{summary}"
    );
    let runs = summary["plan"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 5);
    let firefox = runs.iter().find(|r| r["config"] == "firefox").unwrap();
    assert_eq!(firefox["results_uploaded"], 4);
    assert_eq!(firefox["by_status"]["Failed"], 2);
    assert_eq!(firefox["by_status"]["Passed"], 2);
    assert_eq!(emulator.panic_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_upload_reuses_plan() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus_file();
    json_summary(&report(&emulator, dir.path(), &[&corpus], &["--format", "json"]).await);
    let first_plan = plans(&client).await[0].clone();

    let before = emulator.request_log().len();
    let summary =
        json_summary(&report(&emulator, dir.path(), &[&corpus], &["--format", "json"]).await);

    for method in [
        "add_plan",
        "add_plan_entry",
        "add_config_group",
        "add_config",
        "update_plan_entry",
    ] {
        assert_eq!(
            count_requests(&emulator, before, method),
            0,
            "{method} on the second upload"
        );
    }
    assert_eq!(summary["plan"]["created"], false);
    assert_eq!(summary["plan"]["id"], first_plan.id);
    let plans = plans(&client).await;
    assert_eq!(plans.len(), 1);
    let run_ids = |plan: &Plan| -> BTreeSet<u64> {
        plan.entries
            .iter()
            .flat_map(|e| e.runs.iter().map(|r| r.id))
            .collect()
    };
    assert_eq!(run_ids(&plans[0]), run_ids(&first_plan), "same runs");
    for run_id in run_ids(&plans[0]) {
        assert_eq!(
            results_of(&client, run_id).await.len(),
            8,
            "run R{run_id} has a result per case from each upload"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_no_write() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus_file();

    let output = report(&emulator, dir.path(), &[&corpus], &["--dry-run"]).await;

    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let writes: Vec<String> = emulator
        .request_log()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.clone())
        .collect();
    assert!(writes.is_empty(), "write requests: {writes:?}");
    assert!(plans(&client).await.is_empty());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("test plan `Nightly matrix`"), "{stdout}");
    assert!(stdout.contains("group `Browser`"), "{stdout}");
    for project in CORPUS_PROJECTS {
        assert!(
            stdout.contains(&format!("  {project}: 4 cases, 4 results")),
            "`{project}` line in:\n{stdout}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_create_one_plan() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus_file();
    emulator.set_faults(FaultConfig {
        random_seed: 21,
        drop_rate: 0.3,
        ..FaultConfig::default()
    });

    let mut finished = false;
    for _ in 0..20 {
        let output = report(&emulator, dir.path(), &[&corpus], &["--format", "json"]).await;
        if output.status.success() {
            finished = true;
            break;
        }
    }
    emulator.set_faults(FaultConfig::default());

    assert!(finished, "an upload finished within 20 attempts");
    let dropped = emulator
        .request_log()
        .iter()
        .filter(|r| r.fault.as_deref().is_some_and(|f| f.starts_with("dropped")))
        .count();
    assert!(dropped > 0, "the emulator dropped some connections");
    let setup_dropped = emulator.request_log().iter().any(|r| {
        r.fault.as_deref().is_some_and(|f| f.starts_with("dropped"))
            && [
                "add_config_group",
                "add_config",
                "add_plan",
                "add_plan_entry",
            ]
            .contains(&api_method(&r.path))
    });
    assert!(
        setup_dropped,
        "the seed drops a creating request of the plan setup"
    );
    assert_corpus_plan(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_run_closes_plan() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus_file();

    let output = report(&emulator, dir.path(), &[&corpus], &["--close-run"]).await;

    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plans = plans(&client).await;
    assert_eq!(plans.len(), 1);
    assert!(plans[0].is_completed, "plan is closed");
    for run in plans[0].entries.iter().flat_map(|e| e.runs.iter()) {
        assert!(run.is_completed, "run R{} is closed", run.id);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("test plan closed"), "{stdout}");
    assert!(stdout.contains("plans/view/"), "{stdout}");
}

/// Writes a report of one spec in two projects: it failed once and then
/// passed in the first, and passed in the second.
fn retried_report(dir: &Path, group_projects: [&str; 2]) -> PathBuf {
    let result = |status: &str, retry: u64| {
        json!({"workerIndex": 0, "status": status, "duration": 1200, "retry": retry,
               "startTime": "2025-01-01T00:00:00.000Z", "errors": [], "attachments": [],
               "error": if status == "failed" { json!({"message": "expected 2 got 3"}) } else { Value::Null }})
    };
    let test = |project: &str, results: Vec<Value>, status: &str| {
        json!({"projectId": project, "projectName": project, "timeout": 30000,
               "expectedStatus": "passed", "annotations": [], "results": results, "status": status})
    };
    let report = json!({
        "config": {"projects": [{"name": group_projects[0]}, {"name": group_projects[1]}]},
        "suites": [{
            "title": "cart.spec.ts", "file": "cart.spec.ts", "line": 0, "column": 0,
            "specs": [{
                "title": "adds an item", "ok": true, "tags": [], "file": "cart.spec.ts",
                "line": 3, "column": 5, "id": "cart-1",
                "tests": [
                    test(group_projects[0], vec![result("failed", 0), result("passed", 1)], "flaky"),
                    test(group_projects[1], vec![result("passed", 0)], "expected")
                ]
            }]
        }],
        "errors": [],
        "stats": {"startTime": "2025-01-01T00:00:00.000Z", "duration": 2400, "expected": 1, "unexpected": 0, "flaky": 1, "skipped": 0}
    });
    let path = dir.join("retried.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_fold_within_project() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let report_file = retried_report(dir.path(), ["chromium", "firefox"]);

    let summary = json_summary(
        &report(
            &emulator,
            dir.path(),
            &[&report_file],
            &[
                "--config-group",
                "Browsers",
                "--status",
                "flaky=Flaky",
                "--format",
                "json",
            ],
        )
        .await,
    );

    assert_eq!(summary["results_uploaded"], 2);
    let groups = config_groups(&client).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Browsers");
    let plans = plans(&client).await;
    let runs = runs_by_config(&plans[0], &groups[0]);
    let chromium = results_of(&client, runs["chromium"].id).await;
    assert_eq!(chromium, vec![("adds an item".to_owned(), FLAKY)]);
    let firefox = results_of(&client, runs["firefox"].id).await;
    assert_eq!(firefox, vec![("adds an item".to_owned(), PASSED)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_configs_are_reused() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let group = client.add_config_group(1, "Browser").await.unwrap();
    let chromium = client.add_config(group.id, "chromium").await.unwrap();
    let report_file = retried_report(dir.path(), ["chromium", "firefox"]);

    json_summary(
        &report(
            &emulator,
            dir.path(),
            &[&report_file],
            &["--format", "json"],
        )
        .await,
    );

    let groups = config_groups(&client).await;
    assert_eq!(groups.len(), 1, "no second group");
    let ids: BTreeMap<&str, u64> = groups[0]
        .configs
        .iter()
        .map(|c| (c.name.as_str(), c.id))
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        ids["chromium"], chromium.id,
        "the existing configuration is used"
    );
    let runs = runs_by_config(&plans(&client).await[0], &groups[0]);
    assert_eq!(runs.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_project_adds_run_to_plan() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let first = retried_report(dir.path(), ["chromium", "firefox"]);
    json_summary(&report(&emulator, dir.path(), &[&first], &["--format", "json"]).await);
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&second_dir).unwrap();
    let second = retried_report(&second_dir, ["chromium", "webkit"]);

    json_summary(&report(&emulator, dir.path(), &[&second], &["--format", "json"]).await);

    let plans = plans(&client).await;
    assert_eq!(plans.len(), 1, "the open plan is reused");
    let groups = config_groups(&client).await;
    let runs = runs_by_config(&plans[0], &groups[0]);
    assert_eq!(
        runs.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["chromium", "firefox", "webkit"]
    );
    assert_eq!(results_of(&client, runs["chromium"].id).await.len(), 2);
    assert_eq!(results_of(&client, runs["firefox"].id).await.len(), 1);
    assert_eq!(results_of(&client, runs["webkit"].id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_without_project_are_rejected() {
    let (emulator, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    std::fs::write(
        &junit,
        r#"<testsuites><testsuite name="api"><testcase classname="api" name="health"/></testsuite></testsuites>"#,
    )
    .unwrap();
    let playwright = retried_report(dir.path(), ["chromium", "firefox"]);

    let output = report(&emulator, dir.path(), &[&playwright, &junit], &[]).await;

    assert_eq!(
        output.status.code(),
        Some(2),
        "configuration error exit code"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no Playwright project"), "{stderr}");
    assert!(stderr.contains("health"), "{stderr}");
    assert!(plans(&client).await.is_empty());
    assert!(config_groups(&client).await.is_empty());
}
