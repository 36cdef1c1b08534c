//! Format detection from the first bytes of a report.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::Format;
use crate::error::{ReadError, ReadErrorKind};

/// How much of a file detection looks at.
const PREFIX_LEN: u64 = 64 * 1024;

/// Detects the format of the report at `path` from its first bytes.
///
/// - `<testsuites` or `<testsuite` as the first element, after a byte order
///   mark, an XML declaration, comments and a DOCTYPE: JUnit XML.
/// - `<robot` as the first element: Robot Framework `output.xml`.
/// - A JSON object whose first key is `config`, or that has `config` and
///   `suites` keys near the start: Playwright JSON.
/// - A JSON array, empty or of objects with `elements`: Cucumber JSON.
/// - Lines of JSON objects with `"type": "suite"` or `"type": "test"`: libtest JSON.
pub fn detect_format(path: &Path) -> Result<Format, ReadError> {
    let mut prefix = Vec::new();
    File::open(path)
        .and_then(|file| file.take(PREFIX_LEN).read_to_end(&mut prefix))
        .map_err(|error| ReadError::new(path, error.into()))?;
    detect_bytes(&prefix).map_err(|kind| ReadError::new(path, kind))
}

/// Detects the format from the first bytes of a report.
pub(crate) fn detect_bytes(prefix: &[u8]) -> Result<Format, ReadErrorKind> {
    let text = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let text = trim_start(text);
    match text.first() {
        None => Err(ReadErrorKind::Empty),
        Some(b'<') => detect_xml(text),
        Some(b'[') => detect_array(text),
        Some(b'{') => detect_object(text),
        Some(_) => {
            if find_libtest_line(text) {
                Ok(Format::LibtestJson)
            } else {
                Err(unknown("the file starts with neither `<`, `{` nor `["))
            }
        }
    }
}

fn unknown(what: &str) -> ReadErrorKind {
    ReadErrorKind::UnknownFormat(what.to_owned())
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Skips declarations, comments and a DOCTYPE, then names the root element.
fn detect_xml(mut text: &[u8]) -> Result<Format, ReadErrorKind> {
    loop {
        text = trim_start(text);
        let skip_to = if text.starts_with(b"<?") {
            memchr::memmem::find(text, b"?>").map(|end| end + 2)
        } else if text.starts_with(b"<!--") {
            memchr::memmem::find(text, b"-->").map(|end| end + 3)
        } else if text.starts_with(b"<!") {
            doctype_end(text)
        } else {
            break;
        };
        match skip_to {
            Some(end) => text = &text[end..],
            None => {
                return Err(unknown(
                    "the XML prolog is longer than 64 KiB or unterminated",
                ));
            }
        }
    }
    let name_end = text
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))
        .unwrap_or(text.len());
    let name = text.get(1..name_end).unwrap_or_default();
    let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
    match local {
        b"testsuites" | b"testsuite" => Ok(Format::JUnit),
        b"robot" => Ok(Format::RobotXml),
        _ => Err(ReadErrorKind::UnknownFormat(format!(
            "the XML root element is `<{}>`, not `<testsuites>`, `<testsuite>` or `<robot>`",
            String::from_utf8_lossy(name)
        ))),
    }
}

/// Finds the end of a `<!DOCTYPE ...>`, which may hold an internal subset in brackets.
fn doctype_end(text: &[u8]) -> Option<usize> {
    let mut in_subset = false;
    for (index, &byte) in text.iter().enumerate() {
        match byte {
            b'[' => in_subset = true,
            b']' => in_subset = false,
            b'>' if !in_subset => return Some(index + 1),
            _ => {}
        }
    }
    None
}

fn detect_array(text: &[u8]) -> Result<Format, ReadErrorKind> {
    let rest = trim_start(&text[1..]);
    if rest.starts_with(b"]") || memchr::memmem::find(text, b"\"elements\"").is_some() {
        Ok(Format::CucumberJson)
    } else {
        Err(unknown(
            "the JSON array is not a list of Cucumber features with `elements`",
        ))
    }
}

fn detect_object(text: &[u8]) -> Result<Format, ReadErrorKind> {
    let first_key = trim_start(&text[1..]);
    if first_key.starts_with(b"\"config\"") {
        return Ok(Format::PlaywrightJson);
    }
    if find_libtest_line(text) {
        return Ok(Format::LibtestJson);
    }
    let has = |key: &[u8]| memchr::memmem::find(text, key).is_some();
    if has(b"\"config\"") && has(b"\"suites\"") {
        return Ok(Format::PlaywrightJson);
    }
    Err(unknown(
        "the JSON object has no Playwright `config` and `suites` keys and no libtest `type` lines",
    ))
}

/// Returns true when a complete line of `text` is a libtest suite or test event.
fn find_libtest_line(text: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Event<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }

    // The last line may be cut off by the prefix limit, so it is not tried.
    let complete = match memchr::memrchr(b'\n', text) {
        Some(end) => &text[..end],
        None => text,
    };
    complete.split(|&b| b == b'\n').any(|line| {
        serde_json::from_slice::<Event<'_>>(line)
            .ok()
            .and_then(|event| event.kind)
            .is_some_and(|kind| kind == "suite" || kind == "test")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_xml_roots() {
        let cases: [(&[u8], Format); 5] = [
            (b"<testsuites>", Format::JUnit),
            (
                b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- c -->\n<testsuite name=\"a\">",
                Format::JUnit,
            ),
            (
                b"<!DOCTYPE x [<!ENTITY e \"v\">]><testsuite/>",
                Format::JUnit,
            ),
            (
                b"<?xml version=\"1.0\"?><robot generator=\"x\">",
                Format::RobotXml,
            ),
            (b"  <ns:testsuites>", Format::JUnit),
        ];
        for (bytes, format) in cases {
            assert_eq!(
                detect_bytes(bytes).ok(),
                Some(format),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn detects_json_shapes() {
        let cases: [(&[u8], Format); 5] = [
            (
                b"{\n  \"config\": {}, \"suites\": []}",
                Format::PlaywrightJson,
            ),
            (
                b"{\"errors\": [], \"config\": {}, \"suites\": []}",
                Format::PlaywrightJson,
            ),
            (b"[]", Format::CucumberJson),
            (b"[{\"elements\": []}]", Format::CucumberJson),
            (
                b"{\"level\":\"INFO\"}\n{ \"type\": \"suite\", \"event\": \"started\" }\n",
                Format::LibtestJson,
            ),
        ];
        for (bytes, format) in cases {
            assert_eq!(
                detect_bytes(bytes).ok(),
                Some(format),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn rejects_other_files() {
        assert!(matches!(detect_bytes(b"  \n"), Err(ReadErrorKind::Empty)));
        assert!(matches!(
            detect_bytes(b"<html>"),
            Err(ReadErrorKind::UnknownFormat(_))
        ));
        assert!(matches!(
            detect_bytes(b"{\"a\": 1}\n"),
            Err(ReadErrorKind::UnknownFormat(_))
        ));
        assert!(matches!(
            detect_bytes(b"hello"),
            Err(ReadErrorKind::UnknownFormat(_))
        ));
    }
}
