//! `trail report` and `trail resume`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use trail_reports::TestResult;
use trail_sync::{
    AttachmentOptions, CaseUpdates, CommentOptions, JournalStore, NoReporter, ProjectRef,
    ProjectsAsPlan, RunOptions, RunTarget, SectionRef, Summary, SyncError, SyncOptions, UploadMode,
    upload_with,
};

use crate::cli::{ReportArgs, ResumeArgs, UpdateCasesArg, UploadArgs};
use crate::config::{self, FileConfig};
use crate::exit;
use crate::output::{self, ReportErrors};

/// Default spool directory, relative to the working directory.
pub const DEFAULT_SPOOL: &str = ".trail";

/// Runs `trail report` and returns the exit code.
pub async fn report(
    args: ReportArgs,
    file: FileConfig,
    progress: bool,
    quiet: bool,
) -> anyhow::Result<u8> {
    let read_started = std::time::Instant::now();
    let (results, report_errors) = read_reports(&args.files);
    let read_ms = u64::try_from(read_started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if results.is_empty() && !report_errors.is_empty() {
        eprintln!("error: no report could be read, so nothing was sent to TestRail");
        return Ok(exit::REPORT);
    }
    let mut options = sync_options(&args, &file)?;
    let shard = crate::parallel::shard_of(args.shard)?;
    if shard.is_some() {
        // The last shard to finish closes the run, not each one.
        options.close_run = false;
    }
    let client = config::client(&args.connection, &file)?;
    let fingerprint = fingerprint(&args.files, &options)?;

    let mode = if args.dry_run {
        UploadMode::DryRun
    } else {
        UploadMode::Execute
    };
    let reporter = crate::progress::ProgressReporter::new(
        progress && args.format == crate::cli::OutputFormat::Text,
    );
    let outcome = upload_with(&client, &results, &options, &fingerprint, mode, &reporter).await;
    reporter.finish();
    let (mut summary, plan) = match outcome {
        Ok(done) => done,
        Err(error) => {
            write_stats_file(&args.connection, &client, &Summary::default())?;
            return Ok(report_sync_error(&error));
        }
    };
    if let (Some(shard), Some(run_id), false) = (shard, summary.run_id, args.dry_run) {
        match crate::parallel::finish_shard(&client, run_id, shard, args.close_run).await {
            Ok(closed) => summary.run_closed = closed,
            Err(error) => return Ok(report_sync_error(&error)),
        }
    }
    summary.timings.read_ms = read_ms;
    write_stats_file(&args.connection, &client, &summary)?;
    if !args.dry_run && !quiet && args.format == crate::cli::OutputFormat::Text {
        eprintln!("{}", crate::stats::cost_line(&client.stats(), &summary));
    }

    output::print_warnings(&summary.warnings);
    if args.dry_run {
        output::print_plan(&plan, &summary, args.format);
    } else {
        output::print_summary(&summary, &report_errors, args.format);
    }
    Ok(exit_code(&summary, &report_errors))
}

/// Runs `trail resume` and returns the exit code.
pub async fn resume(args: ResumeArgs, file: FileConfig) -> anyhow::Result<u8> {
    let spool = spool_dir(args.spool.as_ref(), &file);
    let client = config::client(&args.connection, &file)?;
    let store = JournalStore::open(&spool)?;
    let mut options = SyncOptions::new(ProjectRef::Id(0), RunTarget::Id(0));
    options.spool_dir = Some(spool.clone());

    let summaries = match trail_sync::resume(&client, &store, &options, &NoReporter).await {
        Ok(summaries) => summaries,
        Err(error) => return Ok(report_sync_error(&error)),
    };
    if summaries.is_empty() {
        eprintln!(
            "nothing to resume: `{}` holds no unfinished upload",
            spool.display()
        );
        return Ok(exit::SUCCESS);
    }
    let mut code = exit::SUCCESS;
    for summary in &summaries {
        output::print_summary(summary, &Vec::new(), args.format);
        code = code.max(exit_code(summary, &Vec::new()));
    }
    Ok(code)
}

fn write_stats_file(
    connection: &crate::cli::ConnectionArgs,
    client: &testrail_api::Client,
    summary: &Summary,
) -> anyhow::Result<()> {
    match &connection.stats {
        Some(path) => crate::stats::write_stats(path, &client.stats(), summary),
        None => Ok(()),
    }
}

/// Picks the spool directory from the flag, the environment, the config
/// file or the default.
pub fn spool_dir(flag: Option<&PathBuf>, file: &FileConfig) -> PathBuf {
    flag.cloned()
        .or_else(|| config::deprecated_env("TRAIL_SPOOL").map(PathBuf::from))
        .or_else(|| file.spool.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SPOOL))
}

/// Reads every report; files that fail are listed, not fatal, so the others
/// still upload.
pub fn read_reports(files: &[PathBuf]) -> (Vec<TestResult>, ReportErrors) {
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        match read_one(path) {
            Ok(mut read) => results.append(&mut read),
            Err(error) => {
                eprintln!("error: {error}");
                errors.push(error.to_string());
            }
        }
    }
    (results, errors)
}

