//! The normalized result model that every reader produces.

use std::path::PathBuf;
use std::time::Duration;

/// One test as a report describes it, after retries were folded in.
///
/// Readers yield one `TestResult` per test and per Playwright project; a
/// retried test is one value whose [`attempts`](Self::attempts) list the
/// earlier tries.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TestResult {
    /// Where the test lives: suites, class, name, file and line.
    pub identity: TestIdentity,
    /// Tags without a leading `@`, in report order and without duplicates.
    pub tags: Vec<String>,
    /// The final outcome, decided by the last attempt.
    pub outcome: Outcome,
    /// Duration of the final attempt, when the report gives one.
    pub duration: Option<Duration>,
    /// Earlier attempts, oldest first; empty when the test ran once.
    pub attempts: Vec<Attempt>,
    /// Failure message, type and text of the final attempt.
    pub failure: Option<Failure>,
    /// Reason given for a skip, when there is one.
    pub skip_reason: Option<String>,
    /// Top-level steps with their nested steps.
    pub steps: Vec<Step>,
    /// Files and inline bodies attached to the final attempt.
    pub attachments: Vec<Attachment>,
    /// Name and value pairs: JUnit properties, Playwright annotations.
    pub properties: Vec<Property>,
    /// Captured standard output of the test, when the report keeps it.
    pub stdout: Option<String>,
    /// Captured standard error of the test, when the report keeps it.
    pub stderr: Option<String>,
    /// Playwright project (browser) or a similar run variant.
    pub project: Option<String>,
    /// The report file and the line in it where this test starts.
    pub origin: Origin,
}

/// Identity of a test inside its report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct TestIdentity {
    /// Enclosing suites from outermost to innermost: JUnit `<testsuite>`
    /// names, or a Playwright file followed by its describe blocks.
    pub suite_path: Vec<String>,
    /// JUnit `classname`, when present and not empty.
    pub class_name: Option<String>,
    /// Test name as the report writes it, tags and ids included.
    pub name: String,
    /// Source file of the test, when the report gives it.
    pub file: Option<String>,
    /// Line of the test in its source file.
    pub line: Option<u32>,
}

/// Final outcome of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Outcome {
    /// The test passed, possibly after failed attempts.
    #[default]
    Passed,
    /// The test was skipped or not run.
    Skipped,
    /// The test failed an assertion.
    Failed,
    /// The test hit an unexpected error (JUnit `<error>`).
    Errored,
    /// The test ran past its time limit.
    TimedOut,
    /// The run was interrupted while this test ran.
    Interrupted,
}

impl Outcome {
    /// Returns the lower-case name used in reports, summaries and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Errored => "error",
            Outcome::TimedOut => "timedout",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// Returns true for outcomes that mean the test did not pass.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Errored | Outcome::TimedOut | Outcome::Interrupted
        )
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One earlier try of a retried test.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Attempt {
    /// Outcome of this try.
    pub outcome: Outcome,
    /// Duration of this try.
    pub duration: Option<Duration>,
    /// Failure of this try, when it failed.
    pub failure: Option<Failure>,
}

/// A failure or error as the report describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Failure {
    /// Short message, such as JUnit's `message` attribute.
    pub message: Option<String>,
    /// Kind of failure, such as an exception class.
    pub kind: Option<String>,
    /// Long text: stack trace or assertion details.
    pub text: Option<String>,
    /// `file:line` where the failure happened, when known.
    pub location: Option<String>,
}

/// A test step, such as a Playwright `test.step` or a Cucumber step.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Step {
    /// Step title.
    pub title: String,
    /// Outcome of the step.
    pub outcome: Outcome,
    /// Duration of the step.
    pub duration: Option<Duration>,
    /// Error message of a failed step.
    pub error: Option<String>,
    /// Nested steps.
    pub steps: Vec<Step>,
}

/// A file or inline body attached to a result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Attachment {
    /// Attachment name, such as `screenshot`.
    pub name: String,
    /// MIME type, when the report gives one.
    pub content_type: Option<String>,
    /// Path of the file as the report writes it.
    pub path: Option<PathBuf>,
    /// Inline body, decoded from base64 where the report encodes it.
    pub body: Option<Vec<u8>>,
}

/// A name and value pair attached to a test.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Property {
    /// Property name.
    pub name: String,
    /// Property value.
    pub value: String,
}

/// Where a result was read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Origin {
    /// Path of the report file.
    pub report: PathBuf,
    /// Line in the report file where the test starts, counted from 1.
    pub line: Option<u64>,
}
