//! Command-line interface: flags, subcommands and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit;

/// Upload automated test results into TestRail.
#[derive(Debug, Parser)]
#[command(name = "trail", version, about, after_help = exit::HELP)]
pub struct Cli {
    /// Log more: -v for progress details, -vv for every request.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only warnings, errors and the final summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Hide the progress bar; it shows only on a terminal anyway.
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Configuration file; by default `trail.toml` in the working directory
    /// or in the user's config directory.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload report files into a TestRail run.
    #[command(after_help = exit::HELP)]
    Report(Box<ReportArgs>),
    /// Read report files and print their tests by outcome, without TestRail.
    Check(CheckArgs),
    /// Finish uploads that were interrupted, from the journal in the spool.
    Resume(ResumeArgs),
    /// Start the built-in emulator, upload the sample reports and show the run.
    Demo(DemoArgs),
    /// Queue results in the spool for the flusher, and return at once.
    Submit(Box<crate::parallel::SubmitArgs>),
    /// Upload the spool's queue while holding its lease (started by submit).
    Flush(Box<crate::parallel::FlushArgs>),
    /// List the workers that submit into the spool.
    Workers(crate::parallel::WorkersArgs),
    /// Wait until the spool is uploaded, print a summary, end the session.
    Finish(Box<crate::parallel::FinishArgs>),
    /// Create or close a run for shards that report into it.
    #[command(subcommand)]
    Run(crate::parallel::RunCommand),
    /// Run the TestRail emulator as a server.
    Emulator(Box<testrail_emulator::Args>),
    /// Print a shell completion script.
    Completions {
        /// Shell to write the script for.
        shell: clap_complete::Shell,
    },
}

/// How TestRail is reached.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// TestRail root URL, such as https://example.testrail.io/.
    #[arg(long, env = "TESTRAIL_HOST", value_name = "URL")]
    pub host: Option<String>,

    /// TestRail user e-mail.
    #[arg(long, short = 'u', env = "TESTRAIL_USER", value_name = "EMAIL")]
    pub user: Option<String>,

    /// TestRail API key or password (TESTRAIL_PASSWORD is read too).
    #[arg(
        long,
        env = "TESTRAIL_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,

    /// Accept TLS certificates that fail verification.
    #[arg(long)]
    pub insecure: bool,

    /// Requests per minute trail allows itself; off unless set or until
    /// TestRail returns 429.
    #[arg(long, env = "TRAIL_RATE_LIMIT", value_name = "N")]
    pub rate_limit: Option<u32>,

    /// Seconds to wait for one response.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,

    /// Retries of one request after transport errors, timeouts, 429 and 5xx.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_retries: u32,

    /// Seconds one request may take with all its retries and waits.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub retry_budget: u64,

    /// Seconds the client pauses after repeated failures before it probes
    /// TestRail again.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub breaker_pause: u64,

    /// List requests slower than this many milliseconds in the stats.
    #[arg(long, value_name = "MS")]
    pub slow_ms: Option<u64>,

    /// Write what the upload cost (requests per API method, retries, 429s,
    /// latencies, bytes, phase times, peak memory) to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
}

/// Output format of the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// One JSON object.
    Json,
}

/// Upload settings shared by `trail report` and `trail submit`, which
/// stores them in the spool.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Project name or id.
    #[arg(long, short = 'p', env = "TESTRAIL_PROJECT", value_name = "NAME_OR_ID")]
    pub project: Option<String>,

    /// Suite id; required for projects with several suites.
    #[arg(long, value_name = "ID")]
    pub suite_id: Option<u64>,

    /// Root section: an id, or a path such as `Web/Checkout` created when
    /// missing.
    #[arg(long, value_name = "ID_OR_PATH")]
    pub section: Option<String>,

    /// Name of the run: the open run of this name is used, or created.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "run_id",
        required_unless_present = "run_id"
    )]
    pub run_name: Option<String>,

    /// Id of an existing open run.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<u64>,

    /// Description of a run that trail creates.
    #[arg(long, value_name = "TEXT")]
    pub run_description: Option<String>,

    /// Only report to existing cases; list tests without one as unmatched.
    #[arg(long)]
    pub no_create: bool,

    /// Map an outcome to a status by name, such as `skipped=Blocked` or
    /// `failed=Retest`; `none` leaves the outcome unposted. Outcomes:
    /// passed, failed, error, timedout, interrupted, skipped, flaky.
    #[arg(long = "status", value_name = "OUTCOME=STATUS", value_parser = parse_pair)]
    pub statuses: Vec<(String, String)>,

    /// Text put first in every comment, such as the CI job.
    #[arg(long, env = "TRAIL_EXECUTED_BY", value_name = "TEXT")]
    pub executed_by: Option<String>,

    /// Stack lines kept in a failure comment.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub stack_lines: usize,

    /// Build or version string stored in each result.
    #[arg(long = "version", value_name = "VERSION")]
    pub build_version: Option<String>,
}

