//! Uploads against an emulator that injects faults: every result must end
//! up in TestRail exactly once, with no extra case or run.

mod common;

use std::path::Path;

use common::{Normalized, emulator, normalize, run, trail, write_junit};
use testrail_emulator::{EmulatorConfig, FaultConfig};

const TESTS: usize = 120;

/// Flags that keep retries short so fault tests finish quickly.
const FAST_RETRIES: [&str; 8] = [
    "--timeout",
    "1",
    "--max-retries",
    "10",
    "--retry-budget",
    "120",
    "--breaker-pause",
    "1",
];

/// Uploads `report` until trail exits 0, rerunning the same command as a
/// user would after an interrupted upload; returns the exit codes seen.
async fn upload_until_done(url: &str, dir: &Path, report: &Path, extra: &[&str]) -> Vec<i32> {
    let mut codes = Vec::new();
    for _ in 0..8 {
        let mut command = trail(url, dir);
        command
            .args([
                "report",
                report.to_str().unwrap(),
                "--project",
                "Demo",
                "--run-name",
                "Faulty",
            ])
            .args(["--batch-size", "10"])
            .args(FAST_RETRIES)
            .args(extra);
        let output = run(command).await;
        let code = output.status.code().unwrap_or(-1);
        codes.push(code);
        if code == 0 {
            return codes;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            code, 5,
            "only an interrupted upload may fail here; stderr: {stderr}"
        );
        assert!(
            stderr.contains("resume"),
            "an interruption says how to resume: {stderr}"
        );
    }
    panic!("the upload did not finish after 8 runs: exit codes {codes:?}");
}

