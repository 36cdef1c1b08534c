//! Reader for Playwright's JSON reporter output (`--reporter=json`).
//!
//! One result is made per spec and project: a spec run in three browsers
//! yields three results that differ in [`TestResult::project`]. The last
//! entry of `results` decides the outcome and the earlier ones become
//! [`Attempt`]s, so a flaky test is one passed result with failed attempts.
//!
//! The document is deserialized whole, into structs that keep only the
//! fields trail needs. Playwright writes the whole report at the end of a
//! run, so its reports stay far smaller than the largest JUnit files.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use crate::error::{ReadError, json_error};
use crate::model::{
    Attachment, Attempt, Failure, Origin, Outcome, Property, Step, TestIdentity, TestResult,
};
use crate::names::{collect_title_tags, non_empty, push_tag, seconds_to_duration, strip_ansi};

/// Reads the Playwright JSON report in `reader` and returns its results in report order.
///
/// Fails when the JSON is invalid or has no `suites` array.
pub fn read<R: BufRead>(
    reader: R,
    report_path: &Path,
) -> Result<std::vec::IntoIter<TestResult>, ReadError> {
    let report: Report =
        serde_json::from_reader(reader).map_err(|error| json_error(report_path, error))?;

    let mut results = Vec::new();
    let mut titles = Vec::new();
    for suite in &report.suites {
        collect_suite(suite, &mut titles, report_path, &mut results);
    }
    Ok(results.into_iter())
}

#[derive(Deserialize)]
struct Report {
    suites: Vec<Suite>,
}

#[derive(Deserialize)]
struct Suite {
    #[serde(default)]
    title: String,
    #[serde(default)]
    specs: Vec<Spec>,
    #[serde(default)]
    suites: Vec<Suite>,
}

