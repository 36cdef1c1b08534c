//! Exit codes of `trail`, one per kind of failure.

/// Every result that should be uploaded was.
pub const SUCCESS: u8 = 0;
/// The upload finished, but some results were rejected or matched no case.
pub const PARTIAL: u8 = 1;
/// A flag, variable or configuration file value is missing or invalid.
pub const CONFIG: u8 = 2;
/// A report file could not be read.
pub const REPORT: u8 = 3;
/// TestRail rejected a request that the upload needs.
pub const REJECTED: u8 = 4;
/// TestRail could not be reached or kept failing; the upload can resume.
pub const UNREACHABLE: u8 = 5;

/// The user pressed Ctrl-C; the upload can resume. 128 plus SIGINT, as
/// shells report it.
pub const INTERRUPTED: u8 = 130;

/// Help text that lists the exit codes.
pub const HELP: &str = "\
Exit codes:
  0  every result that should be uploaded was
  1  partial upload: some results were rejected or matched no case
  2  invalid configuration: a flag, variable or config value
  3  a report file could not be read
  4  TestRail rejected a request the upload needs
  5  TestRail unreachable or failing; rerun the command or `trail resume` to finish
  130  interrupted by Ctrl-C; rerun the command or `trail resume` to finish";