/// Uploads the report once to a clean emulator: the state every faulty
/// upload must reach.
async fn reference_state(report: &Path) -> Normalized {
    let clean = emulator(EmulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let codes = upload_until_done(&clean.url(), dir.path(), report, &[]).await;
    assert_eq!(codes, vec![0]);
    normalize(&clean.state_json())
}

async fn check_fault(faults: FaultConfig) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    write_junit(&report, TESTS);
    let expected = reference_state(&report).await;

    let hostile = emulator(EmulatorConfig {
        faults,
        ..EmulatorConfig::default()
    })
    .await;
    upload_until_done(&hostile.url(), dir.path(), &report, &[]).await;

    let state = normalize(&hostile.state_json());
    assert_eq!(
        state.cases.len(),
        expected.cases.len(),
        "no case is created twice"
    );
    assert_eq!(state.cases, expected.cases);
    assert_eq!(state.runs.len(), 1, "one run");
    let results = &state.runs["Faulty"];
    for (case, posted) in results {
        assert!(
            posted.len() <= 1,
            "case {case} got {} results",
            posted.len()
        );
    }
    assert_eq!(
        state, expected,
        "the faulty upload ends where a clean one does"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_lose_nothing() {
    check_fault(FaultConfig {
        random_seed: 11,
        fail_rate: 0.25,
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_lose_nothing() {
    check_fault(FaultConfig {
        random_seed: 12,
        drop_rate: 0.2,
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_lose_nothing() {
    check_fault(FaultConfig {
        random_seed: 13,
        timeout_rate: 0.1,
        timeout_ms: 2_500,
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_loses_nothing() {
    check_fault(FaultConfig {
        random_seed: 14,
        latency_ms: 20,
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_faults_together_lose_nothing() {
    check_fault(FaultConfig {
        random_seed: 15,
        latency_ms: 5,
        fail_rate: 0.1,
        drop_rate: 0.1,
        timeout_rate: 0.05,
        timeout_ms: 2_500,
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_causes_few_429s() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    write_junit(&report, 2_000);
    let emulator = emulator(EmulatorConfig::default()).await;

    // The first upload creates the cases on an emulator without limits.
    let mut command = trail(&emulator.url(), dir.path());
    command.args([
        "report",
        report.to_str().unwrap(),
        "--project",
        "Demo",
        "--run-name",
        "Limited",
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The second one meets TestRail Cloud's limit with default settings:
    // large batches keep it far below the limit.
    emulator.set_faults(FaultConfig {
        rate_limit_per_minute: Some(180),
        ..FaultConfig::default()
    });
    let before = emulator.request_log().len();
    let mut command = trail(&emulator.url(), dir.path());
    command.args([
        "report",
        report.to_str().unwrap(),
        "--project",
        "Demo",
        "--run-name",
        "Limited",
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let log = &emulator.request_log()[before..];
    let answered_429 = log.iter().filter(|r| r.status == 429).count();
    assert!(
        answered_429 * 100 < log.len(),
        "{answered_429} of {} requests answered 429",
        log.len()
    );

    // The third one uses small batches, so it needs more requests than one
    // minute allows. Only the requests already in flight when the first
    // 429 arrives may be answered 429: the limiter then paces the rest.
    let before = emulator.request_log().len();
    let mut command = trail(&emulator.url(), dir.path());
    let stats = dir.path().join("stats.json");
    command.args([
        "report",
        report.to_str().unwrap(),
        "--project",
        "Demo",
        "--run-name",
        "Limited",
    ]);
    command.args(["--batch-size", "10", "--stats", stats.to_str().unwrap()]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let log = &emulator.request_log()[before..];
    assert!(
        log.len() > 180,
        "the upload needs more than one minute's requests ({})",
        log.len()
    );
    let answered_429 = log.iter().filter(|r| r.status == 429).count();
    let in_flight = trail_sync::options::DEFAULT_CONCURRENCY;
    assert!(
        answered_429 <= in_flight,
        "{answered_429} requests answered 429; at most the {in_flight} in flight may be"
    );

    let state = normalize(&emulator.state_json());
    let results = &state.runs["Limited"];
    let skipped = (0..2_000).filter(|i| i % 13 == 0).count();
    for (case, posted) in results {
        let expected = if posted.is_empty() { 0 } else { 3 };
        assert_eq!(posted.len(), expected, "case {case}");
    }
    let posted: usize = results.values().map(Vec::len).sum();
    assert_eq!(
        posted,
        3 * (2_000 - skipped),
        "every result that is not a skip is stored, once per upload"
    );

    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let batches = (2_000 - skipped).div_ceil(10) as u64;
    let sent = stats["methods"]["add_results_for_cases"]["requests"]
        .as_u64()
        .unwrap();
    assert!(
        sent >= batches,
        "{sent} result requests for {batches} batches"
    );
    assert_eq!(
        stats["rate_limit_per_minute"].as_u64().is_some(),
        answered_429 > 0,
        "the limiter is set by a 429"
    );
    assert!(stats["peak_memory_kib"].as_u64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_right_after_an_upload_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    write_junit(&report, TESTS);
    let emulator = emulator(EmulatorConfig::default()).await;

    // The first upload stores one result per test. The second, seconds
    // later and with dropped connections, posts the same statuses and
    // comments to the same run: the earlier results must not be taken for
    // the ones whose responses were lost.
    upload_until_done(&emulator.url(), dir.path(), &report, &[]).await;
    emulator.set_faults(FaultConfig {
        random_seed: 31,
        drop_rate: 0.3,
        ..FaultConfig::default()
    });
    upload_until_done(&emulator.url(), dir.path(), &report, &[]).await;

    let state = normalize(&emulator.state_json());
    let results = &state.runs["Faulty"];
    for (case, posted) in results {
        if !posted.is_empty() {
            assert_eq!(posted.len(), 2, "case {case} has one result per upload");
        }
    }
    let log = emulator.request_log();
    assert!(
        log.iter().any(|r| r.path.contains("add_results_for_cases")
            && r.fault.as_deref() == Some("dropped_after")),
        "a result batch was stored and its response dropped"
    );
}
