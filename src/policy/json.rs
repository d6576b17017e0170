//! Read-only views into a parsed policy document shared by the checks and the guardrails.
//! They skip what does not fit IAM's grammar; `check_document` is the one that reports it.

use serde_json::{Map, Value};

pub(crate) type Statement = Map<String, Value>;

/// `Statement` may be a single object or a list of them.
pub(crate) fn statements(doc: &Value) -> Vec<&Statement> {
    match doc.get("Statement") {
        Some(Value::Object(one)) => vec![one],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// The strings of a field that IAM lets be a string or a list of strings.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn is_allow(statement: &Statement) -> bool {
    statement
        .get("Effect")
        .and_then(Value::as_str)
        .is_some_and(|effect| effect.eq_ignore_ascii_case("Allow"))
}

/// The principals of one kind (`AWS`, `Service`, `Federated`, …) named in `Principal`.
pub(crate) fn principals<'a>(statement: &'a Statement, kind: &str) -> Vec<&'a str> {
    match statement.get("Principal") {
        Some(Value::Object(map)) => strings(map.get(kind)),
        _ => Vec::new(),
    }
}

/// Whether the statement covers `action`: an Action pattern matches it, or a NotAction has no
/// pattern that does. IAM matches action names case-insensitively, `*` standing for any run of
/// characters and `?` for any one (so `sts:AssumeRoleWith*`, `sts:*` and `*` all cover
/// `sts:AssumeRoleWithWebIdentity`).
pub(crate) fn allows_action(statement: &Statement, action: &str) -> bool {
    let matches = |field: &str| {
        strings(statement.get(field))
            .iter()
            .any(|pattern| wildcard_match(pattern, action))
    };
    if statement.contains_key("NotAction") {
        !matches("NotAction")
    } else {
        matches("Action")
    }
}

/// IAM's wildcard matching, ignoring ASCII case.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let text: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was and how much text it has taken: a mismatch retries with one more.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            star = Some((star_p, star_t + 1));
            p = star_p + 1;
            t = star_t + 1;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("sts:AssumeRole", "sts:AssumeRole", true),
            ("STS:assumerole", "sts:AssumeRole", true),
            ("*", "sts:AssumeRole", true),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("sts:*", "sts:AssumeRole", true),
            ("sts:*", "s3:GetObject", false),
            ("sts:Assume*", "sts:AssumeRoleWithSAML", true),
            ("sts:*With*", "sts:AssumeRoleWithSAML", true),
            ("sts:*With*", "sts:AssumeRole", false),
            ("sts:AssumeRole?", "sts:AssumeRole", false),
            ("sts:Assume?ole", "sts:AssumeRole", true),
            ("sts:AssumeRole", "sts:AssumeRoleWithSAML", false),
            ("*SAML", "sts:AssumeRoleWithSAML", true),
            ("*a*a*a", "aaa", true),
            ("*a*a*a", "aa", false),
            ("**", "x", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(wildcard_match(pattern, text), want, "{pattern} {text}");
        }
    }
}
