//! Parallel workers sharing a spool and shards sharing a run, against the
//! emulator. TestRail's state is checked through the API: every result
//! must be stored exactly once, whatever was killed on the way.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testrail_api::models::{CaseFilter, RunFilter};
use testrail_api::{Client, ClientConfig};
use testrail_emulator::{Emulator, EmulatorConfig, FaultConfig};

const WORKERS: usize = 8;
const SUBMITS_PER_WORKER: usize = 30;
const RESULTS_PER_SUBMIT: usize = 10;

async fn start(latency_ms: u64) -> (Emulator, Client) {
    let config = EmulatorConfig {
        faults: FaultConfig {
            latency_ms,
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let client =
        Client::new(ClientConfig::new(&emulator.url(), "admin@example.com", "secret").unwrap())
            .unwrap();
    (emulator, client)
}

fn trail(url: &str, spool: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trail"));
    command
        .env_clear()
        .env("TESTRAIL_HOST", url)
        .env("TESTRAIL_USER", "admin@example.com")
        .env("TESTRAIL_API_KEY", "secret")
        .env("TRAIL_SPOOL", spool)
        .env("NO_COLOR", "1")
        .current_dir(spool.parent().unwrap());
    command
}

/// Submits `SUBMITS_PER_WORKER` groups of results as worker `worker`.
fn submit_loop(url: &str, spool: &Path, worker: usize) -> Result<(), String> {
    for submit in 0..SUBMITS_PER_WORKER {
        let mut lines = String::new();
        for index in 0..RESULTS_PER_SUBMIT {
            let number = submit * RESULTS_PER_SUBMIT + index;
            let status = if number.is_multiple_of(7) {
                "failed"
            } else {
                "passed"
            };
            lines.push_str(&format!(
                "{{\"name\": \"w{worker} test {number}\", \"suite\": \"Worker {worker}\", \"status\": \"{status}\", \"duration_ms\": 1200, \"message\": \"worker {worker} result {number}\"}}\n"
            ));
        }
        let mut command = trail(url, spool);
        command
            .args([
                "submit",
                "--project",
                "Demo",
                "--run-name",
                "Parallel",
                "--batch-size",
                "60",
                "--flush-after",
                "0.2",
                "--worker",
                &format!("w{worker}"),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(lines.as_bytes())
            .map_err(|e| e.to_string())?;
        let output = child.wait_with_output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(format!(
                "worker {worker} submit {submit}: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(())
}

fn leader_pid(spool: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(spool.join("lease.json")).ok()?;
    let lease: serde_json::Value = serde_json::from_str(&text).ok()?;
    lease["pid"].as_u64().map(|pid| pid as u32)
}

fn done_batches(spool: &Path) -> usize {
    std::fs::read_dir(spool.join("done")).map_or(0, |entries| entries.count())
}

/// Kills the flusher twice with SIGKILL, each time once it has finished
/// a batch more; returns the killed pids.
fn kill_leaders(spool: &Path, deadline: Instant) -> Vec<u32> {
    let mut killed = Vec::new();
    let mut batches_seen = 0;
    while killed.len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        let batches = done_batches(spool);
        let Some(pid) = leader_pid(spool) else {
            continue;
        };
        if batches <= batches_seen || killed.contains(&pid) {
            continue;
        }
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        if status.is_ok_and(|s| s.success()) {
            killed.push(pid);
            batches_seen = batches;
        }
    }
    killed
}

fn run_json(command: &mut Command) -> serde_json::Value {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Counts results per case title and comment in a run.
async fn results_by_case(client: &Client, run_id: u64) -> BTreeMap<(String, String), usize> {
    let tests = client.get_tests(run_id, None).await.unwrap();
    let cases = client.get_cases(1, &CaseFilter::default()).await.unwrap();
    let titles: BTreeMap<u64, String> = cases.into_iter().map(|c| (c.id, c.title)).collect();
    let case_of_test: BTreeMap<u64, u64> = tests.iter().map(|t| (t.id, t.case_id)).collect();
    let mut counts = BTreeMap::new();
    for result in client.get_results_for_run(run_id).await.unwrap() {
        let title = titles[&case_of_test[&result.test_id]].clone();
        let comment = result.comment.unwrap_or_default();
        *counts.entry((title, comment)).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_survive_killed_leaders() {
    let (emulator, client) = start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let url = emulator.url();

    let deadline = Instant::now() + Duration::from_secs(240);
    let killer = {
        let spool = spool.clone();
        std::thread::spawn(move || kill_leaders(&spool, deadline))
    };
    let loops: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (url, spool) = (url.clone(), spool.clone());
            std::thread::spawn(move || submit_loop(&url, &spool, worker))
        })
        .collect();
    let outcomes: Vec<Result<(), String>> =
        tokio::task::spawn_blocking(move || loops.into_iter().map(|h| h.join().unwrap()).collect())
            .await
            .unwrap();
    for outcome in outcomes {
        outcome.unwrap();
    }
    let killed = tokio::task::spawn_blocking(move || killer.join().unwrap())
        .await
        .unwrap();
    assert_eq!(killed.len(), 2, "the flusher was killed twice");

    let workers = run_json(trail(&url, &spool).args(["workers", "--format", "json"]));
    assert_eq!(workers["workers"].as_array().unwrap().len(), WORKERS);
    let submitted: u64 = workers["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["results_submitted"].as_u64().unwrap())
        .sum();
    assert_eq!(
        submitted as usize,
        WORKERS * SUBMITS_PER_WORKER * RESULTS_PER_SUBMIT
    );

    let mut finish = trail(&url, &spool);
    finish.args(["finish", "--format", "json", "--wait", "240"]);
    let summary = tokio::task::spawn_blocking(move || run_json(&mut finish))
        .await
        .unwrap();
    let run_id = summary["run_id"].as_u64().expect("finish names the run");

    let runs = client.get_runs(1, &RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1, "one run");
    let counts = results_by_case(&client, run_id).await;
    let total = WORKERS * SUBMITS_PER_WORKER * RESULTS_PER_SUBMIT;
    assert_eq!(counts.len(), total, "every result is in the run");
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        repeated.is_empty(),
        "results stored more than once: {repeated:?}"
    );
    for worker in 0..WORKERS {
        let title = format!("w{worker} test 0");
        let comment = format!("worker {worker} result 0");
        assert_eq!(counts.get(&(title, comment)), Some(&1));
    }
    let cases = client.get_cases(1, &CaseFilter::default()).await.unwrap();
    assert_eq!(cases.len(), total, "one case per test");
    assert!(
        !spool.join("spool.json").exists(),
        "finish ends the session"
    );
}

/// Writes the JUnit report of one shard: its own tests and tests that
/// every shard runs.
fn shard_report(dir: &Path, shard: usize) -> PathBuf {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<testsuites>\n");
    xml.push_str(&format!("<testsuite name=\"Shard {shard}\">\n"));
    for index in 0..15 {
        xml.push_str(&format!(
            "<testcase classname=\"s{shard}\" name=\"shard {shard} test {index}\" time=\"1.5\"/>\n"
        ));
    }
    xml.push_str("</testsuite>\n<testsuite name=\"Common\">\n");
    for index in 0..5 {
        xml.push_str(&format!(
            "<testcase classname=\"common\" name=\"common test {index}\" time=\"2\"/>\n"
        ));
    }
    xml.push_str("</testsuite>\n</testsuites>\n");
    let path = dir.join(format!("shard-{shard}.xml"));
    std::fs::write(&path, xml).unwrap();
    path
}

async fn shards_meet_in_one_run(latency_ms: u64) {
    const SHARDS: usize = 12;
    let (emulator, client) = start(latency_ms).await;
    let dir = tempfile::tempdir().unwrap();
    let url = emulator.url();

    let children: Vec<_> = (1..=SHARDS)
        .map(|shard| {
            let report = shard_report(dir.path(), shard);
            let spool = dir.path().join(format!("spool-{shard}"));
            std::fs::create_dir_all(&spool).unwrap();
            let mut command = trail(&url, &spool);
            command.args(["report"]).arg(&report).args([
                "--project",
                "Demo",
                "--run-name",
                "Sharded",
                "--close-run",
                "--shard",
                &format!("{shard}/{SHARDS}"),
                "--executed-by",
                &format!("shard {shard}"),
                "--format",
                "json",
            ]);
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (index, output) in outputs.iter().enumerate() {
        assert!(
            output.status.success(),
            "shard {}: {}",
            index + 1,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let runs = client.get_runs(1, &RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1, "exactly one run remains: {runs:?}");
    let run = &runs[0];
    assert!(run.is_completed, "the last shard closed the run");
    let closers = outputs
        .iter()
        .filter(|o| {
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["run_closed"] == true
        })
        .count();
    assert!(closers >= 1, "a shard reports that it closed the run");

    let cases = client.get_cases(1, &CaseFilter::default()).await.unwrap();
    let mut per_title: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases {
        *per_title.entry(case.title.as_str()).or_insert(0) += 1;
    }
    let duplicated: Vec<_> = per_title.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "cases created twice: {duplicated:?}");
    assert_eq!(cases.len(), SHARDS * 15 + 5);
    let sections = client.get_sections(1, Some(1)).await.unwrap();
    assert_eq!(sections.len(), SHARDS + 1, "one section per suite");

    let tests = client.get_tests(run.id, None).await.unwrap();
    assert_eq!(
        tests.len(),
        cases.len(),
        "the run holds every shard's cases"
    );
    let counts = results_by_case(&client, run.id).await;
    for shard in 1..=SHARDS {
        for index in 0..15 {
            let key = (
                format!("shard {shard} test {index}"),
                format!("shard {shard}"),
            );
            assert_eq!(counts.get(&key), Some(&1), "{key:?}");
        }
        for index in 0..5 {
            let key = (format!("common test {index}"), format!("shard {shard}"));
            assert_eq!(counts.get(&key), Some(&1), "{key:?}");
        }
    }
    assert_eq!(
        counts.values().sum::<usize>(),
        SHARDS * 20,
        "no extra results"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_share_one_run() {
    shards_meet_in_one_run(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_share_one_run_with_latency() {
    shards_meet_in_one_run(50).await;
}

/// Pipes JSON result lines into `trail submit` for run `run_name`.
fn submit_lines(url: &str, spool: &Path, run_name: &str, lines: &str) -> std::process::Output {
    let mut child = trail(url, spool)
        .args(["submit", "--project", "Demo", "--run-name", run_name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Returns the titles of the cases that hold a result in run `run_id`,
/// once per stored result.
async fn result_titles(client: &Client, run_id: u64) -> Vec<String> {
    let counts = results_by_case(client, run_id).await;
    let mut titles = Vec::new();
    for ((title, _), count) in counts {
        titles.extend(std::iter::repeat_n(title, count));
    }
    titles.sort();
    titles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_session_uploads_with_its_own_options() {
    let (emulator, client) = start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let url = emulator.url();

    let mut junit = String::from("<testsuite name=\"J\">\n");
    for index in 0..60 {
        junit.push_str(&format!("<testcase classname=\"j\" name=\"c{index}\"/>\n"));
    }
    junit.push_str("</testsuite>\n");
    let report = dir.path().join("session-c.xml");
    std::fs::write(&report, junit).unwrap();

    // Each session starts while the background flusher of the one before
    // still waits for its idle exit.
    let (first, second, third) = tokio::task::spawn_blocking({
        let (url, spool) = (url.clone(), spool.clone());
        move || {
            let submitted = submit_lines(
                &url,
                &spool,
                "Session A",
                "{\"name\":\"a1\",\"suite\":\"S\",\"status\":\"passed\"}\n",
            );
            assert!(submitted.status.success(), "{submitted:?}");
            let first =
                run_json(trail(&url, &spool).args(["finish", "--close-run", "--format", "json"]));
            let submitted = submit_lines(
                &url,
                &spool,
                "Session B",
                "{\"name\":\"b1\",\"suite\":\"S\",\"status\":\"failed\"}\n",
            );
            assert!(submitted.status.success(), "{submitted:?}");
            let second = run_json(trail(&url, &spool).args(["finish", "--format", "json"]));
            let submitted = trail(&url, &spool)
                .args(["submit", "--project", "Demo", "--run-name", "Session C"])
                .arg(&report)
                .output()
                .unwrap();
            assert!(submitted.status.success(), "{submitted:?}");
            let third = run_json(trail(&url, &spool).args(["finish", "--format", "json"]));
            (first, second, third)
        }
    })
    .await
    .unwrap();

    let runs = client.get_runs(1, &RunFilter::default()).await.unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 3, "one run per session: {names:?}");
    let run_a = runs.iter().find(|r| r.name == "Session A").expect("run A");
    let run_b = runs.iter().find(|r| r.name == "Session B");
    let run_b = run_b.unwrap_or_else(|| panic!("no run named Session B: {names:?}"));
    assert_eq!(first["run_id"].as_u64(), Some(run_a.id));
    assert_eq!(second["run_id"].as_u64(), Some(run_b.id));
    assert!(run_a.is_completed, "finish --close-run closed run A");
    assert!(!run_b.is_completed, "run B stays open");
    assert_eq!(result_titles(&client, run_a.id).await, ["a1"]);
    assert_eq!(result_titles(&client, run_b.id).await, ["b1"]);
    assert_eq!(first["results_uploaded"].as_u64(), Some(1));
    assert_eq!(second["results_uploaded"].as_u64(), Some(1));

    let run_c = runs.iter().find(|r| r.name == "Session C").expect("run C");
    assert_eq!(third["run_id"].as_u64(), Some(run_c.id));
    assert_eq!(third["results_uploaded"].as_u64(), Some(60));
    let counts = results_by_case(&client, run_c.id).await;
    assert_eq!(counts.len(), 60, "every JUnit test has a result");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert!(!spool.join("spool.json").exists(), "finish ends session C");
}
