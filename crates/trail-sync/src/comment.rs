//! Writes the comment of a result: prefix, failure, stack, retries.

use trail_reports::{Failure, Outcome, TestResult, strip_ansi};

use crate::options::CommentOptions;

/// Builds the comment for one test, or `None` when there is nothing to say.
pub fn comment_for(result: &TestResult, options: &CommentOptions) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();

    if let Some(step) = failed_step(&result.steps) {
        parts.push(format!("Failed step: {step}"));
    }
    if let Some(failure) = &result.failure {
        parts.extend(failure_lines(failure, options.stack_lines));
    } else if result.outcome == Outcome::Skipped
        && let Some(reason) = &result.skip_reason
    {
        parts.push(format!("Skipped: {}", strip_ansi(reason).trim()));
    }

    let failed_tries = result
        .attempts
        .iter()
        .filter(|a| a.outcome.is_failure())
        .count();
    if !result.attempts.is_empty() {
        let tries = result.attempts.len() + 1;
        if result.outcome == Outcome::Passed && failed_tries > 0 {
            parts.push(format!(
                "Flaky: passed on try {tries} of {tries} after {failed_tries} failed"
            ));
        } else {
            parts.push(format!(
                "Retries: {} ({tries} tries)",
                result.attempts.len()
            ));
        }
        for (index, attempt) in result.attempts.iter().enumerate() {
            let message = attempt
                .failure
                .as_ref()
                .and_then(|f| f.message.as_deref().or(f.text.as_deref()))
                .map(|m| first_line(&strip_ansi(m)))
                .unwrap_or_default();
            let line = format!("  try {}: {} {}", index + 1, attempt.outcome, message);
            parts.push(line.trim_end().to_owned());
        }
    }

    if parts.is_empty() {
        return None;
    }
    Some(parts.join("\n"))
}

/// Puts the prefix first and cuts the comment to the length limit.
pub fn finish_comment(body: Option<String>, options: &CommentOptions) -> Option<String> {
    let text = match (&options.prefix, body) {
        (Some(prefix), Some(body)) => format!("{prefix}\n{body}"),
        (Some(prefix), None) => prefix.clone(),
        (None, Some(body)) => body,
        (None, None) => return None,
    };
    Some(cap(&text, options.max_chars))
}

fn failure_lines(failure: &Failure, stack_lines: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let message = failure
        .message
        .as_deref()
        .map(|m| strip_ansi(m).trim().to_owned())
        .filter(|m| !m.is_empty());
    if let Some(kind) = failure.kind.as_deref().filter(|k| !k.is_empty()) {
        lines.push(format!("Type: {kind}"));
    }
    if let Some(message) = &message {
        lines.push(message.clone());
    }
    if let Some(text) = failure.text.as_deref() {
        let text = strip_ansi(text);
        let mut kept: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
            .collect();
        // Many reporters repeat the message as the first line of the text.
        if let (Some(first), Some(message)) = (kept.first(), &message)
            && message
                .lines()
                .next()
                .is_some_and(|m| first.trim() == m.trim())
        {
            kept.remove(0);
        }
        let total = kept.len();
        let budget = if message.is_some() {
            stack_lines
        } else {
            stack_lines.max(1) + 5
        };
        if total > 0 {
            lines.extend(kept.iter().take(budget).map(|l| (*l).to_owned()));
            if total > budget {
                lines.push(format!("... {} more lines", total - budget));
            }
        }
    }
    if let Some(location) = &failure.location {
        lines.push(format!("at {location}"));
    }
    lines
}

fn failed_step(steps: &[trail_reports::Step]) -> Option<String> {
    for step in steps {
        if step.outcome.is_failure() || step.error.is_some() {
            return Some(match failed_step(&step.steps) {
                Some(inner) => format!("{} › {inner}", step.title),
                None => step.title.clone(),
            });
        }
    }
    None
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn cap(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let note = "\n[cut by trail: the full text is in the test report]";
    let keep = max_chars.saturating_sub(note.chars().count());
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(note);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use trail_reports::Attempt;

    fn failed(message: &str, text: &str) -> TestResult {
        let mut result = TestResult::default();
        result.outcome = Outcome::Failed;
        let mut failure = Failure::default();
        failure.message = Some(message.into());
        failure.text = Some(text.into());
        result.failure = Some(failure);
        result
    }

    #[test]
    fn passed_without_retries_has_no_comment() {
        assert_eq!(
            comment_for(&TestResult::default(), &CommentOptions::default()),
            None
        );
    }

    #[test]
    fn ansi_codes_are_stripped() {
        let result = failed("\u{1b}[31mexpected 1\u{1b}[39m", "at foo (a.js:1)");
        let comment = comment_for(&result, &CommentOptions::default()).unwrap();
        assert!(!comment.contains('\u{1b}'), "{comment:?}");
        assert!(comment.starts_with("expected 1\n"), "{comment:?}");
    }

    #[test]
    fn stack_is_cut_to_stack_lines() {
        let text: Vec<String> = (0..30).map(|i| format!("frame {i}")).collect();
        let result = failed("boom", &text.join("\n"));
        let options = CommentOptions {
            stack_lines: 3,
            ..CommentOptions::default()
        };
        let comment = comment_for(&result, &options).unwrap();
        assert!(comment.contains("frame 2"));
        assert!(!comment.contains("frame 3\n"));
        assert!(comment.contains("... 27 more lines"));
    }

    #[test]
    fn flaky_pass_lists_failed_tries() {
        let mut result = TestResult::default();
        let mut attempt = Attempt::default();
        attempt.outcome = Outcome::Failed;
        let mut failure = Failure::default();
        failure.message = Some("timeout".into());
        attempt.failure = Some(failure);
        result.attempts.push(attempt);
        let comment = comment_for(&result, &CommentOptions::default()).unwrap();
        assert!(
            comment.contains("Flaky: passed on try 2 of 2 after 1 failed"),
            "{comment}"
        );
        assert!(comment.contains("try 1: failed timeout"), "{comment}");
    }

    #[test]
    fn long_comment_is_cut_with_note() {
        let options = CommentOptions {
            max_chars: 100,
            ..CommentOptions::default()
        };
        let text = finish_comment(Some("x".repeat(500)), &options).unwrap();
        assert_eq!(text.chars().count(), 100);
        assert!(text.ends_with("in the test report]"));
    }
}
