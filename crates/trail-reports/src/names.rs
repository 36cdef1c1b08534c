//! Text helpers shared by the readers and by the sync engine.

use std::time::Duration;

use crate::model::TestResult;

/// Removes ANSI escape sequences, such as colour codes, from `s`.
///
/// Playwright and many runners colour their failure messages; TestRail shows
/// the escape bytes verbatim, so every message passes through here.
pub fn strip_ansi(s: &str) -> String {
    if !s.contains('\u{1b}') {
        return s.to_owned();
    }
    let stripped = strip_ansi_escapes::strip(s.as_bytes());
    String::from_utf8(stripped)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// Returns true for characters that XML 1.0 forbids and some reporters still write.
fn is_invalid_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Appends `s` to `out` without the control characters that XML 1.0 forbids.
///
/// Tab, line feed and carriage return are kept. Runners copy raw test output
/// into reports, so a stray escape or NUL byte must not lose the whole file.
pub(crate) fn push_scrubbed(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r'))
        && !s.contains(['\u{fffe}', '\u{ffff}'])
    {
        out.push_str(s);
        return;
    }
    out.extend(s.chars().filter(|&c| !is_invalid_control(c)));
}

/// Returns `s` without the control characters that XML 1.0 forbids.
pub(crate) fn scrubbed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_scrubbed(&mut out, s);
    out
}

/// Parses a duration in seconds such as `0.004`, `12` or `53.440858999999996`.
///
/// Empty, negative, infinite and unparsable values give `None`, because a
/// wrong duration is worse than none. A trailing `s` unit is accepted.
pub(crate) fn parse_seconds(s: &str) -> Option<Duration> {
    let s = s.trim();
    let s = s.strip_suffix('s').unwrap_or(s).trim_end();
    let seconds: f64 = s.parse().ok()?;
    seconds_to_duration(seconds)
}

/// Converts a number of seconds to a duration, rejecting negative and non-finite values.
pub(crate) fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    if seconds.is_finite() && seconds >= 0.0 {
        Duration::try_from_secs_f64(seconds).ok()
    } else {
        None
    }
}

/// Appends the `@word` tokens of `title` to `tags`, without the `@` and without duplicates.
///
/// A token starts at an `@` that begins the title or follows whitespace, so
/// an e-mail address such as `user@example.com` adds no tag.
pub(crate) fn collect_title_tags(title: &str, tags: &mut Vec<String>) {
    let mut previous = ' ';
    for (index, c) in title.char_indices() {
        if c == '@' && previous.is_whitespace() {
            let rest = &title[index + 1..];
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ')' | '(' | ']' | '['))
                .unwrap_or(rest.len());
            push_tag(tags, &rest[..end]);
        }
        previous = c;
    }
}

/// Appends `tag` without a leading `@`, unless it is empty or already present.
pub(crate) fn push_tag(tags: &mut Vec<String>, tag: &str) {
    let tag = tag.trim();
    let tag = tag.strip_prefix('@').unwrap_or(tag);
    if !tag.is_empty() && !tags.iter().any(|existing| existing == tag) {
        tags.push(tag.to_owned());
    }
}

/// Returns `text` trimmed, or `None` when nothing but whitespace is left.
pub(crate) fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

impl TestResult {
    /// Returns the test name without a leading copy of its class name.
    ///
    /// Some JUnit writers repeat the class in the name (`com.acme.LoginTest.opens`
    /// in class `com.acme.LoginTest`); titles in TestRail read better without it.
    /// The name is returned unchanged when it would become empty.
    pub fn display_title(&self) -> &str {
        let name = self.identity.name.as_str();
        let Some(class_name) = self.identity.class_name.as_deref() else {
            return name;
        };
        let Some(rest) = name.strip_prefix(class_name) else {
            return name;
        };
        for separator in [" › ", " > ", "::", ".", "#", "/", " ", ":"] {
            if let Some(title) = rest.strip_prefix(separator) {
                let title = title.trim_start();
                if !title.is_empty() {
                    return title;
                }
            }
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestIdentity;

    fn result(class_name: Option<&str>, name: &str) -> TestResult {
        TestResult {
            identity: TestIdentity {
                class_name: class_name.map(str::to_owned),
                name: name.to_owned(),
                ..TestIdentity::default()
            },
            ..TestResult::default()
        }
    }

    #[test]
    fn display_title_strips_class_prefix() {
        assert_eq!(result(Some("a.B"), "a.B.test_x").display_title(), "test_x");
        assert_eq!(result(Some("mod"), "mod::case").display_title(), "case");
        assert_eq!(
            result(Some("Login"), "Login › works").display_title(),
            "works"
        );
    }

    #[test]
    fn display_title_keeps_unrelated_names() {
        assert_eq!(result(Some("a.B"), "a.Bc").display_title(), "a.Bc");
        assert_eq!(result(Some("a.B"), "a.B").display_title(), "a.B");
        assert_eq!(result(None, "x.y").display_title(), "x.y");
    }

    #[test]
    fn strip_ansi_removes_colours() {
        assert_eq!(strip_ansi("\u{1b}[31mred\u{1b}[39m text"), "red text");
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn scrub_removes_forbidden_controls() {
        assert_eq!(scrubbed("a\u{1b}b\u{0}c\td\ne"), "abc\td\ne");
    }

    #[test]
    fn seconds_parse_odd_values() {
        assert_eq!(parse_seconds("0"), Some(Duration::ZERO));
        assert_eq!(parse_seconds("0.000000"), Some(Duration::ZERO));
        assert_eq!(parse_seconds(" 1.5 "), Some(Duration::from_millis(1500)));
        assert_eq!(parse_seconds("0.072s"), Some(Duration::from_millis(72)));
        assert_eq!(parse_seconds(""), None);
        assert_eq!(parse_seconds("abc"), None);
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("NaN"), None);
        assert_eq!(parse_seconds("inf"), None);
    }

    #[test]
    fn title_tags_skip_email_addresses() {
        let mut tags = vec!["Smoke".to_owned()];
        collect_title_tags(
            "@Regression @Login › @Smoke - write to user@example.com",
            &mut tags,
        );
        assert_eq!(tags, ["Smoke", "Regression", "Login"]);
    }
}
