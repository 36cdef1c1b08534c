//! Seed files: the initial content of an emulated TestRail instance.
//!
//! A seed is a JSON object. Every top-level key is optional, and a missing key
//! falls back to the default of a fresh TestRail Cloud instance set up for
//! automation (see [`Seed::default_instance`]):
//!
//! ```json
//! {
//!   "users": [{"id": 1, "name": "Administrator", "email": "admin@example.com"}],
//!   "projects": [
//!     {"id": 1, "name": "Demo", "suite_mode": 1, "suites": [{"id": 1, "name": "Master"}]},
//!     {"id": 2, "name": "Mobile", "suite_mode": 3,
//!      "suites": [{"id": 2, "name": "iOS"}, {"id": 3, "name": "Android"}]}
//!   ],
//!   "sections": [{"id": 1, "suite_id": 1, "name": "Login", "parent_id": null}],
//!   "cases": [{"id": 1, "section_id": 1, "title": "Valid password",
//!              "custom_automation_id": "auth.Login.valid_password"}],
//!   "statuses": [{"id": 6, "name": "custom_status1", "label": "Flaky"}],
//!   "case_fields": [], "result_fields": [], "templates": [],
//!   "case_types": [], "priorities": []
//! }
//! ```
//!
//! `statuses` lists statuses in addition to the five system statuses (an entry
//! with the id of a system status replaces it). The other lists replace their
//! defaults when present. Cases keep every `custom_*` key they are given.
//! Ids that are left out are assigned in order of appearance.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Error while reading a seed file.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("failed to read seed file `{path}`")]
    Read {
        /// Path of the seed file.
        path: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid seed document.
    #[error("invalid seed file `{path}`: {source}")]
    Parse {
        /// Path of the seed file.
        path: String,
        /// Underlying JSON error with line and column.
        #[source]
        source: serde_json::Error,
    },
}

/// Initial content of an emulated instance; see the module documentation for
/// the JSON format.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seed {
    /// Users; the configured API user is added when no user has its email.
    pub users: Option<Vec<SeedUser>>,
    /// Projects with their suites.
    pub projects: Option<Vec<SeedProject>>,
    /// Sections of the suites above.
    pub sections: Vec<SeedSection>,
    /// Test cases in the sections above.
    pub cases: Vec<SeedCase>,
    /// Statuses added to (or replacing) the five system statuses.
    pub statuses: Vec<Value>,
    /// Case field definitions, as returned by `get_case_fields`.
    pub case_fields: Option<Vec<Value>>,
    /// Result field definitions, as returned by `get_result_fields`.
    pub result_fields: Option<Vec<Value>>,
    /// Templates (field layouts), as returned by `get_templates`.
    pub templates: Option<Vec<Value>>,
    /// Case types, as returned by `get_case_types`.
    pub case_types: Option<Vec<Value>>,
    /// Priorities, as returned by `get_priorities`.
    pub priorities: Option<Vec<Value>>,
}

/// User entry of a seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedUser {
    /// User id; assigned when absent.
    #[serde(default)]
    pub id: Option<u64>,
    /// Full name.
    pub name: String,
    /// Email address, also the login name.
    pub email: String,
    /// Whether the user is active.
    #[serde(default = "default_true")]
    pub is_active: bool,
}

/// Project entry of a seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedProject {
    /// Project id; assigned when absent.
    #[serde(default)]
    pub id: Option<u64>,
    /// Project name.
    pub name: String,
    /// Suite mode: 1 single suite, 2 single suite with baselines, 3 multiple suites.
    #[serde(default = "default_suite_mode")]
    pub suite_mode: u8,
    /// Announcement text shown on the project page.
    #[serde(default)]
    pub announcement: Option<String>,
    /// Suites of the project; a single-suite project without one gets `Master`.
    #[serde(default)]
    pub suites: Vec<SeedSuite>,
}

/// Suite entry of a seed project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedSuite {
    /// Suite id; assigned when absent.
    #[serde(default)]
    pub id: Option<u64>,
    /// Suite name.
    pub name: String,
    /// Suite description.
    #[serde(default)]
    pub description: Option<String>,
}

/// Section entry of a seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedSection {
    /// Section id; assigned when absent.
    #[serde(default)]
    pub id: Option<u64>,
    /// Suite the section belongs to.
    pub suite_id: u64,
    /// Section name.
    pub name: String,
    /// Parent section in the same suite, or none for a top-level section.
    #[serde(default)]
    pub parent_id: Option<u64>,
    /// Section description.
    #[serde(default)]
    pub description: Option<String>,
}

/// Case entry of a seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedCase {
    /// Case id; assigned when absent.
    #[serde(default)]
    pub id: Option<u64>,
    /// Section the case belongs to.
    pub section_id: u64,
    /// Case title.
    pub title: String,
    /// Every other field (`type_id`, `priority_id`, `refs`, `custom_*`, ...).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

fn default_true() -> bool {
    true
}

fn default_suite_mode() -> u8 {
    1
}

impl Seed {
    /// Reads a seed from a JSON file.
    ///
    /// # Errors
    ///
    /// Returns [`SeedError`] when the file cannot be read or parsed.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Seed, SeedError> {
        let path = path.as_ref();
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: display.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| SeedError::Parse {
            path: display,
            source,
        })
    }

    /// Returns the seed of a fresh instance: one user, project 1 `Demo` in
    /// single-suite mode with suite 1 `Master`, and the default metadata.
    pub fn default_instance() -> Seed {
        Seed::default()
    }
}

