//! Kills `trail report` with SIGKILL at seeded random moments and checks
//! that rerunning the same command leaves TestRail exactly as one
//! uninterrupted upload does.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{emulator, normalize, run, trail, write_junit};
use testrail_emulator::{EmulatorConfig, FaultConfig};

const TESTS: usize = 3_000;

/// A small linear congruential generator, so kill moments are repeatable.
struct Lcg(u64);

impl Lcg {
    fn next_in(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        low + (self.0 >> 33) % (high - low)
    }
}

fn report_args(report: &str) -> Vec<String> {
    [
        "report",
        report,
        "--project",
        "Demo",
        "--run-name",
        "Killed",
        "--batch-size",
        "50",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_upload_resumes_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    write_junit(&report, TESTS);
    let report = report.to_str().unwrap().to_owned();
    let slow = || EmulatorConfig {
        faults: FaultConfig {
            latency_ms: 3,
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    };

    let clean = emulator(slow()).await;
    let clean_dir = tempfile::tempdir().unwrap();
    let mut command = trail(&clean.url(), clean_dir.path());
    command.args(report_args(&report));
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = normalize(&clean.state_json());

    let target = emulator(slow()).await;
    let mut random = Lcg(20_261_204);
    let mut kills = 0;
    let mut finished = false;
    for _ in 0..4 {
        let wait = random.next_in(50, 800);
        let binary = assert_cmd::cargo::cargo_bin("trail");
        let mut child = Command::new(binary)
            .env_clear()
            .env("TESTRAIL_HOST", target.url())
            .env("TESTRAIL_USER", "admin@example.com")
            .env("TESTRAIL_API_KEY", "secret")
            .env("TRAIL_SPOOL", dir.path().join("spool"))
            .current_dir(dir.path())
            .args(report_args(&report))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(wait)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
            child.wait().unwrap();
        } else {
            // The upload finished before its kill moment. Running the same
            // command again would start a second upload, as it should, so
            // the state is final here.
            assert!(
                child.wait().unwrap().success(),
                "an upload that was not killed succeeds"
            );
            finished = true;
            break;
        }
    }
    assert!(
        kills >= 2,
        "at least two runs were killed part way ({kills})"
    );

    if !finished {
        let mut command = trail(&target.url(), dir.path());
        command.args(report_args(&report));
        let output = run(command).await;
        assert!(
            output.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let state = normalize(&target.state_json());
    assert_eq!(
        state.cases.len(),
        expected.cases.len(),
        "no case is created twice"
    );
    assert_eq!(
        state.runs.keys().collect::<Vec<_>>(),
        vec!["Killed"],
        "one run"
    );
    let posted: usize = state.runs["Killed"].values().map(Vec::len).sum();
    let expected_posted: usize = expected.runs["Killed"].values().map(Vec::len).sum();
    assert_eq!(posted, expected_posted, "no result lost or duplicated");
    assert_eq!(state, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_says_how_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    write_junit(&report, 1_000);
    let report = report.to_str().unwrap().to_owned();
    let target = emulator(EmulatorConfig {
        faults: FaultConfig {
            latency_ms: 20,
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;

    let binary = assert_cmd::cargo::cargo_bin("trail");
    let child = Command::new(binary)
        .env_clear()
        .env("TESTRAIL_HOST", target.url())
        .env("TESTRAIL_USER", "admin@example.com")
        .env("TESTRAIL_API_KEY", "secret")
        .env("TRAIL_SPOOL", dir.path().join("spool"))
        .current_dir(dir.path())
        .args(report_args(&report))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("trail resume"), "{stderr}");

    let mut command = trail(&target.url(), dir.path());
    command.arg("resume");
    let output = run(command).await;
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let state = normalize(&target.state_json());
    let posted: usize = state.runs["Killed"].values().map(Vec::len).sum();
    let skipped = (0..1_000).filter(|i| i % 13 == 0).count();
    assert_eq!(posted, 1_000 - skipped, "every result is stored once");
}
