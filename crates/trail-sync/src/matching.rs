//! Ties test results to TestRail case ids.
//!
//! A result names its case explicitly (`C123` in the title or a tag, a
//! `test_id`, `testrail_case_id` or `testrail` property or annotation), or it
//! is found through the automation id field, or by its normalized title in
//! its section.

use trail_reports::TestResult;

/// Property and annotation names whose value carries TestRail case ids.
const ID_PROPERTIES: [&str; 5] = [
    "test_id",
    "testrail_case_id",
    "testrail",
    "case_id",
    "testrail_id",
];

/// Maximum length of a case title that TestRail accepts.
pub const MAX_TITLE_CHARS: usize = 250;

/// Returns the explicit case ids of a result, in the order they appear and
/// without duplicates.
pub fn explicit_case_ids(result: &TestResult) -> Vec<u64> {
    let mut ids = Vec::new();

    for id in ids_in_text(&result.identity.name) {
        push_unique(&mut ids, id);
    }
    for tag in &result.tags {
        if let Some(id) = parse_case_token(tag.trim_start_matches('@')) {
            push_unique(&mut ids, id);
        }
    }
    for property in &result.properties {
        let name = property.name.to_ascii_lowercase();
        if ID_PROPERTIES.contains(&name.as_str()) {
            for part in property.value.split([',', ' ', ';']) {
                let part = part.trim();
                let digits = part.strip_prefix(['C', 'c']).unwrap_or(part);
                if let Ok(id) = digits.parse::<u64>()
                    && id > 0
                {
                    push_unique(&mut ids, id);
                }
            }
        }
    }
    ids
}

/// Finds `C123` tokens in a test name.
///
/// A token counts when it stands alone or is delimited by brackets,
/// underscores, `@`, parentheses, commas or a colon, so `[C12] name`,
/// `name_C12`, `C12_name` and `@C12` all match while `ABC12` does not.
pub fn ids_in_text(text: &str) -> Vec<u64> {
    let mut ids = Vec::new();
    for (start, end) in case_token_spans(text) {
        let token = text[start..end].trim_start_matches('@');
        if let Ok(id) = token[1..].parse::<u64>()
            && id > 0
        {
            push_unique(&mut ids, id);
        }
    }
    ids
}

/// Returns the title for a new case: the test name without case ids and
/// `@tags`, with runs of whitespace collapsed, cut to TestRail's limit.
pub fn clean_title(name: &str) -> String {
    let spans = case_token_spans(name);
    let mut kept = String::with_capacity(name.len());
    let mut last = 0;
    for (start, end) in &spans {
        kept.push_str(&name[last..*start]);
        last = *end;
    }
    kept.push_str(&name[last..]);

    let words: Vec<&str> = kept.split_whitespace().collect();
    let tags = words.iter().filter(|word| is_tag_word(word)).count();
    let mut title = words
        .iter()
        .filter(|word| !is_tag_word(word))
        .map(|word| {
            if spans.is_empty() {
                word
            } else {
                word.trim_matches(|c| c == '[' || c == ']')
            }
        })
        .filter(|word| !word.is_empty())
        .collect::<Vec<&str>>()
        .join(" ");
    // Separators left over from a removed id or tag, as in `C12_login` or
    // `@smoke - Login`, go; names such as `__init__` keep theirs.
    if !spans.is_empty() || tags > 0 {
        title = title
            .trim_matches(|c: char| c == '_' || c == '-' || c == ':' || c == ' ' || c == '›')
            .to_owned();
    }
    if title.is_empty() {
        title = name.trim().to_owned();
    }
    truncate_chars(&title, MAX_TITLE_CHARS)
}

/// Returns the form of a title used to compare it with existing cases:
/// cleaned, lower case, whitespace collapsed.
pub fn normalized_title(name: &str) -> String {
    clean_title(name).to_lowercase()
}

