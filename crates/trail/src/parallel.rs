//! `trail submit`, `flush`, `workers`, `finish` and `run`: parallel workers
//! that share a spool, and shards that share a run.

use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;
use trail_sync::coord::shard::{self, Shard};
use trail_sync::coord::{
    CoordError, Coordinator, CoordinatorOptions, FinishSummary, FlushMode, FlushSettings, Flusher,
    LeaseFile, Spool, SpooledResult, Workers,
};
use trail_sync::{NoReporter, RunTarget, SyncError, SyncOptions, UploadMode, upload_with};

use crate::cli::{ConnectionArgs, OutputFormat, UploadArgs};
use crate::config::{self, FileConfig};
use crate::exit;
use crate::report::{project_of, report_sync_error, spool_dir, upload_options};

/// `trail submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// A JUnit XML or Playwright JSON report, or any report `trail report`
    /// reads. Without a file, JSON result lines are read from standard
    /// input: {"name", "suite", "classname", "status", "duration_ms",
    /// "message", "details", "case_id", "tags", "file", "line"}; status is
    /// passed, failed, error, timedout, interrupted, skipped or flaky.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Connection; the host is stored in the spool, the user and API key
    /// are only handed to the flusher's environment.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Upload settings, stored in `spool.json` by the first submit.
    #[command(flatten)]
    pub upload: UploadArgs,

    /// Spool directory shared by the workers.
    #[arg(long, env = "TRAIL_SPOOL", value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Worker id; by default the host name and the parent process id.
    #[arg(long, env = "TRAIL_WORKER", value_name = "ID")]
    pub worker: Option<String>,

    /// Results per flushed batch and per `add_results_for_cases` request.
    #[arg(long, default_value_t = 250, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=5000))]
    pub batch_size: u64,

    /// Seconds after which queued results are flushed even when the batch
    /// is not full.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub flush_after: f64,

    /// When no flusher runs, flush in this process and wait, instead of
    /// starting `trail flush` in the background.
    #[arg(long)]
    pub foreground: bool,
}

/// `trail flush`.
#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Spool directory.
    #[arg(long, env = "TRAIL_SPOOL", value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Seconds the flusher waits for more results before it exits.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub idle_exit: u64,

    /// Lease owner id reserved by the submit that started this flusher.
    #[arg(long, hide = true)]
    pub owner: Option<String>,
}

/// `trail workers`.
#[derive(Debug, Args)]
pub struct WorkersArgs {
    /// Spool directory.
    #[arg(long, env = "TRAIL_SPOOL", value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `trail finish`.
#[derive(Debug, Args)]
pub struct FinishArgs {
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Spool directory.
    #[arg(long, env = "TRAIL_SPOOL", value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Close the run once everything is uploaded.
    #[arg(long)]
    pub close_run: bool,

    /// Seconds to wait for the spool to empty.
    #[arg(long = "wait", default_value_t = 600, value_name = "SECONDS")]
    pub wait_secs: u64,

    /// Summary format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `trail run`.
#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Find the open run of a name or create it, and print its id.
    Create(RunCreateArgs),
    /// Close a run by name or id.
    Close(RunCloseArgs),
}

/// `trail run create`.
#[derive(Debug, Args)]
pub struct RunCreateArgs {
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Project name or id.
    #[arg(long, short = 'p', env = "TESTRAIL_PROJECT", value_name = "NAME_OR_ID")]
    pub project: Option<String>,

    /// Suite id; required for projects with several suites.
    #[arg(long, value_name = "ID")]
    pub suite_id: Option<u64>,

    /// Run name.
    #[arg(long, value_name = "NAME")]
    pub run_name: String,

    /// Description of a new run.
    #[arg(long, value_name = "TEXT")]
    pub run_description: Option<String>,

    /// Output format: the id alone, or a JSON object.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `trail run close`.
#[derive(Debug, Args)]
pub struct RunCloseArgs {
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Project name or id; needed with --run-name.
    #[arg(long, short = 'p', env = "TESTRAIL_PROJECT", value_name = "NAME_OR_ID")]
    pub project: Option<String>,

    /// Suite id, to tell runs of the same name apart.
    #[arg(long, value_name = "ID")]
    pub suite_id: Option<u64>,

    /// Name of the open run to close.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "run_id",
        required_unless_present = "run_id"
    )]
    pub run_name: Option<String>,

    /// Id of the run to close.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<u64>,
}

