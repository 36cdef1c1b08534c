//! Property test: printable names and messages survive a JUnit write and read.

use std::path::Path;

use proptest::prelude::*;
use trail_reports::{Outcome, TestResult, junit};

/// Escapes `text` for an attribute value or element content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#xA;"),
            '\t' => out.push_str("&#x9;"),
            other => out.push(other),
        }
    }
    out
}

fn write_report(suite: &str, class: &str, name: &str, message: &str, text: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"{}\">\n<testcase classname=\"{}\" name=\"{}\" time=\"0.5\">\n<failure message=\"{}\" type=\"E\">{}</failure>\n</testcase>\n</testsuite>\n</testsuites>\n",
        escape(suite),
        escape(class),
        escape(name),
        escape(message),
        escape(text),
    )
}

fn read_one(xml: &str) -> TestResult {
    let mut results: Vec<TestResult> = junit::read(xml.as_bytes(), Path::new("roundtrip.xml"))
        .map(|result| result.unwrap())
        .collect();
    assert_eq!(results.len(), 1);
    results.remove(0)
}

/// Printable text: ASCII, Latin-1, general Unicode and emoji, plus tab and line feed.
const PRINTABLE: &str = "[ -~\u{a0}-\u{2fff}\u{1f300}-\u{1f64f}\t\n]{0,40}";

proptest! {
    #[test]
    fn junit_fields_round_trip(
        suite in "[ -~\u{a0}-\u{2fff}]{1,20}",
        class in "[!-~\u{a0}-\u{2fff}]{1,20}",
        name in "[ -~\u{a0}-\u{2fff}\u{1f300}-\u{1f64f}]{1,40}",
        message in PRINTABLE,
        text in PRINTABLE,
    ) {
        let result = read_one(&write_report(&suite, &class, &name, &message, &text));

        prop_assert_eq!(&result.identity.name, &name);
        // A class name of only whitespace, such as U+2028, counts as absent.
        let expected_class = Some(class.trim()).filter(|class| !class.is_empty());
        prop_assert_eq!(result.identity.class_name.as_deref(), expected_class);
        let expected_suite: Vec<String> = Some(suite.trim().to_owned()).filter(|suite| !suite.is_empty()).into_iter().collect();
        prop_assert_eq!(&result.identity.suite_path, &expected_suite);
        prop_assert_eq!(result.outcome, Outcome::Failed);
        let failure = result.failure.unwrap();
        let trimmed = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        prop_assert_eq!(failure.message, trimmed(&message));
        prop_assert_eq!(failure.text, trimmed(&text));
        prop_assert_eq!(failure.kind.as_deref(), Some("E"));
    }
}
