//! Sends the planned updates of existing cases.
//!
//! Cases that get the same change go in one `update_cases` request; a case
//! with a change of its own gets `update_case`. Updates are idempotent, so
//! an update whose response was lost is sent again on resume.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use futures_util::stream;
use serde_json::{Map, Value};
use tracing::{debug, warn};

use super::{Executor, is_transient};
use crate::error::SyncError;

/// Cases that receive the same fields, as plan indices.
struct UpdateGroup {
    indices: Vec<usize>,
    fields: Map<String, Value>,
}

impl Executor<'_> {
    /// Sends every planned case update that is not done yet.
    pub(super) async fn update_cases(&self) -> Result<(), SyncError> {
        let groups = self.with_journal(|j| {
            let mut groups: BTreeMap<String, UpdateGroup> = BTreeMap::new();
            for (index, update) in j.plan.updates.iter().enumerate() {
                if j.updates_done.contains(&index) {
                    continue;
                }
                let fields = update.fields();
                let key = serde_json::to_string(&fields).unwrap_or_default();
                groups
                    .entry(key)
                    .or_insert_with(|| UpdateGroup {
                        indices: Vec::new(),
                        fields,
                    })
                    .indices
                    .push(index);
            }
            groups.into_values().collect::<Vec<_>>()
        });
        if groups.is_empty() {
            return Ok(());
        }

        let outcomes: Vec<Result<(), SyncError>> = stream::iter(groups)
            .map(|group| self.send_update(group))
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;
        self.save()?;
        outcomes.into_iter().collect()
    }

    async fn send_update(&self, group: UpdateGroup) -> Result<(), SyncError> {
        let (suite_id, case_ids) = self.with_journal(|j| {
            let ids: Vec<u64> = group
                .indices
                .iter()
                .map(|i| j.plan.updates[*i].case_id)
                .collect();
            (j.plan.suite_id, ids)
        });

        if case_ids.len() > 1 {
            match self
                .client
                .update_cases(suite_id, &case_ids, &group.fields)
                .await
            {
                Ok(()) => {
                    debug!(cases = case_ids.len(), "updated cases in bulk");
                    self.mark_updated(&group.indices);
                    return Ok(());
                }
                Err(error) if is_transient(&error) => {
                    return Err(SyncError::api(
                        format!("updating {} cases", case_ids.len()),
                        error,
                    ));
                }
                // Instances before TestRail 6.5.2 have no `update_cases`,
                // and one bad case fails the whole request: each case is
                // then updated alone.
                Err(error) => {
                    debug!(%error, "update_cases failed; updating the cases one by one");
                }
            }
        }

        for (index, case_id) in group.indices.iter().zip(&case_ids) {
            match self.client.update_case(*case_id, &group.fields).await {
                Ok(_) => self.mark_updated(&[*index]),
                Err(error) if is_transient(&error) => {
                    return Err(SyncError::api(format!("updating case C{case_id}"), error));
                }
                Err(error) => {
                    warn!(case_id, %error, "TestRail rejected a case update");
                    self.with_journal(|j| {
                        j.updates_done.insert(*index);
                        j.rejected_writes
                            .push(format!("updating case C{case_id} failed: {error}"));
                    });
                }
            }
        }
        Ok(())
    }

    fn mark_updated(&self, indices: &[usize]) {
        self.with_journal(|j| j.updates_done.extend(indices.iter().copied()));
    }
}