/// Runs `trail submit`.
pub async fn submit(args: SubmitArgs, file: FileConfig) -> anyhow::Result<u8> {
    let results = match read_submitted(&args.files) {
        Ok(results) => results,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(exit::REPORT);
        }
    };
    let root = spool_dir(args.spool.as_ref(), &file);
    let host = args
        .connection
        .host
        .clone()
        .or_else(|| config::deprecated_env("TESTRAIL_HOST"))
        .or_else(|| file.host.clone());
    let sync = upload_options(&args.upload, &file, args.batch_size as usize)?;
    let mut options = CoordinatorOptions::new(sync);
    options.host = host;
    options.batch_size = args.batch_size as usize;
    options.flush_after = Duration::from_secs_f64(args.flush_after.max(0.0));
    options.worker_pid = Some(std::os::unix::process::parent_id());
    options.worker_id = Some(args.worker.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            trail_sync::coord::host_name(),
            std::os::unix::process::parent_id()
        )
    }));

    let coordinator = match Coordinator::open(&root, options) {
        Ok(coordinator) => coordinator,
        Err(error) => return Ok(coord_error(&error)),
    };
    if let Err(error) = coordinator.submit_spooled(&results) {
        return Ok(coord_error(&error));
    }

    if args.foreground {
        if coordinator.leader()?.is_none() {
            let client = config::client(&args.connection, &file)?;
            let coordinator = coordinator.with_client(client);
            if let Err(error) = coordinator.flush(Duration::from_secs(600)).await {
                return Ok(coord_error(&error));
            }
        }
        return Ok(exit::SUCCESS);
    }
    if let Err(error) = start_flusher(&coordinator, &args.connection) {
        eprintln!(
            "warning: could not start the flusher: {error:#}\nhint: run `trail flush` or `trail finish` to upload the queued results"
        );
    }
    Ok(exit::SUCCESS)
}

/// Starts `trail flush` in the background unless a live flusher of the
/// coordinator's session holds the spool's lease. A flusher left from an
/// ended session does not count, and it stops once the new one takes the
/// lease. The child inherits the environment, so the API key stays in
/// memory; a key given as a flag is handed over the same way.
fn start_flusher(coordinator: &Coordinator, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let spool = coordinator.spool();
    let owner = format!(
        "{:x}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
        std::process::id()
    );
    let log_path = spool.root().join("flusher.log");
    coordinator.reserve_flusher(&owner, || {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| CoordError::Io {
                path: log_path.clone(),
                message: e.to_string(),
            })?;
        let exe = std::env::current_exe().map_err(|e| CoordError::Io {
            path: PathBuf::from("trail"),
            message: e.to_string(),
        })?;
        let mut command = std::process::Command::new(exe);
        command
            .args(["-v", "flush", "--owner", &owner, "--spool"])
            .arg(spool.root())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log);
        for (name, value) in [
            ("TESTRAIL_HOST", &connection.host),
            ("TESTRAIL_USER", &connection.user),
            ("TESTRAIL_API_KEY", &connection.api_key),
        ] {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        // A process group of its own keeps the flusher alive when the
        // terminal or CI step sends a signal to the submitter's group.
        command.env("NO_COLOR", "1");
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(|e| CoordError::Io {
            path: PathBuf::from("trail flush"),
            message: e.to_string(),
        })?;
        Ok(child.id())
    })?;
    Ok(())
}

/// Runs `trail flush`.
pub async fn flush(args: FlushArgs, file: FileConfig) -> anyhow::Result<u8> {
    let root = spool_dir(args.spool.as_ref(), &file);
    let spool = Spool::open(&root)?;
    let client = config::client(&args.connection, &file)?;
    let flusher = match Flusher::new(&spool, client, args.owner, FlushSettings::default()) {
        Ok(flusher) => flusher,
        Err(error) => return Ok(coord_error(&error)),
    };
    if let Err(error) = check_host(&spool, &args.connection, &file) {
        eprintln!("error: {error:#}");
        return Ok(exit::CONFIG);
    }
    let mode = FlushMode::Background {
        idle_exit: Duration::from_secs(args.idle_exit),
    };
    match flusher.run(mode).await {
        Ok(Some(report)) => {
            tracing::info!(
                batches = report.batches,
                uploaded = report.results_uploaded,
                "flusher done"
            );
            Ok(exit::SUCCESS)
        }
        Ok(None) => {
            tracing::info!("another flusher holds the lease");
            Ok(exit::SUCCESS)
        }
        Err(error) => Ok(coord_error(&error)),
    }
}

