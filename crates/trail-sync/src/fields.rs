//! Case fields that trail manages: type and priority from tags, the steps
//! template with one step per top-level test step, the automation type and
//! the platform.
//!
//! Fields are found by system name in `get_case_fields`, and types,
//! priorities, templates and dropdown items by name, so no instance's ids
//! are built in.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use testrail_api::models::{Case, CaseField, FIELD_TYPE_DROPDOWN};
use trail_reports::TestResult;

use crate::context::{AUTOMATION_ID_FIELD, Context};
use crate::error::SyncError;

/// System name of the separated steps field of the steps template.
pub const STEPS_FIELD: &str = "custom_steps_separated";

/// System name of the automation type dropdown.
pub const AUTOMATION_TYPE_FIELD: &str = "custom_automation_type";

/// System name of the platform dropdown.
pub const PLATFORM_FIELD: &str = "custom_platform";

/// Name of the template whose cases have separated steps.
pub const STEPS_TEMPLATE: &str = "Test Case (Steps)";

/// Tags that set the case type, and the type name each one means.
pub const PURPOSE_TAGS: [(&str, &str); 12] = [
    ("smoke", "Smoke & Sanity"),
    ("sanity", "Smoke & Sanity"),
    ("regression", "Regression"),
    ("functional", "Functional"),
    ("acceptance", "Acceptance"),
    ("accessibility", "Accessibility"),
    ("compatibility", "Compatibility"),
    ("destructive", "Destructive"),
    ("performance", "Performance"),
    ("security", "Security"),
    ("usability", "Usability"),
    ("exploratory", "Exploratory"),
];

/// Tags that set the case priority, matched against priority names.
pub const PRIORITY_TAGS: [&str; 4] = ["low", "medium", "high", "critical"];

/// Case type of new cases without a purpose tag, when the instance has it.
const FALLBACK_TYPE: &str = "Other";

/// Step titles that old Playwright versions list beside `test.step` steps.
const HOOK_STEPS: [&str; 2] = ["Before Hooks", "After Hooks"];

/// One field of an existing case that trail changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// System name of the field, such as `type_id` or `custom_platform`.
    pub field: String,
    /// Value the case has now; `null` when it has none.
    pub from: Value,
    /// Value trail sends.
    pub to: Value,
}

/// Decides the managed fields of new and existing cases.
#[derive(Debug, Clone)]
pub struct FieldResolver<'a> {
    context: &'a Context,
    automation_type: Option<(String, u64)>,
    platform: Option<(String, u64)>,
    /// Problems that do not stop the upload, such as `--platform` on an
    /// instance without a platform field.
    pub warnings: Vec<String>,
}

impl<'a> FieldResolver<'a> {
    /// Finds the dropdown items trail sets and checks `--platform`.
    pub fn new(context: &'a Context, platform: Option<&str>) -> Result<Self, SyncError> {
        let mut warnings = Vec::new();
        let project_id = context.project.id;

        let automation_type = find_dropdown(context, AUTOMATION_TYPE_FIELD, "Automation Type")
            .and_then(|field| {
                let items = dropdown_items(field, project_id);
                let item = items
                    .iter()
                    .find(|(_, label)| label.eq_ignore_ascii_case("automated"))
                    .or_else(|| {
                        items.iter().find(|(_, label)| {
                            let label = label.to_lowercase();
                            label.starts_with("automated")
                        })
                    })?;
                Some((field.system_name.clone(), item.0))
            });

        let platform = match platform {
            None => None,
            Some(wanted) => match find_dropdown(context, PLATFORM_FIELD, "Platform") {
                None => {
                    warnings.push(format!(
                        "--platform `{wanted}` is ignored: the instance has no platform dropdown field ({PLATFORM_FIELD})"
                    ));
                    None
                }
                Some(field) => {
                    let items = dropdown_items(field, project_id);
                    let Some((id, _)) = items
                        .iter()
                        .find(|(_, label)| label.eq_ignore_ascii_case(wanted.trim()))
                    else {
                        let labels: Vec<String> =
                            items.iter().map(|(_, l)| format!("`{l}`")).collect();
                        return Err(SyncError::Config {
                            setting: "--platform".into(),
                            message: format!(
                                "`{wanted}` is not an item of the `{}` field",
                                field.label
                            ),
                            hint: format!("use one of: {}", labels.join(", ")),
                        });
                    };
                    Some((field.system_name.clone(), *id))
                }
            },
        };

        Ok(FieldResolver {
            context,
            automation_type,
            platform,
            warnings,
        })
    }

