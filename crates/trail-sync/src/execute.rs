//! Runs a plan against TestRail, journaling every step.
//!
//! Creating requests (`add_section`, `add_case`, `add_run`, `add_plan` and
//! the others of [`test_plan`], `add_results_for_cases`) are never sent twice
//! blindly. When one may have been applied without a response, the executor
//! reads TestRail's state and
//! sends only what is missing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use futures_util::StreamExt;
use futures_util::stream;
use serde_json::{Map, Value};
use testrail_api::models::{CaseFilter, NewResult, NewRun, NewSection, RunUpdate};
use testrail_api::{Client, Error as ApiError};
use tracing::{debug, info, warn};

use crate::error::SyncError;
use crate::journal::{Journal, JournalStore, PendingStep};
use crate::matching::normalized_title;
use crate::plan::{CaseTarget, PlannedRun, SectionTarget};
use crate::reporter::{Event, Reporter};
use crate::summary::Rejected;

mod attachment_uploads;
mod case_updates;
mod races;
mod run_fields;
mod test_plan;

/// Seconds by which TestRail's clock may lag trail's when results created by
/// this upload are distinguished from older ones.
const CLOCK_SKEW_SECS: i64 = 10;

/// How many times a batch whose fate was unknown is reconciled and resent.
const MAX_RECONCILE_ROUNDS: usize = 10;

/// How many times a creating request whose fate was unknown, and that the
/// state shows was not applied, is sent.
const MAX_CREATE_ATTEMPTS: usize = 5;

/// Settings of an execution.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Results per `add_results_for_cases` request.
    pub batch_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// Runs a plan to the end, or stops with its progress saved.
pub struct Executor<'a> {
    client: &'a Client,
    store: Option<&'a JournalStore>,
    journal: Mutex<Journal>,
    options: ExecuteOptions,
    reporter: &'a dyn Reporter,
    races: races::RaceState,
    open_runs: Mutex<Option<Vec<testrail_api::models::Run>>>,
}

