//! Small hand-written reports, one per hard case, each snapshotted in full.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use trail_reports::{
    Failure, Format, Outcome, ReadError, ReadErrorKind, Step, TestResult, detect_format,
    read_report,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_ok(name: &str) -> Vec<TestResult> {
    read_report(&fixture(name))
        .unwrap_or_else(|error| panic!("{error}"))
        .map(|result| result.unwrap_or_else(|error| panic!("{error}")))
        .collect()
}

/// Reads a fixture that must fail and returns the results before the error and the error.
fn read_err(name: &str) -> (Vec<TestResult>, ReadError) {
    let mut results = Vec::new();
    for item in read_report(&fixture(name)).unwrap() {
        match item {
            Ok(result) => results.push(result),
            Err(error) => return (results, error),
        }
    }
    panic!("{name} was read without an error");
}

fn failure_json(failure: &Failure) -> Value {
    json!({
        "message": failure.message,
        "kind": failure.kind,
        "text": failure.text,
        "location": failure.location,
    })
}

fn step_json(step: &Step) -> Value {
    json!({
        "title": step.title,
        "outcome": step.outcome.as_str(),
        "duration_ms": step.duration.map(|duration| duration.as_millis() as u64),
        "error": step.error,
        "steps": step.steps.iter().map(step_json).collect::<Vec<_>>(),
    })
}

fn result_json(result: &TestResult) -> Value {
    json!({
        "suite_path": result.identity.suite_path,
        "class": result.identity.class_name,
        "name": result.identity.name,
        "file": result.identity.file,
        "line": result.identity.line,
        "project": result.project,
        "tags": result.tags,
        "outcome": result.outcome.as_str(),
        "duration_us": result.duration.map(|duration| duration.as_micros() as u64),
        "attempts": result.attempts.iter().map(|attempt| json!({
            "outcome": attempt.outcome.as_str(),
            "duration_ms": attempt.duration.map(|duration| duration.as_millis() as u64),
            "failure": attempt.failure.as_ref().map(failure_json),
        })).collect::<Vec<_>>(),
        "failure": result.failure.as_ref().map(failure_json),
        "skip_reason": result.skip_reason,
        "steps": result.steps.iter().map(step_json).collect::<Vec<_>>(),
        "attachments": result.attachments.iter().map(|attachment| json!({
            "name": attachment.name,
            "content_type": attachment.content_type,
            "path": attachment.path,
            "body": attachment.body.as_ref().map(|body| String::from_utf8_lossy(body).into_owned()),
        })).collect::<Vec<_>>(),
        "properties": result.properties.iter().map(|property| [&property.name, &property.value]).collect::<Vec<_>>(),
        "stdout": result.stdout,
        "stderr": result.stderr,
        "report_line": result.origin.line,
    })
}

fn snapshot(name: &str, results: &[TestResult]) {
    let values: Vec<Value> = results.iter().map(result_json).collect();
    insta::assert_json_snapshot!(name.replace('.', "_"), values);
}

#[test]
fn control_characters_are_removed() {
    let name = "control-chars-in-cdata.xml";
    let results = read_ok(name);
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert_eq!(result.identity.name, "colours [31mred[0m");
    let failure = result.failure.as_ref().unwrap();
    assert_eq!(failure.message.as_deref(), Some("bell and form feed"));
    assert_eq!(
        failure.text.as_deref(),
        Some("raw escape [1mbold[0m and NUL  end")
    );
    assert_eq!(result.stdout.as_deref(), Some("vertical tab  in text"));
    snapshot(name, &results);
}

#[test]
fn entities_and_char_refs_decode() {
    let name = "entities-and-char-refs.xml";
    let results = read_ok(name);
    assert_eq!(results[0].identity.class_name.as_deref(), Some("a & b"));
    assert_eq!(results[0].identity.name, "line\nbreak <tag> 😀 \"q\"");
    let failure = results[0].failure.as_ref().unwrap();
    assert_eq!(failure.message.as_deref(), Some("first\nsecond\ttab"));
    assert_eq!(
        failure.text.as_deref(),
        Some("expected <3> but was 3\n&unknown; stays")
    );
    assert_eq!(results[1].identity.name, "unknown &nbsp; in attribute");
    snapshot(name, &results);
}