    /// Returns the fields of a new case for this test, besides its title
    /// and automation id.
    pub fn new_case_fields(&self, result: &TestResult) -> Map<String, Value> {
        let mut fields = Map::new();
        let type_id = type_for_tags(self.context, &result.tags).or_else(|| {
            self.context
                .case_types
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(FALLBACK_TYPE))
                .map(|t| t.id)
        });
        if let Some(id) = type_id {
            fields.insert("type_id".into(), json!(id));
        }
        let priority_id = priority_for_tags(self.context, &result.tags).or_else(|| {
            self.context
                .priorities
                .iter()
                .find(|p| p.is_default)
                .map(|p| p.id)
        });
        if let Some(id) = priority_id {
            fields.insert("priority_id".into(), json!(id));
        }

        let steps = top_level_steps(result);
        if !steps.is_empty()
            && self.context.case_field(STEPS_FIELD).is_some()
            && let Some(template_id) = self.steps_template()
        {
            fields.insert("template_id".into(), json!(template_id));
            fields.insert(STEPS_FIELD.into(), steps_value(&steps));
        }
        self.insert_dropdowns(&mut fields);
        fields
    }

    /// Returns the managed fields of an existing case that differ from what
    /// this test implies.
    ///
    /// Fields that people maintain are left alone. A case that the test
    /// names by id (`explicit`) only gets the fields the user asked for:
    /// type and priority from tags and `--platform`. Other cases also get
    /// the automation type, and the automation id when they have none.
    /// Steps are only replaced on cases that already use separated steps.
    /// Type and priority only change when the test carries a purpose or
    /// priority tag.
    pub fn changes_for(
        &self,
        case: &Case,
        result: &TestResult,
        automation_id: &str,
        explicit: bool,
    ) -> Vec<FieldChange> {
        let current = case_values(case);
        let mut wanted = Map::new();

        if !explicit
            && self.context.has_automation_id()
            && current
                .get(AUTOMATION_ID_FIELD)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            wanted.insert(AUTOMATION_ID_FIELD.into(), json!(automation_id));
        }
        if let Some(id) = type_for_tags(self.context, &result.tags) {
            wanted.insert("type_id".into(), json!(id));
        }
        if let Some(id) = priority_for_tags(self.context, &result.tags) {
            wanted.insert("priority_id".into(), json!(id));
        }
        if let Some((field, id)) = &self.platform {
            wanted.insert(field.clone(), json!(id));
        }
        if !explicit && let Some((field, id)) = &self.automation_type {
            wanted.insert(field.clone(), json!(id));
        }

        let mut changes: Vec<FieldChange> = wanted
            .into_iter()
            .filter(|(field, value)| current.get(field) != Some(value))
            .map(|(field, to)| FieldChange {
                from: current.get(&field).cloned().unwrap_or(Value::Null),
                field,
                to,
            })
            .collect();

        let steps = top_level_steps(result);
        if !steps.is_empty()
            && let Some(Value::Array(existing)) = current.get(STEPS_FIELD)
            && comparable_steps(existing) != steps_pairs(&steps)
        {
            changes.push(FieldChange {
                field: STEPS_FIELD.into(),
                from: Value::Array(existing.clone()),
                to: steps_value(&steps),
            });
        }
        changes
    }

    fn insert_dropdowns(&self, fields: &mut Map<String, Value>) {
        if let Some((field, id)) = &self.automation_type {
            fields.insert(field.clone(), json!(id));
        }
        if let Some((field, id)) = &self.platform {
            fields.insert(field.clone(), json!(id));
        }
    }

    fn steps_template(&self) -> Option<u64> {
        let templates = &self.context.templates;
        templates
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(STEPS_TEMPLATE))
            .or_else(|| {
                templates
                    .iter()
                    .find(|t| t.name.to_lowercase().contains("steps"))
            })
            .map(|t| t.id)
    }
}