impl<'a> Executor<'a> {
    /// Prepares to run the plan in `journal`.
    pub fn new(
        client: &'a Client,
        store: Option<&'a JournalStore>,
        journal: Journal,
        options: ExecuteOptions,
        reporter: &'a dyn Reporter,
    ) -> Executor<'a> {
        Executor {
            client,
            store,
            journal: Mutex::new(journal),
            options,
            reporter,
            races: races::RaceState::default(),
            open_runs: Mutex::new(None),
        }
    }

    /// Hands over the project's open runs, read while the plan was built,
    /// so the first lookup of the run by name costs no request. Later
    /// lookups, which settle races, always read TestRail again.
    pub fn with_open_runs(self, runs: Option<Vec<testrail_api::models::Run>>) -> Executor<'a> {
        *self.open_runs.lock().expect("open runs lock") = runs;
        self
    }

    /// Executes every remaining step and returns the final journal.
    pub async fn run(self) -> Result<Journal, SyncError> {
        match self.run_steps().await {
            Ok(()) => {
                let journal = self.journal.into_inner().expect("journal lock");
                if let Some(store) = self.store {
                    store.remove(&journal.fingerprint)?;
                }
                Ok(journal)
            }
            Err(error) => {
                self.save()?;
                match (self.store, error) {
                    (Some(store), SyncError::Api { context, source }) if is_transient(&source) => {
                        Err(SyncError::Interrupted {
                            message: format!("{context}: {source}"),
                            spool: store.spool(),
                        })
                    }
                    (Some(store), error) => {
                        // A failure that a retry cannot fix, before any result
                        // went out, leaves nothing to resume: a rerun plans
                        // afresh and finds what this one created. Keeping the
                        // journal would make every resume fail the same way.
                        let nothing_sent = self.with_journal(|j| {
                            !j.results_done.iter().any(|done| *done)
                                && !j.results_in_flight.iter().any(|sent| *sent)
                        });
                        if nothing_sent {
                            let fingerprint = self.with_journal(|j| j.fingerprint.clone());
                            store.remove(&fingerprint)?;
                        }
                        Err(error)
                    }
                    (None, error) => Err(error),
                }
            }
        }
    }

    async fn run_steps(&self) -> Result<(), SyncError> {
        self.reconcile_pending().await?;
        // A run given by id is checked first, so that a closed or unknown
        // run stops the upload before any section or case is created.
        if let (PlannedRun::Existing { id }, None) =
            self.with_journal(|j| (j.plan.run.clone(), j.run_id))
        {
            self.use_existing_run(id).await?;
        }
        self.create_sections().await?;
        self.create_cases().await?;
        self.resolve_case_duplicates().await?;
        self.update_cases().await?;
        // A plan that matched no case has nothing to put in a run, so no
        // run is created or touched.
        if self.with_journal(|j| j.plan.run_cases.is_empty() && j.plan.results.is_empty()) {
            return Ok(());
        }
        self.prepare_run().await?;
        self.upload_results().await?;
        self.repair_dropped_cases().await?;
        self.upload_attachments().await?;
        self.close_run().await?;
        Ok(())
    }

    fn save(&self) -> Result<(), SyncError> {
        match self.store {
            Some(store) => store.save(&self.journal.lock().expect("journal lock")),
            None => Ok(()),
        }
    }

    fn with_journal<T>(&self, change: impl FnOnce(&mut Journal) -> T) -> T {
        change(&mut self.journal.lock().expect("journal lock"))
    }

    fn section_id(&self, target: SectionTarget) -> Option<u64> {
        match target {
            SectionTarget::Existing(id) => Some(id),
            SectionTarget::Planned(index) => self.with_journal(|j| j.sections[index]),
        }
    }

    fn case_id(&self, target: CaseTarget) -> Option<u64> {
        match target {
            CaseTarget::Existing(id) => Some(id),
            CaseTarget::Planned(index) => self.with_journal(|j| j.cases[index]),
        }
    }

    /// Settles creating requests that an earlier execution sent without
    /// receiving the response.
    async fn reconcile_pending(&self) -> Result<(), SyncError> {
        let pending = self.with_journal(|j| std::mem::take(&mut j.pending));
        for step in pending {
            match step {
                PendingStep::Section(index) => self.reconcile_section(index).await?,
                PendingStep::Case(index) => self.reconcile_case(index).await?,
                PendingStep::Run => self.reconcile_run().await?,
                PendingStep::Plan => {
                    self.reconcile_plan().await?;
                }
                // Configurations and plan entries are always read before
                // they are created, so the next step finds a lost creation.
                PendingStep::ConfigGroup | PendingStep::Config(_) | PendingStep::PlanEntry => {}
            }
        }
        self.save()
    }

    /// Creates the planned sections level by level, parents first, and
    /// settles races with one read of the suite's sections per level.
    async fn create_sections(&self) -> Result<(), SyncError> {
        let levels = self.with_journal(|j| section_levels(&j.plan.sections));
        for level in levels {
            let mut created = Vec::new();
            for index in level {
                if self.with_journal(|j| j.sections[index].is_some()) {
                    continue;
                }
                self.create_section(index).await?;
                created.push(index);
            }
            self.resolve_section_duplicates(&created).await?;
            for index in created {
                self.clear_pending(&PendingStep::Section(index))?;
            }
        }
        Ok(())
    }

    async fn create_section(&self, index: usize) -> Result<(), SyncError> {
        let (suite_id, project_id) = self.with_journal(|j| (j.plan.suite_id, j.plan.project_id));
        let planned = self.with_journal(|j| j.plan.sections[index].clone());
        let mut body = NewSection::new(&planned.name);
        body.suite_id = Some(suite_id);
        body.parent_id = planned.parent.and_then(|p| self.section_id(p));

        self.mark_pending(PendingStep::Section(index))?;
        for attempt in 1..=MAX_CREATE_ATTEMPTS {
            match self.client.add_section(project_id, &body).await {
                Ok(section) => {
                    debug!(section_id = section.id, name = %planned.name, "created section");
                    self.with_journal(|j| j.sections[index] = Some(section.id));
                    self.races.created_section(section.id);
                    return Ok(());
                }
                Err(error) if error.maybe_applied() && attempt < MAX_CREATE_ATTEMPTS => {
                    debug!(name = %planned.name, %error, "add_section may have been applied; checking");
                    self.reconcile_section(index).await?;
                    if self.with_journal(|j| j.sections[index].is_some()) {
                        return Ok(());
                    }
                }
                Err(error) => {
                    return Err(SyncError::api(
                        format!("creating section `{}`", planned.name),
                        error,
                    ));
                }
            }
        }
        Ok(())
    }

    async fn reconcile_section(&self, index: usize) -> Result<(), SyncError> {
        let (planned, suite_id, project_id) = self.with_journal(|j| {
            (
                j.plan.sections[index].clone(),
                j.plan.suite_id,
                j.plan.project_id,
            )
        });
        let parent = planned.parent.and_then(|p| self.section_id(p));
        let sections = self
            .client
            .get_sections(project_id, Some(suite_id))
            .await
            .map_err(|e| {
                SyncError::api("reading sections to check an unanswered add_section", e)
            })?;
        if let Some(found) = lowest_section_id(&sections, &planned.name, parent) {
            info!(section_id = found, name = %planned.name, "found section created by an unanswered request");
            self.with_journal(|j| j.sections[index] = Some(found));
        }
        Ok(())
    }

    async fn create_cases(&self) -> Result<(), SyncError> {
        let mut missing: Vec<usize> = self.with_journal(|j| {
            (0..j.plan.cases.len())
                .filter(|i| j.cases[*i].is_none())
                .collect()
        });
        if missing.is_empty() {
            return Ok(());
        }
        // Case ids are journaled in bulk, not one by one, so a resumed upload
        // first looks for the cases that an earlier execution created.
        if self.with_journal(|j| j.resumed) {
            self.reconcile_cases(&missing).await?;
            missing.retain(|index| self.with_journal(|j| j.cases[*index].is_none()));
        }
        let outcomes: Vec<Result<(), SyncError>> = stream::iter(missing)
            .map(|index| self.create_case(index))
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;
        self.save()?;
        outcomes.into_iter().collect()
    }

    async fn create_case(&self, index: usize) -> Result<(), SyncError> {
        let planned = self.with_journal(|j| j.plan.cases[index].clone());
        let Some(section_id) = self.section_id(planned.section) else {
            return Err(SyncError::Config {
                setting: "plan".into(),
                message: format!("the section of case `{}` was not created", planned.title),
                hint: "rerun the upload".into(),
            });
        };

        for attempt in 1..=MAX_CREATE_ATTEMPTS {
            match self.client.add_case(section_id, &planned.fields).await {
                Ok(case) => {
                    debug!(case_id = case.id, title = %planned.title, "created case");
                    self.with_journal(|j| j.cases[index] = Some(case.id));
                    self.races.created_case(case.id);
                    self.reporter.event(Event::CaseCreated {
                        case_id: case.id,
                        title: planned.title.clone(),
                    });
                    break;
                }
                Err(error) if error.maybe_applied() && attempt < MAX_CREATE_ATTEMPTS => {
                    debug!(title = %planned.title, %error, "add_case may have been applied; checking");
                    self.reconcile_case(index).await?;
                    if self.with_journal(|j| j.cases[index].is_some()) {
                        break;
                    }
                }
                Err(error) => {
                    return Err(SyncError::api(
                        format!("creating case `{}`", planned.title),
                        error,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Finds cases that an earlier execution created, with one read of the
    /// suite's cases.
    async fn reconcile_cases(&self, indices: &[usize]) -> Result<(), SyncError> {
        let (suite_id, project_id) = self.with_journal(|j| (j.plan.suite_id, j.plan.project_id));
        let filter = CaseFilter {
            suite_id: Some(suite_id),
            ..CaseFilter::default()
        };
        let cases = self
            .client
            .get_cases(project_id, &filter)
            .await
            .map_err(|e| SyncError::api("reading cases to resume an upload", e))?;

        let mut by_automation: HashMap<(u64, String), u64> = HashMap::new();
        let mut by_title: HashMap<(u64, String), u64> = HashMap::new();
        for case in &cases {
            let section = case.section_id.unwrap_or(0);
            if let Some(id) = case
                .extra
                .get(crate::context::AUTOMATION_ID_FIELD)
                .and_then(Value::as_str)
            {
                by_automation
                    .entry((section, id.to_owned()))
                    .or_insert(case.id);
            }
            by_title
                .entry((section, normalized_title(&case.title)))
                .or_insert(case.id);
        }

        let mut found = 0;
        for index in indices {
            let planned = self.with_journal(|j| j.plan.cases[*index].clone());
            let Some(section_id) = self.section_id(planned.section) else {
                continue;
            };
            let automation = planned
                .fields
                .get(crate::context::AUTOMATION_ID_FIELD)
                .and_then(Value::as_str);
            let id = match automation {
                Some(automation) => by_automation.get(&(section_id, automation.to_owned())),
                None => by_title.get(&(section_id, normalized_title(&planned.title))),
            };
            if let Some(id) = id {
                found += 1;
                self.with_journal(|j| j.cases[*index] = Some(*id));
            }
        }
        info!(
            checked = indices.len(),
            found, "looked for cases created before the upload was interrupted"
        );
        self.save()
    }

    async fn reconcile_case(&self, index: usize) -> Result<(), SyncError> {
        let (planned, suite_id, project_id) = self.with_journal(|j| {
            (
                j.plan.cases[index].clone(),
                j.plan.suite_id,
                j.plan.project_id,
            )
        });
        let Some(section_id) = self.section_id(planned.section) else {
            return Ok(());
        };
        let filter = CaseFilter {
            suite_id: Some(suite_id),
            section_id: Some(section_id),
            ..CaseFilter::default()
        };
        let cases = self
            .client
            .get_cases(project_id, &filter)
            .await
            .map_err(|e| SyncError::api("reading cases to check an unanswered add_case", e))?;

        let automation = planned
            .fields
            .get(crate::context::AUTOMATION_ID_FIELD)
            .and_then(Value::as_str);
        let title = normalized_title(&planned.title);
        let found = cases
            .iter()
            .filter(|c| c.section_id == Some(section_id))
            .filter(|c| match automation {
                Some(id) => {
                    c.extra
                        .get(crate::context::AUTOMATION_ID_FIELD)
                        .and_then(Value::as_str)
                        == Some(id)
                }
                None => normalized_title(&c.title) == title,
            })
            .map(|c| c.id)
            .max();
        if let Some(found) = found {
            info!(case_id = found, title = %planned.title, "found case created by an unanswered request");
            self.with_journal(|j| j.cases[index] = Some(found));
        }
        Ok(())
    }

    fn planned_case_ids(&self) -> Result<Vec<u64>, SyncError> {
        let targets = self.with_journal(|j| j.plan.run_cases.clone());
        let rejected: HashSet<u64> =
            self.with_journal(|j| j.rejected.iter().map(|r| r.case_id).collect());
        let mut ids = Vec::with_capacity(targets.len());
        for target in targets {
            match self.case_id(target) {
                Some(id) if rejected.contains(&id) => {}
                Some(id) => ids.push(id),
                None => {
                    return Err(SyncError::Config {
                        setting: "plan".into(),
                        message: "a planned case was not created".into(),
                        hint: "rerun the upload to finish it".into(),
                    });
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Reads the suite's cases and rejects the results of planned cases
    /// that are not among them; returns true when it found any.
    ///
    /// Uploads whose tests all name their case by id skip reading the
    /// suite, so an unknown id first shows up as a rejected case list.
    async fn reject_unknown_cases(&self) -> Result<bool, SyncError> {
        let (project_id, suite_id, project_name) = self.with_journal(|j| {
            (
                j.plan.project_id,
                j.plan.suite_id,
                j.plan.project_name.clone(),
            )
        });
        let filter = CaseFilter {
            suite_id: Some(suite_id),
            ..CaseFilter::default()
        };
        let known: HashSet<u64> = self
            .client
            .get_cases(project_id, &filter)
            .await
            .map_err(|e| SyncError::api("reading cases to check the case ids of the run", e))?
            .iter()
            .map(|c| c.id)
            .collect();
        let unknown: Vec<u64> = self
            .planned_case_ids()?
            .into_iter()
            .filter(|id| !known.contains(id))
            .collect();
        if unknown.is_empty() {
            return Ok(false);
        }

        self.with_journal(|j| {
            for case_id in &unknown {
                let tests: Vec<String> = j
                    .plan
                    .results
                    .iter()
                    .filter(|r| r.case == CaseTarget::Existing(*case_id))
                    .flat_map(|r| r.tests.clone())
                    .collect();
                let reason = format!(
                    "case C{case_id} is not in suite {suite_id} of project `{project_name}`"
                );
                warn!(case_id, %reason, "rejecting the results of an unknown case");
                j.rejected.push(Rejected {
                    case_id: *case_id,
                    tests,
                    reason,
                });
            }
        });
        self.save()?;
        Ok(true)
    }

    /// Checks that a run given by id exists and is open, and records it.
    async fn use_existing_run(&self, id: u64) -> Result<(), SyncError> {
        let run = self
            .client
            .get_run(id)
            .await
            .map_err(|e| SyncError::api(format!("reading run {id}"), e))?;
        if run.is_completed {
            return Err(SyncError::Config {
                setting: "--run-id".into(),
                message: format!("run {id} is closed and accepts no results"),
                hint: "pass --run-name to find or create an open run".into(),
            });
        }
        self.with_journal(|j| {
            j.run_id = Some(run.id);
            j.run_url = run.url.clone();
        });
        Ok(())
    }

    async fn prepare_run(&self) -> Result<(), SyncError> {
        if self.is_test_plan() {
            return self.prepare_test_plan().await;
        }
        if self.with_journal(|j| j.run_id.is_none()) {
            let run = self.with_journal(|j| j.plan.run.clone());
            match run {
                PlannedRun::Existing { id } => self.use_existing_run(id).await?,
                PlannedRun::ByName {
                    name,
                    description,
                    reset,
                } => {
                    if reset || !self.find_run_by_name(&name).await? {
                        self.create_run(&name, description).await?;
                    }
                }
                PlannedRun::Plan { .. } => unreachable!("test plans are prepared above"),
            }
            self.save()?;
        }
        if self.with_journal(|j| !j.run_cases_done) {
            self.add_cases_to_run().await?;
            self.with_journal(|j| j.run_cases_done = true);
            self.save()?;
        }
        Ok(())
    }

    async fn find_run_by_name(&self, name: &str) -> Result<bool, SyncError> {
        let (project_id, suite_id) = self.with_journal(|j| (j.plan.project_id, j.plan.suite_id));
        let filter = testrail_api::models::RunFilter {
            is_completed: Some(false),
            suite_id: Some(suite_id),
            ..Default::default()
        };
        let prefetched = self.open_runs.lock().expect("open runs lock").take();
        let runs = match prefetched {
            Some(runs) => runs,
            None => self
                .client
                .get_runs(project_id, &filter)
                .await
                .map_err(|e| SyncError::api("reading open runs", e))?,
        };
        let found = runs
            .iter()
            .filter(|r| {
                r.name == name && !r.is_completed && r.suite_id.is_none_or(|s| s == suite_id)
            })
            .min_by_key(|r| r.id);
        if let Some(run) = found {
            info!(run_id = run.id, name, "using open run");
            self.with_journal(|j| {
                j.run_id = Some(run.id);
                j.run_url = run.url.clone();
            });
            return Ok(true);
        }
        Ok(false)
    }

    async fn create_run(&self, name: &str, description: Option<String>) -> Result<(), SyncError> {
        let case_ids = self.planned_case_ids()?;
        let (project_id, suite_id) = self.with_journal(|j| (j.plan.project_id, j.plan.suite_id));
        let mut body = NewRun::new(name);
        body.suite_id = Some(suite_id);
        body.description = description;
        body.include_all = false;
        body.case_ids = Some(case_ids);
        let reset = self.with_journal(|j| run_fields::apply(&j.plan, &mut body));

        self.mark_pending(PendingStep::Run)?;
        for attempt in 1..=MAX_CREATE_ATTEMPTS {
            let outcome = self.client.add_run(project_id, &body).await;
            if let Err(error) = &outcome
                && names_case_ids(error)
                && self.reject_unknown_cases().await?
            {
                body.case_ids = Some(self.planned_case_ids()?);
                continue;
            }
            match outcome {
                Ok(run) => {
                    info!(run_id = run.id, name, "created run");
                    self.with_journal(|j| {
                        j.run_id = Some(run.id);
                        j.run_url = run.url.clone();
                        j.run_created = true;
                        j.run_cases_done = true;
                    });
                    // A reset run is new on purpose, so an older open run of
                    // the same name does not win the race.
                    if !reset {
                        self.resolve_run_race(name, run.id).await?;
                    }
                    break;
                }
                Err(error) if error.maybe_applied() && attempt < MAX_CREATE_ATTEMPTS => {
                    debug!(name, %error, "add_run may have been applied; checking");
                    self.reconcile_run().await?;
                    if self.with_journal(|j| j.run_id.is_some()) {
                        break;
                    }
                }
                Err(error) => return Err(SyncError::api(format!("creating run `{name}`"), error)),
            }
        }
        self.clear_pending(&PendingStep::Run)
    }

    /// Settles a race between uploads that created a run of the same name
    /// at the same time: the run with the lowest id wins, and the others
    /// move to it. A losing run is deleted only while it contains no result,
    /// so nobody's results are ever deleted.
    async fn resolve_run_race(&self, name: &str, mine: u64) -> Result<(), SyncError> {
        let (project_id, suite_id) = self.with_journal(|j| (j.plan.project_id, j.plan.suite_id));
        let filter = testrail_api::models::RunFilter {
            is_completed: Some(false),
            suite_id: Some(suite_id),
            ..Default::default()
        };
        let runs = self
            .client
            .get_runs(project_id, &filter)
            .await
            .map_err(|e| {
                SyncError::api("reading open runs to check for a concurrent creation", e)
            })?;
        let Some(winner) = runs
            .iter()
            .filter(|r| r.name == name && !r.is_completed)
            .min_by_key(|r| r.id)
        else {
            return Ok(());
        };
        if winner.id >= mine {
            return Ok(());
        }

        info!(
            run_id = mine,
            winner = winner.id,
            name,
            "another upload created the same run first; using its run"
        );
        let results = self
            .client
            .get_results_for_run(mine)
            .await
            .map_err(|e| SyncError::api(format!("reading results of run {mine}"), e))?;
        if results.is_empty() {
            match self.client.delete_run(mine).await {
                Ok(()) => debug!(run_id = mine, "deleted the empty losing run"),
                Err(error) => warn!(run_id = mine, %error, "could not delete the empty losing run"),
            }
        } else {
            warn!(
                run_id = mine,
                results = results.len(),
                "the losing run already holds results, so it is kept"
            );
        }
        self.with_journal(|j| {
            j.run_id = Some(winner.id);
            j.run_url = winner.url.clone();
            j.run_created = false;
            j.run_cases_done = false;
        });
        Ok(())
    }

    async fn reconcile_run(&self) -> Result<(), SyncError> {
        let PlannedRun::ByName { name, .. } = self.with_journal(|j| j.plan.run.clone()) else {
            return Ok(());
        };
        if self.find_run_by_name(&name).await? {
            self.with_journal(|j| j.run_created = true);
        }
        Ok(())
    }

    /// Adds the plan's cases to the run, keeping the ones already there.
    ///
    /// `update_run` replaces the case list, so a concurrent writer can drop
    /// cases between the read and the write: the list is read again after
    /// the write and merged until every wanted case is present.
    async fn add_cases_to_run(&self) -> Result<(), SyncError> {
        let run_id = self.with_journal(|j| j.run_id).expect("run is known");
        let wanted: HashSet<u64> = self.planned_case_ids()?.into_iter().collect();

        for round in 0..races::MAX_CASE_LIST_ROUNDS {
            let started = std::time::Instant::now();
            let run = self
                .client
                .get_run(run_id)
                .await
                .map_err(|e| SyncError::api(format!("reading run {run_id}"), e))?;
            if run.include_all {
                return Ok(());
            }
            let present: HashSet<u64> = self
                .client
                .get_tests(run_id, None)
                .await
                .map_err(|e| SyncError::api(format!("reading tests of run {run_id}"), e))?
                .iter()
                .map(|t| t.case_id)
                .collect();
            if wanted.is_subset(&present) {
                return Ok(());
            }
            let mut union: Vec<u64> = present.union(&wanted).copied().collect();
            union.sort_unstable();
            debug!(
                run_id,
                round,
                adding = wanted.difference(&present).count(),
                "adding cases to run"
            );
            let update = RunUpdate {
                case_ids: Some(union),
                ..RunUpdate::default()
            };
            match self.client.update_run(run_id, &update).await {
                Ok(_) => {}
                Err(error) if names_case_ids(&error) && self.reject_unknown_cases().await? => {
                    return Box::pin(self.add_cases_to_run()).await;
                }
                Err(error) => {
                    return Err(SyncError::api(
                        format!("adding cases to run {run_id}"),
                        error,
                    ));
                }
            }
            self.settle_after_write(started).await;
        }
        Err(SyncError::Config {
            setting: "run".into(),
            message: format!("cases kept disappearing from run {run_id} while trail added its own"),
            hint:
                "another writer is replacing the run's case list; rerun the upload once it is done"
                    .into(),
        })
    }

    async fn upload_results(&self) -> Result<(), SyncError> {
        self.record_result_floors().await?;
        let in_flight: Vec<usize> = self.with_journal(|j| {
            (0..j.results_done.len())
                .filter(|i| j.results_in_flight[*i] && !j.results_done[*i])
                .collect()
        });
        if !in_flight.is_empty() {
            self.reconcile_results(&in_flight).await?;
        }

        for _ in 0..MAX_RECONCILE_ROUNDS {
            let todo: Vec<usize> = self.with_journal(|j| {
                let rejected: HashSet<u64> = j.rejected.iter().map(|r| r.case_id).collect();
                (0..j.results_done.len())
                    .filter(|i| !j.results_done[*i])
                    .filter(|i| match j.plan.results[*i].case {
                        CaseTarget::Existing(id) => !rejected.contains(&id),
                        CaseTarget::Planned(c) => {
                            j.cases[c].is_none_or(|id| !rejected.contains(&id))
                        }
                    })
                    .collect()
            });
            if todo.is_empty() {
                return Ok(());
            }
            let batches: Vec<Vec<usize>> = self
                .group_by_run(&todo)
                .into_values()
                .flat_map(|indices| {
                    indices
                        .chunks(self.options.batch_size.max(1))
                        .map(<[usize]>::to_vec)
                        .collect::<Vec<_>>()
                })
                .collect();
            let outcomes: Vec<Result<Vec<usize>, SyncError>> = stream::iter(batches)
                .map(|batch| self.send_batch(batch))
                .buffer_unordered(self.options.concurrency.max(1))
                .collect()
                .await;
            let mut unsure = Vec::new();
            for outcome in outcomes {
                unsure.extend(outcome?);
            }
            if unsure.is_empty() {
                return Ok(());
            }
            self.reconcile_results(&unsure).await?;
        }
        Err(SyncError::Config {
            setting: "results".into(),
            message: "some results stayed unconfirmed after several checks".into(),
            hint: "rerun the same command; the journal makes it send only what is missing".into(),
        })
    }

    /// Returns the run that receives the planned result `index`.
    fn run_of_result(&self, index: usize) -> u64 {
        self.with_journal(|j| {
            let run = j.plan.results[index].run;
            match j.plan.run {
                PlannedRun::Plan { .. } => j.test_plan.run_ids[run],
                _ => j.run_id,
            }
        })
        .expect("run is known")
    }

    /// Records, for each run this upload posts to and has no floor for yet,
    /// the id of its newest result. A run this upload created starts at 0
    /// without a request.
    async fn record_result_floors(&self) -> Result<(), SyncError> {
        let all: Vec<usize> = self.with_journal(|j| (0..j.results_done.len()).collect());
        let created = self.with_journal(|j| j.run_created.then_some(j.run_id).flatten());
        for run_id in self.group_by_run(&all).into_keys() {
            if self.with_journal(|j| j.result_floors.contains_key(&run_id)) {
                continue;
            }
            let floor = if created == Some(run_id) {
                0
            } else {
                self.newest_result_id(run_id).await?
            };
            self.with_journal(|j| j.result_floors.insert(run_id, floor));
        }
        self.save()
    }

    async fn newest_result_id(&self, run_id: u64) -> Result<u64, SyncError> {
        let page = self
            .client
            .get_json(&format!("get_results_for_run/{run_id}&limit=1"))
            .await
            .map_err(|e| SyncError::api(format!("reading the newest result of run {run_id}"), e))?;
        let results = match &page {
            Value::Array(results) => results.as_slice(),
            _ => page["results"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default(),
        };
        Ok(results
            .iter()
            .filter_map(|r| r["id"].as_u64())
            .max()
            .unwrap_or(0))
    }

    /// Groups planned result indices by the run that receives them, keeping
    /// their order within each run.
    fn group_by_run(&self, indices: &[usize]) -> BTreeMap<u64, Vec<usize>> {
        let mut groups: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for index in indices {
            groups
                .entry(self.run_of_result(*index))
                .or_default()
                .push(*index);
        }
        groups
    }

    /// Sends one batch, whose results all go to one run; returns the indices
    /// whose fate is unknown.
    async fn send_batch(&self, batch: Vec<usize>) -> Result<Vec<usize>, SyncError> {
        let run_id = self.run_of_result(batch[0]);
        let mut body = Vec::with_capacity(batch.len());
        for index in &batch {
            body.push(self.new_result(*index)?);
        }

        self.with_journal(|j| batch.iter().for_each(|i| j.results_in_flight[*i] = true));
        self.save()?;
        match self.client.add_results_for_cases(run_id, &body).await {
            Ok(created) => {
                self.with_journal(|j| {
                    for index in &batch {
                        j.results_done[*index] = true;
                        j.results_in_flight[*index] = false;
                    }
                    attachment_uploads::record_result_ids(j, &batch, &created);
                });
                self.save()?;
                self.reporter
                    .event(Event::ResultsUploaded { count: batch.len() });
                Ok(Vec::new())
            }
            Err(error) if error.maybe_applied() => {
                debug!(run_id, results = batch.len(), %error, "add_results_for_cases may have been applied; checking");
                Ok(batch)
            }
            Err(error) if error.status() == Some(413) && batch.len() > 1 => {
                // A proxy or TestRail refused the body as too large: halve it.
                self.with_journal(|j| batch.iter().for_each(|i| j.results_in_flight[*i] = false));
                debug!(
                    run_id,
                    results = batch.len(),
                    "request body too large; splitting the batch"
                );
                let (left, right) = batch.split_at(batch.len() / 2);
                let mut unsure = Box::pin(self.send_batch(left.to_vec())).await?;
                unsure.extend(Box::pin(self.send_batch(right.to_vec())).await?);
                Ok(unsure)
            }
            Err(error) if error.status() == Some(400) => {
                self.with_journal(|j| batch.iter().for_each(|i| j.results_in_flight[*i] = false));
                if batch.len() == 1 {
                    let reason = error.testrail_message().unwrap_or("rejected").to_owned();
                    let case_id = body[0].case_id;
                    let tests = self.with_journal(|j| j.plan.results[batch[0]].tests.clone());
                    warn!(run_id, case_id, %reason, "TestRail rejected a result");
                    self.with_journal(|j| {
                        j.rejected.push(Rejected {
                            case_id,
                            tests,
                            reason,
                        })
                    });
                    self.save()?;
                    return Ok(Vec::new());
                }
                debug!(
                    run_id,
                    results = batch.len(),
                    "batch rejected; splitting it to isolate the bad entries"
                );
                let (left, right) = batch.split_at(batch.len() / 2);
                let mut unsure = Box::pin(self.send_batch(left.to_vec())).await?;
                unsure.extend(Box::pin(self.send_batch(right.to_vec())).await?);
                Ok(unsure)
            }
            Err(error) => {
                self.with_journal(|j| batch.iter().for_each(|i| j.results_in_flight[*i] = false));
                Err(SyncError::api(
                    format!("uploading {} results to run {run_id}", batch.len()),
                    error,
                ))
            }
        }
    }

    fn new_result(&self, index: usize) -> Result<NewResult, SyncError> {
        let planned = self.with_journal(|j| j.plan.results[index].clone());
        let Some(case_id) = self.case_id(planned.case) else {
            return Err(SyncError::Config {
                setting: "plan".into(),
                message: "a result refers to a case that was not created".into(),
                hint: "rerun the upload to finish it".into(),
            });
        };
        let mut result = NewResult::new(case_id, planned.status_id);
        result.comment = planned.comment;
        result.elapsed = planned.elapsed;
        result.version = planned.version;
        result.assignedto_id = planned.assignedto_id;
        result.custom = planned.custom;
        Ok(result)
    }

    /// Marks as done the results among `indices` that TestRail already
    /// stored, by reading each run's results created since the upload began.
    async fn reconcile_results(&self, indices: &[usize]) -> Result<(), SyncError> {
        for (run_id, indices) in self.group_by_run(indices) {
            self.reconcile_results_in_run(run_id, &indices).await?;
        }
        Ok(())
    }

    async fn reconcile_results_in_run(
        &self,
        run_id: u64,
        indices: &[usize],
    ) -> Result<(), SyncError> {
        let started_at = self.with_journal(|j| j.started_at);
        let tests = self
            .client
            .get_tests(run_id, None)
            .await
            .map_err(|e| SyncError::api(format!("reading tests of run {run_id}"), e))?;
        let case_of_test: HashMap<u64, u64> = tests.iter().map(|t| (t.id, t.case_id)).collect();
        let results = self
            .client
            .get_results_for_run(run_id)
            .await
            .map_err(|e| SyncError::api(format!("reading results of run {run_id}"), e))?;

        let floor = self.with_journal(|j| j.result_floors.get(&run_id).copied());
        let mut stored: HashMap<(u64, u64), Vec<Option<String>>> = HashMap::new();
        for result in results {
            let older = match floor {
                Some(floor) => result.id <= floor,
                None => result
                    .created_on
                    .is_some_and(|t| t < started_at - CLOCK_SKEW_SECS),
            };
            if older {
                continue;
            }
            let (Some(case_id), Some(status_id)) =
                (case_of_test.get(&result.test_id), result.status_id)
            else {
                continue;
            };
            stored
                .entry((*case_id, status_id))
                .or_default()
                .push(result.comment.clone());
        }

        let mut found = 0;
        for index in indices {
            let wanted = self.new_result(*index)?;
            let Some(comments) = stored.get_mut(&(wanted.case_id, wanted.status_id)) else {
                self.with_journal(|j| j.results_in_flight[*index] = false);
                continue;
            };
            let wanted_comment = wanted.comment.unwrap_or_default();
            if let Some(position) = comments
                .iter()
                .position(|c| c.clone().unwrap_or_default().trim() == wanted_comment.trim())
            {
                comments.remove(position);
                found += 1;
                self.with_journal(|j| {
                    j.results_done[*index] = true;
                    j.results_in_flight[*index] = false;
                });
            } else {
                self.with_journal(|j| j.results_in_flight[*index] = false);
            }
        }
        info!(
            run_id,
            checked = indices.len(),
            already_stored = found,
            "checked results of unanswered requests"
        );
        if found > 0 {
            self.reporter.event(Event::ResultsUploaded { count: found });
        }
        self.save()
    }

    async fn close_run(&self) -> Result<(), SyncError> {
        if self.is_test_plan() {
            return self.close_test_plan().await;
        }
        let (close, closed, run_id) = self.with_journal(|j| (j.plan.close_run, j.closed, j.run_id));
        if !close || closed {
            return Ok(());
        }
        let run_id = run_id.expect("run is known");
        match self.client.close_run(run_id).await {
            Ok(_) => {}
            Err(error) if error.status() == Some(400) && self.run_is_closed(run_id).await => {}
            Err(error) => return Err(SyncError::api(format!("closing run {run_id}"), error)),
        }
        info!(run_id, "closed run");
        self.with_journal(|j| j.closed = true);
        self.save()
    }

    async fn run_is_closed(&self, run_id: u64) -> bool {
        self.client
            .get_run(run_id)
            .await
            .is_ok_and(|run| run.is_completed)
    }

    fn mark_pending(&self, step: PendingStep) -> Result<(), SyncError> {
        self.with_journal(|j| j.pending.push(step));
        self.save()
    }

    fn clear_pending(&self, step: &PendingStep) -> Result<(), SyncError> {
        self.with_journal(|j| j.pending.retain(|s| s != step));
        self.save()
    }
}

/// Returns the lowest id among `sections` with this name and parent, the
/// one every upload settles on when a section was created twice.
fn lowest_section_id(
    sections: &[testrail_api::models::Section],
    name: &str,
    parent: Option<u64>,
) -> Option<u64> {
    sections
        .iter()
        .filter(|s| s.name == name && s.parent_id == parent)
        .map(|s| s.id)
        .min()
}

/// Groups planned sections by depth among the planned ones: a section comes
/// one level after its planned parent, so each level can be created once
/// the one before it exists.
fn section_levels(sections: &[crate::plan::PlannedSection]) -> Vec<Vec<usize>> {
    let mut depth = vec![0usize; sections.len()];
    let mut levels: Vec<Vec<usize>> = Vec::new();
    for (index, section) in sections.iter().enumerate() {
        // Plans list parents before children, so the parent's depth is known.
        if let Some(SectionTarget::Planned(parent)) = section.parent {
            depth[index] = depth[parent] + 1;
        }
        if levels.len() <= depth[index] {
            levels.resize_with(depth[index] + 1, Vec::new);
        }
        levels[depth[index]].push(index);
    }
    levels
}

/// Returns true when TestRail rejected a run's case list.
fn names_case_ids(error: &ApiError) -> bool {
    error.status() == Some(400)
        && error
            .testrail_message()
            .is_some_and(|m| m.contains("case_ids"))
}

/// Returns true for failures that a later attempt may get past.
fn is_transient(error: &ApiError) -> bool {
    error.is_retryable() || error.maybe_applied() || error.status().is_none()
}

/// Fields of `value` that differ from `current`, for updates that send only
/// what changed.
pub fn changed_fields(
    current: &Map<String, Value>,
    wanted: &Map<String, Value>,
) -> Map<String, Value> {
    wanted
        .iter()
        .filter(|(key, value)| current.get(*key) != Some(value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
