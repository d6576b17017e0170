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

/// Every condition key of a statement, whatever its operator.
pub(crate) fn condition_keys(statement: &Statement) -> Vec<&str> {
    let Some(Value::Object(operators)) = statement.get("Condition") else {
        return Vec::new();
    };
    operators
        .values()
        .filter_map(Value::as_object)
        .flat_map(|keys| keys.keys().map(String::as_str))
        .collect()
}

/// The principals of one kind (`AWS`, `Service`, `Federated`, …) named in `Principal`.
pub(crate) fn principals<'a>(statement: &'a Statement, kind: &str) -> Vec<&'a str> {
    match statement.get("Principal") {
        Some(Value::Object(map)) => strings(map.get(kind)),
        _ => Vec::new(),
    }
}

/// Whether any action of the statement matches `action` (IAM action names are
/// case-insensitive; `sts:*` and `*` cover every STS action).
pub(crate) fn allows_action(statement: &Statement, action: &str) -> bool {
    strings(statement.get("Action")).iter().any(|written| {
        written.eq_ignore_ascii_case(action)
            || *written == "*"
            || written.eq_ignore_ascii_case("sts:*")
                && action.to_ascii_lowercase().starts_with("sts:")
    })
}