/// `trail report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report files: JUnit XML, Playwright JSON, Cucumber JSON, Robot
    /// Framework output.xml or libtest JSON.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Project, run and result settings.
    #[command(flatten)]
    pub upload: UploadArgs,

    /// Close the run after the upload.
    #[arg(long)]
    pub close_run: bool,

    /// This upload's shard as I/N; with --close-run the last shard to
    /// finish closes the run. Read from TRAIL_SHARD, or GitLab's
    /// CI_NODE_INDEX and CI_NODE_TOTAL, when not given.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<trail_sync::coord::Shard>,

    /// Create a new run even when an open run has the --run-name.
    #[arg(long, requires = "run_name")]
    pub reset: bool,

    /// Report to the test plan named by --run-name, with one run per
    /// Playwright project, distinguished by configurations. Every test must
    /// come from a Playwright JSON report.
    #[arg(long, requires = "run_name", conflicts_with = "shard")]
    pub projects_as_plan: bool,

    /// Configuration group that contains one configuration per Playwright
    /// project, created when missing.
    #[arg(long, value_name = "NAME", default_value = trail_sync::options::DEFAULT_CONFIG_GROUP, requires = "projects_as_plan")]
    pub config_group: String,

    /// Milestone of a new run, by name.
    #[arg(long, value_name = "NAME")]
    pub milestone: Option<String>,

    /// References of a new run, such as `JIRA-12,JIRA-13`.
    #[arg(long, value_name = "REFS")]
    pub refs: Option<String>,

    /// E-mail of the user a new run is assigned to.
    #[arg(long, value_name = "EMAIL")]
    pub assign_to: Option<String>,

    /// Create the run with every case of the suite, not only the reported
    /// ones.
    #[arg(long)]
    pub include_all: bool,

    /// Assign failed results to these users in turn (comma-separated
    /// e-mails).
    #[arg(long, value_name = "EMAIL,...", value_delimiter = ',')]
    pub assign_failed: Vec<String>,

    /// Whether existing cases get the fields trail manages (type, priority,
    /// steps, automation id and type, platform) when they differ.
    #[arg(long, value_enum, default_value_t = UpdateCasesArg::Changed, value_name = "WHEN")]
    pub update_cases: UpdateCasesArg,

    /// Platform dropdown item of the cases, by label, such as `Web`.
    #[arg(long, value_name = "NAME")]
    pub platform: Option<String>,

    /// Fill a custom result field, by system name or label, such as
    /// `environment=Staging`; repeatable.
    #[arg(long = "result-field", value_name = "NAME=VALUE", value_parser = parse_field)]
    pub result_fields: Vec<(String, String)>,

    /// Do not upload screenshots, videos, traces and other attachments.
    #[arg(long)]
    pub no_attachments: bool,

    /// Largest attachment uploaded, in MiB; larger files are skipped with a
    /// warning.
    #[arg(long, default_value_t = 10, value_name = "MB")]
    pub attachment_max_mb: u64,

    /// Upload attachments whose path leads outside the report's directory.
    #[arg(long)]
    pub allow_attachments_outside: bool,

    /// Print the plan and send nothing that changes TestRail.
    #[arg(long)]
    pub dry_run: bool,

    /// Results per `add_results_for_cases` request.
    #[arg(long, default_value_t = 250, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=5000))]
    pub batch_size: u64,

    /// Spool directory for the journal that makes uploads resumable.
    #[arg(long, env = "TRAIL_SPOOL", value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Summary format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// When existing cases are updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpdateCasesArg {
    /// Never change existing cases.
    Never,
    /// Send the managed fields that differ.
    Changed,
}

/// `trail check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Report files to read.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `trail resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Spool directory that contains the journals.
    #[arg(long, env = "TRAIL_SPOOL", value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Summary format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `trail demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Summary format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

fn parse_field(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((left, right)) if !left.trim().is_empty() => {
            Ok((left.trim().to_owned(), right.trim().to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not NAME=VALUE, such as environment=Staging"
        )),
    }
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((left, right)) if !left.trim().is_empty() && !right.trim().is_empty() => {
            Ok((left.trim().to_owned(), right.trim().to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not OUTCOME=STATUS, such as skipped=Blocked"
        )),
    }
}
