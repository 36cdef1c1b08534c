//! Streaming reader for JUnit XML, in the dialects that real tools write.
//!
//! The reader walks the document with quick-xml and yields one
//! [`TestResult`] per `<testcase>` as soon as its end tag is read, so memory
//! stays bounded by the largest single test case, not by the file.
//!
//! Dialect notes:
//! - `<testsuite>` may nest at any depth (PHPUnit nests three levels) and may
//!   be the root. The names of the enclosing `<testsuite>` elements form the
//!   suite path, but the name of a `<testsuites>` root is not part of it.
//! - Surefire and cargo-nextest write `flakyFailure`, `flakyError`,
//!   `rerunFailure` and `rerunError` for retries. Each becomes an
//!   [`Attempt`]; a test with only `flaky*` elements passed after retries.
//! - Control characters that XML forbids are removed from text, and entities
//!   that would need a DTD are kept as written. DTDs are never expanded.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::error::{ReadError, ReadErrorKind};
use crate::model::{Attempt, Failure, Origin, Outcome, Property, TestResult};
use crate::names::{non_empty, parse_seconds};
use crate::xml::{
    LineCounter, for_each_attribute, local_name, new_reader, push_cdata, push_reference, push_text,
    tag_start_line, xml_error,
};

/// Creates a streaming reader of the JUnit XML document in `reader`.
///
/// `report_path` is recorded in each result's [`Origin`] and in errors; the
/// file is not opened again. Wrap a file in a [`std::io::BufReader`].
pub fn read<R: BufRead>(reader: R, report_path: &Path) -> JunitReader<R> {
    JunitReader {
        xml: new_reader(reader),
        buf: Vec::with_capacity(64 * 1024),
        parser: Parser::new(report_path.to_path_buf()),
        finished: false,
    }
}

/// Iterator over the test cases of a JUnit XML document.
///
/// Yields `Err` once for a malformed document and then ends.
pub struct JunitReader<R> {
    xml: Reader<LineCounter<R>>,
    buf: Vec<u8>,
    parser: Parser,
    finished: bool,
}

impl<R: BufRead> Iterator for JunitReader<R> {
    type Item = Result<TestResult, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let item = self.advance();
        if !matches!(item, Some(Ok(_))) {
            self.finished = true;
        }
        item
    }
}

impl<R: BufRead> JunitReader<R> {
    /// Reads events until a test case is complete, the document ends or an error occurs.
    fn advance(&mut self) -> Option<Result<TestResult, ReadError>> {
        let JunitReader {
            xml, buf, parser, ..
        } = self;
        loop {
            buf.clear();
            let event = match xml.read_event_into(buf) {
                Ok(event) => event,
                Err(error) => {
                    return Some(Err(xml_error(
                        &parser.path,
                        xml.get_ref().newlines(),
                        error,
                    )));
                }
            };
            let newlines = xml.get_ref().newlines();
            let step = match &event {
                Event::Start(start) => parser.start(start, newlines, false),
                Event::Empty(start) => parser.start(start, newlines, true),
                Event::End(end) => {
                    let name = end.local_name();
                    parser.end(name.as_ref())
                }
                Event::Text(text) => {
                    if let Some(out) = parser.text_target() {
                        push_text(out, text);
                    }
                    Ok(None)
                }
                Event::CData(cdata) => {
                    if let Some(out) = parser.text_target() {
                        push_cdata(out, cdata);
                    }
                    Ok(None)
                }
                Event::GeneralRef(reference) => {
                    if let Some(out) = parser.text_target() {
                        push_reference(out, reference);
                    }
                    Ok(None)
                }
                Event::Eof => return parser.finish(newlines).err().map(Err),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => Ok(None),
            };
            match step {
                Ok(Some(result)) => return Some(Ok(result)),
                Ok(None) => {}
                Err(kind) => {
                    return Some(Err(ReadError::at_line(&parser.path, newlines + 1, kind)));
                }
            }
        }
    }
}

/// Kind of element open inside a test case, which selects the buffer for its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    /// `<failure>`, `<error>` or `<skipped>` that decides the outcome.
    Outcome,
    /// `flakyFailure` and friends, or a `<stackTrace>` inside one.
    Attempt,
    /// `<system-out>` of the test case.
    Stdout,
    /// `<system-err>` of the test case.
    Stderr,
    /// `<properties>` of the test case.
    Properties,
    /// `<property>` whose value may be its text.
    Property,
    /// Anything else, whose text is ignored.
    Other,
}

