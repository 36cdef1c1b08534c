//! Shards on many machines that report into one run and close it when the
//! last one is done.
//!
//! Shards share nothing but TestRail, so each one records that it is done
//! as a line `trail: shard I/N done` in the run's description. TestRail has
//! no compare-and-set, so the line is written with re-read, merge and
//! verify: the description is read, the line is added, the run is updated,
//! and after a pause the description is read again until the line stays.
//! The shard that sees all N lines closes the run.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;
use testrail_api::Client;
use testrail_api::models::{Run, RunFilter, RunUpdate};
use tracing::{debug, info};

use crate::error::SyncError;
use crate::options::ProjectRef;

/// How many times a shard's line is written before trail gives up.
const MAX_ROUNDS: usize = 12;

/// A shard: number `index` of `total`, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Shard {
    /// Shard number, from 1 to `total`.
    pub index: u32,
    /// Number of shards.
    pub total: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Reads `I/N` with 1 <= I <= N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let invalid = || format!("`{text}` is not I/N with 1 <= I <= N, such as 3/12");
        let (index, total) = text.trim().split_once('/').ok_or_else(invalid)?;
        let index: u32 = index.trim().parse().map_err(|_| invalid())?;
        let total: u32 = total.trim().parse().map_err(|_| invalid())?;
        if index == 0 || total == 0 || index > total {
            return Err(invalid());
        }
        Ok(Shard { index, total })
    }
}

impl Shard {
    /// Reads the shard from CI variables: `TRAIL_SHARD` (`I/N`), else
    /// GitLab's `CI_NODE_INDEX` and `CI_NODE_TOTAL` (both from 1). GitHub
    /// Actions and Jenkins have no standard variables, so a matrix passes
    /// `TRAIL_SHARD` or `--shard` itself.
    pub fn from_env() -> Result<Option<Shard>, String> {
        Shard::from_vars(|name| std::env::var(name).ok())
    }

    /// Same as [`Shard::from_env`] with a custom variable lookup.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
        if let Some(text) = get("TRAIL_SHARD").filter(|t| !t.trim().is_empty()) {
            return text
                .parse()
                .map(Some)
                .map_err(|e| format!("TRAIL_SHARD: {e}"));
        }
        match (get("CI_NODE_INDEX"), get("CI_NODE_TOTAL")) {
            (Some(index), Some(total)) => format!("{index}/{total}")
                .parse()
                .map(Some)
                .map_err(|e| format!("CI_NODE_INDEX and CI_NODE_TOTAL: {e}")),
            _ => Ok(None),
        }
    }

    /// The description line that marks this shard as done.
    pub fn done_line(&self) -> String {
        format!("trail: shard {self} done")
    }
}

/// Shards of `total` that a run description marks as done.
pub fn shards_done(description: &str, total: u32) -> BTreeSet<u32> {
    description
        .lines()
        .filter_map(|line| line.trim().strip_prefix("trail: shard "))
        .filter_map(|rest| rest.strip_suffix(" done"))
        .filter_map(|shard| shard.parse::<Shard>().ok())
        .filter(|shard| shard.total == total)
        .map(|shard| shard.index)
        .collect()
}

/// What [`mark_done`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardProgress {
    /// Shards marked done, this one included.
    pub done: BTreeSet<u32>,
    /// Number of shards.
    pub total: u32,
    /// True when this call closed the run.
    pub closed: bool,
}

