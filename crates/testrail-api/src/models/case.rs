use serde::{Deserialize, Serialize};

use super::Extra;
use super::lenient;

/// A test case (`get_case`, `get_cases`, `add_case`, `update_case`).
///
/// Custom fields such as `custom_automation_id` are in [`Case::extra`];
/// [`Case::custom`] reads one by its system name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Case {
    /// Case id (the number after `C`).
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Case title.
    #[serde(default)]
    pub title: String,
    /// Section the case belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub section_id: Option<u64>,
    /// Suite the case belongs to.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub suite_id: Option<u64>,
    /// Template (field layout) of the case.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub template_id: Option<u64>,
    /// Case type, see `get_case_types`.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub type_id: Option<u64>,
    /// Priority, see `get_priorities`.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub priority_id: Option<u64>,
    /// Milestone linked to the case.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub milestone_id: Option<u64>,
    /// Comma-separated references, such as `RF-1, RF-2`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub refs: Option<String>,
    /// Estimate as a timespan, such as `1m 5s`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub estimate: Option<String>,
    /// Creation time as a UNIX timestamp.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_on: Option<i64>,
    /// Last update time as a UNIX timestamp.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub updated_on: Option<i64>,
    /// Fields not named above, custom fields included.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Case {
    /// Returns a custom field by its system name (`custom_automation_id`)
    /// or by its name without the `custom_` prefix; `None` when absent or
    /// `null`.
    pub fn custom(&self, name: &str) -> Option<&serde_json::Value> {
        let value = match self.extra.get(name) {
            Some(value) => Some(value),
            None => self.extra.get(&format!("custom_{name}")),
        };
        value.filter(|value| !value.is_null())
    }
}

/// Filters of `get_cases`; `None` fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Suite to list; required for projects with several suites.
    pub suite_id: Option<u64>,
    /// Only cases in this section (not its subsections).
    pub section_id: Option<u64>,
    /// Only cases whose title contains this text.
    pub title_contains: Option<String>,
    /// Only cases that reference one of these comma-separated ids.
    pub refs: Option<String>,
    /// Only cases with this template.
    pub template_id: Option<u64>,
    /// Only cases of this type.
    pub type_id: Option<u64>,
    /// Only cases with this priority.
    pub priority_id: Option<u64>,
    /// Only cases created at or after this UNIX timestamp.
    pub created_after: Option<i64>,
    /// Only cases updated at or after this UNIX timestamp.
    pub updated_after: Option<i64>,
    /// Page size; TestRail caps it at 250.
    pub limit: Option<u32>,
}

impl CaseFilter {
    /// Creates a filter for one suite.
    pub fn suite(suite_id: u64) -> Self {
        CaseFilter {
            suite_id: Some(suite_id),
            ..Default::default()
        }
    }

    /// Returns the `&key=value` query suffix.
    pub(crate) fn to_query(&self) -> String {
        let mut query = String::new();
        push_param(&mut query, "suite_id", self.suite_id);
        push_param(&mut query, "section_id", self.section_id);
        push_param(&mut query, "template_id", self.template_id);
        push_param(&mut query, "type_id", self.type_id);
        push_param(&mut query, "priority_id", self.priority_id);
        push_param(&mut query, "created_after", self.created_after);
        push_param(&mut query, "updated_after", self.updated_after);
        push_param(&mut query, "limit", self.limit);
        push_text_param(&mut query, "filter", self.title_contains.as_deref());
        push_text_param(&mut query, "refs", self.refs.as_deref());
        query
    }
}

pub(crate) fn push_param(query: &mut String, key: &str, value: Option<impl std::fmt::Display>) {
    if let Some(value) = value {
        query.push_str(&format!("&{key}={value}"));
    }
}

pub(crate) fn push_text_param(query: &mut String, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        query.push_str(&format!("&{key}={encoded}"));
    }
}

/// Definition of a custom case field (`get_case_fields`).
///
/// The same shape describes custom result fields, see [`ResultField`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaseField {
    /// Field id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Key of the field in case JSON, such as `custom_automation_id`.
    #[serde(default)]
    pub system_name: String,
    /// Name without the `custom_` prefix.
    #[serde(default)]
    pub name: String,
    /// Label shown in the web interface.
    #[serde(default)]
    pub label: String,
    /// Field description.
    #[serde(default)]
    pub description: Option<String>,
    /// Field type: 1 String, 2 Integer, 3 Text, 4 URL, 5 Checkbox,
    /// 6 Dropdown, 7 User, 8 Date, 9 Milestone, 10 Steps, 12 Multi-select.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub type_id: u64,
    /// True when the field is active; read as true when TestRail omits it.
    #[serde(
        default = "lenient::default_true",
        deserialize_with = "lenient::bool_default_true"
    )]
    pub is_active: bool,
    /// Per-project configurations of the field.
    #[serde(default, deserialize_with = "lenient::null_as_empty")]
    pub configs: Vec<CaseFieldConfig>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Definition of a custom result field (`get_result_fields`), which has