/// An enclosing `<testsuite>`.
#[derive(Debug)]
struct Suite {
    name: Option<String>,
    file: Option<String>,
}

/// An attempt whose end tag has not been read yet.
#[derive(Debug)]
struct OpenAttempt {
    outcome: Outcome,
    duration: Option<Duration>,
    message: Option<String>,
    kind: Option<String>,
}

/// A property whose end tag has not been read yet.
#[derive(Debug)]
struct OpenProperty {
    name: String,
    value: Option<String>,
}

/// State of the test case being read. Its buffers are reused between cases.
#[derive(Debug, Default)]
struct Case {
    result: TestResult,
    outcome_seen: bool,
    failure_message: Option<String>,
    failure_kind: Option<String>,
    outcome_text: String,
    attempt: Option<OpenAttempt>,
    attempt_text: String,
    property: Option<OpenProperty>,
    property_text: String,
    stdout: String,
    stderr: String,
    elements: Vec<Element>,
}

/// The document state between events.
#[derive(Debug)]
struct Parser {
    path: PathBuf,
    root_seen: bool,
    depth: usize,
    suites: Vec<Suite>,
    case: Option<Case>,
    spare: Case,
}

impl Parser {
    fn new(path: PathBuf) -> Self {
        Parser {
            path,
            root_seen: false,
            depth: 0,
            suites: Vec::new(),
            case: None,
            spare: Case::default(),
        }
    }