/// Runs `trail workers`.
pub async fn workers(args: WorkersArgs, file: FileConfig) -> anyhow::Result<u8> {
    let root = spool_dir(args.spool.as_ref(), &file);
    let spool = Spool::open(&root)?;
    let records = Workers::new(&root).list()?;
    let leader = LeaseFile::new(&root).live()?;
    let status = spool.status()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);

    match args.format {
        OutputFormat::Json => {
            let workers: Vec<_> = records
                .iter()
                .map(|r| {
                    let mut value = serde_json::to_value(r).expect("record serializes");
                    value["state"] = json!(r.state());
                    value
                })
                .collect();
            let value = json!({
                "spool": root,
                "leader": leader,
                "queue": status,
                "workers": workers,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        OutputFormat::Text => {
            match &leader {
                Some(lease) => println!(
                    "flusher: pid {} on {} (owner {})",
                    lease.pid, lease.host, lease.owner
                ),
                None => println!("flusher: none running"),
            }
            println!(
                "queue:   {} results in {} files, {} batches in flight",
                status.queued_results, status.queued_files, status.batches
            );
            if records.is_empty() {
                println!("workers: none registered");
            }
            for record in &records {
                println!(
                    "{:<32} {:<7} {:>7} results {:>6} submits  last seen {}s ago  pid {} on {}",
                    record.id,
                    format!("{:?}", record.state()).to_lowercase(),
                    record.results_submitted,
                    record.submits,
                    now.saturating_sub(record.last_seen_ms) / 1000,
                    record.pid,
                    record.host
                );
            }
        }
    }
    Ok(exit::SUCCESS)
}

/// Runs `trail finish`.
pub async fn finish(args: FinishArgs, file: FileConfig) -> anyhow::Result<u8> {
    let root = spool_dir(args.spool.as_ref(), &file);
    let coordinator = match Coordinator::attach(&root) {
        Ok(coordinator) => coordinator,
        Err(CoordError::Config { message, .. }) => {
            eprintln!("nothing to finish: {message}");
            if args.format == OutputFormat::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&FinishSummary::default())?
                );
            }
            return Ok(exit::SUCCESS);
        }
        Err(error) => return Ok(coord_error(&error)),
    };
    if let Err(error) = check_host(coordinator.spool(), &args.connection, &file) {
        eprintln!("error: {error:#}");
        return Ok(exit::CONFIG);
    }
    let client = config::client(&args.connection, &file)?;
    let coordinator = coordinator.with_client(client);
    let summary = match coordinator
        .finish_within(args.close_run, Duration::from_secs(args.wait_secs))
        .await
    {
        Ok(summary) => summary,
        Err(error) => return Ok(coord_error(&error)),
    };

    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        OutputFormat::Text => {
            let run = summary
                .run_id
                .map_or_else(|| "no run".to_owned(), |id| format!("run R{id}"));
            println!(
                "uploaded {} of {} submitted results to {run} in {} batches",
                summary.results_uploaded, summary.results_submitted, summary.batches
            );
            if let Some(url) = &summary.run_url {
                println!("  run:        {url}");
            }
            if summary.results_skipped > 0 {
                println!(
                    "  not posted: {} (skipped tests stay Untested)",
                    summary.results_skipped
                );
            }
            if summary.cases_created > 0 {
                println!("  created:    {} cases", summary.cases_created);
            }
            if summary.rejected > 0 {
                println!("  rejected:   {} results", summary.rejected);
            }
            if summary.unmatched > 0 {
                println!("  unmatched:  {} tests", summary.unmatched);
            }
            if summary.run_closed {
                println!("  closed:     yes");
            }
        }
    }
    Ok(if summary.is_complete() {
        exit::SUCCESS
    } else {
        exit::PARTIAL
    })
}

/// Runs `trail run create` and `trail run close`.
pub async fn run(command: RunCommand, file: FileConfig) -> anyhow::Result<u8> {
    match command {
        RunCommand::Create(args) => {
            let client = config::client(&args.connection, &file)?;
            let project = project_of(args.project.as_deref(), &file)?;
            let mut options =
                SyncOptions::new(project, RunTarget::Name(args.run_name.trim().to_owned()));
            options.suite_id = args.suite_id.or(file.suite_id);
            options.run_description = args.run_description.clone();
            let outcome = upload_with(
                &client,
                &[],
                &options,
                "run-create",
                UploadMode::Execute,
                &NoReporter,
            )
            .await;
            let summary = match outcome {
                Ok((summary, _)) => summary,
                Err(error) => return Ok(report_sync_error(&error)),
            };
            let Some(run_id) = summary.run_id else {
                eprintln!("error: TestRail returned no run id");
                return Ok(exit::REJECTED);
            };
            match args.format {
                OutputFormat::Text => println!("{run_id}"),
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "run_id": run_id,
                        "run_url": summary.run_url,
                        "created": summary.run_created,
                    }))?
                ),
            }
            Ok(exit::SUCCESS)
        }
        RunCommand::Close(args) => {
            let client = config::client(&args.connection, &file)?;
            let run_id = match (args.run_id, &args.run_name) {
                (Some(id), _) => id,
                (None, Some(name)) => {
                    let project = project_of(args.project.as_deref(), &file)?;
                    match shard::find_open_run(
                        &client,
                        &project,
                        args.suite_id.or(file.suite_id),
                        name,
                    )
                    .await
                    {
                        Ok(Some(run)) => run.id,
                        Ok(None) => {
                            eprintln!(
                                "error: no open run named `{name}`\nhint: check --run-name and --project, or pass --run-id"
                            );
                            return Ok(exit::CONFIG);
                        }
                        Err(error) => return Ok(report_sync_error(&error)),
                    }
                }
                (None, None) => {
                    anyhow::bail!("missing run\nhint: pass --run-name NAME or --run-id ID")
                }
            };
            match shard::close_run(&client, run_id).await {
                Ok(true) => eprintln!("closed run R{run_id}"),
                Ok(false) => eprintln!("run R{run_id} was already closed"),
                Err(error) => return Ok(report_sync_error(&error)),
            }
            println!("{run_id}");
            Ok(exit::SUCCESS)
        }
    }
}

