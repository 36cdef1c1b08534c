//! One upload from results to summary: match, plan, execute.

use std::collections::BTreeMap;
use std::time::Instant;

use testrail_api::Client;
use tracing::info;
use trail_reports::TestResult;

use crate::cache::MetadataCache;
use crate::context::Context;
use crate::error::SyncError;
use crate::execute::{ExecuteOptions, Executor};
use crate::journal::{Journal, JournalStore};
use crate::options::SyncOptions;
use crate::plan::{PlannedRun, SyncPlan, build_plan};
use crate::reporter::{Event, Phase, Reporter};
use crate::status::StatusMap;
use crate::summary::{PhaseTimings, PlanRunSummary, PlanSummary, Summary};

/// Whether an upload sends its plan or only shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// Plan and send.
    Execute,
    /// Plan only: no request that changes TestRail is sent.
    DryRun,
}

/// Matches, plans and uploads results, resuming an unfinished upload of
/// the same inputs when the spool contains one.
///
/// `fingerprint` identifies the inputs, such as a hash of the report files
/// and the options, so that rerunning the same command resumes.
pub async fn upload(
    client: &Client,
    results: &[TestResult],
    options: &SyncOptions,
    fingerprint: &str,
    reporter: &dyn Reporter,
) -> Result<Summary, SyncError> {
    upload_with(
        client,
        results,
        options,
        fingerprint,
        UploadMode::Execute,
        reporter,
    )
    .await
    .map(|(summary, _)| summary)
}

/// A client with the metadata cache that its uploads share.
///
/// A process that uploads many times, such as the spool flusher, keeps one
/// session so that statuses, fields and projects are read once.
#[derive(Clone, Debug)]
pub struct Session {
    /// TestRail client.
    pub client: Client,
    /// Metadata shared by the session's uploads.
    pub cache: MetadataCache,
}

impl Session {
    /// Starts a session with an empty cache.
    pub fn new(client: Client) -> Session {
        Session {
            client,
            cache: MetadataCache::new(),
        }
    }
}

/// Same as [`upload`], and also returns the plan; with
/// [`UploadMode::DryRun`] nothing is sent.
pub async fn upload_with(
    client: &Client,
    results: &[TestResult],
    options: &SyncOptions,
    fingerprint: &str,
    mode: UploadMode,
    reporter: &dyn Reporter,
) -> Result<(Summary, SyncPlan), SyncError> {
    let session = Session::new(client.clone());
    upload_in(&session, results, options, fingerprint, mode, reporter).await
}

/// Same as [`upload_with`], within a session whose metadata cache outlives
/// the upload.
pub async fn upload_in(
    session: &Session,
    results: &[TestResult],
    options: &SyncOptions,
    fingerprint: &str,
    mode: UploadMode,
    reporter: &dyn Reporter,
) -> Result<(Summary, SyncPlan), SyncError> {
    let client = &session.client;
    let cache = &session.cache;
    let store = match &options.spool_dir {
        Some(dir) if mode == UploadMode::Execute => Some(JournalStore::open(dir)?),
        _ => None,
    };
    let execute_options = ExecuteOptions {
        batch_size: options.batch_size,
        concurrency: options.concurrency,
    };

    if let Some(store) = &store
        && let Some(journal) = store.load(fingerprint)?
    {
        info!(
            fingerprint,
            done = journal.results_uploaded(),
            "resuming an unfinished upload of the same inputs"
        );
        reporter.event(Event::Resumed {
            results_done: journal.results_uploaded(),
        });
        let statuses = StatusMap::resolve(
            &cache
                .get_or_fetch("get_statuses", client.get_statuses())
                .await
                .map_err(|e| SyncError::api("reading statuses", e))?,
            &options.status_overrides,
        )?;
        let started = Instant::now();
        let mut journal = Executor::new(client, Some(store), journal, execute_options, reporter)
            .run()
            .await?;
        let mut summary = summary_of(&journal, &statuses);
        let plan = std::mem::take(&mut journal.plan);
        summary.timings.execute_ms = elapsed_ms(started);
        summary.cache = cache.stats();
        return Ok((summary, plan));
    }

    reporter.event(Event::Phase(Phase::Match));
    let mut timings = PhaseTimings::default();
    let started = Instant::now();
    let mut context =
        Context::load_for(client, options, cache, needs_cases(results, options)).await?;
    timings.match_ms = elapsed_ms(started);
    let statuses = StatusMap::resolve(&context.statuses, &options.status_overrides)?;

    reporter.event(Event::Phase(Phase::Plan));
    let started = Instant::now();
    let mut plan = build_plan(results, &context, options, &statuses)?;
    if plan.needs_metadata.any() {
        let needs = plan.needs_metadata;
        // The first plan only told which metadata is missing; dropping it
        // before planning again keeps one plan in memory, not two.
        drop(plan);
        context.load_metadata(client, needs).await?;
        plan = build_plan(results, &context, options, &statuses)?;
    }
    timings.plan_ms = elapsed_ms(started);
    reporter.event(Event::Planned {
        results: plan.results.len(),
        cases: plan.cases.len(),
    });

    if mode == UploadMode::DryRun {
        let mut summary = Summary {
            project_id: plan.project_id,
            tests_read: plan.tests_read,
            sections_created: plan.sections.len(),
            cases_created: plan.cases.len(),
            results_uploaded: plan.results.len(),
            results_skipped: plan.not_posted,
            by_status: plan.results_by_status(&statuses),
            unmatched: plan.unmatched.clone(),
            cases_updated: plan.updates.len(),
            attachments_uploaded: plan.attachment_count(),
            warnings: plan.warnings.clone(),
            dry_run: true,
            timings,
            cache: cache.stats(),
            plan: plan_summary(&plan, None, &statuses),
            ..Summary::default()
        };
        if let crate::plan::PlannedRun::Existing { id } = plan.run {
            summary.run_id = Some(id);
        }
        return Ok((summary, plan));
    }

    reporter.event(Event::Phase(Phase::Execute));
    let journal = Journal::new(fingerprint.to_owned(), plan);
    if let Some(store) = &store {
        store.create(&journal)?;
    }
    let started = Instant::now();
    let mut journal = Executor::new(client, store.as_ref(), journal, execute_options, reporter)
        .with_open_runs(context.open_runs.take())
        .run()
        .await?;
    timings.execute_ms = elapsed_ms(started);
    let mut summary = summary_of(&journal, &statuses);
    let plan = std::mem::take(&mut journal.plan);
    summary.timings = timings;
    summary.cache = cache.stats();
    Ok((summary, plan))
}