#[derive(Deserialize)]
struct Spec {
    #[serde(default)]
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    tests: Vec<Test>,
    file: Option<String>,
    line: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Test {
    project_name: Option<String>,
    project_id: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    annotations: Vec<Annotation>,
    #[serde(default)]
    results: Vec<RunResult>,
}

#[derive(Deserialize)]
struct Annotation {
    #[serde(rename = "type", default)]
    kind: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunResult {
    #[serde(default)]
    status: String,
    duration: Option<f64>,
    #[serde(default)]
    errors: Vec<TestError>,
    error: Option<TestError>,
    #[serde(default)]
    steps: Vec<RunStep>,
    #[serde(default)]
    attachments: Vec<RunAttachment>,
    #[serde(default)]
    stdout: Vec<OutputChunk>,
    #[serde(default)]
    stderr: Vec<OutputChunk>,
    error_location: Option<Location>,
    #[serde(default)]
    annotations: Vec<Annotation>,
}

#[derive(Deserialize)]
struct TestError {
    message: Option<String>,
    stack: Option<String>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Location {
    file: String,
    line: u32,
    column: u32,
}

impl Location {
    fn render(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Deserialize)]
struct RunStep {
    #[serde(default)]
    title: String,
    category: Option<String>,
    duration: Option<f64>,
    error: Option<TestError>,
    #[serde(default)]
    steps: Vec<RunStep>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunAttachment {
    #[serde(default)]
    name: String,
    content_type: Option<String>,
    path: Option<PathBuf>,
    body: Option<String>,
}

#[derive(Deserialize)]
struct OutputChunk {
    text: Option<String>,
    buffer: Option<String>,
}

/// Walks `suite` depth first, pushing one result per spec and project onto `results`.
fn collect_suite(
    suite: &Suite,
    titles: &mut Vec<String>,
    report_path: &Path,
    results: &mut Vec<TestResult>,
) {
    titles.push(suite.title.clone());
    for spec in &suite.specs {
        for test in &spec.tests {
            results.push(convert_test(spec, test, titles, report_path));
        }
    }
    for child in &suite.suites {
        collect_suite(child, titles, report_path, results);
    }
    titles.pop();
}

fn convert_test(spec: &Spec, test: &Test, titles: &[String], report_path: &Path) -> TestResult {
    let mut tags = Vec::new();
    for tag in &spec.tags {
        push_tag(&mut tags, tag);
    }
    for title in titles
        .iter()
        .map(String::as_str)
        .chain([spec.title.as_str()])
    {
        collect_title_tags(title, &mut tags);
    }

    let mut result = TestResult {
        identity: TestIdentity {
            suite_path: titles
                .iter()
                .filter(|title| !title.is_empty())
                .cloned()
                .collect(),
            class_name: None,
            name: spec.title.clone(),
            file: spec.file.clone(),
            line: spec.line,
        },
        tags,
        project: test
            .project_name
            .clone()
            .filter(|name| !name.is_empty())
            .or_else(|| test.project_id.clone()),
        origin: Origin {
            report: report_path.to_path_buf(),
            line: None,
        },
        ..TestResult::default()
    };

    let annotations = test.annotations.iter().chain(
        test.results
            .last()
            .map(|last| last.annotations.as_slice())
            .unwrap_or_default(),
    );
    for annotation in annotations {
        let property = Property {
            name: annotation.kind.clone(),
            value: annotation.description.clone().unwrap_or_default(),
        };
        if !result.properties.contains(&property) {
            result.properties.push(property);
        }
    }

    let Some((last, earlier)) = test.results.split_last() else {
        // Serial-mode followers of a failed test and `test.skip()` have no results.
        result.outcome = match test.status.as_str() {
            "unexpected" => Outcome::Failed,
            "expected" | "flaky" => Outcome::Passed,
            _ => Outcome::Skipped,
        };
        result.skip_reason = skip_reason(test);
        return result;
    };

    result.attempts = earlier
        .iter()
        .map(|run| Attempt {
            outcome: outcome_of(&run.status),
            duration: run.duration.and_then(millis),
            failure: failure_of(run),
        })
        .collect();
    result.outcome = outcome_of(&last.status);
    result.duration = last.duration.and_then(millis);
    if result.outcome.is_failure() {
        result.failure = failure_of(last);
    }
    if result.outcome == Outcome::Skipped {
        result.skip_reason = skip_reason(test);
    }
    result.steps = convert_steps(&last.steps);
    result.attachments = last.attachments.iter().map(convert_attachment).collect();
    result.stdout = join_output(&last.stdout);
    result.stderr = join_output(&last.stderr);
    result
}

fn outcome_of(status: &str) -> Outcome {
    match status {
        "passed" => Outcome::Passed,
        "failed" => Outcome::Failed,
        "timedOut" => Outcome::TimedOut,
        "interrupted" => Outcome::Interrupted,
        _ => Outcome::Skipped,
    }
}

fn millis(duration: f64) -> Option<Duration> {
    seconds_to_duration(duration / 1000.0)
}

/// Returns the description of a `skip` or `fixme` annotation.
fn skip_reason(test: &Test) -> Option<String> {
    test.annotations
        .iter()
        .filter(|annotation| matches!(annotation.kind.as_str(), "skip" | "fixme"))
        .find_map(|annotation| annotation.description.as_deref().and_then(non_empty))
}

/// Builds the failure of one run from its `errors`, or from `error` in older reports.
///
/// The first error gives the message and location. The text contains every
/// error's stack, because a timed-out test often reports a second error.
fn failure_of(run: &RunResult) -> Option<Failure> {
    let errors: Vec<&TestError> = if run.errors.is_empty() {
        run.error.iter().collect()
    } else {
        run.errors.iter().collect()
    };
    let first = errors.first()?;
    let message = first
        .message
        .as_deref()
        .map(strip_ansi)
        .as_deref()
        .and_then(non_empty);
    let texts: Vec<String> = errors
        .iter()
        .filter_map(|error| error.stack.as_deref().or(error.message.as_deref()))
        .map(strip_ansi)
        .filter(|text| !text.trim().is_empty())
        .collect();
    let location = first
        .location
        .as_ref()
        .or(run.error_location.as_ref())
        .or_else(|| errors.iter().find_map(|error| error.location.as_ref()))
        .map(Location::render);
    Some(Failure {
        message,
        kind: None,
        text: non_empty(&texts.join("\n\n")),
        location,
    })
}

/// Converts steps, keeping only `test.step` steps when the report names categories.
///
/// Newer Playwright versions also list hooks, fixtures and `expect` calls as
/// steps, with categories such as `hook`, which are noise in a TestRail result.
fn convert_steps(steps: &[RunStep]) -> Vec<Step> {
    steps
        .iter()
        .filter(|step| {
            step.category
                .as_deref()
                .is_none_or(|category| category == "test.step")
        })
        .map(|step| {
            let error = step
                .error
                .as_ref()
                .and_then(|error| error.message.as_deref())
                .map(strip_ansi);
            Step {
                title: step.title.clone(),
                outcome: if step.error.is_some() {
                    Outcome::Failed
                } else {
                    Outcome::Passed
                },
                duration: step.duration.and_then(millis),
                error,
                steps: convert_steps(&step.steps),
            }
        })
        .collect()
}

fn convert_attachment(attachment: &RunAttachment) -> Attachment {
    Attachment {
        name: attachment.name.clone(),
        content_type: attachment.content_type.clone(),
        path: attachment.path.clone(),
        body: attachment.body.as_deref().map(decode_base64),
    }
}

/// Decodes a base64 body, keeping the text as it is when it is not valid base64.
fn decode_base64(body: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap_or_else(|_| body.as_bytes().to_vec())
}

/// Joins `stdout` or `stderr` chunks, which are `{text}` or base64 `{buffer}` objects.
fn join_output(chunks: &[OutputChunk]) -> Option<String> {
    let mut joined = String::new();
    for chunk in chunks {
        if let Some(text) = &chunk.text {
            joined.push_str(text);
        } else if let Some(buffer) = &chunk.buffer {
            joined.push_str(&String::from_utf8_lossy(&decode_base64(buffer)));
        }
    }
    non_empty(&strip_ansi(&joined))
}
