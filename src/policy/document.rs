//! Turning the spec's policy field (YAML mapping or JSON string) into the text sent to IAM.

use serde_json::Value;

/// Why a spec field cannot be used as a policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "the policy is a string but not valid JSON ({reason}); write it as a YAML mapping with Version and Statement, or as a string holding a JSON object"
    )]
    NotJson { reason: String },
    #[error(
        "the policy is a string holding JSON {found}, not a JSON object; IAM expects an object with Version and Statement"
    )]
    TextNotObject { found: &'static str },
    #[error(
        "the policy is {found}; write it as a YAML mapping with Version and Statement, or as a string holding a JSON object"
    )]
    WrongType { found: &'static str },
    #[error("the policy could not be written as JSON: {reason}")]
    Serialize { reason: String },
}

/// The JSON text to send to IAM for a spec field.
///
/// A string is sent verbatim (once it is known to hold a JSON object): whatever the user wrote
/// is what IAM stores, so the user's formatting survives a round trip. A mapping becomes
/// compact JSON in the order the user wrote the keys.
pub fn document_text(value: &Value) -> Result<String, PolicyError> {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(_)) => Ok(text.clone()),
            Ok(other) => Err(PolicyError::TextNotObject {
                found: kind_of(&other),
            }),
            Err(err) => Err(PolicyError::NotJson {
                reason: err.to_string(),
            }),
        },
        Value::Object(_) => serde_json::to_string(value).map_err(|err| PolicyError::Serialize {
            reason: err.to_string(),
        }),
        other => Err(PolicyError::WrongType {
            found: kind_of(other),
        }),
    }
}

/// "a number", "an array", …: for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepted_values_become_the_text_sent_to_iam() {
        let cases = [
            // A string is kept byte for byte, spacing included.
            (
                json!("{ \"Version\": \"2012-10-17\",\n \"Statement\": [] }"),
                "{ \"Version\": \"2012-10-17\",\n \"Statement\": [] }",
            ),
            // A mapping keeps the user's key order (not alphabetical).
            (
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            ),
            (
                json!({"Statement": {}, "Version": "2012-10-17"}),
                r#"{"Statement":{},"Version":"2012-10-17"}"#,
            ),
        ];
        for (value, want) in cases {
            assert_eq!(document_text(&value).as_deref(), Ok(want), "{value}");
        }
    }

    #[test]
    fn rejected_values_say_what_was_found() {
        let cases = [
            (json!(5), PolicyError::WrongType { found: "a number" }),
            (json!([1]), PolicyError::WrongType { found: "an array" }),
            (json!(true), PolicyError::WrongType { found: "a boolean" }),
            (json!(null), PolicyError::WrongType { found: "null" }),
            (
                json!("[1,2]"),
                PolicyError::TextNotObject { found: "an array" },
            ),
            (
                json!("\"x\""),
                PolicyError::TextNotObject { found: "a string" },
            ),
            (
                json!("42"),
                PolicyError::TextNotObject { found: "a number" },
            ),
        ];
        for (value, want) in cases {
            assert_eq!(document_text(&value), Err(want), "{value}");
        }
        for text in ["", "{", "Version: 2012-10-17", "{\"a\":}"] {
            let err = document_text(&json!(text)).unwrap_err();
            assert!(
                matches!(err, PolicyError::NotJson { .. }),
                "{text:?}: {err:?}"
            );
            assert!(err.to_string().contains("not valid JSON"), "{err}");
        }
    }

    #[test]
    fn messages_tell_the_user_what_to_write() {
        let err = document_text(&json!(5)).unwrap_err().to_string();
        assert_eq!(
            err,
            "the policy is a number; write it as a YAML mapping with Version and Statement, or as a string holding a JSON object"
        );
    }
}
