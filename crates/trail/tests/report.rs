//! End-to-end tests of `trail report` against the emulator, checking
//! TestRail's state through the API rather than trail's own counters.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{corpus_dir, run};
use testrail_api::models::CaseFilter;
use testrail_api::{Client, ClientConfig};
use testrail_emulator::{Emulator, EmulatorConfig};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/shop-junit.xml");

async fn start() -> (Emulator, Client) {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let defaults = EmulatorConfig::default();
    let client = Client::new(
        ClientConfig::new(&emulator.url(), &defaults.user, &defaults.password).unwrap(),
    )
    .unwrap();
    (emulator, client)
}

/// The `trail` binary set up for `emulator`, working in `dir`.
fn trail(emulator: &Emulator, dir: &Path) -> Command {
    common::trail(&emulator.url(), dir)
}

async fn statuses_of_run(client: &Client, run_id: u64) -> BTreeMap<String, u64> {
    let tests = client.get_tests(run_id, None).await.unwrap();
    let cases = client.get_cases(1, &CaseFilter::default()).await.unwrap();
    let titles: BTreeMap<u64, String> = cases.into_iter().map(|c| (c.id, c.title)).collect();
    tests
        .iter()
        .map(|t| (titles[&t.case_id].clone(), t.status_id.unwrap_or(0)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_upload_creates_cases_run_and_results() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();

    let mut command = trail(&emulator, spool.path());
    command.args([
        "report",
        SAMPLE,
        "--project",
        "Demo",
        "--run-name",
        "Nightly",
        "--format",
        "json",
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["cases_created"], 9);
    assert_eq!(summary["results_uploaded"], 8);
    assert_eq!(summary["results_skipped"], 1);
    let run_id = summary["run_id"].as_u64().unwrap();
    assert!(
        summary["run_url"]
            .as_str()
            .unwrap()
            .contains(&format!("runs/view/{run_id}"))
    );

    let cases = client.get_cases(1, &CaseFilter::default()).await.unwrap();
    assert_eq!(cases.len(), 9, "one case per test");
    let runs = client.get_runs(1, &Default::default()).await.unwrap();
    assert_eq!(runs.len(), 1, "one run");

    let statuses = statuses_of_run(&client, run_id).await;
    assert_eq!(statuses.len(), 9, "every case is in the run");
    assert_eq!(statuses["adds an item to the cart"], 1);
    assert_eq!(statuses["applies a discount code"], 5);
    assert_eq!(statuses["pays with a saved card"], 5, "an error is Failed");
    assert_eq!(
        statuses["pays with a gift card"], 3,
        "a skip stays Untested"
    );

    let results = client.get_results_for_run(run_id).await.unwrap();
    assert_eq!(results.len(), 8, "one result per test that was not skipped");
    for result in &results {
        let elapsed = result.elapsed.as_deref().unwrap_or("1s");
        assert!(
            !elapsed.contains('.'),
            "elapsed {elapsed} has a decimal point"
        );
        assert_ne!(elapsed, "0s");
    }
    let failed = results
        .iter()
        .find(|r| {
            r.comment
                .as_deref()
                .is_some_and(|c| c.contains("expected total 90.00"))
        })
        .unwrap();
    assert_eq!(failed.status_id, Some(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_upload_reuses_cases_and_run() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();

    for _ in 0..2 {
        let mut command = trail(&emulator, spool.path());
        command.args(["report", SAMPLE, "--project", "1", "--run-name", "Nightly"]);
        let output = run(command).await;
        assert!(
            output.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let cases = client.get_cases(1, &CaseFilter::default()).await.unwrap();
    assert_eq!(cases.len(), 9, "the second upload creates no case");
    let runs = client.get_runs(1, &Default::default()).await.unwrap();
    assert_eq!(runs.len(), 1, "the second upload reuses the open run");
    let results = client.get_results_for_run(runs[0].id).await.unwrap();
    assert_eq!(results.len(), 16, "each test has a second result");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_create_lists_unmatched_and_fails() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();

    let mut command = trail(&emulator, spool.path());
    command.args([
        "report",
        SAMPLE,
        "--project",
        "Demo",
        "--run-name",
        "R",
        "--no-create",
        "--format",
        "json",
    ]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(1), "partial upload exit code");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["unmatched"].as_array().unwrap().len(), 9);
    assert!(
        client
            .get_cases(1, &CaseFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        client.get_sections(1, None).await.unwrap().is_empty(),
        "no section is created"
    );
    assert!(
        client
            .get_runs(1, &Default::default())
            .await
            .unwrap()
            .is_empty(),
        "no empty run is created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_no_write_request() {
    let (emulator, _client) = start().await;
    let spool = tempfile::tempdir().unwrap();

    let mut command = trail(&emulator, spool.path());
    command.args([
        "report",
        SAMPLE,
        "--project",
        "Demo",
        "--run-name",
        "R",
        "--dry-run",
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("cases to create:"), "{stdout}");
    let writes: Vec<_> = emulator
        .request_log()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(writes.is_empty(), "dry run sent {writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_run_id_keeps_existing_cases() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();

    let mut command = trail(&emulator, spool.path());
    command.args(["report", SAMPLE, "--project", "Demo", "--run-name", "First"]);
    assert!(run(command).await.status.success());
    let run_id = client.get_runs(1, &Default::default()).await.unwrap()[0].id;

    let extra = spool.path().join("extra.xml");
    std::fs::write(
        &extra,
        r#"<testsuite name="extra"><testcase classname="x" name="only here"/></testsuite>"#,
    )
    .unwrap();
    let mut command = trail(&emulator, spool.path());
    command.args([
        "report",
        extra.to_str().unwrap(),
        "--project",
        "Demo",
        "--run-id",
        &run_id.to_string(),
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let tests = client.get_tests(run_id, None).await.unwrap();
    assert_eq!(
        tests.len(),
        10,
        "the new case joins the nine already in the run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_junit_file_uploads() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();
    let dir = corpus_dir().join("junit");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 16);

    for (index, file) in files.iter().enumerate() {
        let mut command = trail(&emulator, spool.path());
        let run_name = format!("corpus {index}");
        command.args([
            "report",
            file.to_str().unwrap(),
            "--project",
            "Demo",
            "--run-name",
            &run_name,
            "--format",
            "json",
        ]);
        let output = run(command).await;
        assert!(
            output.status.success(),
            "{}: exit {:?}\nstdout: {}\nstderr: {}",
            file.display(),
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let run_id = summary["run_id"].as_u64().unwrap();
        let uploaded = summary["results_uploaded"].as_u64().unwrap();
        let stored = client.get_results_for_run(run_id).await.unwrap().len() as u64;
        assert_eq!(stored, uploaded, "{}: results stored", file.display());
    }
}

#[test]
fn bad_report_names_file_and_exits_3() {
    let spool = tempfile::tempdir().unwrap();
    let bad = spool.path().join("broken.xml");
    std::fs::write(
        &bad,
        "<testsuite name=\"x\"><testcase name=\"a\">\n<failure>oops</testcase>",
    )
    .unwrap();
    let mut command = Command::cargo_bin("trail").unwrap();
    command
        .env_clear()
        .env("TESTRAIL_HOST", "http://127.0.0.1:9/")
        .env("TESTRAIL_USER", "a@example.com")
        .env("TESTRAIL_API_KEY", "k")
        .current_dir(spool.path())
        .args([
            "report",
            bad.to_str().unwrap(),
            "--project",
            "Demo",
            "--run-name",
            "R",
            "--dry-run",
        ]);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.xml"), "{stderr}");
    assert_ne!(output.status.code(), Some(0));
}

#[test]
fn missing_host_is_a_config_error() {
    let output = Command::cargo_bin("trail")
        .unwrap()
        .env_clear()
        .args([
            "report",
            SAMPLE,
            "--project",
            "Demo",
            "--run-name",
            "R",
            "--user",
            "a@example.com",
            "--api-key",
            "k",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing TestRail host"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

/// Seeds cases 1 to 3 through the API and returns their ids.
async fn seed_cases(client: &Client) -> Vec<u64> {
    let section = client
        .add_section(1, &testrail_api::models::NewSection::new("Seeded"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for title in ["logs in", "logs out", "resets password"] {
        let mut fields = serde_json::Map::new();
        fields.insert("title".into(), title.into());
        ids.push(client.add_case(section.id, &fields).await.unwrap().id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_ids_in_names_skip_reading_cases() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();
    let ids = seed_cases(&client).await;
    let report = spool.path().join("ids.xml");
    std::fs::write(
        &report,
        format!(
            r#"<testsuite name="auth"><testcase name="C{} logs in"/><testcase name="logs out C{}"><failure message="no"/></testcase><testcase name="[C{}] resets password"/></testsuite>"#,
            ids[0], ids[1], ids[2]
        ),
    )
    .unwrap();
    let before = emulator.request_log().len();

    let mut command = trail(&emulator, spool.path());
    command.args([
        "report",
        report.to_str().unwrap(),
        "--project",
        "Demo",
        "--run-name",
        "Ids",
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let log = &emulator.request_log()[before..];
    assert!(
        !log.iter().any(|r| r.path.contains("get_cases")),
        "no case page is read: {log:?}"
    );
    assert!(
        !log.iter().any(|r| r.path.contains("add_case")),
        "no case is created"
    );
    let run_id = client.get_runs(1, &Default::default()).await.unwrap()[0].id;
    let statuses = statuses_of_run(&client, run_id).await;
    assert_eq!(statuses["logs in"], 1);
    assert_eq!(statuses["logs out"], 5);
    assert_eq!(statuses["resets password"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_case_id_is_rejected_and_others_upload() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();
    let ids = seed_cases(&client).await;
    let report = spool.path().join("ids.xml");
    std::fs::write(
        &report,
        format!(r#"<testsuite name="auth"><testcase name="C{} logs in"/><testcase name="C9999 does not exist"/></testsuite>"#, ids[0]),
    )
    .unwrap();

    let mut command = trail(&emulator, spool.path());
    command.args([
        "report",
        report.to_str().unwrap(),
        "--project",
        "Demo",
        "--run-name",
        "Ids",
        "--format",
        "json",
    ]);
    let output = run(command).await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["results_uploaded"], 1);
    let rejected = summary["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["case_id"], 9999);
    assert!(rejected[0]["reason"].as_str().unwrap().contains("C9999"));

    let run_id = summary["run_id"].as_u64().unwrap();
    let tests = client.get_tests(run_id, None).await.unwrap();
    assert_eq!(tests.len(), 1, "the run holds only the known case");
}

#[test]
fn check_counts_every_corpus_file() {
    let corpus = corpus_dir();
    let mut files = Vec::new();
    for folder in [
        "junit",
        "playwright-json",
        "cucumber-json",
        "robot",
        "libtest-json",
    ] {
        for entry in std::fs::read_dir(corpus.join(folder)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    let output = Command::cargo_bin("trail")
        .unwrap()
        .env_clear()
        .arg("check")
        .args(&files)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let checked: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(checked.len(), files.len());
    for file in &checked {
        assert!(file["error"].is_null(), "{file}");
        assert!(file["tests"].as_u64().unwrap() > 0, "{file}");
    }
}

#[test]
fn check_sample_counts_outcomes() {
    let output = Command::cargo_bin("trail")
        .unwrap()
        .env_clear()
        .args(["check", SAMPLE])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("9 tests"), "{stdout}");
    assert!(stdout.contains("2 failed"), "{stdout}");
    assert!(stdout.contains("1 error"), "{stdout}");
    assert!(stdout.contains("1 skipped"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_run_leaves_nothing_to_resume() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();
    let closed = client
        .add_run(1, &testrail_api::models::NewRun::new("Closed"))
        .await
        .unwrap();
    client.close_run(closed.id).await.unwrap();

    let mut command = trail(&emulator, spool.path());
    command.args([
        "report",
        SAMPLE,
        "--project",
        "Demo",
        "--run-id",
        &closed.id.to_string(),
    ]);
    let output = run(command).await;
    assert_eq!(
        output.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("is closed"));
    assert!(
        client.get_sections(1, None).await.unwrap().is_empty(),
        "no section is created"
    );
    assert!(
        client
            .get_cases(1, &CaseFilter::default())
            .await
            .unwrap()
            .is_empty(),
        "no case is created"
    );

    let mut command = trail(&emulator, spool.path());
    command.arg("resume");
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing to resume"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_create_with_missing_section_path_fails() {
    let (emulator, client) = start().await;
    let spool = tempfile::tempdir().unwrap();

    let mut command = trail(&emulator, spool.path());
    command.args([
        "report",
        SAMPLE,
        "--project",
        "Demo",
        "--run-name",
        "R",
        "--no-create",
    ]);
    command.args(["--section", "Web/Checkout"]);
    let output = run(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("Web/Checkout"), "{stderr}");
    assert!(
        client.get_sections(1, None).await.unwrap().is_empty(),
        "no section is created"
    );
}
