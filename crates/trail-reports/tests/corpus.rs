//! Reads every real report in the shared corpus and checks its counts.
//!
//! The expected counts were taken from each file apart from this crate: for JUnit the
//! `<testcase>` elements and their `<failure>`, `<error>`, `<skipped>` and
//! retry children, for the other formats the statuses the file records.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use trail_reports::{Format, Outcome, TestResult, read_report};

/// Result counts of one report.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    total: usize,
    passed: usize,
    failed: usize,
    errored: usize,
    skipped: usize,
    timed_out: usize,
    interrupted: usize,
    with_attempts: usize,
}

fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        dir.is_dir(),
        "the report corpus is missing at `{}`; it belongs in the `shared` folder beside the repository clone",
        dir.display()
    );
    dir
}

fn read_all(relative: &str, format: Format) -> Vec<TestResult> {
    let path = corpus_dir().join(relative);
    let reader = read_report(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(reader.format(), format, "detected format of {relative}");
    reader
        .map(|result| result.unwrap_or_else(|error| panic!("{error}")))
        .collect()
}

fn count(results: &[TestResult]) -> Counts {
    let mut counts = Counts {
        total: results.len(),
        ..Counts::default()
    };
    for result in results {
        match result.outcome {
            Outcome::Passed => counts.passed += 1,
            Outcome::Failed => counts.failed += 1,
            Outcome::Errored => counts.errored += 1,
            Outcome::Skipped => counts.skipped += 1,
            Outcome::TimedOut => counts.timed_out += 1,
            Outcome::Interrupted => counts.interrupted += 1,
            _ => panic!("unexpected outcome {}", result.outcome),
        }
        if !result.attempts.is_empty() {
            counts.with_attempts += 1;
        }
    }
    counts
}

fn first_line(text: Option<&str>) -> Value {
    text.and_then(|text| text.lines().next())
        .map_or(Value::Null, |line| {
            Value::from(line.chars().take(120).collect::<String>())
        })
}

/// Builds a compact, stable description of one result for snapshots.
fn summary(result: &TestResult) -> Value {
    let failure = result.failure.as_ref().map(|failure| {
        json!({
            "message": first_line(failure.message.as_deref()),
            "kind": failure.kind,
            "text": first_line(failure.text.as_deref()),
            "location": failure.location,
        })
    });
    json!({
        "suite_path": result.identity.suite_path,
        "class": result.identity.class_name,
        "name": result.identity.name,
        "title": result.display_title(),
        "file": result.identity.file,
        "line": result.identity.line,
        "project": result.project,
        "tags": result.tags,
        "outcome": result.outcome.as_str(),
        "duration_ms": result.duration.map(|duration| duration.as_millis() as u64),
        "attempts": result.attempts.iter().map(|attempt| attempt.outcome.as_str()).collect::<Vec<_>>(),
        "failure": failure,
        "skip_reason": first_line(result.skip_reason.as_deref()),
        "steps": result.steps.len(),
        "attachments": result.attachments.iter().map(|attachment| &attachment.name).collect::<Vec<_>>(),
        "properties": result.properties.iter().map(|property| format!("{}={}", property.name, property.value.chars().take(60).collect::<String>())).collect::<Vec<_>>(),
        "has_stdout": result.stdout.is_some(),
        "has_stderr": result.stderr.is_some(),
        "report_line": result.origin.line,
    })
}

/// Reads one corpus file, checks its counts and snapshots its summary.
fn check(relative: &str, format: Format, expected: Counts) -> Vec<TestResult> {
    let results = read_all(relative, format);
    assert_eq!(count(&results), expected, "counts of {relative}");
    let summaries: Vec<Value> = results.iter().map(summary).collect();
    let name = relative.replace(['/', '.'], "_");
    insta::assert_json_snapshot!(name, summaries);
    results
}

fn counts(
    total: usize,
    passed: usize,
    failed: usize,
    errored: usize,
    skipped: usize,
    with_attempts: usize,
) -> Counts {
    Counts {
        total,
        passed,
        failed,
        errored,
        skipped,
        with_attempts,
        ..Counts::default()
    }
}

#[test]
fn junit_bazel() {
    let results = check(
        "junit/bazel-suite-level-system-out-cdata.xml",
        Format::JUnit,
        counts(1, 0, 0, 1, 0, 0),
    );
    let failure = results[0].failure.as_ref().unwrap();
    assert_eq!(failure.message.as_deref(), Some("exited with error code 1"));
    assert_eq!(failure.text, None);
}

#[test]
fn junit_go_junit_report() {
    let results = check(
        "junit/go-junit-report-build-errors.xml",
        Format::JUnit,
        counts(5, 2, 0, 3, 0, 0),
    );
    assert!(
        results
            .iter()
            .any(|result| result.identity.name == "[build failed]")
    );
}

#[test]
fn junit_gotestsum_subtests() {
    let results = check(
        "junit/gotestsum-subtests-skips-zero-timestamp.xml",
        Format::JUnit,
        counts(60, 42, 13, 0, 5, 0),
    );
    let skipped = results
        .iter()
        .find(|result| result.outcome == Outcome::Skipped)
        .unwrap();
    assert!(
        skipped.skip_reason.as_deref().unwrap().contains('\n'),
        "`&#xA;` decodes to a line feed"
    );
}

#[test]
fn junit_gotestsum_properties() {
    let results = check(
        "junit/gotestsum-testcase-properties.xml",
        Format::JUnit,
        counts(1, 1, 0, 0, 0, 0),
    );
    assert!(!results[0].properties.is_empty());
}

#[test]
fn junit_gradle() {
    check(
        "junit/gradle-springboot-cdata-system-out.xml",
        Format::JUnit,
        counts(1, 1, 0, 0, 0, 0),
    );
}

#[test]
fn junit_jest() {
    let results = check(
        "junit/jest-junit-nested-describe-windows-paths.xml",
        Format::JUnit,
        counts(6, 1, 4, 0, 1, 0),
    );
    let failure = results
        .iter()
        .find_map(|result| result.failure.as_ref())
        .unwrap();
    assert!(failure.text.as_deref().unwrap().contains("<anonymous>"));
}

#[test]
fn junit_mocha() {
    check(
        "junit/mocha-xunit-duplicate-names-rfc1123-timestamp.xml",
        Format::JUnit,
        counts(109, 109, 0, 0, 0, 0),
    );
}

#[test]
fn junit_nextest_retries() {
    let results = check(
        "junit/nextest-rerun-and-flaky-failures.xml",
        Format::JUnit,
        counts(3, 2, 1, 0, 0, 2),
    );
    let flaky = results
        .iter()
        .find(|result| result.outcome == Outcome::Passed && !result.attempts.is_empty())
        .unwrap();
    assert_eq!(flaky.attempts.len(), 3);
    let failed = results
        .iter()
        .find(|result| result.outcome == Outcome::Failed)
        .unwrap();
    assert_eq!(failed.attempts.len(), 2);
    let text = failed.attempts[0]
        .failure
        .as_ref()
        .unwrap()
        .text
        .as_deref()
        .unwrap();
    assert!(text.starts_with("thread 'test_failure_assert' panicked"));
    assert!(
        !text.contains("running 1 test"),
        "nested system-out is not part of the failure text"
    );
}

#[test]
fn junit_phpunit_nested() {
    let results = check(
        "junit/phpunit-nested-suites-system-out.xml",
        Format::JUnit,
        counts(30, 28, 2, 0, 0, 0),
    );
    assert_eq!(results[0].identity.suite_path.len(), 3);
    assert!(results[0].identity.file.is_some());
    assert!(results[0].identity.line.is_some());
}

#[test]
fn junit_playwright_float_time() {
    let results = check(
        "junit/playwright-junit-float-time-emoji-output.xml",
        Format::JUnit,
        counts(2, 2, 0, 0, 0, 0),
    );
    assert!(results[0].stdout.as_deref().unwrap().contains('✓'));
}

#[test]
fn junit_playwright_multi_project() {
    check(
        "junit/playwright-junit-tags-in-names-multi-project.xml",
        Format::JUnit,
        counts(20, 17, 3, 0, 0, 0),
    );
}

#[test]
fn junit_pytest_one_line() {
    let results = check(
        "junit/pytest-xunit1-file-line-skipped.xml",
        Format::JUnit,
        counts(97, 80, 0, 0, 17, 0),
    );
    assert!(results.iter().all(|result| result.origin.line == Some(1)));
}

#[test]
fn junit_robot_xunit() {
    check(
        "junit/robot-xunit-rf5-root-testsuite.xml",
        Format::JUnit,
        counts(5, 5, 0, 0, 0, 0),
    );
}

#[test]
fn junit_surefire_unicode() {
    let results = check(
        "junit/surefire-error-and-failure-unicode.xml",
        Format::JUnit,
        counts(9, 2, 2, 5, 0, 0),
    );
    let messages: String = results
        .iter()
        .filter_map(|result| result.failure.as_ref()?.message.clone())
        .collect();
    assert!(messages.contains('😋'));
}

#[test]
fn junit_testng_retry() {
    check(
        "junit/testng-junitreport-retried-duplicate-name.xml",
        Format::JUnit,
        counts(2, 0, 1, 0, 1, 0),
    );
}

#[test]
fn junit_wdio() {
    let results = check(
        "junit/wdio-junit-attachment-marker-in-message.xml",
        Format::JUnit,
        counts(4, 3, 1, 0, 0, 0),
    );
    let message = results
        .iter()
        .find_map(|result| result.failure.as_ref()?.message.clone())
        .unwrap();
    assert!(message.contains("[[ATTACHMENT|"));
    assert!(message.contains('\n'));
}

#[test]
fn playwright_legacy() {
    let results = check(
        "playwright-json/v1.31-legacy-no-stats.json",
        Format::PlaywrightJson,
        counts(2, 1, 1, 0, 0, 0),
    );
    let failed = results
        .iter()
        .find(|result| result.outcome == Outcome::Failed)
        .unwrap();
    assert!(failed.failure.as_ref().unwrap().location.is_some());
    assert!(!failed.attachments.is_empty());
}

#[test]
fn playwright_multi_project() {
    let results = read_all(
        "playwright-json/v1.55-tags-multi-project-nonascii.json",
        Format::PlaywrightJson,
    );
    let expected = Counts {
        total: 20,
        passed: 17,
        timed_out: 3,
        ..Counts::default()
    };
    assert_eq!(count(&results), expected);
    let smoke = &results[0];
    assert_eq!(smoke.tags, ["Regression", "Login", "Smoke"]);
    assert_eq!(smoke.project.as_deref(), Some("Dev"));
    check(
        "playwright-json/v1.55-tags-multi-project-nonascii.json",
        Format::PlaywrightJson,
        expected,
    );
}

#[test]
fn playwright_flaky_interrupted() {
    // Four passed results include the flaky test, which passed on its third try.
    let expected = Counts {
        total: 9,
        passed: 4,
        skipped: 4,
        interrupted: 1,
        with_attempts: 1,
        ..Counts::default()
    };
    let results = check(
        "playwright-json/v1.57-flaky-retries-steps-interrupted.json",
        Format::PlaywrightJson,
        expected,
    );
    let flaky = results
        .iter()
        .find(|result| !result.attempts.is_empty())
        .unwrap();
    assert_eq!(flaky.attempts.len(), 2);
    let message = flaky.attempts[0]
        .failure
        .as_ref()
        .unwrap()
        .message
        .as_deref()
        .unwrap();
    assert!(!message.contains('\u{1b}'), "ANSI codes are stripped");
}

#[test]
fn playwright_timed_out_setup() {
    let expected = Counts {
        total: 2,
        passed: 1,
        timed_out: 1,
        ..Counts::default()
    };
    let results = check(
        "playwright-json/v1.58-timedout-setup-project-attachments.json",
        Format::PlaywrightJson,
        expected,
    );
    let timed_out = results
        .iter()
        .find(|result| result.outcome == Outcome::TimedOut)
        .unwrap();
    assert_eq!(timed_out.tags, ["Positive"]);
    assert!(timed_out.failure.is_some());
}

#[test]
fn cucumber_hooks_failed() {
    let results = check(
        "cucumber-json/cucumber-jvm-hooks-failed-gson-escapes.json",
        Format::CucumberJson,
        counts(2, 0, 2, 0, 0, 0),
    );
    assert_eq!(results[0].tags, ["E2E", "Positive", "Functional"]);
    assert!(results[0].failure.as_ref().unwrap().message.is_some());
}

#[test]
fn cucumber_outline() {
    check(
        "cucumber-json/cucumber-jvm-outline-step-level-hooks.json",
        Format::CucumberJson,
        counts(1, 1, 0, 0, 0, 0),
    );
}

#[test]
fn cucumber_cypress() {
    let results = check(
        "cucumber-json/cypress-cucumber-thai-skipped-no-duration.json",
        Format::CucumberJson,
        counts(3, 1, 0, 0, 2, 0),
    );
    assert_eq!(results[0].tags, ["smoke"]);
}

#[test]
fn robot_rf3() {
    check(
        "robot/rf3-legacy-timestamps-critical.xml",
        Format::RobotXml,
        counts(2, 2, 0, 0, 0, 0),
    );
}

#[test]
fn robot_rf5() {
    let results = check(
        "robot/rf5-output-tags-errors-section.xml",
        Format::RobotXml,
        counts(5, 5, 0, 0, 0, 0),
    );
    assert!(results.iter().any(|result| !result.tags.is_empty()));
    assert!(results.iter().all(|result| result.duration.is_some()));
}

#[test]
fn robot_rf7() {
    let results = check(
        "robot/rf7-rebot-case-ids-in-names.xml",
        Format::RobotXml,
        counts(4, 3, 1, 0, 0, 0),
    );
    let case_id = results[0]
        .properties
        .iter()
        .find(|property| property.name == "testrail_case_id")
        .map(|property| property.value.as_str());
    assert_eq!(case_id, Some("C123"));
}

#[test]
fn libtest_doctests() {
    let results = check(
        "libtest-json/doctests-edition2024-unnamed-suites.json",
        Format::LibtestJson,
        counts(4, 2, 1, 0, 1, 0),
    );
    let failed = results
        .iter()
        .find(|result| result.outcome == Outcome::Failed)
        .unwrap();
    assert!(failed.failure.as_ref().unwrap().message.is_some());
}

#[test]
fn libtest_string_exec_time() {
    let results = check(
        "libtest-json/exec-time-as-string.json",
        Format::LibtestJson,
        counts(6, 6, 0, 0, 0, 0),
    );
    assert!(results.iter().all(|result| result.duration.is_some()));
}

#[test]
fn libtest_foreign_line() {
    check(
        "libtest-json/foreign-json-line-interleaved.json",
        Format::LibtestJson,
        counts(1, 1, 0, 0, 0, 0),
    );
}

#[test]
fn libtest_timeout_warning() {
    check(
        "libtest-json/timeout-event-then-ok.json",
        Format::LibtestJson,
        counts(1, 1, 0, 0, 0, 0),
    );
}