/// Returns false when every result names its case by id and no field of
/// those cases is managed, so the suite's cases need not be read.
fn needs_cases(results: &[TestResult], options: &SyncOptions) -> bool {
    let all_explicit = results
        .iter()
        .all(|r| !crate::matching::explicit_case_ids(r).is_empty());
    if !all_explicit || results.is_empty() {
        return true;
    }
    options.update_cases == crate::options::CaseUpdates::Changed
        && (options.platform.is_some() || results.iter().any(crate::fields::needs_type_metadata))
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Finishes every unfinished upload in the spool directory.
pub async fn resume(
    client: &Client,
    store: &JournalStore,
    options: &SyncOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<Summary>, SyncError> {
    let statuses = StatusMap::resolve(
        &client
            .get_statuses()
            .await
            .map_err(|e| SyncError::api("reading statuses", e))?,
        &options.status_overrides,
    )?;
    let mut summaries = Vec::new();
    for journal in store.list()? {
        reporter.event(Event::Resumed {
            results_done: journal.results_uploaded(),
        });
        let execute_options = ExecuteOptions {
            batch_size: options.batch_size,
            concurrency: options.concurrency,
        };
        let path = store.path_for(&journal.fingerprint);
        let journal = Executor::new(client, Some(store), journal, execute_options, reporter)
            .run()
            .await
            .map_err(|error| match error {
                SyncError::Interrupted { .. } => error,
                other => SyncError::Unresumable {
                    path,
                    source: Box::new(other),
                },
            })?;
        summaries.push(summary_of(&journal, &statuses));
    }
    Ok(summaries)
}

/// Summarizes the test plan of `plan`, counting the results `journal`
/// stored, or every planned result when there is no journal.
fn plan_summary(
    plan: &SyncPlan,
    journal: Option<&Journal>,
    statuses: &StatusMap,
) -> Option<PlanSummary> {
    let PlannedRun::Plan {
        name,
        config_group,
        runs,
        ..
    } = &plan.run
    else {
        return None;
    };
    let progress = journal.map(|j| &j.test_plan);
    let mut summary = PlanSummary {
        id: progress.and_then(|p| p.plan_id),
        name: name.clone(),
        url: progress.and_then(|p| p.plan_url.clone()),
        created: progress.is_some_and(|p| p.plan_created),
        config_group: config_group.clone(),
        runs: Vec::with_capacity(runs.len()),
    };
    for (index, run) in runs.iter().enumerate() {
        let mut by_status = BTreeMap::new();
        for (result_index, result) in plan.results.iter().enumerate() {
            let stored = journal.is_none_or(|j| j.results_done[result_index]);
            if result.run == index && stored {
                *by_status
                    .entry(statuses.name_of(result.status_id))
                    .or_insert(0) += 1;
            }
        }
        summary.runs.push(PlanRunSummary {
            config: run.config.clone(),
            run_id: progress.and_then(|p| p.run_ids.get(index).copied().flatten()),
            url: progress.and_then(|p| p.run_urls.get(index).cloned().flatten()),
            cases: run.cases.len(),
            results_uploaded: by_status.values().sum(),
            by_status,
        });
    }
    Some(summary)
}

fn summary_of(journal: &Journal, statuses: &StatusMap) -> Summary {
    let plan = &journal.plan;
    let mut by_status = BTreeMap::new();
    for (index, result) in plan.results.iter().enumerate() {
        if journal.results_done[index] {
            *by_status
                .entry(statuses.name_of(result.status_id))
                .or_insert(0) += 1;
        }
    }
    Summary {
        project_id: plan.project_id,
        run_id: journal.run_id,
        run_url: journal.run_url.clone(),
        run_created: journal.run_created,
        run_closed: journal.closed,
        tests_read: plan.tests_read,
        sections_created: journal.sections.iter().filter(|s| s.is_some()).count(),
        cases_created: journal.cases.iter().filter(|c| c.is_some()).count(),
        cases_updated: journal.updates_done.len(),
        attachments_uploaded: journal.attachments_uploaded,
        warnings: plan.warnings.clone(),
        results_uploaded: journal.results_uploaded(),
        results_skipped: plan.not_posted,
        by_status,
        unmatched: plan.unmatched.clone(),
        rejected: journal.rejected.clone(),
        errors: journal.rejected_writes.clone(),
        dry_run: false,
        plan: plan_summary(plan, Some(journal), statuses),
        ..Summary::default()
    }
}
