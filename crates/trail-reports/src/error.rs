//! The error type shared by every reader.

use std::fmt;
use std::path::PathBuf;

/// The list of formats that hints print, so that every hint names the same ones.
const SUPPORTED: &str = "trail reads JUnit XML, Playwright JSON, Cucumber JSON, \
                         Robot Framework output.xml and libtest JSON";

/// A report that could not be read, with the file and line where reading failed.
///
/// `Display` prints one line with the path, the line when known and what
/// failed, then a `hint:` line that names what to check.
#[derive(Debug)]
pub struct ReadError {
    /// Path of the report file.
    pub path: PathBuf,
    /// Line in the report file, counted from 1, when the failure has one.
    pub line: Option<u64>,
    /// What failed.
    pub kind: ReadErrorKind,
}

/// The cause of a failed read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The file could not be opened or read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is empty or contains only whitespace.
    #[error("the file is empty")]
    Empty,
    /// The first bytes match none of the supported formats.
    #[error("unknown report format: {0}")]
    UnknownFormat(String),
    /// The XML is not well-formed.
    #[error("invalid XML: {0}")]
    Xml(String),
    /// The JSON is invalid or does not have the expected shape.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The document is well-formed but lacks an element or field the format requires.
    #[error("{0}")]
    Structure(String),
}

impl ReadError {
    /// Creates an error for `path`, without a line.
    pub fn new(path: impl Into<PathBuf>, kind: ReadErrorKind) -> Self {
        ReadError {
            path: path.into(),
            line: None,
            kind,
        }
    }

    /// Creates an error for `path` at `line`, counted from 1.
    pub fn at_line(path: impl Into<PathBuf>, line: u64, kind: ReadErrorKind) -> Self {
        ReadError {
            path: path.into(),
            line: Some(line),
            kind,
        }
    }

    /// Returns the hint line printed below the message.
    pub fn hint(&self) -> String {
        match &self.kind {
            ReadErrorKind::Io(_) => {
                "hint: check that the path exists and that trail may read it".to_owned()
            }
            ReadErrorKind::Empty => {
                "hint: the test run may have stopped before its reporter wrote anything".to_owned()
            }
            ReadErrorKind::UnknownFormat(_) => format!("hint: {SUPPORTED}"),
            ReadErrorKind::Xml(_) | ReadErrorKind::Structure(_) => format!(
                "hint: is this a complete JUnit XML or Robot Framework output.xml file? {SUPPORTED}"
            ),
            ReadErrorKind::Json(_) => format!(
                "hint: is this a complete Playwright, Cucumber or libtest JSON file? {SUPPORTED}"
            ),
        }
    }
}

/// Converts a serde_json error, which counts lines from 1 and uses 0 for I/O errors.
pub(crate) fn json_error(path: &std::path::Path, error: serde_json::Error) -> ReadError {
    let line = u64::try_from(error.line()).ok().filter(|&line| line > 0);
    let kind = if error.is_io() {
        ReadErrorKind::Io(std::io::Error::other(error.to_string()))
    } else {
        ReadErrorKind::Json(error.to_string())
    };
    ReadError {
        path: path.to_path_buf(),
        line,
        kind,
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}\n{}", self.kind, self.hint())
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ReadErrorKind::Io(error) => Some(error),
            _ => None,
        }
    }
}