/// Returns true when planning this test's fields needs case types and
/// priorities: it carries a purpose or priority tag.
pub fn needs_type_metadata(result: &TestResult) -> bool {
    result.tags.iter().any(|tag| {
        let tag = tag.to_lowercase();
        PURPOSE_TAGS.iter().any(|(name, _)| *name == tag) || PRIORITY_TAGS.contains(&tag.as_str())
    })
}

/// Returns the titles of the test's top-level steps, hooks left out.
pub fn top_level_steps(result: &TestResult) -> Vec<String> {
    result
        .steps
        .iter()
        .map(|step| step.title.trim().to_owned())
        .filter(|title| !title.is_empty() && !HOOK_STEPS.contains(&title.as_str()))
        .collect()
}

fn steps_value(steps: &[String]) -> Value {
    Value::Array(
        steps
            .iter()
            .map(|title| json!({"content": title, "expected": ""}))
            .collect(),
    )
}

fn steps_pairs(steps: &[String]) -> Vec<(String, String)> {
    steps
        .iter()
        .map(|title| (title.clone(), String::new()))
        .collect()
}

/// Reduces stored steps to content and expected result, because TestRail
/// returns more keys (such as `additional_info` and `refs`) than trail
/// sends.
fn comparable_steps(steps: &[Value]) -> Vec<(String, String)> {
    let text = |value: &Value, key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    steps
        .iter()
        .map(|step| (text(step, "content"), text(step, "expected")))
        .collect()
}

/// Returns every field of a case by system name.
fn case_values(case: &Case) -> Map<String, Value> {
    match serde_json::to_value(case) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn type_for_tags(context: &Context, tags: &[String]) -> Option<u64> {
    tags.iter().find_map(|tag| {
        let tag = tag.to_lowercase();
        let (_, type_name) = PURPOSE_TAGS.iter().find(|(name, _)| *name == tag)?;
        context
            .case_types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(type_name))
            .map(|t| t.id)
    })
}

fn priority_for_tags(context: &Context, tags: &[String]) -> Option<u64> {
    tags.iter().find_map(|tag| {
        let tag = tag.to_lowercase();
        if !PRIORITY_TAGS.contains(&tag.as_str()) {
            return None;
        }
        context
            .priorities
            .iter()
            .find(|p| {
                let name = p.name.to_lowercase();
                p.short_name.eq_ignore_ascii_case(&tag)
                    || name == tag
                    || name.ends_with(&format!(" {tag}"))
            })
            .map(|p| p.id)
    })
}

/// Finds an active dropdown field by system name, or else by label.
fn find_dropdown<'c>(
    context: &'c Context,
    system_name: &str,
    label: &str,
) -> Option<&'c CaseField> {
    context
        .case_field(system_name)
        .or_else(|| {
            context
                .case_fields
                .iter()
                .find(|f| f.is_active && f.label.eq_ignore_ascii_case(label))
        })
        .filter(|f| f.type_id == FIELD_TYPE_DROPDOWN)
}

fn dropdown_items(field: &CaseField, project_id: u64) -> Vec<(u64, String)> {
    field
        .config_for_project(project_id)
        .map(|config| config.options.dropdown_items())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trail_reports::Step;

    #[test]
    fn steps_compare_on_content_only() {
        let stored = vec![json!({"content": "Open", "expected": "", "additional_info": null})];
        assert_eq!(comparable_steps(&stored), steps_pairs(&["Open".to_owned()]));
    }

    #[test]
    fn hook_steps_are_left_out() {
        let mut result = TestResult::default();
        for title in ["Before Hooks", "Open the page", "After Hooks"] {
            let mut step = Step::default();
            step.title = title.into();
            result.steps.push(step);
        }
        assert_eq!(top_level_steps(&result), vec!["Open the page".to_owned()]);
    }

    #[test]
    fn purpose_and_priority_tags_need_metadata() {
        let mut result = TestResult::default();
        result.tags = vec!["Login".into()];
        assert!(!needs_type_metadata(&result));
        result.tags.push("Smoke".into());
        assert!(needs_type_metadata(&result));
    }
}
