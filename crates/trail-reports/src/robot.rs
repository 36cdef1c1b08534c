//! Streaming reader for Robot Framework `output.xml`, from RF 3 to RF 7.
//!
//! Each `<test>` becomes one result when its end tag is read. The suite
//! path is the names of the enclosing `<suite>` elements and the file is the
//! `source` of the innermost one. The `<status>` of the test gives the
//! outcome, its text the failure message or skip reason, and its times the
//! duration: `starttime`/`endtime` before RF 7, `start`/`elapsed` since.
//! Keywords and control structures directly in the test become steps, with
//! their nested keywords as nested steps.
//!
//! Documentation lines of the form `- testrail_case_id: C123`, the convention
//! of TestRail's own CLI, become properties, and the whole documentation is
//! kept as a `documentation` property.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::error::{ReadError, ReadErrorKind};
use crate::model::{Failure, Origin, Outcome, Property, Step, TestIdentity, TestResult};
use crate::names::{non_empty, parse_seconds, push_tag};
use crate::xml::{
    LineCounter, for_each_attribute, local_name, new_reader, push_cdata, push_reference, push_text,
    tag_start_line, xml_error,
};

/// Creates a streaming reader of the Robot Framework `output.xml` in `reader`.
pub fn read<R: BufRead>(reader: R, report_path: &Path) -> RobotReader<R> {
    RobotReader {
        xml: new_reader(reader),
        buf: Vec::with_capacity(16 * 1024),
        parser: Parser {
            path: report_path.to_path_buf(),
            root_seen: false,
            depth: 0,
            suites: Vec::new(),
            test: None,
        },
        finished: false,
    }
}

/// Iterator over the tests of a Robot Framework `output.xml`.
///
/// Yields `Err` once for a malformed document and then ends.
pub struct RobotReader<R> {
    xml: Reader<LineCounter<R>>,
    buf: Vec<u8>,
    parser: Parser,
    finished: bool,
}