#[test]
fn doctype_entities_stay_unexpanded() {
    let name = "doctype-with-entities.xml";
    let results = read_ok(name);
    let text = results[0]
        .failure
        .as_ref()
        .unwrap()
        .text
        .as_deref()
        .unwrap();
    assert_eq!(text, "&internal; and &external;");
    snapshot(name, &results);
}

#[test]
fn nested_suites_and_properties() {
    let name = "nested-suites-properties.xml";
    let results = read_ok(name);
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0].identity.suite_path,
        ["phpunit.xml", "Unit", "LoginTest"]
    );
    assert_eq!(
        results[0].identity.file.as_deref(),
        Some("tests/Unit/LoginTest.php")
    );
    assert_eq!(results[0].identity.line, Some(12));
    let values: Vec<(&str, &str)> = results[0]
        .properties
        .iter()
        .map(|property| (property.name.as_str(), property.value.as_str()))
        .collect();
    assert_eq!(values, [("test_id", "C101"), ("testrail_case_id", "C102")]);
    assert_eq!(results[1].identity.suite_path, ["phpunit.xml", "Unit"]);
    assert_eq!(results[1].identity.class_name, None);
    assert_eq!(
        results[1].identity.file.as_deref(),
        Some("tests/Unit/Other.php")
    );
    assert_eq!(results[2].identity.suite_path, ["phpunit.xml"]);
    assert_eq!(results[2].origin.line, Some(17));
    snapshot(name, &results);
}

#[test]
fn odd_times_parse_or_drop() {
    let name = "odd-times.xml";
    let results = read_ok(name);
    let durations: Vec<Option<Duration>> = results.iter().map(|result| result.duration).collect();
    assert_eq!(
        durations,
        [
            Some(Duration::ZERO),
            Some(Duration::ZERO),
            Some(Duration::from_secs_f64(53.440858999999996)),
            None,
            None,
            None,
            Some(Duration::from_secs(100)),
            None,
        ]
    );
    snapshot(name, &results);
}

#[test]
fn bom_and_comments_before_root() {
    let name = "bom-declaration-comments.xml";
    assert_eq!(detect_format(&fixture(name)).unwrap(), Format::JUnit);
    let results = read_ok(name);
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|result| result.outcome == Outcome::Skipped)
    );
    assert_eq!(results[0].skip_reason, None);
    assert_eq!(results[1].skip_reason.as_deref(), Some("not today"));
    assert_eq!(results[0].origin.line, Some(6));
    snapshot(name, &results);
}

#[test]
fn mismatched_end_tag_reports_line() {
    let (results, error) = read_err("malformed-end-tag.xml");
    assert_eq!(results.len(), 1, "the case before the error is kept");
    assert_eq!(error.line, Some(5));
    assert!(matches!(error.kind, ReadErrorKind::Xml(_)));
    let message = error.to_string();
    assert!(message.starts_with('`'), "{message}");
    assert!(
        message.contains("malformed-end-tag.xml`:5: invalid XML"),
        "{message}"
    );
    assert!(message.contains("\nhint: "), "{message}");
}

#[test]
fn truncated_file_is_an_error() {
    let (results, error) = read_err("truncated.xml");
    assert_eq!(results.len(), 1);
    assert!(matches!(error.kind, ReadErrorKind::Xml(_)), "{error}");
    assert!(error.to_string().contains("truncated"), "{error}");
}

#[test]
fn text_followed_by_cdata() {
    let name = "mixed-text-and-cdata.xml";
    let results = read_ok(name);
    assert_eq!(results.len(), 1);
    let failure = results[0].failure.as_ref().unwrap();
    assert_eq!(results[0].outcome, Outcome::Errored);
    assert_eq!(failure.kind, None, "an empty type is no kind");
    assert_eq!(
        failure.text.as_deref(),
        Some("plain text & <cdata> & more tail")
    );
    assert_eq!(results[0].stderr.as_deref(), Some("err line"));
    snapshot(name, &results);
}

#[test]
fn surefire_flaky_and_rerun_errors() {
    let name = "surefire-flaky-error.xml";
    let results = read_ok(name);
    assert_eq!(results[0].outcome, Outcome::Passed);
    let outcomes: Vec<Outcome> = results[0]
        .attempts
        .iter()
        .map(|attempt| attempt.outcome)
        .collect();
    assert_eq!(outcomes, [Outcome::Errored, Outcome::Failed]);
    let first = results[0].attempts[0].failure.as_ref().unwrap();
    assert_eq!(
        first.text.as_deref(),
        Some("java.io.IOException: first\n\tat A.b(A.java:1)")
    );
    assert_eq!(results[1].outcome, Outcome::Errored);
    assert_eq!(results[1].attempts.len(), 1);
    snapshot(name, &results);
}