fn read_one(path: &Path) -> Result<Vec<TestResult>, trail_reports::ReadError> {
    let mut results = Vec::new();
    for result in trail_reports::read_report(path)? {
        let mut result = result?;
        // Captured output is not uploaded, and it can be the largest part
        // of a result, so it is dropped as soon as the result is read.
        result.stdout = None;
        result.stderr = None;
        results.push(result);
    }
    results.shrink_to_fit();
    Ok(results)
}

fn sync_options(args: &ReportArgs, file: &FileConfig) -> anyhow::Result<SyncOptions> {
    let mut options = upload_options(&args.upload, file, args.batch_size as usize)?;
    options.close_run = args.close_run;
    options.concurrency = args.connection.concurrency as usize;
    options.update_cases = match args.update_cases {
        UpdateCasesArg::Never => CaseUpdates::Never,
        UpdateCasesArg::Changed => CaseUpdates::Changed,
    };
    options.platform = args.platform.clone();
    options.result_fields = args.result_fields.clone();
    options.attachments = AttachmentOptions {
        enabled: !args.no_attachments,
        max_bytes: args.attachment_max_mb.saturating_mul(1024 * 1024),
        allow_outside: args.allow_attachments_outside,
    };
    options.run_options = RunOptions {
        reset: args.reset,
        milestone: args.milestone.clone(),
        refs: args.refs.clone(),
        assign_to: args.assign_to.clone(),
        include_all: args.include_all,
        assign_failed: args
            .assign_failed
            .iter()
            .map(|email| email.trim().to_owned())
            .filter(|email| !email.is_empty())
            .collect(),
    };
    if args.projects_as_plan {
        let config_group = args.config_group.trim();
        if config_group.is_empty() {
            anyhow::bail!(
                "invalid --config-group: the name is empty\nhint: pass a name such as `Browser`"
            );
        }
        options.projects_as_plan = Some(ProjectsAsPlan {
            config_group: config_group.to_owned(),
        });
    }
    options.spool_dir = Some(spool_dir(args.spool.as_ref(), file));
    Ok(options)
}

/// Hashes the report files and the options, so that rerunning the same
/// command finds its unfinished journal.
fn fingerprint(files: &[PathBuf], options: &SyncOptions) -> anyhow::Result<String> {
    let mut hash = Fnv64::default();
    hash.write(&serde_json::to_vec(options)?);
    let mut buffer = vec![0u8; 1 << 16];
    for path in files {
        hash.write(path.to_string_lossy().as_bytes());
        let Ok(mut file) = std::fs::File::open(path) else {
            continue;
        };
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hash.write(&buffer[..read]);
        }
    }
    Ok(format!("{:016x}", hash.0))
}

/// FNV-1a, 64 bits: stable across builds, unlike the standard hasher.
struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn exit_code(summary: &Summary, report_errors: &ReportErrors) -> u8 {
    if !report_errors.is_empty() {
        exit::REPORT
    } else if summary.is_complete() {
        exit::SUCCESS
    } else {
        exit::PARTIAL
    }
}

/// Prints a failed upload's error and returns its exit code.
pub fn report_sync_error(error: &SyncError) -> u8 {
    eprintln!("error: {error}");
    match error {
        SyncError::Config { .. } => exit::CONFIG,
        SyncError::Report(_) => exit::REPORT,
        SyncError::Interrupted { .. } => exit::UNREACHABLE,
        SyncError::Api { source, .. } if source.status().is_none() || source.is_retryable() => {
            exit::UNREACHABLE
        }
        SyncError::Api { .. } => exit::REJECTED,
        SyncError::Journal { .. } => exit::CONFIG,
        _ => exit::REJECTED,
    }
}

/// Builds the upload options that `trail report` and `trail submit` share.
pub fn upload_options(
    args: &UploadArgs,
    file: &FileConfig,
    batch_size: usize,
) -> anyhow::Result<SyncOptions> {
    let project = project_of(args.project.as_deref(), file)?;
    let run = match (&args.run_id, &args.run_name) {
        (Some(id), _) => RunTarget::Id(*id),
        (None, Some(name)) if !name.trim().is_empty() => RunTarget::Name(name.trim().to_owned()),
        _ => anyhow::bail!("missing run\nhint: pass --run-name NAME or --run-id ID"),
    };
    let mut options = SyncOptions::new(project, run);
    options.suite_id = args.suite_id.or(file.suite_id);
    options.section = args
        .section
        .as_deref()
        .or(file.section.as_deref())
        .map(SectionRef::parse);
    options.run_description = args.run_description.clone();
    options.create_cases = !args.no_create;
    options.batch_size = batch_size;
    options.status_overrides = args.statuses.clone();
    options.comment = CommentOptions {
        prefix: args
            .executed_by
            .clone()
            .or_else(|| config::deprecated_env("TRAIL_EXECUTED_BY")),
        stack_lines: args.stack_lines,
        ..CommentOptions::default()
    };
    options.version = args.build_version.clone();
    Ok(options)
}

/// Resolves the project from the flag, the environment or the config file.
pub fn project_of(flag: Option<&str>, file: &FileConfig) -> anyhow::Result<ProjectRef> {
    let project = flag
        .map(str::to_owned)
        .or_else(|| config::deprecated_env("TESTRAIL_PROJECT"))
        .or_else(|| file.project.clone())
        .context("missing project\nhint: pass --project NAME_OR_ID or set TESTRAIL_PROJECT")?;
    Ok(ProjectRef::parse(&project))
}
