//! Uploads to a test plan with one run per Playwright project.
//!
//! The runs are distinguished by configurations of one group: the group and
//! one configuration per project are found by name or created, the open
//! plan of the upload's name is found or created, and the plan gets an
//! entry for the suite with one run per configuration. Every creating
//! request here is preceded by a read of the same state, so a request whose
//! response was lost is found before it could be sent a second time.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};
use testrail_api::models::{Plan, PlanEntry, Run};
use tracing::{debug, info};

use super::{CLOCK_SKEW_SECS, Executor, MAX_CREATE_ATTEMPTS, races};
use crate::error::SyncError;
use crate::journal::PendingStep;
use crate::plan::{PlannedPlanRun, PlannedRun};

/// The test plan part of a [`PlannedRun::Plan`].
struct PlanTarget {
    name: String,
    description: Option<String>,
    reset: bool,
    config_group: String,
    runs: Vec<PlannedPlanRun>,
}

impl Executor<'_> {
    fn plan_target(&self) -> Option<PlanTarget> {
        match self.with_journal(|j| j.plan.run.clone()) {
            PlannedRun::Plan {
                name,
                description,
                reset,
                config_group,
                runs,
            } => Some(PlanTarget {
                name,
                description,
                reset,
                config_group,
                runs,
            }),
            _ => None,
        }
    }

    /// Returns true when the upload goes to a test plan.
    pub(super) fn is_test_plan(&self) -> bool {
        self.with_journal(|j| matches!(j.plan.run, PlannedRun::Plan { .. }))
    }

    /// Finds or creates the configurations, the plan, its runs and their
    /// cases.
    pub(super) async fn prepare_test_plan(&self) -> Result<(), SyncError> {
        let Some(target) = self.plan_target() else {
            return Ok(());
        };
        self.ensure_config_group(&target.config_group).await?;
        self.ensure_configs(&target).await?;
        let mut created_runs = self.ensure_plan(&target).await?;
        created_runs.extend(self.ensure_plan_runs(&target).await?);
        if self.with_journal(|j| !j.run_cases_done) {
            self.add_cases_to_plan_runs(&target, &created_runs).await?;
            self.with_journal(|j| j.run_cases_done = true);
            self.save()?;
        }
        Ok(())
    }

    async fn ensure_config_group(&self, name: &str) -> Result<(), SyncError> {
        if self.with_journal(|j| j.test_plan.config_group_id.is_some()) {
            return Ok(());
        }
        if self.find_config_group(name).await? {
            return self.save();
        }
        let project_id = self.with_journal(|j| j.plan.project_id);
        self.mark_pending(PendingStep::ConfigGroup)?;
        for attempt in 1..=MAX_CREATE_ATTEMPTS {
            match self.client.add_config_group(project_id, name).await {
                Ok(group) => {
                    info!(
                        config_group_id = group.id,
                        name, "created configuration group"
                    );
                    self.with_journal(|j| j.test_plan.config_group_id = Some(group.id));
                    break;
                }
                Err(error) if error.maybe_applied() && attempt < MAX_CREATE_ATTEMPTS => {
                    debug!(name, %error, "add_config_group may have been applied; checking");
                    if self.find_config_group(name).await? {
                        break;
                    }
                }
                Err(error) => {
                    return Err(SyncError::api(
                        format!("creating configuration group `{name}`"),
                        error,
                    ));
                }
            }
        }
        self.clear_pending(&PendingStep::ConfigGroup)
    }

    /// Records the lowest id of the project's groups named `name`.
    async fn find_config_group(&self, name: &str) -> Result<bool, SyncError> {
        let project_id = self.with_journal(|j| j.plan.project_id);
        let groups = self
            .client
            .get_configs(project_id)
            .await
            .map_err(|e| SyncError::api("reading configuration groups", e))?;
        let found = groups.iter().filter(|g| g.name == name).map(|g| g.id).min();
        if let Some(id) = found {
            debug!(config_group_id = id, name, "using configuration group");
            self.with_journal(|j| j.test_plan.config_group_id = Some(id));
        }
        Ok(found.is_some())
    }

    async fn ensure_configs(&self, target: &PlanTarget) -> Result<(), SyncError> {
        if self.with_journal(|j| j.test_plan.config_ids.iter().all(Option::is_some)) {
            return Ok(());
        }
        self.find_configs(target).await?;
        let group_id = self
            .with_journal(|j| j.test_plan.config_group_id)
            .expect("configuration group is known");
        for (index, run) in target.runs.iter().enumerate() {
            if self.with_journal(|j| j.test_plan.config_ids[index].is_some()) {
                continue;
            }
            self.mark_pending(PendingStep::Config(index))?;
            for attempt in 1..=MAX_CREATE_ATTEMPTS {
                match self.client.add_config(group_id, &run.config).await {
                    Ok(config) => {
                        info!(config_id = config.id, name = %run.config, "created configuration");
                        self.with_journal(|j| j.test_plan.config_ids[index] = Some(config.id));
                        break;
                    }
                    Err(error) if error.maybe_applied() && attempt < MAX_CREATE_ATTEMPTS => {
                        debug!(name = %run.config, %error, "add_config may have been applied; checking");
                        self.find_configs(target).await?;
                        if self.with_journal(|j| j.test_plan.config_ids[index].is_some()) {
                            break;
                        }
                    }
                    Err(error) => {
                        return Err(SyncError::api(
                            format!("creating configuration `{}`", run.config),
                            error,
                        ));
                    }
                }
            }
            self.clear_pending(&PendingStep::Config(index))?;
        }
        Ok(())
    }

    /// Records the ids of the group's configurations named like the runs.
    async fn find_configs(&self, target: &PlanTarget) -> Result<(), SyncError> {
        let (project_id, group_id) = self.with_journal(|j| {
            (
                j.plan.project_id,
                j.test_plan.config_group_id.expect("group is known"),
            )
        });
        let groups = self
            .client
            .get_configs(project_id)
            .await
            .map_err(|e| SyncError::api("reading configurations", e))?;
        let Some(group) = groups.iter().find(|g| g.id == group_id) else {
            return Err(SyncError::Config {
                setting: "--config-group".into(),
                message: format!("configuration group {group_id} was deleted during the upload"),
                hint: "rerun the upload; it finds or creates the group again".into(),
            });
        };
        self.with_journal(|j| {
            for (index, run) in target.runs.iter().enumerate() {
                if let Some(config) = group
                    .configs
                    .iter()
                    .filter(|c| c.name == run.config)
                    .min_by_key(|c| c.id)
                {
                    j.test_plan.config_ids[index] = Some(config.id);
                }
            }
        });
        self.save()
    }

    /// Finds the open plan or creates it with its entry. Returns the indices
    /// of runs created here, whose case lists are already right.
    async fn ensure_plan(&self, target: &PlanTarget) -> Result<HashSet<usize>, SyncError> {
        if self.with_journal(|j| j.test_plan.plan_id.is_some()) {
            return Ok(HashSet::new());
        }
        if !target.reset && self.find_plan(&target.name, None).await? {
            return Ok(HashSet::new());
        }

        let (project_id, milestone_id) =
            self.with_journal(|j| (j.plan.project_id, j.plan.run_fields.milestone_id));
        let all: Vec<usize> = (0..target.runs.len()).collect();
        let mut body = json!({
            "name": target.name,
            "entries": [self.entry_body(target, &all)?],
        });
        if let Some(description) = &target.description {
            body["description"] = json!(description);
        }
        if let Some(milestone_id) = milestone_id {
            body["milestone_id"] = json!(milestone_id);
        }

        self.mark_pending(PendingStep::Plan)?;
        let mut created = HashSet::new();
        for attempt in 1..=MAX_CREATE_ATTEMPTS {
            match self.client.add_plan(project_id, &body).await {
                Ok(plan) => {
                    info!(plan_id = plan.id, name = %target.name, "created test plan");
                    self.record_plan(&plan, true);
                    created = self.record_entry_runs(&plan.entries);
                    break;
                }
                Err(error) if error.maybe_applied() && attempt < MAX_CREATE_ATTEMPTS => {
                    debug!(name = %target.name, %error, "add_plan may have been applied; checking");
                    if self.reconcile_plan().await? {
                        break;
                    }
                }
                Err(error) => {
                    return Err(SyncError::api(
                        format!("creating test plan `{}`", target.name),
                        error,
                    ));
                }
            }
        }
        self.clear_pending(&PendingStep::Plan)?;
        Ok(created)
    }

    /// Looks for an open plan named `name`: the oldest one, or with
    /// `created_since` the newest one created since then.
    async fn find_plan(&self, name: &str, created_since: Option<i64>) -> Result<bool, SyncError> {
        let project_id = self.with_journal(|j| j.plan.project_id);
        let plans = self
            .client
            .get_plans(project_id)
            .await
            .map_err(|e| SyncError::api("reading test plans", e))?;
        let open = plans.iter().filter(|p| p.name == name && !p.is_completed);
        let found = match created_since {
            None => open.min_by_key(|p| p.id),
            Some(since) => open
                .filter(|p| p.created_on.is_none_or(|t| t >= since))
                .max_by_key(|p| p.id),
        };
        let Some(plan) = found else {
            return Ok(false);
        };
        info!(plan_id = plan.id, name, "using open test plan");
        let created = created_since.is_some();
        self.record_plan(plan, created);
        self.save()?;
        Ok(true)
    }

    /// Settles an `add_plan` sent without a response by looking for the plan
    /// it would have created. Returns true when the plan was found.
    pub(super) async fn reconcile_plan(&self) -> Result<bool, SyncError> {
        let Some(target) = self.plan_target() else {
            return Ok(false);
        };
        if self.with_journal(|j| j.test_plan.plan_id.is_some()) {
            return Ok(true);
        }
        let started_at = self.with_journal(|j| j.started_at);
        let since = target.reset.then_some(started_at - CLOCK_SKEW_SECS);
        let found = self.find_plan(&target.name, since).await?;
        if found {
            // Without reset, add_plan is sent only after no open plan of
            // this name was found, so the plan found now is the one sent.
            self.with_journal(|j| j.test_plan.plan_created = true);
        }
        Ok(found)
    }

    fn record_plan(&self, plan: &Plan, created: bool) {
        self.with_journal(|j| {
            j.test_plan.plan_id = Some(plan.id);
            j.test_plan.plan_url = plan.url.clone();
            j.test_plan.plan_created = created;
        });
    }

    /// Records the run of each planned configuration found in `entries`
    /// of the suite. Returns the indices of runs recorded here.
    fn record_entry_runs(&self, entries: &[PlanEntry]) -> HashSet<usize> {
        self.with_journal(|j| {
            let suite_id = j.plan.suite_id;
            let mut recorded = HashSet::new();
            for (index, config_id) in j.test_plan.config_ids.clone().iter().enumerate() {
                if j.test_plan.run_ids[index].is_some() {
                    continue;
                }
                let Some(config_id) = config_id else { continue };
                let run = entries
                    .iter()
                    .filter(|e| e.suite_id.is_none_or(|s| s == suite_id))
                    .flat_map(|e| e.runs.iter())
                    .filter(|r| r.config_ids == [*config_id])
                    .min_by_key(|r| r.id);
                if let Some(run) = run {
                    j.test_plan.run_ids[index] = Some(run.id);
                    j.test_plan.run_urls[index] = run.url.clone();
                    recorded.insert(index);
                }
            }
            recorded
        })
    }

    /// Makes sure the plan has a run for every configuration, adding one
    /// entry for the suite with the missing ones. Returns the indices of
    /// runs created here.
    async fn ensure_plan_runs(&self, target: &PlanTarget) -> Result<HashSet<usize>, SyncError> {
        if self.with_journal(|j| j.test_plan.run_ids.iter().all(Option::is_some)) {
            return Ok(HashSet::new());
        }
        let plan_id = self
            .with_journal(|j| j.test_plan.plan_id)
            .expect("plan is known");
        self.record_entry_runs(&self.read_plan(plan_id).await?.entries);
        let missing: Vec<usize> = self.with_journal(|j| {
            (0..j.test_plan.run_ids.len())
                .filter(|i| j.test_plan.run_ids[*i].is_none())
                .collect()
        });
        if missing.is_empty() {
            return self.save().map(|()| HashSet::new());
        }

        let body = self.entry_body(target, &missing)?;
        self.mark_pending(PendingStep::PlanEntry)?;
        let mut created = HashSet::new();
        for attempt in 1..=MAX_CREATE_ATTEMPTS {
            match self.client.add_plan_entry(plan_id, &body).await {
                Ok(entry) => {
                    info!(
                        plan_id,
                        runs = entry.runs.len(),
                        "added the suite's runs to the test plan"
                    );
                    created = self.record_entry_runs(std::slice::from_ref(&entry));
                    break;
                }
                Err(error) if error.maybe_applied() && attempt < MAX_CREATE_ATTEMPTS => {
                    debug!(plan_id, %error, "add_plan_entry may have been applied; checking");
                    let recorded = self.record_entry_runs(&self.read_plan(plan_id).await?.entries);
                    if missing.iter().all(|i| recorded.contains(i)) {
                        created = recorded;
                        break;
                    }
                }
                Err(error) => {
                    return Err(SyncError::api(
                        format!("adding runs to test plan {plan_id}"),
                        error,
                    ));
                }
            }
        }
        if self.with_journal(|j| j.test_plan.run_ids.iter().any(Option::is_none)) {
            return Err(SyncError::Config {
                setting: "--projects-as-plan".into(),
                message: format!(
                    "test plan {plan_id} has no run for some configurations after add_plan_entry"
                ),
                hint: "check the plan in TestRail and rerun the upload".into(),
            });
        }
        self.clear_pending(&PendingStep::PlanEntry)?;
        Ok(created)
    }

    async fn read_plan(&self, plan_id: u64) -> Result<Plan, SyncError> {
        self.client
            .get_plan(plan_id)
            .await
            .map_err(|e| SyncError::api(format!("reading test plan {plan_id}"), e))
    }

    /// Returns the body of a plan entry for the suite with one run for each
    /// of the planned runs `indices`.
    fn entry_body(&self, target: &PlanTarget, indices: &[usize]) -> Result<Value, SyncError> {
        let (suite_id, fields, config_ids) = self.with_journal(|j| {
            (
                j.plan.suite_id,
                j.plan.run_fields.clone(),
                j.test_plan.config_ids.clone(),
            )
        });
        let mut runs = Vec::new();
        let mut entry_configs = Vec::new();
        for index in indices {
            let config_id = config_ids[*index].expect("configurations are known");
            entry_configs.push(config_id);
            let mut run = json!({"config_ids": [config_id], "include_all": fields.include_all});
            if !fields.include_all {
                run["case_ids"] = json!(self.plan_run_case_ids(&target.runs[*index])?);
            }
            runs.push(run);
        }
        let mut body = json!({
            "suite_id": suite_id,
            "include_all": fields.include_all,
            "config_ids": entry_configs,
            "runs": runs,
        });
        if let Some(assignee) = fields.assignedto_id {
            body["assignedto_id"] = json!(assignee);
        }
        if let Some(refs) = &fields.refs {
            body["refs"] = json!(refs);
        }
        Ok(body)
    }

    fn plan_run_case_ids(&self, run: &PlannedPlanRun) -> Result<Vec<u64>, SyncError> {
        let mut ids = Vec::with_capacity(run.cases.len());
        for target in &run.cases {
            let Some(id) = self.case_id(*target) else {
                return Err(SyncError::Config {
                    setting: "plan".into(),
                    message: "a planned case was not created".into(),
                    hint: "rerun the upload to finish it".into(),
                });
            };
            ids.push(id);
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Adds missing cases to runs that existed before this upload.
    ///
    /// TestRail changes the case list of a run in a plan only through
    /// `update_plan_entry`, which sets one list for every run of the entry.
    /// So each run of an entry ends up with the cases of all its runs, as
    /// read back after each write, until every wanted case is present.
    async fn add_cases_to_plan_runs(
        &self,
        target: &PlanTarget,
        created: &HashSet<usize>,
    ) -> Result<(), SyncError> {
        let (plan_id, run_ids) = self.with_journal(|j| {
            (
                j.test_plan.plan_id.expect("plan is known"),
                j.test_plan.run_ids.clone(),
            )
        });
        let mut wanted: BTreeMap<u64, HashSet<u64>> = BTreeMap::new();
        for (index, run) in target.runs.iter().enumerate() {
            if created.contains(&index) {
                continue;
            }
            let run_id = run_ids[index].expect("runs are known");
            wanted.insert(run_id, self.plan_run_case_ids(run)?.into_iter().collect());
        }
        if wanted.is_empty() {
            return Ok(());
        }

        for round in 0..races::MAX_CASE_LIST_ROUNDS {
            let plan = self.read_plan(plan_id).await?;
            let mut updates: Vec<(String, Vec<u64>)> = Vec::new();
            for entry in &plan.entries {
                let runs: Vec<&Run> = entry
                    .runs
                    .iter()
                    .filter(|r| wanted.contains_key(&r.id) && !r.include_all)
                    .collect();
                if runs.is_empty() {
                    continue;
                }
                let mut union: HashSet<u64> = HashSet::new();
                let mut complete = true;
                for run in &entry.runs {
                    let present: HashSet<u64> = self
                        .client
                        .get_tests(run.id, None)
                        .await
                        .map_err(|e| SyncError::api(format!("reading tests of run {}", run.id), e))?
                        .iter()
                        .map(|t| t.case_id)
                        .collect();
                    if let Some(cases) = wanted.get(&run.id) {
                        complete &= cases.is_subset(&present);
                        union.extend(cases);
                    }
                    union.extend(present);
                }
                if !complete {
                    let mut case_ids: Vec<u64> = union.into_iter().collect();
                    case_ids.sort_unstable();
                    updates.push((entry.id.clone().unwrap_or_default(), case_ids));
                }
            }
            if updates.is_empty() {
                return Ok(());
            }
            for (entry_id, case_ids) in updates {
                debug!(plan_id, %entry_id, round, cases = case_ids.len(), "adding cases to the runs of a plan entry");
                let started = std::time::Instant::now();
                let body = json!({"include_all": false, "case_ids": case_ids});
                self.client
                    .update_plan_entry(plan_id, &entry_id, &body)
                    .await
                    .map_err(|e| {
                        SyncError::api(format!("adding cases to test plan {plan_id}"), e)
                    })?;
                self.settle_after_write(started).await;
            }
        }
        Err(SyncError::Config {
            setting: "--projects-as-plan".into(),
            message: format!(
                "cases kept disappearing from the runs of test plan {plan_id} while trail added its own"
            ),
            hint: "another writer is changing the plan's runs; rerun the upload once it is done"
                .into(),
        })
    }

    /// Closes the test plan and with it every run of the plan.
    pub(super) async fn close_test_plan(&self) -> Result<(), SyncError> {
        let (close, closed, plan_id) =
            self.with_journal(|j| (j.plan.close_run, j.closed, j.test_plan.plan_id));
        if !close || closed {
            return Ok(());
        }
        let plan_id = plan_id.expect("plan is known");
        match self.client.close_plan(plan_id).await {
            Ok(_) => {}
            Err(error) if error.status() == Some(400) && self.plan_is_closed(plan_id).await => {}
            Err(error) => {
                return Err(SyncError::api(
                    format!("closing test plan {plan_id}"),
                    error,
                ));
            }
        }
        info!(plan_id, "closed test plan");
        self.with_journal(|j| j.closed = true);
        self.save()
    }

    async fn plan_is_closed(&self, plan_id: u64) -> bool {
        self.client
            .get_plan(plan_id)
            .await
            .is_ok_and(|plan| plan.is_completed)
    }
}
