//! Deserializers that accept the several JSON forms TestRail uses for one
//! field: booleans as `true` or `1`, ids as numbers or numeric strings, and
//! `null` wherever a value may be missing.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;

/// Reads a boolean sent as `true`/`false`, `0`/`1`, `"0"`/`"1"` or `null`
/// (read as false).
pub(crate) fn bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match &value {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|n| n != 0.0)),
        Value::String(s) => match s.trim() {
            "" | "0" | "false" => Ok(false),
            "1" | "true" => Ok(true),
            other => Err(de::Error::custom(format!(
                "expected a boolean, found \"{other}\""
            ))),
        },
        _ => Err(de::Error::custom(format!(
            "expected a boolean, found {value}"
        ))),
    }
}

/// Like [`bool`] but reads a missing or `null` value as true; TestRail
/// versions that do not send `is_active` treat every field as active.
pub(crate) fn bool_default_true<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<bool, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(true);
    }
    bool(value).map_err(de::Error::custom)
}

pub(crate) fn default_true() -> bool {
    true
}

fn value_to_u64<E: de::Error>(value: &Value) -> Result<Option<u64>, E> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| E::custom(format!("expected a non-negative integer, found {n}"))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| E::custom(format!("expected an integer, found \"{s}\""))),
        other => Err(E::custom(format!("expected an integer, found {other}"))),
    }
}

/// Reads an optional id sent as a number, a numeric string, `""` or `null`.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    value_to_u64(&value)
}

/// Reads a required id sent as a number or a numeric string.
pub(crate) fn u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    value_to_u64(&value)?.ok_or_else(|| de::Error::custom("expected an integer, found null"))
}

/// Reads a count or order number, with `null` read as 0.
pub(crate) fn u64_or_zero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(value_to_u64(&value)?.unwrap_or(0))
}

/// Reads an optional signed integer such as a UNIX timestamp.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match &value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected an integer, found {n}"))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected an integer, found \"{s}\""))),
        other => Err(de::Error::custom(format!(
            "expected an integer, found {other}"
        ))),
    }
}

/// Reads an optional text that TestRail may send as a number (for example
/// `version` or `refs`), keeping numbers as their decimal text.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(de::Error::custom(format!(
            "expected a string, found {other}"
        ))),
    }
}

/// Reads a list of ids where `null` means an empty list.
pub(crate) fn u64_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match &value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| value_to_u64(item).transpose())
            .collect(),
        other => Err(de::Error::custom(format!(
            "expected a list of ids, found {other}"
        ))),
    }
}

/// Reads a list where `null` means empty.
pub(crate) fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Flags {
        #[serde(deserialize_with = "bool")]
        flag: bool,
        #[serde(default, deserialize_with = "opt_u64")]
        id: Option<u64>,
    }

    fn flags(json: &str) -> Flags {
        serde_json::from_str(json).expect(json)
    }

    #[test]
    fn bool_accepts_all_forms() {
        assert!(flags(r#"{"flag": true}"#).flag);
        assert!(flags(r#"{"flag": 1}"#).flag);
        assert!(flags(r#"{"flag": "1"}"#).flag);
        assert!(!flags(r#"{"flag": 0}"#).flag);
        assert!(!flags(r#"{"flag": null}"#).flag);
        assert!(!flags(r#"{"flag": false}"#).flag);
    }

    #[test]
    fn opt_u64_accepts_strings_and_null() {
        assert_eq!(flags(r#"{"flag": 1, "id": "7"}"#).id, Some(7));
        assert_eq!(flags(r#"{"flag": 1, "id": 7}"#).id, Some(7));
        assert_eq!(flags(r#"{"flag": 1, "id": null}"#).id, None);
        assert_eq!(flags(r#"{"flag": 1}"#).id, None);
        assert!(serde_json::from_str::<Flags>(r#"{"flag": 1, "id": -3}"#).is_err());
    }
}
