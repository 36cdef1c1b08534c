//! Maps test outcomes to TestRail status ids by status name.

use std::collections::BTreeMap;

use testrail_api::models::Status;
use trail_reports::Outcome;

use crate::error::SyncError;

/// Outcome names accepted on the left of a status override.
pub const OUTCOME_NAMES: [&str; 7] = [
    "passed",
    "failed",
    "error",
    "timedout",
    "interrupted",
    "skipped",
    "flaky",
];

/// Status ids per outcome, resolved against an instance's statuses.
#[derive(Debug, Clone)]
pub struct StatusMap {
    ids: BTreeMap<&'static str, Option<u64>>,
    names: BTreeMap<u64, String>,
}

impl StatusMap {
    /// Resolves trail's default mapping and the user's overrides against
    /// the statuses of the instance.
    ///
    /// Passed maps to Passed; failed, error and timed-out to Failed;
    /// interrupted to Blocked; a flaky pass to Passed. Skipped tests are
    /// not posted unless an override names a status for them.
    pub fn resolve(
        statuses: &[Status],
        overrides: &[(String, String)],
    ) -> Result<StatusMap, SyncError> {
        let names = statuses
            .iter()
            .map(|s| {
                (
                    s.id,
                    if s.label.is_empty() {
                        s.name.clone()
                    } else {
                        s.label.clone()
                    },
                )
            })
            .collect();
        let mut map = StatusMap {
            ids: BTreeMap::new(),
            names,
        };

        let defaults: [(&'static str, Option<&str>); 7] = [
            ("passed", Some("passed")),
            ("failed", Some("failed")),
            ("error", Some("failed")),
            ("timedout", Some("failed")),
            ("interrupted", Some("blocked")),
            ("skipped", None),
            ("flaky", Some("passed")),
        ];
        for (outcome, status) in defaults {
            let id =
                match status {
                    Some(name) => Some(find_status(statuses, name).ok_or_else(|| {
                        SyncError::Config {
                            setting: "statuses".into(),
                            message: format!("the instance has no status named `{name}`"),
                            hint: format!(
                                "map `{outcome}` to an existing status with --status {outcome}=NAME"
                            ),
                        }
                    })?),
                    None => None,
                };
            map.ids.insert(outcome, id);
        }

        for (outcome, status) in overrides {
            let key = OUTCOME_NAMES
                .iter()
                .find(|name| name.eq_ignore_ascii_case(outcome.trim()))
                .ok_or_else(|| SyncError::Config {
                    setting: "--status".into(),
                    message: format!("unknown outcome `{outcome}`"),
                    hint: format!("use one of: {}", OUTCOME_NAMES.join(", ")),
                })?;
            let status = status.trim();
            let id = if status.eq_ignore_ascii_case("none") {
                None
            } else {
                let id = find_status(statuses, status).ok_or_else(|| {
                    let known: Vec<String> = statuses.iter().map(|s| s.name.clone()).collect();
                    SyncError::Config {
                        setting: "--status".into(),
                        message: format!("the instance has no status named `{status}`"),
                        hint: format!("statuses on this instance: {}, or none", known.join(", ")),
                    }
                })?;
                if statuses
                    .iter()
                    .any(|s| s.id == id && (s.is_untested || s.id == 3))
                {
                    return Err(SyncError::Config {
                        setting: "--status".into(),
                        message: format!(
                            "`{status}` is the Untested status, which TestRail does not accept as a result"
                        ),
                        hint: format!("use --status {key}=none to leave such tests unposted"),
                    });
                }
                Some(id)
            };
            map.ids.insert(key, id);
        }
        Ok(map)
    }

    /// Returns the status id for an outcome, or `None` when the outcome is
    /// not posted.
    pub fn status_for(&self, outcome: Outcome, flaky: bool) -> Option<u64> {
        if flaky && outcome == Outcome::Passed {
            return self.ids.get("flaky").copied().flatten();
        }
        self.ids.get(outcome.as_str()).copied().flatten()
    }

    /// Returns the display name of a status id.
    pub fn name_of(&self, status_id: u64) -> String {
        self.names
            .get(&status_id)
            .cloned()
            .unwrap_or_else(|| format!("status {status_id}"))
    }
}

fn find_status(statuses: &[Status], wanted: &str) -> Option<u64> {
    let wanted = wanted.trim();
    statuses
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(wanted) || s.label.eq_ignore_ascii_case(wanted))
        .map(|s| s.id)
        .or_else(|| {
            wanted
                .parse::<u64>()
                .ok()
                .filter(|id| statuses.iter().any(|s| s.id == *id))
        })
}
