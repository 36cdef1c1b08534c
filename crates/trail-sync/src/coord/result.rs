//! The spooled form of one test result, also the JSON line that
//! `trail submit` reads from standard input.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use trail_reports::{Attempt, Failure, Outcome, Property, TestResult};

/// One test result as it is queued in the spool.
///
/// The JSON form is the line `trail submit` reads on standard input:
///
/// ```json
/// {"name": "adds an item", "suite": "Cart", "classname": "shop.CartTest",
///  "status": "failed", "duration_ms": 120, "message": "expected 2 items",
///  "case_id": 123}
/// ```
///
/// Only `name` and `status` are required. `suite` is a string or an array
/// of nested suite names. `status` is one of `passed`, `failed`, `error`,
/// `timedout`, `interrupted`, `skipped` or `flaky` (passed after a failed
/// retry). `case_id` ties the result to an existing case, like a `C123`
/// token in the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpooledResult {
    /// Test name.
    pub name: String,
    /// Enclosing suites, outermost first.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub suite: Vec<String>,
    /// Class name, as JUnit writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classname: Option<String>,
    /// Source file of the test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Line of the test in its source file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Outcome name.
    pub status: String,
    /// Duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Failure message or skip reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Longer failure text, such as a stack trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Id of an existing TestRail case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<u64>,
    /// Tags without a leading `@`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Playwright project or a similar run variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Name and value pairs, such as JUnit properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<(String, String)>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(name)) => vec![name],
        Some(OneOrMany::Many(names)) => names,
    })
}

/// Reads an outcome name; returns the outcome and whether the test is
/// flaky, or `None` for an unknown name.
fn parse_status(text: &str) -> Option<(Outcome, bool)> {
    let outcome = match text.trim().to_ascii_lowercase().as_str() {
        "passed" | "pass" | "ok" => Outcome::Passed,
        "flaky" => return Some((Outcome::Passed, true)),
        "failed" | "fail" | "failure" => Outcome::Failed,
        "error" | "errored" | "broken" => Outcome::Errored,
        "timedout" | "timed_out" | "timeout" => Outcome::TimedOut,
        "interrupted" => Outcome::Interrupted,
        "skipped" | "skip" | "pending" | "ignored" => Outcome::Skipped,
        _ => return None,
    };
    Some((outcome, false))
}

/// Outcome names that `status` accepts.
pub const STATUS_NAMES: &str = "passed, failed, error, timedout, interrupted, skipped, flaky";

impl SpooledResult {
    /// Checks the fields that a JSON line may get wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("`name` is empty".into());
        }
        if parse_status(&self.status).is_none() {
            return Err(format!(
                "`status` is `{}`; expected one of {STATUS_NAMES}",
                self.status
            ));
        }
        if self.case_id == Some(0) {
            return Err("`case_id` is 0; case ids start at 1".into());
        }
        Ok(())
    }

    /// Builds the spooled form of a result read from a report.
    ///
    /// Steps and attachments are not kept.
    // NOTE: screenshots of submitted results are not uploaded yet; the
    // spool would have to copy the files, because a worker may delete them.
    pub fn from_result(result: &TestResult) -> SpooledResult {
        let flaky = result.outcome == Outcome::Passed
            && result.attempts.iter().any(|a| a.outcome.is_failure());
        let status = if flaky {
            "flaky".to_owned()
        } else {
            result.outcome.as_str().to_owned()
        };
        let failure = result.failure.as_ref();
        SpooledResult {
            name: result.identity.name.clone(),
            suite: result.identity.suite_path.clone(),
            classname: result.identity.class_name.clone(),
            file: result.identity.file.clone(),
            line: result.identity.line,
            status,
            duration_ms: result.duration.map(|d| d.as_millis() as u64),
            message: failure
                .and_then(|f| f.message.clone())
                .or_else(|| result.skip_reason.clone()),
            details: failure.and_then(|f| f.text.clone()),
            case_id: None,
            tags: result.tags.clone(),
            project: result.project.clone(),
            properties: result
                .properties
                .iter()
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect(),
        }
    }

    /// Builds the engine's result model.
    pub fn to_result(&self) -> TestResult {
        let (outcome, flaky) = parse_status(&self.status).unwrap_or((Outcome::Failed, false));
        let mut result = TestResult::default();
        result.identity.name = self.name.clone();
        result.identity.suite_path = self.suite.clone();
        result.identity.class_name = self.classname.clone();
        result.identity.file = self.file.clone();
        result.identity.line = self.line;
        result.outcome = outcome;
        result.duration = self.duration_ms.map(Duration::from_millis);
        if flaky {
            let mut attempt = Attempt::default();
            attempt.outcome = Outcome::Failed;
            result.attempts.push(attempt);
        }
        if outcome == Outcome::Skipped {
            result.skip_reason = self.message.clone();
        } else if self.message.is_some() || self.details.is_some() {
            let mut failure = Failure::default();
            failure.message = self.message.clone();
            failure.text = self.details.clone();
            result.failure = Some(failure);
        }
        result.tags = self.tags.clone();
        result.project = self.project.clone();
        result.properties = self
            .properties
            .iter()
            .map(|(name, value)| Property {
                name: name.clone(),
                value: value.clone(),
            })
            .collect();
        if let Some(id) = self.case_id {
            result.properties.push(Property {
                name: "testrail_case_id".into(),
                value: id.to_string(),
            });
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_with_string_suite() {
        let line = r#"{"name": "adds", "suite": "Cart", "status": "failed", "duration_ms": 1500, "message": "boom", "case_id": 7}"#;
        let spooled: SpooledResult = serde_json::from_str(line).unwrap();
        assert_eq!(spooled.validate(), Ok(()));
        let result = spooled.to_result();
        assert_eq!(result.identity.suite_path, vec!["Cart".to_owned()]);
        assert_eq!(result.outcome, Outcome::Failed);
        assert_eq!(result.duration, Some(Duration::from_millis(1500)));
        assert_eq!(result.failure.unwrap().message.as_deref(), Some("boom"));
        assert_eq!(
            crate::matching::explicit_case_ids(&spooled.to_result()),
            vec![7]
        );
    }

    #[test]
    fn unknown_status_is_invalid() {
        let spooled: SpooledResult =
            serde_json::from_str(r#"{"name": "x", "status": "green"}"#).unwrap();
        assert!(spooled.validate().unwrap_err().contains("green"));
    }

    #[test]
    fn unknown_field_is_rejected() {
        let parsed = serde_json::from_str::<SpooledResult>(
            r#"{"name": "x", "status": "passed", "colour": 1}"#,
        );
        assert!(parsed.is_err());
    }

    #[test]
    fn flaky_round_trips() {
        let spooled: SpooledResult =
            serde_json::from_str(r#"{"name": "x", "suite": ["A", "B"], "status": "flaky"}"#)
                .unwrap();
        let result = spooled.to_result();
        assert_eq!(result.outcome, Outcome::Passed);
        assert_eq!(result.attempts.len(), 1);
        assert_eq!(SpooledResult::from_result(&result), spooled);
    }
}
