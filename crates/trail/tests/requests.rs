//! Request counts of `trail report` in its main scenarios, read from the
//! emulator's request log.
//!
//! The minimum number of requests for an upload is the pages needed to
//! resolve the project, its suite, the statuses and the run, one `add_run`,
//! one `add_results_for_cases` per batch (250 results by default) and one
//! request per created section and case; cases are read only when some test
//! does not name its case by id. Each test states the count per method and
//! marks with a NOTE every method where trail sends more than that minimum.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Map;
use testrail_emulator::seed::{SeedCase, SeedSection};
use testrail_emulator::{Emulator, EmulatorConfig, Seed};

/// Page size of TestRail's bulk GET endpoints.
/// trail's default `--batch-size`.
const BATCH_SIZE: usize = 250;

/// Returns the outcome element of generated test `index`: a failure when
/// `index % 10 == 3`, a skip when `index % 100 == 50`, none (passed) otherwise.
fn outcome_xml(index: usize) -> &'static str {
    if index % 100 == 50 {
        "<skipped message=\"needs the payments sandbox\"/>"
    } else if index % 10 == 3 {
        "<failure message=\"assert 500 == 200\" type=\"AssertionError\">\
         tests/test_shop.py:41: AssertionError\nE  assert 500 == 200</failure>"
    } else {
        ""
    }
}

fn is_skipped(index: usize) -> bool {
    index % 100 == 50
}

/// Writes a JUnit file with `count` tests in suites of 100 tests each. With
/// `with_ids`, test `i` is named `C{i + 1} ...` so it matches case `i + 1`.
fn write_junit(path: &Path, count: usize, with_ids: bool) {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites>\n");
    for suite in 0..count.div_ceil(100) {
        writeln!(xml, "  <testsuite name=\"tests.test_shop_{suite}\">").unwrap();
        for index in suite * 100..((suite + 1) * 100).min(count) {
            let name = if with_ids {
                format!("C{} checks order {index}", index + 1)
            } else {
                format!("checks order {index}")
            };
            writeln!(
                xml,
                "    <testcase classname=\"tests.test_shop_{suite}.TestShop\" name=\"{name}\" \
                 time=\"0.25\">{}</testcase>",
                outcome_xml(index)
            )
            .unwrap();
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    std::fs::write(path, xml).unwrap();
}

/// Seed in which project Demo (id 1, single suite 1) contains cases 1..=count.
fn seed_with_cases(count: u64) -> Seed {
    Seed {
        sections: vec![SeedSection {
            id: Some(1),
            suite_id: 1,
            name: "Imported".into(),
            parent_id: None,
            description: None,
        }],
        cases: (1..=count)
            .map(|id| SeedCase {
                id: Some(id),
                section_id: 1,
                title: format!("case {id}"),
                fields: Map::new(),
            })
            .collect(),
        ..Seed::default()
    }
}

async fn start(seed: Option<Seed>) -> Emulator {
    Emulator::start(EmulatorConfig {
        seed,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// Runs `trail report FILE --project Demo --run-name Bench` and returns its
/// JSON summary.
async fn report(emulator: &Emulator, dir: &Path, file: &Path) -> serde_json::Value {
    let mut command = Command::cargo_bin("trail").unwrap();
    command
        .env_clear()
        .env("TESTRAIL_HOST", emulator.url())
        .env("TESTRAIL_USER", "admin@example.com")
        .env("TESTRAIL_API_KEY", "secret")
        .env("TRAIL_SPOOL", dir.join("spool"))
        .current_dir(dir)
        .arg("report")
        .arg(file)
        .args([
            "--project",
            "Demo",
            "--run-name",
            "Bench",
            "--format",
            "json",
        ]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "trail failed; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is the JSON summary")
}

/// Counts logged API requests by method name, such as `get_cases`.
fn counts_by_method(emulator: &Emulator) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in emulator.request_log() {
        let tail = request
            .path
            .split_once("/api/v2/")
            .map_or(request.path.as_str(), |(_, tail)| tail);
        let method = tail.split(['/', '&']).next().unwrap_or(tail).to_string();
        *counts.entry(method).or_insert(0) += 1;
    }
    counts
}

fn expected(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .map(|(method, count)| ((*method).to_string(), *count))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_cases_request_counts() {
    const TESTS: usize = 1000;
    let emulator = start(Some(seed_with_cases(TESTS as u64))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results.xml");
    write_junit(&file, TESTS, true);
    let posted = (0..TESTS).filter(|&index| !is_skipped(index)).count();

    let summary = report(&emulator, dir.path(), &file).await;
    assert_eq!(summary["results_uploaded"], posted);
    assert_eq!(summary["cases_created"], 0);

    // Every result names its case, so the suite's cases are not read: an
    // unknown id would show up as a rejected case list instead. What is left
    // is what a correct upload cannot skip: the project and its suite, the
    // statuses (results are mapped by status name), the open runs before
    // add_run (to reuse a run of the same name) and after it (to settle a
    // concurrent creation), and one request per batch.
    let counts = counts_by_method(&emulator);
    let all = expected(&[
        ("get_projects", 1),
        ("get_suites", 1),
        ("get_statuses", 1),
        ("get_runs", 2),
        ("add_run", 1),
        ("add_results_for_cases", posted.div_ceil(BATCH_SIZE)),
    ]);
    assert_eq!(counts, all, "requests per API method");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_cases_request_counts() {
    const TESTS: usize = 200;
    let emulator = start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results.xml");
    write_junit(&file, TESTS, false);
    let posted = (0..TESTS).filter(|&index| !is_skipped(index)).count();
    let suites = TESTS.div_ceil(100);

    let summary = report(&emulator, dir.path(), &file).await;
    assert_eq!(summary["results_uploaded"], posted);
    assert_eq!(summary["cases_created"], TESTS);

    let counts = counts_by_method(&emulator);
    // The project starts empty, so each listing is one page. Besides what
    // the upload with case ids needs, get_case_fields tells whether cases
    // can carry an automation id.
    let minimum = expected(&[
        ("get_projects", 1),
        ("get_suites", 1),
        ("get_statuses", 1),
        ("get_case_fields", 1),
        ("add_section", suites),
        ("add_case", TESTS),
        ("get_runs", 2),
        ("add_run", 1),
        ("add_results_for_cases", posted.div_ceil(BATCH_SIZE)),
    ]);
    for (method, count) in &minimum {
        assert_eq!(counts.get(method), Some(count), "requests to {method}");
    }
    // The sections and cases are read once to match tests to existing
    // cases. NOTE: to settle a concurrent creation by another upload, trail
    // reads the sections once more after creating each level of sections
    // (here one level) and the cases once more after creating cases (here
    // one page for the whole suite, cheaper than one read per section).
    let extra = expected(&[("get_sections", 1 + 1), ("get_cases", 1 + 1)]);
    for (method, count) in &extra {
        assert_eq!(
            counts.get(method),
            Some(count),
            "requests to {method} with the race checks"
        );
    }
    let mut all = minimum;
    all.extend(extra);
    assert_eq!(counts, all, "no other API method is called");
}