/// Reads the shard from `--shard` or the CI variables.
pub fn shard_of(flag: Option<Shard>) -> anyhow::Result<Option<Shard>> {
    match flag {
        Some(shard) => Ok(Some(shard)),
        None => Shard::from_env().map_err(|e| {
            anyhow::anyhow!("invalid shard: {e}\nhint: set TRAIL_SHARD to I/N, such as 3/12")
        }),
    }
}

/// Marks a shard done in its run after a successful upload and closes the
/// run when it was the last one; returns true when it closed the run.
pub async fn finish_shard(
    client: &testrail_api::Client,
    run_id: u64,
    shard: Shard,
    close: bool,
) -> Result<bool, SyncError> {
    let progress = shard::mark_done(client, run_id, shard, close).await?;
    if close && !progress.closed {
        eprintln!(
            "shard {shard} done; {} of {} shards done, so the run stays open",
            progress.done.len(),
            progress.total
        );
    }
    Ok(progress.closed)
}

fn read_submitted(files: &[PathBuf]) -> anyhow::Result<Vec<SpooledResult>> {
    if files.is_empty() {
        let mut input = String::new();
        std::io::stdin()
            .lock()
            .read_to_string(&mut input)
            .context("cannot read standard input")?;
        return parse_lines(&input);
    }
    let mut results = Vec::new();
    for path in files {
        if path == Path::new("-") {
            let mut lines = Vec::new();
            for line in std::io::stdin().lock().lines() {
                lines.push(line.context("cannot read standard input")?);
            }
            results.extend(parse_lines(&lines.join("\n"))?);
            continue;
        }
        let reader = trail_reports::read_report(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        for result in reader {
            let result = result.with_context(|| format!("cannot read `{}`", path.display()))?;
            results.push(SpooledResult::from_result(&result));
        }
    }
    Ok(results)
}

/// Reads one JSON result per line; a line may also hold an array.
fn parse_lines(input: &str) -> anyhow::Result<Vec<SpooledResult>> {
    let mut results = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let invalid = |e: serde_json::Error| {
            anyhow::anyhow!(
                "standard input line {}: invalid result ({e})\nhint: send one JSON object per line with at least \"name\" and \"status\"",
                number + 1
            )
        };
        if line.starts_with('[') {
            results.extend(serde_json::from_str::<Vec<SpooledResult>>(line).map_err(invalid)?);
        } else {
            results.push(serde_json::from_str(line).map_err(invalid)?);
        }
    }
    Ok(results)
}

/// Fails when the flusher's host differs from the one the submitters
/// stored.
fn check_host(spool: &Spool, connection: &ConnectionArgs, file: &FileConfig) -> anyhow::Result<()> {
    let Some(stored) = spool.config()?.and_then(|c| c.host) else {
        return Ok(());
    };
    let mine = connection
        .host
        .clone()
        .or_else(|| config::deprecated_env("TESTRAIL_HOST"))
        .or_else(|| file.host.clone());
    match mine {
        Some(mine) if mine.trim_end_matches('/') != stored.trim_end_matches('/') => anyhow::bail!(
            "invalid --host: the spool `{}` holds results for `{stored}`, not `{mine}`\nhint: set TESTRAIL_HOST to the host the workers used",
            spool.root().display()
        ),
        _ => Ok(()),
    }
}

/// Prints a coordination error and returns its exit code.
fn coord_error(error: &CoordError) -> u8 {
    match error {
        CoordError::Sync(error) => report_sync_error(error),
        CoordError::TimedOut { .. } => {
            eprintln!("error: {error}");
            exit::UNREACHABLE
        }
        _ => {
            eprintln!("error: {error}");
            exit::CONFIG
        }
    }
}