#[test]
fn playwright_annotations_steps_bodies() {
    let name = "playwright-annotations-inline-bodies.json";
    let results = read_ok(name);
    assert_eq!(results.len(), 2);
    let result = &results[0];
    assert_eq!(
        result.identity.suite_path,
        ["checkout.spec.ts", "Checkout @payments"]
    );
    assert_eq!(result.tags, ["payments", "smoke", "critical"]);
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert_eq!(result.attempts.len(), 1);
    let first_try = result.attempts[0].failure.as_ref().unwrap();
    assert_eq!(
        first_try.message.as_deref(),
        Some("Expected: 200\nReceived: 500")
    );
    assert_eq!(
        first_try.location.as_deref(),
        Some("/src/checkout.spec.ts:12:9")
    );
    let failure = result.failure.as_ref().unwrap();
    assert_eq!(failure.location.as_deref(), Some("/src/x.ts:1:1"));
    assert!(failure.text.as_deref().unwrap().contains("Target closed"));
    assert_eq!(result.properties.len(), 2);
    assert_eq!(result.stderr.as_deref(), Some("warn"));
    assert_eq!(results[1].outcome, Outcome::Skipped);
    assert_eq!(results[1].skip_reason.as_deref(), Some("not on firefox"));
    snapshot(name, &results);
}

#[test]
fn playwright_steps_and_attachments_of_last_try() {
    // Without the retry the first result is the last one, so its steps,
    // attachments and output are kept.
    let text =
        std::fs::read_to_string(fixture("playwright-annotations-inline-bodies.json")).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let mut value = value;
    value["suites"][0]["suites"][0]["specs"][0]["tests"][0]["results"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let bytes = serde_json::to_vec(&value).unwrap();
    let results: Vec<TestResult> =
        trail_reports::playwright::read(bytes.as_slice(), Path::new("inline.json"))
            .unwrap()
            .collect();
    let result = &results[0];
    assert_eq!(result.outcome, Outcome::Failed);
    let titles: Vec<&str> = result
        .steps
        .iter()
        .map(|step| step.title.as_str())
        .collect();
    assert_eq!(titles, ["fill the card form", "submit"]);
    assert_eq!(result.steps[0].steps.len(), 1, "expect steps are dropped");
    assert_eq!(result.steps[1].outcome, Outcome::Failed);
    assert_eq!(result.steps[1].error.as_deref(), Some("step failed"));
    assert_eq!(
        result.attachments[1].body.as_deref(),
        Some(&b"hello world"[..])
    );
    assert_eq!(result.stdout.as_deref(), Some("plain line\nbuffered line"));
}

#[test]
fn cucumber_background_and_hooks() {
    let name = "cucumber-background-undefined.json";
    let results = read_ok(name);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].outcome, Outcome::Skipped);
    assert_eq!(results[0].steps.len(), 3, "background steps come first");
    assert_eq!(results[0].tags, ["cart", "smoke"]);
    assert_eq!(results[0].duration, Some(Duration::from_nanos(3_000_500)));
    assert_eq!(results[1].outcome, Outcome::Failed);
    let failure = results[1].failure.as_ref().unwrap();
    assert_eq!(failure.message.as_deref(), Some("screenshot hook crashed"));
    snapshot(name, &results);
}

#[test]
fn unknown_format_has_hint() {
    let dir = std::env::temp_dir().join(format!("trail-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("page.html");
    std::fs::write(&path, "<html><body/></html>").unwrap();
    let error = read_report(&path).unwrap_err();
    assert!(matches!(error.kind, ReadErrorKind::UnknownFormat(_)));
    let message = error.to_string();
    assert!(message.contains("`<html>`"), "{message}");
    assert!(message.contains("hint: trail reads JUnit XML"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_is_io_error() {
    let error = read_report(&fixture("does-not-exist.xml")).unwrap_err();
    assert!(matches!(error.kind, ReadErrorKind::Io(_)));
    assert_eq!(error.line, None);
}
