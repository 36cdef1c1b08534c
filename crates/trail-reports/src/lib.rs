//! Report readers that turn test reports into one normalized result model.
//!
//! Test runners write their results in many formats. This crate reads the
//! common ones and yields every test as a [`TestResult`]: identity, tags,
//! outcome, duration, retries, failure, steps, attachments and properties.
//!
//! | format | reader | detected by |
//! | --- | --- | --- |
//! | JUnit XML (Surefire, pytest, jest, nextest, PHPUnit, ...) | [`junit`] | a `<testsuites>` or `<testsuite>` root |
//! | Playwright JSON (`--reporter=json`) | [`playwright`] | an object with `config` and `suites` |
//! | Cucumber JSON | [`cucumber`] | an array of features with `elements` |
//! | Robot Framework `output.xml` | [`robot`] | a `<robot>` root |
//! | libtest and nextest JSON lines | [`libtest`] | lines with `"type": "test"` |
//!
//! [`read_report`] detects the format from the first bytes of a file and
//! returns a [`ReportReader`], an iterator of results. The XML and libtest
//! readers stream, so memory stays bounded by the largest single test. The
//! Playwright and Cucumber readers load the document, as those files stay
//! small enough for that.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//!
//! use trail_reports::{Outcome, read_report};
//!
//! let reader = read_report(Path::new("target/nextest/ci/junit.xml"))?;
//! println!("reading {:?}", reader.format());
//! for result in reader {
//!     let result = result?;
//!     if result.outcome.is_failure() {
//!         println!("{} {}", result.outcome, result.display_title());
//!     }
//! }
//! # Ok::<(), trail_reports::ReadError>(())
//! ```

pub mod cucumber;
mod detect;
mod error;
pub mod junit;
pub mod libtest;
pub mod model;
mod names;
pub mod playwright;
pub mod robot;
mod xml;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

pub use detect::detect_format;
pub use error::{ReadError, ReadErrorKind};
pub use model::*;
pub use names::strip_ansi;

/// A report format that trail reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// JUnit XML as written by Surefire, pytest, jest, nextest and many others.
    JUnit,
    /// Playwright's JSON reporter output.
    PlaywrightJson,
    /// Cucumber JSON, from cucumber-jvm, cucumber-js and Cypress plugins.
    CucumberJson,
    /// Robot Framework `output.xml`, versions 3 to 7.
    RobotXml,
    /// JSON lines from `cargo test -- --format json` or nextest.
    LibtestJson,
}

impl Format {
    /// Returns the name used in messages and flags, such as `junit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::JUnit => "junit",
            Format::PlaywrightJson => "playwright-json",
            Format::CucumberJson => "cucumber-json",
            Format::RobotXml => "robot",
            Format::LibtestJson => "libtest-json",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Iterator over the results of one report file, whatever its format.
///
/// Yields `Err` for a report that cannot be read and then ends; results
/// yielded before the error stay valid.
pub struct ReportReader {
    format: Format,
    inner: Box<dyn Iterator<Item = Result<TestResult, ReadError>> + Send>,
}

impl ReportReader {
    /// Returns the format of the report being read.
    pub fn format(&self) -> Format {
        self.format
    }
}

impl std::fmt::Debug for ReportReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportReader")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Iterator for ReportReader {
    type Item = Result<TestResult, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

/// Opens the report at `path`, detects its format and returns a reader of its results.
pub fn read_report(path: &Path) -> Result<ReportReader, ReadError> {
    let format = detect_format(path)?;
    read_report_as(path, format)
}

/// Opens the report at `path` and reads it as `format`, without detection.
pub fn read_report_as(path: &Path, format: Format) -> Result<ReportReader, ReadError> {
    let file = File::open(path).map_err(|error| ReadError::new(path, error.into()))?;
    let reader = BufReader::with_capacity(256 * 1024, file);
    let inner: Box<dyn Iterator<Item = Result<TestResult, ReadError>> + Send> = match format {
        Format::JUnit => Box::new(junit::read(reader, path)),
        Format::RobotXml => Box::new(robot::read(reader, path)),
        Format::LibtestJson => Box::new(libtest::read(reader, path)),
        Format::PlaywrightJson => Box::new(playwright::read(reader, path)?.map(Ok)),
        Format::CucumberJson => Box::new(cucumber::read(reader, path)?.map(Ok)),
    };
    Ok(ReportReader { format, inner })
}