/// Records in run `run_id` that `shard` is done and, when `close` is set
/// and every shard is done, closes the run.
pub async fn mark_done(
    client: &Client,
    run_id: u64,
    shard: Shard,
    close: bool,
) -> Result<ShardProgress, SyncError> {
    let line = shard.done_line();
    let mut pause = Duration::from_millis(50);
    for round in 0..MAX_ROUNDS {
        let started = Instant::now();
        let run = client
            .get_run(run_id)
            .await
            .map_err(|e| SyncError::api(format!("reading run {run_id}"), e))?;
        let description = run.description.clone().unwrap_or_default();
        let done = shards_done(&description, shard.total);

        if done.contains(&shard.index) && round > 0 {
            let progress = ShardProgress {
                closed: close
                    && done.len() == shard.total as usize
                    && close_run(client, run_id).await?,
                done,
                total: shard.total,
            };
            info!(run_id, shard = %shard, done = progress.done.len(), closed = progress.closed, "shard marked done");
            return Ok(progress);
        }
        if run.is_completed {
            return Ok(ShardProgress {
                done,
                total: shard.total,
                closed: false,
            });
        }
        if !done.contains(&shard.index) {
            let mut updated = description.trim_end().to_owned();
            if !updated.is_empty() {
                updated.push('\n');
            }
            updated.push_str(&line);
            let body = RunUpdate {
                description: Some(updated),
                ..RunUpdate::default()
            };
            client.update_run(run_id, &body).await.map_err(|e| {
                SyncError::api(format!("marking shard {shard} done in run {run_id}"), e)
            })?;
            // A writer that read the description before this update may
            // still overwrite it, so the check waits about as long as one
            // read and write take.
            pause =
                (started.elapsed() * 2).clamp(Duration::from_millis(50), Duration::from_secs(5));
        }
        debug!(run_id, shard = %shard, round, "checking the shard mark");
        tokio::time::sleep(pause).await;
    }
    Err(SyncError::Config {
        setting: "--shard".into(),
        message: format!("the mark of shard {shard} kept disappearing from run {run_id}"),
        hint: "another program is rewriting the run's description; close the run with `trail run close` once every shard is done".into(),
    })
}

/// Finds the open run named `name`, the one with the lowest id when
/// concurrent uploads created several.
pub async fn find_open_run(
    client: &Client,
    project: &ProjectRef,
    suite_id: Option<u64>,
    name: &str,
) -> Result<Option<Run>, SyncError> {
    let project_id = match project {
        ProjectRef::Id(id) => *id,
        ProjectRef::Name(wanted) => {
            let projects = client
                .get_projects()
                .await
                .map_err(|e| SyncError::api("reading projects", e))?;
            let found = projects.iter().find(|p| &p.name == wanted).or_else(|| {
                projects
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(wanted))
            });
            match found {
                Some(project) => project.id,
                None => {
                    return Err(SyncError::Config {
                        setting: "--project".into(),
                        message: format!("no project named `{wanted}`"),
                        hint: "check the name, or pass the project id".into(),
                    });
                }
            }
        }
    };
    let filter = RunFilter {
        is_completed: Some(false),
        suite_id,
        ..RunFilter::default()
    };
    let runs = client
        .get_runs(project_id, &filter)
        .await
        .map_err(|e| SyncError::api("reading open runs", e))?;
    Ok(runs
        .into_iter()
        .filter(|r| r.name == name && !r.is_completed)
        .filter(|r| suite_id.is_none_or(|s| r.suite_id.is_none_or(|id| id == s)))
        .min_by_key(|r| r.id))
}

/// Closes a run; returns false when it was closed already.
pub async fn close_run(client: &Client, run_id: u64) -> Result<bool, SyncError> {
    match client.close_run(run_id).await {
        Ok(_) => Ok(true),
        Err(error) if error.status() == Some(400) => {
            let closed = client.get_run(run_id).await.is_ok_and(|r| r.is_completed);
            if closed {
                Ok(false)
            } else {
                Err(SyncError::api(format!("closing run {run_id}"), error))
            }
        }
        Err(error) => Err(SyncError::api(format!("closing run {run_id}"), error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_forms() {
        assert_eq!(
            "3/12".parse(),
            Ok(Shard {
                index: 3,
                total: 12
            })
        );
        assert!("0/2".parse::<Shard>().is_err());
        assert!("3/2".parse::<Shard>().is_err());
        assert!("3".parse::<Shard>().is_err());
    }

    #[test]
    fn shard_from_gitlab_vars() {
        let vars = |name: &str| match name {
            "CI_NODE_INDEX" => Some("2".to_owned()),
            "CI_NODE_TOTAL" => Some("4".to_owned()),
            _ => None,
        };
        assert_eq!(
            Shard::from_vars(vars),
            Ok(Some(Shard { index: 2, total: 4 }))
        );
        assert_eq!(Shard::from_vars(|_| None), Ok(None));
        let bad = |name: &str| (name == "TRAIL_SHARD").then(|| "5/4".to_owned());
        assert!(Shard::from_vars(bad).is_err());
    }

    #[test]
    fn done_lines_are_counted_per_total() {
        let text =
            "Nightly build\ntrail: shard 1/3 done\ntrail: shard 3/3 done\ntrail: shard 2/4 done";
        assert_eq!(shards_done(text, 3), BTreeSet::from([1, 3]));
        assert_eq!(shards_done(text, 4), BTreeSet::from([2]));
    }
}
