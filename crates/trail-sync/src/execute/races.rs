//! Settling races between uploads that write the same project at once,
//! such as CI shards that report into one run.
//!
//! TestRail has no compare-and-set, so two uploads that miss the same
//! section or case both create it, and `update_run` replaces the run's
//! whole case list. The rules are:
//!
//! - Duplicates: the entity with the lowest id wins. Ids grow with time,
//!   so any upload that sees a loser also sees the winner, and no upload
//!   ever picks a loser on purpose. An upload deletes a loser only when it
//!   created it itself, after pointing its journal at the winner.
//! - Case lists: after each `update_run` the list is read again after a
//!   pause long enough for a writer that read the old list to finish its
//!   write, and after the results are posted the run is checked once more,
//!   so that cases a late writer dropped are added back and their results
//!   posted again.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use testrail_api::models::CaseFilter;
use tracing::{debug, info, warn};

use super::Executor;
use crate::error::SyncError;
use crate::matching::normalized_title;
use crate::plan::CaseTarget;

/// How many times the run's case list is written before the upload gives
/// up on a writer that keeps replacing it.
pub(super) const MAX_CASE_LIST_ROUNDS: usize = 20;

/// How many times cases dropped from the run after the results were
/// posted are added back.
const MAX_REPAIR_ROUNDS: usize = 3;

/// Sections and cases this execution created, so that only its own
/// duplicates are deleted, and whether it wrote the run's case list.
#[derive(Debug, Default)]
pub(super) struct RaceState {
    inner: Mutex<RaceInner>,
}

#[derive(Debug, Default)]
struct RaceInner {
    sections: HashSet<u64>,
    cases: HashSet<u64>,
    wrote_case_list: bool,
    longest_write: Duration,
}

impl RaceState {
    pub(super) fn created_section(&self, id: u64) {
        self.lock().sections.insert(id);
    }

    pub(super) fn created_case(&self, id: u64) {
        self.lock().cases.insert(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RaceInner> {
        self.inner.lock().expect("race state lock")
    }
}

impl Executor<'_> {
    /// Moves each planned section in `indices` that this execution created
    /// to the lowest-id section of the same name and parent, deleting its
    /// own duplicate; one read of the suite's sections serves them all.
    pub(super) async fn resolve_section_duplicates(
        &self,
        indices: &[usize],
    ) -> Result<(), SyncError> {
        let created: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|index| {
                self.with_journal(|j| j.sections[*index])
                    .is_some_and(|id| self.races.lock().sections.contains(&id))
            })
            .collect();
        if created.is_empty() {
            return Ok(());
        }
        let (suite_id, project_id) = self.with_journal(|j| (j.plan.suite_id, j.plan.project_id));
        let sections = self
            .client
            .get_sections(project_id, Some(suite_id))
            .await
            .map_err(|e| SyncError::api("reading sections to check for duplicates", e))?;

        for index in created {
            let Some(mine) = self.with_journal(|j| j.sections[index]) else {
                continue;
            };
            let planned = self.with_journal(|j| j.plan.sections[index].clone());
            let parent = planned.parent.and_then(|p| self.section_id(p));
            let Some(winner) = super::lowest_section_id(&sections, &planned.name, parent) else {
                continue;
            };
            if winner >= mine {
                continue;
            }

            info!(section_id = mine, winner, name = %planned.name, "another upload created the same section first; using it");
            self.with_journal(|j| j.sections[index] = Some(winner));
            self.save()?;
            match self.client.delete_section(mine).await {
                Ok(()) => debug!(section_id = mine, "deleted the duplicate section"),
                Err(error) => {
                    warn!(section_id = mine, %error, "could not delete the duplicate section")
                }
            }
        }
        Ok(())
    }

