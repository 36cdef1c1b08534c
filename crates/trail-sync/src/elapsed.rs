//! TestRail's `elapsed` timespan format.
//!
//! TestRail stores elapsed time as a timespan string in whole units such as
//! `1m 5s`. It rejects `0s`, and some versions read a decimal such as
//! `0.035s` as 35 seconds, so trail never sends a fraction: a positive time
//! under one second is rounded up to `1s`, and a zero time is left out.

use std::time::Duration;

/// Formats a duration as a TestRail timespan, or returns `None` when the
/// duration is zero and the field should be left out.
///
/// Times are rounded to the nearest second, except that anything above zero
/// and below one second becomes `1s`.
pub fn format_elapsed(duration: Duration) -> Option<String> {
    if duration.is_zero() {
        return None;
    }

    let millis = duration.as_millis();
    let mut seconds = ((millis + 500) / 1000) as u64;
    if seconds == 0 {
        seconds = 1;
    }

    let hours = seconds / 3600;
    let minutes = (seconds % 3600) / 60;
    let secs = seconds % 60;

    let mut parts = Vec::with_capacity(3);
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes}m"));
    }
    if secs > 0 {
        parts.push(format!("{secs}s"));
    }
    Some(parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_left_out() {
        assert_eq!(format_elapsed(Duration::ZERO), None);
    }

    #[test]
    fn sub_second_rounds_up() {
        assert_eq!(
            format_elapsed(Duration::from_millis(1)).as_deref(),
            Some("1s")
        );
        assert_eq!(
            format_elapsed(Duration::from_millis(499)).as_deref(),
            Some("1s")
        );
        assert_eq!(
            format_elapsed(Duration::from_millis(999)).as_deref(),
            Some("1s")
        );
    }

    #[test]
    fn whole_units_only() {
        let cases = [
            (1_000, "1s"),
            (1_499, "1s"),
            (1_500, "2s"),
            (59_600, "1m"),
            (65_000, "1m 5s"),
            (3_600_000, "1h"),
            (3_661_000, "1h 1m 1s"),
            (7_205_000, "2h 5s"),
        ];
        for (millis, expected) in cases {
            let got = format_elapsed(Duration::from_millis(millis));
            assert_eq!(got.as_deref(), Some(expected), "{millis} ms");
        }
    }

    #[test]
    fn never_a_decimal_point_or_zero() {
        for millis in (1..200_000).step_by(137) {
            let text = format_elapsed(Duration::from_millis(millis)).unwrap();
            assert!(!text.contains('.'), "{text}");
            assert_ne!(text, "0s");
            assert!(!text.is_empty());
        }
    }
}