    /// Handles a start tag, or an empty-element tag when `empty` is set.
    fn start(
        &mut self,
        start: &BytesStart<'_>,
        newlines: u64,
        empty: bool,
    ) -> Result<Option<TestResult>, ReadErrorKind> {
        let name = local_name(start);
        if !self.root_seen {
            if name != "testsuites" && name != "testsuite" {
                return Err(ReadErrorKind::Structure(format!(
                    "the root element is `<{name}>`, not `<testsuites>` or `<testsuite>`"
                )));
            }
            self.root_seen = true;
        }
        if !empty {
            self.depth += 1;
        }

        if self.case.is_some() {
            self.case_start(name, start, empty);
            return Ok(None);
        }

        match name {
            "testsuite" if !empty => {
                let mut suite = Suite {
                    name: None,
                    file: None,
                };
                for_each_attribute(start, |key, value| match key {
                    "name" => suite.name = non_empty(&value),
                    "file" | "filepath" => suite.file = non_empty(&value),
                    _ => {}
                });
                self.suites.push(suite);
            }
            "property" => {
                let mut file = None;
                let mut is_file = false;
                for_each_attribute(start, |key, value| match key {
                    "name" => is_file = value == "file",
                    "value" => file = non_empty(&value),
                    _ => {}
                });
                if let (true, Some(file), Some(suite)) = (is_file, file, self.suites.last_mut()) {
                    suite.file.get_or_insert(file);
                }
            }
            "testcase" => {
                self.open_case(start, tag_start_line(newlines, start));
                if empty {
                    return Ok(self.close_case());
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// Handles an end tag.
    fn end(&mut self, name: &str) -> Result<Option<TestResult>, ReadErrorKind> {
        self.depth = self.depth.saturating_sub(1);
        let Some(case) = self.case.as_mut() else {
            if name == "testsuite" {
                self.suites.pop();
            }
            return Ok(None);
        };
        let Some(element) = case.elements.pop() else {
            // The only open element left is the test case itself.
            return Ok(self.close_case());
        };
        match element {
            Element::Attempt if name != "stackTrace" => case.close_attempt(),
            Element::Property => case.close_property(),
            _ => {}
        }
        Ok(None)
    }

    /// Returns the buffer that text at the current position belongs to.
    fn text_target(&mut self) -> Option<&mut String> {
        let case = self.case.as_mut()?;
        match case.elements.last()? {
            Element::Outcome => Some(&mut case.outcome_text),
            Element::Attempt => Some(&mut case.attempt_text),
            Element::Stdout => Some(&mut case.stdout),
            Element::Stderr => Some(&mut case.stderr),
            Element::Property => Some(&mut case.property_text),
            Element::Properties | Element::Other => None,
        }
    }

    /// Checks that the document ended cleanly.
    fn finish(&mut self, newlines: u64) -> Result<(), ReadError> {
        let kind = if !self.root_seen {
            ReadErrorKind::Structure(
                "no `<testsuites>` or `<testsuite>` element was found".to_owned(),
            )
        } else if self.depth > 0 {
            let inside = if self.case.is_some() {
                "inside a `<testcase>`"
            } else {
                "before all elements were closed"
            };
            ReadErrorKind::Xml(format!("the file ends {inside}; it may be truncated"))
        } else {
            return Ok(());
        };
        Err(ReadError::at_line(&self.path, newlines + 1, kind))
    }

    /// Starts a test case from the attributes of its start tag.
    fn open_case(&mut self, start: &BytesStart<'_>, line: u64) {
        let mut case = std::mem::take(&mut self.spare);
        let result = &mut case.result;
        result.origin = Origin {
            report: self.path.clone(),
            line: Some(line),
        };
        result.identity.suite_path = self
            .suites
            .iter()
            .filter_map(|suite| suite.name.clone())
            .collect();
        for_each_attribute(start, |key, value| match key {
            "name" => result.identity.name = value,
            "classname" => result.identity.class_name = non_empty(&value),
            "file" => result.identity.file = non_empty(&value),
            "line" => result.identity.line = value.trim().parse().ok(),
            "time" => result.duration = parse_seconds(&value),
            _ => {}
        });
        self.case = Some(case);
    }

    /// Handles a start tag inside a test case.
    fn case_start(&mut self, name: &str, start: &BytesStart<'_>, empty: bool) {
        let Some(case) = self.case.as_mut() else {
            return;
        };
        let in_attempt = case.elements.last() == Some(&Element::Attempt);
        let element = if !case.elements.is_empty() {
            if in_attempt && name == "stackTrace" {
                Element::Attempt
            } else if case.elements.last() == Some(&Element::Properties) && name == "property" {
                case.open_property(start);
                Element::Property
            } else {
                Element::Other
            }
        } else {
            match name {
                "failure" | "error" | "skipped" => case.open_outcome(name, start),
                "flakyFailure" | "rerunFailure" => case.open_attempt(Outcome::Failed, start),
                "flakyError" | "rerunError" => case.open_attempt(Outcome::Errored, start),
                "system-out" => Element::Stdout,
                "system-err" => Element::Stderr,
                "properties" => Element::Properties,
                _ => Element::Other,
            }
        };
        if empty {
            match element {
                Element::Attempt => case.close_attempt(),
                Element::Property => case.close_property(),
                _ => {}
            }
        } else {
            case.elements.push(element);
        }
    }

    /// Finishes the open test case and returns its result.
    fn close_case(&mut self) -> Option<TestResult> {
        let mut case = self.case.take()?;
        let result = case.finish(&self.suites);
        self.spare = case;
        Some(result)
    }
}

impl Case {
    /// Records `<failure>`, `<error>` or `<skipped>`. The first failure or error wins.
    fn open_outcome(&mut self, name: &str, start: &BytesStart<'_>) -> Element {
        let outcome = match name {
            "failure" => Outcome::Failed,
            "error" => Outcome::Errored,
            _ => Outcome::Skipped,
        };
        let replaces = !self.outcome_seen
            || (self.result.outcome == Outcome::Skipped && outcome != Outcome::Skipped);
        if !replaces {
            return Element::Other;
        }
        self.outcome_seen = true;
        self.result.outcome = outcome;
        self.outcome_text.clear();
        self.failure_message = None;
        self.failure_kind = None;
        for_each_attribute(start, |key, value| match key {
            "message" => self.failure_message = non_empty(&value),
            "type" => self.failure_kind = non_empty(&value),
            _ => {}
        });
        Element::Outcome
    }

    fn open_attempt(&mut self, outcome: Outcome, start: &BytesStart<'_>) -> Element {
        let mut attempt = OpenAttempt {
            outcome,
            duration: None,
            message: None,
            kind: None,
        };
        for_each_attribute(start, |key, value| match key {
            "message" => attempt.message = non_empty(&value),
            "type" => attempt.kind = non_empty(&value),
            "time" => attempt.duration = parse_seconds(&value),
            _ => {}
        });
        self.attempt = Some(attempt);
        self.attempt_text.clear();
        Element::Attempt
    }

    fn close_attempt(&mut self) {
        let Some(open) = self.attempt.take() else {
            return;
        };
        let failure = Failure {
            message: open.message,
            kind: open.kind,
            text: non_empty(&self.attempt_text),
            location: None,
        };
        self.result.attempts.push(Attempt {
            outcome: open.outcome,
            duration: open.duration,
            failure: Some(failure),
        });
        self.attempt_text.clear();
    }

    fn open_property(&mut self, start: &BytesStart<'_>) {
        let mut property = OpenProperty {
            name: String::new(),
            value: None,
        };
        for_each_attribute(start, |key, value| match key {
            "name" => property.name = value,
            "value" => property.value = Some(value),
            _ => {}
        });
        self.property = Some(property);
        self.property_text.clear();
    }

    fn close_property(&mut self) {
        let Some(open) = self.property.take() else {
            return;
        };
        let value = match open.value {
            Some(value) => value,
            None => self.property_text.trim().to_owned(),
        };
        if self.result.identity.file.is_none() && open.name == "file" {
            self.result.identity.file = non_empty(&value);
        }
        self.result.properties.push(Property {
            name: open.name,
            value,
        });
        self.property_text.clear();
    }

    /// Moves the collected state into a result and resets the buffers for the next case.
    fn finish(&mut self, suites: &[Suite]) -> TestResult {
        let mut result = std::mem::take(&mut self.result);
        if result.identity.file.is_none() {
            result.identity.file = suites.iter().rev().find_map(|suite| suite.file.clone());
        }
        match result.outcome {
            Outcome::Skipped => {
                result.skip_reason = self
                    .failure_message
                    .take()
                    .or_else(|| non_empty(&self.outcome_text));
            }
            outcome if outcome.is_failure() => {
                result.failure = Some(Failure {
                    message: self.failure_message.take(),
                    kind: self.failure_kind.take(),
                    text: non_empty(&self.outcome_text),
                    location: None,
                });
            }
            _ => {}
        }
        result.stdout = non_empty(&self.stdout);
        result.stderr = non_empty(&self.stderr);

        self.outcome_seen = false;
        self.failure_message = None;
        self.failure_kind = None;
        self.outcome_text.clear();
        self.attempt = None;
        self.attempt_text.clear();
        self.property = None;
        self.property_text.clear();
        self.stdout.clear();
        self.stderr.clear();
        self.elements.clear();
        result
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;

    const DOCUMENT: &str = "<testsuites>\n<testsuite name=\"s\">\n<testcase\n  name=\"a\"\n  time=\"1\"/>\n\n<testcase name=\"b\">\n<system-out>x\ny</system-out>\n</testcase>\n<testcase name=\"c\"></testcase>\n</testsuite>\n</testsuites>\n";

    fn origin_lines(capacity: usize) -> Vec<Option<u64>> {
        let reader = BufReader::with_capacity(capacity, DOCUMENT.as_bytes());
        read(reader, Path::new("lines.xml"))
            .map(|result| result.unwrap().origin.line)
            .collect()
    }

    #[test]
    fn origin_line_is_tag_start() {
        assert_eq!(origin_lines(8192), [Some(3), Some(7), Some(11)]);
    }

    #[test]
    fn origin_line_survives_small_buffers() {
        for capacity in 1..32 {
            assert_eq!(
                origin_lines(capacity),
                [Some(3), Some(7), Some(11)],
                "capacity {capacity}"
            );
        }
    }

    #[test]
    fn other_root_is_rejected() {
        let mut reader = read("<html><testcase/></html>".as_bytes(), Path::new("page.xml"));
        let error = reader.next().unwrap().unwrap_err();
        assert!(matches!(error.kind, ReadErrorKind::Structure(_)), "{error}");
        assert!(reader.next().is_none());
    }

    #[test]
    fn empty_document_is_rejected() {
        let mut reader = read("<?xml version=\"1.0\"?>".as_bytes(), Path::new("empty.xml"));
        let error = reader.next().unwrap().unwrap_err();
        assert!(matches!(error.kind, ReadErrorKind::Structure(_)), "{error}");
    }
}
