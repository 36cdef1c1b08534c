use serde::{Deserialize, Serialize};

use super::Extra;
use super::lenient;

/// A result of a test (`get_results_for_run`, `get_results_for_case`,
/// `add_result_for_case`, `add_results_for_cases`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResultEntry {
    /// Result id; attachments are added to it.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Test the result belongs to.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub test_id: u64,
    /// Status id; `None` for a comment without a status change.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub status_id: Option<u64>,
    /// Comment or failure message.
    #[serde(default)]
    pub comment: Option<String>,
    /// Time taken as a timespan, such as `1m 5s`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub elapsed: Option<String>,
    /// Version (build) tested.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub version: Option<String>,
    /// Comma-separated defect ids.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub defects: Option<String>,
    /// Creation time as a UNIX timestamp.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_on: Option<i64>,
    /// User the test was assigned to by this result.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub assignedto_id: Option<u64>,
    /// Attachments of the result.
    #[serde(default, deserialize_with = "lenient::null_as_empty")]
    pub attachment_ids: Vec<AttachmentId>,
    /// Fields not named above, custom result fields included.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Id of an attachment: a number, or a string in the format that
/// TestRail Cloud uses since release 7.1.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttachmentId {
    /// Numeric id.
    Number(u64),
    /// String id.
    Text(String),
}

/// One result to post, for `add_result_for_case` or
/// `add_results_for_cases`. `None` fields are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewResult {
    /// Case the result is for.
    pub case_id: u64,
    /// Status id; Untested (3) is rejected by TestRail.
    pub status_id: u64,
    /// Comment or failure message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Time taken as a timespan in whole units, such as `1m 5s`; TestRail
    /// rejects `0s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<String>,
    /// Version (build) tested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Comma-separated defect ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defects: Option<String>,
    /// User to assign the test to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignedto_id: Option<u64>,
    /// Custom result fields by system name, such as `custom_step_results`.
    /// Entries whose value is `null` are not sent.
    #[serde(flatten, serialize_with = "serialize_without_nulls")]
    pub custom: Extra,
}

impl NewResult {
    /// Creates a result with only a case and a status.
    pub fn new(case_id: u64, status_id: u64) -> Self {
        NewResult {
            case_id,
            status_id,
            ..Default::default()
        }
    }

    /// Sets the comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Sets the elapsed timespan.
    pub fn elapsed(mut self, elapsed: impl Into<String>) -> Self {
        self.elapsed = Some(elapsed.into());
        self
    }

    /// Sets a custom field; `name` is the system name (`custom_*`).
    pub fn custom_field(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.custom.insert(name.into(), value);
        self
    }
}

fn serialize_without_nulls<S: serde::Serializer>(
    map: &Extra,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(map.iter().filter(|(_, value)| !value.is_null()))
}
