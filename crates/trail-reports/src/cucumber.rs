//! Reader for Cucumber JSON (cucumber-jvm, cucumber-js, Cypress preprocessors).
//!
//! Each scenario, including each example row of a scenario outline, is one
//! result. The suite path is the feature name. Background elements hold steps
//! that ran before the next scenario, so their steps are put in front of that
//! scenario's steps. Hooks are not listed as steps, but a failed hook fails
//! its scenario. Durations are in nanoseconds.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{ReadError, json_error};
use crate::model::{Failure, Origin, Outcome, Step, TestIdentity, TestResult};
use crate::names::{non_empty, push_tag, strip_ansi};

/// Reads the Cucumber JSON report in `reader` and returns its scenarios in report order.
///
/// Fails when the JSON is invalid or is not an array of features.
pub fn read<R: BufRead>(
    reader: R,
    report_path: &Path,
) -> Result<std::vec::IntoIter<TestResult>, ReadError> {
    let features: Vec<Feature> =
        serde_json::from_reader(reader).map_err(|error| json_error(report_path, error))?;

    let mut results = Vec::new();
    for feature in &features {
        let mut background: Vec<&Element> = Vec::new();
        for element in &feature.elements {
            if element.kind.as_deref() == Some("background") {
                background.push(element);
                continue;
            }
            results.push(convert_scenario(feature, &background, element, report_path));
            background.clear();
        }
    }
    Ok(results.into_iter())
}

#[derive(Deserialize)]
struct Feature {
    #[serde(default)]
    name: String,
    uri: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    elements: Vec<Element>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

#[derive(Deserialize)]
struct Element {
    #[serde(default)]
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    line: Option<u32>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    steps: Vec<RunStep>,
    #[serde(default)]
    before: Vec<Hook>,
    #[serde(default)]
    after: Vec<Hook>,
}

#[derive(Deserialize)]
struct RunStep {
    #[serde(default)]
    keyword: String,
    #[serde(default)]
    name: String,
    result: Option<StepResult>,
    #[serde(default)]
    before: Vec<Hook>,
    #[serde(default)]
    after: Vec<Hook>,
}

#[derive(Deserialize)]
struct Hook {
    result: Option<StepResult>,
}

#[derive(Deserialize)]
struct StepResult {
    #[serde(default)]
    status: String,
    duration: Option<u64>,
    error_message: Option<String>,
}

/// Ranks an outcome, because the scenario outcome is the worst of its steps.
fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Passed => 0,
        Outcome::Skipped => 1,
        _ => 2,
    }
}

/// Maps a Cucumber status; `undefined` and `pending` steps did not run, so they count as skipped.
fn outcome_of(status: &str) -> Outcome {
    match status {
        "passed" => Outcome::Passed,
        "failed" | "ambiguous" => Outcome::Failed,
        _ => Outcome::Skipped,
    }
}

fn convert_scenario(
    feature: &Feature,
    background: &[&Element],
    scenario: &Element,
    report_path: &Path,
) -> TestResult {
    let mut tags = Vec::new();
    for tag in feature.tags.iter().chain(&scenario.tags) {
        push_tag(&mut tags, &tag.name);
    }
    let mut result = TestResult {
        identity: TestIdentity {
            suite_path: non_empty(&feature.name).into_iter().collect(),
            class_name: None,
            name: scenario.name.clone(),
            file: feature.uri.clone(),
            line: scenario.line,
        },
        tags,
        origin: Origin {
            report: report_path.to_path_buf(),
            line: None,
        },
        ..TestResult::default()
    };

    let elements = background.iter().copied().chain([scenario]);
    let mut outcome = Outcome::Passed;
    let mut nanos: Option<u64> = None;
    let mut failure: Option<Failure> = None;
    let mut undefined = None;
    let mut note = |run: Option<&StepResult>, title: Option<&str>| {
        let Some(run) = run else {
            return Outcome::Skipped;
        };
        let step_outcome = outcome_of(&run.status);
        if let Some(duration) = run.duration {
            nanos = Some(nanos.unwrap_or(0).saturating_add(duration));
        }
        if severity(step_outcome) > severity(outcome) {
            outcome = step_outcome;
        }
        if step_outcome.is_failure() && failure.is_none() {
            let text = run.error_message.as_deref().map(strip_ansi);
            failure = Some(Failure {
                message: text
                    .as_deref()
                    .and_then(|text| text.lines().find_map(non_empty))
                    .or_else(|| title.map(|title| format!("step failed: {title}"))),
                kind: None,
                text: text.as_deref().and_then(non_empty),
                location: None,
            });
        }
        if matches!(run.status.as_str(), "undefined" | "pending") && undefined.is_none() {
            undefined = title.map(|title| format!("step is {}: {title}", run.status));
        }
        step_outcome
    };

    let mut steps = Vec::new();
    for element in elements {
        for hook in &element.before {
            note(hook.result.as_ref(), Some("before hook"));
        }
        for step in &element.steps {
            let title = format!("{}{}", step.keyword, step.name).trim().to_owned();
            for hook in &step.before {
                note(hook.result.as_ref(), Some("before step hook"));
            }
            let step_outcome = note(step.result.as_ref(), Some(&title));
            for hook in &step.after {
                note(hook.result.as_ref(), Some("after step hook"));
            }
            let run = step.result.as_ref();
            steps.push(Step {
                title,
                outcome: step_outcome,
                duration: run.and_then(|run| run.duration).map(Duration::from_nanos),
                error: run
                    .and_then(|run| run.error_message.as_deref())
                    .map(strip_ansi),
                steps: Vec::new(),
            });
        }
        for hook in &element.after {
            note(hook.result.as_ref(), Some("after hook"));
        }
    }

    result.outcome = outcome;
    result.duration = nanos.map(Duration::from_nanos);
    result.steps = steps;
    if outcome.is_failure() {
        result.failure = failure;
    } else if outcome == Outcome::Skipped {
        result.skip_reason = undefined;
    }
    result
}