impl<R: BufRead> Iterator for RobotReader<R> {
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

impl<R: BufRead> RobotReader<R> {
    fn advance(&mut self) -> Option<Result<TestResult, ReadError>> {
        let RobotReader {
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
                Event::Start(start) => parser.start(start, newlines, false).map(|()| None),
                Event::Empty(start) => parser.start(start, newlines, true).map(|()| None),
                Event::End(end) => Ok(parser.end(end.local_name().as_ref())),
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
                Event::Eof => {
                    let kind = if !parser.root_seen {
                        ReadErrorKind::Structure("no `<robot>` element was found".to_owned())
                    } else if parser.depth > 0 {
                        ReadErrorKind::Xml(
                            "the file ends before all elements were closed; it may be truncated"
                                .to_owned(),
                        )
                    } else {
                        return None;
                    };
                    return Some(Err(ReadError::at_line(&parser.path, newlines + 1, kind)));
                }
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

/// Kind of element open inside a test, which selects the buffer for its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    /// A keyword or control structure, open as the last entry of `Test::steps`.
    Step,
    /// `<status>` of the test.
    TestStatus,
    /// `<status>` of the innermost open step.
    StepStatus,
    /// `<doc>` of the test.
    Doc,
    /// The RF 3 `<tags>` wrapper of the test.
    Tags,
    /// `<tag>` of the test.
    Tag,
    /// Anything else, whose text is ignored.
    Other,
}

/// An enclosing `<suite>`.
#[derive(Debug)]
struct Suite {
    name: Option<String>,
    source: Option<String>,
}

/// The test being read.
#[derive(Debug)]
struct Test {
    result: TestResult,
    elements: Vec<Element>,
    /// Steps that are open, outermost first.
    open_steps: Vec<Step>,
    status: Option<Status>,
    status_text: String,
    step_status_text: String,
    doc: String,
    tag: String,
}

/// The attributes of a `<status>` element.
#[derive(Debug)]
struct Status {
    outcome: Outcome,
    duration: Option<Duration>,
}

#[derive(Debug)]
struct Parser {
    path: PathBuf,
    root_seen: bool,
    depth: usize,
    suites: Vec<Suite>,
    test: Option<Test>,
}

impl Parser {
    fn start(
        &mut self,
        start: &BytesStart<'_>,
        newlines: u64,
        empty: bool,
    ) -> Result<(), ReadErrorKind> {
        let name = local_name(start);
        if !self.root_seen {
            if name != "robot" {
                return Err(ReadErrorKind::Structure(format!(
                    "the root element is `<{name}>`, not `<robot>`"
                )));
            }
            self.root_seen = true;
        }
        if !empty {
            self.depth += 1;
        }

        if let Some(test) = self.test.as_mut() {
            test.start(name, start, empty);
            return Ok(());
        }
        match name {
            "suite" if !empty => {
                let mut suite = Suite {
                    name: None,
                    source: None,
                };
                for_each_attribute(start, |key, value| match key {
                    "name" => suite.name = non_empty(&value),
                    "source" => suite.source = non_empty(&value),
                    _ => {}
                });
                self.suites.push(suite);
            }
            "test" if !empty => self.open_test(start, tag_start_line(newlines, start)),
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &str) -> Option<TestResult> {
        self.depth = self.depth.saturating_sub(1);
        let Some(test) = self.test.as_mut() else {
            if name == "suite" {
                self.suites.pop();
            }
            return None;
        };
        if test.elements.is_empty() {
            let test = self.test.take()?;
            return Some(test.finish());
        }
        test.end();
        None
    }

    fn text_target(&mut self) -> Option<&mut String> {
        let test = self.test.as_mut()?;
        match test.elements.last()? {
            Element::TestStatus => Some(&mut test.status_text),
            Element::StepStatus => Some(&mut test.step_status_text),
            Element::Doc => Some(&mut test.doc),
            Element::Tag => Some(&mut test.tag),
            Element::Step | Element::Tags | Element::Other => None,
        }
    }

    fn open_test(&mut self, start: &BytesStart<'_>, line: u64) {
        let mut identity = TestIdentity {
            suite_path: self
                .suites
                .iter()
                .filter_map(|suite| suite.name.clone())
                .collect(),
            file: self
                .suites
                .iter()
                .rev()
                .find_map(|suite| suite.source.clone()),
            ..TestIdentity::default()
        };
        for_each_attribute(start, |key, value| match key {
            "name" => identity.name = value,
            "line" => identity.line = value.trim().parse().ok(),
            _ => {}
        });
        self.test = Some(Test {
            result: TestResult {
                identity,
                origin: Origin {
                    report: self.path.clone(),
                    line: Some(line),
                },
                ..TestResult::default()
            },
            elements: Vec::new(),
            open_steps: Vec::new(),
            status: None,
            status_text: String::new(),
            step_status_text: String::new(),
            doc: String::new(),
            tag: String::new(),
        });
    }
}

impl Test {
    fn start(&mut self, name: &str, start: &BytesStart<'_>, empty: bool) {
        let parent = self.elements.last().copied();
        let at_test = parent.is_none();
        let in_step = parent == Some(Element::Step);
        let element = match name {
            "kw" | "for" | "iter" | "if" | "branch" | "try" | "while" | "group" | "return"
            | "break" | "continue" | "var"
                if at_test || in_step =>
            {
                self.open_steps.push(Step {
                    title: step_title(name, start),
                    ..Step::default()
                });
                Element::Step
            }
            "status" if at_test => {
                self.status = Some(read_status(start));
                self.status_text.clear();
                Element::TestStatus
            }
            "status" if in_step => {
                let status = read_status(start);
                if let Some(step) = self.open_steps.last_mut() {
                    step.outcome = status.outcome;
                    step.duration = status.duration;
                }
                self.step_status_text.clear();
                Element::StepStatus
            }
            "doc" if at_test => Element::Doc,
            "tags" if at_test => Element::Tags,
            "tag" if at_test || parent == Some(Element::Tags) => {
                self.tag.clear();
                Element::Tag
            }
            _ => Element::Other,
        };
        if empty {
            self.elements.push(element);
            self.end();
        } else {
            self.elements.push(element);
        }
    }

    fn end(&mut self) {
        match self.elements.pop() {
            Some(Element::Step) => {
                let Some(step) = self.open_steps.pop() else {
                    return;
                };
                match self.open_steps.last_mut() {
                    Some(parent) => parent.steps.push(step),
                    None => self.result.steps.push(step),
                }
            }
            Some(Element::StepStatus) => {
                if let Some(step) = self.open_steps.last_mut()
                    && step.outcome.is_failure()
                {
                    step.error = non_empty(&self.step_status_text);
                }
            }
            Some(Element::Tag) => push_tag(&mut self.result.tags, &self.tag),
            _ => {}
        }
    }

    fn finish(mut self) -> TestResult {
        let mut result = self.result;
        if let Some(status) = self.status.take() {
            result.outcome = status.outcome;
            result.duration = status.duration;
        }
        let message = non_empty(&self.status_text);
        match result.outcome {
            Outcome::Skipped => result.skip_reason = message,
            outcome if outcome.is_failure() => {
                result.failure = Some(Failure {
                    message,
                    ..Failure::default()
                });
            }
            _ => {}
        }
        if let Some(doc) = non_empty(&self.doc) {
            for line in doc.lines() {
                let Some(rest) = line.trim().strip_prefix("- ") else {
                    continue;
                };
                if let Some((key, value)) = rest.split_once(':')
                    && key.trim().starts_with("testrail_")
                {
                    result.properties.push(Property {
                        name: key.trim().to_owned(),
                        value: value.trim().to_owned(),
                    });
                }
            }
            result.properties.push(Property {
                name: "documentation".to_owned(),
                value: doc,
            });
        }
        result
    }
}

/// Returns a step title: the keyword name, or the element name for control structures.
fn step_title(element: &str, start: &BytesStart<'_>) -> String {
    let mut name = None;
    let mut kind = None;
    for_each_attribute(start, |key, value| match key {
        "name" => name = non_empty(&value),
        "type" => kind = non_empty(&value),
        _ => {}
    });
    match (name, kind) {
        (Some(name), Some(kind))
            if kind.eq_ignore_ascii_case("setup") || kind.eq_ignore_ascii_case("teardown") =>
        {
            format!("{} {name}", kind.to_ascii_uppercase())
        }
        (Some(name), _) => name,
        (None, Some(kind)) => kind.to_ascii_uppercase(),
        (None, None) => element.to_ascii_uppercase(),
    }
}

fn read_status(start: &BytesStart<'_>) -> Status {
    let mut outcome = Outcome::Skipped;
    let mut elapsed = None;
    let mut started = None;
    let mut ended = None;
    for_each_attribute(start, |key, value| match key {
        "status" => {
            outcome = match value.trim() {
                "PASS" => Outcome::Passed,
                "FAIL" => Outcome::Failed,
                _ => Outcome::Skipped,
            }
        }
        "elapsed" => elapsed = parse_seconds(&value),
        "starttime" => started = legacy_timestamp_millis(&value),
        "endtime" => ended = legacy_timestamp_millis(&value),
        _ => {}
    });
    let duration = elapsed.or_else(|| match (started, ended) {
        (Some(started), Some(ended)) if ended >= started => {
            Some(Duration::from_millis((ended - started) as u64))
        }
        _ => None,
    });
    Status { outcome, duration }
}

/// Parses an RF 3 to 6 timestamp such as `20220719 13:52:03.774` into milliseconds
/// since 1970, ignoring the time zone, which the format does not record.
fn legacy_timestamp_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(' ')?;
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = date[0..4].parse().ok()?;
    let month: i64 = date[4..6].parse().ok()?;
    let day: i64 = date[6..8].parse().ok()?;
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut parts = clock.split(':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds: i64 = parts.next()?.parse().ok()?;
    let millis: i64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    let days = days_from_civil(year, month, day);
    Some((((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000 + millis)
}

/// Counts days from 1970-01-01 to a date of the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_timestamps_span_midnight() {
        let before = legacy_timestamp_millis("20231231 23:59:59.500").unwrap();
        let after = legacy_timestamp_millis("20240101 00:00:00.250").unwrap();
        assert_eq!(after - before, 750);
    }

    #[test]
    fn legacy_timestamp_epoch() {
        assert_eq!(legacy_timestamp_millis("19700101 00:00:01.000"), Some(1000));
        assert_eq!(legacy_timestamp_millis("N/A"), None);
    }
}