    /// Moves the cases this execution created to the lowest-id case of the
    /// same section and title (or automation id), deleting its own
    /// duplicates. The duplicates are new and hold no results, because no
    /// upload picks a case while a lower one of the same key exists.
    pub(super) async fn resolve_case_duplicates(&self) -> Result<(), SyncError> {
        let created = self.races.lock().cases.clone();
        if created.is_empty() {
            return Ok(());
        }
        let (suite_id, project_id, mine) = self.with_journal(|j| {
            let mine: Vec<(usize, u64)> = j
                .cases
                .iter()
                .enumerate()
                .filter_map(|(index, id)| {
                    id.filter(|id| created.contains(id)).map(|id| (index, id))
                })
                .collect();
            (j.plan.suite_id, j.plan.project_id, mine)
        });

        let mut sections: Vec<u64> = mine
            .iter()
            .filter_map(|(index, _)| {
                let planned = self.with_journal(|j| j.plan.cases[*index].section);
                self.section_id(planned)
            })
            .collect();
        sections.sort_unstable();
        sections.dedup();

        // Reading each section costs at least a page per section; reading the
        // whole suite costs a page per 250 cases. Take the cheaper one.
        let suite_pages =
            self.with_journal(|j| (j.plan.suite_cases + j.plan.cases.len()).div_ceil(250));
        let reads: Vec<Option<u64>> = if suite_pages < sections.len() {
            vec![None]
        } else {
            sections.iter().copied().map(Some).collect()
        };
        let mut lowest: HashMap<(u64, String), u64> = HashMap::new();
        for section in reads {
            let filter = CaseFilter {
                suite_id: Some(suite_id),
                section_id: section,
                ..CaseFilter::default()
            };
            let cases = self
                .client
                .get_cases(project_id, &filter)
                .await
                .map_err(|e| SyncError::api("reading cases to check for duplicates", e))?;
            for case in cases
                .iter()
                .filter(|c| c.section_id.is_some_and(|id| sections.contains(&id)))
            {
                let section_id = case.section_id.unwrap_or_default();
                for key in case_keys(
                    section_id,
                    &case.title,
                    case.extra.get(crate::context::AUTOMATION_ID_FIELD),
                ) {
                    lowest
                        .entry(key)
                        .and_modify(|id| *id = (*id).min(case.id))
                        .or_insert(case.id);
                }
            }
        }

        let mut losers = Vec::new();
        for (index, id) in mine {
            let planned = self.with_journal(|j| j.plan.cases[index].clone());
            let Some(section_id) = self.section_id(planned.section) else {
                continue;
            };
            let key = case_keys(
                section_id,
                &planned.title,
                planned.fields.get(crate::context::AUTOMATION_ID_FIELD),
            )
            .into_iter()
            .next()
            .expect("a case has at least one key");
            if let Some(winner) = lowest.get(&key).copied().filter(|winner| *winner < id) {
                info!(case_id = id, winner, title = %planned.title, "another upload created the same case first; using it");
                self.with_journal(|j| j.cases[index] = Some(winner));
                losers.push(id);
            }
        }
        if losers.is_empty() {
            return Ok(());
        }
        self.save()?;
        for id in losers {
            match self.client.delete_case(id).await {
                Ok(()) => debug!(case_id = id, "deleted the duplicate case"),
                Err(error) => warn!(case_id = id, %error, "could not delete the duplicate case"),
            }
        }
        Ok(())
    }

    /// Waits after an `update_run` that started at `started`, long enough
    /// for a writer that read the case list before it to finish its own
    /// write: twice the longest read-and-write seen, with jitter so that
    /// writers do not keep meeting.
    pub(super) async fn settle_after_write(&self, started: Instant) {
        let pause = {
            let mut races = self.races.lock();
            races.wrote_case_list = true;
            races.longest_write = races.longest_write.max(started.elapsed());
            races.longest_write * 2
        };
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() % 1000);
        let pause = pause.mul_f64(1.0 + f64::from(jitter) / 1000.0);
        tokio::time::sleep(pause.clamp(Duration::from_millis(20), Duration::from_secs(10))).await;
    }

    /// Checks, after the results are posted, that no concurrent writer
    /// dropped this upload's cases from the run; dropped cases lose their
    /// tests and results, so they are added back and their results are
    /// checked against TestRail and posted again.
    pub(super) async fn repair_dropped_cases(&self) -> Result<(), SyncError> {
        let wrote = self.races.lock().wrote_case_list;
        let Some(run_id) = self.with_journal(|j| j.run_id) else {
            return Ok(());
        };
        if !wrote {
            return Ok(());
        }
        for round in 0..MAX_REPAIR_ROUNDS {
            self.settle_after_write(Instant::now()).await;
            let wanted: HashSet<u64> = self.planned_case_ids()?.into_iter().collect();
            let present: HashSet<u64> = self
                .client
                .get_tests(run_id, None)
                .await
                .map_err(|e| SyncError::api(format!("reading tests of run {run_id}"), e))?
                .iter()
                .map(|t| t.case_id)
                .collect();
            let dropped: HashSet<u64> = wanted.difference(&present).copied().collect();
            if dropped.is_empty() {
                return Ok(());
            }

            warn!(
                run_id,
                round,
                dropped = dropped.len(),
                "a concurrent writer dropped cases from the run; adding them back"
            );
            let indices: Vec<usize> = self.with_journal(|j| {
                (0..j.plan.results.len())
                    .filter(|i| {
                        let case = match j.plan.results[*i].case {
                            CaseTarget::Existing(id) => Some(id),
                            CaseTarget::Planned(c) => j.cases[c],
                        };
                        case.is_some_and(|id| dropped.contains(&id))
                    })
                    .collect()
            });
            self.with_journal(|j| {
                j.rejected.retain(|r| !dropped.contains(&r.case_id));
                for index in &indices {
                    j.results_done[*index] = false;
                    j.results_in_flight[*index] = true;
                }
                j.run_cases_done = false;
            });
            self.save()?;
            self.add_cases_to_run().await?;
            self.with_journal(|j| j.run_cases_done = true);
            self.save()?;
            self.upload_results().await?;
        }
        Ok(())
    }
}

/// Keys under which a case counts as the same case: the automation id when
/// it has one, else the normalized title, both within the section.
fn case_keys(section_id: u64, title: &str, automation: Option<&Value>) -> Vec<(u64, String)> {
    match automation
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
    {
        Some(id) => vec![(section_id, format!("automation:{id}"))],
        None => vec![(section_id, format!("title:{}", normalized_title(title)))],
    }
}