/// Default users: only the administrator.
pub(crate) fn default_users(api_user: &str) -> Vec<SeedUser> {
    vec![SeedUser {
        id: Some(1),
        name: "Administrator".into(),
        email: api_user.into(),
        is_active: true,
    }]
}

/// Default projects: `Demo`, single-suite, with the suite `Master`.
pub(crate) fn default_projects() -> Vec<SeedProject> {
    vec![SeedProject {
        id: Some(1),
        name: "Demo".into(),
        suite_mode: 1,
        announcement: None,
        suites: vec![SeedSuite {
            id: Some(1),
            name: "Master".into(),
            description: None,
        }],
    }]
}

/// The five system statuses with TestRail's default colours.
pub(crate) fn default_statuses() -> Vec<Value> {
    let status = |id: u64, name: &str, label: &str, colors: [u64; 3], is_final: bool| {
        json!({
            "id": id,
            "name": name,
            "label": label,
            "color_dark": colors[0],
            "color_medium": colors[1],
            "color_bright": colors[2],
            "is_system": true,
            "is_untested": id == 3,
            "is_final": is_final,
        })
    };
    vec![
        status(1, "passed", "Passed", [6667107, 9820525, 12709313], true),
        status(2, "blocked", "Blocked", [9474192, 13684944, 14737632], true),
        status(
            3,
            "untested",
            "Untested",
            [11579568, 15395562, 15790320],
            false,
        ),
        status(4, "retest", "Retest", [13026590, 15593644, 16448250], false),
        status(5, "failed", "Failed", [14250867, 15829135, 16631751], true),
    ]
}

/// Default case types; `Other` is the default.
pub(crate) fn default_case_types() -> Vec<Value> {
    let names = [
        "Acceptance",
        "Accessibility",
        "Automated",
        "Compatibility",
        "Destructive",
        "Functional",
        "Other",
        "Performance",
        "Regression",
        "Security",
        "Smoke & Sanity",
        "Usability",
        "Exploratory",
    ];
    names
        .iter()
        .zip(1u64..)
        .map(|(name, id)| json!({"id": id, "name": name, "is_default": *name == "Other"}))
        .collect()
}

/// Default priorities; `Medium` is the default.
pub(crate) fn default_priorities() -> Vec<Value> {
    let entries = [
        (1, "Low", "1 - Low"),
        (2, "Medium", "2 - Medium"),
        (3, "High", "3 - High"),
        (4, "Critical", "4 - Critical"),
    ];
    entries
        .iter()
        .map(|(id, short, name)| {
            json!({
                "id": id,
                "name": name,
                "short_name": short,
                "priority": id,
                "is_default": *id == 2,
            })
        })
        .collect()
}

/// Default templates; `Test Case (Text)` is the default.
pub(crate) fn default_templates() -> Vec<Value> {
    vec![
        json!({"id": 1, "name": "Test Case (Text)", "is_default": true}),
        json!({"id": 2, "name": "Test Case (Steps)", "is_default": false}),
        json!({"id": 3, "name": "Exploratory Session", "is_default": false}),
    ]
}

/// Builds one field definition in the shape of `get_case_fields`.
fn field(
    id: u64,
    system_name: &str,
    label: &str,
    type_id: u64,
    template_ids: &[u64],
    items: Option<&str>,
    default_value: &str,
) -> Value {
    let name = system_name.trim_start_matches("custom_");
    let mut options = json!({"is_required": false, "default_value": default_value});
    if let Some(items) = items {
        options["items"] = json!(items);
    }
    json!({
        "id": id,
        "is_active": true,
        "type_id": type_id,
        "name": name,
        "system_name": system_name,
        "label": label,
        "description": null,
        "configs": [{
            "id": format!("field-{id}-global"),
            "context": {"is_global": true, "project_ids": null},
            "options": options,
        }],
        "display_order": id,
        "include_all": template_ids.is_empty(),
        "template_ids": template_ids,
    })
}

/// Default case fields: text fields of the two test-case templates plus the
/// fields automation tools look for.
pub(crate) fn default_case_fields() -> Vec<Value> {
    vec![
        field(1, "custom_preconds", "Preconditions", 3, &[1, 2], None, ""),
        field(2, "custom_steps", "Steps", 3, &[1], None, ""),
        field(3, "custom_expected", "Expected Result", 3, &[1], None, ""),
        field(4, "custom_steps_separated", "Steps", 10, &[2], None, ""),
        field(5, "custom_automation_id", "Automation ID", 1, &[], None, ""),
        field(
            6,
            "custom_automation_type",
            "Automation Type",
            6,
            &[],
            Some("0, None\n1, Automated\n2, To Be Automated"),
            "0",
        ),
        field(
            7,
            "custom_platform",
            "Platform",
            6,
            &[],
            Some("1, Web\n2, iOS\n3, Android\n4, API"),
            "1",
        ),
    ]
}

/// Default result fields: the step results of the `Test Case (Steps)` template.
pub(crate) fn default_result_fields() -> Vec<Value> {
    vec![field(
        101,
        "custom_step_results",
        "Step Results",
        11,
        &[2],
        None,
        "",
    )]
}
