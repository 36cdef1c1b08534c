//! `trail check`: reads report files and prints what they contain, without
//! TestRail. Useful to validate a report in CI, and to measure the readers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use crate::cli::{CheckArgs, OutputFormat};
use crate::exit;

/// Counts of one report file.
#[derive(Default)]
struct FileCounts {
    format: String,
    tests: u64,
    outcomes: BTreeMap<&'static str, u64>,
    retried: u64,
    error: Option<String>,
}

/// Runs `trail check` and returns the exit code.
pub fn check(args: CheckArgs) -> u8 {
    let mut files: Vec<(PathBuf, FileCounts)> = Vec::new();
    for path in &args.files {
        files.push((path.clone(), count(path)));
    }

    match args.format {
        OutputFormat::Json => {
            let value: Vec<_> = files
                .iter()
                .map(|(path, counts)| {
                    json!({
                        "file": path,
                        "format": counts.format,
                        "tests": counts.tests,
                        "outcomes": counts.outcomes,
                        "retried": counts.retried,
                        "error": counts.error,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&value).expect("json"));
        }
        OutputFormat::Text => {
            for (path, counts) in &files {
                let outcomes: Vec<String> = counts
                    .outcomes
                    .iter()
                    .map(|(name, n)| format!("{n} {name}"))
                    .collect();
                match &counts.error {
                    None => println!(
                        "{}: {} tests ({}), {} retried [{}]",
                        path.display(),
                        counts.tests,
                        outcomes.join(", "),
                        counts.retried,
                        counts.format
                    ),
                    Some(error) => println!(
                        "{}: unreadable after {} tests: {error}",
                        path.display(),
                        counts.tests
                    ),
                }
            }
        }
    }

    if files.iter().any(|(_, counts)| counts.error.is_some()) {
        exit::REPORT
    } else {
        exit::SUCCESS
    }
}

fn count(path: &std::path::Path) -> FileCounts {
    let mut counts = FileCounts::default();
    let reader = match trail_reports::read_report(path) {
        Ok(reader) => reader,
        Err(error) => {
            counts.error = Some(error.to_string());
            return counts;
        }
    };
    counts.format = reader.format().to_string();
    for result in reader {
        match result {
            Ok(result) => {
                counts.tests += 1;
                *counts.outcomes.entry(result.outcome.as_str()).or_insert(0) += 1;
                if !result.attempts.is_empty() {
                    counts.retried += 1;
                }
            }
            Err(error) => {
                counts.error = Some(error.to_string());
                break;
            }
        }
    }
    counts
}
