//! Helpers shared by the integration tests: report generators, the
//! emulator, the `trail` binary and a normalized view of TestRail's state.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use testrail_emulator::{Emulator, EmulatorConfig};

/// Writes a JUnit report with `count` tests spread over a few suites;
/// every seventh test fails and every thirteenth is skipped.
pub fn write_junit(path: &Path, count: usize) {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let suites = 4;
    for suite in 0..suites {
        xml.push_str(&format!("  <testsuite name=\"suite {suite}\">\n"));
        for index in (suite..count).step_by(suites) {
            let name = format!("test number {index}");
            let time = 0.25 + (index % 5) as f64;
            if index % 13 == 0 {
                xml.push_str(&format!(
                    "    <testcase classname=\"pkg.suite{suite}\" name=\"{name}\" time=\"0\"><skipped/></testcase>\n"
                ));
            } else if index % 7 == 0 {
                xml.push_str(&format!(
                    "    <testcase classname=\"pkg.suite{suite}\" name=\"{name}\" time=\"{time}\"><failure message=\"expected {index} got 0\">trace line 1\ntrace line 2</failure></testcase>\n"
                ));
            } else {
                xml.push_str(&format!(
                    "    <testcase classname=\"pkg.suite{suite}\" name=\"{name}\" time=\"{time}\"/>\n"
                ));
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    std::fs::write(path, xml).unwrap();
}

/// Returns the corpus of real report files, from the `shared` folder that
/// sits beside the repository.
pub fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        dir.is_dir(),
        "corpus not found at {}; the shared folder must sit beside the repository",
        dir.display()
    );
    dir
}

/// Starts an emulator with the given configuration.
pub async fn emulator(config: EmulatorConfig) -> Emulator {
    Emulator::start(config)
        .await
        .expect("emulator starts on 127.0.0.1")
}

/// The `trail` binary with connection settings for `emulator` and a
/// private spool.
pub fn trail(url: &str, dir: &Path) -> Command {
    let mut command = Command::cargo_bin("trail").unwrap();
    command
        .env_clear()
        .env("TESTRAIL_HOST", url)
        .env("TESTRAIL_USER", "admin@example.com")
        .env("TESTRAIL_API_KEY", "secret")
        .env("TRAIL_SPOOL", dir.join("spool"))
        .current_dir(dir);
    command
}

/// Runs a command off the async runtime's threads.
pub async fn run(mut command: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// What TestRail holds, without ids or times: case titles per section path,
/// and per run name the results of each case as (status, comment) in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// Section path and title of every case, sorted.
    pub cases: Vec<(String, String)>,
    /// Run name to case title to its results.
    pub runs: BTreeMap<String, BTreeMap<String, Vec<(u64, String)>>>,
}

/// Reads the emulator's state through its control endpoint, which no fault
/// affects.
pub fn normalize(state: &Value) -> Normalized {
    let list = |key: &str| state[key].as_array().cloned().unwrap_or_default();
    let sections: BTreeMap<u64, (String, Option<u64>)> = list("sections")
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().unwrap(),
                (
                    s["name"].as_str().unwrap().to_owned(),
                    s["parent_id"].as_u64(),
                ),
            )
        })
        .collect();
    let path_of = |mut id: Option<u64>| {
        let mut parts = Vec::new();
        while let Some(current) = id {
            let (name, parent) = &sections[&current];
            parts.push(name.clone());
            id = *parent;
        }
        parts.reverse();
        parts.join("/")
    };
    let cases: BTreeMap<u64, (String, String)> = list("cases")
        .iter()
        .map(|c| {
            let id = c["id"].as_u64().unwrap();
            (
                id,
                (
                    path_of(c["section_id"].as_u64()),
                    c["title"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();

    let runs: BTreeMap<u64, String> = list("runs")
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let tests: BTreeMap<u64, (u64, u64)> = list("tests")
        .iter()
        .map(|t| {
            (
                t["id"].as_u64().unwrap(),
                (
                    t["run_id"].as_u64().unwrap(),
                    t["case_id"].as_u64().unwrap(),
                ),
            )
        })
        .collect();

    let mut by_run: BTreeMap<String, BTreeMap<String, Vec<(u64, String)>>> = BTreeMap::new();
    for (test_id, (run_id, case_id)) in &tests {
        let title = format!("{}/{}", cases[case_id].0, cases[case_id].1);
        by_run
            .entry(runs[run_id].clone())
            .or_default()
            .entry(title)
            .or_default();
        let _ = test_id;
    }
    for result in list("results") {
        let test_id = result["test_id"].as_u64().unwrap();
        let (run_id, case_id) = tests[&test_id];
        let title = format!("{}/{}", cases[&case_id].0, cases[&case_id].1);
        let status = result["status_id"].as_u64().unwrap_or(0);
        let comment = result["comment"].as_str().unwrap_or("").to_owned();
        by_run
            .entry(runs[&run_id].clone())
            .or_default()
            .entry(title)
            .or_default()
            .push((status, comment));
    }

    let mut case_list: Vec<(String, String)> = cases.into_values().collect();
    case_list.sort();
    Normalized {
        cases: case_list,
        runs: by_run,
    }
}

/// Default emulator configuration.
pub fn default_config() -> EmulatorConfig {
    EmulatorConfig::default()
}
