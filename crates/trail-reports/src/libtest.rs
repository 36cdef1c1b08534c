//! Streaming reader for libtest JSON lines (`cargo test -- --format json`, nextest).
//!
//! Each `"type": "test"` event that ends a test (`ok`, `failed`, `ignored`)
//! becomes one result. `started` events and `timeout` events are skipped: a
//! `timeout` event is libtest's warning that a test has run for over 60
//! seconds, and the same test reports its real end later. Lines that are not
//! JSON objects with a `type`, such as log lines a test printed, are skipped
//! too. libtest does not name its suites, so the suite path stays empty.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ReadError;
use crate::model::{Failure, Origin, Outcome, TestIdentity, TestResult};
use crate::names::{non_empty, parse_seconds, seconds_to_duration};

/// Creates a streaming reader of the libtest JSON lines in `reader`.
pub fn read<R: BufRead>(reader: R, report_path: &Path) -> LibtestReader<R> {
    LibtestReader {
        reader,
        path: report_path.to_path_buf(),
        line: String::new(),
        line_number: 0,
        finished: false,
    }
}

/// Iterator over the finished tests of a libtest JSON stream.
pub struct LibtestReader<R> {
    reader: R,
    path: PathBuf,
    line: String,
    line_number: u64,
    finished: bool,
}

/// The fields of a libtest event that results need; others are ignored.
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: Option<String>,
    event: Option<String>,
    name: Option<String>,
    exec_time: Option<serde_json::Value>,
    stdout: Option<String>,
    message: Option<String>,
}

impl<R: BufRead> Iterator for LibtestReader<R> {
    type Item = Result<TestResult, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            self.line.clear();
            match self.reader.read_line(&mut self.line) {
                Ok(0) => self.finished = true,
                Ok(_) => {
                    self.line_number += 1;
                    if let Some(result) = self.parse_line() {
                        return Some(Ok(result));
                    }
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(ReadError::at_line(
                        &self.path,
                        self.line_number + 1,
                        error.into(),
                    )));
                }
            }
        }
        None
    }
}

impl<R> LibtestReader<R> {
    /// Returns the result that the current line finishes, if it finishes one.
    fn parse_line(&self) -> Option<TestResult> {
        let event: Event = serde_json::from_str(self.line.trim()).ok()?;
        if event.kind.as_deref() != Some("test") {
            return None;
        }
        let outcome = match event.event.as_deref()? {
            "ok" => Outcome::Passed,
            "failed" => Outcome::Failed,
            "ignored" => Outcome::Skipped,
            _ => return None,
        };
        let name = event.name?;

        let mut result = TestResult {
            identity: TestIdentity {
                name,
                ..TestIdentity::default()
            },
            outcome,
            duration: event.exec_time.as_ref().and_then(exec_time),
            origin: Origin {
                report: self.path.clone(),
                line: Some(self.line_number),
            },
            ..TestResult::default()
        };
        let stdout = event.stdout.as_deref().and_then(non_empty);
        match outcome {
            Outcome::Failed => {
                let message = event
                    .message
                    .as_deref()
                    .and_then(non_empty)
                    .or_else(|| stdout.as_deref().and_then(panic_message));
                result.failure = Some(Failure {
                    message,
                    text: stdout.clone(),
                    ..Failure::default()
                });
            }
            Outcome::Skipped => result.skip_reason = event.message.as_deref().and_then(non_empty),
            _ => {}
        }
        result.stdout = stdout;
        Some(result)
    }
}

/// Reads `exec_time`, a number of seconds or, in older versions, a string such as `"0.072s"`.
fn exec_time(value: &serde_json::Value) -> Option<std::time::Duration> {
    match value {
        serde_json::Value::Number(number) => seconds_to_duration(number.as_f64()?),
        serde_json::Value::String(text) => parse_seconds(text),
        _ => None,
    }
}

/// Returns the panic message from captured output: the text after `panicked at FILE:LINE:COL:`.
fn panic_message(stdout: &str) -> Option<String> {
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        let Some(index) = line.find("panicked at ") else {
            continue;
        };
        let location_and_message = &line[index + "panicked at ".len()..];
        // Before Rust 1.73 the message was on the same line: `panicked at 'msg', src/x.rs:1:2`.
        if let Some(quoted) = location_and_message.strip_prefix('\'') {
            return non_empty(
                quoted
                    .rsplit_once("', ")
                    .map_or(quoted, |(message, _)| message),
            );
        }
        return lines.next().and_then(non_empty).or_else(|| non_empty(line));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_message_new_and_old_style() {
        let new = "running\nthread 'a' panicked at src/lib.rs:3:5:\nboom here\nnote: x";
        assert_eq!(panic_message(new).as_deref(), Some("boom here"));
        let old = "thread 'a' panicked at 'boom', src/lib.rs:3:5\n";
        assert_eq!(panic_message(old).as_deref(), Some("boom"));
        assert_eq!(panic_message("no panic"), None);
    }
}
