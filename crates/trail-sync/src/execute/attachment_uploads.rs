//! Uploads the files of results once TestRail stored the results.
//!
//! Each attachment is journaled when it is uploaded, so a resumed upload
//! sends only the rest. A file that vanished since planning, or that
//! TestRail rejects, is skipped with a warning and does not fail the upload.

use futures_util::StreamExt;
use futures_util::stream;
use testrail_api::models::ResultEntry;
use tracing::{debug, warn};

use super::{Executor, is_transient};
use crate::error::SyncError;
use crate::journal::Journal;

/// Stores the result ids that `add_results_for_cases` returned, which come
/// in request order.
pub(super) fn record_result_ids(journal: &mut Journal, batch: &[usize], created: &[ResultEntry]) {
    if created.len() != batch.len() {
        warn!(
            sent = batch.len(),
            returned = created.len(),
            "TestRail returned a different number of results than sent; their attachments are skipped"
        );
        return;
    }
    for (index, entry) in batch.iter().zip(created) {
        journal.result_ids.insert(*index, entry.id);
    }
}

impl Executor<'_> {
    /// Uploads every planned attachment that is not done yet.
    pub(super) async fn upload_attachments(&self) -> Result<(), SyncError> {
        let (todo, without_id) = self.with_journal(|j| {
            let mut todo = Vec::new();
            let mut without_id = 0;
            for (result, planned) in j.plan.results.iter().enumerate() {
                if !j.results_done[result] {
                    continue;
                }
                for attachment in 0..planned.attachments.len() {
                    if j.attachments_done.contains(&(result, attachment)) {
                        continue;
                    }
                    match j.result_ids.get(&result) {
                        Some(id) => todo.push((result, attachment, *id)),
                        None => without_id += 1,
                    }
                }
            }
            (todo, without_id)
        });
        // NOTE: results that were confirmed by reading the run after a lost
        // response have no known result id, so their files are not attached.
        if without_id > 0 {
            warn!(
                attachments = without_id,
                "attachments of results confirmed after a lost answer are not uploaded"
            );
        }
        if todo.is_empty() {
            return Ok(());
        }

        let outcomes: Vec<Result<(), SyncError>> = stream::iter(todo)
            .map(|(result, attachment, result_id)| self.upload_one(result, attachment, result_id))
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;
        self.save()?;
        outcomes.into_iter().collect()
    }

    async fn upload_one(
        &self,
        result: usize,
        attachment: usize,
        result_id: u64,
    ) -> Result<(), SyncError> {
        let planned = self.with_journal(|j| j.plan.results[result].attachments[attachment].clone());
        let bytes = match planned.read() {
            Ok(bytes) => bytes,
            Err(error) => {
                warn!(file = %planned.file_name, %error, "attachment cannot be read; skipping it");
                self.with_journal(|j| j.attachments_done.insert((result, attachment)));
                return Ok(());
            }
        };

        match self
            .client
            .add_attachment_to_result(result_id, &planned.file_name, bytes.into())
            .await
        {
            Ok(attachment_id) => {
                debug!(result_id, attachment_id, file = %planned.file_name, "attached file");
                self.with_journal(|j| {
                    j.attachments_done.insert((result, attachment));
                    j.attachments_uploaded += 1;
                });
                self.save()
            }
            Err(error) if is_transient(&error) => Err(SyncError::api(
                format!("attaching `{}` to result {result_id}", planned.file_name),
                error,
            )),
            Err(error) => {
                warn!(result_id, file = %planned.file_name, %error, "TestRail rejected an attachment");
                self.with_journal(|j| {
                    j.attachments_done.insert((result, attachment));
                    j.rejected_writes.push(format!(
                        "attaching `{}` to result {result_id} failed: {error}",
                        planned.file_name
                    ));
                });
                Ok(())
            }
        }
    }
}
