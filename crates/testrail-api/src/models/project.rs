use serde::{Deserialize, Serialize};

use super::Extra;
use super::lenient;

/// A TestRail project (`get_projects`, `get_project`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Project {
    /// Project id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Project name.
    #[serde(default)]
    pub name: String,
    /// Suite mode: 1 single suite, 2 single suite with baselines, 3 multiple suites.
    #[serde(default)]
    pub suite_mode: u8,
    /// True when the project is completed (archived).
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_completed: bool,
    /// Link to the project in TestRail's web interface.
    #[serde(default)]
    pub url: Option<String>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A test suite (`get_suites`, `add_suite`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Suite {
    /// Suite id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Suite name.
    #[serde(default)]
    pub name: String,
    /// Project the suite belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub project_id: Option<u64>,
    /// Suite description.
    #[serde(default)]
    pub description: Option<String>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Body of `add_suite`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewSuite {
    /// Suite name (required).
    pub name: String,
    /// Suite description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl NewSuite {
    /// Creates a suite body with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        NewSuite {
            name: name.into(),
            description: None,
        }
    }
}

/// A section of a suite (`get_sections`, `add_section`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Section {
    /// Section id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Suite the section belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub suite_id: Option<u64>,
    /// Section name.
    #[serde(default)]
    pub name: String,
    /// Section description.
    #[serde(default)]
    pub description: Option<String>,
    /// Parent section, or `None` for a top-level section.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub parent_id: Option<u64>,
    /// Nesting level, 0 for a top-level section.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub depth: u64,
    /// Position among its siblings.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub display_order: u64,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Body of `add_section`; `None` fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewSection {
    /// Section name (required).
    pub name: String,
    /// Suite to add it to; required for projects with several suites.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite_id: Option<u64>,
    /// Parent section, for a nested section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<u64>,
    /// Section description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl NewSection {
    /// Creates a top-level section body with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        NewSection {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Sets the suite.
    pub fn suite(mut self, suite_id: u64) -> Self {
        self.suite_id = Some(suite_id);
        self
    }

    /// Sets the parent section.
    pub fn parent(mut self, parent_id: u64) -> Self {
        self.parent_id = Some(parent_id);
        self
    }
}

/// A TestRail user (`get_users`, `get_user_by_email`, `get_current_user`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// User id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Full name.
    #[serde(default)]
    pub name: String,
    /// Email address.
    #[serde(default)]
    pub email: String,
    /// True when the account is active.
    #[serde(
        default = "lenient::default_true",
        deserialize_with = "lenient::bool_default_true"
    )]
    pub is_active: bool,
    /// Fields not named above, such as `role_id` and `role`.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A milestone (`get_milestones`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Milestone {
    /// Milestone id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Milestone name.
    #[serde(default)]
    pub name: String,
    /// Milestone description.
    #[serde(default)]
    pub description: Option<String>,
    /// Project the milestone belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub project_id: Option<u64>,
    /// Parent milestone, for a sub-milestone.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub parent_id: Option<u64>,
    /// Due date as a UNIX timestamp.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub due_on: Option<i64>,
    /// True when the milestone is completed.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_completed: bool,
    /// Link to the milestone in TestRail's web interface.
    #[serde(default)]
    pub url: Option<String>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A configuration group and its configurations (`get_configs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConfigGroup {
    /// Group id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Group name, such as `Browsers`.
    #[serde(default)]
    pub name: String,
    /// Project the group belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub project_id: Option<u64>,
    /// Configurations in the group.
    #[serde(default, deserialize_with = "lenient::null_as_empty")]
    pub configs: Vec<Config>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One configuration of a [`ConfigGroup`], such as `Firefox`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Config {
    /// Configuration id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Configuration name.
    #[serde(default)]
    pub name: String,
    /// Group the configuration belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub group_id: Option<u64>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}
