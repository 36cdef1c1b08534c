//! Custom result fields given as `name=value` on the command line.

use serde_json::{Map, Value, json};
use testrail_api::models::{FIELD_TYPE_DROPDOWN, FIELD_TYPE_MULTI_SELECT, ResultField};

use crate::error::SyncError;

/// TestRail field type ids that take a number or a checkbox value.
const FIELD_TYPE_INTEGER: u64 = 2;
const FIELD_TYPE_CHECKBOX: u64 = 5;

/// Resolves `name=value` pairs against the instance's result fields and
/// returns the values by system name, converted to the field's type:
/// dropdown items by label or id, numbers, checkboxes and text.
pub fn resolve_result_fields(
    fields: &[ResultField],
    pairs: &[(String, String)],
) -> Result<Map<String, Value>, SyncError> {
    let mut values = Map::new();
    for (name, value) in pairs {
        let wanted = name.trim();
        let bare = wanted.strip_prefix("custom_").unwrap_or(wanted);
        let Some(field) = fields.iter().find(|f| {
            f.system_name.eq_ignore_ascii_case(wanted)
                || f.name.eq_ignore_ascii_case(bare)
                || f.label.eq_ignore_ascii_case(wanted)
        }) else {
            let known: Vec<String> = fields
                .iter()
                .map(|f| format!("`{}` ({})", f.system_name, f.label))
                .collect();
            return Err(SyncError::Config {
                setting: "--result-field".into(),
                message: format!("the instance has no result field named `{wanted}`"),
                hint: if known.is_empty() {
                    "the instance has no custom result field for this project".into()
                } else {
                    format!("result fields: {}", known.join(", "))
                },
            });
        };
        let converted = convert(field, value.trim())?;
        values.insert(field.system_name.clone(), converted);
    }
    Ok(values)
}

fn convert(field: &ResultField, value: &str) -> Result<Value, SyncError> {
    let invalid = |expected: String| SyncError::Config {
        setting: "--result-field".into(),
        message: format!("`{value}` is not a valid value of `{}`", field.system_name),
        hint: expected,
    };
    match field.type_id {
        FIELD_TYPE_INTEGER => value
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid("pass a whole number".into())),
        FIELD_TYPE_CHECKBOX => match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(json!(true)),
            "false" | "no" | "0" => Ok(json!(false)),
            _ => Err(invalid("pass true or false".into())),
        },
        FIELD_TYPE_DROPDOWN | FIELD_TYPE_MULTI_SELECT => {
            let items: Vec<(u64, String)> = field
                .configs
                .iter()
                .flat_map(|config| config.options.dropdown_items())
                .collect();
            let mut ids = Vec::new();
            for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let id = items
                    .iter()
                    .find(|(id, label)| label.eq_ignore_ascii_case(part) || id.to_string() == part)
                    .map(|(id, _)| *id)
                    .ok_or_else(|| {
                        let labels: Vec<String> =
                            items.iter().map(|(_, l)| format!("`{l}`")).collect();
                        invalid(format!("use one of: {}", labels.join(", ")))
                    })?;
                ids.push(id);
            }
            match (field.type_id, ids.as_slice()) {
                (FIELD_TYPE_DROPDOWN, [id]) => Ok(json!(id)),
                (FIELD_TYPE_DROPDOWN, _) => Err(invalid("pass exactly one item".into())),
                _ => Ok(json!(ids)),
            }
        }
        _ => Ok(Value::String(value.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(system_name: &str, label: &str, type_id: u64, items: Option<&str>) -> ResultField {
        serde_json::from_value(json!({
            "id": 1,
            "system_name": system_name,
            "name": system_name.trim_start_matches("custom_"),
            "label": label,
            "type_id": type_id,
            "configs": [{"context": {"is_global": true}, "options": {"items": items}}],
        }))
        .unwrap()
    }

    #[test]
    fn dropdown_by_label_and_text_by_name() {
        let fields = [
            field(
                "custom_env",
                "Environment",
                6,
                Some("1, Staging\n2, Production"),
            ),
            field("custom_build_url", "Build URL", 1, None),
        ];
        let pairs = [
            ("Environment".to_owned(), "production".to_owned()),
            ("build_url".to_owned(), "https://ci/1".to_owned()),
        ];
        let values = resolve_result_fields(&fields, &pairs).unwrap();
        assert_eq!(values["custom_env"], json!(2));
        assert_eq!(values["custom_build_url"], json!("https://ci/1"));
    }

    #[test]
    fn unknown_field_and_item_are_config_errors() {
        let fields = [field("custom_env", "Environment", 6, Some("1, Staging"))];
        let unknown = resolve_result_fields(&fields, &[("nope".into(), "x".into())]);
        assert!(unknown.unwrap_err().to_string().contains("custom_env"));
        let bad_item = resolve_result_fields(&fields, &[("env".into(), "QA".into())]);
        assert!(bad_item.unwrap_err().to_string().contains("`Staging`"));
    }
}
