//! Streams one report file through [`trail_reports::read_report`] and prints
//! the number of results, the time taken and the throughput.
//!
//! `bench/compare` runs it under GNU time to measure the reader alone, on one
//! core and with peak memory, on files too large for the criterion bench:
//!
//! ```text
//! cargo run --release -p trail-reports --example read_report -- results.xml
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: read_report FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::metadata(&path) {
        Ok(metadata) => metadata.len(),
        Err(error) => {
            eprintln!("error: failed to read `{}`: {error}", path.display());
            return ExitCode::from(2);
        }
    };

    let started = Instant::now();
    let reader = match trail_reports::read_report(&path) {
        Ok(reader) => reader,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut results = 0_u64;
    let mut failures = 0_u64;
    for result in reader {
        match result {
            Ok(result) => {
                results += 1;
                if result.outcome.is_failure() {
                    failures += 1;
                }
            }
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();

    let megabytes = bytes as f64 / 1e6;
    println!(
        "{results} results ({failures} failed) from {megabytes:.1} MB in {seconds:.3} s: {:.0} MB/s",
        megabytes / seconds
    );
    ExitCode::SUCCESS
}