/// Builds the stable automation id of a result.
///
/// JUnit results with a class name use `classname.name`, the form other
/// TestRail uploaders write, so cases they created keep matching. Other
/// results join the file, the describe blocks and the cleaned title with
/// ` > `, leaving tags and case ids out so that retagging a test keeps its
/// case.
pub fn automation_id(result: &TestResult) -> String {
    let identity = &result.identity;
    if let Some(class_name) = &identity.class_name {
        return format!("{class_name}.{}", identity.name);
    }

    let mut parts: Vec<String> = Vec::new();
    if let Some(file) = &identity.file
        && identity.suite_path.first() != Some(file)
    {
        parts.push(file.clone());
    }
    parts.extend(identity.suite_path.iter().map(|s| clean_title(s)));
    parts.push(clean_title(&identity.name));
    parts.retain(|part| !part.is_empty());
    parts.join(" > ")
}

/// Cuts a string to at most `max` characters.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((index, _)) => text[..index].to_owned(),
        None => text.to_owned(),
    }
}

fn push_unique(ids: &mut Vec<u64>, id: u64) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}

fn parse_case_token(token: &str) -> Option<u64> {
    let digits = token.strip_prefix('C')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id| *id > 0)
}

fn is_tag_word(word: &str) -> bool {
    word.len() > 1 && word.starts_with('@') && !word[1..].starts_with('@')
}

fn is_token_boundary(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c.is_whitespace() || "[]_@(),:;".contains(c),
    }
}

/// Byte spans of `C123` tokens, including a leading `@` when present.
fn case_token_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'C' {
            let before = text[..index].chars().next_back();
            let mut end = index + 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            let after = text[end..].chars().next();
            if end > index + 1 && is_token_boundary(before) && is_token_boundary(after) {
                let start = if before == Some('@') {
                    index - 1
                } else {
                    index
                };
                spans.push((start, end));
                index = end;
                continue;
            }
        }
        index += 1;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use trail_reports::Property;

    fn named(name: &str) -> TestResult {
        let mut result = TestResult::default();
        result.identity.name = name.to_owned();
        result
    }

    #[test]
    fn ids_in_name_forms() {
        let cases: [(&str, &[u64]); 9] = [
            ("C123 logs in", &[123]),
            ("logs in C123", &[123]),
            ("C123_logs_in", &[123]),
            ("logs_in_C123", &[123]),
            ("[C123] logs in", &[123]),
            ("@C77 logs in", &[77]),
            ("C1 C2 two ids", &[1, 2]),
            ("ABC12 is not an id", &[]),
            ("C is not an id either, nor C0", &[]),
        ];
        for (name, expected) in cases {
            assert_eq!(ids_in_text(name), expected, "{name}");
        }
    }

    #[test]
    fn ids_from_properties_and_tags() {
        let mut result = named("plain name");
        result.properties.push(Property {
            name: "test_id".into(),
            value: "C5, 6".into(),
        });
        result.tags.push("C9".into());
        result.tags.push("smoke".into());
        assert_eq!(explicit_case_ids(&result), vec![9, 5, 6]);
    }

    #[test]
    fn clean_title_drops_ids_and_tags() {
        assert_eq!(clean_title("[C12] Login works @smoke"), "Login works");
        assert_eq!(clean_title("C12_login_works"), "login_works");
        assert_eq!(
            clean_title("@Regression @Login › @Smoke - Login exitoso"),
            "Login exitoso"
        );
        assert_eq!(clean_title("   spaced    out   "), "spaced out");
    }

    #[test]
    fn clean_title_keeps_underscores_of_plain_names() {
        assert_eq!(
            clean_title("__tests__\\main.test.js"),
            "__tests__\\main.test.js"
        );
        assert_eq!(clean_title("test__init__"), "test__init__");
    }

    #[test]
    fn clean_title_keeps_a_name_of_only_tags() {
        assert_eq!(clean_title("@smoke"), "@smoke");
    }

    #[test]
    fn clean_title_is_cut_to_limit() {
        let long = "x".repeat(400);
        assert_eq!(clean_title(&long).chars().count(), MAX_TITLE_CHARS);
    }

    #[test]
    fn automation_id_forms() {
        let mut junit = named("test_login");
        junit.identity.class_name = Some("tests.auth".into());
        assert_eq!(automation_id(&junit), "tests.auth.test_login");

        let mut playwright = named("logs in @smoke");
        playwright.identity.suite_path = vec!["auth.spec.ts".into(), "Login @fast".into()];
        playwright.identity.file = Some("auth.spec.ts".into());
        assert_eq!(automation_id(&playwright), "auth.spec.ts > Login > logs in");
    }
}