/// the same shape as a case field.
pub type ResultField = CaseField;

/// Type id of a dropdown field.
pub const FIELD_TYPE_DROPDOWN: u64 = 6;
/// Type id of a steps field.
pub const FIELD_TYPE_STEPS: u64 = 10;
/// Type id of a multi-select field.
pub const FIELD_TYPE_MULTI_SELECT: u64 = 12;

impl CaseField {
    /// Returns the configuration that applies to a project: one that lists
    /// the project, else a global one.
    pub fn config_for_project(&self, project_id: u64) -> Option<&CaseFieldConfig> {
        let listed = self.configs.iter().find(|config| {
            config
                .context
                .project_ids
                .as_ref()
                .is_some_and(|ids| ids.contains(&project_id))
        });
        listed.or_else(|| self.configs.iter().find(|config| config.context.is_global))
    }

    /// Reports whether the field is active and configured for a project.
    pub fn applies_to_project(&self, project_id: u64) -> bool {
        self.is_active && self.config_for_project(project_id).is_some()
    }
}

/// One configuration of a custom field: where it applies and its options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaseFieldConfig {
    /// Projects the configuration applies to.
    #[serde(default)]
    pub context: CaseFieldContext,
    /// Options of the field in those projects.
    #[serde(default)]
    pub options: CaseFieldOptions,
    /// Fields not named above, such as the configuration `id`.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Projects a [`CaseFieldConfig`] applies to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaseFieldContext {
    /// True when the configuration applies to every project.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_global: bool,
    /// Projects it applies to when not global; `null` when global.
    #[serde(default)]
    pub project_ids: Option<Vec<u64>>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Options of a [`CaseFieldConfig`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaseFieldOptions {
    /// True when a value is required.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_required: bool,
    /// Default value; its JSON type depends on the field type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<serde_json::Value>,
    /// Choices of a dropdown or multi-select field, one `id, label` per line.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub items: Option<String>,
    /// Fields not named above, such as `format` and `rows`.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CaseFieldOptions {
    /// Parses [`CaseFieldOptions::items`] (`"1, Automated\n2, Manual"`)
    /// into `(id, label)` pairs in their order. Lines without a numeric id
    /// before the first comma are skipped.
    pub fn dropdown_items(&self) -> Vec<(u64, String)> {
        let Some(items) = &self.items else {
            return Vec::new();
        };
        items
            .lines()
            .filter_map(|line| {
                let (id, label) = line.split_once(',')?;
                let id = id.trim().parse().ok()?;
                Some((id, label.trim().to_owned()))
            })
            .collect()
    }
}

/// A case type, such as `Automated` (`get_case_types`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaseType {
    /// Case type id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Case type name.
    #[serde(default)]
    pub name: String,
    /// True for the type new cases get by default.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_default: bool,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A case priority (`get_priorities`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Priority {
    /// Priority id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Priority name, such as `2 - Medium`.
    #[serde(default)]
    pub name: String,
    /// Short name, such as `Medium`.
    #[serde(default)]
    pub short_name: String,
    /// Rank; a higher number is a higher priority.
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub priority: u64,
    /// True for the priority new cases get by default.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_default: bool,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A case template (field layout) (`get_templates`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Template {
    /// Template id.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// Template name, such as `Test Case (Steps)`.
    #[serde(default)]
    pub name: String,
    /// True for the template new cases get by default.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_default: bool,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A test status, system or custom (`get_statuses`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Status {
    /// Status id: 1 Passed, 2 Blocked, 3 Untested, 4 Retest, 5 Failed,
    /// custom statuses from 6.
    #[serde(deserialize_with = "lenient::u64")]
    pub id: u64,
    /// System name, such as `passed` or `custom_status1`.
    #[serde(default)]
    pub name: String,
    /// Display name, such as `Passed`.
    #[serde(default)]
    pub label: String,
    /// True when the status counts as a final outcome.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_final: bool,
    /// True for the built-in statuses.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_system: bool,
    /// True for Untested, which cannot be posted as a result.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_untested: bool,
    /// Fields not named above, such as the colours.
    #[serde(flatten)]
    pub extra: Extra,
}
